//! Deterministic, panic-free `exp` and `sqrt` on [`Fixed`] (I64F64).
//!
//! `substrate-fixed` ships a `transcendental` module, but its `exp` is a plain Taylor series
//! without range reduction (it loses accuracy for |x| above ~20) and its `sqrt` uses the
//! panicking `/` operator, so neither is fit for a runtime that must never panic. The versions
//! here work on the raw `i128` bits with checked integer arithmetic only:
//!
//! * [`sqrt`] is the exact, bit-by-bit integer square root of `bits << 64`, rounded to nearest:
//!   the result is the correctly rounded I64F64 square root (error ≤ 0.5 ulp = 2.7e-20).
//! * [`exp`] reduces `x = k·ln2 + r` with `|r| ≤ ln2/2` (using a 96-bit ln 2 so the reduction
//!   itself costs < 1 ulp), evaluates a 20-term Taylor polynomial by Horner's rule (truncation
//!   error < 1e-29) and scales by `2^k` with rounding. Because the fixed-point products
//!   truncate, the result is within 4 ulp (2.2e-19) of the true value.

use crate::Fixed;

/// Number of fractional bits of [`Fixed`]; every constant below is expressed at this scale.
const FRAC_BITS: u32 = 64;

/// `1.0` as raw bits.
const ONE_BITS: i128 = 1 << FRAC_BITS;

/// `0.5` as raw bits, used to round to nearest.
const HALF_BITS: i128 = 1 << (FRAC_BITS - 1);

/// `ln 2 · 2^96`, rounded to nearest. The 32 bits beyond I64F64's precision keep `k·ln 2`
/// accurate to well under one ulp for every `k` that can occur (|k| ≤ 67).
const LN2_BITS_96: i128 = 0xb172_17f7_d1cf_79ab_c9e3_b398;

/// `1/ln 2` as I64F64 bits, rounded to nearest. Only used to pick `k`, so its own rounding is
/// irrelevant: any `k` within one of the ideal value keeps `|r| < ln 2` and the series converges.
const INV_LN2_BITS: i128 = 0x1_7154_7652_b82f_e177;

/// Below this argument `e^x` is smaller than half an ulp (e^-46 ≈ 1.05e-20 < 2^-65), so the
/// correctly rounded result is zero. Returning early also bounds `k` from below.
const EXP_MIN_BITS: i128 = -46 << FRAC_BITS;

/// Above this argument `e^x` exceeds I64F64's maximum (≈ 9.22e18 = e^43.67). Rejecting early
/// bounds `k` from above; results between 43.67 and 44 are caught by the checked scaling.
const EXP_MAX_BITS: i128 = 44 << FRAC_BITS;

/// Taylor terms for `e^r` with `|r| ≤ 0.35`: the first omitted term is `0.35^21/21! ≈ 4e-30`.
const EXP_TERMS: i128 = 20;

/// `e^x`, or `None` when the result does not fit in [`Fixed`].
///
/// Results below half an ulp round to zero (this happens for `x < -45.4`), which is what
/// callers want for softmax weights: such a player's share is below the type's resolution.
pub fn exp(x: Fixed) -> Option<Fixed> {
	let x = x.to_bits();
	if x < EXP_MIN_BITS {
		return Some(Fixed::from_bits(0));
	}
	if x > EXP_MAX_BITS {
		return None;
	}

	// k = round(x / ln 2); |x| ≤ 46 so |k| ≤ 67 and every product below stays far from i128's
	// limits (k·LN2_BITS_96 < 2^103).
	let t = Fixed::from_bits(x).checked_mul(Fixed::from_bits(INV_LN2_BITS))?;
	let k = t.to_bits().checked_add(HALF_BITS)? >> FRAC_BITS;

	// r = x - k·ln 2, computed at 96 fractional bits and rounded back to 64.
	let k_ln2 = k.checked_mul(LN2_BITS_96)?.checked_add(1 << 31)? >> 32;
	let r = Fixed::from_bits(x.checked_sub(k_ln2)?);

	// Horner: e^r = 1 + r(1 + r/2(1 + r/3(...))). Each step shrinks the previous rounding error
	// by |r|/i, so the total stays within ~2 ulp.
	let one = Fixed::from_bits(ONE_BITS);
	let mut sum = one;
	let mut i = EXP_TERMS;
	while i > 0 {
		sum = one.checked_add(r.checked_mul(sum)?.checked_div_int(i)?)?;
		i = i.checked_sub(1)?;
	}

	// Scale by 2^k. Right shifts round to nearest so tiny results are not biased downwards.
	let bits = sum.to_bits();
	let scaled = if k >= 0 {
		let k = u32::try_from(k).ok()?;
		bits.checked_mul(1i128.checked_shl(k)?)?
	} else {
		let s = u32::try_from(k.checked_neg()?).ok()?;
		let half = 1i128.checked_shl(s.checked_sub(1)?)?;
		bits.checked_add(half)?.checked_shr(s)?
	};
	Some(Fixed::from_bits(scaled))
}

