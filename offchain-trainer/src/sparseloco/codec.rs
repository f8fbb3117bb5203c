//! Compression and decompression of one tensor, and the payload of one peer.

use std::collections::HashSet;

use super::chunking::{view_2d, ChunkGeometry};
use super::config::{CodecConfig, MAX_BINS};
use super::error::{CodecError, WireError};
use super::quantize::quantize;
use super::tensor::{check_finite, checked_numel, Tensor};
use super::topk::{effective_k, TopKSelector};

/// One tensor after SparseLoCo compression, in unpacked form.
///
/// Entries are ordered chunk by chunk; within a chunk by ascending chunk-local index. Entry `i`
/// has index `indices[i]` in chunk `i / k` and reconstructs to `lut[codes[i]] + shift`.
/// Fields are private so that every value of this type satisfies the checks the decoder makes;
/// that is what lets [`Payload::encode`](super::Payload::encode) be infallible.
#[derive(Debug, Clone, PartialEq)]
pub struct CompressedTensor {
	name: String,
	shape: Vec<usize>,
	geometry: ChunkGeometry,
	k: usize,
	lut: Vec<f32>,
	shift: f32,
	indices: Vec<u16>,
	codes: Vec<u8>,
}

impl CompressedTensor {
	/// Builds a compressed tensor from its parts, with every check the wire decoder makes
	/// (tiling divides the shape, `1 ≤ k ≤ chunk_len`, 2..=4 finite LUT entries, one index and
	/// one code per kept entry, indices strictly increasing inside each chunk, codes `< bins`).
	#[allow(clippy::too_many_arguments)]
	pub fn from_parts(
		name: impl Into<String>,
		shape: Vec<usize>,
		tile_rows: usize,
		tile_cols: usize,
		k: usize,
		lut: Vec<f32>,
		shift: f32,
		indices: Vec<u16>,
		codes: Vec<u8>,
	) -> Result<Self, CodecError> {
		let name = name.into();
		checked_numel(&name, &shape)?;
		let (rows, cols) = view_2d(&shape).ok_or(WireError::TooManyElements {
			what: "tensor",
			count: u64::MAX,
			max: u64::MAX,
		})?;
		let geometry = ChunkGeometry::new(rows, cols, tile_rows, tile_cols)?;
		check_header(&geometry, k, &lut, shift)?;
		let n = geometry.num_chunks() * k;
		if indices.len() != n {
			return Err(WireError::PartLength {
				what: "indices",
				expected: n,
				actual: indices.len(),
			}
			.into());
		}
		if codes.len() != n {
			return Err(
				WireError::PartLength { what: "codes", expected: n, actual: codes.len() }.into()
			);
		}
		check_entries(&geometry, k, lut.len(), &indices, &codes)?;
		Ok(Self { name, shape, geometry, k, lut, shift, indices, codes })
	}

	/// Assembles a tensor whose parts the caller (the decoder) has already checked.
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn from_checked_parts(
		name: String,
		shape: Vec<usize>,
		geometry: ChunkGeometry,
		k: usize,
		lut: Vec<f32>,
		shift: f32,
		indices: Vec<u16>,
		codes: Vec<u8>,
	) -> Self {
		Self { name, shape, geometry, k, lut, shift, indices, codes }
	}

	/// Parameter name.
	pub fn name(&self) -> &str {
		&self.name
	}

	/// Shape of the dense tensor.
	pub fn shape(&self) -> &[usize] {
		&self.shape
	}

	/// Number of elements of the dense tensor.
	pub fn numel(&self) -> usize {
		self.geometry.rows() * self.geometry.cols()
	}

	/// The tiling that was used.
	pub fn geometry(&self) -> &ChunkGeometry {
		&self.geometry
	}

	/// Entries kept per chunk.
	pub fn k(&self) -> usize {
		self.k
	}

	/// Number of quantization bins (the LUT's length).
	pub fn bins(&self) -> usize {
		self.lut.len()
	}

