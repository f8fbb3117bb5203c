//! The byte format of a payload, and its hardened decoder.
//!
//! All integers and floats are little-endian; there is no alignment padding. Layout, version 2:
//!
//! ```text
//! offset  size        field
//! 0       4           magic "SLCO" (0x53 0x4C 0x43 0x4F)
//! 4       2           version, u16 = 2
//! 6       4           tensor count T, u32
//! 10      ...         T tensor records, back to back
//!
//! tensor record:
//!         2           name length L, u16 (1..)
//!         L           name, UTF-8
//!         1           rank D, u8
//!         4·D         dims, u32 each, outermost first, each ≥ 1
//!         2           tile rows, u16      (chunking: tile = tile rows × tile cols,
//!         2           tile cols, u16       dividing the (rows, cols) view of the shape)
//!         2           k, u16: kept entries per chunk, 1..=tile rows·tile cols
//!         1           bins B, u8 in 2..=4
//!         4           shift, f32
//!         4·B         LUT, B × f32
//!         ⌈N/4⌉       codes, 2 bits each, 4 per byte, LSB first (N = chunks · k)
//!         ⌈3N/2⌉      indices, 12 bits each, 2 per 3 bytes (layout in `packing`); absent when
//!                     k = tile rows·tile cols
//! ```
//!
//! The number of kept entries `N` is not stored: it follows from the shape, the tile and `k`, so
//! the lengths can never disagree with each other. A chunk kept whole (k equal to its length, as
//! every chunk of a 1-D tensor of ≤ 64 entries per chunk is) has strictly increasing indices that
//! can only be `0..k`: they carry no information, so version 2 leaves them out (version 1 sent
//! them; a `tiny` model's norm weights then cost 14 bits per entry instead of 2, 6% of its payload). Everything a record needs is derived and
//! bounded before the record's streams are read, and nothing is allocated in proportion to a
//! declared size until the bytes backing it are known to be present; so memory use is at most a
//! small multiple of the input length. The encoding is canonical (zero padding, strictly
//! increasing indices, no trailing bytes): `encode(decode(b)) == b` for every accepted `b`.

use std::collections::HashSet;

use super::chunking::{view_2d, ChunkGeometry};
use super::codec::{check_entries, check_header, CompressedTensor, Payload};
use super::config::{CodecConfig, MAX_BINS};
use super::error::WireError;
use super::packing::{
	pack_codes, pack_indices, packed_codes_len, packed_indices_len, unpack_codes, unpack_indices,
};
use super::tensor::{Tensor, MAX_RANK};
use super::topk::effective_k;

/// The four bytes every payload starts with.
pub const MAGIC: [u8; 4] = *b"SLCO";

/// The format version this module writes and reads.
pub const WIRE_VERSION: u16 = 2;

/// Bytes of the payload header (magic, version, tensor count).
pub const PAYLOAD_HEADER_BYTES: usize = 4 + 2 + 4;

/// Bytes of a tensor record that do not depend on the name, rank, bins or kept count.
const RECORD_FIXED_BYTES: usize = 2 + 1 + 2 + 2 + 2 + 1 + 4;

/// Smallest possible tensor record: 1-byte name, rank 0, 2 bins, one kept entry.
const MIN_RECORD_BYTES: usize = RECORD_FIXED_BYTES + 1 + 2 * 4 + 1 + 2;

/// Whether a record carries its index stream: not when every chunk is kept whole, since its
/// canonical indices are then `0..k` in every chunk (see the module docs).
pub(crate) fn indices_on_wire(geometry: &ChunkGeometry, k: usize) -> bool {
	k < geometry.chunk_len()
}

/// Bytes of a record's index stream for `n` kept entries (`None` on overflow).
pub(crate) fn index_stream_len(geometry: &ChunkGeometry, k: usize, n: usize) -> Option<usize> {
	if indices_on_wire(geometry, k) {
		packed_indices_len(n)
	} else {
		Some(0)
	}
}

/// Caller-chosen bounds on what a payload may declare. Every one is checked before the
/// corresponding allocation, so a hostile payload cannot make the decoder (or a later
/// decompression into dense tensors) use more memory than these allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
	/// Largest accepted input, in bytes.
	pub max_payload_bytes: usize,
	/// Most tensor records.
	pub max_tensors: usize,
	/// Longest tensor name, in bytes.
	pub max_name_len: usize,
	/// Highest rank (never above 8).
	pub max_rank: usize,
	/// Most elements of one dense tensor (bounds the memory `decompress` allocates).
	pub max_tensor_elements: u64,
	/// Most elements summed over the payload's tensors.
	pub max_total_elements: u64,
}

