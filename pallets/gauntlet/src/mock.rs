//! A minimal runtime for the pallet's unit tests.

use crate as pallet_gauntlet;
use frame_support::{derive_impl, traits::ConstU64};
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
	pub type Gauntlet = pallet_gauntlet::Pallet<Test>;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

/// Blocks per window in the tests.
pub const BLOCKS_PER_WINDOW: u64 = 10;
/// Largest committable payload in the tests.
pub const MAX_PAYLOAD: u64 = 1 << 20;

impl pallet_gauntlet::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type BlocksPerWindow = ConstU64<BLOCKS_PER_WINDOW>;
	type MaxPayloadSize = ConstU64<MAX_PAYLOAD>;
	type WeightInfo = ();
}

/// Test externalities at block 1 (events are only recorded from block 1 on).
pub fn new_test_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
