//! `GauntletApi`: what auditors and clients ask the runtime about Gauntlet. All values are those
//! of `pallet-gauntlet` (fixed point: `FixedI64`, an `i64` scaled by 10⁹; weights: `Perbill`).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_gauntlet::{
	LeaderboardEntry, RankEntry, RatingSnapshot, RunConfig, Window, WindowRecord,
};

sp_api::decl_runtime_apis! {
	/// Read access to Gauntlet's ratings, history and run configuration.
	pub trait GauntletApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// Every registered miner's standing (μ, σ, ordinal, binary MA, sync, final weight, last
		/// committed window), by final weight, then ordinal, descending.
		fn leaderboard() -> Vec<LeaderboardEntry<AccountId>>;
		/// `miner`'s rating snapshots for the closed windows in `from_window..=to_window` that are
		/// still stored (the last `HistoryWindows` closed windows), oldest first.
		fn rating_history(miner: AccountId, from_window: Window, to_window: Window) -> Vec<RatingSnapshot>;
		/// Commitments, checkpoint announcements, every validator's scores, the aggregation set
		/// and the ranking of `window`; `None` for a future or pruned window.
		fn window_record(window: Window) -> Option<WindowRecord<AccountId, BlockNumber>>;
		/// The run configuration in force.
		fn run_config() -> RunConfig;
	}
}
