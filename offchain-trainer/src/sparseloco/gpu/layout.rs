//! Where everything of one model's payload sits: chunks, kept entries and wire bytes per tensor.
//!
//! A payload's layout depends only on the model (names, shapes) and the [`CodecConfig`], never
//! on the values: every record has the same length every round. So the GPU codec writes the
//! record headers once (the [`PayloadLayout::template`]) and its kernels fill in shift, LUT and the
//! packed streams at fixed offsets; the device buffer then *is* the wire payload. Pure Rust, so
//! the offsets are tested on any machine against the CPU encoder.

use crate::sparseloco::chunking::ChunkGeometry;
use crate::sparseloco::config::CodecConfig;
use crate::sparseloco::error::CodecError;
use crate::sparseloco::packing::packed_codes_len;
use crate::sparseloco::tensor::checked_numel;
use crate::sparseloco::topk::effective_k;
use crate::sparseloco::wire::{
	index_stream_len, RecordHeader, MAGIC, PAYLOAD_HEADER_BYTES, WIRE_VERSION,
};

/// Words of one tensor descriptor as the kernels read it (`struct TensorDesc` in `kernels.cu`).
pub const DESC_WORDS: usize = 15;

/// One tensor's place in the payload and in the codec's flat per-chunk and per-entry arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorLayout {
	/// Parameter name.
	pub name: String,
	/// Dense shape.
	pub shape: Vec<usize>,
	/// Templar's tiling of the shape.
	pub geometry: ChunkGeometry,
	/// Kept entries per chunk.
	pub k: usize,
	/// Quantization bins.
	pub bins: usize,
	/// Global index of the tensor's first chunk.
	pub first_chunk: usize,
	/// Global index of the tensor's first kept entry.
	pub first_entry: usize,
	/// Payload byte offset of the record's shift (the LUT follows it).
	pub shift_offset: usize,
	/// Payload byte offset of the packed codes.
	pub codes_offset: usize,
	/// Payload byte offset of the packed indices (the record's end when its chunks are kept
	/// whole and the indices implied: the kernels then neither write nor read them).
	pub index_offset: usize,
	/// Payload byte offset just past the record.
	pub end_offset: usize,
}

impl TensorLayout {
	/// Elements of the dense tensor.
	pub fn numel(&self) -> usize {
		self.geometry.rows() * self.geometry.cols()
	}

	/// Kept entries (`chunks × k`).
	pub fn num_entries(&self) -> usize {
		self.geometry.num_chunks() * self.k
	}

	/// The kernel descriptor, with the data and pseudo-gradient device addresses.
	pub fn descriptor(&self, data: u64, delta: u64) -> [u64; DESC_WORDS] {
		let g = &self.geometry;
		[
			data,
			delta,
			g.cols() as u64,
			g.tile_rows() as u64,
			g.tile_cols() as u64,
			g.tiles_per_row() as u64,
			g.chunk_len() as u64,
			self.k as u64,
			self.bins as u64,
			self.first_chunk as u64,
			g.num_chunks() as u64,
			self.first_entry as u64,
			self.shift_offset as u64,
			self.codes_offset as u64,
			self.index_offset as u64,
		]
	}
}

/// The layout of every tensor of a model, in payload order, and the header template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadLayout {
	tensors: Vec<TensorLayout>,
	total_chunks: usize,
	total_entries: usize,
	template: Vec<u8>,
}

impl PayloadLayout {
	/// The layout for tensors `(name, shape)` compressed with `config`. Refuses what the CPU
	/// codec refuses: invalid configs, names, shapes and duplicate names.
	pub fn new(tensors: &[(String, Vec<usize>)], config: &CodecConfig) -> Result<Self, CodecError> {
		config.validate()?;
		if u32::try_from(tensors.len()).is_err() {
			return Err(CodecError::InvalidConfig("more than u32::MAX tensors in one payload"));
		}
		let mut seen = std::collections::HashSet::with_capacity(tensors.len());
		let mut template = Vec::with_capacity(PAYLOAD_HEADER_BYTES + 64 * tensors.len());
		template.extend_from_slice(&MAGIC);
		template.extend_from_slice(&WIRE_VERSION.to_le_bytes());
		template.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
		let (mut chunks, mut entries) = (0usize, 0usize);
		let mut out = Vec::with_capacity(tensors.len());
		for (name, shape) in tensors {
			checked_numel(name, shape)?;
			if !seen.insert(name.as_str()) {
				return Err(CodecError::DuplicateName(name.clone()));
			}
			let geometry = ChunkGeometry::for_shape(shape, config.chunk_target);
			let k = effective_k(config.topk, geometry.chunk_len());
			let bins = usize::from(config.bins);
			let header = RecordHeader { name, shape, geometry: &geometry, k, bins };
			header.encode_into(&mut template);
			let shift_offset = template.len();
			let n = geometry.num_chunks() * k;
			let codes_offset = shift_offset + 4 + 4 * bins;
			let index_offset = codes_offset + packed_codes_len(n);
			let end = index_offset
				+ index_stream_len(&geometry, k, n)
					.ok_or(CodecError::InvalidConfig("kept entries overflow the wire format"))?;
			template.resize(end, 0);
			out.push(TensorLayout {
				name: name.clone(),
				shape: shape.clone(),
				geometry,
				k,
				bins,
				first_chunk: chunks,
				first_entry: entries,
				shift_offset,
				codes_offset,
				index_offset,
				end_offset: end,
			});
			chunks += geometry.num_chunks();
			entries += n;
		}
		Ok(Self { tensors: out, total_chunks: chunks, total_entries: entries, template })
	}

