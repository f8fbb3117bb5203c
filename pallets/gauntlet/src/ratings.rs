//! The one place the pallet calls the rating maths: the `gauntlet-rating` crate's fixed-point
//! port of openskill.py 6.2.0's Plackett-Luce model.
//!
//! μ and σ are stored exactly as the crate computes them ([`Fixed`], I64F64), so the chain's
//! ratings are bit-identical to `gauntlet-rate` run on the same inputs. Everything else the
//! pallet handles (scores, β, τ, moving averages) is [`FixedI64`] (10⁻⁹ units); the two
//! conversions below are the only bridge.

use crate::types::RunConfig;
use alloc::vec::Vec;
pub use gauntlet_rating::{Fixed, Params, Rating, RatingError, MIN_PLAYERS};
use sp_runtime::FixedI64;

/// 10⁹: [`FixedI64`]'s scale.
const NANO: i128 = 1_000_000_000;
/// 2⁶⁴: [`Fixed`]'s scale.
const FRAC_ONE: i128 = 1 << 64;

/// The Plackett-Luce parameters of a run configuration: its β and τ, openskill's default κ, no
/// σ limit (openskill's defaults, as Templar uses them).
pub fn params(config: &RunConfig) -> Params {
	Params {
		beta: to_fixed(config.rating_beta),
		tau: to_fixed(config.rating_tau),
		..Params::templar()
	}
}

/// One Plackett-Luce update of the miners rated in a window: `ratings[i]` scored `scores[i]`
/// (higher is better, equal scores tie). Returns the new ratings in the same order. Fewer than
/// [`MIN_PLAYERS`] miners make no game: the ratings come back unchanged.
pub fn rate_window(
	params: &Params,
	ratings: &[Rating],
	scores: &[FixedI64],
) -> Result<Vec<Rating>, RatingError> {
	if ratings.len() < MIN_PLAYERS && ratings.len() == scores.len() {
		return Ok(ratings.to_vec());
	}
	let scores: Vec<Fixed> = scores.iter().map(|s| to_fixed(*s)).collect();
	gauntlet_rating::rate(params, ratings, &scores)
}

/// A [`FixedI64`] as [`Fixed`], rounded to the nearest 2⁻⁶⁴ (ties away from zero). Exact for
/// integers; strictly increasing, so distinct scores stay distinct and keep their order.
pub fn to_fixed(x: FixedI64) -> Fixed {
	// |inner| · 2⁶⁴ ≤ 2¹²⁷ fits an i128.
	let scaled = i128::from(x.into_inner()).saturating_mul(FRAC_ONE);
	Fixed::from_bits(div_round(scaled, NANO))
}

/// A [`Fixed`] as [`FixedI64`], rounded to the nearest 10⁻⁹ (ties away from zero), saturating
/// at [`FixedI64`]'s range.
pub fn to_fixed_i64(x: Fixed) -> FixedI64 {
	let bits = x.to_bits();
	// bits = whole · 2⁶⁴ + frac with 0 ≤ frac < 2⁶⁴, so frac · 10⁹ < 2⁹⁴ cannot overflow.
	let whole = bits >> 64;
	let frac = bits & (FRAC_ONE - 1);
	let nanos =
		whole.saturating_mul(NANO).saturating_add(div_round(frac.saturating_mul(NANO), FRAC_ONE));
	let clamped = nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
	FixedI64::from_inner(i64::try_from(clamped).unwrap_or_default())
}

/// `n / d` rounded to nearest, ties away from zero, for `d > 0`.
fn div_round(n: i128, d: i128) -> i128 {
	let (q, r) = (n.checked_div(d).unwrap_or_default(), n.checked_rem(d).unwrap_or_default());
	let twice = r.saturating_abs().saturating_mul(2);
	if twice >= d {
		q.saturating_add(n.signum())
	} else {
		q
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn fx(x: f64) -> FixedI64 {
		FixedI64::from_inner((x * 1e9).round() as i64)
	}

	#[test]
	fn templar_run_config_gives_templar_params() {
		assert_eq!(params(&RunConfig::default()), Params::templar());
	}

	#[test]
	fn conversions_round_to_nearest_and_invert() {
		assert_eq!(to_fixed(fx(7.0)), Fixed::from_num(7));
		assert_eq!(to_fixed(fx(-2.5)), Fixed::from_bits(-5 << 63));
		// 0.1 → round(0.1 · 2⁶⁴), as Params::templar() spells τ.
		assert_eq!(to_fixed(fx(0.1)).to_bits(), 1_844_674_407_370_955_162);
		for x in [0.0, 1e-9, -1e-9, 0.3, -1000.0, 25.0 / 3.0, 1_234.567_891_234] {
			assert_eq!(to_fixed_i64(to_fixed(fx(x))), fx(x), "{x}");
		}
		assert_eq!(
			to_fixed_i64(gauntlet_rating::DEFAULT_SIGMA),
			FixedI64::from_inner(8_333_333_333)
		);
		assert_eq!(to_fixed_i64(Fixed::max_value()), FixedI64::from_inner(i64::MAX));
		assert_eq!(to_fixed_i64(Fixed::min_value()), FixedI64::from_inner(i64::MIN));
		assert!(to_fixed(fx(1e-9)) > to_fixed(fx(0.0)));
	}

	#[test]
	fn a_lone_miner_keeps_its_rating() {
		let one = [Rating::default()];
		assert_eq!(rate_window(&Params::templar(), &one, &[fx(0.5)]), Ok(one.to_vec()));
		assert_eq!(rate_window(&Params::templar(), &[], &[]), Ok(Vec::new()));
	}

	#[test]
	fn the_window_update_is_the_crates() {
		let before = [Rating::default(); 3];
		let got = rate_window(&Params::templar(), &before, &[fx(0.3), fx(0.1), fx(0.2)]).unwrap();
		let want = gauntlet_rating::rate(
			&Params::templar(),
			&before,
			&[Fixed::from_num(3), Fixed::from_num(1), Fixed::from_num(2)],
		)
		.unwrap();
		assert_eq!(got, want);
		assert!(got[0].mu > got[2].mu && got[2].mu > got[1].mu);
	}
}
