//! Benchmarks: every extrinsic and every step of the window lifecycle, at worst-case sizes
//! (`n` miners up to `MaxMiners`, `v` validators up to `MaxValidators`).

use super::*;
use crate::Pallet as Gauntlet;
use alloc::{vec, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{
		fungible::{Inspect, Mutate},
		EnsureOrigin, Get, Hooks,
	},
	BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::{
	traits::{Saturating, UniqueSaturatedInto},
	FixedI64,
};

const SEED: u32 = 0;

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, SEED);
	let ten: BalanceOf<T> = 10u32.into();
	let amount =
		T::MinerDeposit::get().saturating_add(T::Currency::minimum_balance()).saturating_mul(ten);
	T::Currency::set_balance(&who, amount);
	who
}

/// The longest peer id and the most, longest multiaddrs.
fn worst_endpoint<T: Config>() -> (PeerId<T>, Multiaddrs<T>) {
	let peer = BoundedVec::truncate_from(vec![7u8; T::MaxPeerIdLen::get() as usize]);
	let addr: Multiaddr<T> =
		BoundedVec::truncate_from(vec![1u8; T::MaxMultiaddrLen::get() as usize]);
	(peer, BoundedVec::truncate_from(vec![addr; T::MaxMultiaddrs::get() as usize]))
}

fn register_miner<T: Config>(index: u32) -> T::AccountId {
	let miner = funded::<T>("miner", index);
	let (peer, addrs) = worst_endpoint::<T>();
	assert!(Gauntlet::<T>::register(RawOrigin::Signed(miner.clone()).into(), peer, addrs).is_ok());
	miner
}

fn register_miners<T: Config>(n: u32) -> Vec<T::AccountId> {
	(0..n).map(register_miner::<T>).collect()
}

fn set_validators<T: Config>(v: u32) -> Vec<T::AccountId> {
	let mut validators: Vec<T::AccountId> = (0..v).map(|i| account("validator", i, SEED)).collect();
	validators.sort();
	Validators::<T>::put(BoundedVec::truncate_from(validators.clone()));
	validators
}

/// Moves the chain to the first block of `window`.
fn go_to_window<T: Config>(window: Window) {
	let block = window.saturating_mul(u64::from(BlocksPerWindow::<T>::get()));
	let block: BlockNumberFor<T> = block.unique_saturated_into();
	frame_system::Pallet::<T>::set_block_number(block);
}

fn commit_all<T: Config>(miners: &[T::AccountId], window: Window) {
	for (i, miner) in miners.iter().enumerate() {
		let origin = RawOrigin::Signed(miner.clone()).into();
		assert!(Gauntlet::<T>::commit(origin, window, [i as u8; 32], 1).is_ok());
	}
}

/// A valid score that differs per miner, so the ranking has no ties.
fn score(i: u32) -> MinerScore {
	MinerScore {
		gradient_score: FixedI64::from_inner(i64::from(i) * 1_000_000),
		own_improvement: FixedI64::from_inner(i64::from(i) * 2_000_000),
		binary_indicator: if i.is_multiple_of(2) { 1 } else { -1 },
		sync_score: FixedI64::from_inner(ONE),
		copy_suspected: false,
		failure: None,
		losses: EvaluationLosses {
			own_before: FixedI64::from_inner(5 * ONE),
			own_after: FixedI64::from_inner(4 * ONE),
			random_before: FixedI64::from_inner(5 * ONE),
			random_after: FixedI64::from_inner(4 * ONE + 500_000_000),
		},
	}
}

fn score_list<T: Config>(miners: &[T::AccountId]) -> ScoreList<T> {
	let list: Vec<_> =
		miners.iter().enumerate().map(|(i, m)| (m.clone(), score(i as u32))).collect();
	BoundedVec::truncate_from(list)
}

/// `v` validators, every one of them assigned to every miner of `window` (the worst case of the
/// assignment check and of the close), and the window's seed drawn.
fn seed_window<T: Config>(window: Window, v: u32) -> Vec<T::AccountId> {
	let validators = set_validators::<T>(v);
	let mut config = CurrentRunConfig::<T>::get();
	config.scorers_per_miner = T::MaxValidators::get();
	config.min_scorers = 1;
	CurrentRunConfig::<T>::put(config);
	Gauntlet::<T>::draw_seed(window, frame_system::Pallet::<T>::block_number());
	validators
}

