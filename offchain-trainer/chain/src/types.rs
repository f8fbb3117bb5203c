//! The chain's Gauntlet values as plain Rust types with real numbers, for tools and JSON.
//!
//! The runtime stores ratings as I64F64 (`bits / 2⁶⁴`), other fractions as `FixedI64`
//! (`inner / 10⁹`) and final weights as `Perbill` (`parts / 10⁹`); these types carry `f64`s.
//! Converting back ([`MinerScore`] → the runtime's) rounds to the nearest 10⁻⁹.

use serde::{Deserialize, Serialize};
pub use subxt::utils::AccountId32 as AccountId;

use crate::runtime::runtime_types as rt;

/// A training window: `block / blocks_per_window`.
pub type Window = u64;
/// A block number of the Gauntlet runtime.
pub type BlockNumber = u32;

/// `1.0` in `FixedI64` and `Perbill` units.
const BILLION: f64 = 1e9;

/// A 32-byte hash (BLAKE3 of a payload, checkpoint or θ, Blake2-256 of a model configuration),
/// shown as `0x`-prefixed hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hash32(pub [u8; 32]);

impl std::fmt::Display for Hash32 {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "0x")?;
		self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
	}
}

impl Serialize for Hash32 {
	fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.collect_str(self)
	}
}

impl std::str::FromStr for Hash32 {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, String> {
		let hex = s.strip_prefix("0x").unwrap_or(s);
		if hex.len() != 64 || !hex.is_ascii() {
			return Err(format!("{s:?} is not 32 bytes of hex"));
		}
		let mut out = [0u8; 32];
		for (i, byte) in out.iter_mut().enumerate() {
			*byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
				.map_err(|e| format!("{s:?} is not hex: {e}"))?;
		}
		Ok(Self(out))
	}
}

impl<'de> Deserialize<'de> for Hash32 {
	fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		let s = String::deserialize(d)?;
		s.parse().map_err(serde::de::Error::custom)
	}
}

/// Where the chain is: the latest finalized block and the window it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChainHead {
	/// Latest finalized block number.
	pub block: u64,
	/// Its window.
	pub window: Window,
	/// Blocks per window (fixed at genesis).
	pub blocks_per_window: u32,
}

/// One miner's standing (a leaderboard row).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeaderboardEntry {
	/// The miner (SS58).
	pub miner: AccountId,
	/// Mean skill μ.
	pub mu: f64,
	/// Uncertainty σ.
	pub sigma: f64,
	/// `μ − 3σ`.
	pub ordinal: f64,
	/// Moving average of the binary indicator, in [−1, 1].
	pub binary_ma: f64,
	/// Sync score of the last rated window, in [0, 1].
	pub sync: f64,
	/// Share of the total weight after the last window close, in [0, 1].
	pub final_weight: f64,
	/// The last window the miner committed in.
	pub last_committed: Option<Window>,
}

/// A miner's standing right after the close of one window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RatingSnapshot {
	/// The closed window.
	pub window: Window,
	/// μ after the update.
	pub mu: f64,
	/// σ after the update.
	pub sigma: f64,
	/// `μ − 3σ` after the update.
	pub ordinal: f64,
	/// Binary-indicator moving average after the update.
	pub binary_ma: f64,
	/// Median sync score of the window.
	pub sync: f64,
	/// Final weight after the close.
	pub final_weight: f64,
}

/// Where a registered miner serves its payloads, as the chain stores it (bytes the pallet does
/// not parse: the trainer's p2p layer decodes them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinerEndpoint {
	/// libp2p peer id bytes.
	pub peer_id: Vec<u8>,
	/// Multiaddrs, binary or text.
	pub multiaddrs: Vec<Vec<u8>>,
}

/// A miner's promise about its payload for one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Commitment {
	/// The miner.
	pub miner: AccountId,
	/// BLAKE3 of the payload.
	pub payload_hash: Hash32,
	/// Payload size in bytes.
	pub payload_size: u64,
	/// Block of the commitment.
	pub committed_at: BlockNumber,
}

