//! Unit tests for [`rate`] edge cases. Reference numbers come from openskill 6.2.0 in f64.

use super::*;
use alloc::vec;
use codec::{Decode, Encode};

fn f(v: f64) -> Fixed {
	Fixed::from_num(v)
}

fn r(mu: f64, sigma: f64) -> Rating {
	Rating::new(f(mu), f(sigma))
}

fn scores(v: &[f64]) -> Vec<Score> {
	v.iter().map(|&s| f(s)).collect()
}

/// Asserts `got` matches `(mu, sigma)` pairs to 1e-12 relative.
fn assert_close(got: &[Rating], want: &[(f64, f64)]) {
	assert_eq!(got.len(), want.len());
	for (g, &(mu, sigma)) in got.iter().zip(want) {
		let gm: f64 = g.mu.to_num();
		let gs: f64 = g.sigma.to_num();
		assert!(((gm - mu) / mu.abs().max(1e-3)).abs() < 1e-12, "mu {gm} vs {mu}");
		assert!(((gs - sigma) / sigma).abs() < 1e-12, "sigma {gs} vs {sigma}");
	}
}

#[test]
fn two_players_default() {
	let out =
		rate(&Params::templar(), &[Rating::default(), Rating::default()], &scores(&[1.0, 0.0]))
			.unwrap();
	assert_close(
		&out,
		&[(27.256209212552754, 8.166896460213735), (22.743790787447246, 8.166896460213735)],
	);
	// Symmetric game: the winner's gain is exactly the loser's loss.
	assert_eq!(add(out[0].mu, out[1].mu).unwrap(), f(50.0));
}

#[test]
fn all_tied_only_shrinks_sigma() {
	let out = rate(&Params::templar(), &[Rating::default(); 3], &scores(&[0.5, 0.5, 0.5])).unwrap();
	assert_close(&out, &[(25.0, 8.253534696231965); 3]);
	for o in &out {
		assert_eq!(o.mu, DEFAULT_MU, "tied equals keep their mean exactly");
	}
}

#[test]
fn ties_keep_individual_updates_like_openskill() {
	// openskill's tie-averaging block is a no-op (it compares an object with itself), so the
	// two tied winners here move by different amounts.
	let out = rate(
		&Params::templar(),
		&[r(30.0, 5.0), r(20.0, 3.0), r(25.0, 8.0)],
		&scores(&[1.0, 1.0, 0.5]),
	)
	.unwrap();
	assert_close(
		&out,
		&[
			(30.09017306742864, 4.980834070970685),
			(20.15301617589156, 2.999767849345018),
			(23.682136009879816, 7.883102371080896),
		],
	);
}

#[test]
fn input_order_does_not_matter() {
	let ratings = [r(30.0, 5.0), r(20.0, 3.0), r(25.0, 8.0), r(-10.0, 0.5)];
	let s = scores(&[0.1, 0.7, 0.1, -2.0]);
	let out = rate(&Params::templar(), &ratings, &s).unwrap();
	let perm = [3usize, 1, 0, 2];
	let pr: Vec<_> = perm.iter().map(|&i| ratings[i]).collect();
	let ps: Vec<_> = perm.iter().map(|&i| s[i]).collect();
	let pout = rate(&Params::templar(), &pr, &ps).unwrap();
	for (k, &i) in perm.iter().enumerate() {
		assert_eq!(pout[k], out[i]);
	}
}

#[test]
fn sixty_four_players_winner_gains_loser_loses() {
	let ratings: Vec<_> = (0..64).map(|i| r(25.0 + f64::from(i) * 0.5, 8.0)).collect();
	let s: Vec<_> = (0..64).map(|i| f(f64::from(i) / 64.0)).collect();
	let out = rate(&Params::templar(), &ratings, &s).unwrap();
	assert!(out[63].mu > ratings[63].mu);
	assert!(out[0].mu < ratings[0].mu);
	for (o, i) in out.iter().zip(&ratings) {
		assert!(o.sigma > Fixed::from_bits(0));
		// tau inflates 8.0 to ~8.0006; the game must bring it below that.
		assert!(o.sigma < f(8.0007));
		assert!(o.mu != i.mu);
	}
}