/// `n` miners committed in window 1 (and announced checkpoints if `announce`), and `v`
/// validators, each assigned to all of them, committed and revealed scores for all of them.
/// The chain is left at window 3.
fn populate_window<T: Config>(n: u32, v: u32, announce: bool) -> Window {
	let miners = register_miners::<T>(n);
	go_to_window::<T>(1);
	commit_all::<T>(&miners, 1);
	if announce {
		for miner in &miners {
			let origin = RawOrigin::Signed(miner.clone()).into();
			assert!(Gauntlet::<T>::announce_checkpoint(origin, 1, [1; 32], 1).is_ok());
		}
	}
	go_to_window::<T>(2);
	let validators = seed_window::<T>(1, v);
	let salt = [7u8; 32];
	let theta = [9u8; 32];
	let scores = score_list::<T>(&miners);
	for validator in &validators {
		let commitment = assignment::score_commitment(1, validator, &theta, &scores, &salt);
		let origin = RawOrigin::Signed(validator.clone()).into();
		assert!(Gauntlet::<T>::commit_scores(origin, 1, commitment).is_ok());
	}
	go_to_window::<T>(3);
	for validator in validators {
		if miners.is_empty() {
			break;
		}
		let origin = RawOrigin::Signed(validator).into();
		assert!(Gauntlet::<T>::reveal_scores(origin, 1, theta, scores.clone(), salt).is_ok());
	}
	1
}

