//! Templar's chunking: how a tensor is cut into the chunks that top-k runs on.
//!
//! Every dimension of size `n` is split by `s(n)`, the largest divisor of `n` that is at most
//! the chunk target (64), so `s(n) = n` when `n ≤ 64` and `s(p) = 1` for a prime `p > 64`.
//! A 2-D tensor `(R, C)` becomes `R/s(R) × C/s(C)` tiles of `s(R) × s(C)` entries; tiles are
//! numbered row-major over the tile grid and each tile is flattened row-major into one chunk
//! (Templar's `rearrange("(y h) (x w) -> y x (h w)")`). A 1-D tensor of length `n` becomes
//! chunks of `s(n)` consecutive entries, which is the same as viewing it as `(1, n)`.
//!
//! Decisions beyond the spec (Templar only handles rank 1 and 2):
//! - rank 0 (a scalar) is viewed as `(1, 1)`: one chunk of one entry;
//! - rank ≥ 3 is viewed as 2-D with `rows = product of all leading dims`, `cols = last dim`, the
//!   same view `x.reshape(-1, x.shape[-1])` gives in PyTorch, so row-major data needs no copy.

use super::config::MAX_CHUNK_LEN;
use super::error::WireError;

/// Templar's split: the largest divisor of `n` that is `≤ target` (`n` itself when `n ≤ target`).
///
/// `n = 0` has no meaningful split and returns 0; callers refuse zero-sized dimensions first.
pub fn split(n: usize, target: usize) -> usize {
	if n <= target {
		return n;
	}
	// `target ≤ 64`, so scanning down is at most 64 cheap modulo operations per dimension.
	(1..=target).rev().find(|&d| n.is_multiple_of(d)).unwrap_or(1)
}

/// The 2-D view `(rows, cols)` the codec uses for a shape (see the module docs for rank 0 and ≥ 3).
///
/// Returns `None` if the product overflows `u64`.
pub fn view_2d(shape: &[usize]) -> Option<(u64, u64)> {
	match shape {
		[] => Some((1, 1)),
		[n] => Some((1, u64::try_from(*n).ok()?)),
		[lead @ .., last] => {
			let mut rows: u64 = 1;
			for &d in lead {
				rows = rows.checked_mul(u64::try_from(d).ok()?)?;
			}
			Some((rows, u64::try_from(*last).ok()?))
		}
	}
}

/// How one tensor is tiled: the 2-D view and the tile size, with chunk ↔ position mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkGeometry {
	rows: usize,
	cols: usize,
	tile_rows: usize,
	tile_cols: usize,
}

impl ChunkGeometry {
	/// Templar's tiling of `shape` for the given chunk target (`≤ 64`).
	///
	/// The shape must already be validated (non-zero dims, element count fits `usize`).
	pub fn for_shape(shape: &[usize], chunk_target: usize) -> Self {
		let (rows, cols) = view_2d(shape).unwrap_or((1, 1));
		// Validated shapes have a `usize` element count, so both factors fit `usize` too.
		let rows = usize::try_from(rows).unwrap_or(usize::MAX);
		let cols = usize::try_from(cols).unwrap_or(usize::MAX);
		Self {
			rows,
			cols,
			tile_rows: split(rows, chunk_target),
			tile_cols: split(cols, chunk_target),
		}
	}

	/// Checks a tiling read from untrusted bytes: the tile must be non-empty, divide the view
	/// exactly and hold at most 4096 entries (so chunk-local indices fit in 12 bits).
	pub fn new(
		rows: u64,
		cols: u64,
		tile_rows: usize,
		tile_cols: usize,
	) -> Result<Self, WireError> {
		let invalid = WireError::InvalidChunking { rows, cols, tile_rows, tile_cols };
		let (Ok(r), Ok(c)) = (usize::try_from(rows), usize::try_from(cols)) else {
			return Err(invalid);
		};
		if r.checked_mul(c).is_none() || tile_rows == 0 || tile_cols == 0 {
			return Err(invalid);
		}
		if r % tile_rows != 0 || c % tile_cols != 0 {
			return Err(invalid);
		}
		match tile_rows.checked_mul(tile_cols) {
			Some(len) if len <= MAX_CHUNK_LEN => {}
			_ => return Err(invalid),
		}
		Ok(Self { rows: r, cols: c, tile_rows, tile_cols })
	}

	/// Rows of the 2-D view.
	pub fn rows(&self) -> usize {
		self.rows
	}

	/// Columns of the 2-D view.
	pub fn cols(&self) -> usize {
		self.cols
	}

	/// Rows of one tile.
	pub fn tile_rows(&self) -> usize {
		self.tile_rows
	}

	/// Columns of one tile.
	pub fn tile_cols(&self) -> usize {
		self.tile_cols
	}

	/// Entries per chunk (`tile_rows × tile_cols`, at most 4096).
	pub fn chunk_len(&self) -> usize {
		self.tile_rows * self.tile_cols
	}

	/// Tiles along the column axis.
	pub fn tiles_per_row(&self) -> usize {
		self.cols / self.tile_cols
	}

	/// Number of chunks (`numel / chunk_len`).
	pub fn num_chunks(&self) -> usize {
		(self.rows / self.tile_rows) * self.tiles_per_row()
	}

	/// Flat row-major position in the tensor of entry `local` of chunk `chunk`.
	///
	/// Callers guarantee `chunk < num_chunks()` and `local < chunk_len()`.
	#[inline]
	pub fn position(&self, chunk: usize, local: usize) -> usize {
		let tiles_per_row = self.tiles_per_row();
		let (ty, tx) = (chunk / tiles_per_row, chunk % tiles_per_row);
		let (h, w) = (local / self.tile_cols, local % self.tile_cols);
		(ty * self.tile_rows + h) * self.cols + tx * self.tile_cols + w
	}