#[test]
fn max_players_accepted() {
	let ratings = vec![Rating::default(); MAX_PLAYERS];
	let s: Vec<_> = (0..MAX_PLAYERS).map(|i| f(i as f64)).collect();
	assert_eq!(rate(&Params::templar(), &ratings, &s).unwrap().len(), MAX_PLAYERS);
}

#[test]
fn extreme_spread_needs_reshift() {
	// β tiny and σ tiny make c ≈ 0.7, so μ/c spans ~200: a single global softmax shift would
	// underflow every weight but the best, and the lower tails would sum to zero.
	let p = Params { beta: f(0.5), tau: f(0.0), kappa: DEFAULT_KAPPA, limit_sigma: false };
	let ratings = [r(100.0, 0.01), r(-50.0, 0.01), r(40.0, 0.01)];
	let out = rate(&p, &ratings, &scores(&[3.0, 2.0, 1.0])).unwrap();
	// Reference: openskill 6.2.0.
	assert_close(&out, &[(100.0, 0.01), (-49.99988455303325, 0.01), (39.99988455303325, 0.01)]);
}

#[test]
fn sigma_floor_kappa() {
	// One very uncertain player ranked last among many equals with tiny β: δ > 1, so the
	// shrink factor is clamped to κ and σ becomes σ·sqrt(κ) = σ/100.
	let p = Params { beta: f(0.1), tau: f(0.0), kappa: DEFAULT_KAPPA, limit_sigma: false };
	let mut ratings = vec![r(25.0, 0.01); 64];
	ratings[63] = r(25.0, 20.0);
	let s: Vec<_> = (0..64).map(|i| f(-f64::from(i))).collect();
	let out = rate(&p, &ratings, &s).unwrap();
	let got: f64 = out[63].sigma.to_num();
	assert!((got - 0.2).abs() < 1e-12, "{got}");
}

#[test]
fn limit_sigma_caps_growth() {
	// A huge τ inflates σ more than one game shrinks it; limit_sigma caps it at the input.
	let mut p = Params::templar();
	p.tau = f(5.0);
	let ratings = [r(25.0, 1.0), r(25.0, 1.0)];
	let free = rate(&p, &ratings, &scores(&[1.0, 0.0])).unwrap();
	assert!(free[0].sigma > f(1.0));
	p.limit_sigma = true;
	let capped = rate(&p, &ratings, &scores(&[1.0, 0.0])).unwrap();
	assert_eq!(capped[0].sigma, f(1.0));
	assert_eq!(capped[0].mu, free[0].mu);
}

#[test]
fn error_paths() {
	let p = Params::templar();
	let d = Rating::default();
	assert_eq!(
		rate(&p, &[d, d], &scores(&[1.0])),
		Err(RatingError::LengthMismatch { ratings: 2, scores: 1 })
	);
	assert_eq!(rate(&p, &[d], &scores(&[1.0])), Err(RatingError::TooFewPlayers(1)));
	assert_eq!(rate(&p, &[], &[]), Err(RatingError::TooFewPlayers(0)));
	let many = vec![d; MAX_PLAYERS + 1];
	let many_s = vec![f(0.0); MAX_PLAYERS + 1];
	assert_eq!(rate(&p, &many, &many_s), Err(RatingError::TooManyPlayers(MAX_PLAYERS + 1)));
	let s2 = scores(&[1.0, 0.0]);
	assert_eq!(rate(&p, &[d, r(25.0, 0.0)], &s2), Err(RatingError::InvalidSigma(1)));
	assert_eq!(rate(&p, &[r(25.0, -1.0), d], &s2), Err(RatingError::InvalidSigma(0)));
	assert_eq!(
		rate(&p, &[d, Rating::new(DEFAULT_MU, Fixed::max_value())], &s2),
		Err(RatingError::InvalidSigma(1))
	);
	assert_eq!(
		rate(&p, &[Rating::new(Fixed::min_value(), DEFAULT_SIGMA), d], &s2),
		Err(RatingError::InvalidMu(0))
	);
	assert_eq!(rate(&p, &[d, r(2e9, 1.0)], &s2), Err(RatingError::InvalidMu(1)));
	for bad in [
		Params { beta: f(-1.0), ..p },
		Params { tau: f(-0.1), ..p },
		Params { kappa: f(0.0), ..p },
		Params { kappa: f(-0.5), ..p },
		Params { beta: Fixed::max_value(), ..p },
	] {
		assert_eq!(rate(&bad, &[d, d], &s2), Err(RatingError::InvalidParams));
	}
	// β = τ = 0 with σ = 1 ulp: σ² rounds to 0, so c = 0 and μ/c is undefined.
	let degenerate = Params { beta: f(0.0), tau: f(0.0), ..p };
	let tiny = Rating::new(DEFAULT_MU, Fixed::from_bits(1));
	assert_eq!(rate(&degenerate, &[tiny, tiny], &s2), Err(RatingError::Overflow));
}