	/// Per-bin reconstruction of the centred values.
	pub fn lut(&self) -> &[f32] {
		&self.lut
	}

	/// Mean of the kept values, added to every reconstructed value.
	pub fn shift(&self) -> f32 {
		self.shift
	}

	/// Chunk-local indices of the kept entries (chunk-major, ascending inside a chunk).
	pub fn indices(&self) -> &[u16] {
		&self.indices
	}

	/// Quantization codes of the kept entries, same order as [`Self::indices`].
	pub fn codes(&self) -> &[u8] {
		&self.codes
	}

	/// Number of kept entries (`num_chunks × k`).
	pub fn num_kept(&self) -> usize {
		self.indices.len()
	}

	/// Reconstructed value of each bin: `lut[b] + shift`, in `f32` as Templar's dequantizer does.
	pub fn bin_values(&self) -> Vec<f32> {
		self.lut.iter().map(|&l| l + self.shift).collect()
	}

	/// Calls `f(flat_position, reconstructed_value)` for every kept entry, in entry order.
	pub fn for_each_entry(&self, mut f: impl FnMut(usize, f32)) {
		let mut values = [0.0f32; MAX_BINS as usize];
		for (v, &l) in values.iter_mut().zip(&self.lut) {
			*v = l + self.shift;
		}
		if self.k == 0 {
			return;
		}
		let entries = self.indices.chunks_exact(self.k).zip(self.codes.chunks_exact(self.k));
		for (chunk, (idx, codes)) in entries.enumerate() {
			let base = self.geometry.position(chunk, 0);
			let (tile_cols, cols) = (self.geometry.tile_cols(), self.geometry.cols());
			for (&i, &c) in idx.iter().zip(codes) {
				let i = usize::from(i);
				// Same as `geometry.position(chunk, i)` with the chunk's base hoisted out.
				let pos = base + (i / tile_cols) * cols + i % tile_cols;
				f(pos, values[usize::from(c) & 3]);
			}
		}
	}

	/// `out[p] += factor · value` at every kept position `p` (`out` is the dense tensor,
	/// row-major). With `factor = -1` this is the error-feedback update `e ← e − ê`.
	pub fn add_scaled_into(&self, out: &mut [f32], factor: f32) -> Result<(), CodecError> {
		if out.len() != self.numel() {
			return Err(CodecError::LengthMismatch {
				name: self.name.clone(),
				shape: self.shape.clone(),
				expected: self.numel(),
				actual: out.len(),
			});
		}
		self.for_each_entry(|p, v| out[p] += factor * v);
		Ok(())
	}

	/// The dense reconstruction `ê`: `lut[code] + shift` at kept positions, zero elsewhere.
	pub fn decompress(&self) -> Tensor {
		let mut data = vec![0.0; self.numel()];
		self.for_each_entry(|p, v| data[p] = v);
		Tensor { name: self.name.clone(), shape: self.shape.clone(), data }
	}

	/// L2 norm of the reconstructed kept values (the norm Templar clips peers by).
	///
	/// Computed from code counts, so it is exact to `f64` and needs no dense tensor.
	pub fn norm(&self) -> f64 {
		let mut counts = [0u64; MAX_BINS as usize];
		for &c in &self.codes {
			counts[usize::from(c) & 3] += 1;
		}
		counts
			.iter()
			.zip(self.bin_values())
			.map(|(&n, v)| n as f64 * f64::from(v) * f64::from(v))
			.sum::<f64>()
			.sqrt()
	}

	/// Checks that this tensor follows the protocol's rules for `config`: Templar's tiling for
	/// its shape, `k` from [`effective_k`], and `config.bins` bins. The decoder accepts any
	/// well-formed tiling; a validator calls this to refuse payloads that, for example, keep more
	/// entries than the protocol allows.
	pub fn check_conforms(&self, config: &CodecConfig) -> Result<(), CodecError> {
		let bad = |reason| CodecError::NonConforming { name: self.name.clone(), reason };
		if ChunkGeometry::for_shape(&self.shape, config.chunk_target) != self.geometry {
			return Err(bad("tiling is not Templar's split of the shape"));
		}
		if self.k != effective_k(config.topk, self.geometry.chunk_len()) {
			return Err(bad("top-k differs from the configured one"));
		}
		if self.lut.len() != usize::from(config.bins) {
			return Err(bad("bin count differs from the configured one"));
		}
		Ok(())
	}
}

