//! A peer's error-feedback buffers `e`, one per model tensor.
//!
//! The recurrence is exactly [`crate::sparseloco::ErrorFeedback::step`]'s (`e ← β·e + Δ`,
//! compress `e`, `e ← e − ê` at the kept positions), and a test holds the two equal. It is
//! kept here because a checkpoint must put saved buffers back, which the codec's type cannot
//! (it has no constructor from buffers); switch to it once it has one.

use crate::sparseloco::{CodecConfig, CodecError, Compressor, Payload, Tensor as Array};

/// Error-feedback state of one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorBuffers {
	beta: f32,
	buffers: Vec<Array>,
}

impl ErrorBuffers {
	/// Empty buffers (zero on first use) with decay `beta` in `[0, 1]`.
	pub fn new(beta: f32) -> Result<Self, CodecError> {
		Self::from_arrays(beta, Vec::new())
	}

	/// Buffers restored from a checkpoint.
	pub fn from_arrays(beta: f32, buffers: Vec<Array>) -> Result<Self, CodecError> {
		if !(beta.is_finite() && (0.0..=1.0).contains(&beta)) {
			return Err(CodecError::InvalidBeta(beta));
		}
		for b in &buffers {
			b.validate()?;
		}
		Ok(Self { beta, buffers })
	}

	/// The decay β.
	pub fn beta(&self) -> f32 {
		self.beta
	}

	/// The buffers, in the order tensors were first seen.
	pub fn arrays(&self) -> &[Array] {
		&self.buffers
	}

	/// Folds `delta` into the buffers, compresses them into the payload to publish, and removes
	/// what the payload carries. Shapes are checked before any buffer changes.
	pub fn step(&mut self, delta: &[Array], config: &CodecConfig) -> Result<Payload, CodecError> {
		config.validate()?;
		let mut slots = Vec::with_capacity(delta.len());
		for d in delta {
			d.validate()?;
			match self.buffers.iter().position(|e| e.name == d.name) {
				Some(i) if self.buffers[i].shape != d.shape => {
					return Err(CodecError::ShapeMismatch {
						name: d.name.clone(),
						expected: self.buffers[i].shape.clone(),
						actual: d.shape.clone(),
					})
				}
				found => slots.push(found),
			}
		}
		let mut compressor = Compressor::new();
		let mut out = Vec::with_capacity(delta.len());
		for (d, slot) in delta.iter().zip(slots) {
			let i = slot.unwrap_or_else(|| {
				self.buffers.push(Array {
					name: d.name.clone(),
					shape: d.shape.clone(),
					data: vec![0.0; d.data.len()],
				});
				self.buffers.len() - 1
			});
			let e = &mut self.buffers[i];
			for (ev, &dv) in e.data.iter_mut().zip(&d.data) {
				*ev = self.beta * *ev + dv;
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
	use crate::sparseloco::{ErrorFeedback, PseudoGradient};

	fn delta(round: u32) -> Vec<Array> {
		let wave = |n: usize, f: f32| (0..n).map(|i| (i as f32 * f + round as f32).sin()).collect();
		vec![
			Array::new("w", vec![128, 96], wave(128 * 96, 0.37)).unwrap(),
			Array::new("b", vec![40], wave(40, 1.3)).unwrap(),
		]
	}

	#[test]
	fn matches_the_codec_error_feedback_bit_for_bit() {
		let config = CodecConfig::default();
		let mut ours = ErrorBuffers::new(0.95).unwrap();
		let mut theirs = ErrorFeedback::new(0.95).unwrap();
		for round in 0..4 {
			let d = delta(round);
			let a = ours.step(&d, &config).unwrap();
			let b = theirs.step(&PseudoGradient::from_tensors(d).unwrap(), &config).unwrap();
			assert_eq!(a, b, "payload of round {round}");
			assert_eq!(ours.arrays(), theirs.buffers(), "buffers after round {round}");
		}
	}

	#[test]
	fn restored_buffers_continue_like_the_originals() {
		let config = CodecConfig::default();
		let mut a = ErrorBuffers::new(0.9).unwrap();
		a.step(&delta(0), &config).unwrap();
		let mut b = ErrorBuffers::from_arrays(0.9, a.arrays().to_vec()).unwrap();
		assert_eq!(a.step(&delta(1), &config).unwrap(), b.step(&delta(1), &config).unwrap());
		assert!(matches!(ErrorBuffers::new(1.5), Err(CodecError::InvalidBeta(_))));
	}
}
