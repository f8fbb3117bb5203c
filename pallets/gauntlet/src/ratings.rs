//! The one place the pallet calls the rating maths: a Plackett-Luce update of one window.
//!
//! Interim implementation until the `gauntlet-rating` crate lands: OpenSkill Plackett-Luce
//! (openskill.py 6.2.0 semantics, see the spec) in `FixedI128` (18 decimals), with no floats.
//! The pallet only sees [`rate_window`].

use crate::types::Rating;
use alloc::vec::Vec;
use sp_runtime::{
	traits::{One, Zero},
	FixedI128, FixedI64, FixedPointNumber,
};

/// The model parameters of one update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RatingParams {
	/// β: the skill-to-performance noise.
	pub beta: FixedI64,
	/// τ: uncertainty added before every game.
	pub tau: FixedI64,
}

/// Why an update could not be computed (the pallet then keeps the old ratings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatingError {
	/// `ratings` and `scores` differ in length.
	LengthMismatch,
	/// An intermediate value left the fixed-point range.
	Overflow,
	/// β or σ is not positive.
	InvalidParameter,
}

/// OpenSkill's κ: the smallest factor σ² is ever multiplied by.
const KAPPA: FixedI128 = FixedI128::from_inner(100_000_000_000_000); // 1e-4

/// One Plackett-Luce update of the players of one game: `ratings[i]` scored `scores[i]` (higher
/// is better; equal scores tie). Returns the new ratings in the same order.
pub fn rate_window(
	params: RatingParams,
	ratings: &[Rating],
	scores: &[FixedI64],
) -> Result<Vec<Rating>, RatingError> {
	if ratings.len() != scores.len() {
		return Err(RatingError::LengthMismatch)
	}
	if ratings.is_empty() {
		return Ok(Vec::new())
	}
	let beta = widen(params.beta);
	let tau = widen(params.tau);
	if beta <= FixedI128::zero() || tau < FixedI128::zero() {
		return Err(RatingError::InvalidParameter)
	}
	let tau_sq = mul(tau, tau)?;
	let beta_sq = mul(beta, beta)?;

	// Tau step, then c = sqrt(Σ σ² + β²).
	let mut mus = Vec::with_capacity(ratings.len());
	let mut sigmas_sq = Vec::with_capacity(ratings.len());
	let mut c_sq = FixedI128::zero();
	for r in ratings {
		let sigma = widen(r.sigma);
		if sigma <= FixedI128::zero() {
			return Err(RatingError::InvalidParameter)
		}
		let s_sq = add(mul(sigma, sigma)?, tau_sq)?;
		c_sq = add(c_sq, add(s_sq, beta_sq)?)?;
		mus.push(widen(r.mu));
		sigmas_sq.push(s_sq);
	}
	let c = c_sq.try_sqrt().ok_or(RatingError::Overflow)?;

	// exp(μ/c) shifted by the largest μ: every ratio below is unchanged and nothing overflows.
	let max_mu = mus.iter().copied().max().unwrap_or_default();
	let mut e = Vec::with_capacity(mus.len());
	for mu in &mus {
		e.push(exp_non_positive(div(sub(*mu, max_mu)?, c)?)?);
	}

	// Rank value −score; a team's sum runs over teams ranked at or below it, and a_q counts the
	// teams tied with it.
	let mut sum_q = Vec::with_capacity(scores.len());
	let mut a_q = Vec::with_capacity(scores.len());
	for sq in scores {
		let (mut s, mut a) = (FixedI128::zero(), 0u32);
		for (si, ei) in scores.iter().zip(&e) {
			if si <= sq {
				s = add(s, *ei)?;
			}
			if si == sq {
				a = a.saturating_add(1);
			}
		}
		sum_q.push(s);
		a_q.push(FixedI128::saturating_from_integer(a.max(1)));
	}

	let mut out = Vec::with_capacity(scores.len());
	let players = scores.iter().zip(&e).zip(mus.iter().zip(&sigmas_sq));
	for (i, ((si, ei), (mu, s_sq))) in players.enumerate() {
		let (mut omega, mut delta) = (FixedI128::zero(), FixedI128::zero());
		for (q, ((sq, sum), a)) in scores.iter().zip(&sum_q).zip(&a_q).enumerate() {
			if sq < si {
				continue
			}
			let p = div(*ei, *sum)?;
			let one_minus_p = sub(FixedI128::one(), p)?;
			delta = add(delta, div(mul(p, one_minus_p)?, *a)?)?;
			omega = if q == i { add(omega, div(one_minus_p, *a)?)? } else { sub(omega, div(p, *a)?)? };
		}
		let sigma = s_sq.try_sqrt().ok_or(RatingError::Overflow)?;
		omega = mul(omega, div(*s_sq, c)?)?;
		delta = mul(delta, div(*s_sq, c_sq)?)?;
		delta = mul(delta, div(sigma, c)?)?;
		let mu = add(*mu, omega)?;
		let factor = sub(FixedI128::one(), delta)?.max(KAPPA);
		let sigma = mul(sigma, factor.try_sqrt().ok_or(RatingError::Overflow)?)?;
		out.push(Rating { mu: narrow(mu)?, sigma: narrow(sigma)? });
	}
	Ok(out)
}

