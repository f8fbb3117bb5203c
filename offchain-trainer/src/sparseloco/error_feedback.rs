//! The error-feedback buffer: what this peer has not yet managed to send.

use std::collections::HashMap;

use super::codec::{Compressor, Payload};
use super::config::CodecConfig;
use super::error::CodecError;
use super::pseudo_gradient::PseudoGradient;
use super::tensor::Tensor;

/// Per-tensor error-feedback buffers `e` of one peer (they never leave the peer).
///
/// Each round: `e ← β·e + Δ`, `P = compress(e)`, `e ← e − decompress(P)`. Whatever top-k
/// dropped and whatever the 2-bit quantizer rounded away stays in `e` and competes again next
/// round, decayed by β; this replaces outer momentum in SparseLoCo.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorFeedback {
	beta: f32,
	buffers: Vec<Tensor>,
	index: HashMap<String, usize>,
}

impl ErrorFeedback {
	/// Empty buffers with decay `beta` (the spec's is [`super::DEFAULT_BETA`], 0.95). Buffers
	/// are created at zero the first time a tensor name is seen.
	pub fn new(beta: f32) -> Result<Self, CodecError> {
		if !(beta.is_finite() && (0.0..=1.0).contains(&beta)) {
			return Err(CodecError::InvalidBeta(beta));
		}
		Ok(Self { beta, buffers: Vec::new(), index: HashMap::new() })
	}

	/// The decay β.
	pub fn beta(&self) -> f32 {
		self.beta
	}

	/// The buffer of one tensor, if it has been created.
	pub fn buffer(&self, name: &str) -> Option<&Tensor> {
		self.index.get(name).and_then(|&i| self.buffers.get(i))
	}

	/// All buffers, in the order their tensors were first seen.
	pub fn buffers(&self) -> &[Tensor] {
		&self.buffers
	}

	/// Drops every buffer (e.g. after the peer re-synced its weights from the chain).
	pub fn reset(&mut self) {
		self.buffers.clear();
		self.index.clear();
	}

