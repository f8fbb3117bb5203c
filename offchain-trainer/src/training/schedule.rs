//! The inner learning-rate schedule: linear warmup, then cosine decay to a floor.

use serde::{Deserialize, Serialize};

/// `lr(s)` for optimizer step `s` (0-based): `peak·(s+1)/warmup` during warmup, then a cosine
/// from `peak` down to `peak·min_ratio` at `total_steps`, flat after that.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
	/// Learning rate at the end of warmup.
	pub peak: f64,
	/// Steps of linear warmup.
	pub warmup_steps: u64,
	/// Step at which the cosine reaches its floor.
	pub total_steps: u64,
	/// Floor as a fraction of `peak`.
	pub min_ratio: f64,
}

impl LrSchedule {
	/// The learning rate of step `step`.
	pub fn at(&self, step: u64) -> f64 {
		if step < self.warmup_steps {
			return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
		}
		let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
		let progress = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
		let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
		self.peak * (self.min_ratio + (1.0 - self.min_ratio) * cosine)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn warms_up_then_decays_to_the_floor() {
		let s = LrSchedule { peak: 1.0, warmup_steps: 10, total_steps: 110, min_ratio: 0.1 };
		assert!((s.at(0) - 0.1).abs() < 1e-12);
		assert!((s.at(9) - 1.0).abs() < 1e-12);
		assert!((s.at(10) - 1.0).abs() < 1e-12);
		assert!((s.at(60) - 0.55).abs() < 1e-12);
		assert!((s.at(110) - 0.1).abs() < 1e-12);
		assert!((s.at(1000) - 0.1).abs() < 1e-12);
		assert!((1..200).all(|i| s.at(i + 10) <= s.at(i + 9)));
	}
}
