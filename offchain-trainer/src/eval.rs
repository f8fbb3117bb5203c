//! Held-out loss and perplexity of a trained model (`gauntlet-trainer eval`).
//!
//! The held-out split is the one every peer keeps out of training
//! ([`crate::data::PageSplit::is_heldout`]), evaluated as `simulate` evaluates it after each
//! round ([`Dataset::heldout_batch`], [`TrainableModel::eval_loss`]).

use std::path::Path;

use tch::Device;

use crate::data::{DataError, DataSource, Dataset};
use crate::model::Precision;
use crate::training::checkpoint::{self, CheckpointError, CheckpointInfo};
use crate::training::TrainableModel;

/// Why a model could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
	/// The checkpoint could not be loaded.
	#[error(transparent)]
	Checkpoint(#[from] CheckpointError),
	/// The data could not be opened.
	#[error(transparent)]
	Data(#[from] DataError),
	/// The sequence length is zero or longer than the model's rotary tables.
	#[error("sequence length {seq_len} outside 1..={max_seq_len} (the model's max_seq_len)")]
	SeqLen {
		/// Asked for.
		seq_len: usize,
		/// The model's limit.
		max_seq_len: i64,
	},
	/// The shard has no held-out page of this length.
	#[error("the held-out split is empty (shard too small for pages of this length)")]
	NoHeldoutPages,
}

/// Where the held-out text comes from and how it is cut. The defaults are the peers' (`miner`
/// and `validator` flags): the corpora under `$GAUNTLET_HOME/data`, sequences of 64 tokens,
/// 50 ‰ held out, 4 MiB of synthetic text.
#[derive(Clone, Debug)]
pub struct EvalOptions {
	/// Corpora or generated text.
	pub data: DataSource,
	/// Directory of the fetched corpora.
	pub data_dir: std::path::PathBuf,
	/// Tokens per sequence (the page length is one more). The split depends on it: use the
	/// run's `--seq-len`.
	pub seq_len: usize,
	/// Held-out pages per thousand (the peers hold out 50).
	pub heldout_permille: u32,
	/// Held-out sequences to evaluate, spread evenly over the shard; `None`: all of them.
	pub max_sequences: Option<usize>,
	/// Sequences per forward pass.
	pub micro_batch: usize,
	/// Bytes of generated text for [`DataSource::Synthetic`] (generated from the run's seed).
	pub synthetic_bytes: usize,
}

impl Default for EvalOptions {
	fn default() -> Self {
		Self {
			data: DataSource::Corpora,
			data_dir: crate::gauntlet::cli::default_data_dir(),
			seq_len: 64,
			heldout_permille: 50,
			max_sequences: None,
			micro_batch: 8,
			synthetic_bytes: 4 << 20,
		}
	}
}

/// The model's loss on the held-out split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeldoutLoss {
	/// Mean cross-entropy in nats per predicted token.
	pub loss: f64,
	/// `exp(loss)`.
	pub perplexity: f64,
	/// Sequences evaluated.
	pub sequences: usize,
	/// Tokens predicted.
	pub tokens: u64,
}

/// The loss of `model` on up to `max_sequences` (all when `None`) held-out pages of `dataset`,
/// `micro_batch` sequences per forward pass. Every sequence has the same length, so the mean over
/// sequences is the mean over tokens.
pub fn heldout_loss(
	model: &TrainableModel,
	dataset: &Dataset,
	max_sequences: Option<usize>,
	micro_batch: usize,
) -> Result<HeldoutLoss, EvalError> {
	let batch = dataset.heldout_batch(max_sequences.unwrap_or(usize::MAX), model.device());
	if batch.is_empty() {
		return Err(EvalError::NoHeldoutPages);
	}
	let loss = model.eval_loss(&batch, micro_batch.max(1) as i64);
	Ok(HeldoutLoss {
		loss,
		perplexity: loss.exp(),
		sequences: batch.len() as usize,
		tokens: batch.tokens() as u64,
	})
}

