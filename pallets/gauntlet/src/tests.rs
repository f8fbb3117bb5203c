//! Unit tests on the mock runtime.

use crate::{
	mock::{self, *},
	ratings::{self, to_fixed, to_fixed_i64, Fixed, Params},
	*,
};
use frame_support::{
	assert_noop, assert_ok,
	traits::{
		fungible::{Inspect, InspectHold, Mutate},
		Hooks,
	},
	BoundedVec,
};
use sp_runtime::{BuildStorage, DispatchError, DispatchResult, FixedI64, Perbill, TokenError};

fn signed(who: u64) -> RuntimeOrigin {
	RuntimeOrigin::signed(who)
}

fn fx(x: f64) -> FixedI64 {
	FixedI64::from_inner((x * 1e9).round() as i64)
}

fn fixed(x: f64) -> Fixed {
	to_fixed(fx(x))
}

fn peer(b: u8) -> PeerId<Test> {
	BoundedVec::truncate_from(vec![b; 38])
}

fn addrs() -> Multiaddrs<Test> {
	BoundedVec::truncate_from(vec![BoundedVec::truncate_from(b"/ip4/127.0.0.1/tcp/4001".to_vec())])
}

fn register(who: u64) {
	assert_ok!(Gauntlet::register(signed(who), peer(who as u8), addrs()));
}

fn add_validator(who: u64) {
	assert_ok!(Gauntlet::add_validator(RuntimeOrigin::root(), who));
}

fn commit(who: u64, window: Window) {
	assert_ok!(Gauntlet::commit(signed(who), window, [who as u8; 32], 1000));
}

fn score(gradient: f64) -> MinerScore {
	MinerScore {
		gradient_score: fx(gradient),
		own_improvement: fx(gradient / 2.0),
		binary_indicator: 1,
		sync_score: fx(1.0),
		copy_suspected: false,
		failure: None,
		losses: losses(gradient),
	}
}

/// Losses consistent with a gradient score `g`: random 5.0 → 5.0·(1 − g), own twice as good.
fn losses(g: f64) -> EvaluationLosses {
	EvaluationLosses {
		own_before: fx(5.0),
		own_after: fx((5.0 * (1.0 - g / 2.0)).max(0.0)),
		random_before: fx(5.0),
		random_after: fx((5.0 * (1.0 - g)).max(0.0)),
	}
}

/// The θ hash every honest validator of these tests evaluated against.
const THETA: [u8; 32] = [0xAB; 32];

fn list(entries: &[(u64, MinerScore)]) -> ScoreList<Test> {
	BoundedVec::truncate_from(entries.to_vec())
}

fn salt(validator: u64, window: Window) -> [u8; 32] {
	let mut salt = [0u8; 32];
	salt[..8].copy_from_slice(&validator.to_le_bytes());
	salt[8..16].copy_from_slice(&window.to_le_bytes());
	salt
}

fn commitment_of(
	validator: u64,
	window: Window,
	theta: [u8; 32],
	scores: &ScoreList<Test>,
) -> [u8; 32] {
	assignment::score_commitment(window, &validator, &theta, scores, &salt(validator, window))
}

/// A score commitment waiting for its reveal: validator, window, θ hash, scores.
type PendingReveal = (u64, Window, [u8; 32], ScoreList<Test>);

std::thread_local! {
	/// Score commitments made by [`submit`], revealed by [`run_to_block`] at the first block
	/// of their reveal window.
	static TO_REVEAL: core::cell::RefCell<Vec<PendingReveal>> =
		const { core::cell::RefCell::new(Vec::new()) };
}

/// What an honest validator does: commit to `entries` now (during W+1) against [`THETA`], and
/// reveal them at the first block of W+2 ([`run_to_block`] does).
fn submit(validator: u64, window: Window, entries: &[(u64, MinerScore)]) {
	submit_against(validator, window, THETA, entries);
}

fn submit_against(validator: u64, window: Window, theta: [u8; 32], entries: &[(u64, MinerScore)]) {
	let scores = list(entries);
	let commitment = commitment_of(validator, window, theta, &scores);
	assert_ok!(Gauntlet::commit_scores(signed(validator), window, commitment));
	TO_REVEAL.with(|r| r.borrow_mut().push((validator, window, theta, scores)));
}

/// Runs blocks until `n` (as `mock::run_to_block`), revealing the commitments [`submit`] made
/// at the first block of each reveal window.
fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		mock::run_to_block(next);
		if !next.is_multiple_of(u64::from(BLOCKS_PER_WINDOW)) {
			continue;
		}
		let current = Gauntlet::current_window();
		let due: Vec<_> = TO_REVEAL.with(|r| {
			let mut all = r.borrow_mut();
			let (due, later) = all.drain(..).partition(|(_, w, _, _)| w + 2 == current);
			*all = later;
			due
		});
		for (validator, window, theta, scores) in due {
			let salt = salt(validator, window);
			assert_ok!(Gauntlet::reveal_scores(signed(validator), window, theta, scores, salt));
		}
	}
}

/// Runs to the first block of `window`, revealing on the way.
fn run_to_window(window: u64) {
	run_to_block(window * u64::from(BLOCKS_PER_WINDOW));
}

fn state(who: u64) -> MinerState {
	MinerStates::<Test>::get(who).expect("registered")
}

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::MinerDeposit.into(), &who)
}

/// Miners 1..=count registered, validators 100..100+v added.
fn setup(miners: u64, validators: u64) {
	(1..=miners).for_each(register);
	(100..100 + validators).for_each(add_validator);
}

fn endow(who: u64) {
	<Balances as Mutate<u64>>::set_balance(&who, ENDOWMENT);
}

// ---------------------------------------------------------------------------------------------
// Genesis and windows

#[test]
fn genesis_sets_the_run_config_and_blocks_per_window() {
	new_test_ext().execute_with(|| {
		assert_eq!(BlocksPerWindow::<Test>::get(), BLOCKS_PER_WINDOW);
		assert_eq!(Gauntlet::run_config(), test_run_config());
		assert_eq!(Gauntlet::run_config().rating_beta, fx(7.0));
		assert_eq!(Gauntlet::run_config().rating_tau, fx(0.1));
		assert_eq!(Gauntlet::current_window(), 0);
		System::set_block_number(9);
		assert_eq!(Gauntlet::current_window(), 0);
		System::set_block_number(10);
		assert_eq!(Gauntlet::current_window(), 1);
	});
}

#[test]
fn genesis_sorts_and_deduplicates_validators() {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	crate::GenesisConfig::<Test> { run_config: test_run_config(), validators: vec![7, 3, 7] }
		.assimilate_storage(&mut storage)
		.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(Validators::<Test>::get().into_inner(), vec![3, 7]);
	});
}

#[test]
#[should_panic(expected = "invalid run configuration")]
fn genesis_rejects_an_invalid_run_config() {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let run_config = RunConfig { blocks_per_window: 0, ..test_run_config() };
	let _ = crate::GenesisConfig::<Test> { run_config, validators: vec![] }
		.assimilate_storage(&mut storage);
}

#[test]
fn run_config_serialises_as_camel_case_json() {
	let json = serde_json::to_value(test_run_config()).unwrap();
	assert_eq!(json["blocksPerWindow"], 10);
	assert_eq!(json["ratingBeta"], "7000000000");
	let back: RunConfig = serde_json::from_value(json).unwrap();
	assert_eq!(back, test_run_config());
}

