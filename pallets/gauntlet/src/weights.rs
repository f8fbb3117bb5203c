
//! Weights for `pallet_gauntlet`, generated from the benchmarks in `benchmarking.rs` by
//! `frame-omni-bencher` against the wasm runtime built with `runtime-benchmarks` (the command is
//! below; `scripts/benchmark-weights.sh` builds that runtime and runs it).
//!
//! DATE: 2026-12-08, STEPS: `50`, REPEAT: `20`, LOW RANGE: `[]`, HIGH RANGE: `[]`
//! WORST CASE MAP SIZE: `1000000`
//! HOSTNAME: `vm`, CPU: `Intel(R) Xeon(R) Processor`
//! WASM-EXECUTION: `Compiled`, CHAIN: `None`, DB CACHE: 1024

// Executed Command:
// /var/cache/gauntlet/tools/bin/frame-omni-bencher
// v1
// benchmark
// pallet
// --runtime
// /var/cache/gauntlet/target-bench/release/wbuild/gauntlet-runtime/gauntlet_runtime.compact.compressed.wasm
// --genesis-builder-preset
// development
// --pallet
// pallet_gauntlet
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --heap-pages
// 4096
// --template
// scripts/templates/pallet-weights.hbs
// --output
// pallets/gauntlet/src/weights.rs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use frame_support::{traits::Get, weights::{Weight, constants::ParityDbWeight}};
use core::marker::PhantomData;

/// Weight functions needed for `pallet_gauntlet`.
pub trait WeightInfo {
	fn commit() -> Weight;
	fn register() -> Weight;
	fn update_endpoint() -> Weight;
	fn deregister() -> Weight;
	fn add_validator() -> Weight;
	fn remove_validator() -> Weight;
	fn announce_checkpoint() -> Weight;
	fn commit_scores() -> Weight;
	fn reveal_scores(n: u32, ) -> Weight;
	fn set_run_config() -> Weight;
	fn on_initialize_base() -> Weight;
	fn close_window(n: u32, v: u32, ) -> Weight;
	fn select_aggregation_set(n: u32, ) -> Weight;
	fn draw_seed() -> Weight;
	fn activate_run_config() -> Weight;
	fn prune_window(n: u32, v: u32, ) -> Weight;
}

