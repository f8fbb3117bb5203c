//! `gauntlet-trainer compress` / `decompress`: a dense safetensors file to a SparseLoCo payload
//! file and back. Outputs are written to a temporary file and renamed into place only on
//! success, so a refused input (e.g. a NaN) leaves no output file behind.

use std::collections::HashMap;
use std::path::Path;

use crate::sparseloco::{CodecConfig, CodecError, DecodeLimits, Payload, WireError};
use crate::tensor_io::{read_safetensors, write_safetensors, TensorIoError};

/// Why a file could not be compressed or decompressed.
#[derive(Debug, thiserror::Error)]
pub enum PayloadFileError {
	/// Reading or writing a safetensors file failed.
	#[error(transparent)]
	Tensors(#[from] TensorIoError),
	/// The codec refused the input (non-finite value, bad shape, bad config).
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// The payload file is not a valid payload.
	#[error("{path}: {source}")]
	Wire {
		/// The file.
		path: String,
		/// What the decoder said.
		source: WireError,
	},
	/// The payload file could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
}

/// What `compress` did.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressSummary {
	/// Tensors compressed.
	pub tensors: usize,
	/// Dense elements in.
	pub elements: usize,
	/// Entries kept.
	pub kept: usize,
	/// Payload size in bytes.
	pub payload_bytes: usize,
}

impl CompressSummary {
	/// Dense fp32 bytes over payload bytes.
	pub fn ratio_vs_fp32(&self) -> f64 {
		(4 * self.elements) as f64 / self.payload_bytes.max(1) as f64
	}
}

/// Compresses every tensor of the safetensors file `input` into the payload file `output`.
pub fn compress_file(
	input: &Path,
	output: &Path,
	config: &CodecConfig,
) -> Result<CompressSummary, PayloadFileError> {
	let (tensors, _) = read_safetensors(input)?;
	for t in &tensors {
		t.validate()?;
	}
	let payload = Payload::compress(&tensors, config)?;
	let bytes = payload.encode();
	crate::atomic_file::write(output, &bytes)
		.map_err(|source| PayloadFileError::Io { path: output.display().to_string(), source })?;
	Ok(CompressSummary {
		tensors: tensors.len(),
		elements: tensors.iter().map(|t| t.numel()).sum(),
		kept: payload.num_kept(),
		payload_bytes: bytes.len(),
	})
}

/// Decodes the payload file `input` and writes its dense `f32` reconstruction (same names and
/// shapes as the tensors compressed) to the safetensors file `output`; returns the tensor count.
pub fn decompress_file(input: &Path, output: &Path) -> Result<usize, PayloadFileError> {
	let bytes = std::fs::read(input)
		.map_err(|source| PayloadFileError::Io { path: input.display().to_string(), source })?;
	let payload = Payload::decode(&bytes, &DecodeLimits::new(bytes.len()))
		.map_err(|source| PayloadFileError::Wire { path: input.display().to_string(), source })?;
	let dense = payload.decompress();
	write_safetensors(output, &dense, HashMap::new())?;
	Ok(dense.len())
}