impl DecodeLimits {
	/// Generous limits for an input of at most `max_payload_bytes`: 65 536 tensors, 1 KiB names,
	/// rank 8, 2³⁴ elements per tensor and 2⁴⁰ in all. Prefer [`Self::for_model`] when the model
	/// is known.
	pub fn new(max_payload_bytes: usize) -> Self {
		Self {
			max_payload_bytes,
			max_tensors: 1 << 16,
			max_name_len: 1024,
			max_rank: MAX_RANK,
			max_tensor_elements: 1 << 34,
			max_total_elements: 1 << 40,
		}
	}

	/// The tightest limits that still accept a payload for `model`: as many tensors as the model
	/// has, its longest name, its highest rank, its largest tensor and its total size.
	pub fn for_model(model: &[Tensor], max_payload_bytes: usize) -> Self {
		Self {
			max_payload_bytes,
			max_tensors: model.len(),
			max_name_len: model.iter().map(|t| t.name.len()).max().unwrap_or(0),
			max_rank: model.iter().map(|t| t.shape.len()).max().unwrap_or(0).min(MAX_RANK),
			max_tensor_elements: model.iter().map(|t| t.numel() as u64).max().unwrap_or(0),
			max_total_elements: model.iter().map(|t| t.numel() as u64).sum(),
		}
	}
}

impl CompressedTensor {
	/// Bytes this tensor's record takes on the wire.
	pub fn encoded_len(&self) -> usize {
		let n = self.num_kept();
		RECORD_FIXED_BYTES
			+ self.name().len()
			+ 4 * self.shape().len()
			+ 4 * self.bins()
			+ packed_codes_len(n)
			+ index_stream_len(self.geometry(), self.k(), n).unwrap_or(usize::MAX)
	}

	fn encode_into(&self, out: &mut Vec<u8>) {
		let header = RecordHeader {
			name: self.name(),
			shape: self.shape(),
			geometry: self.geometry(),
			k: self.k(),
			bins: self.bins(),
		};
		header.encode_into(out);
		out.extend_from_slice(&self.shift().to_le_bytes());
		for &l in self.lut() {
			out.extend_from_slice(&l.to_le_bytes());
		}
		pack_codes(self.codes(), out);
		if indices_on_wire(self.geometry(), self.k()) {
			pack_indices(self.indices(), out);
		}
	}
}

/// The fields of a tensor record that precede its shift: everything but the values. The GPU
/// codec writes these once per model and fills in shift, LUT and streams every round.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordHeader<'a> {
	/// Parameter name (1..=65535 bytes).
	pub name: &'a str,
	/// Dense shape (rank ≤ 8, dims ≤ u32::MAX).
	pub shape: &'a [usize],
	/// The tiling.
	pub geometry: &'a ChunkGeometry,
	/// Kept entries per chunk (≤ 4096).
	pub k: usize,
	/// LUT length (2..=4).
	pub bins: usize,
}

impl RecordHeader<'_> {
	/// Appends the header. Every field fits its wire width: `from_parts`, `Compressor`, the
	/// decoder and the GPU layout check names ≤ u16::MAX bytes, rank ≤ 8, dims ≤ u32::MAX, tiles
	/// and k ≤ 4096, bins ≤ 4.
	pub fn encode_into(&self, out: &mut Vec<u8>) {
		out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
		out.extend_from_slice(self.name.as_bytes());
		out.push(self.shape.len() as u8);
		for &d in self.shape {
			out.extend_from_slice(&(d as u32).to_le_bytes());
		}
		out.extend_from_slice(&(self.geometry.tile_rows() as u16).to_le_bytes());
		out.extend_from_slice(&(self.geometry.tile_cols() as u16).to_le_bytes());
		out.extend_from_slice(&(self.k as u16).to_le_bytes());
		out.push(self.bins as u8);
	}
}

