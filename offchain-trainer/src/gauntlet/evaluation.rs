//! A validator's measurements of one contribution (the Gauntlet spec, steps 1–6): the loss on
//! the miner's own pages and on random pages, before and after applying the payload alone with
//! a small step, and the scores derived from them.

use gauntlet_chain::types::{EvaluationLosses, FailureReason, MinerScore};

use crate::data::Batch;
use crate::outer::apply_payloads;
use crate::sparseloco::{Aggregation, AggregationRule, ClipTo, CodecError, Payload};

use super::global_model::GlobalModel;

/// Bounds of a relative improvement on chain (`MIN/MAX_RELATIVE_IMPROVEMENT`).
pub const MIN_IMPROVEMENT: f64 = -1000.0;
/// Upper bound: a loss cannot fall below zero.
pub const MAX_IMPROVEMENT: f64 = 1.0;
/// Highest loss the chain records (`pallet_gauntlet::MAX_LOSS`).
pub const MAX_RECORDED_LOSS: f64 = 1000.0;

/// The losses of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Losses {
	/// On the miner's pages, θ_W.
	pub own_before: f64,
	/// On the miner's pages, after the trial step.
	pub own_after: f64,
	/// On random pages, θ_W.
	pub random_before: f64,
	/// On random pages, after the trial step.
	pub random_after: f64,
	/// The reference: the mean update of the window's other helpful payloads (the miner's own
	/// left out, so it does not dilute its own advantage) applied with the same step, measured on
	/// the miner's pages and on the random pages. `None` with fewer than two such payloads, when
	/// there is nothing to compare with.
	pub reference: Option<Reference>,
}

/// Losses after the window's mean update (see [`Losses::reference`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
	/// On the miner's pages.
	pub own_after: f64,
	/// On the random pages.
	pub random_after: f64,
}

impl Losses {
	/// The four losses as the chain records them: in [0, [`MAX_RECORDED_LOSS`]], a non-finite
	/// loss (a payload that blew the model up) recorded as the maximum.
	pub fn recorded(&self) -> EvaluationLosses {
		let record = |l: f64| {
			if l.is_finite() {
				l.clamp(0.0, MAX_RECORDED_LOSS)
			} else {
				MAX_RECORDED_LOSS
			}
		};
		EvaluationLosses {
			own_before: record(self.own_before),
			own_after: record(self.own_after),
			random_before: record(self.random_before),
			random_after: record(self.random_after),
		}
	}
}

/// `(before − after) / before`, clamped to the chain's range; a non-finite result (a payload
/// that blows the model up) is the worst value.
pub fn relative_improvement(before: f64, after: f64) -> f64 {
	let r = (before - after) / before;
	if r.is_finite() {
		r.clamp(MIN_IMPROVEMENT, MAX_IMPROVEMENT)
	} else {
		MIN_IMPROVEMENT
	}
}

/// Measures `payload` on `global`: θ is restored before returning, whatever happens.
/// `random_before` is shared by every miner of the window, so it is passed in. `medians` are the
/// per-tensor median norms of every payload evaluated in the window
/// ([`GlobalModel::median_norms`]): the trial step clips the payload to them, as the real
/// aggregate would clip it, so a miner gains nothing by inflating its payload's norm. A trial
/// step that would make a tensor non-finite is refused ([`CodecError::NonFinite`]).
#[allow(clippy::too_many_arguments)]
pub fn measure(
	global: &GlobalModel,
	payload: &Payload,
	medians: &[f64],
	lr: f32,
	own: &Batch,
	random: &Batch,
	random_before: f64,
	micro_batch: i64,
) -> Result<Losses, CodecError> {
	let model = global.model();
	let own_before = model.eval_loss(own, micro_batch);
	let saved = model.snapshot();
	let how = Aggregation { rule: AggregationRule::Mean, clip: ClipTo::Medians(medians) };
	let applied =
		apply_payloads(model.names(), model.params(), std::slice::from_ref(payload), &how, lr)
			.and_then(refuse_skipped);
	let losses = applied.map(|()| Losses {
		own_before,
		own_after: model.eval_loss(own, micro_batch),
		random_before,
		random_after: model.eval_loss(random, micro_batch),
		reference: None,
	});
	model.assign(&saved);
	losses
}

