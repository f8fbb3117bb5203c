//! The values the pallet stores and returns: commitments, scores, ratings, the run configuration.
//!
//! Two fixed-point formats, each where it fits:
//! - Ratings (μ, σ, ordinal) are [`Fixed`], the `gauntlet-rating` crate's I64F64 (`bits / 2⁶⁴`,
//!   SCALE-encoded as an `i128`), stored exactly as the crate computes them.
//! - Every other fraction (scores, sync, moving averages, run-config reals) is [`FixedI64`]: an
//!   `i64` scaled by 10⁹, so a client converts with `inner as f64 / 1e9` and
//!   `(x * 1e9).round() as i64`.
//! - Final weights are [`Perbill`] (parts per billion).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::RuntimeDebug;
use sp_runtime::{
	traits::{One, Zero},
	FixedI64, FixedPointNumber, Perbill,
};

use serde::{Deserialize, Serialize};

use alloc::vec::Vec;
pub use gauntlet_rating::{Fixed, Rating};

/// A training window: `block_number / blocks_per_window`.
pub type Window = u64;

/// `1.0` in [`FixedI64`] inner units.
pub const ONE: i64 = 1_000_000_000;

/// Lowest gradient score or own-data improvement a validator may submit: −1000 (the loss grew a
/// thousandfold). Relative improvements cannot exceed `1.0` (loss after ≥ 0).
pub const MIN_RELATIVE_IMPROVEMENT: FixedI64 = FixedI64::from_inner(-1_000 * ONE);
/// Highest gradient score or own-data improvement: `1.0` (the loss dropped to zero).
pub const MAX_RELATIVE_IMPROVEMENT: FixedI64 = FixedI64::from_inner(ONE);
/// The score a copy-flagged or failed miner gets for ranking: below any valid gradient score.
pub const WORST_SCORE: FixedI64 = FixedI64::from_inner(-1_000 * ONE - 1);

/// What a miner promised about one payload: validators check fetched bytes against it.
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct Commitment<BlockNumber> {
	/// BLAKE3 (32 bytes) of the payload bytes.
	pub payload_hash: [u8; 32],
	/// Exact payload size in bytes.
	pub payload_size: u64,
	/// Block in which the commitment was recorded.
	pub committed_at: BlockNumber,
}

/// A checkpoint a validator or miner holds and serves, so late joiners can fetch and verify it.
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct CheckpointAnnouncement<BlockNumber> {
	/// BLAKE3 (32 bytes) of the checkpoint bytes.
	pub checkpoint_hash: [u8; 32],
	/// Exact checkpoint size in bytes.
	pub checkpoint_size: u64,
	/// Block in which the announcement was recorded.
	pub announced_at: BlockNumber,
}

/// Why a validator could not evaluate a miner's payload (the score is then a failure).
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	Ord,
	PartialOrd,
	RuntimeDebug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum FailureReason {
	/// The miner did not serve the committed payload.
	MissingPayload,
	/// The fetched bytes do not hash to the committed hash (or have another size).
	HashMismatch,
	/// The bytes match the commitment but do not decode as a payload of this run.
	Malformed,
}

/// Highest loss a validator may record: a cross-entropy far above any model's (ln of a 50k
/// vocabulary is 10.8), so the bound only keeps nonsense out of storage.
pub const MAX_LOSS: FixedI64 = FixedI64::from_inner(1_000 * ONE);

/// The four mean losses a score is computed from, so anyone can recompute it (each in
/// [0, [`MAX_LOSS`]]; all zero for a failure, and in records migrated from storage version 1).
#[derive(
	Clone,
	Copy,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	RuntimeDebug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct EvaluationLosses {
	/// On the miner's own pages, on θ.
	pub own_before: FixedI64,
	/// On the miner's own pages, after the trial step with its payload.
	pub own_after: FixedI64,
	/// On the window's random pages, on θ.
	pub random_before: FixedI64,
	/// On the window's random pages, after the trial step.
	pub random_after: FixedI64,
}

impl EvaluationLosses {
	/// Whether every loss is in [0, [`MAX_LOSS`]].
	pub fn in_range(&self) -> bool {
		[self.own_before, self.own_after, self.random_before, self.random_after]
			.iter()
			.all(|l| l.into_inner() >= 0 && *l <= MAX_LOSS)
	}
}

