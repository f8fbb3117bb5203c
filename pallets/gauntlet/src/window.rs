//! The window lifecycle driven by `on_initialize`: close, select and draw the seed, activate,
//! prune.

use crate::{assignment, pallet::*, ratings, scoring, types::*, weights::WeightInfo};
use alloc::{collections::BTreeMap, vec::Vec};
use frame_support::{pallet_prelude::*, traits::Get};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Saturating, UniqueSaturatedInto};

fn to_u32(n: usize) -> u32 {
	n.unique_saturated_into()
}

impl<T: Config> Pallet<T> {
	/// The per-block hook: at most one close, one selection, one activation and one pruning.
	pub(crate) fn advance_windows(block: BlockNumberFor<T>) -> Weight {
		let current = Self::window_of(block);
		let mut cursor = Cursor::<T>::get();
		let start = cursor;
		let mut weight = T::WeightInfo::on_initialize_base();

		if cursor.next_close.saturating_add(3) <= current {
			weight.saturating_accrue(Self::close_window(cursor.next_close));
			cursor.next_close.saturating_inc();
		}
		if cursor.next_select.saturating_add(1) <= current {
			weight.saturating_accrue(Self::select_aggregation_set(cursor.next_select));
			weight.saturating_accrue(Self::draw_seed(cursor.next_select, block));
			cursor.next_select.saturating_inc();
		}
		weight.saturating_accrue(Self::activate_pending_config(current));
		let history = u64::from(T::HistoryWindows::get());
		if cursor.next_prune.saturating_add(history) < cursor.next_close {
			let (pruning, done) = Self::prune_window(cursor.next_prune);
			weight.saturating_accrue(pruning);
			if done {
				cursor.next_prune.saturating_inc();
			}
		}
		if cursor != start {
			Cursor::<T>::put(cursor);
		}
		weight
	}

