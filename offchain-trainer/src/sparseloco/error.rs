//! Typed errors of the codec.
//!
//! Two enums because they have two audiences: [`CodecError`] is about what *this* peer asked the
//! codec to do (bad config, non-finite pseudo-gradient, mismatched shapes), [`WireError`] is about
//! bytes that came from *another* peer and were rejected. A validator scores peers on the latter,
//! so it must be able to tell them apart without string matching.

use thiserror::Error;

/// Errors raised while compressing, decompressing, aggregating or stepping local tensors.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CodecError {
	/// The [`super::CodecConfig`] is outside what the codec and its wire format can carry.
	#[error("invalid codec config: {0}")]
	InvalidConfig(&'static str),
	/// The error-feedback decay is not a finite number in `[0, 1]`.
	#[error("invalid error-feedback decay {0}")]
	InvalidBeta(f32),
	/// The outer learning rate is not finite.
	#[error("invalid outer learning rate {0}")]
	InvalidLearningRate(f32),
	/// An aggregation rule other than `mean` or `sum`.
	#[error("unknown aggregation rule {0:?} (expected mean or sum)")]
	UnknownAggregationRule(String),
	/// A tensor name is empty or too long for the wire format.
	#[error("invalid tensor name {name:?}: {reason}")]
	InvalidName {
		/// The offending name.
		name: String,
		/// Why it was refused.
		reason: &'static str,
	},
	/// A tensor has a zero-sized dimension, a dimension too large for the wire, or too many dims.
	#[error("invalid shape {shape:?} for tensor {name:?}: {reason}")]
	InvalidShape {
		/// Tensor name.
		name: String,
		/// The offending shape.
		shape: Vec<usize>,
		/// Why it was refused.
		reason: &'static str,
	},
	/// The data length does not equal the product of the shape.
	#[error("tensor {name:?}: shape {shape:?} needs {expected} values, got {actual}")]
	LengthMismatch {
		/// Tensor name.
		name: String,
		/// Declared shape.
		shape: Vec<usize>,
		/// Product of the shape.
		expected: usize,
		/// Actual number of values.
		actual: usize,
	},
	/// A value is NaN or infinite. Refused because one such value would poison every peer's
	/// weights after aggregation.
	#[error("tensor {name:?} holds a non-finite value at flat index {index}")]
	NonFinite {
		/// Tensor name.
		name: String,
		/// Flat (row-major) index of the first non-finite value.
		index: usize,
	},
	/// The quantizer's statistics overflowed `f32` (only possible with magnitudes near `f32::MAX`).
	#[error("tensor {name:?}: quantization statistics are not finite")]
	NonFiniteStatistics {
		/// Tensor name.
		name: String,
	},
	/// Two tensors of one payload or one model share a name.
	#[error("duplicate tensor name {0:?}")]
	DuplicateName(String),
	/// A tensor expected by name is missing.
	#[error("tensor {0:?} is missing")]
	MissingTensor(String),
	/// A tensor name is not part of the model it is matched against.
	#[error("tensor {0:?} is not in the model")]
	UnknownTensor(String),
	/// Two sides of an operation disagree on a tensor's shape.
	#[error("tensor {name:?}: shape {expected:?} expected, got {actual:?}")]
	ShapeMismatch {
		/// Tensor name.
		name: String,
		/// Shape on the reference side.
		expected: Vec<usize>,
		/// Shape on the other side.
		actual: Vec<usize>,
	},
	/// A peer's payload does not fit the model being aggregated (unknown tensor or wrong shape).
	#[error("peer {peer}: {source}")]
	Peer {
		/// Position of the peer in the slice passed to the aggregator.
		peer: usize,
		/// What was wrong with it.
		#[source]
		source: Box<CodecError>,
	},
	/// A compressed tensor does not follow the protocol's chunking, top-k or bin count.
	#[error("tensor {name:?} does not conform to the codec config: {reason}")]
	NonConforming {
		/// Tensor name.
		name: String,
		/// Which rule it broke.
		reason: &'static str,
	},
	/// Parts handed to [`super::CompressedTensor::from_parts`] are inconsistent.
	#[error(transparent)]
	Wire(#[from] WireError),
}

/// Why a byte string was rejected as a payload (or why parts of a compressed tensor are invalid).
///
/// Every variant is produced *before* any allocation sized by the untrusted input, so a hostile
/// payload can cost at most a small multiple of its own length in memory.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
	/// The input is longer than the caller's limit.
	#[error("payload is {len} bytes, limit is {max}")]
	PayloadTooLarge {
		/// Input length.
		len: usize,
		/// Limit from [`super::DecodeLimits`].
		max: usize,
	},
	/// The input ends before a field that must be there.
	#[error("truncated payload: {needed} more bytes needed at offset {offset}, {available} left")]
	Truncated {
		/// Offset where the read started.
		offset: usize,
		/// Bytes the read needed.
		needed: usize,
		/// Bytes that were left.
		available: usize,
	},
	/// The first four bytes are not the SparseLoCo magic.
	#[error("bad magic bytes")]
	BadMagic,
	/// The format version is not one this decoder speaks.
	#[error("unsupported payload version {0}")]
	UnsupportedVersion(u16),
	/// More tensors than the caller allows.
	#[error("payload declares {count} tensors, limit is {max}")]
	TooManyTensors {
		/// Declared count.
		count: u64,
		/// Limit.
		max: usize,
	},
	/// A name is longer than the caller allows.
	#[error("tensor name of {len} bytes, limit is {max}")]
	NameTooLong {
		/// Declared length.
		len: usize,
		/// Limit.
		max: usize,
	},
	/// A name is empty or not UTF-8.
	#[error("tensor name is empty or not valid UTF-8")]
	InvalidName,
	/// Two tensors of the payload share a name.
	#[error("duplicate tensor name {0:?}")]
	DuplicateName(String),
	/// A tensor has more dimensions than the caller allows.
	#[error("tensor of rank {rank}, limit is {max}")]
	RankTooLarge {
		/// Declared rank.
		rank: usize,
		/// Limit.
		max: usize,
	},
	/// A dimension is zero.
	#[error("tensor has a zero-sized dimension")]
	ZeroDimension,
	/// A dimension does not fit the wire's `u32`.
	#[error("dimension {0} does not fit in u32")]
	DimensionTooLarge(usize),
	/// The tensor (or the payload's running total) has more elements than the caller allows.
	#[error("{what} of {count} elements exceeds the limit of {max}")]
	TooManyElements {
		/// "tensor" or "payload".
		what: &'static str,
		/// Element count (saturating).
		count: u64,
		/// Limit.
		max: u64,
	},
	/// The tile does not divide the tensor, is empty, or is larger than 4096 entries.
	#[error("invalid chunking: tile {tile_rows}x{tile_cols} for a {rows}x{cols} view")]
	InvalidChunking {
		/// Rows of the 2-D view.
		rows: u64,
		/// Columns of the 2-D view.
		cols: u64,
		/// Tile rows.
		tile_rows: usize,
		/// Tile columns.
		tile_cols: usize,
	},
	/// `k` is zero or larger than the chunk.
	#[error("invalid top-k {k} for chunks of {chunk_len}")]
	InvalidTopK {
		/// Declared k.
		k: usize,
		/// Entries per chunk.
		chunk_len: usize,
	},
	/// The number of quantization bins is not 2, 3 or 4 (codes are 2 bits).
	#[error("invalid bin count {0}")]
	InvalidBins(usize),
	/// The LUT, the shift, or a reconstructed value `lut[b] + shift` is NaN or infinite.
	#[error("non-finite quantization parameter")]
	NonFiniteParameter,
	/// A code is not below the bin count.
	#[error("code {code} at entry {entry} is not below the bin count {bins}")]
	CodeOutOfRange {
		/// Entry position within the tensor's kept entries.
		entry: usize,
		/// The code.
		code: u8,
		/// Bin count.
		bins: usize,
	},
	/// An index is not below the chunk length.
	#[error("index {index} in chunk {chunk} is not below the chunk length {chunk_len}")]
	IndexOutOfRange {
		/// Chunk number.
		chunk: usize,
		/// The index.
		index: u16,
		/// Chunk length.
		chunk_len: usize,
	},
	/// Indices of a chunk are not strictly increasing (duplicates, or not canonical order).
	#[error("indices of chunk {chunk} are not strictly increasing")]
	IndicesNotIncreasing {
		/// Chunk number.
		chunk: usize,
	},
	/// Unused bits of a packed stream are not zero (the encoding must be canonical so that
	/// the hash committed on chain identifies one payload content).
	#[error("non-zero padding bits in the packed {0} stream")]
	NonZeroPadding(&'static str),
	/// A vector handed to `from_parts` has the wrong length.
	#[error("{what}: expected {expected} entries, got {actual}")]
	PartLength {
		/// Which part.
		what: &'static str,
		/// Expected length.
		expected: usize,
		/// Actual length.
		actual: usize,
	},
	/// Bytes are left after the last tensor.
	#[error("{0} trailing bytes after the last tensor")]
	TrailingBytes(usize),
}
