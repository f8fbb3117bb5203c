//! Fixed-point port of openskill.py 6.2.0's Plackett-Luce rating model.
//!
//! Gauntlet ranks miners the way Templar does: after every evaluation window each evaluated
//! miner is a one-player team in a free-for-all game ranked by score, and their OpenSkill
//! rating (`PlackettLuce(beta=7, tau=0.1)`) is updated. The chain must reproduce that update
//! bit-for-bit on every node, so this crate is:
//!
//! * `#![no_std]` (with `alloc`) and float-free: all arithmetic is on [`Fixed`] (I64F64 from
//!   `substrate-fixed`, the type Bittensor's subtensor uses), so results are deterministic on
//!   every platform including wasm (a `wasm32v1-none` release build contains no float
//!   instructions);
//! * panic-free: no `unwrap`, no panicking indexing, no unchecked arithmetic (enforced by
//!   clippy lints below); every failure is a [`RatingError`].
//!
//! ```
//! use gauntlet_rating::{ordinal, rate, Fixed, Params, Rating};
//!
//! // Two newcomers; the first scored higher.
//! let before = [Rating::default(); 2];
//! let scores = [Fixed::from_num(1), Fixed::from_num(0)];
//! let after = rate(&Params::templar(), &before, &scores)?;
//! assert!(after[0].mu > before[0].mu && after[1].mu < before[1].mu);
//! assert!(ordinal(&after[0]) > ordinal(&after[1]));
//! // A pallet can store plain integers.
//! let (mu_bits, sigma_bits) = after[0].to_bits();
//! assert_eq!(Rating::from_bits(mu_bits, sigma_bits), after[0]);
//! # Ok::<(), gauntlet_rating::RatingError>(())
//! ```
//!
//! # Semantics (checked against the openskill 6.2.0 source, not just its docs)
//!
//! [`rate`] follows `PlackettLuce.rate(teams, scores=...)` with one player per team:
//!
//! 1. Tau step: `σ ← sqrt(σ² + τ²)` for every player.
//! 2. Scores become ranks: higher score is better, equal scores share a rank (openskill's
//!    "1224" ranking). Only the grouping matters for the update.
//! 3. `c = sqrt(Σ (σ_i² + β²))`.
//! 4. For each rank group `q`, `S_q = Σ_{i ranked at or below q} e^{μ_i/c}`; `a_q` is the
//!    group's size.
//! 5. For each player `i` and each group `q` ranked at or above `i`, with `p = e^{μ_i/c}/S_q`:
//!    `δ += p(1-p)`, `Ω -= p`, and `Ω += 1/a_q` when `i` is in `q`. (openskill loops over the
//!    `a_q` teams of the group and divides each term by `a_q`; summing them gives this.)
//! 6. `Ω ×= σ²/c`, `δ ×= (σ/c)³` (`σ²/c²` times openskill's default `γ = σ/c`),
//!    `μ += Ω`, `σ ×= sqrt(max(1 − δ, κ))`.
//! 7. With `limit_sigma` (off by default, as in openskill) σ is capped at its pre-game value.
//!
//! openskill 6.2.0 also has a block that averages the μ change inside tied groups, but it
//! compares each result with the very object it just mutated, so the average is always zero
//! and tied players keep their individual updates. We reproduce what the code does (the golden
//! vectors cover ties), not what that block seems to intend. The score-margin logic is inert
//! with openskill's default `margin = 0` and is not ported.
//!
//! `e^{μ/c}` can overflow any fixed-point type for extreme μ, so weights are computed as
//! `e^{μ/c - m}` with `m` the largest `μ/c` still in the group's tail (the softmax trick; `p` is
//! invariant to the shift). The shift is refreshed whenever the tail's maximum falls more than
//! [`RESHIFT_GAP`] below the current one, so no tail sum can underflow to zero.
//!
//! # Precision
//!
//! Against openskill 6.2.0 running in f64, on the 311 games and 4 × 20-window sequences of
//! `tests/fixtures/golden.json` (6929 player updates: 2–64 players, μ in −50..100, σ in
//! 0.01..20, ties of every size, β ∈ {0.1, 0.5, 1, 25/6, 4, 7, 15}, τ ∈ {0, 25/300, 0.1, 0.5,
//! 1}, with and without `limit_sigma`; sequences feed each side's own output back in), the
//! worst relative error `|fixed − float| / max(|float|, 1e-3)` is **7.5e-15 on μ and 8.9e-16
//! on σ**, far inside the 1e-6 requirement. Reproduce with
//! `cargo test --test golden -- --nocapture` (it prints the worst errors and where they occur).
//!
//! Those numbers are the f64 reference's own rounding noise. `scripts/check_exact.py`
//! re-evaluates the 225 golden games with ≤ 24 players in 50-digit decimal arithmetic: there
//! openskill's f64 results are off by up to 4.8e-15 (μ) and 2.7e-16 (σ), while this crate's
//! exact I64F64 outputs are off by at most 2.8e-17 (μ) and 7.0e-17 (σ; a few ulp of 2^-64 on
//! σ ≈ 0.01). Internally `sqrt` is correctly rounded and `exp` is within 4 ulp.
//!
//! Scores are only compared, so two scores tie exactly when their I64F64 values are equal.
//! Callers converting from floats should know that values closer than 2^-64 collapse into a
//! tie that openskill (comparing f64) would not see.
//!
//! # Cost
//!
//! O(n²) fixed-point multiplications and O(n) exponentials for ordinary games; a tail reshift
//! costs one exponential per remaining player, so pathological μ spreads approach O(n²)
//! exponentials. Measured natively (x86-64, release): ~0.35 ms for 64 players, ~2.2 ms for 256,
//! ~4.5 ms for 256 players with a reshift at every rank.
//!
//! # Limits
//!
//! Games have [`MIN_PLAYERS`]..=[`MAX_PLAYERS`] players; `|μ| ≤` [`MAX_ABS_MU`],
//! `0 < σ ≤` [`MAX_SIGMA`]; `β, τ ≥ 0` and `0 < κ`, each at most [`MAX_PARAM`]. These bounds
//! keep every intermediate value many orders of magnitude inside I64F64's range, so
//! [`RatingError::Overflow`] only arises for degenerate inputs (e.g. β = τ = 0 with σ so small
//! that σ² rounds to zero).

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(
	missing_docs,
	clippy::arithmetic_side_effects,
	clippy::indexing_slicing,
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::panic,
	clippy::float_arithmetic
)]
// Tests may use plain arithmetic, floats and `expect` freely.
#![cfg_attr(
	test,
	allow(
		clippy::arithmetic_side_effects,
		clippy::indexing_slicing,
		clippy::unwrap_used,
		clippy::expect_used,
		clippy::panic,
		clippy::float_arithmetic
	)
)]

