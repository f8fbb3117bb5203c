//! The sync score: how many outer steps behind the global weights a miner trained from.
//!
//! Every contribution carries θ at [`SAMPLE_LEN`] positions drawn once per run
//! ([`SamplePositions`]). A validator keeps the same sample of its own θ for the last
//! [`MAX_STEPS_BEHIND`] windows ([`SyncHistory`]); the miner is `k` steps behind when its sample
//! equals the validator's θ of `k` windows before the evaluated one, and
//! [`MAX_STEPS_BEHIND`] behind when it equals none. Score: `max(0, 1 − min(k, 5)/5)^2.5`.

use std::collections::VecDeque;

use tch::Tensor;

use super::Window;

/// Values in a weight sample.
pub const SAMPLE_LEN: usize = 256;
/// Steps behind at which the sync score reaches 0.
pub const MAX_STEPS_BEHIND: u64 = 5;
/// Relative tolerance of a sample match: peers agree bit for bit on any device (the outer step,
/// `outer::apply_payloads` or `outer::apply_payloads_on_gpu`, rounds exactly as the codec
/// does), so only a genuinely different θ misses it.
const MATCH_TOLERANCE: f32 = 1e-5;

/// The sync score of a miner `steps_behind` outer steps behind.
pub fn sync_score(steps_behind: u64) -> f64 {
	let x = steps_behind.min(MAX_STEPS_BEHIND) as f64 / MAX_STEPS_BEHIND as f64;
	(1.0 - x).max(0.0).powf(2.5)
}

/// Where the run samples θ: `(tensor index, flat element index)`, fixed by the run seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamplePositions(Vec<(usize, i64)>);

impl SamplePositions {
	/// [`SAMPLE_LEN`] positions spread over tensors of `numels` elements, drawn from `run_seed`.
	pub fn new(run_seed: u64, numels: &[i64]) -> Self {
		let total: i64 = numels.iter().sum();
		if total <= 0 {
			return Self(Vec::new());
		}
		let positions = (0..SAMPLE_LEN as u64)
			.map(|i| {
				let h = blake2b_simd::Params::new()
					.hash_length(8)
					.personal(b"gauntlet-sample")
					.to_state()
					.update(&run_seed.to_le_bytes())
					.update(&i.to_le_bytes())
					.finalize();
				let mut flat = (u64::from_le_bytes(h.as_bytes().try_into().expect("8 bytes"))
					% total as u64) as i64;
				let mut tensor = 0;
				while flat >= numels[tensor] {
					flat -= numels[tensor];
					tensor += 1;
				}
				(tensor, flat)
			})
			.collect();
		Self(positions)
	}

	/// Number of positions.
	pub fn len(&self) -> usize {
		self.0.len()
	}

	/// Whether there are none (a model without parameters).
	pub fn is_empty(&self) -> bool {
		self.0.is_empty()
	}

	/// θ at the positions.
	pub fn sample(&self, params: &[Tensor]) -> Vec<f32> {
		let flat: Vec<Tensor> = params.iter().map(|p| p.detach().view([-1])).collect();
		self.0.iter().map(|&(t, i)| flat[t].double_value(&[i]) as f32).collect()
	}
}

fn matches(a: &[f32], b: &[f32]) -> bool {
	a.len() == b.len()
		&& a.iter().zip(b).all(|(x, y)| (x - y).abs() <= MATCH_TOLERANCE * y.abs().max(1.0))
}

/// The samples of the global θ of the last [`MAX_STEPS_BEHIND`] windows.
#[derive(Clone, Debug, Default)]
pub struct SyncHistory {
	newest_first: VecDeque<(Window, Vec<f32>)>,
}

impl SyncHistory {
	/// Records the sample of θ_`window` (windows must come in increasing order).
	pub fn push(&mut self, window: Window, sample: Vec<f32>) {
		self.newest_first.push_front((window, sample));
		self.newest_first.truncate(MAX_STEPS_BEHIND as usize);
	}

	/// How many steps before `window` the θ that produced `reported` was; [`MAX_STEPS_BEHIND`]
	/// when it matches no θ kept (older, or not a global θ at all).
	pub fn steps_behind(&self, window: Window, reported: &[f32]) -> u64 {
		self.newest_first
			.iter()
			.filter(|(w, _)| *w <= window)
			.find(|(_, s)| matches(s, reported))
			.map_or(MAX_STEPS_BEHIND, |(w, _)| window - w)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn score_follows_the_spec_formula() {
		assert_eq!(sync_score(0), 1.0);
		assert!((sync_score(1) - 0.8f64.powf(2.5)).abs() < 1e-12);
		assert!((sync_score(3) - 0.4f64.powf(2.5)).abs() < 1e-12);
		assert_eq!(sync_score(5), 0.0);
		assert_eq!(sync_score(50), 0.0);
	}

	#[test]
	fn positions_are_reproducible_in_range_and_seed_dependent() {
		let numels = [10, 1, 1000, 7];
		let a = SamplePositions::new(3, &numels);
		assert_eq!(a.len(), SAMPLE_LEN);
		assert_eq!(a, SamplePositions::new(3, &numels));
		assert_ne!(a, SamplePositions::new(4, &numels));
		assert!(a.0.iter().all(|&(t, i)| i >= 0 && i < numels[t]));
	}

	#[test]
	fn steps_behind_finds_the_matching_window() {
		let mut h = SyncHistory::default();
		for w in 10..=16u64 {
			h.push(w, vec![w as f32; 4]);
		}
		assert_eq!(h.steps_behind(16, &[16.0; 4]), 0);
		assert_eq!(h.steps_behind(16, &[14.0; 4]), 2);
		assert_eq!(h.steps_behind(15, &[15.0; 4]), 0);
		// Window 11 fell out of the history; a foreign sample matches nothing.
		assert_eq!(h.steps_behind(16, &[11.0; 4]), MAX_STEPS_BEHIND);
		assert_eq!(h.steps_behind(16, &[0.5; 4]), MAX_STEPS_BEHIND);
		assert_eq!(h.steps_behind(16, &[16.0; 3]), MAX_STEPS_BEHIND);
	}
}