/// A checkpoint a validator or miner serves.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckpointAnnouncement {
	/// Who announced it.
	pub announcer: AccountId,
	/// BLAKE3 of the checkpoint.
	pub checkpoint_hash: Hash32,
	/// Checkpoint size in bytes.
	pub checkpoint_size: u64,
	/// Block of the announcement.
	pub announced_at: BlockNumber,
}

/// Why a validator could not evaluate a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
	/// The miner did not serve the committed payload.
	MissingPayload,
	/// The fetched bytes do not match the committed hash or size.
	HashMismatch,
	/// The bytes match but do not decode as a payload of this run.
	Malformed,
}

impl std::fmt::Display for FailureReason {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(match self {
			Self::MissingPayload => "missing payload",
			Self::HashMismatch => "hash mismatch",
			Self::Malformed => "malformed payload",
		})
	}
}

/// The four mean losses a score was computed from (all zero for a failure).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationLosses {
	/// On the miner's own pages, on θ.
	pub own_before: f64,
	/// On the miner's own pages, after the trial step.
	pub own_after: f64,
	/// On the window's random pages, on θ.
	pub random_before: f64,
	/// On the window's random pages, after the trial step.
	pub random_after: f64,
}

/// One validator's measurements of one miner in one window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinerScore {
	/// Relative loss improvement on random data, in [−1000, 1]: what miners are ranked by.
	pub gradient_score: f64,
	/// Relative loss improvement on the miner's own data, in [−1000, 1].
	pub own_improvement: f64,
	/// +1 if the own-data improvement beats the random-data one, else −1.
	pub binary_indicator: i8,
	/// Sync score in [0, 1]: 1 means in step with the aggregate.
	pub sync_score: f64,
	/// The payload looks copied from another miner's.
	pub copy_suspected: bool,
	/// Set when the payload could not be evaluated.
	pub failure: Option<FailureReason>,
	/// The losses behind the scores above.
	pub losses: EvaluationLosses,
}

/// One miner's line in one validator's submission.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoredMiner {
	/// The miner.
	pub miner: AccountId,
	/// The validator's measurements.
	#[serde(flatten)]
	pub score: MinerScore,
}

/// One validator's revealed scores of a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidatorScores {
	/// The validator.
	pub validator: AccountId,
	/// The weights hash of the θ it evaluated against.
	pub theta_hash: Hash32,
	/// A score per miner it evaluated.
	pub scores: Vec<ScoredMiner>,
}

/// A window's seed and the validator set its scorers are drawn from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowSeed {
	/// The seed (from the parent hash of the first block of the next window).
	pub seed: Hash32,
	/// The block that drew it.
	pub drawn_at: BlockNumber,
	/// The validators assignment draws from.
	pub validators: Vec<AccountId>,
	/// Validators assigned per miner.
	pub scorers_per_miner: u32,
	/// Revealed assigned scores a miner needs to be rated.
	pub quorum: u32,
}

/// The validators assigned to score one miner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assignment {
	/// The miner.
	pub miner: AccountId,
	/// Its scorers, in draw order.
	pub validators: Vec<AccountId>,
}

/// A validator's commitment to its scores of a window, and whether it revealed them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScoreCommitStatus {
	/// The validator.
	pub validator: AccountId,
	/// The commitment.
	pub commitment: Hash32,
	/// Block of the commitment.
	pub committed_at: BlockNumber,
	/// Block of the reveal; `None`: never revealed (yet).
	pub revealed_at: Option<BlockNumber>,
}

/// What a window's close decided besides the ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowOutcome {
	/// The θ a strict majority of revealing validators evaluated against.
	pub canonical_theta: Option<Hash32>,
	/// Committers with fewer revealed assigned scores than the quorum (not rated).
	pub below_quorum: Vec<AccountId>,
}

