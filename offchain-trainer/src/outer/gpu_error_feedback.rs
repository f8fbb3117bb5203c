//! A peer's error-feedback buffers on its CUDA device, compressed by the GPU codec: Δ and e never
//! leave the device, only the payload's bytes do. Same recurrence and the same payload bytes as
//! [`ErrorBuffers`] on the host (`gauntlet-trainer check-codec` holds the two codecs equal, byte
//! for byte, buffers included). Before it the miner copied Δ to the host and ran the CPU codec
//! every window (733 ms for a `124m` round on one core, docs/gpu-bench.md).

use tch::{Kind, Tensor};

use super::ErrorBuffers;
use crate::sparseloco::gpu::{GpuCodecError, GpuCompressor};
use crate::sparseloco::CodecConfig;
use crate::tensor_io::{named_shapes, to_tch};

/// Error-feedback state of one peer, on the model's CUDA device.
#[derive(Debug)]
pub struct GpuErrorBuffers {
	beta: f32,
	names: Vec<String>,
	buffers: Vec<Tensor>,
	/// `θ − local` of the round, reused from round to round.
	delta: Vec<Tensor>,
	codec: GpuCompressor,
}

impl GpuErrorBuffers {
	/// Buffers for the model tensors `params` (named `names`, on one CUDA device) compressed with
	/// `config`: `host`'s buffer of the same name and shape where it has one (a checkpoint's),
	/// zero otherwise.
	pub fn new(
		host: &ErrorBuffers,
		names: &[String],
		params: &[Tensor],
		config: &CodecConfig,
	) -> Result<Self, GpuCodecError> {
		let device = params.first().map(Tensor::device).unwrap_or(tch::Device::Cpu);
		let shapes = named_shapes(names, params);
		let codec = GpuCompressor::new(&shapes, config, device)?;
		let mut buffers = Vec::with_capacity(params.len());
		let mut delta = Vec::with_capacity(params.len());
		for ((name, shape), p) in shapes.iter().zip(params) {
			let saved = host.arrays().iter().find(|a| &a.name == name && &a.shape == shape);
			buffers.push(match saved {
				Some(a) => to_tch(a, device).f_contiguous()?,
				None => Tensor::f_zeros(p.size(), (Kind::Float, device))?,
			});
			delta.push(Tensor::f_zeros(p.size(), (Kind::Float, device))?);
		}
		Ok(Self { beta: host.beta(), names: names.to_vec(), buffers, delta, codec })
	}

	/// One round: `e ← β·e + (θ − local)`, the payload of `e` (wire bytes), `e ← e − ê`.
	/// After an error (a non-finite value) the buffers are unspecified, as the host codec's.
	pub fn step(&mut self, theta: &[Tensor], local: &[Tensor]) -> Result<Vec<u8>, GpuCodecError> {
		if theta.len() != self.delta.len() || local.len() != self.delta.len() {
			return Err(GpuCodecError::BadTensor {
				name: "pseudo-gradient".into(),
				reason: format!(
					"{} / {} tensors for {}",
					theta.len(),
					local.len(),
					self.delta.len()
				),
			});
		}
		tch::no_grad(|| -> Result<(), GpuCodecError> {
			for ((d, g), l) in self.delta.iter().zip(theta).zip(local) {
				// Into the f32 buffer whatever the weights' kind, as the host path's
				// `to_array(θ − local)`; no temporary per tensor.
				let _ = g.f_sub_out(d, l)?;
			}
			Ok(())
		})?;
		Ok(self.codec.step(&self.buffers, &self.delta, self.beta)?.to_vec())
	}

	/// The decay β.
	pub fn beta(&self) -> f32 {
		self.beta
	}

	/// The buffers with their names, in model order (for host copies).
	pub fn named(&self) -> Vec<(&str, &Tensor)> {
		self.names.iter().map(String::as_str).zip(&self.buffers).collect()
	}
}
