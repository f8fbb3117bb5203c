//! Per-chunk top-k by magnitude.
//!
//! Ties are broken deterministically: larger magnitude first, then lower chunk-local index.
//! `torch.topk` leaves ties unspecified; fixing the order here makes a payload a pure function of
//! the error-feedback buffer, so two runs of the same peer commit the same hash on chain.
//! Selected indices are emitted in ascending order, which is also the canonical order the
//! decoder demands.

/// Entries kept per chunk: Templar's `_clamp_topk`, `min(topk, len)`, at least 2, rounded down to
/// even.
///
/// One case Templar cannot handle (its `torch.topk` call fails) is a chunk of a single entry,
/// which happens for scalars and for dimensions that are primes above 64 (`s(67) = 1`); such a
/// chunk keeps its one entry, so `k = 1` and the payload's kept count may be odd (the 12-bit
/// packing pads it, see [`super::packing`]).
pub fn effective_k(topk: usize, chunk_len: usize) -> usize {
	if chunk_len < 2 {
		return chunk_len;
	}
	let k = topk.min(chunk_len).max(2);
	k - k % 2
}

/// Reusable top-k selector: keeps its scratch buffer across chunks so the hot loop never
/// allocates.
#[derive(Debug, Default)]
pub struct TopKSelector {
	keys: Vec<u64>,
}

impl TopKSelector {
	/// A selector with an empty scratch buffer.
	pub fn new() -> Self {
		Self::default()
	}

	/// Appends to `out` the chunk-local indices (ascending) of the `k` entries of `chunk` with
	/// the largest magnitude, ties to the lower index. Values must be finite; `k ≤ chunk.len()`
	/// and `chunk.len() ≤ 4096`.
	pub fn select(&mut self, chunk: &[f32], k: usize, out: &mut Vec<u16>) {
		debug_assert!(k <= chunk.len() && chunk.len() <= 1 << 16);
		let start = out.len();
		if k == chunk.len() {
			out.extend((0..chunk.len()).map(|i| i as u16));
			return;
		}
		if k == 0 {
			return;
		}
		// For finite non-negative floats, IEEE-754 bit patterns order like the values, so
		// `|x|` bits in the high word make an integer key; the complemented index in the low
		// word makes every key unique and puts the lower index first among equal magnitudes.
		self.keys.clear();
		self.keys.extend(
			chunk.iter().enumerate().map(|(i, &x)| {
				(u64::from(x.abs().to_bits()) << 32) | u64::from(u32::MAX - i as u32)
			}),
		);
		self.keys.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
		out.extend(self.keys[..k].iter().map(|&key| (u32::MAX - key as u32) as u16));
		out[start..].sort_unstable();
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn k_follows_templar_clamp() {
		assert_eq!(effective_k(64, 4096), 64);
		assert_eq!(effective_k(64, 1856), 64);
		assert_eq!(effective_k(64, 64), 64);
		assert_eq!(effective_k(64, 50), 50);
		assert_eq!(effective_k(64, 63), 62);
		assert_eq!(effective_k(64, 3), 2);
		assert_eq!(effective_k(64, 2), 2);
		assert_eq!(effective_k(1, 100), 2);
		assert_eq!(effective_k(33, 100), 32);
		assert_eq!(effective_k(64, 1), 1);
	}

	#[test]
	fn selects_largest_magnitudes_ascending() {
		let chunk = [0.1, -5.0, 3.0, 0.0, -0.2, 4.0, 1.0, -3.5];
		let mut out = vec![];
		TopKSelector::new().select(&chunk, 4, &mut out);
		assert_eq!(out, vec![1, 2, 5, 7]);
	}

	#[test]
	fn ties_go_to_the_lower_index() {
		let chunk = [1.0, -2.0, 2.0, 1.0, -1.0, 2.0];
		let mut sel = TopKSelector::new();
		let mut out = vec![];
		sel.select(&chunk, 2, &mut out);
		assert_eq!(out, vec![1, 2]);
		out.clear();
		sel.select(&chunk, 4, &mut out);
		assert_eq!(out, vec![0, 1, 2, 5]);
		// All equal, including signed zeros.
		out.clear();
		sel.select(&[0.0, -0.0, 0.0, -0.0], 2, &mut out);
		assert_eq!(out, vec![0, 1]);
	}

	#[test]
	fn whole_chunk_and_appending() {
		let mut out = vec![7];
		TopKSelector::new().select(&[3.0, 1.0], 2, &mut out);
		assert_eq!(out, vec![7, 0, 1]);
	}
}