/// One miner's line in a closed window's ranking (medians over validators).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankEntry {
	/// The miner.
	pub miner: AccountId,
	/// 1-based rank; ties share the lowest rank.
	pub rank: u32,
	/// Median ranking score (the gradient score, or the worst score when flagged).
	pub score: f64,
	/// Median gradient score.
	pub gradient_score: f64,
	/// Median own-data improvement.
	pub own_improvement: f64,
	/// Median binary indicator.
	pub binary_indicator: i8,
	/// Median sync score.
	pub sync_score: f64,
	/// Validators that scored the miner.
	pub validators: u32,
	/// Of them, how many flagged a copy.
	pub copy_flags: u32,
	/// Of them, how many reported a failure.
	pub failures: u32,
	/// μ after the window's update.
	pub mu: f64,
	/// σ after the window's update.
	pub sigma: f64,
	/// Final weight after the close.
	pub final_weight: f64,
}

/// Everything the chain holds about one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowRecord {
	/// The window.
	pub window: Window,
	/// Commitments, by miner account id.
	pub commitments: Vec<Commitment>,
	/// Checkpoint announcements, by account id.
	pub checkpoints: Vec<CheckpointAnnouncement>,
	/// The seed, once drawn (first block of the next window).
	pub seed: Option<WindowSeed>,
	/// Each committed miner's scorers (empty before the seed).
	pub assignments: Vec<Assignment>,
	/// Every validator's score commitment and its reveal status, by validator account id.
	pub score_commits: Vec<ScoreCommitStatus>,
	/// Every revealed report, by validator account id.
	pub scores: Vec<ValidatorScores>,
	/// The aggregation set, once selected (first block of the next window).
	pub aggregation_set: Option<Vec<AccountId>>,
	/// The ranking, once the window is closed (first block of the window three after).
	pub ranking: Option<Vec<RankEntry>>,
	/// The canonical θ and who fell below quorum, once the window is closed.
	pub outcome: Option<WindowOutcome>,
}

impl WindowRecord {
	/// The miners whose payloads `validator` is assigned to score, by miner account id.
	pub fn assigned_to(&self, validator: &AccountId) -> Vec<&Commitment> {
		self.commitments
			.iter()
			.filter(|c| {
				self.assignments
					.iter()
					.any(|a| a.miner == c.miner && a.validators.contains(validator))
			})
			.collect()
	}
}

/// The on-chain training hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunConfig {
	/// Config version; increases with every change.
	pub version: u32,
	/// Blake2-256 of the model configuration; zeros: not checked.
	pub model_config_hash: Hash32,
	/// Blake2-256 of the data manifest; zeros: not checked.
	pub data_manifest_hash: Hash32,
	/// The run seed.
	pub run_seed: u64,
	/// Inner optimizer steps per window.
	pub inner_steps: u32,
	/// Entries kept per chunk by top-k.
	pub top_k: u32,
	/// Target chunk side.
	pub chunk_target: u32,
	/// Quantization bins.
	pub quant_bins: u32,
	/// Quantization range in standard deviations.
	pub quant_range: f64,
	/// Error-feedback decay β.
	pub error_feedback_beta: f64,
	/// Outer SGD learning rate.
	pub outer_learning_rate: f64,
	/// Validator trial step, as a factor of the outer learning rate.
	pub eval_lr_factor: f64,
	/// Batches evaluated on the miner's own data.
	pub eval_own_batches: u32,
	/// Batches evaluated on random data.
	pub eval_random_batches: u32,
	/// Validators assigned to score each miner.
	pub scorers_per_miner: u32,
	/// Revealed scores a miner needs to be rated.
	pub min_scorers: u32,
	/// Top-k overlap above which a payload is flagged as copied.
	pub copy_overlap_threshold: f64,
	/// Size of the aggregation set.
	pub peers_per_aggregate: u32,
	/// Blocks per window.
	pub blocks_per_window: u32,
	/// Plackett-Luce β.
	pub rating_beta: f64,
	/// Plackett-Luce τ.
	pub rating_tau: f64,
	/// α of the binary-indicator moving average.
	pub binary_ma_alpha: f64,
	/// How the outer step combines the aggregation set's payloads.
	pub aggregation_rule: AggregationRule,
}