extern crate alloc;

pub mod math;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use core::{cmp::Reverse, fmt};
use scale_info::TypeInfo;

/// The fixed-point number used for every quantity: signed, 64 integer and 64 fractional bits
/// (resolution 2^-64 ≈ 5.4e-20, range ±9.2e18).
pub type Fixed = substrate_fixed::types::I64F64;

/// A player's score in a game. Higher is better; only the order (and equality) of scores
/// matters, so any fixed-point encoding of the evaluation metric works.
pub type Score = Fixed;

/// Fewest players in a game; openskill rejects games with fewer than two teams.
pub const MIN_PLAYERS: usize = 2;

/// Most players in a game. The update is O(n²), so this bounds the runtime weight.
pub const MAX_PLAYERS: usize = 256;

/// Largest accepted `|μ|` (2^30 ≈ 1.07e9). Real ratings stay within a few hundred of 25; the
/// bound only exists so that no intermediate can approach I64F64's range.
pub const MAX_ABS_MU: Fixed = Fixed::from_bits(1 << 94);

/// Largest accepted σ (2^20 ≈ 1.05e6), for the same reason as [`MAX_ABS_MU`].
pub const MAX_SIGMA: Fixed = Fixed::from_bits(1 << 84);

/// Largest accepted β, τ or κ (2^20 ≈ 1.05e6).
pub const MAX_PARAM: Fixed = Fixed::from_bits(1 << 84);

/// `1.0`, spelled as bits so no conversion (which could panic in general) is needed.
const ONE: Fixed = Fixed::from_bits(1 << 64);

/// openskill's default initial μ: 25.
pub const DEFAULT_MU: Fixed = Fixed::from_bits(25 << 64);