	/// Whether every chunk is one contiguous run of the row-major data (1-row tiles, or tiles as
	/// wide as the tensor), in which case chunk `c` is `data[c·len .. (c+1)·len]`.
	pub fn is_contiguous(&self) -> bool {
		self.tile_rows == 1 || self.tile_cols == self.cols
	}

	/// Copies chunk `chunk` of `data` (row-major tensor values) into `out`, row-major within
	/// the tile. `out.len()` must be `chunk_len()`.
	pub fn gather(&self, data: &[f32], chunk: usize, out: &mut [f32]) {
		let tiles_per_row = self.tiles_per_row();
		let (ty, tx) = (chunk / tiles_per_row, chunk % tiles_per_row);
		let first = ty * self.tile_rows * self.cols + tx * self.tile_cols;
		for (h, dst) in out.chunks_exact_mut(self.tile_cols).enumerate() {
			let start = first + h * self.cols;
			dst.copy_from_slice(&data[start..start + self.tile_cols]);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn split_is_largest_divisor_up_to_64() {
		let cases = [
			(1, 1),
			(7, 7),
			(63, 63),
			(64, 64),
			(65, 13),
			(67, 1),
			(96, 48),
			(100, 50),
			(130, 26),
			(768, 64),
			(3072, 64),
			(4096, 64),
			(50257, 29),
			(50304, 64),
		];
		for (n, s) in cases {
			assert_eq!(split(n, 64), s, "s({n})");
		}
	}

	#[test]
	fn views() {
		assert_eq!(view_2d(&[]), Some((1, 1)));
		assert_eq!(view_2d(&[5]), Some((1, 5)));
		assert_eq!(view_2d(&[5, 7]), Some((5, 7)));
		assert_eq!(view_2d(&[2, 3, 4, 5]), Some((24, 5)));
		assert_eq!(view_2d(&[usize::MAX, usize::MAX, 1]), None);
	}

	#[test]
	fn divisible_2d_has_64x64_tiles() {
		let g = ChunkGeometry::for_shape(&[128, 192], 64);
		assert_eq!(
			(g.tile_rows(), g.tile_cols(), g.chunk_len(), g.num_chunks()),
			(64, 64, 4096, 6)
		);
		// Chunk 4 is tile (row 1, col 1); its entry 65 is row 1 col 1 inside the tile.
		assert_eq!(g.position(4, 65), (64 + 1) * 192 + 64 + 1);
	}

	#[test]
	fn non_divisible_2d_uses_smaller_tiles() {
		// GPT-2's embedding: 50257 is 29 × 1733, so tiles are 29 × 64 = 1856 entries.
		let g = ChunkGeometry::for_shape(&[50257, 768], 64);
		assert_eq!((g.tile_rows(), g.tile_cols(), g.chunk_len()), (29, 64, 1856));
		assert_eq!(g.num_chunks(), 1733 * 12);
		let g = ChunkGeometry::for_shape(&[100, 67], 64);
		assert_eq!((g.tile_rows(), g.tile_cols(), g.chunk_len(), g.num_chunks()), (50, 1, 50, 134));
	}

	#[test]
	fn one_d_chunks_are_consecutive() {
		let g = ChunkGeometry::for_shape(&[768], 64);
		assert_eq!((g.tile_rows(), g.tile_cols(), g.num_chunks()), (1, 64, 12));
		assert_eq!(g.position(3, 5), 3 * 64 + 5);
		let g = ChunkGeometry::for_shape(&[50], 64);
		assert_eq!((g.chunk_len(), g.num_chunks()), (50, 1));
		let g = ChunkGeometry::for_shape(&[], 64);
		assert_eq!((g.chunk_len(), g.num_chunks()), (1, 1));
	}

	#[test]
	fn higher_rank_flattens_leading_dims() {
		let g = ChunkGeometry::for_shape(&[4, 32, 96], 64);
		assert_eq!((g.rows(), g.cols(), g.tile_rows(), g.tile_cols()), (128, 96, 64, 48));
	}

	#[test]
	fn every_position_is_hit_exactly_once_and_gather_agrees() {
		for shape in [vec![12, 10], vec![7], vec![3, 4, 6], vec![130, 65]] {
			let g = ChunkGeometry::for_shape(&shape, 8);
			let n: usize = shape.iter().product();
			let data: Vec<f32> = (0..n).map(|i| i as f32).collect();
			let mut seen = vec![false; n];
			let mut buf = vec![0.0; g.chunk_len()];
			for c in 0..g.num_chunks() {
				g.gather(&data, c, &mut buf);
				for (l, &v) in buf.iter().enumerate() {
					let p = g.position(c, l);
					assert_eq!(v, p as f32);
					assert!(!seen[p]);
					seen[p] = true;
				}
			}
			assert!(seen.iter().all(|&s| s), "{shape:?}");
		}
	}

	#[test]
	fn untrusted_tiling_is_checked() {
		assert!(ChunkGeometry::new(128, 128, 64, 64).is_ok());
		assert!(ChunkGeometry::new(128, 128, 0, 64).is_err());
		assert!(ChunkGeometry::new(128, 128, 64, 3).is_err());
		assert!(ChunkGeometry::new(128, 128, 128, 64).is_err()); // 8192 entries > 4096
		assert!(ChunkGeometry::new(1, 8192, 1, 4096).is_ok());
		assert!(ChunkGeometry::new(u64::MAX, 2, 1, 1).is_err());
	}
}