/// Checks the per-tensor header fields shared by the decoder and `from_parts`.
pub(crate) fn check_header(
	geometry: &ChunkGeometry,
	k: usize,
	lut: &[f32],
	shift: f32,
) -> Result<(), WireError> {
	let chunk_len = geometry.chunk_len();
	if k == 0 || k > chunk_len {
		return Err(WireError::InvalidTopK { k, chunk_len });
	}
	if !(2..=usize::from(MAX_BINS)).contains(&lut.len()) {
		return Err(WireError::InvalidBins(lut.len()));
	}
	// `lut[b] + shift` must be finite too: it is what lands in every peer's weights.
	if !shift.is_finite() || !lut.iter().all(|&l| l.is_finite() && (l + shift).is_finite()) {
		return Err(WireError::NonFiniteParameter);
	}
	Ok(())
}

/// Checks the per-entry streams: codes below `bins`, indices below the chunk length and
/// strictly increasing inside each chunk (no duplicates, one canonical order).
pub(crate) fn check_entries(
	geometry: &ChunkGeometry,
	k: usize,
	bins: usize,
	indices: &[u16],
	codes: &[u8],
) -> Result<(), WireError> {
	if let Some(entry) = codes.iter().position(|&c| usize::from(c) >= bins) {
		return Err(WireError::CodeOutOfRange { entry, code: codes[entry], bins });
	}
	let chunk_len = geometry.chunk_len();
	for (chunk, idx) in indices.chunks(k.max(1)).enumerate() {
		let mut prev: Option<u16> = None;
		for &index in idx {
			if usize::from(index) >= chunk_len {
				return Err(WireError::IndexOutOfRange { chunk, index, chunk_len });
			}
			if prev.is_some_and(|p| p >= index) {
				return Err(WireError::IndicesNotIncreasing { chunk });
			}
			prev = Some(index);
		}
	}
	Ok(())
}

/// Reusable scratch space for compressing many tensors without reallocating per tensor.
#[derive(Debug, Default)]
pub struct Compressor {
	selector: TopKSelector,
	tile: Vec<f32>,
	values: Vec<f32>,
}

impl Compressor {
	/// A compressor with empty scratch buffers.
	pub fn new() -> Self {
		Self::default()
	}

	/// Compresses one dense tensor given as a name, a shape and row-major values: Templar
	/// chunking, per-chunk top-k by magnitude, then the 2-bit quantizer over all kept values.
	///
	/// Refuses invalid configs, invalid names or shapes, a length that does not match the
	/// shape, and any NaN or ±Inf value.
	pub fn compress(
		&mut self,
		name: &str,
		shape: &[usize],
		data: &[f32],
		config: &CodecConfig,
	) -> Result<CompressedTensor, CodecError> {
		config.validate()?;
		let numel = checked_numel(name, shape)?;
		if data.len() != numel {
			return Err(CodecError::LengthMismatch {
				name: name.to_owned(),
				shape: shape.to_vec(),
				expected: numel,
				actual: data.len(),
			});
		}
		check_finite(name, data)?;

		let geometry = ChunkGeometry::for_shape(shape, config.chunk_target);
		let chunk_len = geometry.chunk_len();
		let k = effective_k(config.topk, chunk_len);
		let kept = geometry.num_chunks() * k;
		let mut indices = Vec::with_capacity(kept);
		self.values.clear();
		self.values.reserve(kept);
		self.tile.resize(chunk_len, 0.0);
		let contiguous = geometry.is_contiguous();
		for chunk in 0..geometry.num_chunks() {
			let tile: &[f32] = if contiguous {
				&data[chunk * chunk_len..(chunk + 1) * chunk_len]
			} else {
				geometry.gather(data, chunk, &mut self.tile);
				&self.tile
			};
			let start = indices.len();
			self.selector.select(tile, k, &mut indices);
			self.values.extend(indices[start..].iter().map(|&i| tile[usize::from(i)]));
		}

		let q = quantize(&self.values, config.bins, config.range)
			.ok_or_else(|| CodecError::NonFiniteStatistics { name: name.to_owned() })?;
		Ok(CompressedTensor {
			name: name.to_owned(),
			shape: shape.to_vec(),
			geometry,
			k,
			lut: q.lut,
			shift: q.shift,
			indices,
			codes: q.codes,
		})
	}
}