	/// Rates window `window`: per miner, the median of the revealed scores of its assigned
	/// validators, if at least the quorum revealed; one Plackett-Luce update of those miners
	/// that are still registered, their binary moving average and sync, then every miner's final
	/// weight; records the ranking, the rating snapshots, the canonical θ and who fell below
	/// quorum.
	pub(crate) fn close_window(window: Window) -> Weight {
		let config = CurrentRunConfig::<T>::get();
		let tally = WindowTallies::<T>::get(window);
		let max_validators = T::MaxValidators::get() as usize;
		let max_miners = T::MaxMiners::get() as usize;
		// No seed (a window from before storage version 2): no assignment, so nobody reached
		// the quorum. `reveal_scores` refuses reveals for such windows anyway.
		let quorum = WindowSeeds::<T>::get(window).map_or(u32::MAX, |s| s.quorum.max(1));

		let mut by_miner: BTreeMap<T::AccountId, Vec<MinerScore>> = BTreeMap::new();
		let mut thetas: BTreeMap<[u8; 32], u32> = BTreeMap::new();
		let mut reports = 0u32;
		for (_validator, report) in Scores::<T>::iter_prefix(window).take(max_validators) {
			reports.saturating_inc();
			thetas.entry(report.theta_hash).or_default().saturating_inc();
			for (miner, score) in report.scores {
				by_miner.entry(miner).or_default().push(score);
			}
		}
		// All zeros is "not recorded" (reports migrated from storage version 1): never canonical.
		let canonical_theta = thetas
			.into_iter()
			.find(|(h, n)| *h != [0; 32] && n.saturating_mul(2) > reports)
			.map(|(h, _)| h);
		let mut below_quorum: Vec<T::AccountId> = Commitments::<T>::iter_key_prefix(window)
			.take(max_miners)
			.filter(|m| by_miner.get(m).map_or(0, |l| to_u32(l.len())) < quorum)
			.collect();
		below_quorum.sort();
		// Players in account-id order: at quorum, still registered.
		let mut players: Vec<(T::AccountId, scoring::Aggregate, MinerState)> = by_miner
			.into_iter()
			.filter(|(_, list)| to_u32(list.len()) >= quorum)
			.filter_map(|(miner, list)| {
				let state = MinerStates::<T>::get(&miner)?;
				Some((miner, scoring::aggregate(&list)?, state))
			})
			.collect();

		let old: Vec<Rating> = players.iter().map(|(_, _, s)| s.rating).collect();
		let scores: Vec<_> = players.iter().map(|(_, a, _)| a.score).collect();
		match ratings::rate_window(&ratings::params(&config), &old, &scores) {
			Ok(new) => {
				for ((_, _, state), rating) in players.iter_mut().zip(new) {
					state.rating = rating;
				}
			}
			Err(_) => Self::deposit_event(Event::RatingFailed { window }),
		}
		for (_, agg, state) in players.iter_mut() {
			state.binary_ma = scoring::update_binary_ma(
				state.binary_ma,
				config.binary_ma_alpha,
				agg.binary_indicator,
			);
			state.sync = agg.sync_score;
			state.last_rated = Some(window);
		}

		// Final weights over every registered miner, with the players' new states.
		let updated: BTreeMap<&T::AccountId, &MinerState> =
			players.iter().map(|(m, _, s)| (m, s)).collect();
		let mut everyone: Vec<(T::AccountId, MinerState)> = MinerStates::<T>::iter()
			.take(max_miners)
			.map(|(miner, state)| {
				let state = updated.get(&miner).map(|s| **s).unwrap_or(state);
				(miner, state)
			})
			.collect();
		let raw: Vec<u128> = everyone.iter().map(|(_, s)| scoring::raw_weight(s)).collect();
		for ((miner, state), weight) in everyone.iter_mut().zip(scoring::normalise(&raw)) {
			state.final_weight = weight;
			MinerStates::<T>::insert(&*miner, *state);
		}
		let final_states: BTreeMap<T::AccountId, MinerState> = everyone.into_iter().collect();

		let ranks = scoring::ranks(&scores);
		let mut ranking: Vec<RankEntry<T::AccountId>> = Vec::with_capacity(players.len());
		for ((miner, agg, state), rank) in players.into_iter().zip(ranks) {
			let state = final_states.get(&miner).copied().unwrap_or(state);
			RatingHistory::<T>::insert(
				window,
				&miner,
				RatingSnapshot {
					window,
					mu: state.rating.mu,
					sigma: state.rating.sigma,
					ordinal: state.rating.ordinal(),
					binary_ma: state.binary_ma,
					sync: state.sync,
					final_weight: state.final_weight,
				},
			);
			ranking.push(RankEntry {
				miner,
				rank,
				score: agg.score,
				gradient_score: agg.gradient_score,
				own_improvement: agg.own_improvement,
				binary_indicator: agg.binary_indicator,
				sync_score: agg.sync_score,
				validators: agg.validators,
				copy_flags: agg.copy_flags,
				failures: agg.failures,
				mu: state.rating.mu,
				sigma: state.rating.sigma,
				final_weight: state.final_weight,
			});
		}
		ranking.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.miner.cmp(&b.miner)));
		let rated = to_u32(ranking.len());
		let below = to_u32(below_quorum.len());
		Rankings::<T>::insert(window, Ranking::<T>::truncate_from(ranking));
		WindowOutcomes::<T>::insert(
			window,
			WindowOutcome {
				canonical_theta,
				below_quorum: MinerList::<T>::truncate_from(below_quorum),
			},
		);
		Self::deposit_event(Event::WindowClosed {
			window,
			rated,
			below_quorum: below,
			canonical_theta,
		});
		T::WeightInfo::close_window(to_u32(final_states.len()), tally.score_reveals)
	}

	/// Draws the seed of `window` at `block`, the first block of the next window: from the
	/// parent hash, which no one knew while `window`'s commitments were being made. Stores the
	/// validator set and the effective scorer count and quorum with it, so the assignment never
	/// changes afterwards (see [`assignment`] for who could bias the seed).
	pub(crate) fn draw_seed(window: Window, block: BlockNumberFor<T>) -> Weight {
		let config = CurrentRunConfig::<T>::get();
		let validators = Validators::<T>::get();
		let parent = frame_system::Pallet::<T>::parent_hash();
		let seed = assignment::window_seed(window, parent.as_ref());
		let count = to_u32(validators.len());
		let scorers_per_miner = config.scorers_per_miner.min(count);
		let quorum = config.min_scorers.min(scorers_per_miner);
		WindowSeeds::<T>::insert(
			window,
			WindowSeed { seed, drawn_at: block, validators, scorers_per_miner, quorum },
		);
		Self::deposit_event(Event::SeedDrawn { window, seed, validators: count });
		T::WeightInfo::draw_seed()
	}

	/// Fixes the aggregation set of `window`: its top `peers_per_aggregate` committers (still
	/// registered) by ordinal, ties by account id, then ordered by account id.
	pub(crate) fn select_aggregation_set(window: Window) -> Weight {
		let config = CurrentRunConfig::<T>::get();
		let mut candidates: Vec<(Fixed, T::AccountId)> = Commitments::<T>::iter_key_prefix(window)
			.take(T::MaxMiners::get() as usize)
			.filter_map(|miner| MinerStates::<T>::get(&miner).map(|s| (s.rating.ordinal(), miner)))
			.collect();
		let considered = to_u32(candidates.len());
		candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
		candidates.truncate(config.peers_per_aggregate as usize);
		let mut set: Vec<T::AccountId> = candidates.into_iter().map(|(_, m)| m).collect();
		set.sort();
		let set = MinerList::<T>::truncate_from(set);
		AggregationSets::<T>::insert(window, set.clone());
		Self::deposit_event(Event::AggregationSetSelected { window, miners: set });
		T::WeightInfo::select_aggregation_set(considered)
	}

	/// Puts a scheduled run configuration in force once its window has come.
	pub(crate) fn activate_pending_config(current: Window) -> Weight {
		match PendingRunConfig::<T>::get() {
			Some(pending) if pending.effective_window <= current => {
				let version = pending.config.version;
				CurrentRunConfig::<T>::put(pending.config);
				PendingRunConfig::<T>::kill();
				Self::deposit_event(Event::RunConfigActivated { version, window: current });
				T::WeightInfo::activate_run_config()
			}
			_ => Weight::zero(),
		}
	}

	/// Deletes everything stored about `window`. Returns whether it is all gone (each map holds
	/// fewer entries than its limit by construction, so it always is).
	pub(crate) fn prune_window(window: Window) -> (Weight, bool) {
		let tally = WindowTallies::<T>::get(window);
		let miners = T::MaxMiners::get().saturating_add(1);
		let validators = T::MaxValidators::get().saturating_add(1);
		let announcements = Self::max_announcements_per_window().saturating_add(1);
		let done = [
			Commitments::<T>::clear_prefix(window, miners, None),
			Checkpoints::<T>::clear_prefix(window, announcements, None),
			Scores::<T>::clear_prefix(window, validators, None),
			ScoreCommits::<T>::clear_prefix(window, validators, None),
			RatingHistory::<T>::clear_prefix(window, miners, None),
		]
		.iter()
		.all(|r| r.maybe_cursor.is_none());
		if done {
			WindowTallies::<T>::remove(window);
			AggregationSets::<T>::remove(window);
			Rankings::<T>::remove(window);
			WindowSeeds::<T>::remove(window);
			WindowOutcomes::<T>::remove(window);
			Self::deposit_event(Event::WindowPruned { window });
		}
		let weight = T::WeightInfo::prune_window(
			tally.commitments.max(tally.checkpoints),
			tally.score_commits,
		);
		(weight, done)
	}
}
