//! Storage migrations of the Gauntlet pallet, one module per storage version.

/// Version 0 → 1: the run configuration gains [`crate::AggregationRule`].
///
/// Configurations stored before version 1 were run with the sum rule (the only one the trainer
/// had), so they are migrated to [`crate::AggregationRule::Sum`]: an upgrade must not change how
/// a running network aggregates. Moving to Templar's mean is a `set_run_config` like any other
/// hyperparameter change, announced for a future window.
pub mod v1 {
	use crate::{
		AggregationRule, Config, CurrentRunConfig, Pallet, PendingRunConfig, RunConfig,
		ScheduledRunConfig, Window,
	};
	use codec::{Decode, Encode};
	use core::marker::PhantomData;
	use frame_support::{
		migrations::VersionedMigration,
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
		/// The same configuration with the rule it was run with.
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
			// A value that does not decode in the old layout is left alone (translate reports
			// it and writes nothing), so a repeated or partial upgrade cannot destroy a config.
			let current =
				CurrentRunConfig::<T>::translate::<RunConfigV0, _>(|old| old.map(|c| c.upgrade()));
			if current.is_err() {
				log_undecodable("CurrentRunConfig");
			}
			let pending = PendingRunConfig::<T>::translate::<ScheduledRunConfigV0, _>(|old| {
				old.map(|s| ScheduledRunConfig {
					effective_window: s.effective_window,
					config: s.config.upgrade(),
				})
			});
			if pending.is_err() {
				log_undecodable("PendingRunConfig");
			}
			T::DbWeight::get().reads_writes(2, 2)
		}
	}

	fn log_undecodable(item: &str) {
		sp_runtime::print(item);
		sp_runtime::print("Gauntlet v0→v1: value does not decode in the old layout; left as is");
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
