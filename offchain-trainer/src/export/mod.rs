//! The trained model leaves the system: a checkpoint as a Hugging Face LLaMA directory that
//! `transformers` loads with `AutoModelForCausalLM.from_pretrained(dir)` and
//! `AutoTokenizer.from_pretrained(dir)` (`gauntlet-trainer export`).
//!
//! The directory holds `model.safetensors` (HF parameter names, see [`hf_llama`]), `config.json`
//! (`LlamaForCausalLM`), `generation_config.json`, `tokenizer.json` and `tokenizer_config.json`
//! (see [`hf_tokenizer`]). The weights are copied from the checkpoint's file tensor by tensor,
//! renamed, without reshaping; in `bf16` each value is rounded to nearest even.

pub mod hf_llama;
pub mod hf_tokenizer;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use serde_json::json;

use crate::model::ModelConfig;
use crate::training::checkpoint::{self, CheckpointError};
use hf_llama::{hf_parameters, HfLlamaConfig};

/// Why a checkpoint could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
	/// The checkpoint's `config.json` is missing or invalid.
	#[error(transparent)]
	Checkpoint(#[from] CheckpointError),
	/// A file could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file or directory.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// A safetensors file could not be parsed or written.
	#[error("{path}: {source}")]
	Safetensors {
		/// The file.
		path: String,
		/// What the safetensors crate said.
		source: safetensors::SafeTensorError,
	},
	/// The checkpoint's weights do not match its configuration.
	#[error("checkpoint weights disagree with its config.json: {0}")]
	Mismatch(String),
	/// The tokenizer tables could not be converted.
	#[error("tokenizer: {0}")]
	Tokenizer(String),
	/// The output directory is a checkpoint: its `config.json` would be overwritten.
	#[error("{0} holds a checkpoint; export into another directory")]
	WouldOverwriteCheckpoint(String),
	/// A JSON file could not be written.
	#[error("json: {0}")]
	Json(#[from] serde_json::Error),
}

/// How the exported weights are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportDtype {
	/// The checkpoint's fp32 values, bit for bit.
	#[default]
	F32,
	/// Rounded to bfloat16 (half the size; what LLaMA checkpoints usually ship as).
	Bf16,
}

impl ExportDtype {
	/// The name `config.json`'s `torch_dtype` gives it.
	pub fn torch_name(self) -> &'static str {
		match self {
			Self::F32 => "float32",
			Self::Bf16 => "bfloat16",
		}
	}
}

/// What [`export_checkpoint`] wrote.
#[derive(Debug)]
pub struct ExportSummary {
	/// The exported model's shapes.
	pub model: ModelConfig,
	/// Tensors in `model.safetensors`.
	pub tensors: usize,
	/// Scalar parameters in them.
	pub parameters: u64,
	/// Size of `model.safetensors`.
	pub bytes: u64,
}

/// One exported tensor: the checkpoint's little-endian fp32 bytes, converted on write.
struct ExportedTensor<'a> {
	shape: Vec<usize>,
	f32_bytes: &'a [u8],
	dtype: ExportDtype,
}

impl safetensors::View for ExportedTensor<'_> {
	fn dtype(&self) -> Dtype {
		match self.dtype {
			ExportDtype::F32 => Dtype::F32,
			ExportDtype::Bf16 => Dtype::BF16,
		}
	}

	fn shape(&self) -> &[usize] {
		&self.shape
	}

	fn data(&self) -> Cow<'_, [u8]> {
		match self.dtype {
			ExportDtype::F32 => Cow::Borrowed(self.f32_bytes),
			ExportDtype::Bf16 => Cow::Owned(
				self.f32_bytes
					.chunks_exact(4)
					.flat_map(|b| {
						let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
						half::bf16::from_f32(v).to_le_bytes()
					})
					.collect(),
			),
		}
	}

	fn data_len(&self) -> usize {
		match self.dtype {
			ExportDtype::F32 => self.f32_bytes.len(),
			ExportDtype::Bf16 => self.f32_bytes.len() / 2,
		}
	}
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError {
	let path = path.display().to_string();
	move |source| ExportError::Io { path, source }
}