/// A step that had to leave tensors out is no measurement of the payload.
fn refuse_skipped(skipped: Vec<String>) -> Result<(), CodecError> {
	match skipped.into_iter().next() {
		Some(name) => Err(CodecError::NonFinite { name, index: 0 }),
		None => Ok(()),
	}
}

/// Applies the mean of `payloads` (per position, over the payloads that kept it, each clipped to
/// `medians` as in [`measure`]: an update of one payload's size, whatever their number) with step
/// `lr`, runs `f` on the updated model, and restores θ whatever happens.
pub fn with_mean_update<R>(
	global: &GlobalModel,
	payloads: &[&Payload],
	medians: &[f64],
	lr: f32,
	f: impl FnOnce() -> R,
) -> Result<R, CodecError> {
	let model = global.model();
	let saved = model.snapshot();
	let how = Aggregation { rule: AggregationRule::Mean, clip: ClipTo::Medians(medians) };
	let result = apply_payloads(model.names(), model.params(), payloads, &how, lr)
		.and_then(refuse_skipped)
		.map(|()| f());
	model.assign(&saved);
	result
}

/// Bounds of the response ratio `own_ref / random_ref` in [`own_data_advantage`]. The reference
/// update was trained on neither page set and both are samples of one corpus, so the ratio
/// carries only how differently hard the two sets are; a ratio beyond 4 (or below 1/4) means
/// one set barely moved, which is evaluation noise, not difficulty. Unbounded, that noise could
/// scale the random-page term, and so the advantage, by up to ±5000 (own ≤ 0.5 over random ≥
/// 1e-4); bounded, `|advantage| ≤ |own| + 4·|random|`.
pub const RESPONSE_RATIO_BOUNDS: (f64, f64) = (0.25, 4.0);

/// How much more the payload helps the miner's own pages than its help on random pages
/// predicts. The spec's indicator compares the two improvements directly; their difference then
/// also carries how differently the two page sets respond to *any* update (their difficulty),
/// noise of the same size as the signal on small evaluation sets. The window's mean update
/// measures that response: `own_ref / random_ref` is how much the miner's pages gain per unit
/// of random-page gain from an update that was not trained on them. The advantage is what the
/// payload gains on its pages beyond that: `own − random × own_ref / random_ref`. A payload
/// that changes nothing scores exactly 0, whatever the pages.
pub fn own_data_advantage(losses: &Losses) -> f64 {
	let own = relative_improvement(losses.own_before, losses.own_after);
	let random = relative_improvement(losses.random_before, losses.random_after);
	// A mean update that barely moves the random loss, or wrecks the model (an early window
	// full of noise payloads), gives no usable ratio: compare directly, as the spec does.
	let response = losses
		.reference
		.map(|r| {
			(
				relative_improvement(losses.own_before, r.own_after),
				relative_improvement(losses.random_before, r.random_after),
			)
		})
		.filter(|(own, random)| own.abs() < 0.5 && *random > 1e-4 && *random < 0.5)
		.map_or(1.0, |(own, random)| {
			(own / random).clamp(RESPONSE_RATIO_BOUNDS.0, RESPONSE_RATIO_BOUNDS.1)
		});
	own - random * response
}

/// The score of a measured contribution. The binary indicator is +1 when the
/// [`own_data_advantage`] exceeds `indicator_margin` (relative units).
pub fn score(
	losses: &Losses,
	sync_score: f64,
	copy_suspected: bool,
	indicator_margin: f64,
) -> MinerScore {
	let gradient_score = relative_improvement(losses.random_before, losses.random_after);
	let own_improvement = relative_improvement(losses.own_before, losses.own_after);
	let advantage = own_data_advantage(losses);
	MinerScore {
		gradient_score,
		own_improvement,
		binary_indicator: if advantage > indicator_margin { 1 } else { -1 },
		sync_score: sync_score.clamp(0.0, 1.0),
		copy_suspected,
		failure: None,
		losses: losses.recorded(),
	}
}

