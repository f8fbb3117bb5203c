//! The inner loop: H AdamW steps with warmup + cosine schedule, gradient clipping and gradient
//! accumulation, and checkpoints that resume bit-exactly on the CPU.

pub mod checkpoint;
pub mod fused;
pub mod optimizer;
pub mod schedule;
pub mod step;
pub mod trainable;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointInfo};
pub use fused::FusedAdamW;
pub use optimizer::{AdamW, AdamWConfig};
pub use schedule::LrSchedule;
pub use step::{accumulate_gradients, apply_step, clip_grad_norm, train_step, StepStats};
pub use trainable::{Backward, TrainableModel};

use serde::{Deserialize, Serialize};

/// Hyperparameters of the inner loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
	/// Peak learning rate.
	pub lr: f64,
	/// Linear warmup steps.
	pub warmup_steps: u64,
	/// Steps over which the cosine decays (the whole run's inner steps).
	pub total_steps: u64,
	/// Final learning rate as a fraction of the peak.
	pub min_lr_ratio: f64,
	/// AdamW constants.
	pub adamw: AdamWConfig,
	/// Clip the global gradient norm to this (0 disables).
	pub grad_clip: f64,
	/// Sequences per optimizer step (the target batch).
	pub batch_seqs: usize,
	/// Sequences per forward/backward pass; `batch_seqs / micro_batch_seqs` passes accumulate.
	pub micro_batch_seqs: usize,
}

impl Default for TrainConfig {
	fn default() -> Self {
		Self {
			lr: 1e-3,
			warmup_steps: 10,
			total_steps: 1000,
			min_lr_ratio: 0.1,
			adamw: AdamWConfig::default(),
			grad_clip: 1.0,
			batch_seqs: 8,
			micro_batch_seqs: 8,
		}
	}
}

impl TrainConfig {
	/// The learning-rate schedule.
	pub fn schedule(&self) -> LrSchedule {
		LrSchedule {
			peak: self.lr,
			warmup_steps: self.warmup_steps,
			total_steps: self.total_steps,
			min_ratio: self.min_lr_ratio,
		}
	}
}
