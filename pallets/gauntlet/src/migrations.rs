//! Storage migrations of the Gauntlet pallet, one module per storage version.

/// Version 0 → 1: the run configuration gains [`crate::AggregationRule`]. (It writes the
/// version-1 layout, [`v2::RunConfigV1`], which [`v2`] then upgrades.)
///
/// Configurations stored before version 1 were run with the sum rule (the only one the trainer
/// had), so they are migrated to [`crate::AggregationRule::Sum`]: an upgrade must not change how
/// a running network aggregates. Moving to Templar's mean is a `set_run_config` like any other
/// hyperparameter change, announced for a future window.
pub mod v1 {
	use super::v2::{RunConfigV1 as RunConfig, ScheduledRunConfigV1 as ScheduledRunConfig};
	use crate::{AggregationRule, Config, CurrentRunConfig, Pallet, PendingRunConfig, Window};
	use codec::{Decode, Encode};
	use core::marker::PhantomData;
	use frame_support::{
		migrations::VersionedMigration,
		storage::unhashed,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
	};
	use sp_runtime::FixedI64;

	/// [`RunConfig`] as stored before version 1 (field for field, in order).
	#[derive(Clone, Encode, Decode, PartialEq, Debug)]
	pub struct RunConfigV0 {
		pub version: u32,
		pub model_config_hash: [u8; 32],
		pub inner_steps: u32,
		pub top_k: u32,
		pub chunk_target: u32,
		pub quant_bins: u32,
		pub quant_range: FixedI64,
		pub error_feedback_beta: FixedI64,
		pub outer_learning_rate: FixedI64,
		pub eval_lr_factor: FixedI64,
		pub eval_own_batches: u32,
		pub eval_random_batches: u32,
		pub miners_per_validator: u32,
		pub copy_overlap_threshold: FixedI64,
		pub peers_per_aggregate: u32,
		pub blocks_per_window: u32,
		pub rating_beta: FixedI64,
		pub rating_tau: FixedI64,
		pub binary_ma_alpha: FixedI64,
	}

	impl RunConfigV0 {
		/// The same configuration with the rule it was run with, in the version-1 layout.
		pub fn upgrade(self) -> RunConfig {
			RunConfig {
				version: self.version,
				model_config_hash: self.model_config_hash,
				inner_steps: self.inner_steps,
				top_k: self.top_k,
				chunk_target: self.chunk_target,
				quant_bins: self.quant_bins,
				quant_range: self.quant_range,
				error_feedback_beta: self.error_feedback_beta,
				outer_learning_rate: self.outer_learning_rate,
				eval_lr_factor: self.eval_lr_factor,
				eval_own_batches: self.eval_own_batches,
				eval_random_batches: self.eval_random_batches,
				miners_per_validator: self.miners_per_validator,
				copy_overlap_threshold: self.copy_overlap_threshold,
				peers_per_aggregate: self.peers_per_aggregate,
				blocks_per_window: self.blocks_per_window,
				rating_beta: self.rating_beta,
				rating_tau: self.rating_tau,
				binary_ma_alpha: self.binary_ma_alpha,
				aggregation_rule: AggregationRule::Sum,
			}
		}
	}

	/// [`ScheduledRunConfig`] as stored before version 1.
	#[derive(Clone, Encode, Decode, PartialEq, Debug)]
	pub struct ScheduledRunConfigV0 {
		pub effective_window: Window,
		pub config: RunConfigV0,
	}