	/// One outer round for this peer: folds `delta` into the buffers (`e ← β·e + Δ`),
	/// compresses them into the payload to publish, and removes what the payload carries
	/// (`e ← e − ê`, at kept positions only, with `ê` exactly what every receiver reconstructs).
	///
	/// Shapes are checked for every tensor before any buffer changes, so a mismatch leaves the
	/// buffers untouched. The only error possible after the update starts is an `f32` overflow
	/// of `β·e + Δ` or of the quantizer's statistics (magnitudes near `f32::MAX`); the buffers
	/// are then unspecified and should be [`reset`](Self::reset).
	pub fn step(
		&mut self,
		delta: &PseudoGradient,
		config: &CodecConfig,
	) -> Result<Payload, CodecError> {
		config.validate()?;
		for d in delta.tensors() {
			if let Some(e) = self.buffer(&d.name) {
				if e.shape != d.shape {
					return Err(CodecError::ShapeMismatch {
						name: d.name.clone(),
						expected: e.shape.clone(),
						actual: d.shape.clone(),
					});
				}
			}
		}
		let mut compressor = Compressor::new();
		let mut out = Vec::with_capacity(delta.tensors().len());
		for d in delta.tensors() {
			let i = match self.index.get(&d.name) {
				Some(&i) => i,
				None => {
					self.buffers.push(Tensor {
						name: d.name.clone(),
						shape: d.shape.clone(),
						data: vec![0.0; d.data.len()],
					});
					self.index.insert(d.name.clone(), self.buffers.len() - 1);
					self.buffers.len() - 1
				}
			};
			let e = &mut self.buffers[i];
			let beta = self.beta;
			for (ev, &dv) in e.data.iter_mut().zip(&d.data) {
				*ev = beta * *ev + dv;
			}
			let c = compressor.compress(&e.name, &e.shape, &e.data, config)?;
			c.add_scaled_into(&mut e.data, -1.0)?;
			out.push(c);
		}
		Payload::new(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn delta(data: Vec<f32>) -> PseudoGradient {
		let n = data.len();
		PseudoGradient::from_tensors(vec![Tensor::new("w", vec![n], data).unwrap()]).unwrap()
	}

	/// 2-D, one 8×8 tile whose 64 values are the distinct multiples ±0.5/32 … ±31.5/32.
	fn tile_delta(seed: f32) -> PseudoGradient {
		let data = (0..64).map(|i| ((i * 29 % 64) as f32 - 31.5) * seed / 32.0).collect();
		PseudoGradient::from_tensors(vec![Tensor::new("w", vec![8, 8], data).unwrap()]).unwrap()
	}

	#[test]
	fn keeps_what_was_not_sent() {
		// k = 8 of 64: the four largest magnitudes of each sign are sent.
		let cfg = CodecConfig { topk: 8, ..CodecConfig::default() };
		let mut ef = ErrorFeedback::new(0.95).unwrap();
		let d1 = tile_delta(1.0);
		let p = ef.step(&d1, &cfg).unwrap();
		let sent = p.tensors()[0].decompress();
		let e = ef.buffer("w").unwrap();
		let mut kept = 0;
		for i in 0..64 {
			// First round: e = Δ − ê exactly, so unsent entries equal Δ and sent entries hold
			// only the quantization residual.
			assert_eq!(e.data[i], d1.tensors()[0].data[i] - sent.data[i]);
			if sent.data[i] != 0.0 {
				kept += 1;
			}
		}
		assert_eq!((p.tensors()[0].num_kept(), kept), (8, 8));
		// Kept: |Δ| ≥ 28.5/32. They are symmetric around 0, so shift = 0; positives get code 3
		// and negatives code 1, each reconstructed as the mean magnitude 30/32 = 0.9375.
		for &i in p.tensors()[0].indices() {
			let v = d1.tensors()[0].data[usize::from(i)];
			assert!(v.abs() >= 28.5 / 32.0);
			assert_eq!(sent.data[usize::from(i)], 0.9375f32.copysign(v));
		}
		assert_eq!(p.tensors()[0].lut(), &[0.0, -0.9375, 0.0, 0.9375]);

		// Second round: e ← 0.95·e + Δ₂, then minus what was sent.
		let before: Vec<f32> = e.data.clone();
		let d2 = tile_delta(0.5);
		let p2 = ef.step(&d2, &cfg).unwrap();
		let sent2 = p2.tensors()[0].decompress();
		let e2 = ef.buffer("w").unwrap();
		let parts = before.iter().zip(&d2.tensors()[0].data).zip(&sent2.data).zip(&e2.data);
		for (i, (((&b, &d), &s), &e)) in parts.enumerate() {
			assert_eq!(e, (0.95 * b + d) - s, "entry {i}");
		}
		// Round 1's unsent entries were carried over: some of them are sent now.
		assert!(p2.tensors()[0].indices() != p.tensors()[0].indices());
	}

	#[test]
	fn fully_sent_values_leave_only_rounding() {
		// 1-D of 4 is sent whole; the quantizer maps [-3, -1, 1, 3] to [-3, 0, 0, 3].
		let mut ef = ErrorFeedback::new(0.95).unwrap();
		ef.step(&delta(vec![-3.0, -1.0, 1.0, 3.0]), &CodecConfig::default()).unwrap();
		assert_eq!(ef.buffer("w").unwrap().data, vec![0.0, -1.0, 1.0, 0.0]);
		// Next round with Δ = 0: e = 0.95·[0, -1, 1, 0] = [0, -0.95, 0.95, 0], sent whole:
		// mean 0, codes [2, 1, 3, 2] -> LUT [_, -0.95, 0, 0.95] -> nothing left.
		let p = ef.step(&delta(vec![0.0; 4]), &CodecConfig::default()).unwrap();
		assert_eq!(p.tensors()[0].codes(), &[2, 1, 3, 2]);
		assert_eq!(ef.buffer("w").unwrap().data, vec![0.0; 4]);
	}

	#[test]
	fn shape_change_is_refused_without_touching_buffers() {
		let mut ef = ErrorFeedback::new(0.95).unwrap();
		ef.step(&delta(vec![1.0, 2.0]), &CodecConfig::default()).unwrap();
		let snapshot = ef.clone();
		assert!(matches!(
			ef.step(&delta(vec![1.0, 2.0, 3.0]), &CodecConfig::default()),
			Err(CodecError::ShapeMismatch { .. })
		));
		assert_eq!(ef, snapshot);
		ef.reset();
		assert!(ef.buffers().is_empty());
	}

	#[test]
	fn beta_is_checked() {
		assert!(ErrorFeedback::new(0.95).is_ok());
		for b in [-0.1, 1.5, f32::NAN] {
			assert!(matches!(ErrorFeedback::new(b), Err(CodecError::InvalidBeta(_))));
		}
	}
}