/// Weights for `pallet_gauntlet` measured on the machine named above, with the runtime's database
/// weights (`T::DbWeight`, ParityDB on this chain).
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Gauntlet::MinerStates` (r:1 w:1)
	/// Proof: `Gauntlet::MinerStates` (`max_values`: None, `max_size`: Some(118), added: 2593, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Commitments` (r:1 w:1)
	/// Proof: `Gauntlet::Commitments` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:1)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn commit() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `274`
		//  Estimated: `3583`
		// Minimum execution time: 28_313_000 picoseconds.
		Weight::from_parts(31_401_000, 3583)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Storage: `Gauntlet::Miners` (r:1 w:1)
	/// Proof: `Gauntlet::Miners` (`max_values`: None, `max_size`: Some(2263), added: 4738, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::CounterForMiners` (r:1 w:1)
	/// Proof: `Gauntlet::CounterForMiners` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::MinerStates` (r:0 w:1)
	/// Proof: `Gauntlet::MinerStates` (`max_values`: None, `max_size`: Some(118), added: 2593, mode: `MaxEncodedLen`)
	fn register() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `2505`
		//  Estimated: `5728`
		// Minimum execution time: 107_667_000 picoseconds.
		Weight::from_parts(116_887_000, 5728)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	/// Storage: `Gauntlet::Miners` (r:1 w:1)
	/// Proof: `Gauntlet::Miners` (`max_values`: None, `max_size`: Some(2263), added: 4738, mode: `MaxEncodedLen`)
	fn update_endpoint() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `2386`
		//  Estimated: `5728`
		// Minimum execution time: 23_131_000 picoseconds.
		Weight::from_parts(24_156_000, 5728)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Gauntlet::Miners` (r:1 w:1)
	/// Proof: `Gauntlet::Miners` (`max_values`: None, `max_size`: Some(2263), added: 4738, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(67), added: 2542, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::CounterForMiners` (r:1 w:1)
	/// Proof: `Gauntlet::CounterForMiners` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::MinerStates` (r:0 w:1)
	/// Proof: `Gauntlet::MinerStates` (`max_values`: None, `max_size`: Some(118), added: 2593, mode: `MaxEncodedLen`)
	fn deregister() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `2544`
		//  Estimated: `5728`
		// Minimum execution time: 53_623_000 picoseconds.
		Weight::from_parts(54_847_000, 5728)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(5_u64))
	}
	/// Storage: `Gauntlet::Validators` (r:1 w:1)
	/// Proof: `Gauntlet::Validators` (`max_values`: Some(1), `max_size`: Some(513), added: 1008, mode: `MaxEncodedLen`)
	fn add_validator() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `572`
		//  Estimated: `1998`
		// Minimum execution time: 11_746_000 picoseconds.
		Weight::from_parts(12_390_000, 1998)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Gauntlet::Validators` (r:1 w:1)
	/// Proof: `Gauntlet::Validators` (`max_values`: Some(1), `max_size`: Some(513), added: 1008, mode: `MaxEncodedLen`)
	fn remove_validator() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `604`
		//  Estimated: `1998`
		// Minimum execution time: 11_600_000 picoseconds.
		Weight::from_parts(12_513_000, 1998)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Gauntlet::Miners` (r:1 w:0)
	/// Proof: `Gauntlet::Miners` (`max_values`: None, `max_size`: Some(2263), added: 4738, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Checkpoints` (r:1 w:1)
	/// Proof: `Gauntlet::Checkpoints` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:1)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn announce_checkpoint() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `226`
		//  Estimated: `5728`
		// Minimum execution time: 24_182_000 picoseconds.
		Weight::from_parts(25_062_000, 5728)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Gauntlet::Validators` (r:1 w:0)
	/// Proof: `Gauntlet::Validators` (`max_values`: Some(1), `max_size`: Some(513), added: 1008, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::ScoreCommits` (r:1 w:1)
	/// Proof: `Gauntlet::ScoreCommits` (`max_values`: None, `max_size`: Some(105), added: 2580, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:1)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	fn commit_scores() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `604`
		//  Estimated: `3570`
		// Minimum execution time: 21_205_000 picoseconds.
		Weight::from_parts(22_055_000, 3570)
			.saturating_add(T::DbWeight::get().reads(4_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Gauntlet::Validators` (r:1 w:0)
	/// Proof: `Gauntlet::Validators` (`max_values`: Some(1), `max_size`: Some(513), added: 1008, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::ScoreCommits` (r:1 w:1)
	/// Proof: `Gauntlet::ScoreCommits` (`max_values`: None, `max_size`: Some(105), added: 2580, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowSeeds` (r:1 w:0)
	/// Proof: `Gauntlet::WindowSeeds` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Commitments` (r:256 w:0)
	/// Proof: `Gauntlet::Commitments` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:1)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Scores` (r:0 w:1)
	/// Proof: `Gauntlet::Scores` (`max_values`: None, `max_size`: Some(23650), added: 26125, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[1, 256]`.
	fn reveal_scores(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `1483 + n * (85 ±0)`
		//  Estimated: `4038 + n * (2583 ±0)`
		// Minimum execution time: 45_665_000 picoseconds.
		Weight::from_parts(34_325_588, 4038)
			// Standard Error: 12_057
			.saturating_add(Weight::from_parts(12_396_569, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(5_u64))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2583).saturating_mul(n.into()))
	}
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::CurrentRunConfig` (r:1 w:0)
	/// Proof: `Gauntlet::CurrentRunConfig` (`max_values`: Some(1), `max_size`: Some(181), added: 676, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::PendingRunConfig` (r:1 w:1)
	/// Proof: `Gauntlet::PendingRunConfig` (`max_values`: Some(1), `max_size`: Some(189), added: 684, mode: `MaxEncodedLen`)
	fn set_run_config() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `470`
		//  Estimated: `1674`
		// Minimum execution time: 15_564_000 picoseconds.
		Weight::from_parts(16_368_000, 1674)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Gauntlet::BlocksPerWindow` (r:1 w:0)
	/// Proof: `Gauntlet::BlocksPerWindow` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Cursor` (r:1 w:0)
	/// Proof: `Gauntlet::Cursor` (`max_values`: Some(1), `max_size`: Some(24), added: 519, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::PendingRunConfig` (r:1 w:0)
	/// Proof: `Gauntlet::PendingRunConfig` (`max_values`: Some(1), `max_size`: Some(189), added: 684, mode: `MaxEncodedLen`)
	fn on_initialize_base() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `131`
		//  Estimated: `1674`
		// Minimum execution time: 8_094_000 picoseconds.
		Weight::from_parts(8_418_000, 1674)
			.saturating_add(T::DbWeight::get().reads(3_u64))
	}
	/// Storage: `Gauntlet::CurrentRunConfig` (r:1 w:0)
	/// Proof: `Gauntlet::CurrentRunConfig` (`max_values`: Some(1), `max_size`: Some(181), added: 676, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:0)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowSeeds` (r:1 w:0)
	/// Proof: `Gauntlet::WindowSeeds` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Scores` (r:17 w:0)
	/// Proof: `Gauntlet::Scores` (`max_values`: None, `max_size`: Some(23650), added: 26125, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Commitments` (r:256 w:0)
	/// Proof: `Gauntlet::Commitments` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::MinerStates` (r:257 w:256)
	/// Proof: `Gauntlet::MinerStates` (`max_values`: None, `max_size`: Some(118), added: 2593, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::RatingHistory` (r:0 w:256)
	/// Proof: `Gauntlet::RatingHistory` (`max_values`: None, `max_size`: Some(140), added: 2615, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Rankings` (r:0 w:1)
	/// Proof: `Gauntlet::Rankings` (`max_values`: None, `max_size`: Some(29970), added: 32445, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowOutcomes` (r:0 w:1)
	/// Proof: `Gauntlet::WindowOutcomes` (`max_values`: None, `max_size`: Some(8243), added: 10718, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[1, 256]`.
	/// The range of component `v` is `[1, 16]`.
	fn close_window(n: u32, v: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `0 + n * (1659 ±0) + v * (23421 ±0)`
		//  Estimated: `27115 + n * (2593 ±0) + v * (26125 ±5)`
		// Minimum execution time: 129_709_000 picoseconds.
		Weight::from_parts(135_040_000, 27115)
			// Standard Error: 166_423
			.saturating_add(Weight::from_parts(26_519_647, 0).saturating_mul(n.into()))
			// Standard Error: 2_670_594
			.saturating_add(Weight::from_parts(15_164_356, 0).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(6_u64))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes(2_u64))
			.saturating_add(T::DbWeight::get().writes((2_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 2593).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 26125).saturating_mul(v.into()))
	}
	/// Storage: `Gauntlet::CurrentRunConfig` (r:1 w:0)
	/// Proof: `Gauntlet::CurrentRunConfig` (`max_values`: Some(1), `max_size`: Some(181), added: 676, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Commitments` (r:256 w:0)
	/// Proof: `Gauntlet::Commitments` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::MinerStates` (r:256 w:0)
	/// Proof: `Gauntlet::MinerStates` (`max_values`: None, `max_size`: Some(118), added: 2593, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::AggregationSets` (r:0 w:1)
	/// Proof: `Gauntlet::AggregationSets` (`max_values`: None, `max_size`: Some(8210), added: 10685, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[0, 256]`.
	fn select_aggregation_set(n: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `435 + n * (203 ±0)`
		//  Estimated: `3670 + n * (2593 ±0)`
		// Minimum execution time: 12_307_000 picoseconds.
		Weight::from_parts(13_046_000, 3670)
			// Standard Error: 24_635
			.saturating_add(Weight::from_parts(6_524_329, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1_u64))
			.saturating_add(Weight::from_parts(0, 2593).saturating_mul(n.into()))
	}
	/// Storage: `Gauntlet::CurrentRunConfig` (r:1 w:0)
	/// Proof: `Gauntlet::CurrentRunConfig` (`max_values`: Some(1), `max_size`: Some(181), added: 676, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Validators` (r:1 w:0)
	/// Proof: `Gauntlet::Validators` (`max_values`: Some(1), `max_size`: Some(513), added: 1008, mode: `MaxEncodedLen`)
	/// Storage: `System::ParentHash` (r:1 w:0)
	/// Proof: `System::ParentHash` (`max_values`: Some(1), `max_size`: Some(32), added: 527, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowSeeds` (r:0 w:1)
	/// Proof: `Gauntlet::WindowSeeds` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	fn draw_seed() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `774`
		//  Estimated: `1998`
		// Minimum execution time: 13_745_000 picoseconds.
		Weight::from_parts(14_787_000, 1998)
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Gauntlet::PendingRunConfig` (r:1 w:1)
	/// Proof: `Gauntlet::PendingRunConfig` (`max_values`: Some(1), `max_size`: Some(189), added: 684, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::CurrentRunConfig` (r:0 w:1)
	/// Proof: `Gauntlet::CurrentRunConfig` (`max_values`: Some(1), `max_size`: Some(181), added: 676, mode: `MaxEncodedLen`)
	fn activate_run_config() -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `287`
		//  Estimated: `1674`
		// Minimum execution time: 7_944_000 picoseconds.
		Weight::from_parts(8_431_000, 1674)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(2_u64))
	}
	/// Storage: `Gauntlet::WindowTallies` (r:1 w:1)
	/// Proof: `Gauntlet::WindowTallies` (`max_values`: None, `max_size`: Some(32), added: 2507, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Commitments` (r:256 w:256)
	/// Proof: `Gauntlet::Commitments` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Checkpoints` (r:256 w:256)
	/// Proof: `Gauntlet::Checkpoints` (`max_values`: None, `max_size`: Some(108), added: 2583, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Scores` (r:16 w:16)
	/// Proof: `Gauntlet::Scores` (`max_values`: None, `max_size`: Some(23650), added: 26125, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::ScoreCommits` (r:16 w:16)
	/// Proof: `Gauntlet::ScoreCommits` (`max_values`: None, `max_size`: Some(105), added: 2580, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::RatingHistory` (r:256 w:256)
	/// Proof: `Gauntlet::RatingHistory` (`max_values`: None, `max_size`: Some(140), added: 2615, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::Rankings` (r:0 w:1)
	/// Proof: `Gauntlet::Rankings` (`max_values`: None, `max_size`: Some(29970), added: 32445, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::AggregationSets` (r:0 w:1)
	/// Proof: `Gauntlet::AggregationSets` (`max_values`: None, `max_size`: Some(8210), added: 10685, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowOutcomes` (r:0 w:1)
	/// Proof: `Gauntlet::WindowOutcomes` (`max_values`: None, `max_size`: Some(8243), added: 10718, mode: `MaxEncodedLen`)
	/// Storage: `Gauntlet::WindowSeeds` (r:0 w:1)
	/// Proof: `Gauntlet::WindowSeeds` (`max_values`: None, `max_size`: Some(573), added: 3048, mode: `MaxEncodedLen`)
	/// The range of component `n` is `[0, 256]`.
	/// The range of component `v` is `[0, 16]`.
	fn prune_window(n: u32, v: u32, ) -> Weight {
		// Proof Size summary in bytes:
		//  Measured:  `521 + n * (256 ±0) + v * (172 ±0)`
		//  Estimated: `3497 + n * (2615 ±0) + v * (26125 ±0)`
		// Minimum execution time: 48_687_000 picoseconds.
		Weight::from_parts(49_805_000, 3497)
			// Standard Error: 18_022
			.saturating_add(Weight::from_parts(4_038_835, 0).saturating_mul(n.into()))
			// Standard Error: 291_001
			.saturating_add(Weight::from_parts(4_175_325, 0).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads(17_u64))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(v.into())))
			.saturating_add(T::DbWeight::get().writes(21_u64))
			.saturating_add(T::DbWeight::get().writes((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes((3_u64).saturating_mul(v.into())))
			.saturating_add(Weight::from_parts(0, 2615).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 26125).saturating_mul(v.into()))
	}
}

