//! Unit tests on the mock runtime.

use crate::{mock::*, Commitments, Error, Event};
use frame_support::{assert_noop, assert_ok};

#[test]
fn commit_records_the_commitment_and_emits_an_event() {
	new_test_ext().execute_with(|| {
		assert_ok!(Gauntlet::commit(RuntimeOrigin::signed(1), 0, [7; 32], 1234));
		let c = Commitments::<Test>::get(0, 1).expect("stored");
		assert_eq!((c.payload_hash, c.payload_size, c.committed_at), ([7; 32], 1234, 1));
		System::assert_last_event(
			Event::Committed { miner: 1, window: 0, payload_hash: [7; 32], payload_size: 1234 }
				.into(),
		);
	});
}

#[test]
fn commit_for_another_window_is_rejected() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Gauntlet::commit(RuntimeOrigin::signed(1), 1, [7; 32], 1),
			Error::<Test>::WrongWindow
		);
		System::set_block_number(BLOCKS_PER_WINDOW);
		assert_eq!(Gauntlet::current_window(), 1);
		assert_noop!(
			Gauntlet::commit(RuntimeOrigin::signed(1), 0, [7; 32], 1),
			Error::<Test>::WrongWindow
		);
	});
}

#[test]
fn commit_size_must_be_within_bounds() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Gauntlet::commit(RuntimeOrigin::signed(1), 0, [7; 32], 0),
			Error::<Test>::BadPayloadSize
		);
		assert_noop!(
			Gauntlet::commit(RuntimeOrigin::signed(1), 0, [7; 32], MAX_PAYLOAD + 1),
			Error::<Test>::BadPayloadSize
		);
	});
}

#[test]
fn second_commit_in_a_window_is_rejected() {
	new_test_ext().execute_with(|| {
		assert_ok!(Gauntlet::commit(RuntimeOrigin::signed(1), 0, [7; 32], 10));
		assert_noop!(
			Gauntlet::commit(RuntimeOrigin::signed(1), 0, [8; 32], 10),
			Error::<Test>::AlreadyCommitted
		);
	});
}