/// One validator's measurements of one miner in one window (Gauntlet, see the spec).
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	RuntimeDebug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct MinerScore {
	/// `(loss_before_random − loss_after_random) / loss_before_random`, in
	/// [`MIN_RELATIVE_IMPROVEMENT`, `MAX_RELATIVE_IMPROVEMENT`]. This is what miners are ranked by.
	pub gradient_score: FixedI64,
	/// The same relative improvement on the miner's own assigned data, same range.
	pub own_improvement: FixedI64,
	/// +1 if the improvement on own data exceeds that on random data, else −1.
	pub binary_indicator: i8,
	/// Sync score `max(0, 1 − min(steps_behind, 5)/5)^2.5`, in [0, 1].
	pub sync_score: FixedI64,
	/// The payload's top-k indices overlap another miner's above the copy threshold.
	pub copy_suspected: bool,
	/// Set when the payload could not be evaluated; the measurements are then meaningless.
	pub failure: Option<FailureReason>,
	/// The losses the scores above were computed from.
	pub losses: EvaluationLosses,
}

impl MinerScore {
	/// The value this score contributes to ranking: the gradient score, or [`WORST_SCORE`] when
	/// the validator flagged the payload as copied or failed.
	pub fn ranking_score(&self) -> FixedI64 {
		if self.copy_suspected || self.failure.is_some() {
			WORST_SCORE
		} else {
			self.gradient_score
		}
	}
}

/// Everything the chain tracks about a registered miner's standing.
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct MinerState {
	/// Current skill rating (μ = 25, σ = 25/3 for a new miner).
	pub rating: Rating,
	/// Exponential moving average of the binary indicator (α from the run config), in [−1, 1].
	pub binary_ma: FixedI64,
	/// Median sync score of the last window the miner was rated in.
	pub sync: FixedI64,
	/// Share of the total weight after the last window close (power-normalised; sums to 1).
	pub final_weight: Perbill,
	/// The last window this miner committed in.
	pub last_committed: Option<Window>,
	/// The last window this miner was rated in.
	pub last_rated: Option<Window>,
}

impl Default for MinerState {
	fn default() -> Self {
		Self {
			rating: Rating::default(),
			binary_ma: FixedI64::zero(),
			sync: FixedI64::zero(),
			final_weight: Perbill::zero(),
			last_committed: None,
			last_rated: None,
		}
	}
}

/// A miner's standing right after the close of one window (per-miner rating history).
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct RatingSnapshot {
	/// The window whose close produced this snapshot.
	pub window: Window,
	/// μ after the update.
	pub mu: Fixed,
	/// σ after the update.
	pub sigma: Fixed,
	/// `μ − 3σ` after the update.
	pub ordinal: Fixed,
	/// Binary-indicator moving average after the update.
	pub binary_ma: FixedI64,
	/// Median sync score of this window.
	pub sync: FixedI64,
	/// Final weight after this close.
	pub final_weight: Perbill,
}

/// One miner's line in a closed window's ranking.
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct RankEntry<AccountId> {
	/// The miner.
	pub miner: AccountId,
	/// 1-based rank; tied miners share the lowest rank ("1224" ranking).
	pub rank: u32,
	/// Median over validators of the ranking score ([`MinerScore::ranking_score`]).
	pub score: FixedI64,
	/// Median gradient score (flags ignored).
	pub gradient_score: FixedI64,
	/// Median own-data improvement.
	pub own_improvement: FixedI64,
	/// Median binary indicator (±1).
	pub binary_indicator: i8,
	/// Median sync score.
	pub sync_score: FixedI64,
	/// How many validators scored the miner.
	pub validators: u32,
	/// How many of them flagged a copy.
	pub copy_flags: u32,
	/// How many of them reported a failure.
	pub failures: u32,
	/// μ after this window's update.
	pub mu: Fixed,
	/// σ after this window's update.
	pub sigma: Fixed,
	/// Final weight after this window's close.
	pub final_weight: Perbill,
}