#[test]
fn default_run_config_is_templars() {
	let c = RunConfig::default();
	assert_eq!((c.inner_steps, c.top_k, c.chunk_target, c.quant_bins), (30, 64, 64, 4));
	assert_eq!((c.peers_per_aggregate, c.blocks_per_window), (20, 125));
	assert_eq!((c.scorers_per_miner, c.min_scorers), (3, 2));
	assert_eq!(
		(c.quant_range, c.error_feedback_beta, c.outer_learning_rate),
		(fx(6.0), fx(0.95), fx(0.4))
	);
	assert_eq!((c.rating_beta, c.rating_tau, c.binary_ma_alpha), (fx(7.0), fx(0.1), fx(0.05)));
	assert_eq!(c.aggregation_rule, AggregationRule::Mean);
	assert!(c.is_valid(MAX_MINERS));
	let json = serde_json::to_value(&c).unwrap();
	assert_eq!(json["aggregationRule"], "mean");
}

// ---------------------------------------------------------------------------------------------
// Storage migrations

/// A run configuration written in the version-0 layout (no aggregation rule) is read back, after
/// both migrations, field for field with the sum rule it was run with and the version-2 defaults;
/// the pending one too; the storage version moves to 1, then 2, and a second run changes nothing.
#[test]
fn migrations_keep_old_configs_and_their_sum_rule() {
	use crate::migrations::{
		v1::{MigrateV0ToV1, RunConfigV0, ScheduledRunConfigV0},
		v2::{MigrateV1ToV2, RunConfigV1},
	};
	use codec::Encode;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext().execute_with(|| {
		let old = RunConfigV0 {
			version: 3,
			model_config_hash: [7; 32],
			inner_steps: 5,
			top_k: 32,
			chunk_target: 64,
			quant_bins: 4,
			quant_range: fx(6.0),
			error_feedback_beta: fx(0.9),
			outer_learning_rate: fx(0.7),
			eval_lr_factor: fx(0.2),
			eval_own_batches: 2,
			eval_random_batches: 3,
			miners_per_validator: 8,
			copy_overlap_threshold: fx(0.4),
			peers_per_aggregate: 4,
			blocks_per_window: BLOCKS_PER_WINDOW,
			rating_beta: fx(7.0),
			rating_tau: fx(0.1),
			binary_ma_alpha: fx(0.05),
		};
		let pending = ScheduledRunConfigV0 {
			effective_window: 9,
			config: RunConfigV0 { version: 4, outer_learning_rate: fx(0.4), ..old.clone() },
		};
		let current_key = CurrentRunConfig::<Test>::hashed_key();
		frame_support::storage::unhashed::put_raw(&current_key, &old.encode());
		frame_support::storage::unhashed::put_raw(
			&PendingRunConfig::<Test>::hashed_key(),
			&pending.encode(),
		);
		StorageVersion::new(0).put::<Pallet<Test>>();

		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
		let v1: RunConfigV1 = frame_support::storage::unhashed::get(&current_key).unwrap();
		assert_eq!(v1, old.clone().upgrade());
		assert_eq!(v1.aggregation_rule, AggregationRule::Sum);

		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		let current = CurrentRunConfig::<Test>::get();
		assert_eq!(current, old.clone().upgrade().upgrade());
		assert_eq!(current.aggregation_rule, AggregationRule::Sum);
		assert_eq!((current.version, current.outer_learning_rate), (3, fx(0.7)));
		assert_eq!((current.scorers_per_miner, current.min_scorers, current.run_seed), (3, 2, 0));
		assert_eq!(current.model_config_hash, [7; 32]);
		assert!(current.is_valid(MAX_MINERS));
		let scheduled = PendingRunConfig::<Test>::get().unwrap();
		assert_eq!(scheduled.effective_window, 9);
		assert_eq!(scheduled.config, pending.config.clone().upgrade().upgrade());

		// Already at version 2: both migrations are skipped and the values stay.
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(CurrentRunConfig::<Test>::get(), old.upgrade().upgrade());
	});
}

/// Version-1 score lists and tallies read back as revealed reports with zero losses and θ, so
/// history stays readable; windows without a seed rate nobody.
#[test]
fn migration_v2_keeps_version_1_scores_as_revealed_reports() {
	use crate::migrations::v2::{MigrateV1ToV2, MinerScoreV1, WindowTallyV1};
	use codec::Encode;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext().execute_with(|| {
		setup(1, 1);
		commit(1, 0);
		let old = MinerScoreV1 {
			gradient_score: fx(0.2),
			own_improvement: fx(0.1),
			binary_indicator: 1,
			sync_score: fx(1.0),
			copy_suspected: false,
			failure: None,
		};
		let score_key = Scores::<Test>::hashed_key_for(0, 100);
		frame_support::storage::unhashed::put_raw(&score_key, &vec![(1u64, old)].encode());
		let tally_key = WindowTallies::<Test>::hashed_key_for(0);
		let tally = WindowTallyV1 { commitments: 1, checkpoints: 0, score_submissions: 1 };
		frame_support::storage::unhashed::put_raw(&tally_key, &tally.encode());
		StorageVersion::new(1).put::<Pallet<Test>>();

		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 2);
		let report = Scores::<Test>::get(0, 100).unwrap();
		assert_eq!(report.theta_hash, [0; 32]);
		assert_eq!(report.scores.into_inner(), vec![(1, old.upgrade())]);
		assert_eq!(old.upgrade().losses, EvaluationLosses::default());
		assert_eq!(
			WindowTallies::<Test>::get(0),
			WindowTally { commitments: 1, checkpoints: 0, score_commits: 1, score_reveals: 1 }
		);
		// Window 0 was selected before the upgrade in this story: no seed, nobody rated.
		mock::run_to_window(1);
		WindowSeeds::<Test>::remove(0);
		mock::run_to_window(3);
		System::assert_has_event(
			Event::WindowClosed { window: 0, rated: 0, below_quorum: 1, canonical_theta: None }
				.into(),
		);
	});
}

/// A new chain starts at the current storage version, so the migration never runs on it.
#[test]
fn genesis_writes_the_current_storage_version() {
	use frame_support::traits::GetStorageVersion;
	let storage = RuntimeGenesisConfig {
		gauntlet: crate::GenesisConfig::<Test> {
			run_config: test_run_config(),
			validators: vec![],
		},
		..Default::default()
	}
	.build_storage()
	.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		assert_eq!(Pallet::<Test>::on_chain_storage_version(), STORAGE_VERSION);
		assert_eq!(Pallet::<Test>::in_code_storage_version(), 2);
	});
}

// ---------------------------------------------------------------------------------------------
// Registration

#[test]
fn register_holds_the_deposit_and_starts_a_fresh_rating() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_eq!(held(1), DEPOSIT);
		assert_eq!(Balances::balance(&1), ENDOWMENT - DEPOSIT);
		let info = Miners::<Test>::get(1).unwrap();
		assert_eq!((info.peer_id, info.multiaddrs, info.deposit), (peer(1), addrs(), DEPOSIT));
		let s = state(1);
		assert_eq!(
			(s.rating.mu, s.binary_ma, s.final_weight),
			(fixed(25.0), fx(0.0), Perbill::zero())
		);
		assert_eq!(to_fixed_i64(s.rating.sigma), FixedI64::from_inner(8_333_333_333));
		assert_eq!((s.last_committed, s.last_rated), (None, None));
		assert_eq!(Miners::<Test>::count(), 1);
		System::assert_last_event(
			Event::MinerRegistered { miner: 1, peer_id: peer(1), deposit: DEPOSIT }.into(),
		);
	});
}

