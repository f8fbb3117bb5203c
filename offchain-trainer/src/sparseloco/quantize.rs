//! Templar's per-tensor quantizer of the kept values (2-bit codes with `bins = 4`).
//!
//! Over all `n` kept values `v` of one tensor:
//! `shift = mean(v)`, `c = v − shift`, `σ = ‖c‖₂ / √(n−1)`, `scale = range·σ / bins` (1.0 when 0,
//! NaN or ±Inf), `code = clamp(round_half_even(c/scale + bins/2), 0, bins−1)` with `bins/2` the
//! integer half, and `lut[b] = mean of c over entries with code b` (0 when empty). The receiver
//! reconstructs `lut[code] + shift`.
//!
//! The element-wise steps (`c`, `c/scale + offset`, rounding, clamping, `lut[code] + shift`) are
//! done in `f32` exactly as torch does them on `f32` tensors. The three reductions (the mean, the
//! norm and the per-bin sums) are accumulated in `f64` and rounded once to `f32`: torch's `f32`
//! reductions depend on its kernel's summation order (CPU and GPU differ), so no order can be
//! bit-identical to all of them, and `f64` is at least as accurate as any of them. Only the LUT
//! and shift travel on the wire, so receivers never recompute these and always agree.

/// The quantized form of one tensor's kept values.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
	/// One code per kept value, each `< bins`.
	pub codes: Vec<u8>,
	/// Per-bin mean of the centred values (`bins` entries).
	pub lut: Vec<f32>,
	/// Mean of the kept values, added back on reconstruction.
	pub shift: f32,
}

/// Maps one centred value to its code: `clamp(round_half_even(c/scale + bins/2), 0, bins−1)`.
///
/// `torch.round` rounds halves to even, hence `round_ties_even` (not `round`, which rounds them
/// away from zero and would move, e.g., `c/scale = −1.5` from bin 0 to bin 1).
#[inline]
pub fn code_for(centred: f32, scale: f32, bins: u8) -> u8 {
	let offset = f32::from(bins / 2);
	let q = (centred / scale + offset).round_ties_even();
	// `max` before `min` also maps a (never expected) NaN to 0 instead of propagating it.
	q.max(0.0).min(f32::from(bins - 1)) as u8
}

/// The quantizer's step: `range·σ/bins`, or 1.0 when that is 0, NaN or ±Inf (Templar's fallback,
/// hit for example when all kept values are equal or only one value is kept).
pub fn scale_for(centred_norm: f32, n: usize, bins: u8, range: f32) -> f32 {
	let sigma = centred_norm / ((n as f64 - 1.0).sqrt() as f32);
	let scale = range * sigma / f32::from(bins);
	if scale == 0.0 || !scale.is_finite() {
		1.0
	} else {
		scale
	}
}

