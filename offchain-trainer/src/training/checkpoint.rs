//! Checkpoints: a directory with `config.json` (model and training configuration, counters),
//! `model.safetensors` (weights), `optimizer.safetensors` (AdamW moments, `exp_avg.<name>` and
//! `exp_avg_sq.<name>`) and, for SparseLoCo peers, `error_feedback.safetensors`. All `f32`, so a
//! CPU run resumed from a checkpoint is bit-identical to one that never stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;

use super::{AdamW, TrainConfig, TrainableModel};
use crate::model::{ModelConfig, Precision};
use crate::outer::ErrorBuffers;
use crate::sparseloco::Tensor as Array;
use crate::tensor_io::{read_safetensors, to_array, to_tch, write_safetensors, TensorIoError};

/// Bumped when the checkpoint layout changes.
pub const CHECKPOINT_VERSION: u32 = 1;

const CONFIG_FILE: &str = "config.json";
const MODEL_FILE: &str = "model.safetensors";
const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const ERROR_FEEDBACK_FILE: &str = "error_feedback.safetensors";

/// A checkpoint that cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
	/// A tensor file failed.
	#[error(transparent)]
	Tensors(#[from] TensorIoError),
	/// `config.json` could not be read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// `config.json` is not valid.
	#[error("config.json: {0}")]
	Json(#[from] serde_json::Error),
	/// The files disagree with each other or with the model.
	#[error("inconsistent checkpoint: {0}")]
	Inconsistent(String),
}

/// `config.json`: everything but the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
	/// [`CHECKPOINT_VERSION`] at writing time.
	pub format_version: u32,
	/// The model's shapes.
	pub model: ModelConfig,
	/// The inner loop's hyperparameters.
	pub train: TrainConfig,
	/// AdamW steps taken.
	pub optimizer_steps: u64,
	/// Outer rounds (windows) completed.
	pub rounds: u64,
	/// The run's data seed.
	pub run_seed: u64,
	/// Error-feedback decay, when `error_feedback.safetensors` is present.
	pub error_feedback_beta: Option<f32>,
}

/// What a checkpoint restores.
#[derive(Debug)]
pub struct Checkpoint {
	/// Configuration and counters.
	pub info: CheckpointInfo,
	/// The model with its weights.
	pub model: TrainableModel,
	/// The optimizer with its moments and step count.
	pub optimizer: AdamW,
	/// The peer's error-feedback buffers, if saved.
	pub error_feedback: Option<ErrorBuffers>,
}

/// The model's weights and the optimizer's moments named as a checkpoint stores them, in the
/// order [`snapshot_of_arrays`] takes them: the weights in parameter order, then
/// `exp_avg.<name>` of every parameter, then `exp_avg_sq.<name>`.
pub fn state_tensors<'a>(
	model: &'a TrainableModel,
	optimizer: &'a AdamW,
) -> Vec<(String, &'a tch::Tensor)> {
	let (m, v) = optimizer.moments();
	let mut named = Vec::with_capacity(3 * model.names().len());
	for (prefix, tensors) in [("", model.params()), ("exp_avg.", m), ("exp_avg_sq.", v)] {
		named.extend(model.names().iter().zip(tensors).map(|(n, t)| (format!("{prefix}{n}"), t)));
	}
	named
}

/// A checkpoint copied to host memory: what [`Snapshot::write`] puts on disk, possibly on another
/// thread while training goes on (a `124m` checkpoint took 6.5–8.1 s to write on the GPU host).
#[derive(Debug)]
pub struct Snapshot {
	info: CheckpointInfo,
	model: Vec<Array>,
	moments: Vec<Array>,
	error_feedback: Option<Vec<Array>>,
}

/// Copies `model`, `optimizer` and (optionally) `error_feedback` to the host.
/// `info.optimizer_steps` and `info.error_feedback_beta` are filled in from the state.
pub fn snapshot(
	info: CheckpointInfo,
	model: &TrainableModel,
	optimizer: &AdamW,
	error_feedback: Option<&ErrorBuffers>,
) -> Snapshot {
	let state = state_tensors(model, optimizer).iter().map(|(n, t)| to_array(n, t)).collect();
	let ef = error_feedback.map(|ef| (ef.beta(), ef.arrays().to_vec()));
	snapshot_of_arrays(info, state, optimizer.steps(), ef)
}

/// A snapshot of state already copied to the host: `state` as [`state_tensors`] lists it (so
/// its first third are the weights), after `optimizer_steps` AdamW steps, and the
/// error-feedback buffers with their β.
pub fn snapshot_of_arrays(
	mut info: CheckpointInfo,
	mut state: Vec<Array>,
	optimizer_steps: u64,
	error_feedback: Option<(f32, Vec<Array>)>,
) -> Snapshot {
	let moments = state.split_off(state.len() / 3);
	let weights = state;
	info.format_version = CHECKPOINT_VERSION;
	info.optimizer_steps = optimizer_steps;
	info.error_feedback_beta = error_feedback.as_ref().map(|(beta, _)| *beta);
	Snapshot { info, model: weights, moments, error_feedback: error_feedback.map(|(_, e)| e) }
}