#[test]
fn register_rejects_bad_input() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_noop!(
			Gauntlet::register(signed(1), peer(1), addrs()),
			Error::<Test>::AlreadyRegistered
		);
		assert_noop!(
			Gauntlet::register(signed(2), BoundedVec::new(), addrs()),
			Error::<Test>::EmptyPeerId
		);
		assert_noop!(
			Gauntlet::register(signed(2), peer(2), BoundedVec::new()),
			Error::<Test>::BadMultiaddrs
		);
		let with_empty = BoundedVec::truncate_from(vec![BoundedVec::new()]);
		assert_noop!(
			Gauntlet::register(signed(2), peer(2), with_empty),
			Error::<Test>::BadMultiaddrs
		);
		// Account 50 has no funds for the deposit.
		assert_noop!(
			Gauntlet::register(signed(50), peer(50), addrs()),
			DispatchError::Token(TokenError::FundsUnavailable)
		);
	});
}

#[test]
fn register_is_bounded_by_max_miners() {
	new_test_ext().execute_with(|| {
		for who in 1000..1000 + u64::from(MAX_MINERS) {
			endow(who);
			register(who);
		}
		endow(5000);
		assert_noop!(
			Gauntlet::register(signed(5000), peer(1), addrs()),
			Error::<Test>::TooManyMiners
		);
	});
}

#[test]
fn update_endpoint_replaces_peer_id_and_addresses() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Gauntlet::update_endpoint(signed(1), peer(9), addrs()),
			Error::<Test>::NotRegistered
		);
		register(1);
		assert_noop!(
			Gauntlet::update_endpoint(signed(1), BoundedVec::new(), addrs()),
			Error::<Test>::EmptyPeerId
		);
		assert_noop!(
			Gauntlet::update_endpoint(signed(1), peer(9), BoundedVec::new()),
			Error::<Test>::BadMultiaddrs
		);
		let two = BoundedVec::truncate_from(vec![
			BoundedVec::truncate_from(b"/ip4/10.0.0.1/tcp/1".to_vec()),
			BoundedVec::truncate_from(b"/dns4/miner/tcp/2".to_vec()),
		]);
		assert_ok!(Gauntlet::update_endpoint(signed(1), peer(9), two.clone()));
		let info = Miners::<Test>::get(1).unwrap();
		assert_eq!((info.peer_id, info.multiaddrs), (peer(9), two));
		System::assert_last_event(Event::EndpointUpdated { miner: 1, peer_id: peer(9) }.into());
	});
}

#[test]
fn deregister_releases_the_deposit_and_drops_the_rating() {
	new_test_ext().execute_with(|| {
		assert_noop!(Gauntlet::deregister(signed(1)), Error::<Test>::NotRegistered);
		register(1);
		MinerStates::<Test>::mutate(1, |s| s.as_mut().unwrap().rating.mu = fixed(40.0));
		assert_ok!(Gauntlet::deregister(signed(1)));
		assert_eq!((held(1), Balances::balance(&1)), (0, ENDOWMENT));
		assert!(!Miners::<Test>::contains_key(1) && !MinerStates::<Test>::contains_key(1));
		assert_eq!(Miners::<Test>::count(), 0);
		System::assert_last_event(Event::MinerDeregistered { miner: 1, deposit: DEPOSIT }.into());
		register(1);
		assert_eq!(state(1).rating, Rating::default());
	});
}

// ---------------------------------------------------------------------------------------------
// Validators

#[test]
fn validators_are_managed_by_the_admin_and_kept_sorted() {
	new_test_ext().execute_with(|| {
		assert_noop!(Gauntlet::add_validator(signed(1), 5), DispatchError::BadOrigin);
		add_validator(7);
		add_validator(3);
		System::assert_last_event(Event::ValidatorAdded { validator: 3 }.into());
		assert_eq!(Validators::<Test>::get().into_inner(), vec![3, 7]);
		assert_noop!(
			Gauntlet::add_validator(RuntimeOrigin::root(), 3),
			Error::<Test>::AlreadyValidator
		);
		assert_noop!(Gauntlet::remove_validator(signed(1), 3), DispatchError::BadOrigin);
		assert_noop!(
			Gauntlet::remove_validator(RuntimeOrigin::root(), 4),
			Error::<Test>::NotValidator
		);
		assert_ok!(Gauntlet::remove_validator(RuntimeOrigin::root(), 3));
		System::assert_last_event(Event::ValidatorRemoved { validator: 3 }.into());
		assert_eq!(Validators::<Test>::get().into_inner(), vec![7]);
		assert!(Gauntlet::is_validator(&7) && !Gauntlet::is_validator(&3));
	});
}

#[test]
fn validators_are_bounded() {
	new_test_ext().execute_with(|| {
		(0..u64::from(MAX_VALIDATORS)).for_each(|v| add_validator(100 + v));
		assert_noop!(
			Gauntlet::add_validator(RuntimeOrigin::root(), 999),
			Error::<Test>::TooManyValidators
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Commitments

#[test]
fn commit_records_the_commitment_and_emits_an_event() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_ok!(Gauntlet::commit(signed(1), 0, [7; 32], 1234));
		let c = Commitments::<Test>::get(0, 1).expect("stored");
		assert_eq!((c.payload_hash, c.payload_size, c.committed_at), ([7; 32], 1234, 1));
		assert_eq!(state(1).last_committed, Some(0));
		assert_eq!(WindowTallies::<Test>::get(0).commitments, 1);
		System::assert_last_event(
			Event::Committed { miner: 1, window: 0, payload_hash: [7; 32], payload_size: 1234 }
				.into(),
		);
	});
}

#[test]
fn commit_requires_registration() {
	new_test_ext().execute_with(|| {
		assert_noop!(Gauntlet::commit(signed(1), 0, [7; 32], 1), Error::<Test>::NotRegistered);
	});
}

#[test]
fn commit_for_another_window_is_rejected() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_noop!(Gauntlet::commit(signed(1), 1, [7; 32], 1), Error::<Test>::WrongWindow);
		// The last block of window 0 still accepts window 0; the next does not.
		run_to_block(9);
		commit(1, 0);
		run_to_block(10);
		assert_eq!(Gauntlet::current_window(), 1);
		assert_noop!(Gauntlet::commit(signed(1), 0, [7; 32], 1), Error::<Test>::WrongWindow);
		commit(1, 1);
	});
}

#[test]
fn commit_size_must_be_within_bounds() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_noop!(Gauntlet::commit(signed(1), 0, [7; 32], 0), Error::<Test>::BadPayloadSize);
		assert_noop!(
			Gauntlet::commit(signed(1), 0, [7; 32], MAX_PAYLOAD + 1),
			Error::<Test>::BadPayloadSize
		);
		assert_ok!(Gauntlet::commit(signed(1), 0, [7; 32], MAX_PAYLOAD));
	});
}

#[test]
fn second_commit_in_a_window_is_rejected() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_ok!(Gauntlet::commit(signed(1), 0, [7; 32], 10));
		assert_noop!(Gauntlet::commit(signed(1), 0, [8; 32], 10), Error::<Test>::AlreadyCommitted);
	});
}