/// Quantizes the kept values of one tensor. `bins` must be in `2..=4` and values finite.
///
/// Returns `None` when a statistic is not finite, which can only happen when the values are
/// within a factor of two of `f32::MAX` (then `v − shift` overflows).
pub fn quantize(values: &[f32], bins: u8, range: f32) -> Option<Quantized> {
	let n = values.len();
	let shift = if n == 0 {
		0.0
	} else {
		(values.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32
	};
	let norm = values
		.iter()
		.map(|&v| {
			let c = f64::from(v - shift);
			c * c
		})
		.sum::<f64>()
		.sqrt() as f32;
	let scale = scale_for(norm, n, bins, range);

	let mut sums = [0.0f64; 4];
	let mut counts = [0u64; 4];
	let codes: Vec<u8> = values
		.iter()
		.map(|&v| {
			let c = v - shift;
			let code = code_for(c, scale, bins);
			sums[usize::from(code)] += f64::from(c);
			counts[usize::from(code)] += 1;
			code
		})
		.collect();
	let lut: Vec<f32> = (0..usize::from(bins))
		.map(|b| if counts[b] > 0 { (sums[b] / counts[b] as f64) as f32 } else { 0.0 })
		.collect();

	let finite = shift.is_finite() && lut.iter().all(|&l| l.is_finite() && (l + shift).is_finite());
	finite.then_some(Quantized { codes, lut, shift })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rounds_half_to_even() {
		// offset 2 for 4 bins: c/scale + 2 = 2.5 -> 2, 1.5 -> 2, 0.5 -> 0, 3.5 -> 4 -> clamp 3.
		assert_eq!(code_for(0.5, 1.0, 4), 2);
		assert_eq!(code_for(-0.5, 1.0, 4), 2);
		assert_eq!(code_for(-1.5, 1.0, 4), 0);
		assert_eq!(code_for(1.5, 1.0, 4), 3);
		assert_eq!(code_for(0.49, 1.0, 4), 2);
		assert_eq!(code_for(0.51, 1.0, 4), 3);
		assert_eq!(code_for(-100.0, 1.0, 4), 0);
		assert_eq!(code_for(100.0, 1.0, 4), 3);
		assert_eq!(code_for(f32::INFINITY, 1.0, 4), 3);
		// 3 bins: offset 1, codes 0..=2.
		assert_eq!(code_for(0.5, 1.0, 3), 2);
		assert_eq!(code_for(-0.5, 1.0, 3), 0);
	}

	#[test]
	fn hand_computed_example() {
		// mean 0; ‖c‖ = √20; σ = √20/√3 = 2.5820; scale = 6σ/4 = 3.8730;
		// c/scale + 2 = [1.2254, 1.7418, 2.2582, 2.7746] -> codes [1, 2, 2, 3].
		let q = quantize(&[-3.0, -1.0, 1.0, 3.0], 4, 6.0).unwrap();
		assert_eq!(q.shift, 0.0);
		assert_eq!(q.codes, vec![1, 2, 2, 3]);
		assert_eq!(q.lut, vec![0.0, -3.0, 0.0, 3.0]);
		assert!((scale_for(20f32.sqrt(), 4, 4, 6.0) - 3.872_983).abs() < 1e-5);
	}

	#[test]
	fn shift_is_added_back() {
		// Same as above shifted by +10: codes and centred LUT are unchanged.
		let q = quantize(&[7.0, 9.0, 11.0, 13.0], 4, 6.0).unwrap();
		assert_eq!(q.shift, 10.0);
		assert_eq!(q.codes, vec![1, 2, 2, 3]);
		assert_eq!(q.lut, vec![0.0, -3.0, 0.0, 3.0]);
		let rec: Vec<f32> = q.codes.iter().map(|&c| q.lut[usize::from(c)] + q.shift).collect();
		assert_eq!(rec, vec![7.0, 10.0, 10.0, 13.0]);
	}

	#[test]
	fn degenerate_scale_falls_back_to_one() {
		// All equal: σ = 0 -> scale 1, every c = 0 -> code 2, lut[2] = 0, reconstruct = shift.
		let q = quantize(&[0.25; 6], 4, 6.0).unwrap();
		assert_eq!(q.codes, vec![2; 6]);
		assert_eq!(q.lut, vec![0.0; 4]);
		assert_eq!(q.shift, 0.25);
		// One value: √(n−1) = 0 -> NaN -> scale 1.
		let q = quantize(&[-4.0], 4, 6.0).unwrap();
		assert_eq!((q.codes.clone(), q.shift), (vec![2], -4.0));
		assert_eq!(scale_for(0.0, 1, 4, 6.0), 1.0);
		assert_eq!(scale_for(1.0, 1, 4, 6.0), 1.0);
	}

	#[test]
	fn lut_is_the_per_bin_mean() {
		let v: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0).collect();
		let q = quantize(&v, 4, 6.0).unwrap();
		for b in 0..4u8 {
			let members: Vec<f64> = v
				.iter()
				.zip(&q.codes)
				.filter(|(_, &c)| c == b)
				.map(|(&x, _)| f64::from(x - q.shift))
				.collect();
			let want = if members.is_empty() {
				0.0
			} else {
				members.iter().sum::<f64>() / members.len() as f64
			};
			assert_eq!(q.lut[usize::from(b)], want as f32);
		}
	}

	#[test]
	fn overflowing_statistics_are_refused() {
		assert!(quantize(&[f32::MAX, -f32::MAX, f32::MAX], 4, 6.0).is_none());
	}
}
