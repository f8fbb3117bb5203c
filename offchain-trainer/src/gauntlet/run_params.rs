//! The chain's run configuration (`Gauntlet.CurrentRunConfig`) in the trainer's types. Every peer
//! reads it from the chain rather than from flags, so all of them compress, aggregate and score
//! alike.

use gauntlet_chain::types::{AggregationRule as ChainRule, RunConfig};

use crate::sparseloco::{AggregationRule, CodecConfig};

/// The shared hyperparameters a miner and a validator act on.
#[derive(Clone, Debug, PartialEq)]
pub struct RunParams {
	/// Version of the on-chain configuration these came from.
	pub version: u32,
	/// Inner AdamW steps per window (H).
	pub inner_steps: usize,
	/// Top-k and quantization of payloads.
	pub codec: CodecConfig,
	/// Error-feedback decay β.
	pub error_feedback_beta: f32,
	/// How the outer step combines the set's payloads.
	pub aggregation: AggregationRule,
	/// Outer learning rate η.
	pub outer_lr: f32,
	/// Step of a validator's trial update (`eval_lr_factor × η`).
	pub eval_lr: f32,
	/// Batches evaluated on the miner's own pages.
	pub eval_own_batches: usize,
	/// Batches evaluated on random pages.
	pub eval_random_batches: usize,
	/// The run seed: θ₀, page assignment and sample positions derive from it.
	pub run_seed: u64,
	/// Top-k overlap above which a payload is flagged as copied.
	pub copy_overlap_threshold: f64,
}

/// A run configuration the trainer cannot act on.
#[derive(Debug, thiserror::Error)]
pub enum RunParamsError {
	/// A field is outside what the codec or the loops accept.
	#[error("run configuration v{version}: {field} = {value} is out of range")]
	OutOfRange {
		/// Configuration version.
		version: u32,
		/// The field.
		field: &'static str,
		/// Its value.
		value: String,
	},
}

impl RunParams {
	/// Converts and checks the chain's configuration.
	pub fn from_chain(c: &RunConfig) -> Result<Self, RunParamsError> {
		let bad = |field: &'static str, value: String| RunParamsError::OutOfRange {
			version: c.version,
			field,
			value,
		};
		let bins =
			u8::try_from(c.quant_bins).map_err(|_| bad("quant_bins", c.quant_bins.to_string()))?;
		let codec = CodecConfig {
			topk: c.top_k as usize,
			chunk_target: c.chunk_target as usize,
			bins,
			range: c.quant_range as f32,
		};
		codec.validate().map_err(|e| bad("codec", e.to_string()))?;
		let positive = |field: &'static str, v: u32| {
			if v == 0 {
				Err(bad(field, v.to_string()))
			} else {
				Ok(v as usize)
			}
		};
		let finite = |field: &'static str, v: f64| {
			if v.is_finite() && v >= 0.0 {
				Ok(v)
			} else {
				Err(bad(field, v.to_string()))
			}
		};
		Ok(Self {
			version: c.version,
			inner_steps: positive("inner_steps", c.inner_steps)?,
			codec,
			error_feedback_beta: finite("error_feedback_beta", c.error_feedback_beta)? as f32,
			aggregation: match c.aggregation_rule {
				ChainRule::Mean => AggregationRule::Mean,
				ChainRule::Sum => AggregationRule::Sum,
			},
			outer_lr: finite("outer_learning_rate", c.outer_learning_rate)? as f32,
			eval_lr: (finite("eval_lr_factor", c.eval_lr_factor)? * c.outer_learning_rate) as f32,
			eval_own_batches: positive("eval_own_batches", c.eval_own_batches)?,
			eval_random_batches: positive("eval_random_batches", c.eval_random_batches)?,
			run_seed: c.run_seed,
			copy_overlap_threshold: finite("copy_overlap_threshold", c.copy_overlap_threshold)?,
		})
	}
}