impl Payload {
	/// The most bytes a payload for `model` that conforms to `config` can take on the wire:
	/// every tensor present, every chunk keeping its `k` entries. A commitment to more bytes
	/// cannot be a valid payload of the run, so a peer's fetch budget never counts more.
	pub fn max_encoded_len(model: &[Tensor], config: &CodecConfig) -> usize {
		let records = model.iter().map(|t| {
			let geometry = ChunkGeometry::for_shape(&t.shape, config.chunk_target);
			let k = effective_k(config.topk, geometry.chunk_len());
			let kept = geometry.num_chunks().saturating_mul(k);
			RECORD_FIXED_BYTES
				+ t.name.len()
				+ 4 * t.shape.len()
				+ 4 * usize::from(config.bins)
				+ packed_codes_len(kept)
				+ index_stream_len(&geometry, k, kept).unwrap_or(usize::MAX)
		});
		records.fold(PAYLOAD_HEADER_BYTES, usize::saturating_add)
	}

	/// Bytes [`Self::encode`] produces.
	pub fn encoded_len(&self) -> usize {
		PAYLOAD_HEADER_BYTES
			+ self.tensors().iter().map(CompressedTensor::encoded_len).sum::<usize>()
	}

	/// Serialises the payload (see the module docs for the layout). Infallible: every
	/// `Payload` satisfies the format's bounds by construction.
	pub fn encode(&self) -> Vec<u8> {
		let mut out = Vec::with_capacity(self.encoded_len());
		out.extend_from_slice(&MAGIC);
		out.extend_from_slice(&WIRE_VERSION.to_le_bytes());
		out.extend_from_slice(&(self.tensors().len() as u32).to_le_bytes());
		for t in self.tensors() {
			t.encode_into(&mut out);
		}
		out
	}

	/// Parses and fully validates untrusted bytes. Never panics; returns a [`WireError`] for any
	/// malformed, truncated, non-canonical or over-limit input.
	pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Self, WireError> {
		if bytes.len() > limits.max_payload_bytes {
			return Err(WireError::PayloadTooLarge {
				len: bytes.len(),
				max: limits.max_payload_bytes,
			});
		}
		let mut r = Reader { buf: bytes, pos: 0 };
		if r.take(4)? != MAGIC {
			return Err(WireError::BadMagic);
		}
		let version = r.u16()?;
		if version != WIRE_VERSION {
			return Err(WireError::UnsupportedVersion(version));
		}
		let count = r.u32()?;
		let count = usize::try_from(count).ok().filter(|&c| c <= limits.max_tensors).ok_or(
			WireError::TooManyTensors { count: u64::from(count), max: limits.max_tensors },
		)?;
		// A lying count cannot reserve more than the remaining bytes could possibly hold.
		let mut tensors = Vec::with_capacity(count.min(r.remaining() / MIN_RECORD_BYTES));
		let mut names = HashSet::with_capacity(tensors.capacity());
		let mut total_elements: u64 = 0;
		for _ in 0..count {
			let t = decode_record(&mut r, limits, &mut total_elements)?;
			if !names.insert(t.name().to_owned()) {
				return Err(WireError::DuplicateName(t.name().to_owned()));
			}
			tensors.push(t);
		}
		if r.remaining() != 0 {
			return Err(WireError::TrailingBytes(r.remaining()));
		}
		Ok(Payload::from_checked(tensors))
	}
}