/// Compresses one tensor (see [`Compressor::compress`]).
pub fn compress_tensor(
	tensor: &Tensor,
	config: &CodecConfig,
) -> Result<CompressedTensor, CodecError> {
	Compressor::new().compress(&tensor.name, &tensor.shape, &tensor.data, config)
}

/// Everything one peer publishes for one outer round: its compressed tensors, unique by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
	tensors: Vec<CompressedTensor>,
}

impl Payload {
	/// Builds a payload, refusing duplicate names and more tensors than the wire's `u32` count.
	pub fn new(tensors: Vec<CompressedTensor>) -> Result<Self, CodecError> {
		if u32::try_from(tensors.len()).is_err() {
			return Err(CodecError::InvalidConfig("more than u32::MAX tensors in one payload"));
		}
		let mut seen = HashSet::with_capacity(tensors.len());
		for t in &tensors {
			if !seen.insert(t.name()) {
				return Err(CodecError::DuplicateName(t.name.clone()));
			}
		}
		Ok(Self { tensors })
	}

	/// Wraps tensors the decoder has already checked (unique names, count within limits).
	pub(crate) fn from_checked(tensors: Vec<CompressedTensor>) -> Self {
		Self { tensors }
	}

	/// Compresses every tensor of a model (or of a pseudo-gradient) with one config.
	pub fn compress(tensors: &[Tensor], config: &CodecConfig) -> Result<Self, CodecError> {
		let mut c = Compressor::new();
		let out = tensors
			.iter()
			.map(|t| c.compress(&t.name, &t.shape, &t.data, config))
			.collect::<Result<Vec<_>, _>>()?;
		Self::new(out)
	}

	/// The compressed tensors, in payload order.
	pub fn tensors(&self) -> &[CompressedTensor] {
		&self.tensors
	}

	/// The compressed tensor with this name, if present.
	pub fn get(&self, name: &str) -> Option<&CompressedTensor> {
		self.tensors.iter().find(|t| t.name == name)
	}

	/// Total kept entries over all tensors.
	pub fn num_kept(&self) -> usize {
		self.tensors.iter().map(CompressedTensor::num_kept).sum()
	}

	/// Dense reconstruction of every tensor.
	pub fn decompress(&self) -> Vec<Tensor> {
		self.tensors.iter().map(CompressedTensor::decompress).collect()
	}

