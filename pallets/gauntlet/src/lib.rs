//! # Gauntlet pallet
//!
//! Native chain state for Gauntlet, the trust layer of decentralised SparseLoCo training:
//!
//! - **Registration.** A miner registers its libp2p endpoint and holds a deposit
//!   ([`HoldReason::MinerDeposit`]); `AdminOrigin` adds and removes validators.
//! - **Commitments.** Each window a miner commits to the payload it serves (hash and size), so a
//!   validator can check the bytes it fetched against what the miner promised. Validators and
//!   miners announce checkpoints the same way, for late joiners.
//! - **Scores, committed then revealed.** During window W+1 each validator evaluates the W
//!   committers the chain assigned to it and commits to its scores (a hash); during W+2 it
//!   reveals them with the salt. No one can copy or answer another validator's scores, since
//!   they are sealed until every commitment is in.
//! - **Window close.** At the first block of window W+3 the chain takes, per miner, the median
//!   of the revealed scores of its assigned validators, rates the miners that reached the
//!   quorum with one Plackett-Luce update, updates the binary-indicator moving average,
//!   recomputes every miner's final weight, and anchors the θ the revealing validators
//!   evaluated against.
//! - **History.** Per-window records and per-miner rating snapshots are kept for
//!   `HistoryWindows` closed windows, then pruned (one window per block at most).
//! - **Run configuration.** The hyperparameters every peer shares live in [`CurrentRunConfig`];
//!   `AdminOrigin` schedules changes for a future window.
//!
//! ## Time
//! `window = block / blocks_per_window`, where `blocks_per_window` comes from the genesis run
//! configuration and never changes (changing it would renumber windows), stored in
//! [`BlocksPerWindow`]. Window W's timeline:
//!
//! ```text
//! W     miners train on θ_W and commit to their payloads            (commit)
//! W+1   first block: W's aggregation set is selected and W's seed drawn; every committed
//!       miner gets its scorers from the seed. Validators evaluate and commit_scores(W)
//! W+2   validators reveal_scores(W) (checked against their commitment and the assignment)
//! W+3   first block: W closes with the revealed scores only
//! ```
//!
//! At the first block of window X, `on_initialize` does, in this order:
//! 1. close window X−3 (its reveals were accepted throughout X−1);
//! 2. select the aggregation set of window X−1 and draw its seed (its commitments are final);
//! 3. activate a run configuration scheduled for X;
//! 4. prune the oldest stored window once more than `HistoryWindows` windows are closed.
//!
//! Each step handles at most one window per block; a cursor ([`Cursor`]) catches up block by
//! block if ever behind. Every step is bounded by `MaxMiners` and `MaxValidators`.
//!
//! ## Closing window W (first block of W+3)
//! - Only revealed scores count, each from a validator assigned to that miner ([`assignment`]).
//!   A commitment never revealed stays on record as such ([`ScoreCommits`]).
//! - A committed miner is rated only if at least the window's quorum of its assigned
//!   validators revealed a score for it (`min(min_scorers, scorers_per_miner, validators)`);
//!   otherwise it is listed in the window's outcome as below quorum and its state is untouched.
//! - Per miner, each field is the *lower median* over its revealed scores (the ⌈n/2⌉-th
//!   smallest), so a strict majority is needed to lift a value. The ranking score is the
//!   gradient score, or [`WORST_SCORE`] from a validator that flagged a copy or a failure: a
//!   majority of such flags ranks the miner last.
//! - One Plackett-Luce update (β, τ of the run config) runs over the rated miners that are
//!   still registered; with a single rated miner there is no game, so only its moving average
//!   and sync change.
//! - Rated miners: `binary_ma ← binary_ma + α·(median indicator − binary_ma)`, `sync ← median`.
//! - Every registered miner: `w = max(0, μ − 3σ) × max(0, binary_ma) × sync`, final weight
//!   `w² / Σ w²` (all zero if every `w` is zero).
//! - The canonical θ of W ([`WindowOutcomes`]) is the θ hash that a strict majority of the
//!   revealing validators evaluated against, if one exists; peers load only checkpoints whose
//!   hash is canonical.
//! - The ranking ([`Rankings`]) and each rated miner's snapshot ([`RatingHistory`]) are stored.
//!
//! ## Panics
//! No call or hook panics. Only genesis building asserts that its configuration is valid, so a
//! bad chain spec fails when the chain is created, never later.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod assignment;
pub mod migrations;
pub mod ratings;
pub mod scoring;
pub mod types;
mod view;
pub mod weights;
mod window;