/// How the outer step combines the set's payloads, each clipped to the set's median norm
/// (`pallet_gauntlet::AggregationRule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregationRule {
	/// Per position, the mean over the peers that kept it (Templar's rule).
	Mean,
	/// Per position, the sum over the peers.
	Sum,
}

impl std::fmt::Display for AggregationRule {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(match self {
			Self::Mean => "mean",
			Self::Sum => "sum",
		})
	}
}

// --- conversions from the generated runtime types ----------------------------------------------

fn fixed<Frac>(x: &rt::substrate_fixed::FixedI128<Frac>) -> f64 {
	// I64F64: the value is bits / 2^64.
	x.bits as f64 / 18_446_744_073_709_551_616.0
}

fn fixed_i64(x: &rt::sp_arithmetic::fixed_point::FixedI64) -> f64 {
	x.0 as f64 / BILLION
}

fn perbill(x: &rt::sp_arithmetic::per_things::Perbill) -> f64 {
	f64::from(x.0) / BILLION
}

/// `x` in `FixedI64` inner units, or an error naming `field` when it is not finite or does not
/// fit (the chain checks the actual range).
pub(crate) fn to_fixed_i64(
	field: &'static str,
	x: f64,
) -> crate::Result<rt::sp_arithmetic::fixed_point::FixedI64> {
	let inner = (x * BILLION).round();
	if !inner.is_finite() || inner.abs() >= i64::MAX as f64 {
		return Err(crate::ChainError::InvalidInput {
			field,
			reason: format!("{x} is not a finite number in FixedI64 range"),
		});
	}
	Ok(rt::sp_arithmetic::fixed_point::FixedI64(inner as i64))
}

impl From<rt::pallet_gauntlet::types::LeaderboardEntry<AccountId>> for LeaderboardEntry {
	fn from(e: rt::pallet_gauntlet::types::LeaderboardEntry<AccountId>) -> Self {
		Self {
			miner: e.miner,
			mu: fixed(&e.mu),
			sigma: fixed(&e.sigma),
			ordinal: fixed(&e.ordinal),
			binary_ma: fixed_i64(&e.binary_ma),
			sync: fixed_i64(&e.sync),
			final_weight: perbill(&e.final_weight),
			last_committed: e.last_committed,
		}
	}
}

impl From<rt::pallet_gauntlet::types::RatingSnapshot> for RatingSnapshot {
	fn from(s: rt::pallet_gauntlet::types::RatingSnapshot) -> Self {
		Self {
			window: s.window,
			mu: fixed(&s.mu),
			sigma: fixed(&s.sigma),
			ordinal: fixed(&s.ordinal),
			binary_ma: fixed_i64(&s.binary_ma),
			sync: fixed_i64(&s.sync),
			final_weight: perbill(&s.final_weight),
		}
	}
}

impl From<rt::pallet_gauntlet::types::FailureReason> for FailureReason {
	fn from(r: rt::pallet_gauntlet::types::FailureReason) -> Self {
		use rt::pallet_gauntlet::types::FailureReason as R;
		match r {
			R::MissingPayload => Self::MissingPayload,
			R::HashMismatch => Self::HashMismatch,
			R::Malformed => Self::Malformed,
		}
	}
}

impl From<FailureReason> for rt::pallet_gauntlet::types::FailureReason {
	fn from(r: FailureReason) -> Self {
		match r {
			FailureReason::MissingPayload => Self::MissingPayload,
			FailureReason::HashMismatch => Self::HashMismatch,
			FailureReason::Malformed => Self::Malformed,
		}
	}
}