/// `dir` with `suffix` appended to its last component (`checkpoint` → `checkpoint.old`).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
	let mut name = dir.file_name().unwrap_or_default().to_os_string();
	name.push(suffix);
	dir.with_file_name(name)
}

/// The directory that holds the newest complete checkpoint: `dir`, or `dir.old` when a
/// [`Snapshot::write`] was cut off between its two renames.
fn complete(dir: &Path) -> PathBuf {
	let old = sibling(dir, ".old");
	if !dir.join(CONFIG_FILE).exists() && old.join(CONFIG_FILE).exists() {
		old
	} else {
		dir.to_path_buf()
	}
}

/// Whether `dir` (or its fallback, see [`Snapshot::write`]) holds a checkpoint to load.
pub fn exists(dir: &Path) -> bool {
	complete(dir).join(CONFIG_FILE).exists()
}

/// Maps an I/O error on `path` to [`CheckpointError::Io`].
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
	let path = path.display().to_string();
	move |source| CheckpointError::Io { path, source }
}

/// Removes `dir` and everything in it; a `dir` that is not there is fine.
fn remove_dir_if_present(dir: &Path) -> Result<(), CheckpointError> {
	match std::fs::remove_dir_all(dir) {
		Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(dir)(e)),
		_ => Ok(()),
	}
}

impl Snapshot {
	/// Writes the checkpoint to `dir` so that the process dying at any point leaves a complete
	/// checkpoint, the old or the new: every file goes into `dir.partial`, then `dir` is renamed
	/// to `dir.old` and `dir.partial` to `dir` ([`load`] falls back to `dir.old` when a crash
	/// came between the two renames), and `dir.old` is removed.
	pub fn write(&self, dir: &Path) -> Result<(), CheckpointError> {
		let partial = sibling(dir, ".partial");
		let old = sibling(dir, ".old");
		remove_dir_if_present(&partial)?;
		std::fs::create_dir_all(&partial).map_err(io_error(&partial))?;
		write_safetensors(&partial.join(MODEL_FILE), &self.model, HashMap::new())?;
		let steps = HashMap::from([("steps".to_string(), self.info.optimizer_steps.to_string())]);
		write_safetensors(&partial.join(OPTIMIZER_FILE), &self.moments, steps)?;
		if let Some(ef) = &self.error_feedback {
			write_safetensors(&partial.join(ERROR_FEEDBACK_FILE), ef, HashMap::new())?;
		}
		let json = serde_json::to_vec_pretty(&self.info)?;
		crate::atomic_file::write(&partial.join(CONFIG_FILE), &json).map_err(io_error(&partial))?;
		if dir.exists() {
			remove_dir_if_present(&old)?;
			std::fs::rename(dir, &old).map_err(io_error(dir))?;
		}
		std::fs::rename(&partial, dir).map_err(io_error(dir))?;
		remove_dir_if_present(&old)
	}
}

/// Writes a checkpoint of `model`, `optimizer` and (optionally) `error_feedback` into `dir`
/// ([`snapshot`], then [`Snapshot::write`]).
pub fn save(
	dir: &Path,
	info: CheckpointInfo,
	model: &TrainableModel,
	optimizer: &AdamW,
	error_feedback: Option<&ErrorBuffers>,
) -> Result<(), CheckpointError> {
	snapshot(info, model, optimizer, error_feedback).write(dir)
}

fn take(
	by_name: &mut HashMap<String, Array>,
	key: &str,
	shape: &[i64],
	device: Device,
) -> Result<tch::Tensor, CheckpointError> {
	let a = by_name
		.remove(key)
		.ok_or_else(|| CheckpointError::Inconsistent(format!("tensor {key} missing")))?;
	let want: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
	if a.shape != want {
		return Err(CheckpointError::Inconsistent(format!(
			"{key} has shape {:?}, the model {want:?}",
			a.shape
		)));
	}
	Ok(to_tch(&a, device))
}

/// The directory that holds the checkpoint of `dir` (`dir` itself, or `dir.old`, see
/// [`Snapshot::write`]) and its `config.json`: what exporting a checkpoint reads first.
pub fn read_info(dir: &Path) -> Result<(PathBuf, CheckpointInfo), CheckpointError> {
	let dir = complete(dir);
	let config_path = dir.join(CONFIG_FILE);
	let text = std::fs::read_to_string(&config_path).map_err(io_error(&config_path))?;
	Ok((dir, parse_info(text.as_bytes())?))
}

