//! Codec hyperparameters.

use super::error::CodecError;

/// Largest number of entries in one chunk: indices are sent as 12-bit numbers.
pub const MAX_CHUNK_LEN: usize = 1 << 12;

/// Largest `chunk_target`: a `64 × 64` tile is exactly [`MAX_CHUNK_LEN`] entries.
pub const MAX_CHUNK_TARGET: usize = 64;

/// Largest bin count: codes travel as 2-bit numbers.
pub const MAX_BINS: u8 = 4;

/// Error-feedback decay β of the Templar / Covenant-72B run.
pub const DEFAULT_BETA: f32 = 0.95;

/// Outer SGD learning rate η of the Templar / Covenant-72B run (decayed to 0.65 late in the run).
pub const DEFAULT_OUTER_LR: f32 = 1.0;

/// Hyperparameters of one tensor's compression. `Default` is the spec's (Templar hparams.json).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecConfig {
	/// Entries kept per chunk before clamping to the chunk length and rounding down to even.
	pub topk: usize,
	/// Target tile side: each dimension `n` is split by its largest divisor `≤ chunk_target`.
	pub chunk_target: usize,
	/// Quantization bins (2-bit codes, so at most 4).
	pub bins: u8,
	/// Quantization range in standard deviations of the centred kept values.
	pub range: f32,
}

impl Default for CodecConfig {
	fn default() -> Self {
		Self { topk: 64, chunk_target: 64, bins: 4, range: 6.0 }
	}
}

impl CodecConfig {
	/// Checks that the config fits the wire format: tiles of at most 4096 entries (12-bit
	/// indices), 2..=4 bins (2-bit codes), a positive finite range and a positive top-k.
	pub fn validate(&self) -> Result<(), CodecError> {
		if self.topk == 0 {
			return Err(CodecError::InvalidConfig("topk must be at least 1"));
		}
		if self.chunk_target == 0 || self.chunk_target > MAX_CHUNK_TARGET {
			return Err(CodecError::InvalidConfig("chunk_target must be in 1..=64"));
		}
		if !(2..=MAX_BINS).contains(&self.bins) {
			return Err(CodecError::InvalidConfig("bins must be in 2..=4"));
		}
		if !(self.range.is_finite() && self.range > 0.0) {
			return Err(CodecError::InvalidConfig("range must be finite and positive"));
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn default_is_the_spec() {
		let c = CodecConfig::default();
		assert_eq!((c.topk, c.chunk_target, c.bins, c.range), (64, 64, 4, 6.0));
		assert!(c.validate().is_ok());
	}

	#[test]
	fn rejects_configs_the_wire_cannot_carry() {
		let d = CodecConfig::default();
		for bad in [
			CodecConfig { topk: 0, ..d },
			CodecConfig { chunk_target: 0, ..d },
			CodecConfig { chunk_target: 65, ..d },
			CodecConfig { bins: 1, ..d },
			CodecConfig { bins: 5, ..d },
			CodecConfig { range: 0.0, ..d },
			CodecConfig { range: f32::NAN, ..d },
		] {
			assert!(matches!(bad.validate(), Err(CodecError::InvalidConfig(_))), "{bad:?}");
		}
	}
}