#[test]
fn commitments_per_window_are_bounded_even_with_registration_churn() {
	new_test_ext().execute_with(|| {
		for who in 1000..1000 + u64::from(MAX_MINERS) {
			endow(who);
			register(who);
			commit(who, 0);
		}
		assert_ok!(Gauntlet::deregister(signed(1000)));
		register(1);
		assert_noop!(Gauntlet::commit(signed(1), 0, [1; 32], 1), Error::<Test>::TooManyCommitments);
	});
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

#[test]
fn checkpoints_are_announced_by_miners_and_validators() {
	new_test_ext().execute_with(|| {
		register(1);
		add_validator(100);
		assert_ok!(Gauntlet::announce_checkpoint(signed(1), 0, [5; 32], MAX_CHECKPOINT));
		assert_ok!(Gauntlet::announce_checkpoint(signed(100), 0, [5; 32], 77));
		let a = Checkpoints::<Test>::get(0, 100).unwrap();
		assert_eq!((a.checkpoint_hash, a.checkpoint_size, a.announced_at), ([5; 32], 77, 1));
		assert_eq!(WindowTallies::<Test>::get(0).checkpoints, 2);
		System::assert_last_event(
			Event::CheckpointAnnounced {
				announcer: 100,
				window: 0,
				checkpoint_hash: [5; 32],
				checkpoint_size: 77,
			}
			.into(),
		);
	});
}

#[test]
fn checkpoint_announcement_errors() {
	new_test_ext().execute_with(|| {
		register(1);
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(2), 0, [5; 32], 1),
			Error::<Test>::NotParticipant
		);
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(1), 1, [5; 32], 1),
			Error::<Test>::WrongWindow
		);
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(1), 0, [5; 32], 0),
			Error::<Test>::BadCheckpointSize
		);
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(1), 0, [5; 32], MAX_CHECKPOINT + 1),
			Error::<Test>::BadCheckpointSize
		);
		assert_ok!(Gauntlet::announce_checkpoint(signed(1), 0, [5; 32], 1));
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(1), 0, [6; 32], 1),
			Error::<Test>::AlreadyAnnounced
		);
	});
}