impl From<rt::pallet_gauntlet::types::MinerScore> for MinerScore {
	fn from(s: rt::pallet_gauntlet::types::MinerScore) -> Self {
		Self {
			gradient_score: fixed_i64(&s.gradient_score),
			own_improvement: fixed_i64(&s.own_improvement),
			binary_indicator: s.binary_indicator,
			sync_score: fixed_i64(&s.sync_score),
			copy_suspected: s.copy_suspected,
			failure: s.failure.map(Into::into),
			losses: EvaluationLosses {
				own_before: fixed_i64(&s.losses.own_before),
				own_after: fixed_i64(&s.losses.own_after),
				random_before: fixed_i64(&s.losses.random_before),
				random_after: fixed_i64(&s.losses.random_after),
			},
		}
	}
}

impl MinerScore {
	/// The runtime's encoding of this score (fractions rounded to 10⁻⁹).
	pub(crate) fn to_runtime(self) -> crate::Result<rt::pallet_gauntlet::types::MinerScore> {
		Ok(rt::pallet_gauntlet::types::MinerScore {
			gradient_score: to_fixed_i64("gradient_score", self.gradient_score)?,
			own_improvement: to_fixed_i64("own_improvement", self.own_improvement)?,
			binary_indicator: self.binary_indicator,
			sync_score: to_fixed_i64("sync_score", self.sync_score)?,
			copy_suspected: self.copy_suspected,
			failure: self.failure.map(Into::into),
			losses: rt::pallet_gauntlet::types::EvaluationLosses {
				own_before: to_fixed_i64("own_before", self.losses.own_before)?,
				own_after: to_fixed_i64("own_after", self.losses.own_after)?,
				random_before: to_fixed_i64("random_before", self.losses.random_before)?,
				random_after: to_fixed_i64("random_after", self.losses.random_after)?,
			},
		})
	}
}

impl From<rt::pallet_gauntlet::types::RankEntry<AccountId>> for RankEntry {
	fn from(r: rt::pallet_gauntlet::types::RankEntry<AccountId>) -> Self {
		Self {
			miner: r.miner,
			rank: r.rank,
			score: fixed_i64(&r.score),
			gradient_score: fixed_i64(&r.gradient_score),
			own_improvement: fixed_i64(&r.own_improvement),
			binary_indicator: r.binary_indicator,
			sync_score: fixed_i64(&r.sync_score),
			validators: r.validators,
			copy_flags: r.copy_flags,
			failures: r.failures,
			mu: fixed(&r.mu),
			sigma: fixed(&r.sigma),
			final_weight: perbill(&r.final_weight),
		}
	}
}

impl From<rt::pallet_gauntlet::types::WindowRecord<AccountId, BlockNumber>> for WindowRecord {
	fn from(r: rt::pallet_gauntlet::types::WindowRecord<AccountId, BlockNumber>) -> Self {
		Self {
			window: r.window,
			commitments: r
				.commitments
				.into_iter()
				.map(|(miner, c)| Commitment {
					miner,
					payload_hash: Hash32(c.payload_hash),
					payload_size: c.payload_size,
					committed_at: c.committed_at,
				})
				.collect(),
			checkpoints: r
				.checkpoints
				.into_iter()
				.map(|(announcer, c)| CheckpointAnnouncement {
					announcer,
					checkpoint_hash: Hash32(c.checkpoint_hash),
					checkpoint_size: c.checkpoint_size,
					announced_at: c.announced_at,
				})
				.collect(),
			seed: r.seed.map(|s| WindowSeed {
				seed: Hash32(s.seed),
				drawn_at: s.drawn_at,
				validators: s.validators,
				scorers_per_miner: s.scorers_per_miner,
				quorum: s.quorum,
			}),
			assignments: r
				.assignments
				.into_iter()
				.map(|(miner, validators)| Assignment { miner, validators })
				.collect(),
			score_commits: r
				.score_commits
				.into_iter()
				.map(|(validator, c)| ScoreCommitStatus {
					validator,
					commitment: Hash32(c.commitment),
					committed_at: c.committed_at,
					revealed_at: c.revealed_at,
				})
				.collect(),
			scores: r
				.scores
				.into_iter()
				.map(|(validator, report)| ValidatorScores {
					validator,
					theta_hash: Hash32(report.theta_hash),
					scores: report
						.scores
						.into_iter()
						.map(|(miner, s)| ScoredMiner { miner, score: s.into() })
						.collect(),
				})
				.collect(),
			aggregation_set: r.aggregation_set,
			ranking: r.ranking.map(|r| r.into_iter().map(Into::into).collect()),
			outcome: r.outcome.map(|o| WindowOutcome {
				canonical_theta: o.canonical_theta.map(Hash32),
				below_quorum: o.below_quorum,
			}),
		}
	}
}

