//! Unit tests on the mock runtime.

use crate::{
	mock::*,
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
use sp_runtime::{BuildStorage, DispatchError, FixedI64, Perbill, TokenError};

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
	}
}

fn list(entries: &[(u64, MinerScore)]) -> ScoreList<Test> {
	BoundedVec::truncate_from(entries.to_vec())
}

fn submit(validator: u64, window: Window, entries: &[(u64, MinerScore)]) {
	assert_ok!(Gauntlet::submit_scores(signed(validator), window, list(entries)));
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
	assert_eq!((c.peers_per_aggregate, c.blocks_per_window, c.miners_per_validator), (20, 125, 15));
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
/// the migration, field for field with the sum rule it was run with; the pending one too; the
/// storage version moves to 1, and a second run changes nothing.
#[test]
fn migration_v1_keeps_old_configs_and_their_sum_rule() {
	use crate::migrations::v1::{MigrateV0ToV1, RunConfigV0, ScheduledRunConfigV0};
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
		frame_support::storage::unhashed::put_raw(
			&CurrentRunConfig::<Test>::hashed_key(),
			&old.encode(),
		);
		frame_support::storage::unhashed::put_raw(
			&PendingRunConfig::<Test>::hashed_key(),
			&pending.encode(),
		);
		StorageVersion::new(0).put::<Pallet<Test>>();

		MigrateV0ToV1::<Test>::on_runtime_upgrade();

		assert_eq!(Pallet::<Test>::on_chain_storage_version(), 1);
		let current = CurrentRunConfig::<Test>::get();
		assert_eq!(current, old.clone().upgrade());
		assert_eq!(current.aggregation_rule, AggregationRule::Sum);
		assert_eq!((current.version, current.outer_learning_rate), (3, fx(0.7)));
		let scheduled = PendingRunConfig::<Test>::get().unwrap();
		assert_eq!(scheduled.effective_window, 9);
		assert_eq!(scheduled.config, pending.config.clone().upgrade());

		// Version 1 already: the migration is skipped and the values stay.
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(CurrentRunConfig::<Test>::get(), old.upgrade());
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
		assert_eq!(Pallet::<Test>::in_code_storage_version(), 1);
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

#[test]
fn scores_are_accepted_for_the_window_just_closed_only() {
	new_test_ext().execute_with(|| {
		setup(2, 1);
		commit(1, 0);
		// Nothing before window 1: window 0 is still open.
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[(1, score(0.1))])),
			Error::<Test>::WrongScoreWindow
		);
		run_to_window(1);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 1, list(&[(1, score(0.1))])),
			Error::<Test>::WrongScoreWindow
		);
		// The last block of window 1 still accepts scores for window 0.
		run_to_block(19);
		submit(100, 0, &[(1, score(0.1))]);
		assert_eq!(Scores::<Test>::get(0, 100).unwrap().into_inner(), vec![(1, score(0.1))]);
		assert_eq!(WindowTallies::<Test>::get(0).score_submissions, 1);
		System::assert_last_event(
			Event::ScoresSubmitted { validator: 100, window: 0, miners: 1 }.into(),
		);
		add_validator(101);
		run_to_block(20);
		assert_noop!(
			Gauntlet::submit_scores(signed(101), 0, list(&[(1, score(0.1))])),
			Error::<Test>::WrongScoreWindow
		);
	});
}