pub use types::*;
pub use weights::WeightInfo;

use sp_runtime::FixedI64;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::Precision,
			BuildGenesisConfig,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{Saturating, UniqueSaturatedInto};

	/// The balance type of the deposit currency.
	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	/// A libp2p peer id, as bytes.
	pub type PeerId<T> = BoundedVec<u8, <T as Config>::MaxPeerIdLen>;
	/// One multiaddr, as bytes (binary or text form; the pallet does not parse it).
	pub type Multiaddr<T> = BoundedVec<u8, <T as Config>::MaxMultiaddrLen>;
	/// The multiaddrs a miner serves payloads on.
	pub type Multiaddrs<T> = BoundedVec<Multiaddr<T>, <T as Config>::MaxMultiaddrs>;
	/// One validator's scores of a window: a score per assigned miner.
	pub type ScoreList<T> =
		BoundedVec<(<T as frame_system::Config>::AccountId, MinerScore), <T as Config>::MaxMiners>;
	/// The validators a seed assigns from.
	pub type ValidatorList<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxValidators>;
	/// A window's seed as stored.
	pub type StoredWindowSeed<T> = WindowSeed<ValidatorList<T>, BlockNumberFor<T>>;
	/// A set of miners of one window.
	pub type MinerList<T> =
		BoundedVec<<T as frame_system::Config>::AccountId, <T as Config>::MaxMiners>;
	/// The ranking of one closed window.
	pub type Ranking<T> =
		BoundedVec<RankEntry<<T as frame_system::Config>::AccountId>, <T as Config>::MaxMiners>;

	/// A registered miner: where to fetch its payloads, and the deposit it holds.
	#[derive(
		Encode,
		Decode,
		CloneNoBound,
		PartialEqNoBound,
		EqNoBound,
		RuntimeDebugNoBound,
		TypeInfo,
		MaxEncodedLen,
	)]
	#[scale_info(skip_type_params(T))]
	#[codec(mel_bound())]
	pub struct MinerInfo<T: Config> {
		/// libp2p peer id.
		pub peer_id: PeerId<T>,
		/// Addresses the miner listens on.
		pub multiaddrs: Multiaddrs<T>,
		/// Deposit held; released in full on deregistration.
		pub deposit: BalanceOf<T>,
		/// Block of registration.
		pub registered_at: BlockNumberFor<T>,
	}

	/// The storage layout's version: 1 added the run configuration's aggregation rule
	/// ([`crate::migrations::v1`]); 2 committed and revealed scores with their losses, seeds,
	/// the quorum and the canonical θ ([`crate::migrations::v2`]).
	pub const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The overarching event type.
		type RuntimeEvent: From<Event<Self>> + IsType<<Self as frame_system::Config>::RuntimeEvent>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The currency miner deposits are held in.
		type Currency: MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>;
		/// Deposit a miner holds while registered.
		#[pallet::constant]
		type MinerDeposit: Get<BalanceOf<Self>>;
		/// Who adds and removes validators and changes the run configuration.
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Most registered miners, and so most commitments or scores per window.
		#[pallet::constant]
		type MaxMiners: Get<u32>;
		/// Most validators, and so most score submissions per window.
		#[pallet::constant]
		type MaxValidators: Get<u32>;
		/// Longest peer id, in bytes.
		#[pallet::constant]
		type MaxPeerIdLen: Get<u32>;
		/// Most multiaddrs per miner.
		#[pallet::constant]
		type MaxMultiaddrs: Get<u32>;
		/// Longest multiaddr, in bytes.
		#[pallet::constant]
		type MaxMultiaddrLen: Get<u32>;
		/// Largest payload a miner may commit to, in bytes.
		#[pallet::constant]
		type MaxPayloadSize: Get<u64>;
		/// Largest checkpoint that may be announced, in bytes.
		#[pallet::constant]
		type MaxCheckpointSize: Get<u64>;
		/// Closed windows whose records and rating history are kept before pruning.
		#[pallet::constant]
		type HistoryWindows: Get<u32>;
		/// Weights of this pallet's calls and hook, generated by benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a registered miner.
		#[codec(index = 0)]
		MinerDeposit,
	}

	/// Blocks per window, fixed at genesis from the run configuration (`window = block / this`).
	#[pallet::storage]
	pub type BlocksPerWindow<T> = StorageValue<_, u32, ValueQuery, DefaultBlocksPerWindow>;

	/// The default of [`BlocksPerWindow`] before genesis sets it.
	#[pallet::type_value]
	pub fn DefaultBlocksPerWindow() -> u32 {
		DEFAULT_BLOCKS_PER_WINDOW
	}

	/// The run configuration in force.
	#[pallet::storage]
	pub type CurrentRunConfig<T> = StorageValue<_, RunConfig, ValueQuery>;

	/// A run configuration scheduled to take effect at the first block of a future window.
	#[pallet::storage]
	pub type PendingRunConfig<T> = StorageValue<_, ScheduledRunConfig, OptionQuery>;

	/// Registered miners (at most `MaxMiners`).
	#[pallet::storage]
	pub type Miners<T: Config> = CountedStorageMap<_, Blake2_128Concat, T::AccountId, MinerInfo<T>>;

	/// Rating, moving averages and final weight of every registered miner.
	#[pallet::storage]
	pub type MinerStates<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, MinerState>;

	/// The validators, sorted by account id (at most `MaxValidators`).
	#[pallet::storage]
	pub type Validators<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// Commitments by window and miner (at most `MaxMiners` per window).
	#[pallet::storage]
	pub type Commitments<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Window,
		Blake2_128Concat,
		T::AccountId,
		Commitment<BlockNumberFor<T>>,
	>;

	/// Checkpoint announcements by window and announcer (at most `MaxMiners + MaxValidators`).
	#[pallet::storage]
	pub type Checkpoints<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Window,
		Blake2_128Concat,
		T::AccountId,
		CheckpointAnnouncement<BlockNumberFor<T>>,
	>;

	/// Each validator's score commitment by scored window (at most `MaxValidators` per window),
	/// marked when revealed.
	#[pallet::storage]
	pub type ScoreCommits<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Window,
		Blake2_128Concat,
		T::AccountId,
		ScoreCommit<BlockNumberFor<T>>,
	>;

	/// Each validator's revealed scores by scored window (at most one per score commitment).
	#[pallet::storage]
	pub type Scores<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		Window,
		Blake2_128Concat,
		T::AccountId,
		ScoreReport<ScoreList<T>>,
	>;

	/// Each window's seed and the validator set its scorers are drawn from, stored at the first
	/// block of the next window ([`crate::assignment`]).
	#[pallet::storage]
	pub type WindowSeeds<T: Config> = StorageMap<_, Twox64Concat, Window, StoredWindowSeed<T>>;

	/// What each closed window decided besides its ranking: the canonical θ and the committers
	/// below quorum.
	#[pallet::storage]
	pub type WindowOutcomes<T: Config> =
		StorageMap<_, Twox64Concat, Window, WindowOutcome<MinerList<T>>>;

	/// How many commitments, announcements, score commitments and reveals each window holds.
	#[pallet::storage]
	pub type WindowTallies<T> = StorageMap<_, Twox64Concat, Window, WindowTally, ValueQuery>;

	/// The aggregation set of a window: its top `peers_per_aggregate` committers by ordinal at the
	/// first block of the next window, ordered by account id. Every peer applies these payloads.
	#[pallet::storage]
	pub type AggregationSets<T: Config> = StorageMap<_, Twox64Concat, Window, MinerList<T>>;

	/// The ranking of a closed window, ordered by rank then account id.
	#[pallet::storage]
	pub type Rankings<T: Config> = StorageMap<_, Twox64Concat, Window, Ranking<T>>;

	/// Each rated miner's standing after the close of a window.
	#[pallet::storage]
	pub type RatingHistory<T: Config> =
		StorageDoubleMap<_, Twox64Concat, Window, Blake2_128Concat, T::AccountId, RatingSnapshot>;

	/// The next windows the hook selects, closes and prunes.
	#[pallet::storage]
	pub type Cursor<T> = StorageValue<_, HookCursor, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The run configuration from block 0; its `blocks_per_window` is fixed forever.
		pub run_config: RunConfig,
		/// Validators from block 0 (usually none: `AdminOrigin` adds them).
		pub validators: Vec<T::AccountId>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			assert!(
				self.run_config.is_valid(T::MaxMiners::get()),
				"pallet-gauntlet genesis: invalid run configuration {:?}",
				self.run_config
			);
			let mut validators = self.validators.clone();
			validators.sort();
			validators.dedup();
			let validators = BoundedVec::<_, T::MaxValidators>::try_from(validators)
				.unwrap_or_else(|_| panic!("pallet-gauntlet genesis: more than MaxValidators"));
			BlocksPerWindow::<T>::put(self.run_config.blocks_per_window);
			CurrentRunConfig::<T>::put(self.run_config.clone());
			Validators::<T>::put(validators);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A miner registered and its deposit was held.
		MinerRegistered { miner: T::AccountId, peer_id: PeerId<T>, deposit: BalanceOf<T> },
		/// A miner changed its peer id or multiaddrs.
		EndpointUpdated { miner: T::AccountId, peer_id: PeerId<T> },
		/// A miner deregistered and its deposit was released.
		MinerDeregistered { miner: T::AccountId, deposit: BalanceOf<T> },
		/// A validator was added.
		ValidatorAdded { validator: T::AccountId },
		/// A validator was removed.
		ValidatorRemoved { validator: T::AccountId },
		/// A miner committed to a payload for a window.
		Committed { miner: T::AccountId, window: Window, payload_hash: [u8; 32], payload_size: u64 },
		/// A validator or miner announced a checkpoint it serves.
		CheckpointAnnounced {
			announcer: T::AccountId,
			window: Window,
			checkpoint_hash: [u8; 32],
			checkpoint_size: u64,
		},
		/// A validator committed to its scores of a window.
		ScoresCommitted { validator: T::AccountId, window: Window, commitment: [u8; 32] },
		/// A validator revealed its scores of a window, evaluated against θ `theta_hash`.
		ScoresRevealed {
			validator: T::AccountId,
			window: Window,
			miners: u32,
			theta_hash: [u8; 32],
		},
		/// The seed of a window was drawn, and with it every committer's scorers.
		SeedDrawn { window: Window, seed: [u8; 32], validators: u32 },
		/// A run configuration was scheduled (replacing `replaced`, a pending version, if any).
		RunConfigScheduled { version: u32, effective_window: Window, replaced: Option<u32> },
		/// A scheduled run configuration took effect.
		RunConfigActivated { version: u32, window: Window },
		/// The aggregation set of a window was selected.
		AggregationSetSelected { window: Window, miners: MinerList<T> },
		/// A window was closed: `rated` miners got a rating update, `below_quorum` committers got
		/// too few revealed scores; `canonical_theta` is the θ a majority evaluated against.
		WindowClosed {
			window: Window,
			rated: u32,
			below_quorum: u32,
			canonical_theta: Option<[u8; 32]>,
		},
		/// The rating maths failed for a window; ratings were left unchanged (should not happen).
		RatingFailed { window: Window },
		/// The records of a window were deleted.
		WindowPruned { window: Window },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The caller is not a registered miner.
		NotRegistered,
		/// The caller is already a registered miner.
		AlreadyRegistered,
		/// `MaxMiners` miners are registered.
		TooManyMiners,
		/// The peer id is empty.
		EmptyPeerId,
		/// No multiaddr, or an empty one, was given.
		BadMultiaddrs,
		/// The account is not a validator.
		NotValidator,
		/// The account is already a validator.
		AlreadyValidator,
		/// `MaxValidators` validators exist.
		TooManyValidators,
		/// The commitment or announcement names a window other than the current one.
		WrongWindow,
		/// The committed size is zero or above `MaxPayloadSize`.
		BadPayloadSize,
		/// The miner already committed in this window; a commitment cannot be replaced, since
		/// validators may already have fetched and verified the first one.
		AlreadyCommitted,
		/// The window already holds `MaxMiners` commitments.
		TooManyCommitments,
		/// Only validators and registered miners may announce checkpoints.
		NotParticipant,
		/// The checkpoint size is zero or above `MaxCheckpointSize`.
		BadCheckpointSize,
		/// The caller already announced a checkpoint in this window.
		AlreadyAnnounced,
		/// The window already holds `MaxMiners + MaxValidators` announcements.
		TooManyAnnouncements,
		/// Score commitments must be for the window just closed: the current window minus one.
		WrongCommitWindow,
		/// Reveals must be for the window two before the current one.
		WrongRevealWindow,
		/// The validator already committed to scores for this window.
		AlreadyCommittedScores,
		/// The window already holds `MaxValidators` score commitments.
		TooManyScoreCommits,
		/// The validator did not commit to scores for this window.
		NoScoreCommitment,
		/// The validator already revealed its scores for this window.
		AlreadyRevealed,
		/// The revealed scores, θ hash and salt do not hash to the validator's commitment.
		CommitmentMismatch,
		/// The window has no seed, so no assignment (windows before storage version 2).
		NoSeed,
		/// A scored miner is not assigned to this validator in this window.
		NotAssigned,
		/// The revealed list is empty.
		EmptyScores,
		/// A miner appears twice in the submission.
		DuplicateMiner,
		/// A scored miner did not commit in the scored window.
		MinerDidNotCommit,
		/// A validator may not score itself.
		CannotScoreSelf,
		/// A gradient score is above 1 or below −1000.
		GradientScoreOutOfRange,
		/// An own-data improvement is above 1 or below −1000.
		OwnImprovementOutOfRange,
		/// A binary indicator is neither +1 nor −1.
		BadBinaryIndicator,
		/// A sync score is outside [0, 1].
		SyncScoreOutOfRange,
		/// A recorded loss is negative or above `MAX_LOSS`.
		LossOutOfRange,
		/// The effective window of a new run configuration is not in the future.
		EffectiveWindowNotInFuture,
		/// A new run configuration changes `blocks_per_window`, which would renumber windows.
		BlocksPerWindowImmutable,
		/// A new run configuration does not increase `version`.
		VersionNotIncreased,
		/// A run configuration field is out of range (see `RunConfig::is_valid`).
		InvalidRunConfig,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Commit to the payload this miner serves for the current `window`: its BLAKE3 hash
		/// (32 bytes) and exact size. One commitment per miner per window; it cannot be replaced.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::commit())]
		pub fn commit(
			origin: OriginFor<T>,
			window: Window,
			payload_hash: [u8; 32],
			payload_size: u64,
		) -> DispatchResult {
			let miner = ensure_signed(origin)?;
			let mut state = MinerStates::<T>::get(&miner).ok_or(Error::<T>::NotRegistered)?;
			ensure!(window == Self::current_window(), Error::<T>::WrongWindow);
			ensure!(
				payload_size > 0 && payload_size <= T::MaxPayloadSize::get(),
				Error::<T>::BadPayloadSize
			);
			ensure!(!Commitments::<T>::contains_key(window, &miner), Error::<T>::AlreadyCommitted);
			let mut tally = WindowTallies::<T>::get(window);
			ensure!(tally.commitments < T::MaxMiners::get(), Error::<T>::TooManyCommitments);

			tally.commitments.saturating_inc();
			state.last_committed = Some(window);
			let committed_at = frame_system::Pallet::<T>::block_number();
			Commitments::<T>::insert(
				window,
				&miner,
				Commitment { payload_hash, payload_size, committed_at },
			);
			WindowTallies::<T>::insert(window, tally);
			MinerStates::<T>::insert(&miner, state);
			Self::deposit_event(Event::Committed { miner, window, payload_hash, payload_size });
			Ok(())
		}

		/// Register the caller as a miner serving payloads at `peer_id` / `multiaddrs`, holding
		/// `MinerDeposit`. The miner starts at μ = 25, σ = 25/3, binary moving average 0.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			peer_id: PeerId<T>,
			multiaddrs: Multiaddrs<T>,
		) -> DispatchResult {
			let miner = ensure_signed(origin)?;
			ensure!(!Miners::<T>::contains_key(&miner), Error::<T>::AlreadyRegistered);
			ensure!(Miners::<T>::count() < T::MaxMiners::get(), Error::<T>::TooManyMiners);
			Self::ensure_endpoint(&peer_id, &multiaddrs)?;
			let deposit = T::MinerDeposit::get();

			T::Currency::hold(&HoldReason::MinerDeposit.into(), &miner, deposit)?;
			let registered_at = frame_system::Pallet::<T>::block_number();
			Miners::<T>::insert(
				&miner,
				MinerInfo { peer_id: peer_id.clone(), multiaddrs, deposit, registered_at },
			);
			MinerStates::<T>::insert(&miner, MinerState::default());
			Self::deposit_event(Event::MinerRegistered { miner, peer_id, deposit });
			Ok(())
		}

		/// Replace the caller's peer id and multiaddrs.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_endpoint())]
		pub fn update_endpoint(
			origin: OriginFor<T>,
			peer_id: PeerId<T>,
			multiaddrs: Multiaddrs<T>,
		) -> DispatchResult {
			let miner = ensure_signed(origin)?;
			let mut info = Miners::<T>::get(&miner).ok_or(Error::<T>::NotRegistered)?;
			Self::ensure_endpoint(&peer_id, &multiaddrs)?;

			info.peer_id = peer_id.clone();
			info.multiaddrs = multiaddrs;
			Miners::<T>::insert(&miner, info);
			Self::deposit_event(Event::EndpointUpdated { miner, peer_id });
			Ok(())
		}

		/// Deregister the caller and release its deposit. Its rating is dropped (a later
		/// registration starts afresh); its history stays until pruned. Commitments of windows
		/// not yet closed stay on record but are no longer rated.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let miner = ensure_signed(origin)?;
			let info = Miners::<T>::get(&miner).ok_or(Error::<T>::NotRegistered)?;

			let deposit = T::Currency::release(
				&HoldReason::MinerDeposit.into(),
				&miner,
				info.deposit,
				Precision::BestEffort,
			)?;
			Miners::<T>::remove(&miner);
			MinerStates::<T>::remove(&miner);
			Self::deposit_event(Event::MinerDeregistered { miner, deposit });
			Ok(())
		}

		/// Add a validator (`AdminOrigin`).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::add_validator())]
		pub fn add_validator(origin: OriginFor<T>, validator: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			let mut validators = Validators::<T>::get();
			let Err(at) = validators.binary_search(&validator) else {
				return Err(Error::<T>::AlreadyValidator.into());
			};
			validators
				.try_insert(at, validator.clone())
				.map_err(|_| Error::<T>::TooManyValidators)?;

			Validators::<T>::put(validators);
			Self::deposit_event(Event::ValidatorAdded { validator });
			Ok(())
		}

		/// Remove a validator (`AdminOrigin`). Scores it already revealed still count; it can no
		/// longer commit or reveal.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::remove_validator())]
		pub fn remove_validator(origin: OriginFor<T>, validator: T::AccountId) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			let mut validators = Validators::<T>::get();
			let at = validators.binary_search(&validator).map_err(|_| Error::<T>::NotValidator)?;

			validators.remove(at);
			Validators::<T>::put(validators);
			Self::deposit_event(Event::ValidatorRemoved { validator });
			Ok(())
		}

		/// Announce, for the current `window`, a checkpoint (model weights) the caller serves to
		/// late joiners: its BLAKE3 hash and exact size. Validators and registered miners
		/// only; one announcement per account per window.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::announce_checkpoint())]
		pub fn announce_checkpoint(
			origin: OriginFor<T>,
			window: Window,
			checkpoint_hash: [u8; 32],
			checkpoint_size: u64,
		) -> DispatchResult {
			let announcer = ensure_signed(origin)?;
			ensure!(
				Miners::<T>::contains_key(&announcer) || Self::is_validator(&announcer),
				Error::<T>::NotParticipant
			);
			ensure!(window == Self::current_window(), Error::<T>::WrongWindow);
			ensure!(
				checkpoint_size > 0 && checkpoint_size <= T::MaxCheckpointSize::get(),
				Error::<T>::BadCheckpointSize
			);
			ensure!(
				!Checkpoints::<T>::contains_key(window, &announcer),
				Error::<T>::AlreadyAnnounced
			);
			let mut tally = WindowTallies::<T>::get(window);
			ensure!(
				tally.checkpoints < Self::max_announcements_per_window(),
				Error::<T>::TooManyAnnouncements
			);

			tally.checkpoints.saturating_inc();
			let announced_at = frame_system::Pallet::<T>::block_number();
			Checkpoints::<T>::insert(
				window,
				&announcer,
				CheckpointAnnouncement { checkpoint_hash, checkpoint_size, announced_at },
			);
			WindowTallies::<T>::insert(window, tally);
			Self::deposit_event(Event::CheckpointAnnounced {
				announcer,
				window,
				checkpoint_hash,
				checkpoint_size,
			});
			Ok(())
		}

		/// Commit to this validator's scores of `window`, the window just closed (the current
		/// window minus one): `commitment` is [`assignment::score_commitment`] of what it will
		/// reveal in the next window. One commitment per validator per window, never replaced.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::commit_scores())]
		pub fn commit_scores(
			origin: OriginFor<T>,
			window: Window,
			commitment: [u8; 32],
		) -> DispatchResult {
			let validator = ensure_signed(origin)?;
			ensure!(Self::is_validator(&validator), Error::<T>::NotValidator);
			ensure!(
				Self::current_window().checked_sub(1) == Some(window),
				Error::<T>::WrongCommitWindow
			);
			ensure!(
				!ScoreCommits::<T>::contains_key(window, &validator),
				Error::<T>::AlreadyCommittedScores
			);
			let mut tally = WindowTallies::<T>::get(window);
			ensure!(tally.score_commits < T::MaxValidators::get(), Error::<T>::TooManyScoreCommits);

			tally.score_commits.saturating_inc();
			let committed_at = frame_system::Pallet::<T>::block_number();
			ScoreCommits::<T>::insert(
				window,
				&validator,
				ScoreCommit { commitment, committed_at, revealed_at: None },
			);
			WindowTallies::<T>::insert(window, tally);
			Self::deposit_event(Event::ScoresCommitted { validator, window, commitment });
			Ok(())
		}

		/// Reveal this validator's scores of `window` (the current window minus two): the θ hash
		/// it evaluated against, one score per miner, and the salt of its commitment. Accepted
		/// only if they hash to the commitment, every miner committed in `window` and is
		/// assigned to this validator by the window's seed, and every value is in range.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::reveal_scores(scores.len().unique_saturated_into()))]
		pub fn reveal_scores(
			origin: OriginFor<T>,
			window: Window,
			theta_hash: [u8; 32],
			scores: ScoreList<T>,
			salt: [u8; 32],
		) -> DispatchResult {
			let validator = ensure_signed(origin)?;
			ensure!(Self::is_validator(&validator), Error::<T>::NotValidator);
			ensure!(
				Self::current_window().checked_sub(2) == Some(window),
				Error::<T>::WrongRevealWindow
			);
			let mut commit =
				ScoreCommits::<T>::get(window, &validator).ok_or(Error::<T>::NoScoreCommitment)?;
			ensure!(commit.revealed_at.is_none(), Error::<T>::AlreadyRevealed);
			ensure!(
				assignment::score_commitment(window, &validator, &theta_hash, &scores, &salt)
					== commit.commitment,
				Error::<T>::CommitmentMismatch
			);
			ensure!(!scores.is_empty(), Error::<T>::EmptyScores);
			let seed = WindowSeeds::<T>::get(window).ok_or(Error::<T>::NoSeed)?;
			let mut miners: Vec<&T::AccountId> = scores.iter().map(|(m, _)| m).collect();
			miners.sort();
			ensure!(
				!miners.windows(2).any(|pair| matches!(pair, [a, b] if a == b)),
				Error::<T>::DuplicateMiner
			);
			for (miner, score) in scores.iter() {
				ensure!(miner != &validator, Error::<T>::CannotScoreSelf);
				ensure!(
					Commitments::<T>::contains_key(window, miner),
					Error::<T>::MinerDidNotCommit
				);
				ensure!(
					assignment::is_assigned(
						&seed.seed,
						&seed.validators,
						miner,
						&validator,
						seed.scorers_per_miner
					),
					Error::<T>::NotAssigned
				);
				Self::ensure_score_in_range(score)?;
			}

			let mut tally = WindowTallies::<T>::get(window);
			tally.score_reveals.saturating_inc();
			commit.revealed_at = Some(frame_system::Pallet::<T>::block_number());
			let miners = scores.len().unique_saturated_into();
			ScoreCommits::<T>::insert(window, &validator, commit);
			Scores::<T>::insert(window, &validator, ScoreReport { theta_hash, scores });
			WindowTallies::<T>::insert(window, tally);
			Self::deposit_event(Event::ScoresRevealed { validator, window, miners, theta_hash });
			Ok(())
		}

		/// Schedule `config` to take effect at the first block of `effective_window`, a future
		/// window (`AdminOrigin`). Its `version` must exceed the one in force, and its
		/// `blocks_per_window` must equal the genesis value. Replaces any pending config.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::set_run_config())]
		pub fn set_run_config(
			origin: OriginFor<T>,
			config: RunConfig,
			effective_window: Window,
		) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			ensure!(
				effective_window > Self::current_window(),
				Error::<T>::EffectiveWindowNotInFuture
			);
			ensure!(
				config.blocks_per_window == BlocksPerWindow::<T>::get(),
				Error::<T>::BlocksPerWindowImmutable
			);
			ensure!(
				config.version > CurrentRunConfig::<T>::get().version,
				Error::<T>::VersionNotIncreased
			);
			ensure!(config.is_valid(T::MaxMiners::get()), Error::<T>::InvalidRunConfig);

			let replaced = PendingRunConfig::<T>::get().map(|p| p.config.version);
			let version = config.version;
			PendingRunConfig::<T>::put(ScheduledRunConfig { effective_window, config });
			Self::deposit_event(Event::RunConfigScheduled { version, effective_window, replaced });
			Ok(())
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Closes, selects, activates and prunes windows (see the crate docs for the order).
		fn on_initialize(n: BlockNumberFor<T>) -> Weight {
			Self::advance_windows(n)
		}

		fn integrity_test() {
			assert!(T::MaxMiners::get() > 0, "MaxMiners must be positive");
			assert!(T::MaxValidators::get() > 0, "MaxValidators must be positive");
			assert!(T::HistoryWindows::get() > 0, "HistoryWindows must be positive");
			assert!(
				T::MaxMiners::get() as usize <= gauntlet_rating::MAX_PLAYERS,
				"the rating crate rates at most MAX_PLAYERS miners per window"
			);
			assert!(
				RunConfig::default().is_valid(T::MaxMiners::get()),
				"the default run config must be valid"
			);
		}
	}

	impl<T: Config> Pallet<T> {
		/// The window the chain is in now.
		pub fn current_window() -> Window {
			Self::window_of(frame_system::Pallet::<T>::block_number())
		}

		/// The window a block belongs to.
		pub fn window_of(block: BlockNumberFor<T>) -> Window {
			let per_window = u64::from(BlocksPerWindow::<T>::get());
			let block: u64 = block.unique_saturated_into();
			block.checked_div(per_window).unwrap_or_default()
		}

		/// Whether `who` is a validator.
		pub fn is_validator(who: &T::AccountId) -> bool {
			Validators::<T>::get().binary_search(who).is_ok()
		}

		/// Most checkpoint announcements one window holds.
		pub fn max_announcements_per_window() -> u32 {
			T::MaxMiners::get().saturating_add(T::MaxValidators::get())
		}

		fn ensure_endpoint(peer_id: &PeerId<T>, multiaddrs: &Multiaddrs<T>) -> DispatchResult {
			ensure!(!peer_id.is_empty(), Error::<T>::EmptyPeerId);
			ensure!(
				!multiaddrs.is_empty() && multiaddrs.iter().all(|a| !a.is_empty()),
				Error::<T>::BadMultiaddrs
			);
			Ok(())
		}

		fn ensure_score_in_range(score: &MinerScore) -> DispatchResult {
			let relative = MIN_RELATIVE_IMPROVEMENT..=MAX_RELATIVE_IMPROVEMENT;
			ensure!(relative.contains(&score.gradient_score), Error::<T>::GradientScoreOutOfRange);
			ensure!(
				relative.contains(&score.own_improvement),
				Error::<T>::OwnImprovementOutOfRange
			);
			ensure!(
				score.binary_indicator == 1 || score.binary_indicator == -1,
				Error::<T>::BadBinaryIndicator
			);
			let unit = FixedI64::from_inner(0)..=FixedI64::from_inner(ONE);
			ensure!(unit.contains(&score.sync_score), Error::<T>::SyncScoreOutOfRange);
			ensure!(score.losses.in_range(), Error::<T>::LossOutOfRange);
			Ok(())
		}
	}
}