/// The score of a contribution that could not be evaluated.
pub fn failure(reason: FailureReason) -> MinerScore {
	MinerScore {
		gradient_score: 0.0,
		own_improvement: 0.0,
		binary_indicator: -1,
		sync_score: 0.0,
		copy_suspected: false,
		failure: Some(reason),
		losses: EvaluationLosses::default(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn improvement_is_relative_and_clamped() {
		assert!((relative_improvement(4.0, 3.0) - 0.25).abs() < 1e-12);
		assert!((relative_improvement(4.0, 5.0) + 0.25).abs() < 1e-12);
		assert_eq!(relative_improvement(1.0, f64::NAN), MIN_IMPROVEMENT);
		assert_eq!(relative_improvement(1.0, f64::INFINITY), MIN_IMPROVEMENT);
		assert_eq!(relative_improvement(1e-9, 1e3), MIN_IMPROVEMENT);
		assert_eq!(relative_improvement(0.0, 0.0), MIN_IMPROVEMENT);
	}

	#[test]
	fn indicator_needs_own_data_to_beat_random_by_the_margin() {
		let l = |own_after, random_after| Losses {
			own_before: 5.0,
			own_after,
			random_before: 5.0,
			random_after,
			reference: None,
		};
		assert_eq!(score(&l(4.0, 4.5), 1.0, false, 0.01).binary_indicator, 1);
		assert_eq!(score(&l(4.5, 4.5), 1.0, false, 0.0).binary_indicator, -1);
		assert_eq!(score(&l(4.49, 4.5), 1.0, false, 0.01).binary_indicator, -1);
		let s = score(&l(4.0, 4.5), 1.5, true, 0.0);
		assert!((s.gradient_score - 0.1).abs() < 1e-12);
		assert!((s.own_improvement - 0.2).abs() < 1e-12);
		assert_eq!((s.sync_score, s.copy_suspected, s.failure), (1.0, true, None));
		assert_eq!(
			s.losses,
			EvaluationLosses {
				own_before: 5.0,
				own_after: 4.0,
				random_before: 5.0,
				random_after: 4.5
			}
		);
	}

	#[test]
	fn losses_are_recorded_within_the_chains_range() {
		let l = Losses {
			own_before: 5.0,
			own_after: f64::NAN,
			random_before: 5.0,
			random_after: 1e9,
			reference: None,
		};
		let r = l.recorded();
		assert_eq!((r.own_after, r.random_after, r.own_before), (1000.0, 1000.0, 5.0));
	}

	#[test]
	fn the_reference_removes_what_any_update_does_to_the_two_page_sets() {
		// Own pages respond more to every update (easier pages): without the reference this
		// miner would look as if it trained on them.
		let mut l = Losses {
			own_before: 5.0,
			own_after: 4.45,
			random_before: 5.0,
			random_after: 4.5,
			reference: None,
		};
		assert!((own_data_advantage(&l) - 0.01).abs() < 1e-12);
		l.reference = Some(Reference { own_after: 4.45, random_after: 4.5 });
		assert!(own_data_advantage(&l).abs() < 1e-12);
		assert_eq!(score(&l, 1.0, false, 0.001).binary_indicator, -1);
		// A miner that did train on its pages beats the reference there.
		l.own_after = 4.3;
		assert!((own_data_advantage(&l) - 0.03).abs() < 1e-12);
		assert_eq!(score(&l, 1.0, false, 0.001).binary_indicator, 1);
		// A reference that barely moved the random pages cannot scale them beyond the bound.
		let mut noisy = l;
		noisy.reference = Some(Reference { own_after: 4.0, random_after: 4.999 });
		noisy.own_after = 4.45;
		let (own, random) = (0.11, 0.1);
		let bounded = own - random * RESPONSE_RATIO_BOUNDS.1;
		assert!(
			(own_data_advantage(&noisy) - bounded).abs() < 1e-12,
			"{}",
			own_data_advantage(&noisy)
		);
		// A payload that changes nothing gains nothing, whatever the pages' response.
		(l.own_after, l.random_after) = (5.0, 5.0);
		assert_eq!(own_data_advantage(&l), 0.0);
		assert_eq!(score(&l, 1.0, false, 0.001).binary_indicator, -1);
	}
}