#[test]
fn checkpoint_announcements_per_window_are_bounded() {
	new_test_ext().execute_with(|| {
		for who in 1000..1000 + u64::from(MAX_MINERS) {
			endow(who);
			register(who);
			assert_ok!(Gauntlet::announce_checkpoint(signed(who), 0, [1; 32], 1));
		}
		for v in 0..u64::from(MAX_VALIDATORS) {
			add_validator(100 + v);
			assert_ok!(Gauntlet::announce_checkpoint(signed(100 + v), 0, [1; 32], 1));
		}
		assert_ok!(Gauntlet::deregister(signed(1000)));
		register(1);
		assert_noop!(
			Gauntlet::announce_checkpoint(signed(1), 0, [1; 32], 1),
			Error::<Test>::TooManyAnnouncements
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Scores

fn commit_scores(validator: u64, window: Window, commitment: [u8; 32]) -> DispatchResult {
	Gauntlet::commit_scores(signed(validator), window, commitment)
}

fn reveal(
	validator: u64,
	window: Window,
	theta: [u8; 32],
	scores: ScoreList<Test>,
) -> DispatchResult {
	Gauntlet::reveal_scores(signed(validator), window, theta, scores, salt(validator, window))
}

#[test]
fn score_commitments_are_accepted_during_the_next_window_only() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		commit(1, 0);
		// Nothing before window 1: window 0 is still open.
		assert_noop!(commit_scores(100, 0, [1; 32]), Error::<Test>::WrongCommitWindow);
		run_to_window(1);
		assert_noop!(commit_scores(100, 1, [1; 32]), Error::<Test>::WrongCommitWindow);
		assert_noop!(commit_scores(1, 0, [1; 32]), Error::<Test>::NotValidator);
		// The last block of window 1 still accepts commitments for window 0.
		mock::run_to_block(19);
		assert_ok!(commit_scores(100, 0, [1; 32]));
		assert_eq!(
			ScoreCommits::<Test>::get(0, 100),
			Some(ScoreCommit { commitment: [1; 32], committed_at: 19, revealed_at: None })
		);
		assert_eq!(WindowTallies::<Test>::get(0).score_commits, 1);
		System::assert_last_event(
			Event::ScoresCommitted { validator: 100, window: 0, commitment: [1; 32] }.into(),
		);
		// A commitment cannot be replaced once others may have seen it.
		assert_noop!(commit_scores(100, 0, [2; 32]), Error::<Test>::AlreadyCommittedScores);
		add_validator(101);
		mock::run_to_block(20);
		assert_noop!(commit_scores(101, 0, [1; 32]), Error::<Test>::WrongCommitWindow);
	});
}

#[test]
fn a_reveal_must_come_two_windows_later_and_match_its_commitment() {
	new_test_ext().execute_with(|| {
		setup(2, 2);
		commit(1, 0);
		commit(2, 0);
		run_to_window(1);
		let scores = list(&[(1, score(0.2)), (2, score(0.1))]);
		assert_ok!(commit_scores(100, 0, commitment_of(100, 0, THETA, &scores)));
		// 101 commits and never reveals.
		assert_ok!(commit_scores(101, 0, commitment_of(101, 0, THETA, &scores)));
		assert_noop!(reveal(100, 0, THETA, scores.clone()), Error::<Test>::WrongRevealWindow);
		mock::run_to_window(2);
		// Any input other than the committed one fails the hash check.
		let other = list(&[(1, score(0.9)), (2, score(0.1))]);
		assert_noop!(reveal(100, 0, THETA, other), Error::<Test>::CommitmentMismatch);
		assert_noop!(reveal(100, 0, [1; 32], scores.clone()), Error::<Test>::CommitmentMismatch);
		assert_noop!(
			Gauntlet::reveal_scores(signed(100), 0, THETA, scores.clone(), [0; 32]),
			Error::<Test>::CommitmentMismatch
		);
		add_validator(102);
		assert_noop!(reveal(102, 0, THETA, scores.clone()), Error::<Test>::NoScoreCommitment);
		assert_noop!(reveal(1, 0, THETA, scores.clone()), Error::<Test>::NotValidator);

		assert_ok!(reveal(100, 0, THETA, scores.clone()));
		assert_eq!(
			Scores::<Test>::get(0, 100),
			Some(ScoreReport { theta_hash: THETA, scores: scores.clone() })
		);
		assert_eq!(ScoreCommits::<Test>::get(0, 100).unwrap().revealed_at, Some(20));
		assert_eq!(WindowTallies::<Test>::get(0).score_reveals, 1);
		System::assert_last_event(
			Event::ScoresRevealed { validator: 100, window: 0, miners: 2, theta_hash: THETA }
				.into(),
		);
		assert_noop!(reveal(100, 0, THETA, scores.clone()), Error::<Test>::AlreadyRevealed);
		// Too late: the reveal window is over.
		mock::run_to_window(3);
		assert_noop!(reveal(101, 0, THETA, scores), Error::<Test>::WrongRevealWindow);
		// The unrevealed commitment stays on record, as such.
		let record = Gauntlet::window_record(0).unwrap();
		let status: Vec<_> =
			record.score_commits.iter().map(|(v, c)| (*v, c.revealed_at.is_some())).collect();
		assert_eq!(status, vec![(100, true), (101, false)]);
		assert_eq!(record.scores.iter().map(|(v, _)| *v).collect::<Vec<_>>(), vec![100]);
	});
}

/// Each malformed reveal, committed faithfully so that only its content is wrong, is refused
/// with its own error and changes nothing.
#[test]
fn reveal_content_errors() {
	new_test_ext().execute_with(|| {
		setup(3, 15);
		register(100); // the validator is also a miner
		commit(1, 0);
		commit(2, 0);
		commit(100, 0);
		// Every validator is assigned to every miner here.
		CurrentRunConfig::<Test>::mutate(|c| c.scorers_per_miner = MAX_VALIDATORS);
		run_to_window(1);
		let s = score(0.1);
		let tweak = |f: fn(&mut MinerScore)| {
			let mut s = score(0.1);
			f(&mut s);
			list(&[(1, s)])
		};
		// Validator 100 (also a miner) reveals the first case.
		let cases: Vec<(ScoreList<Test>, Error<Test>)> = vec![
			(list(&[(1, s), (100, s)]), Error::CannotScoreSelf),
			(list(&[]), Error::EmptyScores),
			(list(&[(1, s), (2, s), (1, s)]), Error::DuplicateMiner),
			(list(&[(1, s), (3, s)]), Error::MinerDidNotCommit),
			(tweak(|s| s.gradient_score = fx(1.000000001)), Error::GradientScoreOutOfRange),
			(tweak(|s| s.gradient_score = fx(-1000.000000001)), Error::GradientScoreOutOfRange),
			(tweak(|s| s.own_improvement = fx(1.5)), Error::OwnImprovementOutOfRange),
			(tweak(|s| s.own_improvement = fx(-2000.0)), Error::OwnImprovementOutOfRange),
			(tweak(|s| s.binary_indicator = 0), Error::BadBinaryIndicator),
			(tweak(|s| s.binary_indicator = 2), Error::BadBinaryIndicator),
			(tweak(|s| s.sync_score = fx(1.000000001)), Error::SyncScoreOutOfRange),
			(tweak(|s| s.sync_score = fx(-0.000000001)), Error::SyncScoreOutOfRange),
			(tweak(|s| s.losses.own_after = fx(-0.000000001)), Error::LossOutOfRange),
			(tweak(|s| s.losses.random_before = fx(1000.000000001)), Error::LossOutOfRange),
		];
		let validators: Vec<u64> = (100..).take(cases.len()).collect();
		for (v, (scores, _)) in validators.iter().zip(&cases) {
			assert_ok!(commit_scores(*v, 0, commitment_of(*v, 0, THETA, scores)));
		}
		// The extremes are accepted.
		let mut edge = score(1.0);
		edge.own_improvement = fx(-1000.0);
		edge.sync_score = fx(0.0);
		edge.binary_indicator = -1;
		edge.failure = Some(FailureReason::Malformed);
		edge.losses = EvaluationLosses {
			own_before: fx(1000.0),
			own_after: fx(0.0),
			random_before: fx(0.0),
			random_after: fx(1000.0),
		};
		let good = list(&[(1, edge), (2, s)]);
		assert_ok!(commit_scores(114, 0, commitment_of(114, 0, THETA, &good)));
		mock::run_to_window(2);
		for (v, (scores, error)) in validators.iter().zip(cases) {
			assert_noop!(reveal(*v, 0, THETA, scores), error);
		}
		assert_ok!(reveal(114, 0, THETA, good));
	});
}

#[test]
fn the_seed_is_drawn_from_the_parent_hash_at_the_first_block_of_the_next_window() {
	let seed_with_parent = |parent: [u8; 32]| {
		new_test_ext().execute_with(|| {
			setup(1, 5);
			commit(1, 0);
			mock::run_to_block(9);
			assert!(WindowSeeds::<Test>::get(0).is_none(), "no seed while W is open");
			System::set_parent_hash(parent.into());
			mock::run_to_block(10);
			let seed = WindowSeeds::<Test>::get(0).unwrap();
			assert_eq!(seed.seed, assignment::window_seed(0, &parent));
			assert_eq!(seed.drawn_at, 10);
			assert_eq!(seed.validators.clone().into_inner(), (100..105).collect::<Vec<_>>());
			// Default run config: three scorers, quorum two.
			assert_eq!((seed.scorers_per_miner, seed.quorum), (3, 2));
			System::assert_has_event(
				Event::SeedDrawn { window: 0, seed: seed.seed, validators: 5 }.into(),
			);
			seed.seed
		})
	};
	assert_ne!(seed_with_parent([1; 32]), seed_with_parent([2; 32]));
}

#[test]
fn scorers_and_quorum_are_capped_by_the_validators_there_are() {
	for (validators, expected) in [(0, (0, 0)), (1, (1, 1)), (2, (2, 2)), (7, (3, 2))] {
		new_test_ext().execute_with(|| {
			setup(1, validators);
			run_to_window(1);
			let seed = WindowSeeds::<Test>::get(0).unwrap();
			assert_eq!((seed.scorers_per_miner, seed.quorum), expected, "{validators} validators");
		});
	}
}

#[test]
fn a_validator_may_reveal_scores_only_for_the_miners_assigned_to_it() {
	new_test_ext().execute_with(|| {
		setup(1, 5);
		commit(1, 0);
		run_to_window(1);
		let seed = WindowSeeds::<Test>::get(0).unwrap();
		let assigned = assignment::assigned_validators(&seed.seed, &seed.validators, &1, 3);
		assert_eq!(assigned.len(), 3);
		let outsider = (100..105).find(|v| !assigned.contains(v)).unwrap();
		let scores = list(&[(1, score(0.1))]);
		assert_ok!(commit_scores(outsider, 0, commitment_of(outsider, 0, THETA, &scores)));
		assert_ok!(commit_scores(assigned[0], 0, commitment_of(assigned[0], 0, THETA, &scores)));
		mock::run_to_window(2);
		assert_noop!(reveal(outsider, 0, THETA, scores.clone()), Error::<Test>::NotAssigned);
		assert_ok!(reveal(assigned[0], 0, THETA, scores));
		// The record shows the assignment.
		let record = Gauntlet::window_record(0).unwrap();
		assert_eq!(record.assignments, vec![(1, assigned)]);
	});
}

#[test]
fn a_window_without_a_seed_takes_no_reveals() {
	new_test_ext().execute_with(|| {
		setup(1, 1);
		commit(1, 0);
		run_to_window(1);
		let scores = list(&[(1, score(0.1))]);
		assert_ok!(commit_scores(100, 0, commitment_of(100, 0, THETA, &scores)));
		// As for a window selected before storage version 2.
		WindowSeeds::<Test>::remove(0);
		mock::run_to_window(2);
		assert_noop!(reveal(100, 0, THETA, scores), Error::<Test>::NoSeed);
	});
}

#[test]
fn score_commitments_per_window_are_bounded_even_with_validator_churn() {
	new_test_ext().execute_with(|| {
		setup(1, u64::from(MAX_VALIDATORS));
		commit(1, 0);
		run_to_window(1);
		for v in 100..100 + u64::from(MAX_VALIDATORS) {
			assert_ok!(commit_scores(v, 0, [1; 32]));
		}
		assert_ok!(Gauntlet::remove_validator(RuntimeOrigin::root(), 100));
		add_validator(999);
		assert_noop!(commit_scores(999, 0, [1; 32]), Error::<Test>::TooManyScoreCommits);
	});
}

#[test]
fn a_miner_below_quorum_is_not_rated_and_the_outcome_says_so() {
	new_test_ext().execute_with(|| {
		setup(2, 2);
		commit(1, 0);
		commit(2, 0);
		run_to_window(1);
		// Quorum 2: miner 2 gets one score only.
		submit(100, 0, &[(1, score(0.2)), (2, score(0.9))]);
		submit(101, 0, &[(1, score(0.1))]);
		run_to_window(3);
		System::assert_has_event(
			Event::WindowClosed {
				window: 0,
				rated: 1,
				below_quorum: 1,
				canonical_theta: Some(THETA),
			}
			.into(),
		);
		assert_eq!(WindowOutcomes::<Test>::get(0).unwrap().below_quorum.into_inner(), vec![2]);
		assert_eq!(state(2), MinerState { last_committed: Some(0), ..Default::default() });
		assert_eq!(state(1).last_rated, Some(0));
	});
}

#[test]
fn a_single_inflating_validator_cannot_lift_a_miner() {
	new_test_ext().execute_with(|| {
		setup(2, 3);
		commit(1, 0);
		commit(2, 0);
		run_to_window(1);
		// 102 inflates miner 2 and deflates miner 1; the two honest validators agree.
		submit(100, 0, &[(1, score(0.3)), (2, score(0.1))]);
		submit(101, 0, &[(1, score(0.3)), (2, score(0.1))]);
		submit(102, 0, &[(1, score(-5.0)), (2, score(0.99))]);
		run_to_window(3);
		let ranking = Rankings::<Test>::get(0).unwrap();
		let rows: Vec<_> = ranking.iter().map(|e| (e.miner, e.rank, e.score)).collect();
		assert_eq!(rows, vec![(1, 1, fx(0.3)), (2, 2, fx(0.1))]);
		assert_eq!(ranking[0].validators, 3);
	});
}

#[test]
fn the_canonical_theta_is_the_one_a_strict_majority_evaluated_against() {
	new_test_ext().execute_with(|| {
		setup(1, 3);
		let other = [0xCD; 32];
		commit(1, 0);
		run_to_window(1);
		submit(100, 0, &[(1, score(0.1))]);
		submit(101, 0, &[(1, score(0.1))]);
		submit_against(102, 0, other, &[(1, score(0.1))]);
		commit(1, 1);
		run_to_window(2);
		// One against one (102 does not commit): no majority.
		submit(100, 1, &[(1, score(0.1))]);
		submit_against(101, 1, other, &[(1, score(0.1))]);
		run_to_window(4);
		assert_eq!(WindowOutcomes::<Test>::get(0).unwrap().canonical_theta, Some(THETA));
		assert_eq!(WindowOutcomes::<Test>::get(1).unwrap().canonical_theta, None);
		let record = Gauntlet::window_record(0).unwrap();
		assert_eq!(record.outcome.unwrap().canonical_theta, Some(THETA));
	});
}

// ---------------------------------------------------------------------------------------------
// Window lifecycle

#[test]
fn window_w_gets_its_aggregation_set_at_w_plus_1_and_closes_at_w_plus_3() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		commit(1, 0);
		commit(2, 0);
		run_to_block(9);
		assert!(AggregationSets::<Test>::get(0).is_none());
		run_to_block(10);
		assert_eq!(AggregationSets::<Test>::get(0).unwrap().into_inner(), vec![1, 2]);
		System::assert_has_event(
			Event::AggregationSetSelected {
				window: 0,
				miners: BoundedVec::truncate_from(vec![1, 2]),
			}
			.into(),
		);
		assert!(WindowSeeds::<Test>::get(0).is_some());
		submit(100, 0, &[(1, score(0.2)), (2, score(0.1))]);
		run_to_block(20);
		assert!(Scores::<Test>::get(0, 100).is_some(), "revealed in window 2");
		run_to_block(29);
		assert!(Rankings::<Test>::get(0).is_none());
		assert_eq!(state(1).rating, Rating::default());
		run_to_block(30);
		assert_eq!(Rankings::<Test>::get(0).unwrap().len(), 2);
		System::assert_has_event(
			Event::WindowClosed {
				window: 0,
				rated: 2,
				below_quorum: 0,
				canonical_theta: Some(THETA),
			}
			.into(),
		);
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 3, next_close: 1, next_prune: 0 }
		);
	});
}