/// exp(x) for x ≤ 0: e⁻¹ to the integer part times a Taylor series of the fractional part.
fn exp_non_positive(x: FixedI128) -> Result<FixedI128, RatingError> {
	const E_INV: FixedI128 = FixedI128::from_inner(367_879_441_171_442_322);
	let x = x.min(FixedI128::zero());
	let whole = x.trunc(); // ≤ 0
	let frac = sub(x, whole)?; // in (−1, 0]
	// Σ fracᵏ/k! for k < 30: the terms fall below 10⁻¹⁸ long before.
	let (mut term, mut sum) = (FixedI128::one(), FixedI128::one());
	for k in 1..30u32 {
		term = div(mul(term, frac)?, FixedI128::saturating_from_integer(k))?;
		if term.is_zero() {
			break
		}
		sum = add(sum, term)?;
	}
	// e^whole: |whole| > 64 is below the fixed-point resolution anyway.
	let steps = whole.saturating_abs().into_inner() / FixedI128::DIV;
	for _ in 0..steps.min(64) {
		sum = mul(sum, E_INV)?;
	}
	if steps > 64 {
		sum = FixedI128::zero();
	}
	Ok(sum)
}

fn widen(x: FixedI64) -> FixedI128 {
	FixedI128::from_inner(i128::from(x.into_inner()).saturating_mul(1_000_000_000))
}

/// Rounds to the nearest 10⁻⁹.
fn narrow(x: FixedI128) -> Result<FixedI64, RatingError> {
	let inner = x.into_inner();
	let half = if inner < 0 { -500_000_000 } else { 500_000_000 };
	let q = inner.checked_add(half).ok_or(RatingError::Overflow)? / 1_000_000_000;
	i64::try_from(q).map(FixedI64::from_inner).map_err(|_| RatingError::Overflow)
}

