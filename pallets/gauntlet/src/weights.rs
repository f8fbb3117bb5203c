//! Weights for pallet-gauntlet.
//!
//! Placeholder until the benchmarks of the pallet issue generate this file; the figures are a
//! conservative upper bound (one read, one write, 25 µs).

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// Weight functions needed for pallet-gauntlet.
pub trait WeightInfo {
	fn commit() -> Weight;
}

/// Weights for the runtime, in terms of its database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn commit() -> Weight {
		Weight::from_parts(25_000_000, 1_600)
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

/// For tests.
impl WeightInfo for () {
	fn commit() -> Weight {
		Weight::from_parts(25_000_000, 1_600)
			.saturating_add(RocksDbWeight::get().reads(1_u64))
			.saturating_add(RocksDbWeight::get().writes(1_u64))
	}
}