fn decode_record(
	r: &mut Reader<'_>,
	limits: &DecodeLimits,
	total_elements: &mut u64,
) -> Result<CompressedTensor, WireError> {
	let name_len = usize::from(r.u16()?);
	if name_len > limits.max_name_len {
		return Err(WireError::NameTooLong { len: name_len, max: limits.max_name_len });
	}
	let name = std::str::from_utf8(r.take(name_len)?).map_err(|_| WireError::InvalidName)?;
	if name.is_empty() {
		return Err(WireError::InvalidName);
	}

	let rank = usize::from(r.u8()?);
	let max_rank = limits.max_rank.min(MAX_RANK);
	if rank > max_rank {
		return Err(WireError::RankTooLarge { rank, max: max_rank });
	}
	let mut shape = Vec::with_capacity(rank);
	let mut numel: u64 = 1;
	for _ in 0..rank {
		let d = r.u32()?;
		if d == 0 {
			return Err(WireError::ZeroDimension);
		}
		numel = numel.saturating_mul(u64::from(d));
		shape.push(usize::try_from(d).map_err(|_| WireError::DimensionTooLarge(d as usize))?);
	}
	if numel > limits.max_tensor_elements || usize::try_from(numel).is_err() {
		return Err(WireError::TooManyElements {
			what: "tensor",
			count: numel,
			max: limits.max_tensor_elements,
		});
	}
	*total_elements = total_elements.saturating_add(numel);
	if *total_elements > limits.max_total_elements {
		return Err(WireError::TooManyElements {
			what: "payload",
			count: *total_elements,
			max: limits.max_total_elements,
		});
	}

	let tile_rows = usize::from(r.u16()?);
	let tile_cols = usize::from(r.u16()?);
	// `numel` fits usize and u64, so the view does too.
	let (rows, cols) = view_2d(&shape).ok_or(WireError::TooManyElements {
		what: "tensor",
		count: numel,
		max: limits.max_tensor_elements,
	})?;
	let geometry = ChunkGeometry::new(rows, cols, tile_rows, tile_cols)?;
	let k = usize::from(r.u16()?);
	let bins = usize::from(r.u8()?);
	if !(2..=usize::from(MAX_BINS)).contains(&bins) {
		return Err(WireError::InvalidBins(bins));
	}
	let shift = r.f32()?;
	let mut lut = Vec::with_capacity(bins);
	for _ in 0..bins {
		lut.push(r.f32()?);
	}
	check_header(&geometry, k, &lut, shift)?;

	// k ≤ chunk_len, so the kept count is at most numel, which fits usize.
	let n = geometry.num_chunks() * k;
	let codes_len = packed_codes_len(n);
	let idx_len = index_stream_len(&geometry, k, n).ok_or(WireError::Truncated {
		offset: r.pos,
		needed: usize::MAX,
		available: r.remaining(),
	})?;
	// Both streams must be present before either is unpacked (and allocated).
	let needed = codes_len.saturating_add(idx_len);
	if needed > r.remaining() {
		return Err(WireError::Truncated { offset: r.pos, needed, available: r.remaining() });
	}
	let mut codes = Vec::new();
	unpack_codes(r.take(codes_len)?, n, &mut codes)?;
	let mut indices = Vec::new();
	if indices_on_wire(&geometry, k) {
		unpack_indices(r.take(idx_len)?, n, &mut indices)?;
	} else {
		// k = chunk length ≤ 4096: every index fits u16.
		indices.reserve_exact(n);
		for _ in 0..geometry.num_chunks() {
			indices.extend(0..k as u16);
		}
	}
	check_entries(&geometry, k, bins, &indices, &codes)?;
	Ok(CompressedTensor::from_checked_parts(
		name.to_owned(),
		shape,
		geometry,
		k,
		lut,
		shift,
		indices,
		codes,
	))
}

/// A bounds-checked cursor: every read returns `Truncated` instead of indexing out of range.
struct Reader<'a> {
	buf: &'a [u8],
	pos: usize,
}

impl<'a> Reader<'a> {
	fn remaining(&self) -> usize {
		self.buf.len().saturating_sub(self.pos)
	}

	fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
		let truncated =
			WireError::Truncated { offset: self.pos, needed: n, available: self.remaining() };
		let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
		let s = self.buf.get(self.pos..end).ok_or(truncated)?;
		self.pos = end;
		Ok(s)
	}

	fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
		let mut a = [0u8; N];
		a.copy_from_slice(self.take(N)?);
		Ok(a)
	}

	fn u8(&mut self) -> Result<u8, WireError> {
		Ok(self.array::<1>()?[0])
	}

	fn u16(&mut self) -> Result<u16, WireError> {
		Ok(u16::from_le_bytes(self.array()?))
	}

	fn u32(&mut self) -> Result<u32, WireError> {
		Ok(u32::from_le_bytes(self.array()?))
	}

	fn f32(&mut self) -> Result<f32, WireError> {
		Ok(f32::from_le_bytes(self.array()?))
	}
}

#[cfg(test)]
mod tests {
	use super::super::codec::compress_tensor;
	use super::*;