	/// Checks the payload against the model it claims to update: every tensor must exist in
	/// `model` with the same shape, and follow the protocol's rules for `config`
	/// ([`CompressedTensor::check_conforms`]). Tensors of the model that the payload omits are
	/// allowed (the aggregator treats them as a zero contribution).
	pub fn check_against(&self, model: &[Tensor], config: &CodecConfig) -> Result<(), CodecError> {
		for t in &self.tensors {
			let m = model
				.iter()
				.find(|m| m.name == t.name)
				.ok_or_else(|| CodecError::UnknownTensor(t.name.clone()))?;
			if m.shape != t.shape {
				return Err(CodecError::ShapeMismatch {
					name: t.name.clone(),
					expected: m.shape.clone(),
					actual: t.shape.clone(),
				});
			}
			t.check_conforms(config)?;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn ramp(name: &str, shape: Vec<usize>) -> Tensor {
		let n: usize = shape.iter().product();
		// Distinct magnitudes, mixed signs, so the top-k is unambiguous.
		let data =
			(0..n).map(|i| ((i * 37) % n) as f32 * if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
		Tensor::new(name, shape, data).unwrap()
	}

	/// Reference top-k by sorting (larger magnitude first, then lower index), per chunk.
	fn reference_indices(t: &Tensor, config: &CodecConfig) -> Vec<u16> {
		let g = ChunkGeometry::for_shape(&t.shape, config.chunk_target);
		let k = effective_k(config.topk, g.chunk_len());
		let mut out = vec![];
		for c in 0..g.num_chunks() {
			let mut v: Vec<(f32, u16)> =
				(0..g.chunk_len()).map(|l| (t.data[g.position(c, l)].abs(), l as u16)).collect();
			v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
			let mut idx: Vec<u16> = v[..k].iter().map(|x| x.1).collect();
			idx.sort_unstable();
			out.extend(idx);
		}
		out
	}

	#[test]
	fn compress_keeps_top_k_per_chunk_and_reconstructs_from_lut() {
		let cfg = CodecConfig::default();
		for shape in
			[vec![128, 128], vec![100, 96], vec![67, 64], vec![768], vec![50], vec![2, 3, 64]]
		{
			let t = ramp("w", shape.clone());
			let c = compress_tensor(&t, &cfg).unwrap();
			assert_eq!(c.indices(), reference_indices(&t, &cfg).as_slice(), "{shape:?}");
			let dense = c.decompress();
			assert_eq!(dense.shape, shape);
			let bins = c.bin_values();
			let mut kept = vec![false; t.numel()];
			c.for_each_entry(|p, v| {
				kept[p] = true;
				assert_eq!(dense.data[p], v);
			});
			for (p, &k) in kept.iter().enumerate() {
				if !k {
					assert_eq!(dense.data[p], 0.0);
				}
			}
			for (e, &code) in c.codes().iter().enumerate() {
				assert!(usize::from(code) < bins.len(), "entry {e}");
			}
		}
	}

	#[test]
	fn kept_counts_for_spec_shapes() {
		let cfg = CodecConfig::default();
		// 64×64 tiles: 64 of 4096 kept.
		let c = compress_tensor(&ramp("a", vec![128, 192]), &cfg).unwrap();
		assert_eq!((c.k(), c.num_kept()), (64, 6 * 64));
		// 1-D of 768: chunks of 64 with k = 64, so the whole tensor is sent.
		let c = compress_tensor(&ramp("b", vec![768]), &cfg).unwrap();
		assert_eq!((c.k(), c.num_kept()), (64, 768));
		// 100 × 96: tiles 50 × 48 = 2400 entries, 4 tiles, 64 kept each.
		let c = compress_tensor(&ramp("c", vec![100, 96]), &cfg).unwrap();
		assert_eq!((c.geometry().chunk_len(), c.num_kept()), (2400, 256));
		// 1-D prime length 67: s(67) = 1, so 67 single-entry chunks with k = 1 (odd count).
		let c = compress_tensor(&ramp("d", vec![67]), &cfg).unwrap();
		assert_eq!((c.k(), c.num_kept()), (1, 67));
	}

	#[test]
	fn hand_computed_tensor() {
		// 1-D of 4: one chunk, k = 4: quantizer example [-3, -1, 1, 3] -> [-3, 0, 0, 3].
		let t = Tensor::new("b", vec![4], vec![-3.0, -1.0, 1.0, 3.0]).unwrap();
		let c = compress_tensor(&t, &CodecConfig::default()).unwrap();
		assert_eq!(c.indices(), &[0, 1, 2, 3]);
		assert_eq!(c.codes(), &[1, 2, 2, 3]);
		assert_eq!(c.decompress().data, vec![-3.0, 0.0, 0.0, 3.0]);
		assert_eq!(c.norm(), 18f64.sqrt());
	}

	#[test]
	fn refuses_non_finite_and_bad_lengths() {
		let cfg = CodecConfig::default();
		let mut c = Compressor::new();
		assert_eq!(
			c.compress("w", &[3], &[1.0, f32::INFINITY, 0.0], &cfg),
			Err(CodecError::NonFinite { name: "w".into(), index: 1 })
		);
		assert!(matches!(
			c.compress("w", &[3], &[1.0], &cfg),
			Err(CodecError::LengthMismatch { .. })
		));
		assert!(matches!(
			c.compress("w", &[3], &[1.0; 3], &CodecConfig { bins: 9, ..cfg }),
			Err(CodecError::InvalidConfig(_))
		));
	}

	#[test]
	fn from_parts_checks_everything() {
		let ok = |idx: Vec<u16>, codes: Vec<u8>| {
			CompressedTensor::from_parts("w", vec![8], 1, 8, 2, vec![0.0; 4], 0.0, idx, codes)
		};
		assert!(ok(vec![1, 5], vec![0, 3]).is_ok());
		assert!(matches!(
			ok(vec![5, 1], vec![0, 3]),
			Err(CodecError::Wire(WireError::IndicesNotIncreasing { chunk: 0 }))
		));
		assert!(matches!(
			ok(vec![1, 1], vec![0, 3]),
			Err(CodecError::Wire(WireError::IndicesNotIncreasing { .. }))
		));
		assert!(matches!(
			ok(vec![1, 8], vec![0, 3]),
			Err(CodecError::Wire(WireError::IndexOutOfRange { index: 8, .. }))
		));
		assert!(matches!(
			ok(vec![1, 2], vec![0, 4]),
			Err(CodecError::Wire(WireError::CodeOutOfRange { code: 4, .. }))
		));
		assert!(matches!(
			ok(vec![1], vec![0]),
			Err(CodecError::Wire(WireError::PartLength { .. }))
		));
		let bad_tile =
			CompressedTensor::from_parts("w", vec![8], 1, 3, 2, vec![0.0; 4], 0.0, vec![], vec![]);
		assert!(matches!(bad_tile, Err(CodecError::Wire(WireError::InvalidChunking { .. }))));
		let nan = CompressedTensor::from_parts(
			"w",
			vec![2],
			1,
			2,
			2,
			vec![0.0, f32::NAN],
			0.0,
			vec![0, 1],
			vec![0, 0],
		);
		assert!(matches!(nan, Err(CodecError::Wire(WireError::NonFiniteParameter))));
	}

	#[test]
	fn conformance() {
		let cfg = CodecConfig::default();
		let c = compress_tensor(&ramp("w", vec![128, 128]), &cfg).unwrap();
		assert!(c.check_conforms(&cfg).is_ok());
		assert!(c.check_conforms(&CodecConfig { topk: 32, ..cfg }).is_err());
		assert!(c.check_conforms(&CodecConfig { chunk_target: 32, ..cfg }).is_err());
		assert!(c.check_conforms(&CodecConfig { bins: 3, ..cfg }).is_err());
	}

	#[test]
	fn payload_refuses_duplicates_and_checks_model() {
		let cfg = CodecConfig::default();
		let t = ramp("w", vec![64, 64]);
		let c = compress_tensor(&t, &cfg).unwrap();
		assert_eq!(
			Payload::new(vec![c.clone(), c.clone()]),
			Err(CodecError::DuplicateName("w".into()))
		);
		let p = Payload::new(vec![c]).unwrap();
		assert!(p.check_against(std::slice::from_ref(&t), &cfg).is_ok());
		assert!(matches!(p.check_against(&[], &cfg), Err(CodecError::UnknownTensor(_))));
		let other = ramp("w", vec![32, 128]);
		assert!(matches!(p.check_against(&[other], &cfg), Err(CodecError::ShapeMismatch { .. })));
	}
}
