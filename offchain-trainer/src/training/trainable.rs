//! A model together with its variable store and a stable, named list of its parameters.

use std::sync::atomic::{AtomicBool, Ordering};

use tch::{nn, Device, Kind, Tensor};

use crate::data::Batch;
use crate::model::fused::{FusedOps, FusedPass};
use crate::model::{Llama, ModelConfig, Precision};

/// How the gradients of a training step are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backward {
	/// libtorch's autograd through [`Llama::loss`] (the CPU's path: bit-reproducible there).
	Autograd,
	/// The hand-written pass with fused kernels ([`FusedPass`]); the default on CUDA.
	Fused,
}

/// The decoder, its [`nn::VarStore`], and its parameters sorted by name (the order every
/// optimizer state, pseudo-gradient and checkpoint uses).
#[derive(Debug)]
pub struct TrainableModel {
	// Keeps the variables alive; the model and `params` hold handles into it.
	_vs: nn::VarStore,
	llama: Llama,
	names: Vec<String>,
	params: Vec<Tensor>,
	/// The fused pass when the model trains through it, `None` for autograd.
	fused: Option<FusedPass>,
	/// Whether every gradient is known to be zero (or absent), so [`Self::zero_grad`] has
	/// nothing to do: set by it, cleared by [`Self::mark_grads_written`] before anything adds
	/// to them. A step used to clear them twice (after its update and before the next step's
	/// passes); on a GPU that was a fill launch per parameter each time (1.3 ms a step at `124m`).
	grads_clear: AtomicBool,
}

impl TrainableModel {
	/// A freshly initialised model on `device`; the same `seed` gives the same weights on every
	/// device. θ₀ is drawn by libtorch's CPU generator and then copied to `device`: a CUDA
	/// generator draws other numbers from the same seed, so a GPU peer and a CPU peer would
	/// start (and stay) on different θ.
	pub fn new(config: &ModelConfig, device: Device, precision: Precision, seed: i64) -> Self {
		let (vs, llama) = Self::initialised(config, device, precision, seed);
		let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
		named.sort_by(|a, b| a.0.cmp(&b.0));
		if device != Device::Cpu {
			let (host, _) = Self::initialised(config, Device::Cpu, precision, seed);
			let drawn = host.variables();
			tch::no_grad(|| {
				for (name, param) in &mut named {
					if let Some(value) = drawn.get(name.as_str()) {
						param.copy_(value);
					}
				}
			});
		}
		let (names, params) = named.into_iter().unzip();
		let grads_clear = AtomicBool::new(false);
		let mut model = Self { _vs: vs, llama, names, params, fused: None, grads_clear };
		if device.is_cuda() {
			model.set_backward(Backward::Fused);
		}
		model
	}

	/// A model's variables and decoder on `device`, weights drawn after `manual_seed(seed)`.
	fn initialised(
		config: &ModelConfig,
		device: Device,
		precision: Precision,
		seed: i64,
	) -> (nn::VarStore, Llama) {
		tch::manual_seed(seed);
		let vs = nn::VarStore::new(device);
		let llama = Llama::new(vs.root(), config, precision);
		(vs, llama)
	}

	/// Chooses how gradients are computed. [`Backward::Fused`] falls back to autograd, with a
	/// warning, when the kernels cannot be loaded or do not fit the model (bf16 activations,
	/// width ≤ 4096); on the CPU it runs the reference operations (what its tests check).
	pub fn set_backward(&mut self, backward: Backward) {
		self.fused = match backward {
			Backward::Autograd => None,
			Backward::Fused => match FusedOps::for_device(self.device()).map(FusedPass::new) {
				Ok(pass) if pass.supports(&self.llama) => Some(pass),
				Ok(_) => {
					tracing::info!("fused training pass does not fit this model; using autograd");
					None
				}
				Err(e) => {
					tracing::warn!(error = %e, "fused training pass unavailable; using autograd");
					None
				}
			},
		};
	}

	/// How gradients are computed now.
	pub fn backward(&self) -> Backward {
		if self.fused.is_some() {
			Backward::Fused
		} else {
			Backward::Autograd
		}
	}

	/// The fused pass, when gradients go through it.
	pub fn fused(&self) -> Option<&FusedPass> {
		self.fused.as_ref()
	}

	/// The decoder.
	pub fn llama(&self) -> &Llama {
		&self.llama
	}