	#[test]
	fn max_encoded_len_bounds_every_conforming_payload_and_is_reached() {
		let cfg = CodecConfig::default();
		// Distinct magnitudes: every chunk keeps exactly k entries, so the bound is met.
		let model: Vec<Tensor> = [vec![128, 64], vec![67], vec![], vec![3, 5, 64], vec![4096]]
			.into_iter()
			.enumerate()
			.map(|(i, shape)| {
				let n: usize = shape.iter().product();
				let data = (0..n).map(|j| (j as f32 + 1.0) * if j % 2 == 0 { 1.0 } else { -0.5 });
				Tensor::new(format!("t{i}"), shape, data.collect()).unwrap()
			})
			.collect();
		let full = Payload::compress(&model, &cfg).unwrap();
		assert_eq!(full.encode().len(), Payload::max_encoded_len(&model, &cfg));
		// A payload that omits tensors is smaller; so is one under a smaller top-k.
		let partial = Payload::compress(&model[..2], &cfg).unwrap();
		assert!(partial.encode().len() < Payload::max_encoded_len(&model, &cfg));
		let fewer = CodecConfig { topk: 8, ..cfg };
		assert!(
			Payload::compress(&model, &fewer).unwrap().encode().len()
				< Payload::max_encoded_len(&model, &cfg)
		);
	}

