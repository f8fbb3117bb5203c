//! Checkpoints: a directory with `config.json` (model and training configuration, counters),
//! `model.safetensors` (weights), `optimizer.safetensors` (AdamW moments, `exp_avg.<name>` and
//! `exp_avg_sq.<name>`) and, for SparseLoCo peers, `error_feedback.safetensors`. All `f32`, so a
//! CPU run resumed from a checkpoint is bit-identical to one that never stopped.

use std::collections::HashMap;
use std::path::Path;

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

fn arrays(prefix: &str, names: &[String], tensors: &[tch::Tensor]) -> Vec<Array> {
	names.iter().zip(tensors).map(|(n, t)| to_array(&format!("{prefix}{n}"), t)).collect()
}

/// Writes a checkpoint of `model`, `optimizer` and (optionally) `error_feedback` into `dir`.
/// `info.optimizer_steps` and `info.error_feedback_beta` are filled in from the state.
pub fn save(
	dir: &Path,
	mut info: CheckpointInfo,
	model: &TrainableModel,
	optimizer: &AdamW,
	error_feedback: Option<&ErrorBuffers>,
) -> Result<(), CheckpointError> {
	let io = |source| CheckpointError::Io { path: dir.display().to_string(), source };
	std::fs::create_dir_all(dir).map_err(io)?;
	info.format_version = CHECKPOINT_VERSION;
	info.optimizer_steps = optimizer.steps();
	info.error_feedback_beta = error_feedback.map(ErrorBuffers::beta);
	let names = model.names();
	write_safetensors(&dir.join(MODEL_FILE), &arrays("", names, model.params()), HashMap::new())?;
	let (m, v) = optimizer.moments();
	let mut moments = arrays("exp_avg.", names, m);
	moments.extend(arrays("exp_avg_sq.", names, v));
	let steps = HashMap::from([("steps".to_string(), optimizer.steps().to_string())]);
	write_safetensors(&dir.join(OPTIMIZER_FILE), &moments, steps)?;
	match error_feedback {
		Some(ef) => write_safetensors(&dir.join(ERROR_FEEDBACK_FILE), ef.arrays(), HashMap::new())?,
		None => match std::fs::remove_file(dir.join(ERROR_FEEDBACK_FILE)) {
			Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
			_ => {}
		},
	}
	let json = serde_json::to_vec_pretty(&info)?;
	crate::atomic_file::write(&dir.join(CONFIG_FILE), &json).map_err(io)?;
	Ok(())
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

/// Reads the checkpoint in `dir` onto `device`.
pub fn load(
	dir: &Path,
	device: Device,
	precision: Precision,
) -> Result<Checkpoint, CheckpointError> {
	let config_path = dir.join(CONFIG_FILE);
	let text = std::fs::read_to_string(&config_path).map_err(|source| CheckpointError::Io {
		path: config_path.display().to_string(),
		source,
	})?;
	let info: CheckpointInfo = serde_json::from_str(&text)?;
	if info.format_version != CHECKPOINT_VERSION {
		return Err(CheckpointError::Inconsistent(format!(
			"format version {} (this build reads {CHECKPOINT_VERSION})",
			info.format_version
		)));
	}
	let model = TrainableModel::new(&info.model, device, precision, 0);
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