#[test]
fn score_submission_errors() {
	new_test_ext().execute_with(|| {
		setup(3, 1);
		register(100); // the validator is also a miner
		commit(1, 0);
		commit(2, 0);
		commit(100, 0);
		run_to_window(1);
		let s = score(0.1);
		assert_noop!(
			Gauntlet::submit_scores(signed(1), 0, list(&[(2, s)])),
			Error::<Test>::NotValidator
		);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[])),
			Error::<Test>::EmptyScores
		);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[(1, s), (2, s), (1, s)])),
			Error::<Test>::DuplicateMiner
		);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[(1, s), (3, s)])),
			Error::<Test>::MinerDidNotCommit
		);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[(1, s), (100, s)])),
			Error::<Test>::CannotScoreSelf
		);
		let bad = |f: fn(&mut MinerScore)| {
			let mut s = score(0.1);
			f(&mut s);
			list(&[(1, s)])
		};
		type Tweak = fn(&mut MinerScore);
		let cases: [(Tweak, Error<Test>); 8] = [
			(|s| s.gradient_score = fx(1.000000001), Error::GradientScoreOutOfRange),
			(|s| s.gradient_score = fx(-1000.000000001), Error::GradientScoreOutOfRange),
			(|s| s.own_improvement = fx(1.5), Error::OwnImprovementOutOfRange),
			(|s| s.own_improvement = fx(-2000.0), Error::OwnImprovementOutOfRange),
			(|s| s.binary_indicator = 0, Error::BadBinaryIndicator),
			(|s| s.binary_indicator = 2, Error::BadBinaryIndicator),
			(|s| s.sync_score = fx(1.000000001), Error::SyncScoreOutOfRange),
			(|s| s.sync_score = fx(-0.000000001), Error::SyncScoreOutOfRange),
		];
		for (f, error) in cases {
			assert_noop!(Gauntlet::submit_scores(signed(100), 0, bad(f)), error);
		}
		// The extremes are accepted.
		let mut edge = score(1.0);
		edge.own_improvement = fx(-1000.0);
		edge.sync_score = fx(0.0);
		edge.binary_indicator = -1;
		edge.failure = Some(FailureReason::Malformed);
		submit(100, 0, &[(1, edge), (2, s)]);
		assert_noop!(
			Gauntlet::submit_scores(signed(100), 0, list(&[(1, s)])),
			Error::<Test>::AlreadySubmitted
		);
	});
}

#[test]
fn score_submissions_per_window_are_bounded_even_with_validator_churn() {
	new_test_ext().execute_with(|| {
		setup(1, u64::from(MAX_VALIDATORS));
		commit(1, 0);
		run_to_window(1);
		(100..100 + u64::from(MAX_VALIDATORS)).for_each(|v| submit(v, 0, &[(1, score(0.1))]));
		assert_ok!(Gauntlet::remove_validator(RuntimeOrigin::root(), 100));
		add_validator(999);
		assert_noop!(
			Gauntlet::submit_scores(signed(999), 0, list(&[(1, score(0.1))])),
			Error::<Test>::TooManySubmissions
		);
	});
}

// ---------------------------------------------------------------------------------------------
// Window lifecycle

#[test]
fn window_w_gets_its_aggregation_set_at_w_plus_1_and_closes_at_w_plus_2() {
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
		submit(100, 0, &[(1, score(0.2)), (2, score(0.1))]);
		run_to_block(19);
		assert!(Rankings::<Test>::get(0).is_none());
		assert_eq!(state(1).rating, Rating::default());
		run_to_block(20);
		assert_eq!(Rankings::<Test>::get(0).unwrap().len(), 2);
		System::assert_has_event(Event::WindowClosed { window: 0, rated: 2, unscored: 0 }.into());
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 2, next_close: 1, next_prune: 0 }
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
			HookCursor { next_select: 4, next_close: 4, next_prune: 0 }
		);
		run_to_block(60);
		assert_eq!(
			Cursor::<Test>::get(),
			HookCursor { next_select: 6, next_close: 5, next_prune: 1 }
		);
	});
}