#[test]
fn the_hook_catches_up_one_window_per_block() {
	new_test_ext().execute_with(|| {
		// Jump to window 5 without running the blocks in between.
		System::set_block_number(50);
		Gauntlet::on_initialize(50);
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 1, next_close: 1, next_prune: 0 }
		);
		run_to_block(53);
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 4, next_close: 3, next_prune: 0 }
		);
		run_to_block(60);
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 6, next_close: 4, next_prune: 0 }
		);
	});
}

#[test]
fn the_hook_reports_more_weight_when_it_closes_a_window() {
	new_test_ext().execute_with(|| {
		run_to_block(25);
		let idle = Gauntlet::on_initialize(26);
		System::set_block_number(30);
		let closing = Gauntlet::on_initialize(30);
		assert!(closing.ref_time() > idle.ref_time());
		assert_eq!(idle, <() as WeightInfo>::on_initialize_base());
	});
}

#[test]
fn close_rates_scored_committers_and_skips_the_rest() {
	new_test_ext().execute_with(|| {
		setup(4, 2);
		(1..=4).for_each(|m| commit(m, 0));
		run_to_window(1);
		// Miner 4 committed but nobody scored it.
		submit(100, 0, &[(1, score(0.3)), (2, score(0.2)), (3, score(0.1))]);
		submit(101, 0, &[(1, score(0.3)), (2, score(0.2)), (3, score(0.1))]);
		run_to_window(3);
		System::assert_has_event(
			Event::WindowClosed {
				window: 0,
				rated: 3,
				below_quorum: 1,
				canonical_theta: Some(THETA),
			}
			.into(),
		);
		let (s1, s2, s3, s4) = (state(1), state(2), state(3), state(4));
		assert!(s1.rating.mu > s2.rating.mu && s2.rating.mu > s3.rating.mu);
		assert!(s1.rating.mu > fixed(25.0) && s3.rating.mu < fixed(25.0));
		assert!(s1.rating.sigma < Rating::default().sigma);
		assert_eq!(s4.rating, Rating::default());
		assert_eq!((s4.last_rated, s1.last_rated), (None, Some(0)));
		// Binary MA: 0 + 0.05 × (1 − 0) for every rated miner.
		assert_eq!((s1.binary_ma, s4.binary_ma), (fx(0.05), fx(0.0)));
		assert_eq!(s1.sync, fx(1.0));
		let ranking = Rankings::<Test>::get(0).unwrap();
		let order: Vec<_> = ranking.iter().map(|e| (e.miner, e.rank)).collect();
		assert_eq!(order, vec![(1, 1), (2, 2), (3, 3)]);
		assert_eq!(ranking[0].validators, 2);
		assert!(RatingHistory::<Test>::get(0, 1).is_some());
		assert!(RatingHistory::<Test>::get(0, 4).is_none());
	});
}

#[test]
fn close_matches_the_rating_maths_on_the_median_scores() {
	new_test_ext().execute_with(|| {
		setup(3, 3);
		(1..=3).for_each(|m| commit(m, 0));
		run_to_window(1);
		// Per-miner medians: miner 1 → 0.30, miner 2 → 0.20, miner 3 → 0.25 (lower median).
		submit(100, 0, &[(1, score(0.30)), (2, score(0.90)), (3, score(0.25))]);
		submit(101, 0, &[(1, score(0.10)), (2, score(0.20)), (3, score(0.25))]);
		submit(102, 0, &[(1, score(0.40)), (2, score(0.15))]);
		run_to_window(3);
		// Bit-identical to the rating crate on the lower medians, fed as 0.30, 0.20, 0.25.
		let expected = gauntlet_rating::rate(
			&Params::templar(),
			&[Rating::default(); 3],
			&[fixed(0.30), fixed(0.20), fixed(0.25)],
		)
		.unwrap();
		assert_eq!([state(1).rating, state(2).rating, state(3).rating].to_vec(), expected);
		let ranking = Rankings::<Test>::get(0).unwrap();
		let rows: Vec<_> = ranking.iter().map(|e| (e.miner, e.rank, e.score)).collect();
		assert_eq!(rows, vec![(1, 1, fx(0.30)), (3, 2, fx(0.25)), (2, 3, fx(0.20))]);
		assert_eq!(ranking[1].validators, 2);
	});
}

#[test]
fn copied_and_failed_payloads_rank_last() {
	new_test_ext().execute_with(|| {
		setup(4, 1);
		(1..=4).for_each(|m| commit(m, 0));
		run_to_window(1);
		let mut copied = score(0.9);
		copied.copy_suspected = true;
		let mut failed = score(0.8);
		failed.failure = Some(FailureReason::HashMismatch);
		submit(100, 0, &[(1, copied), (2, failed), (3, score(-0.5)), (4, score(0.1))]);
		run_to_window(3);
		let ranking = Rankings::<Test>::get(0).unwrap();
		let rows: Vec<_> = ranking.iter().map(|e| (e.miner, e.rank)).collect();
		// Both flagged miners tie for last ("1224"), behind even a harmful payload.
		assert_eq!(rows, vec![(4, 1), (3, 2), (1, 3), (2, 3)]);
		assert_eq!((ranking[2].copy_flags, ranking[3].failures), (1, 1));
		assert_eq!(ranking[2].score, WORST_SCORE);
		assert!(state(1).rating.mu < state(3).rating.mu);
	});
}

