//! Does one payload decode to the same thing as a reference payload? Used to hold the GPU codec to
//! the CPU codec: indices must be equal wherever the source has no tie at the selection boundary,
//! and every reconstructed value within a relative tolerance.

use crate::sparseloco::codec::{CompressedTensor, Payload};
use crate::sparseloco::tensor::Tensor;

/// Relative tolerance on reconstructed values (`lut[code] + shift`).
pub const VALUE_TOLERANCE: f64 = 1e-6;

/// What [`compare_payloads`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PayloadComparison {
	/// Tensors compared.
	pub tensors: usize,
	/// Chunks compared.
	pub chunks: usize,
	/// Kept entries compared.
	pub entries: usize,
	/// Chunks whose kept indices differ although the source has no tie there (or no source was
	/// given): real disagreements.
	pub index_mismatches: usize,
	/// Chunks whose kept indices differ only among entries of equal magnitude (both selections
	/// are a valid top-k of the source).
	pub tie_chunks: usize,
	/// Kept entries (in chunks with equal indices) whose values differ by more than
	/// [`VALUE_TOLERANCE`] relative.
	pub value_mismatches: usize,
	/// Largest relative difference of a reconstructed value (chunks with equal indices).
	pub max_value_rel_err: f64,
	/// Tensors whose name, shape, tiling, k or bin count differ (nothing else is compared there).
	pub header_mismatches: usize,
}

impl PayloadComparison {
	/// No real disagreement: headers and indices equal (up to ties), values within tolerance.
	pub fn agrees(&self) -> bool {
		self.header_mismatches == 0 && self.index_mismatches == 0 && self.value_mismatches == 0
	}
}

fn rel_err(a: f32, b: f32) -> f64 {
	let (a, b) = (f64::from(a), f64::from(b));
	if a == b {
		return 0.0;
	}
	(a - b).abs() / b.abs().max(f64::from(f32::MIN_POSITIVE))
}

/// Sorted magnitudes of `source` at the kept positions `local` of chunk `chunk` of `t`.
fn magnitudes(t: &CompressedTensor, source: &Tensor, chunk: usize, local: &[u16]) -> Vec<u32> {
	let g = t.geometry();
	let mut m: Vec<u32> = local
		.iter()
		.map(|&i| source.data[g.position(chunk, usize::from(i))].abs().to_bits())
		.collect();
	m.sort_unstable();
	m
}

/// Compares `got` with `want` tensor by tensor (in order). `sources`, when given, are the dense
/// tensors both were compressed from (same order): chunks whose indices differ are then counted
/// as ties when both selections keep the same multiset of magnitudes.
pub fn compare_payloads(
	got: &Payload,
	want: &Payload,
	sources: Option<&[Tensor]>,
) -> PayloadComparison {
	let mut r = PayloadComparison::default();
	r.header_mismatches += got.tensors().len().abs_diff(want.tensors().len());
	for (i, (a, b)) in got.tensors().iter().zip(want.tensors()).enumerate() {
		r.tensors += 1;
		if a.name() != b.name()
			|| a.shape() != b.shape()
			|| a.geometry() != b.geometry()
			|| a.k() != b.k()
			|| a.bins() != b.bins()
		{
			r.header_mismatches += 1;
			continue;
		}
		let source = sources.and_then(|s| s.get(i)).filter(|s| s.shape == b.shape());
		let (va, vb) = (a.bin_values(), b.bin_values());
		let k = b.k();
		let chunks = a.indices().chunks_exact(k).zip(b.indices().chunks_exact(k));
		let codes = a.codes().chunks_exact(k).zip(b.codes().chunks_exact(k));
		for (chunk, ((ia, ib), (ca, cb))) in chunks.zip(codes).enumerate() {
			r.chunks += 1;
			r.entries += k;
			if ia != ib {
				let tie = source
					.is_some_and(|s| magnitudes(a, s, chunk, ia) == magnitudes(b, s, chunk, ib));
				if tie {
					r.tie_chunks += 1;
				} else {
					r.index_mismatches += 1;
				}
				continue;
			}
			for (&x, &y) in ca.iter().zip(cb) {
				let e = rel_err(va[usize::from(x)], vb[usize::from(y)]);
				r.max_value_rel_err = r.max_value_rel_err.max(e);
				if e > VALUE_TOLERANCE {
					r.value_mismatches += 1;
				}
			}
		}
	}
	r
}