/// Loads the model of the checkpoint in `dir` onto `device` and evaluates it on the held-out
/// split of `options`' data, in the model's tokenizer.
pub fn evaluate_checkpoint(
	dir: &Path,
	options: &EvalOptions,
	device: Device,
	precision: Precision,
) -> Result<(CheckpointInfo, HeldoutLoss), EvalError> {
	let (info, model) = checkpoint::load_model(dir, device, precision)?;
	let max_seq_len = info.model.max_seq_len;
	if options.seq_len == 0 || options.seq_len as i64 > max_seq_len {
		return Err(EvalError::SeqLen { seq_len: options.seq_len, max_seq_len });
	}
	let dataset = Dataset::open(
		options.data,
		&options.data_dir,
		info.model.tokenizer,
		options.seq_len,
		options.heldout_permille,
		info.run_seed,
		options.synthetic_bytes,
	)?;
	let result = heldout_loss(&model, &dataset, options.max_sequences, options.micro_batch)?;
	Ok((info, result))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::model::ModelConfig;
	use crate::training::{AdamW, TrainConfig};

	/// A tiny checkpoint at θ₀ of `seed`, as the miner writes one.
	fn tiny_checkpoint(dir: &Path, seed: u64) {
		let config = ModelConfig::builtin("tiny").unwrap();
		let model = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, seed as i64);
		let train = TrainConfig::default();
		let optimizer = AdamW::new(model.params(), train.adamw);
		let info = CheckpointInfo {
			format_version: checkpoint::CHECKPOINT_VERSION,
			model: config,
			train,
			optimizer_steps: 0,
			rounds: 0,
			run_seed: seed,
			error_feedback_beta: None,
		};
		checkpoint::save(dir, info, &model, &optimizer, None).unwrap();
	}

	/// The tiny model at initialisation predicts bytes about uniformly: its held-out loss is
	/// near ln 256 = 5.545 nats (within 0.2, as the model's own initial-loss test), finite, and
	/// the perplexity is exp(loss), near 256.
	#[test]
	fn eval_reports_finite_heldout_loss_and_its_perplexity() {
		let dir = tempfile::tempdir().unwrap();
		let checkpoint = dir.path().join("checkpoint");
		tiny_checkpoint(&checkpoint, 3);
		let options = EvalOptions {
			data: DataSource::Synthetic,
			max_sequences: Some(16),
			micro_batch: 4,
			synthetic_bytes: 200_000,
			..EvalOptions::default()
		};
		let (info, result) =
			evaluate_checkpoint(&checkpoint, &options, Device::Cpu, Precision::Fp32).unwrap();
		assert_eq!(info.run_seed, 3);
		assert!(result.loss.is_finite(), "loss {}", result.loss);
		assert!((result.loss - 256f64.ln()).abs() < 0.2, "initial loss {}", result.loss);
		assert_eq!(result.perplexity, result.loss.exp());
		assert_eq!(result.sequences, 16);
		assert_eq!(result.tokens, 16 * 64);

		// The same number as the trainer's own held-out evaluation of the same weights.
		let (_, model) = checkpoint::load_model(&checkpoint, Device::Cpu, Precision::Fp32).unwrap();
		let dataset = Dataset::synthetic(3, 200_000, 64, 50).unwrap();
		let direct = model.eval_loss(&dataset.heldout_batch(16, Device::Cpu), 4);
		assert_eq!(result.loss, direct);
	}

	#[test]
	fn a_sequence_longer_than_the_model_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		tiny_checkpoint(dir.path(), 0);
		let options = EvalOptions {
			data: DataSource::Synthetic,
			seq_len: 257, // tiny's max_seq_len is 256
			..EvalOptions::default()
		};
		let refused = evaluate_checkpoint(dir.path(), &options, Device::Cpu, Precision::Fp32);
		assert!(matches!(refused, Err(EvalError::SeqLen { seq_len: 257, max_seq_len: 256 })));
	}
}