#[test]
fn a_miner_that_deregistered_before_the_close_is_not_rated() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		commit(1, 0);
		commit(2, 0);
		run_to_window(1);
		submit(100, 0, &[(1, score(0.2)), (2, score(0.1))]);
		assert_ok!(Gauntlet::deregister(signed(2)));
		run_to_window(3);
		System::assert_has_event(
			Event::WindowClosed {
				window: 0,
				rated: 1,
				below_quorum: 0,
				canonical_theta: Some(THETA),
			}
			.into(),
		);
		assert!(!MinerStates::<Test>::contains_key(2));
		assert_eq!(Rankings::<Test>::get(0).unwrap().len(), 1);
		// The commitment and the scores stay on record.
		assert!(Commitments::<Test>::contains_key(0, 2));
	});
}

#[test]
fn ratings_move_in_the_right_direction_over_many_windows() {
	new_test_ext().execute_with(|| {
		setup(3, 2);
		let mut history = vec![];
		for w in 0..8u64 {
			run_to_window(w);
			(1..=3).for_each(|m| commit(m, w));
			if w > 0 {
				let scores = [(1, score(0.3)), (2, score(0.2)), (3, score(0.1))];
				submit(100, w - 1, &scores);
				submit(101, w - 1, &scores);
			}
			history.push((state(1), state(2), state(3)));
		}
		// Windows 0..=4 have been closed (window 5 closes at the start of window 8).
		for pair in history.windows(2).skip(2) {
			let (before, after) = (&pair[0], &pair[1]);
			assert!(after.0.rating.mu > before.0.rating.mu, "the best miner gains every window");
			assert!(after.2.rating.mu < before.2.rating.mu, "the worst miner loses every window");
			assert!(after.0.rating.sigma < before.0.rating.sigma, "uncertainty shrinks");
			assert!(after.0.binary_ma > before.0.binary_ma);
		}
		let (a, b, c) = history.last().copied().unwrap();
		assert!(a.rating.ordinal() > b.rating.ordinal() && b.rating.ordinal() > c.rating.ordinal());
		// Five closes of binary +1 from 0: 1 − 0.95⁵.
		let expected = 1.0 - 0.95f64.powi(5);
		assert!((a.binary_ma.into_inner() as f64 / 1e9 - expected).abs() < 1e-8);
		// The mock keeps the last HISTORY_WINDOWS (4) closed windows.
		let snapshots = Gauntlet::rating_history(1, 0, 100);
		assert_eq!(snapshots.iter().map(|s| s.window).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
		assert!(snapshots.windows(2).all(|p| p[1].mu > p[0].mu));
		assert_eq!(snapshots.last().unwrap().mu, a.rating.mu);
	});
}

#[test]
fn final_weights_are_power_normalised_and_sum_to_one() {
	new_test_ext().execute_with(|| {
		setup(3, 1);
		for w in 0..12u64 {
			run_to_window(w);
			(1..=3).for_each(|m| commit(m, w));
			if w > 0 {
				let mut half_synced = score(0.2);
				half_synced.sync_score = fx(0.5);
				submit(100, w - 1, &[(1, score(0.3)), (2, half_synced), (3, score(0.1))]);
			}
		}
		let states = [state(1), state(2), state(3)];
		let raw: Vec<f64> = states
			.iter()
			.map(|s| {
				let f = |x: FixedI64| (x.into_inner() as f64 / 1e9).max(0.0);
				f(to_fixed_i64(s.rating.ordinal())) * f(s.binary_ma) * f(s.sync)
			})
			.collect();
		assert!(raw[0] > 0.0, "the best miner earns weight: {raw:?}");
		let total: f64 = raw.iter().map(|w| w * w).sum();
		for (s, r) in states.iter().zip(&raw) {
			let want = r * r / total;
			let got = s.final_weight.deconstruct() as f64 / 1e9;
			assert!((got - want).abs() < 1e-8, "{got} vs {want}");
		}
		let sum: u32 = Gauntlet::leaderboard().iter().map(|e| e.final_weight.deconstruct()).sum();
		assert!(sum.abs_diff(Perbill::one().deconstruct()) <= 3, "sum {sum}");
		// The leaderboard is ordered by final weight.
		assert_eq!(Gauntlet::leaderboard()[0].miner, 1);
	});
}

#[test]
fn aggregation_set_is_the_top_rated_committers_in_account_order() {
	new_test_ext().execute_with(|| {
		setup(5, 0);
		CurrentRunConfig::<Test>::mutate(|c| c.peers_per_aggregate = 2);
		let mu = [(1, 20.0), (2, 30.0), (3, 28.0), (4, 40.0), (5, 26.0)];
		for (m, v) in mu {
			MinerStates::<Test>::mutate(m, |s| s.as_mut().unwrap().rating.mu = fixed(v));
		}
		// Miner 4 (best) does not commit; 5 commits then deregisters.
		[1, 2, 3, 5].into_iter().for_each(|m| commit(m, 0));
		assert_ok!(Gauntlet::deregister(signed(5)));
		run_to_window(1);
		assert_eq!(AggregationSets::<Test>::get(0).unwrap().into_inner(), vec![2, 3]);
		// A window with no commitments gets an empty set.
		run_to_window(2);
		assert_eq!(AggregationSets::<Test>::get(1).unwrap().into_inner(), Vec::<u64>::new());
	});
}

#[test]
fn aggregation_set_ties_break_by_account_id() {
	new_test_ext().execute_with(|| {
		setup(4, 0);
		CurrentRunConfig::<Test>::mutate(|c| c.peers_per_aggregate = 3);
		[4, 3, 2, 1].into_iter().for_each(|m| commit(m, 0));
		run_to_window(1);
		assert_eq!(AggregationSets::<Test>::get(0).unwrap().into_inner(), vec![1, 2, 3]);
	});
}

#[test]
fn old_windows_are_pruned_one_per_block() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		for w in 0..=(u64::from(HISTORY_WINDOWS) + 4) {
			run_to_window(w);
			commit(1, w);
			commit(2, w);
			assert_ok!(Gauntlet::announce_checkpoint(signed(1), w, [1; 32], 1));
			if w > 0 {
				submit(100, w - 1, &[(1, score(0.2)), (2, score(0.1))]);
			}
		}
		// Window W closes at the first block of W+3 and is pruned once H later windows are
		// closed: window 0 at the first block of window H+3, window 1 at that of H+4 (now).
		let h = u64::from(HISTORY_WINDOWS);
		let cursor = Cursor::<Test>::get();
		assert_eq!((cursor.next_close, cursor.next_prune), (h + 2, 2));
		for w in 0..2 {
			assert_eq!(Commitments::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(Checkpoints::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(Scores::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(ScoreCommits::<Test>::iter_prefix(w).count(), 0);
			assert!(
				WindowSeeds::<Test>::get(w).is_none() && WindowOutcomes::<Test>::get(w).is_none()
			);
			assert_eq!(RatingHistory::<Test>::iter_prefix(w).count(), 0);
			assert!(
				Rankings::<Test>::get(w).is_none() && AggregationSets::<Test>::get(w).is_none()
			);
			assert_eq!(WindowTallies::<Test>::get(w), WindowTally::default());
			assert!(Gauntlet::window_record(w).is_none());
			System::assert_has_event(Event::WindowPruned { window: w }.into());
		}
		assert!(Rankings::<Test>::get(2).is_some());
		assert!(WindowSeeds::<Test>::get(2).is_some() && WindowOutcomes::<Test>::get(2).is_some());
		assert_eq!(
			Gauntlet::rating_history(1, 0, 100).iter().map(|s| s.window).collect::<Vec<_>>(),
			(2..=h + 1).collect::<Vec<_>>()
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Run configuration

fn next_config() -> RunConfig {
	RunConfig { version: 2, rating_beta: fx(5.0), ..test_run_config() }
}

#[test]
fn run_config_is_scheduled_and_activated_at_its_window() {
	new_test_ext().execute_with(|| {
		assert_ok!(Gauntlet::set_run_config(RuntimeOrigin::root(), next_config(), 3));
		System::assert_last_event(
			Event::RunConfigScheduled { version: 2, effective_window: 3, replaced: None }.into(),
		);
		let replacement = RunConfig { version: 3, ..next_config() };
		assert_ok!(Gauntlet::set_run_config(RuntimeOrigin::root(), replacement.clone(), 2));
		System::assert_last_event(
			Event::RunConfigScheduled { version: 3, effective_window: 2, replaced: Some(2) }.into(),
		);
		run_to_block(19);
		assert_eq!(Gauntlet::run_config().version, 1);
		run_to_block(20);
		assert_eq!(Gauntlet::run_config(), replacement);
		assert!(PendingRunConfig::<Test>::get().is_none());
		System::assert_has_event(Event::RunConfigActivated { version: 3, window: 2 }.into());
	});
}

#[test]
fn run_config_errors() {
	new_test_ext().execute_with(|| {
		run_to_window(2);
		assert_noop!(
			Gauntlet::set_run_config(signed(1), next_config(), 5),
			DispatchError::BadOrigin
		);
		for window in [0, 2] {
			assert_noop!(
				Gauntlet::set_run_config(RuntimeOrigin::root(), next_config(), window),
				Error::<Test>::EffectiveWindowNotInFuture
			);
		}
		let renumbering = RunConfig { blocks_per_window: 125, ..next_config() };
		assert_noop!(
			Gauntlet::set_run_config(RuntimeOrigin::root(), renumbering, 5),
			Error::<Test>::BlocksPerWindowImmutable
		);
		let same_version = RunConfig { version: 1, ..next_config() };
		assert_noop!(
			Gauntlet::set_run_config(RuntimeOrigin::root(), same_version, 5),
			Error::<Test>::VersionNotIncreased
		);
		let invalid: [fn(&mut RunConfig); 8] = [
			|c| c.inner_steps = 0,
			|c| c.min_scorers = 0,
			|c| c.min_scorers = c.scorers_per_miner + 1,
			|c| c.rating_beta = fx(0.0),
			|c| c.rating_tau = fx(-0.1),
			|c| c.binary_ma_alpha = fx(1.5),
			|c| c.peers_per_aggregate = MAX_MINERS + 1,
			|c| c.error_feedback_beta = fx(1.01),
		];
		for f in invalid {
			let mut c = next_config();
			f(&mut c);
			assert_noop!(
				Gauntlet::set_run_config(RuntimeOrigin::root(), c, 5),
				Error::<Test>::InvalidRunConfig
			);
		}
	});
}

#[test]
fn a_new_rating_beta_applies_to_closes_after_activation() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		assert_ok!(Gauntlet::set_run_config(RuntimeOrigin::root(), next_config(), 1));
		commit(1, 0);
		commit(2, 0);
		run_to_window(1);
		submit(100, 0, &[(1, score(0.2)), (2, score(0.1))]);
		run_to_window(3);
		let params = Params { beta: fixed(5.0), ..Params::templar() };
		assert_eq!(ratings::params(&Gauntlet::run_config()), params);
		let expected =
			gauntlet_rating::rate(&params, &[Rating::default(); 2], &[fixed(0.2), fixed(0.1)])
				.unwrap();
		assert_eq!(vec![state(1).rating, state(2).rating], expected);
	});
}

// ---------------------------------------------------------------------------------------------
// Views (runtime API)

#[test]
fn window_record_collects_everything_about_a_window() {
	new_test_ext().execute_with(|| {
		setup(3, 2);
		commit(2, 0);
		commit(1, 0);
		assert_ok!(Gauntlet::announce_checkpoint(signed(101), 0, [4; 32], 9));
		assert!(Gauntlet::window_record(1).is_none(), "future window");
		let open = Gauntlet::window_record(0).unwrap();
		assert_eq!(open.commitments.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 2]);
		assert_eq!(open.checkpoints.len(), 1);
		assert!(open.aggregation_set.is_none() && open.ranking.is_none());
		run_to_window(1);
		submit(101, 0, &[(2, score(0.1))]);
		submit(100, 0, &[(1, score(0.2)), (2, score(0.3))]);
		run_to_window(3);
		let record = Gauntlet::window_record(0).unwrap();
		assert_eq!(record.window, 0);
		assert_eq!(record.scores.iter().map(|s| s.0).collect::<Vec<_>>(), vec![100, 101]);
		assert_eq!(
			record.scores[0].1,
			ScoreReport { theta_hash: THETA, scores: vec![(1, score(0.2)), (2, score(0.3))] }
		);
		assert_eq!(record.score_commits.len(), 2);
		let seed = record.seed.clone().unwrap();
		assert_eq!((seed.validators, seed.quorum), (vec![100, 101], 2));
		assert_eq!(record.assignments.iter().map(|a| a.0).collect::<Vec<_>>(), vec![1, 2]);
		// Miner 1 got one score of the two it needed.
		assert_eq!(
			record.outcome,
			Some(WindowOutcome { canonical_theta: Some(THETA), below_quorum: vec![1] })
		);
		assert_eq!(record.aggregation_set, Some(vec![1, 2]));
		// Lower median of miner 2: min(0.1, 0.3).
		let ranking = record.ranking.unwrap();
		assert_eq!(
			ranking.iter().map(|e| (e.miner, e.score)).collect::<Vec<_>>(),
			vec![(2, fx(0.1))]
		);
	});
}

#[test]
fn leaderboard_lists_every_registered_miner() {
	new_test_ext().execute_with(|| {
		setup(3, 1);
		commit(1, 0);
		commit(3, 0);
		run_to_window(1);
		submit(100, 0, &[(1, score(0.1)), (3, score(0.2))]);
		run_to_window(3);
		let board = Gauntlet::leaderboard();
		assert_eq!(board.len(), 3);
		// Only the winner has a positive ordinal, so only it has weight; the others follow by
		// ordinal: the unrated miner 2 (ordinal 0) before the loser 1.
		assert_eq!(board.iter().map(|e| e.miner).collect::<Vec<_>>(), vec![3, 2, 1]);
		assert_eq!(board[0].final_weight, Perbill::one());
		let top = &board[0];
		assert_eq!((top.last_committed, top.binary_ma, top.sync), (Some(0), fx(0.05), fx(1.0)));
		assert_eq!(top.ordinal, state(3).rating.ordinal());
		assert_eq!((board[1].miner, board[1].last_committed), (2, None));
	});
}

#[test]
fn rating_history_is_empty_before_any_close_and_clamps_ranges() {
	new_test_ext().execute_with(|| {
		setup(1, 1);
		assert!(Gauntlet::rating_history(1, 0, u64::MAX).is_empty());
		commit(1, 0);
		run_to_window(1);
		submit(100, 0, &[(1, score(0.1))]);
		run_to_window(3);
		assert_eq!(Gauntlet::rating_history(1, 0, u64::MAX).len(), 1);
		assert!(Gauntlet::rating_history(1, 1, 0).is_empty());
		assert!(Gauntlet::rating_history(2, 0, 10).is_empty());
	});
}