/// How many entries each per-window map holds, so every window stays bounded by construction.
#[derive(
	Clone, Copy, Default, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen,
)]
pub struct WindowTally {
	/// Commitments recorded (at most `MaxMiners`).
	pub commitments: u32,
	/// Checkpoint announcements recorded (at most `MaxMiners + MaxValidators`).
	pub checkpoints: u32,
	/// Score commitments recorded (at most `MaxValidators`).
	pub score_commits: u32,
	/// Score commitments revealed (at most `score_commits`).
	pub score_reveals: u32,
}

/// Where the per-block hook stands: the next window to give an aggregation set, to close, to prune.
#[derive(
	Clone, Copy, Default, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen,
)]
pub struct HookCursor {
	/// Next window whose aggregation set and seed are drawn (at the first block of the window
	/// after it).
	pub next_select: Window,
	/// Next window to close (at the first block of the window three after it).
	pub next_close: Window,
	/// Oldest window whose data is still stored.
	pub next_prune: Window,
}

/// A run configuration scheduled by `set_run_config`, waiting for its first window.
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct ScheduledRunConfig {
	/// The window from whose first block the config is in force.
	pub effective_window: Window,
	/// The config.
	pub config: RunConfig,
}

/// How the outer step combines the aggregation set's payloads, after each is clipped to the
/// set's median norm (`offchain-trainer/src/sparseloco/aggregate.rs`).
#[derive(
	Clone,
	Copy,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Default,
	Eq,
	PartialEq,
	RuntimeDebug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum AggregationRule {
	/// Per position, the mean over the peers that kept it (Templar's `scatter_reduce` mean): the
	/// step does not grow with the number of peers.
	#[default]
	Mean,
	/// Per position, the sum over the peers (this chain's rule before storage version 1; kept so
	/// such runs can be continued and compared).
	Sum,
}

/// The training hyperparameters every peer of the run must share. Peers read it from chain
/// state and refuse to mix versions.
#[derive(
	Clone,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Eq,
	PartialEq,
	RuntimeDebug,
	TypeInfo,
	MaxEncodedLen,
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunConfig {
	/// Version of this config; every change must increase it.
	pub version: u32,
	/// Blake2-256 of the model configuration (architecture, sequence length, vocabulary), as
	/// `gauntlet-trainer` computes it; all zeros: not checked.
	pub model_config_hash: [u8; 32],
	/// Blake2-256 of the data manifest (tokenizer and shard hashes); all zeros: not checked.
	pub data_manifest_hash: [u8; 32],
	/// The run seed: θ₀ and every peer's page assignment derive from it.
	pub run_seed: u64,
	/// Inner optimizer steps per window, H (Templar: 30).
	pub inner_steps: u32,
	/// Entries kept per chunk by top-k (Templar: 64).
	pub top_k: u32,
	/// Target chunk side: a dimension is split by its largest divisor ≤ this (Templar: 64).
	pub chunk_target: u32,
	/// Quantization bins (Templar: 4, i.e. 2 bits).
	pub quant_bins: u32,
	/// Quantization range in standard deviations (Templar: 6).
	pub quant_range: FixedI64,
	/// Error-feedback decay β (Templar: 0.95), in [0, 1].
	pub error_feedback_beta: FixedI64,
	/// Outer SGD learning rate η (Templar: 0.4 in its final hparams, 1.0 earlier).
	pub outer_learning_rate: FixedI64,
	/// Step of the validator's trial update, as a factor of the outer learning rate (Templar: 0.2).
	pub eval_lr_factor: FixedI64,
	/// Batches a validator evaluates on the miner's own data.
	pub eval_own_batches: u32,
	/// Batches a validator evaluates on random data.
	pub eval_random_batches: u32,
	/// Validators the chain assigns to score each committed miner (capped by the validators
	/// there are when the window's seed is drawn).
	pub scorers_per_miner: u32,
	/// Revealed scores from assigned validators a miner needs to be rated in a window (capped by
	/// its assigned validators): one validator alone cannot decide a result.
	pub min_scorers: u32,
	/// Top-k overlap above which a payload is flagged as copied (Templar: 0.4), in [0, 1].
	pub copy_overlap_threshold: FixedI64,
	/// Payloads aggregated per window: the size of the aggregation set (Templar: 20).
	pub peers_per_aggregate: u32,
	/// Blocks per window. Fixed at genesis: `set_run_config` cannot change it.
	pub blocks_per_window: u32,
	/// Plackett-Luce β (Templar: 7).
	pub rating_beta: FixedI64,
	/// Plackett-Luce τ, the per-game uncertainty growth (Templar: 0.1).
	pub rating_tau: FixedI64,
	/// α of the binary-indicator moving average (Templar: 0.05), in (0, 1].
	pub binary_ma_alpha: FixedI64,
	/// How the outer step combines the set's payloads (Templar: the per-position mean).
	pub aggregation_rule: AggregationRule,
}

