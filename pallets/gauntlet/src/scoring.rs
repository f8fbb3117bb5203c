//! Pure maths of a window close, apart from the rating update itself ([`crate::ratings`]):
//! combining validators' scores, ranking, the binary moving average and the final weights.

use crate::{
	ratings::to_fixed_i64,
	types::{MinerScore, MinerState},
};
use alloc::vec::Vec;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	FixedI64, FixedPointNumber, Perbill,
};

/// The validators' scores of one miner, combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aggregate {
	/// Median ranking score: the gradient score, or the worst score where a validator flagged a
	/// copy or failure. A majority of validators must flag a miner for it to rank last.
	pub score: FixedI64,
	/// Median gradient score.
	pub gradient_score: FixedI64,
	/// Median own-data improvement.
	pub own_improvement: FixedI64,
	/// Median binary indicator (±1).
	pub binary_indicator: i8,
	/// Median sync score.
	pub sync_score: FixedI64,
	/// How many validators scored the miner.
	pub validators: u32,
	/// How many flagged a copy.
	pub copy_flags: u32,
	/// How many reported a failure.
	pub failures: u32,
}

/// The lower median: the ⌈n/2⌉-th smallest value, so with an even count the lower middle value
/// wins (a miner needs a strict majority of validators to get the higher one). `None` if empty.
pub fn lower_median<V: Ord + Copy>(mut values: Vec<V>) -> Option<V> {
	values.sort_unstable();
	let middle = values.len().checked_sub(1)? / 2;
	values.get(middle).copied()
}

/// Combines one miner's scores from every validator that scored it; `None` if there are none.
pub fn aggregate(scores: &[MinerScore]) -> Option<Aggregate> {
	let median = |f: fn(&MinerScore) -> FixedI64| lower_median(scores.iter().map(f).collect());
	let count = |f: fn(&MinerScore) -> bool| {
		u32::try_from(scores.iter().filter(|s| f(s)).count()).unwrap_or(u32::MAX)
	};
	Some(Aggregate {
		score: median(MinerScore::ranking_score)?,
		gradient_score: median(|s| s.gradient_score)?,
		own_improvement: median(|s| s.own_improvement)?,
		binary_indicator: lower_median(scores.iter().map(|s| s.binary_indicator).collect())?,
		sync_score: median(|s| s.sync_score)?,
		validators: u32::try_from(scores.len()).unwrap_or(u32::MAX),
		copy_flags: count(|s| s.copy_suspected),
		failures: count(|s| s.failure.is_some()),
	})
}

/// 1-based ranks of `scores` (higher is better); equal scores share the lowest rank ("1224").
pub fn ranks(scores: &[FixedI64]) -> Vec<u32> {
	let mut descending = scores.to_vec();
	descending.sort_unstable_by(|a, b| b.cmp(a));
	scores
		.iter()
		.map(|s| {
			let better = descending.partition_point(|x| x > s);
			u32::try_from(better).unwrap_or(u32::MAX).saturating_add(1)
		})
		.collect()
}

/// `ma + α·(indicator − ma)`, kept within [−1, 1].
pub fn update_binary_ma(ma: FixedI64, alpha: FixedI64, indicator: i8) -> FixedI64 {
	let target = FixedI64::saturating_from_integer(indicator);
	let next = ma.saturating_add(alpha.saturating_mul(target.saturating_sub(ma)));
	next.max(FixedI64::saturating_from_integer(-1)).min(FixedI64::one())
}

/// A miner's weight before normalisation: `max(0, ordinal) × max(0, binary_ma) × sync`, in
/// 10⁻⁹ units.
pub fn raw_weight(state: &MinerState) -> u128 {
	let non_negative = |x: FixedI64| x.max(FixedI64::zero());
	let w = non_negative(to_fixed_i64(state.rating.ordinal()))
		.saturating_mul(non_negative(state.binary_ma))
		.saturating_mul(non_negative(state.sync));
	u128::try_from(w.into_inner()).unwrap_or(0)
}