fn safetensors_error(path: &Path) -> impl FnOnce(safetensors::SafeTensorError) -> ExportError {
	let path = path.display().to_string();
	move |source| ExportError::Safetensors { path, source }
}

/// Writes `value` as pretty JSON to `path` (atomically).
fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), ExportError> {
	let mut bytes = serde_json::to_vec_pretty(value)?;
	bytes.push(b'\n');
	crate::atomic_file::write(path, &bytes).map_err(io_error(path))
}

/// Exports the checkpoint in `checkpoint` (a directory `gauntlet-trainer` wrote: `config.json`
/// and `model.safetensors`; the optimizer state is not read) into `out` (created if missing;
/// files of an earlier export are replaced), weights stored as `dtype`.
pub fn export_checkpoint(
	checkpoint: &Path,
	out: &Path,
	dtype: ExportDtype,
) -> Result<ExportSummary, ExportError> {
	let (dir, info) = checkpoint::read_info(checkpoint)?;
	if checkpoint::exists(out) {
		return Err(ExportError::WouldOverwriteCheckpoint(out.display().to_string()));
	}
	std::fs::create_dir_all(out).map_err(io_error(out))?;
	let config = info.model;

	let source = checkpoint::model_file(&dir);
	let file = std::fs::File::open(&source).map_err(io_error(&source))?;
	// SAFETY: a read-only mapping of a file only read here; a concurrent writer could change the
	// bytes under us (wrong values or a parse error), never memory safety in this safe code.
	let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error(&source))?;
	let weights = SafeTensors::deserialize(&map).map_err(safetensors_error(&source))?;
	let expected = hf_parameters(&config);
	if weights.len() != expected.len() {
		let mut names = weights.names();
		names.sort_unstable();
		return Err(ExportError::Mismatch(format!(
			"{} tensors ({names:?}), the model has {}",
			weights.len(),
			expected.len()
		)));
	}
	let mut tensors = Vec::with_capacity(expected.len());
	let mut parameters = 0u64;
	for p in &expected {
		let view = weights
			.tensor(&p.ours)
			.map_err(|_| ExportError::Mismatch(format!("tensor {} missing", p.ours)))?;
		if view.dtype() != Dtype::F32 || view.shape() != p.shape {
			return Err(ExportError::Mismatch(format!(
				"{} is {:?} {:?}, the model's is F32 {:?}",
				p.ours,
				view.dtype(),
				view.shape(),
				p.shape
			)));
		}
		parameters += p.shape.iter().product::<usize>() as u64;
		tensors.push((
			p.hf.clone(),
			ExportedTensor { shape: p.shape.clone(), f32_bytes: view.data(), dtype },
		));
	}
	let n_tensors = tensors.len();
	// `format: pt` is what `transformers` checks before reading a safetensors file.
	let metadata = Some(HashMap::from([("format".to_string(), "pt".to_string())]));
	let target = out.join("model.safetensors");
	let partial: PathBuf = out.join("model.safetensors.partial");
	safetensors::serialize_to_file(tensors, &metadata, &partial)
		.map_err(safetensors_error(&partial))?;
	std::fs::rename(&partial, &target).map_err(io_error(&target))?;
	let bytes = std::fs::metadata(&target).map_err(io_error(&target))?.len();

	let hf = HfLlamaConfig::of(&config, dtype.torch_name());
	write_json(&out.join("config.json"), &hf)?;
	write_json(
		&out.join("generation_config.json"),
		&json!({ "bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id }),
	)?;
	write_json(&out.join("tokenizer.json"), &hf_tokenizer::tokenizer_json(config.tokenizer)?)?;
	write_json(
		&out.join("tokenizer_config.json"),
		&hf_tokenizer::tokenizer_config_json(config.tokenizer, config.max_seq_len),
	)?;
	Ok(ExportSummary { model: config, tensors: n_tensors, parameters, bytes })
}