fn add(a: FixedI128, b: FixedI128) -> Result<FixedI128, RatingError> {
	a.checked_add(&b).ok_or(RatingError::Overflow)
}
fn sub(a: FixedI128, b: FixedI128) -> Result<FixedI128, RatingError> {
	a.checked_sub(&b).ok_or(RatingError::Overflow)
}
fn mul(a: FixedI128, b: FixedI128) -> Result<FixedI128, RatingError> {
	a.checked_mul(&b).ok_or(RatingError::Overflow)
}
fn div(a: FixedI128, b: FixedI128) -> Result<FixedI128, RatingError> {
	a.checked_div(&b).ok_or(RatingError::Overflow)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn f(x: f64) -> FixedI64 {
		FixedI64::from_inner((x * 1e9).round() as i64)
	}
	fn to_f(x: FixedI64) -> f64 {
		x.into_inner() as f64 / 1e9
	}
	fn templar() -> RatingParams {
		RatingParams { beta: f(7.0), tau: f(0.1) }
	}

	#[test]
	fn exp_matches_reference() {
		for x in [0.0, -0.5, -1.0, -2.75, -10.0] {
			let got = exp_non_positive(FixedI128::from_inner((x * 1e18) as i128)).unwrap();
			let got = got.into_inner() as f64 / 1e18;
			assert!((got - f64::exp(x)).abs() < 1e-12, "exp({x}) = {got}");
		}
	}

	/// Three fresh players against the spec's steps computed in f64 (`float_reference`).
	#[test]
	fn three_fresh_players_match_the_float_reference() {
		let fresh = [Rating::INITIAL; 3];
		let got = rate_window(templar(), &fresh, &[f(3.0), f(2.0), f(1.0)]).unwrap();
		let want = float_reference(7.0, 0.1, &[(25.0, 25.0 / 3.0); 3], &[3.0, 2.0, 1.0]);
		for (g, w) in got.iter().zip(&want) {
			assert!((to_f(g.mu) - w.0).abs() < 1e-7, "mu {} vs {}", to_f(g.mu), w.0);
			assert!((to_f(g.sigma) - w.1).abs() < 1e-7, "sigma {} vs {}", to_f(g.sigma), w.1);
		}
		assert!(got[0].mu > INITIAL && got[2].mu < INITIAL);
		const INITIAL: FixedI64 = crate::types::INITIAL_MU;
	}

	#[test]
	fn ties_and_unequal_ratings_match_the_float_reference() {
		let players = [(30.0, 5.0), (22.0, 7.5), (25.0, 8.333), (28.0, 2.0)];
		let scores = [0.01, 0.05, 0.05, -1.0];
		let ratings: Vec<_> =
			players.iter().map(|&(m, s)| Rating { mu: f(m), sigma: f(s) }).collect();
		let sc: Vec<_> = scores.iter().map(|&s| f(s)).collect();
		let got = rate_window(templar(), &ratings, &sc).unwrap();
		let want = float_reference(7.0, 0.1, &players, &scores);
		for (g, w) in got.iter().zip(&want) {
			assert!((to_f(g.mu) - w.0).abs() < 1e-7);
			assert!((to_f(g.sigma) - w.1).abs() < 1e-7);
		}
		// Tied players with equal priors move equally only if their priors are equal; here the
		// higher-scored pair both gain.
		assert!(got[1].mu > ratings[1].mu && got[2].mu > ratings[2].mu);
		assert!(got[3].mu < ratings[3].mu);
	}

	#[test]
	fn empty_and_mismatched_inputs() {
		assert_eq!(rate_window(templar(), &[], &[]), Ok(Vec::new()));
		assert_eq!(
			rate_window(templar(), &[Rating::INITIAL], &[]),
			Err(RatingError::LengthMismatch)
		);
	}

	/// The spec's algorithm in f64 (openskill.py 6.2.0 `PlackettLuce.rate` with one-player teams).
	fn float_reference(beta: f64, tau: f64, p: &[(f64, f64)], scores: &[f64]) -> Vec<(f64, f64)> {
		let sig: Vec<f64> = p.iter().map(|(_, s)| (s * s + tau * tau).sqrt()).collect();
		let c = sig.iter().map(|s| s * s + beta * beta).sum::<f64>().sqrt();
		let e: Vec<f64> = p.iter().map(|(m, _)| (m / c).exp()).collect();
		let n = p.len();
		let sum_q: Vec<f64> =
			(0..n).map(|q| (0..n).filter(|&i| scores[i] <= scores[q]).map(|i| e[i]).sum()).collect();
		let a_q: Vec<f64> =
			(0..n).map(|q| (0..n).filter(|&i| scores[i] == scores[q]).count() as f64).collect();
		(0..n)
			.map(|i| {
				let (mut om, mut de) = (0.0, 0.0);
				for q in 0..n {
					if scores[q] < scores[i] {
						continue
					}
					let pr = e[i] / sum_q[q];
					de += pr * (1.0 - pr) / a_q[q];
					om += if q == i { (1.0 - pr) / a_q[q] } else { -pr / a_q[q] };
				}
				let s2 = sig[i] * sig[i];
				om *= s2 / c;
				de *= s2 / (c * c);
				de *= sig[i] / c;
				(p[i].0 + om, sig[i] * (1.0 - de).max(1e-4).sqrt())
			})
			.collect()
	}
}
