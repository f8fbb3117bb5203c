//! A minimal runtime for the pallet's unit tests: System, Balances (for deposits) and Gauntlet.

use crate::{self as pallet_gauntlet, RunConfig};
use frame_support::{
	derive_impl,
	traits::{ConstU32, ConstU64, Hooks},
};
use frame_system::EnsureRoot;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system::Pallet<Test>;

	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances::Pallet<Test>;

	#[runtime::pallet_index(2)]
	pub type Gauntlet = pallet_gauntlet::Pallet<Test>;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
}

/// Blocks per window in the tests.
pub const BLOCKS_PER_WINDOW: u32 = 10;
/// Largest committable payload in the tests.
pub const MAX_PAYLOAD: u64 = 1 << 20;
/// Largest announceable checkpoint in the tests.
pub const MAX_CHECKPOINT: u64 = 1 << 30;
/// Miner deposit in the tests.
pub const DEPOSIT: u64 = 100;
/// Most miners in the tests (the runtime's figure, so benchmarks run at full size).
pub const MAX_MINERS: u32 = 256;
/// Most validators in the tests.
pub const MAX_VALIDATORS: u32 = 16;
/// Closed windows kept in the tests.
pub const HISTORY_WINDOWS: u32 = 4;
/// Balance every test account starts with.
pub const ENDOWMENT: u64 = 1_000;
/// Accounts endowed at genesis: 1..=20 and 100..=120.
pub fn endowed() -> impl Iterator<Item = u64> {
	(1..=20).chain(100..=120)
}

impl pallet_gauntlet::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Currency = Balances;
	type MinerDeposit = ConstU64<DEPOSIT>;
	type AdminOrigin = EnsureRoot<u64>;
	type MaxMiners = ConstU32<MAX_MINERS>;
	type MaxValidators = ConstU32<MAX_VALIDATORS>;
	type MaxPeerIdLen = ConstU32<64>;
	type MaxMultiaddrs = ConstU32<4>;
	type MaxMultiaddrLen = ConstU32<128>;
	type MaxPayloadSize = ConstU64<MAX_PAYLOAD>;
	type MaxCheckpointSize = ConstU64<MAX_CHECKPOINT>;
	type HistoryWindows = ConstU32<HISTORY_WINDOWS>;
	type WeightInfo = ();
}

/// The tests' run config: Templar's, with 10 blocks per window.
pub fn test_run_config() -> RunConfig {
	RunConfig { blocks_per_window: BLOCKS_PER_WINDOW, ..Default::default() }
}

/// Test externalities at block 1 (events are only recorded from block 1 on).
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: endowed().map(|a| (a, ENDOWMENT)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	pallet_gauntlet::GenesisConfig::<Test> { run_config: test_run_config(), validators: vec![] }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs blocks until `n` is the current block, calling the pallet's `on_initialize` on each.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Gauntlet::on_initialize(next);
	}
}

/// Runs to the first block of `window`.
pub fn run_to_window(window: u64) {
	run_to_block(window * u64::from(BLOCKS_PER_WINDOW));
}