/// Power-2 normalisation: `w_i² / Σ w_j²`. All zero if every weight is zero. The shares sum to 1
/// up to one part per billion per miner (each is rounded to the nearest part per billion).
pub fn normalise(raw: &[u128]) -> Vec<Perbill> {
	let squares: Vec<u128> = raw.iter().map(|w| w.saturating_mul(*w)).collect();
	let total = squares.iter().fold(0u128, |acc, s| acc.saturating_add(*s));
	squares
		.into_iter()
		.map(|s| if total.is_zero() { Perbill::zero() } else { Perbill::from_rational(s, total) })
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{
		ratings::to_fixed,
		types::{FailureReason, Rating, ONE, WORST_SCORE},
	};

	fn fx(x: i64) -> FixedI64 {
		FixedI64::from_inner(x)
	}

	fn score(gradient: i64, binary: i8, sync: i64) -> MinerScore {
		MinerScore {
			gradient_score: fx(gradient),
			own_improvement: fx(gradient),
			binary_indicator: binary,
			sync_score: fx(sync),
			copy_suspected: false,
			failure: None,
			losses: Default::default(),
		}
	}

	#[test]
	fn lower_median_takes_the_lower_middle() {
		assert_eq!(lower_median(Vec::<i32>::new()), None);
		assert_eq!(lower_median(vec![5]), Some(5));
		assert_eq!(lower_median(vec![9, 1]), Some(1));
		assert_eq!(lower_median(vec![3, 9, 1]), Some(3));
		assert_eq!(lower_median(vec![4, 3, 9, 1]), Some(3));
	}

	#[test]
	fn a_minority_flag_does_not_sink_a_miner_but_a_majority_does() {
		let mut flagged = score(100, 1, ONE);
		flagged.copy_suspected = true;
		let agg = aggregate(&[score(300, 1, ONE), score(200, 1, ONE), flagged]).unwrap();
		assert_eq!((agg.score, agg.copy_flags, agg.validators), (fx(200), 1, 3));
		let mut failed = score(300, -1, 0);
		failed.failure = Some(FailureReason::HashMismatch);
		let agg = aggregate(&[failed, flagged, score(200, 1, ONE)]).unwrap();
		assert_eq!((agg.score, agg.failures, agg.copy_flags), (WORST_SCORE, 1, 1));
		assert_eq!(agg.binary_indicator, 1);
		assert_eq!(aggregate(&[]), None);
	}

	#[test]
	fn ranks_share_the_lowest_rank_on_ties() {
		assert_eq!(ranks(&[fx(5), fx(9), fx(5), fx(1)]), vec![2, 1, 2, 4]);
		assert_eq!(ranks(&[]), Vec::<u32>::new());
	}

	#[test]
	fn binary_moving_average_moves_by_alpha() {
		let alpha = fx(50_000_000);
		let ma = update_binary_ma(FixedI64::zero(), alpha, 1);
		assert_eq!(ma, fx(50_000_000));
		// 0.05 + 0.05 × (−1 − 0.05) = −0.0025
		assert_eq!(update_binary_ma(ma, alpha, -1), fx(-2_500_000));
		assert_eq!(update_binary_ma(FixedI64::one(), FixedI64::one(), 1), FixedI64::one());
	}

	#[test]
	fn weights_are_power_normalised_and_sum_to_one() {
		let state = |mu: i64, ma: i64, sync: i64| MinerState {
			rating: Rating { mu: to_fixed(fx(mu * ONE)), sigma: to_fixed(fx(ONE)) },
			binary_ma: fx(ma),
			sync: fx(sync),
			..Default::default()
		};
		// ordinals 7 and 3 (μ − 3σ), binary MA 0.5, sync 1 → raw 3.5 and 1.5.
		let raw = [raw_weight(&state(10, ONE / 2, ONE)), raw_weight(&state(6, ONE / 2, ONE))];
		assert_eq!(raw, [3_500_000_000, 1_500_000_000]);
		let w = normalise(&raw);
		// 12.25 / 14.5 and 2.25 / 14.5
		assert_eq!(
			w,
			vec![Perbill::from_rational(1225u32, 1450), Perbill::from_rational(225u32, 1450)]
		);
		let total: u64 = w.iter().map(|p| u64::from(p.deconstruct())).sum();
		assert!(total.abs_diff(1_000_000_000) <= 2);
		// Negative ordinal or binary MA gives no weight.
		assert_eq!(raw_weight(&state(2, ONE, ONE)), 0);
		assert_eq!(raw_weight(&state(10, -ONE, ONE)), 0);
		assert_eq!(normalise(&[0, 0]), vec![Perbill::zero(); 2]);
	}
}