#[test]
fn the_hook_reports_more_weight_when_it_closes_a_window() {
	new_test_ext().execute_with(|| {
		run_to_block(15);
		let idle = Gauntlet::on_initialize(16);
		System::set_block_number(20);
		let closing = Gauntlet::on_initialize(20);
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
		run_to_window(2);
		System::assert_has_event(Event::WindowClosed { window: 0, rated: 3, unscored: 1 }.into());
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
		run_to_window(2);
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
		run_to_window(2);
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
		run_to_window(2);
		System::assert_has_event(Event::WindowClosed { window: 0, rated: 1, unscored: 1 }.into());
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
		// Windows 0..=5 have been closed (window 6 closes at the start of window 8).
		for pair in history.windows(2).skip(2) {
			let (before, after) = (&pair[0], &pair[1]);
			assert!(after.0.rating.mu > before.0.rating.mu, "the best miner gains every window");
			assert!(after.2.rating.mu < before.2.rating.mu, "the worst miner loses every window");
			assert!(after.0.rating.sigma < before.0.rating.sigma, "uncertainty shrinks");
			assert!(after.0.binary_ma > before.0.binary_ma);
		}
		let (a, b, c) = history.last().copied().unwrap();
		assert!(a.rating.ordinal() > b.rating.ordinal() && b.rating.ordinal() > c.rating.ordinal());
		// Six closes of binary +1 from 0: 1 − 0.95⁶.
		let expected = 1.0 - 0.95f64.powi(6);
		assert!((a.binary_ma.into_inner() as f64 / 1e9 - expected).abs() < 1e-8);
		// The mock keeps the last HISTORY_WINDOWS (4) closed windows.
		let snapshots = Gauntlet::rating_history(1, 0, 100);
		assert_eq!(snapshots.iter().map(|s| s.window).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
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
		for w in 0..=(u64::from(HISTORY_WINDOWS) + 3) {
			run_to_window(w);
			commit(1, w);
			commit(2, w);
			assert_ok!(Gauntlet::announce_checkpoint(signed(1), w, [1; 32], 1));
			if w > 0 {
				submit(100, w - 1, &[(1, score(0.2)), (2, score(0.1))]);
			}
		}
		// Window W closes at the first block of W+2 and is pruned once H later windows are
		// closed: window 0 at the first block of window H+2, window 1 at that of H+3 (now).
		let h = u64::from(HISTORY_WINDOWS);
		let cursor = Cursor::<Test>::get();
		assert_eq!((cursor.next_close, cursor.next_prune), (h + 2, 2));
		for w in 0..2 {
			assert_eq!(Commitments::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(Checkpoints::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(Scores::<Test>::iter_prefix(w).count(), 0);
			assert_eq!(RatingHistory::<Test>::iter_prefix(w).count(), 0);
			assert!(
				Rankings::<Test>::get(w).is_none() && AggregationSets::<Test>::get(w).is_none()
			);
			assert_eq!(WindowTallies::<Test>::get(w), WindowTally::default());
			assert!(Gauntlet::window_record(w).is_none());
			System::assert_has_event(Event::WindowPruned { window: w }.into());
		}
		assert!(Rankings::<Test>::get(2).is_some());
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
		let invalid: [fn(&mut RunConfig); 6] = [
			|c| c.inner_steps = 0,
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
		run_to_window(2);
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
		run_to_window(2);
		let record = Gauntlet::window_record(0).unwrap();
		assert_eq!(record.window, 0);
		assert_eq!(record.scores.iter().map(|s| s.0).collect::<Vec<_>>(), vec![100, 101]);
		assert_eq!(record.scores[0].1, vec![(1, score(0.2)), (2, score(0.3))]);
		assert_eq!(record.aggregation_set, Some(vec![1, 2]));
		// Lower median of miner 2: min(0.1, 0.3).
		let ranking = record.ranking.unwrap();
		assert_eq!(
			ranking.iter().map(|e| (e.miner, e.score)).collect::<Vec<_>>(),
			vec![(1, fx(0.2)), (2, fx(0.1))]
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
		run_to_window(2);
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
		run_to_window(2);
		assert_eq!(Gauntlet::rating_history(1, 0, u64::MAX).len(), 1);
		assert!(Gauntlet::rating_history(1, 1, 0).is_empty());
		assert!(Gauntlet::rating_history(2, 0, 10).is_empty());
	});
}