/// The same figures with ParityDB's database weights, for tests and the mock runtime.
impl WeightInfo for () {
	fn commit() -> Weight {
		Weight::from_parts(31_401_000, 3583)
			.saturating_add(ParityDbWeight::get().reads(4_u64))
			.saturating_add(ParityDbWeight::get().writes(3_u64))
	}
	fn register() -> Weight {
		Weight::from_parts(116_887_000, 5728)
			.saturating_add(ParityDbWeight::get().reads(4_u64))
			.saturating_add(ParityDbWeight::get().writes(5_u64))
	}
	fn update_endpoint() -> Weight {
		Weight::from_parts(24_156_000, 5728)
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn deregister() -> Weight {
		Weight::from_parts(54_847_000, 5728)
			.saturating_add(ParityDbWeight::get().reads(4_u64))
			.saturating_add(ParityDbWeight::get().writes(5_u64))
	}
	fn add_validator() -> Weight {
		Weight::from_parts(12_390_000, 1998)
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn remove_validator() -> Weight {
		Weight::from_parts(12_513_000, 1998)
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn announce_checkpoint() -> Weight {
		Weight::from_parts(25_062_000, 5728)
			.saturating_add(ParityDbWeight::get().reads(4_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
	fn commit_scores() -> Weight {
		Weight::from_parts(22_055_000, 3570)
			.saturating_add(ParityDbWeight::get().reads(4_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
	fn reveal_scores(n: u32, ) -> Weight {
		Weight::from_parts(34_325_588, 4038)
			.saturating_add(Weight::from_parts(12_396_569, 0).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(5_u64))
			.saturating_add(ParityDbWeight::get().reads((1_u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes(3_u64))
			.saturating_add(Weight::from_parts(0, 2583).saturating_mul(n.into()))
	}
	fn set_run_config() -> Weight {
		Weight::from_parts(16_368_000, 1674)
			.saturating_add(ParityDbWeight::get().reads(3_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn on_initialize_base() -> Weight {
		Weight::from_parts(8_418_000, 1674)
			.saturating_add(ParityDbWeight::get().reads(3_u64))
	}
	fn close_window(n: u32, v: u32, ) -> Weight {
		Weight::from_parts(135_040_000, 27115)
			.saturating_add(Weight::from_parts(26_519_647, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(15_164_356, 0).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(6_u64))
			.saturating_add(ParityDbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().reads((1_u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
			.saturating_add(ParityDbWeight::get().writes((2_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 2593).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 26125).saturating_mul(v.into()))
	}
	fn select_aggregation_set(n: u32, ) -> Weight {
		Weight::from_parts(13_046_000, 3670)
			.saturating_add(Weight::from_parts(6_524_329, 0).saturating_mul(n.into()))
			.saturating_add(ParityDbWeight::get().reads(2_u64))
			.saturating_add(ParityDbWeight::get().reads((2_u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
			.saturating_add(Weight::from_parts(0, 2593).saturating_mul(n.into()))
	}
	fn draw_seed() -> Weight {
		Weight::from_parts(14_787_000, 1998)
			.saturating_add(ParityDbWeight::get().reads(3_u64))
			.saturating_add(ParityDbWeight::get().writes(1_u64))
	}
	fn activate_run_config() -> Weight {
		Weight::from_parts(8_431_000, 1674)
			.saturating_add(ParityDbWeight::get().reads(1_u64))
			.saturating_add(ParityDbWeight::get().writes(2_u64))
	}
	fn prune_window(n: u32, v: u32, ) -> Weight {
		Weight::from_parts(49_805_000, 3497)
			.saturating_add(Weight::from_parts(4_038_835, 0).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(4_175_325, 0).saturating_mul(v.into()))
			.saturating_add(ParityDbWeight::get().reads(17_u64))
			.saturating_add(ParityDbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().reads((3_u64).saturating_mul(v.into())))
			.saturating_add(ParityDbWeight::get().writes(21_u64))
			.saturating_add(ParityDbWeight::get().writes((3_u64).saturating_mul(n.into())))
			.saturating_add(ParityDbWeight::get().writes((3_u64).saturating_mul(v.into())))
			.saturating_add(Weight::from_parts(0, 2615).saturating_mul(n.into()))
			.saturating_add(Weight::from_parts(0, 26125).saturating_mul(v.into()))
	}
}
