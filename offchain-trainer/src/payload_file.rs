//! `gauntlet-trainer compress` / `decompress` / `aggregate`: a dense safetensors file to a
//! SparseLoCo payload file and back, and many payload files to the dense aggregate the outer step
//! would multiply by η. Outputs are written to a temporary file and renamed into place only on
//! success, so a refused input (e.g. a NaN) leaves no output file behind.

use std::collections::HashMap;
use std::path::Path;

use crate::sparseloco::{
	aggregate, Aggregation, AggregationRule, CodecConfig, CodecError, DecodeLimits, Payload,
	Tensor, WireError,
};
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
	/// A payload file does not fit the others (a tensor of another shape).
	#[error("{path}: {source}")]
	Input {
		/// The file.
		path: String,
		/// What the aggregator said.
		source: CodecError,
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
	let payload = read_payload(input)?;
	let dense = payload.decompress();
	write_safetensors(output, &dense, HashMap::new())?;
	Ok(dense.len())
}

/// Reads and decodes the payload file `path`.
fn read_payload(path: &Path) -> Result<Payload, PayloadFileError> {
	let bytes = std::fs::read(path)
		.map_err(|source| PayloadFileError::Io { path: path.display().to_string(), source })?;
	Payload::decode(&bytes, &DecodeLimits::new(bytes.len()))
		.map_err(|source| PayloadFileError::Wire { path: path.display().to_string(), source })
}

/// Aggregates the payload files `inputs`, in the order given (the aggregation set's order), under
/// `rule` with each peer clipped to the set's median norm, and writes the dense aggregate (before
/// η) to the safetensors file `output`; returns the tensor count. The tensors are those the
/// payloads carry, named and shaped as the first payload that sends each; a later payload whose
/// tensor has another shape is refused, naming it.
pub fn aggregate_files(
	inputs: &[impl AsRef<Path>],
	output: &Path,
	rule: AggregationRule,
) -> Result<usize, PayloadFileError> {
	let payloads =
		inputs.iter().map(|p| read_payload(p.as_ref())).collect::<Result<Vec<_>, _>>()?;
	let mut model: Vec<Tensor> = Vec::new();
	for c in payloads.iter().flat_map(Payload::tensors) {
		if !model.iter().any(|m| m.name == c.name()) {
			model.push(Tensor::zeros(c.name(), c.shape().to_vec())?);
		}
	}
	let dense = aggregate(&model, &payloads, &Aggregation::of_set(rule)).map_err(|e| match e {
		CodecError::Peer { peer, source } => PayloadFileError::Input {
			path: inputs[peer].as_ref().display().to_string(),
			source: *source,
		},
		other => PayloadFileError::Codec(other),
	})?;
	write_safetensors(output, &dense, HashMap::new())?;
	Ok(dense.len())
}