	/// The tensors, in payload order.
	pub fn tensors(&self) -> &[TensorLayout] {
		&self.tensors
	}

	/// Chunks over all tensors.
	pub fn total_chunks(&self) -> usize {
		self.total_chunks
	}

	/// Kept entries over all tensors.
	pub fn total_entries(&self) -> usize {
		self.total_entries
	}

	/// Payload length in bytes (the same every round).
	pub fn payload_len(&self) -> usize {
		self.template.len()
	}

	/// The payload with every header written and shift, LUT and streams zero.
	pub fn template(&self) -> &[u8] {
		&self.template
	}

	/// For every global chunk, the index of its tensor (the kernels' chunk → tensor map).
	pub fn chunk_tensors(&self) -> Vec<u32> {
		let mut out = Vec::with_capacity(self.total_chunks);
		for (i, t) in self.tensors.iter().enumerate() {
			out.extend(std::iter::repeat_n(i as u32, t.geometry.num_chunks()));
		}
		out
	}

	/// Whether `bytes` hold this layout's headers (a peer's payload for the same model and
	/// config), so the aggregation kernels may read its values at this layout's offsets. The
	/// values themselves are not checked here: decode the payload first (its indices must be
	/// strictly increasing and its LUT finite).
	pub fn matches_headers(&self, bytes: &[u8]) -> bool {
		if bytes.len() != self.template.len()
			|| bytes[..PAYLOAD_HEADER_BYTES] != self.template[..PAYLOAD_HEADER_BYTES]
		{
			return false;
		}
		let mut start = PAYLOAD_HEADER_BYTES;
		self.tensors.iter().all(|t| {
			let same = bytes[start..t.shift_offset] == self.template[start..t.shift_offset];
			start = t.end_offset;
			same
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::bench::normal_samples;
	use crate::sparseloco::{Payload, Tensor};

	fn model(shapes: &[&[usize]]) -> Vec<Tensor> {
		shapes
			.iter()
			.enumerate()
			.map(|(i, s)| {
				let n = s.iter().product();
				Tensor::new(format!("t{i}.weight"), s.to_vec(), normal_samples(n, i as u64))
					.unwrap()
			})
			.collect()
	}

	#[test]
	fn offsets_match_the_cpu_encoder_byte_for_byte() {
		// 64×64 tiles, a 1-D tensor sent whole, an odd kept count (prime 67: k = 1), a tile of
		// 50 × 48 with k = 64, a 3-D tensor, and k = 62 (not a multiple of 4: codes straddle
		// chunks).
		let shapes: &[&[usize]] = &[&[128, 192], &[768], &[67], &[100, 96], &[2, 3, 64], &[7, 63]];
		for config in
			[CodecConfig::default(), CodecConfig { topk: 6, bins: 3, ..Default::default() }]
		{
			let m = model(shapes);
			let cpu = Payload::compress(&m, &config).unwrap();
			let bytes = cpu.encode();
			let names: Vec<(String, Vec<usize>)> =
				m.iter().map(|t| (t.name.clone(), t.shape.clone())).collect();
			let layout = PayloadLayout::new(&names, &config).unwrap();
			assert_eq!(layout.payload_len(), bytes.len());
			assert!(layout.matches_headers(&bytes));
			let mut chunks = 0;
			for (t, c) in layout.tensors().iter().zip(cpu.tensors()) {
				assert_eq!(t.num_entries(), c.num_kept());
				assert_eq!(t.first_chunk, chunks);
				chunks += c.geometry().num_chunks();
				assert_eq!(&bytes[t.shift_offset..t.shift_offset + 4], &c.shift().to_le_bytes());
				let mut codes = vec![];
				crate::sparseloco::packing::pack_codes(c.codes(), &mut codes);
				assert_eq!(&bytes[t.codes_offset..t.index_offset], codes.as_slice());
				let mut idx = vec![];
				if c.k() < c.geometry().chunk_len() {
					crate::sparseloco::packing::pack_indices(c.indices(), &mut idx);
				}
				assert_eq!(&bytes[t.index_offset..t.end_offset], idx.as_slice());
			}
			assert_eq!(layout.total_chunks(), chunks);
			assert_eq!(layout.chunk_tensors().len(), chunks);
			assert_eq!(layout.total_entries(), cpu.num_kept());
			// The template differs from a real payload only in values.
			let mut template = layout.template().to_vec();
			for t in layout.tensors() {
				template[t.shift_offset..t.end_offset]
					.copy_from_slice(&bytes[t.shift_offset..t.end_offset]);
			}
			assert_eq!(template, bytes);
		}
	}

	#[test]
	fn refuses_what_the_cpu_codec_refuses() {
		let cfg = CodecConfig::default();
		let dup = vec![("w".to_string(), vec![4]), ("w".to_string(), vec![4])];
		assert!(matches!(PayloadLayout::new(&dup, &cfg), Err(CodecError::DuplicateName(_))));
		let zero = vec![("w".to_string(), vec![4, 0])];
		assert!(matches!(PayloadLayout::new(&zero, &cfg), Err(CodecError::InvalidShape { .. })));
		let ok = vec![("w".to_string(), vec![4])];
		let bad = CodecConfig { bins: 5, ..cfg };
		assert!(matches!(PayloadLayout::new(&ok, &bad), Err(CodecError::InvalidConfig(_))));
		let layout = PayloadLayout::new(&ok, &cfg).unwrap();
		assert!(!layout.matches_headers(&[0; 3]));
		let other = PayloadLayout::new(&[("v".to_string(), vec![4])], &cfg).unwrap();
		assert!(!layout.matches_headers(other.template()));
	}
}