	fn sample() -> Payload {
		let cfg = CodecConfig::default();
		let mk = |name: &str, shape: Vec<usize>| {
			let n: usize = shape.iter().product();
			let data = (0..n).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 100.0).collect();
			compress_tensor(&Tensor::new(name, shape, data).unwrap(), &cfg).unwrap()
		};
		Payload::new(vec![mk("w", vec![128, 64]), mk("b", vec![67]), mk("s", vec![])]).unwrap()
	}

	fn limits() -> DecodeLimits {
		DecodeLimits::new(1 << 20)
	}

	#[test]
	fn round_trip_is_exact_and_canonical() {
		let p = sample();
		let bytes = p.encode();
		assert_eq!(bytes.len(), p.encoded_len());
		let back = Payload::decode(&bytes, &limits()).unwrap();
		assert_eq!(back, p);
		assert_eq!(back.encode(), bytes);
	}

	/// One 2×3 tensor named "ab" with two kept entries, encoded: the fixture whose bytes the
	/// header and bad-record tests spell out.
	fn two_by_three_payload() -> Vec<u8> {
		let t = CompressedTensor::from_parts(
			"ab",
			vec![2, 3],
			2,
			3,
			2,
			vec![-1.0, 0.0, 0.5, 1.0],
			0.25,
			vec![1, 4],
			vec![3, 0],
		)
		.unwrap();
		Payload::new(vec![t]).unwrap().encode()
	}

	#[test]
	fn header_bytes() {
		let bytes = two_by_three_payload();
		let mut want = b"SLCO".to_vec();
		want.extend([2, 0, 1, 0, 0, 0]); // version 2, one tensor
		want.extend([2, 0, b'a', b'b', 2, 2, 0, 0, 0, 3, 0, 0, 0]); // name, rank 2, dims 2, 3
		want.extend([2, 0, 3, 0, 2, 0, 4]); // tile 2×3, k 2, 4 bins
		want.extend(0.25f32.to_le_bytes());
		for l in [-1.0f32, 0.0, 0.5, 1.0] {
			want.extend(l.to_le_bytes());
		}
		want.push(0b0000_0011); // codes 3, 0
		want.extend([0x01, 0x40, 0x00]); // indices 1, 4
		assert_eq!(bytes, want);
	}

	#[test]
	fn rejects_bad_headers() {
		let bytes = sample().encode();
		let l = limits();
		let mut b = bytes.clone();
		b[0] = b'X';
		assert_eq!(Payload::decode(&b, &l), Err(WireError::BadMagic));
		let mut b = bytes.clone();
		b[4] = 1; // version 1 (indices of whole chunks sent) is no longer read
		assert_eq!(Payload::decode(&b, &l), Err(WireError::UnsupportedVersion(1)));
		let mut b = bytes.clone();
		b.push(0);
		assert_eq!(Payload::decode(&b, &l), Err(WireError::TrailingBytes(1)));
		assert!(matches!(Payload::decode(&bytes[..3], &l), Err(WireError::Truncated { .. })));
		assert!(matches!(
			Payload::decode(&bytes, &DecodeLimits::new(10)),
			Err(WireError::PayloadTooLarge { .. })
		));
		let few = DecodeLimits { max_tensors: 2, ..l };
		assert!(matches!(Payload::decode(&bytes, &few), Err(WireError::TooManyTensors { .. })));
		let short = DecodeLimits { max_name_len: 0, ..l };
		assert!(matches!(Payload::decode(&bytes, &short), Err(WireError::NameTooLong { .. })));
		let flat = DecodeLimits { max_rank: 1, ..l };
		assert!(matches!(Payload::decode(&bytes, &flat), Err(WireError::RankTooLarge { .. })));
		let small = DecodeLimits { max_tensor_elements: 100, ..l };
		assert!(matches!(Payload::decode(&bytes, &small), Err(WireError::TooManyElements { .. })));
		let total = DecodeLimits { max_total_elements: 128 * 64, ..l };
		assert!(matches!(
			Payload::decode(&bytes, &total),
			Err(WireError::TooManyElements { what: "payload", .. })
		));
	}

	#[test]
	fn huge_declared_sizes_fail_before_allocating() {
		// One tensor of 2^32 × 2^32 − ... elements claimed in a few bytes.
		let mut b = b"SLCO".to_vec();
		b.extend([2, 0, 255, 255, 255, 255]); // 4 billion tensors
		assert!(matches!(
			Payload::decode(&b, &DecodeLimits { max_tensors: usize::MAX, ..limits() }),
			Err(WireError::Truncated { .. })
		));
		let mut b = b"SLCO".to_vec();
		b.extend([2, 0, 1, 0, 0, 0, 1, 0, b'x', 2]);
		b.extend(u32::MAX.to_le_bytes());
		b.extend(u32::MAX.to_le_bytes());
		assert!(matches!(
			Payload::decode(&b, &limits()),
			Err(WireError::TooManyElements { what: "tensor", .. })
		));
		// Plausible size but streams missing: refused as truncated before unpacking.
		let mut b = b"SLCO".to_vec();
		b.extend([2, 0, 1, 0, 0, 0, 1, 0, b'x', 1]);
		b.extend(4096u32.to_le_bytes());
		b.extend([1, 0, 64, 0, 32, 0, 2]); // tile 1×64, k 32, 2 bins
		b.extend([0u8; 12]); // shift + 2 LUT entries
		assert!(matches!(
			Payload::decode(&b, &limits()),
			Err(WireError::Truncated { needed, .. }) if needed == 512 + 3072
		));
	}

	#[test]
	fn rejects_bad_records() {
		let bytes = two_by_three_payload();
		let l = limits();
		// Offsets inside the record (payload header is 10 bytes, name 2 + 2, rank 1, dims 8).
		let tile_rows = 10 + 4 + 1 + 8;
		let k_at = tile_rows + 4;
		let bins_at = k_at + 2;
		let shift_at = bins_at + 1;
		let codes_at = shift_at + 4 + 16;
		let idx_at = codes_at + 1;
		let cases: Vec<(usize, u8, WireError)> = vec![
			(
				tile_rows,
				4,
				WireError::InvalidChunking { rows: 2, cols: 3, tile_rows: 4, tile_cols: 3 },
			),
			(k_at, 0, WireError::InvalidTopK { k: 0, chunk_len: 6 }),
			(k_at, 7, WireError::InvalidTopK { k: 7, chunk_len: 6 }),
			(bins_at, 5, WireError::InvalidBins(5)),
			(shift_at + 3, 0x7F, WireError::NonFiniteParameter),
			(codes_at, 0b1111_0011, WireError::NonZeroPadding("code")),
			(idx_at, 0x05, WireError::IndicesNotIncreasing { chunk: 0 }),
			(idx_at + 2, 0x01, WireError::IndexOutOfRange { chunk: 0, index: 0x14, chunk_len: 6 }),
			(10 + 2, 0xFF, WireError::InvalidName),
			// Rank 1: the second dim's bytes (3, 0, 0, 0) are read as a 3 × 0 tile of a 1 × 2 view.
			(
				10 + 4,
				1,
				WireError::InvalidChunking { rows: 1, cols: 2, tile_rows: 3, tile_cols: 0 },
			),
		];
		for (at, byte, want) in cases {
			let mut b = bytes.clone();
			b[at] = byte;
			assert_eq!(Payload::decode(&b, &l), Err(want), "byte {at} = {byte:#x}");
		}
		// Zero dimension.
		let mut b = bytes.clone();
		b[15] = 0;
		assert_eq!(Payload::decode(&b, &l), Err(WireError::ZeroDimension));
	}

	#[test]
	fn whole_chunks_send_no_indices() {
		// A norm weight of 192: three chunks of 64, all kept. Its record is the header, shift,
		// LUT and 48 bytes of codes (2 bits per entry), and decodes to indices 0..64 per chunk.
		let cfg = CodecConfig::default();
		let data = (0..192).map(|i| (i as f32 * 0.37).sin()).collect();
		let t =
			compress_tensor(&Tensor::new("norm.weight", vec![192], data).unwrap(), &cfg).unwrap();
		assert_eq!((t.k(), t.geometry().chunk_len()), (64, 64));
		let want: Vec<u16> = (0..3).flat_map(|_| 0..64).collect();
		assert_eq!(t.indices(), want.as_slice());
		let p = Payload::new(vec![t]).unwrap();
		let bytes = p.encode();
		assert_eq!(bytes.len(), 10 + 14 + "norm.weight".len() + 4 + 16 + 192 / 4);
		assert_eq!(bytes.len(), p.encoded_len());
		let back = Payload::decode(&bytes, &limits()).unwrap();
		assert_eq!(back, p);
		assert_eq!(back.encode(), bytes);
		// Indices appended as version 1 sent them are trailing bytes, not a second reading.
		let mut v1 = bytes.clone();
		pack_indices(p.tensors()[0].indices(), &mut v1);
		assert_eq!(Payload::decode(&v1, &limits()), Err(WireError::TrailingBytes(288)));
	}

	#[test]
	fn rejects_duplicate_names() {
		let one = CompressedTensor::from_parts(
			"x",
			vec![2],
			1,
			2,
			2,
			vec![0.0; 2],
			0.0,
			vec![0, 1],
			vec![0, 1],
		)
		.unwrap();
		let mut bytes = Payload::new(vec![one.clone()]).unwrap().encode();
		let record = bytes[10..].to_vec();
		bytes[6] = 2;
		bytes.extend(record);
		assert_eq!(Payload::decode(&bytes, &limits()), Err(WireError::DuplicateName("x".into())));
	}

	#[test]
	fn divisible_model_costs_at_most_1_140th_of_fp32() {
		// A GPT-like stack with d = 256 where every dimension is a multiple of 64: 4 layers of
		// qkv, attention output, MLP up and down, plus a 4096-token embedding (4.19M params).
		let cfg = CodecConfig::default();
		let mut shapes = vec![("embed.weight".to_string(), vec![4096, 256])];
		for l in 0..4 {
			shapes.push((format!("h.{l}.attn.c_attn.weight"), vec![256, 768]));
			shapes.push((format!("h.{l}.attn.c_proj.weight"), vec![256, 256]));
			shapes.push((format!("h.{l}.mlp.c_fc.weight"), vec![256, 1024]));
			shapes.push((format!("h.{l}.mlp.c_proj.weight"), vec![1024, 256]));
		}
		let model: Vec<Tensor> = shapes
			.iter()
			.enumerate()
			.map(|(i, (name, shape))| {
				let n = shape.iter().product();
				let data = crate::sparseloco::bench::normal_samples(n, i as u64);
				Tensor::new(name.clone(), shape.clone(), data).unwrap()
			})
			.collect();
		let params: usize = model.iter().map(Tensor::numel).sum();
		assert_eq!(params, 4_194_304);
		let bytes = Payload::compress(&model, &cfg).unwrap().encode();
		// Exact size: per 4096-entry tile 64 kept × 14 bits = 112 bytes; per tensor a record
		// header of 14 + name + 8 (dims) + 16 (LUT) bytes; 10 bytes of payload header.
		let headers: usize = shapes.iter().map(|(n, _)| 14 + n.len() + 8 + 16).sum();
		assert_eq!(bytes.len(), 10 + headers + params / 4096 * 112);
		let dense_fp32 = 4 * params;
		assert!(bytes.len() * 140 <= dense_fp32, "{} bytes vs {dense_fp32} dense", bytes.len());
		// And the cost per kept entry is the spec's 14 bits plus under 0.2 bits of headers.
		let kept = params / 64;
		assert!((bytes.len() * 8) as f64 / kept as f64 <= 14.2);
	}

	#[test]
	fn limits_for_model() {
		let m = vec![
			Tensor::zeros("embed", vec![100, 64]).unwrap(),
			Tensor::zeros("b", vec![64]).unwrap(),
		];
		let l = DecodeLimits::for_model(&m, 1000);
		assert_eq!(
			(
				l.max_tensors,
				l.max_name_len,
				l.max_rank,
				l.max_tensor_elements,
				l.max_total_elements
			),
			(2, 5, 2, 6400, 6464)
		);
	}
}