	/// The configuration.
	pub fn config(&self) -> &ModelConfig {
		self.llama.config()
	}

	/// The device the weights live on.
	pub fn device(&self) -> Device {
		self.llama.device()
	}

	/// Parameter names, sorted.
	pub fn names(&self) -> &[String] {
		&self.names
	}

	/// Parameters, in [`Self::names`] order (handles: updating them updates the model).
	pub fn params(&self) -> &[Tensor] {
		&self.params
	}

	/// Number of scalar parameters.
	pub fn numel(&self) -> usize {
		self.params.iter().map(Tensor::numel).sum()
	}

	/// Detached copies of the current weights.
	pub fn snapshot(&self) -> Vec<Tensor> {
		tch::no_grad(|| self.params.iter().map(|p| p.detach().copy()).collect())
	}

	/// Overwrites the weights with `values` (same order and shapes as [`Self::params`]).
	pub fn assign(&self, values: &[Tensor]) {
		assert_eq!(values.len(), self.params.len(), "one value per parameter");
		tch::no_grad(|| {
			for (p, v) in self.params.iter().zip(values) {
				p.shallow_clone().copy_(v);
			}
		});
	}

	/// Clears every parameter's gradient (nothing to do when they are known to be zero).
	pub fn zero_grad(&self) {
		if self.grads_clear.swap(true, Ordering::Relaxed) {
			return;
		}
		for p in &self.params {
			let mut g = p.grad();
			if g.defined() {
				let _ = g.zero_();
			}
		}
	}

	/// Records that the gradients are about to change (anything that adds to them calls this
	/// first), so the next [`Self::zero_grad`] clears them.
	pub fn mark_grads_written(&self) {
		self.grads_clear.store(false, Ordering::Relaxed);
	}

	/// Mean loss over `batch` without gradients, `micro` sequences per forward pass (through the
	/// fused pass's forward when the model trains through it).
	pub fn eval_loss(&self, batch: &Batch, micro: i64) -> f64 {
		tch::no_grad(|| {
			let mut total = 0.0;
			for mb in batch.micro_batches(micro) {
				let loss = match &self.fused {
					// A failure is a CUDA fault or a bug (see `accumulate_gradients`).
					Some(pass) => pass
						.loss(&self.llama, &mb.inputs, &mb.targets)
						.unwrap_or_else(|e| panic!("fused evaluation pass: {e}")),
					None => self.llama.loss(&mb.inputs, &mb.targets),
				};
				let loss = loss.to_kind(Kind::Double);
				total += loss.double_value(&[]) * mb.len() as f64;
			}
			total / batch.len().max(1) as f64
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::gauntlet::global_model::weights_hash_of;
	use crate::tensor_io::to_array;

	fn theta0_hash(device: Device) -> [u8; 32] {
		let config = ModelConfig::builtin("tiny").unwrap();
		let model = TrainableModel::new(&config, device, Precision::Fp32, 3);
		let host: Vec<_> =
			model.names().iter().zip(model.params()).map(|(n, p)| to_array(n, p)).collect();
		weights_hash_of(&host)
	}

	/// Every peer starts from the same θ₀ whatever its device and thread count: it is drawn on
	/// the CPU. On a machine with CUDA (the GPU machine runs this test too) a CUDA model's θ₀
	/// hash equals the CPU's.
	#[test]
	fn theta0_does_not_depend_on_the_device_or_the_threads() {
		tch::set_num_threads(1);
		let one_thread = theta0_hash(Device::Cpu);
		tch::set_num_threads(2);
		assert_eq!(theta0_hash(Device::Cpu), one_thread, "θ₀ depends on the thread count");
		if tch::Cuda::is_available() {
			assert_eq!(theta0_hash(Device::Cuda(0)), one_thread, "θ₀ differs on CUDA");
			eprintln!(
				"θ₀ on CUDA equals θ₀ on the CPU: {}",
				crate::gauntlet::journal::hex(&one_thread)
			);
		}
		// A different seed is a different θ₀ (the hash sees the weights).
		let config = ModelConfig::builtin("tiny").unwrap();
		let other = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 4);
		let host: Vec<_> =
			other.names().iter().zip(other.params()).map(|(n, p)| to_array(n, p)).collect();
		assert_ne!(weights_hash_of(&host), one_thread);
	}
}