/// openskill's default initial σ: 25/3 (rounded to nearest I64F64).
pub const DEFAULT_SIGMA: Fixed = Fixed::from_bits(153_722_867_280_912_930_133);

/// openskill's default κ: 0.0001 (rounded to nearest I64F64).
pub const DEFAULT_KAPPA: Fixed = Fixed::from_bits(1_844_674_407_370_955);

/// When a rank group's tail maximum of `μ/c` lies more than this below the current softmax
/// shift, the tail's weights are recomputed with a new shift. With a gap of at most 4 every
/// tail sum is at least e^-4, so dividing by it amplifies rounding error by at most ~55 (a few
/// 1e-18), while games with moderate spreads never pay for the recomputation.
pub const RESHIFT_GAP: Fixed = Fixed::from_bits(4 << 64);

/// A player's skill estimate: mean μ and standard deviation σ.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub struct Rating {
	/// Mean skill μ.
	pub mu: Fixed,
	/// Uncertainty σ; always strictly positive for a valid rating.
	pub sigma: Fixed,
}

impl Rating {
	/// A rating from its two components.
	pub const fn new(mu: Fixed, sigma: Fixed) -> Self {
		Self { mu, sigma }
	}

	/// A rating from raw I64F64 bits, as stored by a pallet that keeps plain integers.
	pub const fn from_bits(mu: i128, sigma: i128) -> Self {
		Self { mu: Fixed::from_bits(mu), sigma: Fixed::from_bits(sigma) }
	}

	/// The raw I64F64 bits `(μ, σ)`; the inverse of [`Rating::from_bits`].
	pub const fn to_bits(&self) -> (i128, i128) {
		(self.mu.to_bits(), self.sigma.to_bits())
	}

	/// This rating's [`ordinal`].
	pub fn ordinal(&self) -> Fixed {
		ordinal(self)
	}
}

impl Default for Rating {
	/// openskill's default newcomer: μ = 25, σ = 25/3.
	fn default() -> Self {
		Self { mu: DEFAULT_MU, sigma: DEFAULT_SIGMA }
	}
}

/// Model hyper-parameters (openskill's `beta`, `tau`, `kappa`, `limit_sigma`).
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub struct Params {
	/// Performance noise β: how much a single game's outcome can deviate from skill.
	pub beta: Fixed,
	/// Additive dynamics τ: σ is inflated by it before every game so ratings keep moving.
	pub tau: Fixed,
	/// Floor κ on the σ shrink factor `1 − δ`, so σ never collapses to zero.
	pub kappa: Fixed,
	/// Cap σ at its pre-game value (openskill's `limit_sigma`, default off).
	pub limit_sigma: bool,
}

impl Params {
	/// Templar's model: `PlackettLuce(beta=7, tau=0.1)` with openskill's default κ.
	pub const fn templar() -> Self {
		Self {
			beta: Fixed::from_bits(7 << 64),
			// 0.1 rounded to nearest I64F64.
			tau: Fixed::from_bits(1_844_674_407_370_955_162),
			kappa: DEFAULT_KAPPA,
			limit_sigma: false,
		}
	}

	/// openskill's own defaults: β = 25/6, τ = 25/300, κ = 0.0001.
	pub const fn openskill_defaults() -> Self {
		Self {
			beta: Fixed::from_bits(76_861_433_640_456_465_067),
			tau: Fixed::from_bits(1_537_228_672_809_129_301),
			kappa: DEFAULT_KAPPA,
			limit_sigma: false,
		}
	}

	/// Rejects parameters outside the documented bounds (see the crate docs).
	pub fn validate(&self) -> Result<(), RatingError> {
		let zero = Fixed::from_bits(0);
		let in_range = |v: Fixed| v >= zero && v <= MAX_PARAM;
		if !in_range(self.beta)
			|| !in_range(self.tau)
			|| !in_range(self.kappa)
			|| self.kappa == zero
		{
			return Err(RatingError::InvalidParams);
		}
		Ok(())
	}
}