/// Templar's blocks per window (125 blocks of 12 s ≈ 25 min): the default of a production chain.
pub const DEFAULT_BLOCKS_PER_WINDOW: u32 = 125;

impl Default for RunConfig {
	/// Templar's hyperparameters (hparams.json of the Covenant-72B run).
	fn default() -> Self {
		Self {
			version: 1,
			model_config_hash: [0; 32],
			data_manifest_hash: [0; 32],
			run_seed: 0,
			inner_steps: 30,
			top_k: 64,
			chunk_target: 64,
			quant_bins: 4,
			quant_range: FixedI64::from_inner(6 * ONE),
			error_feedback_beta: FixedI64::from_inner(950_000_000),
			// Templar's final value, and the best of those tried with the mean rule at 20 peers
			// (docs/simulation.md: 0.4 within 5.6% of DDP, 1.0 far worse).
			outer_learning_rate: FixedI64::from_inner(400_000_000),
			eval_lr_factor: FixedI64::from_inner(200_000_000),
			eval_own_batches: 4,
			eval_random_batches: 4,
			scorers_per_miner: 3,
			min_scorers: 2,
			copy_overlap_threshold: FixedI64::from_inner(400_000_000),
			peers_per_aggregate: 20,
			blocks_per_window: DEFAULT_BLOCKS_PER_WINDOW,
			rating_beta: FixedI64::from_inner(7 * ONE),
			rating_tau: FixedI64::from_inner(100_000_000),
			binary_ma_alpha: FixedI64::from_inner(50_000_000),
			aggregation_rule: AggregationRule::Mean,
		}
	}
}

impl RunConfig {
	/// Whether every field is in its range: counts positive, a quorum no larger than the
	/// scorers, fractions in [0, 1], β in (0, 1000],
	/// τ in [0, 100], and at most `max_peers` peers per aggregate.
	pub fn is_valid(&self, max_peers: u32) -> bool {
		let zero = FixedI64::zero();
		let one = FixedI64::one();
		let in_unit = |x: FixedI64| x >= zero && x <= one;
		self.blocks_per_window > 0
			&& self.inner_steps > 0
			&& self.top_k >= 2
			&& self.chunk_target > 0
			&& self.quant_bins >= 2
			&& self.quant_range > zero
			&& in_unit(self.error_feedback_beta)
			&& self.outer_learning_rate > zero
			&& self.eval_lr_factor > zero
			&& self.eval_own_batches > 0
			&& self.eval_random_batches > 0
			&& self.min_scorers > 0
			&& self.min_scorers <= self.scorers_per_miner
			&& in_unit(self.copy_overlap_threshold)
			&& self.peers_per_aggregate > 0
			&& self.peers_per_aggregate <= max_peers
			&& self.rating_beta > zero
			&& self.rating_beta <= FixedI64::saturating_from_integer(1000)
			&& self.rating_tau >= zero
			&& self.rating_tau <= FixedI64::saturating_from_integer(100)
			&& self.binary_ma_alpha > zero
			&& self.binary_ma_alpha <= one
	}
}

/// One line of the leaderboard (runtime API).
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo)]
pub struct LeaderboardEntry<AccountId> {
	/// The miner.
	pub miner: AccountId,
	/// Mean skill μ.
	pub mu: Fixed,
	/// Uncertainty σ.
	pub sigma: Fixed,
	/// `μ − 3σ`.
	pub ordinal: Fixed,
	/// Binary-indicator moving average.
	pub binary_ma: FixedI64,
	/// Sync score of the last rated window.
	pub sync: FixedI64,
	/// Final weight after the last window close.
	pub final_weight: Perbill,
	/// The last window the miner committed in.
	pub last_committed: Option<Window>,
}