/// Correctly rounded square root, or `None` for negative input.
///
/// For I64F64 bits `X`, the result bits are `round(sqrt(X · 2^64))`. `X · 2^64` needs up to 191
/// bits, so instead of widening we run the classic two-bits-at-a-time digit recurrence, which
/// only ever holds the partial root (< 2^96) and remainder (< 2^98) in `u128`.
pub fn sqrt(x: Fixed) -> Option<Fixed> {
	let x = u128::try_from(x.to_bits()).ok()?;
	let mut rem: u128 = 0;
	let mut root: u128 = 0;
	// N = x << 64 has 96 two-bit digits; the low 32 digits are the appended zeros.
	let mut digit: u32 = 96;
	while digit > 0 {
		digit = digit.checked_sub(1)?;
		let pos = digit.checked_mul(2)?;
		let next = match pos.checked_sub(FRAC_BITS) {
			Some(shift) => x.checked_shr(shift)? & 3,
			None => 0,
		};
		rem = rem.checked_mul(4)? | next;
		root = root.checked_mul(2)?;
		let trial = root.checked_mul(2)? | 1;
		if rem >= trial {
			rem = rem.checked_sub(trial)?;
			root |= 1;
		}
	}
	// rem = N - root². N > (root + 1/2)² exactly when rem > root (integers), so round up then.
	if rem > root {
		root = root.checked_add(1)?;
	}
	Some(Fixed::from_bits(i128::try_from(root).ok()?))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn f(v: f64) -> Fixed {
		Fixed::from_num(v)
	}

	fn rel(a: Fixed, b: f64) -> f64 {
		let a: f64 = a.to_num();
		((a - b) / b.abs().max(1e-300)).abs()
	}

	#[test]
	fn exp_matches_f64() {
		let mut x = -45.0f64;
		while x < 43.6 {
			let got = exp(f(x)).expect("in range");
			assert!(rel(got, x.exp()) < 1e-14 || (got.to_num::<f64>() - x.exp()).abs() < 1e-18);
			x += 0.0137;
		}
	}

	#[test]
	fn exp_edges() {
		assert_eq!(exp(f(0.0)), Some(Fixed::from_num(1)));
		assert_eq!(exp(f(-47.0)), Some(Fixed::from_bits(0)));
		assert_eq!(exp(Fixed::min_value()), Some(Fixed::from_bits(0)));
		assert_eq!(exp(f(43.8)), None);
		assert_eq!(exp(f(44.0)), None);
		assert_eq!(exp(Fixed::max_value()), None);
		assert!(exp(f(43.6)).is_some());
		// e^1 to the last few bits of I64F64.
		let e = exp(f(1.0)).expect("in range").to_bits();
		let want: i128 = 50143449209799256683; // round(e · 2^64)
		assert!((e - want).abs() <= 4, "{e} vs {want}");
	}

	#[test]
	fn sqrt_is_exact() {
		assert_eq!(sqrt(f(0.0)), Some(f(0.0)));
		assert_eq!(sqrt(f(1.0)), Some(f(1.0)));
		assert_eq!(sqrt(f(4.0)), Some(f(2.0)));
		assert_eq!(sqrt(f(0.25)), Some(f(0.5)));
		assert_eq!(sqrt(f(-1.0)), None);
		assert!(sqrt(Fixed::max_value()).is_some());
		assert_eq!(sqrt(Fixed::from_bits(1)), Some(Fixed::from_bits(1 << 32)));
		// sqrt(2) rounded to 64 fractional bits.
		let want: i128 = 26087635650665564425; // round(sqrt(2) · 2^64)
		assert_eq!(sqrt(f(2.0)).map(|v| v.to_bits()), Some(want));
		for v in [1e-12, 3e-5, 0.5, 7.0, 12345.678, 1e12, 4e18] {
			// Compare against the value actually represented: 1e-12 has only ~25 bits in I64F64.
			let x = f(v);
			let exact = x.to_num::<f64>().sqrt();
			let got: f64 = sqrt(x).expect("non-negative").to_num();
			// Within f64's own precision, or one I64F64 ulp for small results.
			assert!((got - exact).abs() <= (exact * 1e-15).max(1.1e-19), "{v}: {got} vs {exact}");
		}
	}
}