#[test]
fn extreme_legal_inputs_never_panic() {
	// Every combination of boundary values must give Ok or a typed error.
	let mus = [MAX_ABS_MU, Fixed::from_bits(0), MAX_ABS_MU.saturating_neg(), f(-50.0)];
	let sigmas = [MAX_SIGMA, Fixed::from_bits(1), f(1e-9), f(20.0)];
	let params = [
		Params::templar(),
		Params { beta: MAX_PARAM, tau: MAX_PARAM, kappa: MAX_PARAM, limit_sigma: true },
		Params { beta: f(0.0), tau: f(0.0), kappa: Fixed::from_bits(1), limit_sigma: false },
	];
	for p in &params {
		for &m1 in &mus {
			for &m2 in &mus {
				for &s1 in &sigmas {
					for &s2 in &sigmas {
						let ratings = [Rating::new(m1, s1), Rating::new(m2, s2), Rating::default()];
						for sc in [[0.0, 0.0, 0.0], [1.0, 0.0, -1.0], [-1.0, 0.0, 1.0]] {
							let _ = rate(p, &ratings, &scores(&sc));
						}
					}
				}
			}
		}
	}
}

#[test]
fn ordinal_is_mu_minus_three_sigma() {
	assert_eq!(ordinal(&r(25.0, 8.0)), f(1.0));
	assert_eq!(
		Rating::default().ordinal(),
		sub(DEFAULT_MU, DEFAULT_SIGMA.saturating_mul_int(3)).unwrap()
	);
	// Saturates instead of overflowing.
	assert_eq!(ordinal(&Rating::new(Fixed::min_value(), Fixed::max_value())), Fixed::min_value());
}

#[test]
fn constants_match_their_decimal_values() {
	// The constants are the decimal values rounded to I64F64; f64 literals carry only 53 bits.
	let near = |a: Fixed, b: f64| ((a.to_num::<f64>() - b) / b).abs() <= 1e-15;
	assert!(near(Params::templar().tau, 0.1));
	assert!(near(Params::templar().beta, 7.0));
	assert!(near(DEFAULT_KAPPA, 0.0001));
	assert!(near(DEFAULT_SIGMA, 25.0 / 3.0));
	assert!(near(Params::openskill_defaults().beta, 25.0 / 6.0));
	assert!(near(Params::openskill_defaults().tau, 25.0 / 300.0));
	assert_eq!(MAX_ABS_MU, f(1073741824.0));
	assert_eq!(MAX_SIGMA, f(1048576.0));
}

#[test]
fn bits_and_codec_round_trip() {
	let a = r(-12.375, 0.0625);
	let (mu, sigma) = a.to_bits();
	assert_eq!(Rating::from_bits(mu, sigma), a);
	let bytes = a.encode();
	assert_eq!(bytes.len(), 32);
	assert_eq!(Rating::decode(&mut &bytes[..]).unwrap(), a);
	let p = Params::templar();
	assert_eq!(Params::decode(&mut &p.encode()[..]).unwrap(), p);
}

#[test]
fn errors_display() {
	extern crate std;
	use std::string::ToString;
	assert_eq!(
		RatingError::LengthMismatch { ratings: 3, scores: 2 }.to_string(),
		"3 ratings but 2 scores"
	);
	assert!(RatingError::InvalidSigma(4).to_string().contains("player 4"));
}