impl From<rt::pallet_gauntlet::types::RunConfig> for RunConfig {
	fn from(c: rt::pallet_gauntlet::types::RunConfig) -> Self {
		Self {
			version: c.version,
			model_config_hash: Hash32(c.model_config_hash),
			data_manifest_hash: Hash32(c.data_manifest_hash),
			run_seed: c.run_seed,
			inner_steps: c.inner_steps,
			top_k: c.top_k,
			chunk_target: c.chunk_target,
			quant_bins: c.quant_bins,
			quant_range: fixed_i64(&c.quant_range),
			error_feedback_beta: fixed_i64(&c.error_feedback_beta),
			outer_learning_rate: fixed_i64(&c.outer_learning_rate),
			eval_lr_factor: fixed_i64(&c.eval_lr_factor),
			eval_own_batches: c.eval_own_batches,
			eval_random_batches: c.eval_random_batches,
			scorers_per_miner: c.scorers_per_miner,
			min_scorers: c.min_scorers,
			copy_overlap_threshold: fixed_i64(&c.copy_overlap_threshold),
			peers_per_aggregate: c.peers_per_aggregate,
			blocks_per_window: c.blocks_per_window,
			rating_beta: fixed_i64(&c.rating_beta),
			rating_tau: fixed_i64(&c.rating_tau),
			binary_ma_alpha: fixed_i64(&c.binary_ma_alpha),
			aggregation_rule: match c.aggregation_rule {
				rt::pallet_gauntlet::types::AggregationRule::Mean => AggregationRule::Mean,
				rt::pallet_gauntlet::types::AggregationRule::Sum => AggregationRule::Sum,
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn fixed_point_conversions_use_the_runtime_scales() {
		let one =
			rt::substrate_fixed::FixedI128::<()> { bits: 1 << 64, __ignore: Default::default() };
		assert_eq!(fixed(&one), 1.0);
		assert_eq!(fixed_i64(&rt::sp_arithmetic::fixed_point::FixedI64(-2_500_000_000)), -2.5);
		assert_eq!(perbill(&rt::sp_arithmetic::per_things::Perbill(250_000_000)), 0.25);
		assert_eq!(to_fixed_i64("x", 0.4).map(|f| f.0).ok(), Some(400_000_000));
	}

	#[test]
	fn non_finite_scores_are_rejected_before_submission() {
		for bad in [f64::NAN, f64::INFINITY, 1e30] {
			assert!(matches!(
				to_fixed_i64("gradient_score", bad),
				Err(crate::ChainError::InvalidInput { field: "gradient_score", .. })
			));
		}
	}

	#[test]
	fn hashes_print_as_prefixed_hex() {
		let mut h = [0u8; 32];
		h[0] = 0xab;
		h[31] = 0x01;
		let s = Hash32(h).to_string();
		assert!(s.starts_with("0xab00") && s.ends_with("01") && s.len() == 66, "{s}");
		assert_eq!(s.parse::<Hash32>(), Ok(Hash32(h)));
		assert!("0xab".parse::<Hash32>().is_err());
	}
}