/// A checkpoint's `config.json` from its bytes, as [`read_info`] reads it: a typed error for
/// bytes that are not JSON of a [`CheckpointInfo`] or name another format version. The bytes-level
/// entry point the checkpoint fuzz target drives (`fuzz/fuzz_targets/checkpoint_load.rs`).
pub fn parse_info(json: &[u8]) -> Result<CheckpointInfo, CheckpointError> {
	let info: CheckpointInfo = serde_json::from_slice(json)?;
	if info.format_version != CHECKPOINT_VERSION {
		return Err(CheckpointError::Inconsistent(format!(
			"format version {} (this build reads {CHECKPOINT_VERSION})",
			info.format_version
		)));
	}
	// A model configuration the trainer would divide by (n_heads = 0) or hand to libtorch with
	// negative sizes is refused here, as a typed error (found by fuzzing: `eval` and `export`
	// panicked on such a config.json).
	info.model
		.validate()
		.map_err(|e| CheckpointError::Inconsistent(format!("model configuration: {e}")))?;
	Ok(info)
}

/// The weights file (`model.safetensors`) of a checkpoint directory as [`read_info`] names it.
pub fn model_file(dir: &Path) -> PathBuf {
	dir.join(MODEL_FILE)
}

/// The model of the checkpoint in `dir` (or in `dir.old`) on `device`, without the optimizer
/// state and error feedback: what evaluating a trained model needs.
pub fn load_model(
	dir: &Path,
	device: Device,
	precision: Precision,
) -> Result<(CheckpointInfo, TrainableModel), CheckpointError> {
	let (dir, info) = read_info(dir)?;
	let model = load_weights(&dir, &info.model, device, precision)?;
	Ok((info, model))
}

/// A model of `config` on `device` holding the weights of `dir`'s `model.safetensors`, which must
/// name exactly the model's parameters, with their shapes.
fn load_weights(
	dir: &Path,
	config: &ModelConfig,
	device: Device,
	precision: Precision,
) -> Result<TrainableModel, CheckpointError> {
	let model = TrainableModel::new(config, device, precision, 0);
	let (weights, _) = read_safetensors(&dir.join(MODEL_FILE))?;
	let mut weights: HashMap<String, Array> =
		weights.into_iter().map(|a| (a.name.clone(), a)).collect();
	let values = model
		.names()
		.iter()
		.zip(model.params())
		.map(|(n, p)| take(&mut weights, n, &p.size(), device))
		.collect::<Result<Vec<_>, _>>()?;
	if let Some(extra) = weights.keys().next() {
		return Err(CheckpointError::Inconsistent(format!("unknown tensor {extra}")));
	}
	model.assign(&values);
	Ok(model)
}

/// Reads the checkpoint in `dir` (or in `dir.old`, see [`Snapshot::write`]) onto `device`.
pub fn load(
	dir: &Path,
	device: Device,
	precision: Precision,
) -> Result<Checkpoint, CheckpointError> {
	let (dir, info) = read_info(dir)?;
	let model = load_weights(&dir, &info.model, device, precision)?;

	let (moments, meta) = read_safetensors(&dir.join(OPTIMIZER_FILE))?;
	let steps: u64 = meta
		.get("steps")
		.and_then(|s| s.parse().ok())
		.ok_or_else(|| CheckpointError::Inconsistent("optimizer step count missing".into()))?;
	if steps != info.optimizer_steps {
		return Err(CheckpointError::Inconsistent(format!(
			"optimizer file says {steps} steps, config.json {}",
			info.optimizer_steps
		)));
	}
	let mut moments: HashMap<String, Array> =
		moments.into_iter().map(|a| (a.name.clone(), a)).collect();
	let mut m = Vec::new();
	let mut v = Vec::new();
	for (n, p) in model.names().iter().zip(model.params()) {
		m.push(take(&mut moments, &format!("exp_avg.{n}"), &p.size(), device)?);
		v.push(take(&mut moments, &format!("exp_avg_sq.{n}"), &p.size(), device)?);
	}
	let mut optimizer = AdamW::new(model.params(), info.train.adamw);
	optimizer.restore(steps, m, v).map_err(CheckpointError::Inconsistent)?;

	let error_feedback = match info.error_feedback_beta {
		Some(beta) => {
			let (buffers, _) = read_safetensors(&dir.join(ERROR_FEEDBACK_FILE))?;
			let ef = ErrorBuffers::from_arrays(beta, buffers)
				.map_err(|e| CheckpointError::Inconsistent(e.to_string()))?;
			Some(ef)
		}
		None => None,
	};
	Ok(Checkpoint { info, model, optimizer, error_feedback })
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_config_the_model_cannot_have_is_a_typed_error() {
		let json = std::fs::read(concat!(
			env!("CARGO_MANIFEST_DIR"),
			"/../fuzz/artifacts/checkpoint_load/n-heads-zero.config.json"
		))
		.unwrap();
		let refused = parse_info(&json);
		assert!(
			matches!(&refused, Err(CheckpointError::Inconsistent(m)) if m.contains("model configuration")),
			"{refused:?}"
		);
	}
}