/// Why a game could not be rated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatingError {
	/// `ratings` and `scores` have different lengths.
	LengthMismatch {
		/// Number of ratings given.
		ratings: usize,
		/// Number of scores given.
		scores: usize,
	},
	/// Fewer than [`MIN_PLAYERS`] players.
	TooFewPlayers(usize),
	/// More than [`MAX_PLAYERS`] players.
	TooManyPlayers(usize),
	/// The player at this index has σ ≤ 0 or σ > [`MAX_SIGMA`].
	InvalidSigma(usize),
	/// The player at this index has |μ| > [`MAX_ABS_MU`].
	InvalidMu(usize),
	/// β or τ is negative, κ is not positive, or one exceeds [`MAX_PARAM`].
	InvalidParams,
	/// An intermediate result left I64F64's range (degenerate inputs only; see crate docs).
	Overflow,
}

impl fmt::Display for RatingError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::LengthMismatch { ratings, scores } => {
				write!(f, "{ratings} ratings but {scores} scores")
			}
			Self::TooFewPlayers(n) => write!(f, "{n} players; a game needs at least {MIN_PLAYERS}"),
			Self::TooManyPlayers(n) => {
				write!(f, "{n} players; a game allows at most {MAX_PLAYERS}")
			}
			Self::InvalidSigma(i) => {
				write!(f, "player {i}: sigma must be > 0 and at most {MAX_SIGMA}")
			}
			Self::InvalidMu(i) => write!(f, "player {i}: |mu| must be at most {MAX_ABS_MU}"),
			Self::InvalidParams => {
				write!(f, "beta and tau must be >= 0, kappa > 0, each at most {MAX_PARAM}")
			}
			Self::Overflow => write!(f, "arithmetic overflow (degenerate inputs)"),
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for RatingError {}

/// openskill's ordinal `μ − 3σ`: a conservative skill estimate (99.7% one-sided) and the value
/// players are ranked by. Saturates rather than failing; with valid ratings it never needs to.
pub fn ordinal(r: &Rating) -> Fixed {
	r.mu.saturating_sub(r.sigma.saturating_mul_int(3))
}

/// Shorthands turning `None` from checked arithmetic into [`RatingError::Overflow`].
fn add(a: Fixed, b: Fixed) -> Result<Fixed, RatingError> {
	a.checked_add(b).ok_or(RatingError::Overflow)
}
fn sub(a: Fixed, b: Fixed) -> Result<Fixed, RatingError> {
	a.checked_sub(b).ok_or(RatingError::Overflow)
}
fn mul(a: Fixed, b: Fixed) -> Result<Fixed, RatingError> {
	a.checked_mul(b).ok_or(RatingError::Overflow)
}
fn div(a: Fixed, b: Fixed) -> Result<Fixed, RatingError> {
	a.checked_div(b).ok_or(RatingError::Overflow)
}
fn sqrt(a: Fixed) -> Result<Fixed, RatingError> {
	math::sqrt(a).ok_or(RatingError::Overflow)
}
fn exp(a: Fixed) -> Result<Fixed, RatingError> {
	math::exp(a).ok_or(RatingError::Overflow)
}

/// Per-player working state, kept in rank order during the update.
struct Work {
	/// Position in the caller's slices, to put results back in input order.
	index: usize,
	score: Score,
	mu: Fixed,
	/// σ after the tau step.
	sigma: Fixed,
	/// μ / c.
	x: Fixed,
	/// e^{x − shift} for the current softmax shift.
	weight: Fixed,
	omega: Fixed,
	delta: Fixed,
}