fn next_config<T: Config>() -> RunConfig {
	let mut config = CurrentRunConfig::<T>::get();
	config.version = config.version.saturating_add(1);
	config.rating_beta = FixedI64::from_inner(5 * ONE);
	config
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn commit() {
		let miner = register_miner::<T>(0);
		go_to_window::<T>(1);

		#[extrinsic_call]
		_(RawOrigin::Signed(miner.clone()), 1, [1; 32], T::MaxPayloadSize::get());

		assert!(Commitments::<T>::contains_key(1, &miner));
	}

	#[benchmark]
	fn register() {
		// All but one slot taken.
		register_miners::<T>(T::MaxMiners::get().saturating_sub(1));
		let miner = funded::<T>("new miner", 0);
		let (peer, addrs) = worst_endpoint::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(miner.clone()), peer, addrs);

		assert!(Miners::<T>::contains_key(&miner));
	}

	#[benchmark]
	fn update_endpoint() {
		let miner = register_miner::<T>(0);
		let (peer, addrs) = worst_endpoint::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(miner.clone()), peer, addrs);

		assert!(Miners::<T>::contains_key(&miner));
	}

	#[benchmark]
	fn deregister() {
		let miner = register_miner::<T>(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(miner.clone()));

		assert!(!Miners::<T>::contains_key(&miner));
	}

	#[benchmark]
	fn add_validator() -> Result<(), BenchmarkError> {
		set_validators::<T>(T::MaxValidators::get().saturating_sub(1));
		let validator: T::AccountId = account("new validator", 0, SEED);
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, validator.clone());

		assert!(Gauntlet::<T>::is_validator(&validator));
		Ok(())
	}

	#[benchmark]
	fn remove_validator() -> Result<(), BenchmarkError> {
		let validators = set_validators::<T>(T::MaxValidators::get());
		let validator = validators.first().cloned().ok_or(BenchmarkError::Weightless)?;
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, validator.clone());

		assert!(!Gauntlet::<T>::is_validator(&validator));
		Ok(())
	}

	#[benchmark]
	fn announce_checkpoint() {
		// A miner that is not a validator: both membership checks run.
		set_validators::<T>(T::MaxValidators::get());
		let miner = register_miner::<T>(0);
		go_to_window::<T>(1);

		#[extrinsic_call]
		_(RawOrigin::Signed(miner.clone()), 1, [3; 32], T::MaxCheckpointSize::get());

		assert!(Checkpoints::<T>::contains_key(1, &miner));
	}

	#[benchmark]
	fn commit_scores() {
		go_to_window::<T>(2);
		let validators = set_validators::<T>(T::MaxValidators::get());
		let validator = validators.last().cloned().unwrap_or_else(|| account("v", 0, SEED));

		#[extrinsic_call]
		_(RawOrigin::Signed(validator.clone()), 1, [5; 32]);

		assert!(ScoreCommits::<T>::contains_key(1, &validator));
	}

	#[benchmark]
	fn reveal_scores(n: Linear<1, { T::MaxMiners::get() }>) {
		let miners = register_miners::<T>(n);
		go_to_window::<T>(1);
		commit_all::<T>(&miners, 1);
		go_to_window::<T>(2);
		let validators = seed_window::<T>(1, T::MaxValidators::get());
		let validator = validators.last().cloned().unwrap_or_else(|| account("v", 0, SEED));
		let scores = score_list::<T>(&miners);
		let (theta, salt) = ([9u8; 32], [7u8; 32]);
		let commitment = assignment::score_commitment(1, &validator, &theta, &scores, &salt);
		let origin = RawOrigin::Signed(validator.clone()).into();
		assert!(Gauntlet::<T>::commit_scores(origin, 1, commitment).is_ok());
		go_to_window::<T>(3);

		#[extrinsic_call]
		_(RawOrigin::Signed(validator.clone()), 1, theta, scores, salt);

		assert!(Scores::<T>::contains_key(1, &validator));
	}

	#[benchmark]
	fn set_run_config() -> Result<(), BenchmarkError> {
		// Replacing a pending config.
		PendingRunConfig::<T>::put(ScheduledRunConfig {
			effective_window: 5,
			config: next_config::<T>(),
		});
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let config = next_config::<T>();

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, config, 10);

		assert_eq!(PendingRunConfig::<T>::get().map(|p| p.effective_window), Some(10));
		Ok(())
	}

	#[benchmark]
	fn on_initialize_base() {
		// Nothing due: the cursor is up to date with window 1.
		go_to_window::<T>(1);
		Cursor::<T>::put(HookCursor { next_select: 1, next_close: 0, next_prune: 0 });
		let block = frame_system::Pallet::<T>::block_number().saturating_add(1u32.into());

		#[block]
		{
			Gauntlet::<T>::on_initialize(block);
		}

		assert_eq!(Cursor::<T>::get().next_select, 1);
	}

	#[benchmark]
	fn close_window(
		n: Linear<1, { T::MaxMiners::get() }>,
		v: Linear<1, { T::MaxValidators::get() }>,
	) {
		let window = populate_window::<T>(n, v, false);

		#[block]
		{
			Gauntlet::<T>::close_window(window);
		}

		assert_eq!(Rankings::<T>::get(window).map(|r| r.len() as u32), Some(n));
	}

	#[benchmark]
	fn select_aggregation_set(n: Linear<0, { T::MaxMiners::get() }>) {
		let miners = register_miners::<T>(n);
		go_to_window::<T>(1);
		commit_all::<T>(&miners, 1);

		#[block]
		{
			Gauntlet::<T>::select_aggregation_set(1);
		}

		assert!(AggregationSets::<T>::contains_key(1));
	}

	#[benchmark]
	fn draw_seed() {
		set_validators::<T>(T::MaxValidators::get());
		go_to_window::<T>(2);
		let block = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Gauntlet::<T>::draw_seed(1, block);
		}

		assert!(WindowSeeds::<T>::contains_key(1));
	}

	#[benchmark]
	fn activate_run_config() {
		PendingRunConfig::<T>::put(ScheduledRunConfig {
			effective_window: 1,
			config: next_config::<T>(),
		});

		#[block]
		{
			Gauntlet::<T>::activate_pending_config(1);
		}

		assert!(PendingRunConfig::<T>::get().is_none());
	}

	#[benchmark]
	fn prune_window(
		n: Linear<0, { T::MaxMiners::get() }>,
		v: Linear<0, { T::MaxValidators::get() }>,
	) {
		// A closed window with n commitments, announcements and snapshots, v commitments and
		// reveals, a seed and an outcome.
		let window = populate_window::<T>(n, v, true);
		Gauntlet::<T>::select_aggregation_set(window);
		Gauntlet::<T>::close_window(window);

		#[block]
		{
			Gauntlet::<T>::prune_window(window);
		}

		assert!(!Rankings::<T>::contains_key(window));
		assert_eq!(Commitments::<T>::iter_prefix(window).count(), 0);
	}

	impl_benchmark_test_suite!(Gauntlet, crate::mock::new_test_ext(), crate::mock::Test);
}