	/// The migration's body; run it through [`MigrateV0ToV1`], which checks and bumps the
	/// storage version.
	pub struct UncheckedMigrateV0ToV1<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV0ToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			// It writes the version-1 layout, not today's type, so it works on raw storage. A
			// value that does not decode in the old layout is left alone, so a repeated or
			// partial upgrade cannot destroy a config.
			let current = CurrentRunConfig::<T>::hashed_key();
			if unhashed::exists(&current) {
				match unhashed::get::<RunConfigV0>(&current) {
					Some(old) => unhashed::put(&current, &old.upgrade()),
					None => super::log_undecodable("CurrentRunConfig"),
				}
			}
			let pending = PendingRunConfig::<T>::hashed_key();
			if unhashed::exists(&pending) {
				match unhashed::get::<ScheduledRunConfigV0>(&pending) {
					Some(s) => unhashed::put(
						&pending,
						&ScheduledRunConfig {
							effective_window: s.effective_window,
							config: s.config.upgrade(),
						},
					),
					None => super::log_undecodable("PendingRunConfig"),
				}
			}
			T::DbWeight::get().reads_writes(2, 2)
		}
	}

	/// Runs [`UncheckedMigrateV0ToV1`] only when the pallet's on-chain storage version is 0,
	/// then sets it to 1.
	pub type MigrateV0ToV1<T> = VersionedMigration<
		0,
		1,
		UncheckedMigrateV0ToV1<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}

/// Version 1 → 2: scores are committed and revealed, carry their losses and the θ they were
/// measured on; windows get seeds, a quorum and a canonical θ.
///
/// - The run configuration drops `miners_per_validator` (the chain now assigns scorers) and
///   gains `scorers_per_miner` = 3, `min_scorers` = 2, `run_seed` = 0 and
///   `data_manifest_hash` = zeros (unchecked); the admin sets the real seed and manifest with
///   `set_run_config` before peers enforce them.
/// - Each stored score list becomes a revealed [`crate::ScoreReport`] with θ hash zeros and
///   zero losses (version 1 did not record them), so history stays readable.
/// - Window tallies: `score_submissions` becomes both `score_commits` and `score_reveals`.
/// - Windows not yet closed at the upgrade have no seed, so nothing is assigned in them and
///   they close with every committer below quorum: the upgrade costs up to three windows of
///   ratings, and never rates a miner by rules it was not scored under.
pub mod v2 {
	use crate::{
		Config, CurrentRunConfig, EvaluationLosses, FailureReason, MinerScore, Pallet,
		PendingRunConfig, RunConfig, ScheduledRunConfig, ScoreList, ScoreReport, Scores, Window,
		WindowTallies, WindowTally,
	};
	use codec::{Decode, Encode};
	use core::marker::PhantomData;
	use frame_support::{
		migrations::VersionedMigration,
		traits::{Get, UncheckedOnRuntimeUpgrade},
		weights::Weight,
		BoundedVec,
	};
	use sp_runtime::FixedI64;

	/// [`RunConfig`] as stored in version 1 (field for field, in order).
	#[derive(Clone, Encode, Decode, PartialEq, Debug)]
	pub struct RunConfigV1 {
		pub version: u32,
		pub model_config_hash: [u8; 32],
		pub inner_steps: u32,
		pub top_k: u32,
		pub chunk_target: u32,
		pub quant_bins: u32,
		pub quant_range: FixedI64,
		pub error_feedback_beta: FixedI64,
		pub outer_learning_rate: FixedI64,
		pub eval_lr_factor: FixedI64,
		pub eval_own_batches: u32,
		pub eval_random_batches: u32,
		pub miners_per_validator: u32,
		pub copy_overlap_threshold: FixedI64,
		pub peers_per_aggregate: u32,
		pub blocks_per_window: u32,
		pub rating_beta: FixedI64,
		pub rating_tau: FixedI64,
		pub binary_ma_alpha: FixedI64,
		pub aggregation_rule: crate::AggregationRule,
	}

	impl RunConfigV1 {
		/// The same configuration in the version-2 layout (see the module docs for the new
		/// fields' values).
		pub fn upgrade(self) -> RunConfig {
			let defaults = RunConfig::default();
			RunConfig {
				version: self.version,
				model_config_hash: self.model_config_hash,
				data_manifest_hash: [0; 32],
				run_seed: 0,
				inner_steps: self.inner_steps,
				top_k: self.top_k,
				chunk_target: self.chunk_target,
				quant_bins: self.quant_bins,
				quant_range: self.quant_range,
				error_feedback_beta: self.error_feedback_beta,
				outer_learning_rate: self.outer_learning_rate,
				eval_lr_factor: self.eval_lr_factor,
				eval_own_batches: self.eval_own_batches,
				eval_random_batches: self.eval_random_batches,
				scorers_per_miner: defaults.scorers_per_miner,
				min_scorers: defaults.min_scorers,
				copy_overlap_threshold: self.copy_overlap_threshold,
				peers_per_aggregate: self.peers_per_aggregate,
				blocks_per_window: self.blocks_per_window,
				rating_beta: self.rating_beta,
				rating_tau: self.rating_tau,
				binary_ma_alpha: self.binary_ma_alpha,
				aggregation_rule: self.aggregation_rule,
			}
		}
	}

