//! Read-only views behind the `GauntletApi` runtime API. Every loop is bounded by the pallet's
//! limits, whatever the arguments.

use crate::{pallet::*, types::*};
use alloc::vec::Vec;
use frame_support::traits::Get;
use frame_system::pallet_prelude::BlockNumberFor;

impl<T: Config> Pallet<T> {
	/// Every registered miner's standing, by final weight, then ordinal (both descending), then
	/// account id.
	pub fn leaderboard() -> Vec<LeaderboardEntry<T::AccountId>> {
		let mut board: Vec<_> = MinerStates::<T>::iter()
			.take(T::MaxMiners::get() as usize)
			.map(|(miner, s)| LeaderboardEntry {
				miner,
				mu: s.rating.mu,
				sigma: s.rating.sigma,
				ordinal: s.rating.ordinal(),
				binary_ma: s.binary_ma,
				sync: s.sync,
				final_weight: s.final_weight,
				last_committed: s.last_committed,
			})
			.collect();
		board.sort_by(|a, b| {
			b.final_weight
				.cmp(&a.final_weight)
				.then_with(|| b.ordinal.cmp(&a.ordinal))
				.then_with(|| a.miner.cmp(&b.miner))
		});
		board
	}

	/// `miner`'s rating snapshots of the closed windows in `from_window..=to_window` that are
	/// still stored, oldest first.
	pub fn rating_history(
		miner: T::AccountId,
		from_window: Window,
		to_window: Window,
	) -> Vec<RatingSnapshot> {
		let cursor = Cursor::<T>::get();
		let Some(last_closed) = cursor.next_close.checked_sub(1) else { return Vec::new() };
		let from = from_window.max(cursor.next_prune);
		let to = to_window.min(last_closed);
		if from > to {
			return Vec::new();
		}
		(from..=to).filter_map(|w| RatingHistory::<T>::get(w, &miner)).collect()
	}

	/// Everything stored about `window`; `None` if it is in the future or already pruned.
	pub fn window_record(window: Window) -> Option<WindowRecord<T::AccountId, BlockNumberFor<T>>> {
		if window > Self::current_window() || window < Cursor::<T>::get().next_prune {
			return None;
		}
		let miners = T::MaxMiners::get() as usize;
		let mut commitments: Vec<_> = Commitments::<T>::iter_prefix(window).take(miners).collect();
		commitments.sort_by(|a, b| a.0.cmp(&b.0));
		let mut checkpoints: Vec<_> = Checkpoints::<T>::iter_prefix(window)
			.take(Self::max_announcements_per_window() as usize)
			.collect();
		checkpoints.sort_by(|a, b| a.0.cmp(&b.0));
		let validators = T::MaxValidators::get() as usize;
		let mut score_commits: Vec<_> =
			ScoreCommits::<T>::iter_prefix(window).take(validators).collect();
		score_commits.sort_by(|a, b| a.0.cmp(&b.0));
		let mut scores: Vec<_> = Scores::<T>::iter_prefix(window)
			.take(validators)
			.map(|(validator, r)| {
				(validator, ScoreReport { theta_hash: r.theta_hash, scores: r.scores.into_inner() })
			})
			.collect();
		scores.sort_by(|a, b| a.0.cmp(&b.0));
		let seed = WindowSeeds::<T>::get(window);
		let assignments = match &seed {
			Some(s) => commitments
				.iter()
				.map(|(miner, _)| {
					let assigned = crate::assignment::assigned_validators(
						&s.seed,
						&s.validators,
						miner,
						s.scorers_per_miner,
					);
					(miner.clone(), assigned)
				})
				.collect(),
			None => Vec::new(),
		};
		Some(WindowRecord {
			window,
			commitments,
			checkpoints,
			seed: seed.map(|s| WindowSeed {
				seed: s.seed,
				drawn_at: s.drawn_at,
				validators: s.validators.into_inner(),
				scorers_per_miner: s.scorers_per_miner,
				quorum: s.quorum,
			}),
			assignments,
			score_commits,
			scores,
			aggregation_set: AggregationSets::<T>::get(window).map(|s| s.into_inner()),
			ranking: Rankings::<T>::get(window).map(|r| r.into_inner()),
			outcome: WindowOutcomes::<T>::get(window).map(|o| WindowOutcome {
				canonical_theta: o.canonical_theta,
				below_quorum: o.below_quorum.into_inner(),
			}),
		})
	}

	/// The run configuration in force.
	pub fn run_config() -> RunConfig {
		CurrentRunConfig::<T>::get()
	}
}