/// Rates one game: `ratings[i]` scored `scores[i]` (higher is better, equal scores tie).
/// Returns the updated ratings in the same order.
///
/// Matches openskill 6.2.0's `PlackettLuce(beta, tau, kappa, limit_sigma).rate(
/// [[r] for r in ratings], scores=scores)` to within fixed-point precision (see crate docs).
pub fn rate(
	params: &Params,
	ratings: &[Rating],
	scores: &[Score],
) -> Result<Vec<Rating>, RatingError> {
	params.validate()?;
	let n = ratings.len();
	if scores.len() != n {
		return Err(RatingError::LengthMismatch { ratings: n, scores: scores.len() });
	}
	if n < MIN_PLAYERS {
		return Err(RatingError::TooFewPlayers(n));
	}
	if n > MAX_PLAYERS {
		return Err(RatingError::TooManyPlayers(n));
	}
	let zero = Fixed::from_bits(0);
	let one = ONE;
	for (i, r) in ratings.iter().enumerate() {
		if r.sigma <= zero || r.sigma > MAX_SIGMA {
			return Err(RatingError::InvalidSigma(i));
		}
		if r.mu.checked_abs().is_none_or(|m| m > MAX_ABS_MU) {
			return Err(RatingError::InvalidMu(i));
		}
	}

	// 1. Tau step, then 3. c, from the inflated σ (openskill does the tau step first).
	let tau_sq = mul(params.tau, params.tau)?;
	let beta_sq = mul(params.beta, params.beta)?;
	let mut players = Vec::with_capacity(n);
	let mut c_sq = zero;
	for (index, (r, &score)) in ratings.iter().zip(scores).enumerate() {
		let sigma = sqrt(add(mul(r.sigma, r.sigma)?, tau_sq)?)?;
		c_sq = add(c_sq, add(mul(sigma, sigma)?, beta_sq)?)?;
		players.push(Work {
			index,
			score,
			mu: r.mu,
			sigma,
			x: zero,
			weight: zero,
			omega: zero,
			delta: zero,
		});
	}
	let c = sqrt(c_sq)?;
	for p in players.iter_mut() {
		p.x = div(p.mu, c)?;
	}

	// 2. Rank order: best score first. The sort is stable, like openskill's, though within a
	// tie group the order does not affect the result.
	players.sort_by_key(|p| Reverse(p.score));

	// Suffix maxima of x: the softmax shift each group's tail needs.
	let mut tail_max = Vec::with_capacity(n);
	let mut running = Fixed::min_value();
	for p in players.iter().rev() {
		running = running.max(p.x);
		tail_max.push(running);
	}
	tail_max.reverse();

	// 4./5. Walk the rank groups best-first. Group q's tail (q and everyone ranked below it) is
	// `players[start..]`; each tail member i gains p(1-p) in δ and loses p in Ω, and members of
	// q itself gain 1/a_q in Ω.
	let mut shift: Option<Fixed> = None;
	let mut start = 0usize;
	while start < n {
		let Some(first) = players.get(start) else { break };
		let group_score = first.score;
		let group_len = players
			.get(start..)
			.map_or(0, |tail| tail.iter().take_while(|p| p.score == group_score).count());
		let m = *tail_max.get(start).ok_or(RatingError::Overflow)?;
		let tail = players.get_mut(start..).ok_or(RatingError::Overflow)?;

		let reshift = match shift {
			None => true,
			Some(s) => sub(s, m)? > RESHIFT_GAP,
		};
		if reshift {
			for p in tail.iter_mut() {
				p.weight = exp(sub(p.x, m)?)?;
			}
			shift = Some(m);
		}

		let mut total = zero;
		for p in tail.iter() {
			total = add(total, p.weight)?;
		}
		// total ≥ e^{-RESHIFT_GAP} > 0 because the tail's best player has x = m.
		let inv_total = div(one, total)?;
		let group_size = i128::try_from(group_len).map_err(|_| RatingError::Overflow)?;
		let inv_size = one.checked_div_int(group_size).ok_or(RatingError::Overflow)?;

		for (offset, p) in tail.iter_mut().enumerate() {
			let prob = mul(p.weight, inv_total)?;
			p.delta = add(p.delta, mul(prob, sub(one, prob)?)?)?;
			p.omega = sub(p.omega, prob)?;
			if offset < group_len {
				p.omega = add(p.omega, inv_size)?;
			}
		}
		start = start.checked_add(group_len.max(1)).ok_or(RatingError::Overflow)?;
	}

	// 6./7. Apply the updates and put results back in input order.
	let mut out: Vec<Rating> = ratings.to_vec();
	for p in players {
		let sigma_sq = mul(p.sigma, p.sigma)?;
		let omega = mul(p.omega, div(sigma_sq, c)?)?;
		let ratio = div(p.sigma, c)?;
		let delta = mul(mul(mul(p.delta, ratio)?, ratio)?, ratio)?;
		let shrink = sub(one, delta)?.max(params.kappa);
		let mut sigma = mul(p.sigma, sqrt(shrink)?)?;
		let slot = out.get_mut(p.index).ok_or(RatingError::Overflow)?;
		if params.limit_sigma {
			sigma = sigma.min(slot.sigma);
		}
		*slot = Rating { mu: add(p.mu, omega)?, sigma };
	}
	Ok(out)
}

#[cfg(test)]
mod tests;