/// Everything the chain holds about one window (runtime API).
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo)]
pub struct WindowRecord<AccountId, BlockNumber> {
	/// The window.
	pub window: Window,
	/// Every commitment, ordered by miner account id.
	pub commitments: Vec<(AccountId, Commitment<BlockNumber>)>,
	/// Every checkpoint announcement, ordered by account id.
	pub checkpoints: Vec<(AccountId, CheckpointAnnouncement<BlockNumber>)>,
	/// The seed drawn at the first block of the next window, with the validator set and quorum
	/// it assigns scorers from.
	pub seed: Option<WindowSeed<Vec<AccountId>, BlockNumber>>,
	/// Each committed miner's assigned validators (empty before the seed is drawn), ordered by
	/// miner account id.
	pub assignments: Vec<(AccountId, Vec<AccountId>)>,
	/// Every validator's score commitment and whether it was revealed, ordered by validator.
	pub score_commits: Vec<(AccountId, ScoreCommit<BlockNumber>)>,
	/// Every revealed report, ordered by validator account id.
	pub scores: Vec<(AccountId, RevealedReport<AccountId>)>,
	/// The aggregation set (ordered by account id), once selected at the start of the next window.
	pub aggregation_set: Option<Vec<AccountId>>,
	/// The ranking (ordered by rank, then account id), once the window is closed.
	pub ranking: Option<Vec<RankEntry<AccountId>>>,
	/// The canonical θ and the miners below quorum, once the window is closed.
	pub outcome: Option<WindowOutcome<Vec<AccountId>>>,
}

/// A revealed report as the runtime API returns it.
pub type RevealedReport<AccountId> = ScoreReport<Vec<(AccountId, MinerScore)>>;

/// The randomness and the scorer set of one window, drawn at the first block of the next.
/// `Validators` is a bounded list in storage and a `Vec` in the runtime API.
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct WindowSeed<Validators, BlockNumber> {
	/// Blake2-256 of (window, the parent hash of the block that drew it).
	pub seed: [u8; 32],
	/// The block that drew it (the first block of the next window).
	pub drawn_at: BlockNumber,
	/// The validators at that block, sorted: assignment draws from these.
	pub validators: Validators,
	/// Validators assigned per miner: `min(scorers_per_miner, validators)`.
	pub scorers_per_miner: u32,
	/// Revealed assigned scores needed to rate a miner: `min(min_scorers, scorers_per_miner)`.
	pub quorum: u32,
}

/// A validator's commitment to its scores of one window, and whether it was revealed.
#[derive(Clone, Copy, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct ScoreCommit<BlockNumber> {
	/// `blake2_256(SCALE(window, validator, theta_hash, scores, salt))`.
	pub commitment: [u8; 32],
	/// Block of the commitment (in the window after the scored one).
	pub committed_at: BlockNumber,
	/// Block of the reveal (two windows after the scored one), if any.
	pub revealed_at: Option<BlockNumber>,
}

/// A validator's revealed scores of one window: the θ it evaluated against, then one score per
/// assigned miner. `Scores` is a bounded list of (miner, score) in storage, a `Vec` in the API.
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct ScoreReport<Scores> {
	/// BLAKE3 of the θ the validator evaluated against (the trainer's weights hash).
	pub theta_hash: [u8; 32],
	/// Scores by miner.
	pub scores: Scores,
}

/// What the close of a window decided besides the ranking. `Miners` is a bounded list in
/// storage, a `Vec` in the API.
#[derive(Clone, Encode, Decode, Eq, PartialEq, RuntimeDebug, TypeInfo, MaxEncodedLen)]
pub struct WindowOutcome<Miners> {
	/// The θ hash a strict majority of the revealing validators evaluated against, if any.
	pub canonical_theta: Option<[u8; 32]>,
	/// Committed miners that got fewer revealed assigned scores than the quorum: not rated.
	pub below_quorum: Miners,
}