	/// [`ScheduledRunConfig`] as stored in version 1.
	#[derive(Clone, Encode, Decode, PartialEq, Debug)]
	pub struct ScheduledRunConfigV1 {
		pub effective_window: Window,
		pub config: RunConfigV1,
	}

	/// [`MinerScore`] as stored in version 1: no losses.
	#[derive(Clone, Copy, Encode, Decode, PartialEq, Debug)]
	pub struct MinerScoreV1 {
		pub gradient_score: FixedI64,
		pub own_improvement: FixedI64,
		pub binary_indicator: i8,
		pub sync_score: FixedI64,
		pub copy_suspected: bool,
		pub failure: Option<FailureReason>,
	}

	impl MinerScoreV1 {
		/// The same score with the (unrecorded) losses as zeros.
		pub fn upgrade(self) -> MinerScore {
			MinerScore {
				gradient_score: self.gradient_score,
				own_improvement: self.own_improvement,
				binary_indicator: self.binary_indicator,
				sync_score: self.sync_score,
				copy_suspected: self.copy_suspected,
				failure: self.failure,
				losses: EvaluationLosses::default(),
			}
		}
	}

	/// [`WindowTally`] as stored in version 1.
	#[derive(Clone, Copy, Encode, Decode, PartialEq, Debug)]
	pub struct WindowTallyV1 {
		pub commitments: u32,
		pub checkpoints: u32,
		pub score_submissions: u32,
	}

	/// The migration's body; run it through [`MigrateV1ToV2`].
	pub struct UncheckedMigrateV1ToV2<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV1ToV2<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut reads_writes: u64 = 2;
			if CurrentRunConfig::<T>::translate::<RunConfigV1, _>(|old| old.map(|c| c.upgrade()))
				.is_err()
			{
				super::log_undecodable("CurrentRunConfig");
			}
			let pending = PendingRunConfig::<T>::translate::<ScheduledRunConfigV1, _>(|old| {
				old.map(|s| ScheduledRunConfig {
					effective_window: s.effective_window,
					config: s.config.upgrade(),
				})
			});
			if pending.is_err() {
				super::log_undecodable("PendingRunConfig");
			}
			// Bounded: at most `HistoryWindows + 3` windows × `MaxValidators` lists are stored.
			Scores::<T>::translate::<BoundedVec<(T::AccountId, MinerScoreV1), T::MaxMiners>, _>(
				|_, _, old| {
					reads_writes = reads_writes.saturating_add(1);
					let scores: ScoreList<T> = BoundedVec::truncate_from(
						old.into_iter().map(|(m, s)| (m, s.upgrade())).collect(),
					);
					Some(ScoreReport { theta_hash: [0; 32], scores })
				},
			);
			WindowTallies::<T>::translate::<WindowTallyV1, _>(|_, old| {
				reads_writes = reads_writes.saturating_add(1);
				Some(WindowTally {
					commitments: old.commitments,
					checkpoints: old.checkpoints,
					score_commits: old.score_submissions,
					score_reveals: old.score_submissions,
				})
			});
			T::DbWeight::get().reads_writes(reads_writes, reads_writes)
		}
	}

	/// Runs [`UncheckedMigrateV1ToV2`] only when the on-chain storage version is 1, then sets
	/// it to 2.
	pub type MigrateV1ToV2<T> = VersionedMigration<
		1,
		2,
		UncheckedMigrateV1ToV2<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;
}

fn log_undecodable(item: &str) {
	sp_runtime::print(item);
	sp_runtime::print("Gauntlet migration: value does not decode in the old layout; left as is");
}