/// Largest absolute and relative (to the largest magnitude of `want`) difference between two
/// dense tensors of equal length, e.g. the GPU and CPU error-feedback buffers after a round.
pub fn max_dense_diff(got: &[f32], want: &[f32]) -> (f64, f64) {
	let max_abs = got
		.iter()
		.zip(want)
		.map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
		.fold(0.0, f64::max);
	let scale = want.iter().map(|&b| f64::from(b).abs()).fold(0.0, f64::max);
	let max_abs = if got.len() == want.len() { max_abs } else { f64::INFINITY };
	(max_abs, if scale > 0.0 { max_abs / scale } else { max_abs })
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::{compress_tensor, CodecConfig};

	fn tensor(data: Vec<f32>) -> Tensor {
		let n = data.len();
		Tensor::new("w", vec![n], data).unwrap()
	}

	fn with(c: &CompressedTensor, lut: Vec<f32>, idx: Vec<u16>) -> Payload {
		let g = c.geometry();
		let t = CompressedTensor::from_parts(
			c.name(),
			c.shape().to_vec(),
			g.tile_rows(),
			g.tile_cols(),
			c.k(),
			lut,
			c.shift(),
			idx,
			c.codes().to_vec(),
		)
		.unwrap();
		Payload::new(vec![t]).unwrap()
	}

	#[test]
	fn identical_payloads_agree_exactly() {
		let src = tensor((0..64).map(|i| ((i * 37) % 64) as f32 - 31.5).collect());
		let cfg = CodecConfig { topk: 8, ..CodecConfig::default() };
		let p = Payload::new(vec![compress_tensor(&src, &cfg).unwrap()]).unwrap();
		let r = compare_payloads(&p, &p, Some(std::slice::from_ref(&src)));
		assert!(r.agrees(), "{r:?}");
		assert_eq!((r.tensors, r.chunks, r.entries, r.max_value_rel_err), (1, 1, 8, 0.0));
	}

	#[test]
	fn values_are_held_to_one_part_in_a_million() {
		let src = tensor((0..64).map(|i| ((i * 37) % 64) as f32 - 31.5).collect());
		let cfg = CodecConfig { topk: 8, ..CodecConfig::default() };
		let c = compress_tensor(&src, &cfg).unwrap();
		let want = Payload::new(vec![c.clone()]).unwrap();
		let nudge = |f: f32| -> Payload {
			let lut = c.lut().iter().map(|&l| l * f).collect();
			with(&c, lut, c.indices().to_vec())
		};
		// One f32 ulp of the LUT is far inside the tolerance.
		let r = compare_payloads(&nudge(1.0 + f32::EPSILON), &want, None);
		assert!(r.agrees() && r.max_value_rel_err > 0.0 && r.max_value_rel_err < 1e-6, "{r:?}");
		let r = compare_payloads(&nudge(1.001), &want, None);
		assert!(!r.agrees(), "{r:?}");
		assert_eq!(r.value_mismatches, 8);
	}

	#[test]
	fn index_differences_are_ties_only_at_equal_magnitudes() {
		// |x| = 5, 4, 3, 3, 1, ...: k = 4 keeps {0, 1, 2, 3}; {0, 1, 2, 5} is another valid choice
		// only if |x5| = 3 (a tie), and is a real mismatch otherwise.
		let mut data = vec![5.0, -4.0, 3.0, -3.0, 1.0, 3.0, 0.5, 0.25];
		let cfg = CodecConfig { topk: 4, ..CodecConfig::default() };
		let c = compress_tensor(&tensor(data.clone()), &cfg).unwrap();
		assert_eq!(c.indices(), &[0, 1, 2, 3]);
		let want = Payload::new(vec![c.clone()]).unwrap();
		let other = with(&c, c.lut().to_vec(), vec![0, 1, 2, 5]);
		let r = compare_payloads(&other, &want, Some(&[tensor(data.clone())]));
		assert_eq!((r.tie_chunks, r.index_mismatches), (1, 0), "{r:?}");
		assert!(r.agrees());
		data[5] = 2.0;
		let r = compare_payloads(&other, &want, Some(&[tensor(data)]));
		assert_eq!((r.tie_chunks, r.index_mismatches), (0, 1), "{r:?}");
		assert!(!r.agrees());
		// Without the source nothing can be excused.
		assert!(!compare_payloads(&other, &want, None).agrees());
	}

	#[test]
	fn headers_and_dense_buffers() {
		let cfg = CodecConfig::default();
		let a =
			Payload::new(vec![compress_tensor(&tensor(vec![1.0, 2.0]), &cfg).unwrap()]).unwrap();
		let b = Payload::new(vec![compress_tensor(&tensor(vec![1.0, 2.0, 3.0]), &cfg).unwrap()])
			.unwrap();
		assert_eq!(compare_payloads(&a, &b, None).header_mismatches, 1);
		assert_eq!(compare_payloads(&a, &Payload::default(), None).header_mismatches, 1);
		assert_eq!(max_dense_diff(&[1.0, 2.0], &[1.0, 2.5]), (0.5, 0.2));
		assert_eq!(max_dense_diff(&[1.0], &[1.0, 2.0]).0, f64::INFINITY);
	}
}
