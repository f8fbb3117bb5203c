//! `bench-train`: tokens per second and model FLOPs utilisation of full inner steps (forward,
//! backward, gradient clipping, AdamW) on random tokens.

use std::time::Instant;

use anyhow::{ensure, Result};
use serde_json::json;
use tch::{Device, Kind, Tensor};

use super::{emit, random_batch, synchronize};
use crate::model::{ModelConfig, Precision};
use crate::training::{train_step, AdamW, Backward, TrainConfig, TrainableModel};

/// What to measure.
#[derive(Debug, Clone)]
pub struct TrainBenchArgs {
	/// The CUDA device.
	pub device: Device,
	/// Built-in model name (`124m`, `1b`, ...).
	pub model: String,
	/// Tokens per sequence.
	pub seq: i64,
	/// Sequences per step (one forward/backward pass).
	pub batch: i64,
	/// Timed steps.
	pub steps: usize,
	/// Untimed steps first.
	pub warmup: usize,
	/// The device's dense bf16 peak in TFLOP/s (989 for an H100 or H200 SXM).
	pub peak_tflops: f64,
	/// How gradients are computed.
	pub backward: Backward,
}

/// Timed evaluation passes (forward and loss over the batch, no gradients).
const EVAL_PASSES: u32 = 5;

/// Training FLOPs per token: `6·N + 12·L·d·T` (N parameters with the tied embedding counted once,
/// as it is one matrix product; attention scores and values `12·L·d·T`), nanoGPT's and PaLM's
/// estimate. The PyTorch reference uses the same formula.
pub fn flops_per_token(c: &ModelConfig, seq: i64) -> f64 {
	6.0 * c.param_count() as f64 + 12.0 * (c.n_layers * c.dim * seq) as f64
}

/// Runs the benchmark, printing one JSON line.
pub fn run(args: &TrainBenchArgs) -> Result<()> {
	let config = ModelConfig::builtin(&args.model)?;
	ensure!(
		args.seq <= config.max_seq_len,
		"--seq {} above the model's {}",
		args.seq,
		config.max_seq_len
	);
	let mut model = TrainableModel::new(&config, args.device, Precision::Bf16, 0);
	model.set_backward(args.backward);
	ensure!(
		model.backward() == args.backward,
		"{:?} pass unavailable (see the log)",
		args.backward
	);
	let implementation = match args.backward {
		Backward::Autograd => "rust-tch",
		Backward::Fused => "rust-tch-fused",
	};
	let mut optimizer = AdamW::new(model.params(), Default::default());
	let train = TrainConfig {
		batch_seqs: args.batch as usize,
		micro_batch_seqs: args.batch as usize,
		lr: 3e-4,
		..TrainConfig::default()
	};
	tch::manual_seed(1);
	let batch = random_batch(config.tokenizer.vocab_size(), args.batch, args.seq, args.device);
	let sync = || synchronize(args.device);
	let mut loss = f64::NAN;
	let mut first_loss = f64::NAN;
	let mut t0 = Instant::now();
	for step in 0..args.warmup + args.steps {
		if step == args.warmup {
			sync();
			t0 = Instant::now();
		}
		loss = train_step(&model, &mut optimizer, &batch, &train).loss;
		if step == 0 {
			first_loss = loss;
		}
	}
	sync();
	let seconds = t0.elapsed().as_secs_f64();
	// Forward only, as a validator evaluates (one untimed pass first).
	let _ = model.eval_loss(&batch, args.batch);
	sync();
	let t_eval = Instant::now();
	for _ in 0..EVAL_PASSES {
		let _ = model.eval_loss(&batch, args.batch);
	}
	let eval_ms = t_eval.elapsed().as_secs_f64() * 1e3 / EVAL_PASSES as f64;
	let leak = future_token_leak(&model, &batch.inputs, config.tokenizer.vocab_size());
	let tokens_per_s = (args.batch * args.seq) as f64 * args.steps as f64 / seconds;
	let mfu = flops_per_token(&config, args.seq) * tokens_per_s / (args.peak_tflops * 1e12);
	emit(&json!({
		"bench": "train", "impl": implementation, "model": args.model, "params": config.param_count(),
		"seq": args.seq, "batch": args.batch, "steps": args.steps,
		"step_ms": seconds * 1e3 / args.steps as f64, "tokens_per_s": tokens_per_s, "mfu": mfu,
		"loss": loss, "first_loss": first_loss, "future_token_leak": leak, "eval_ms": eval_ms,
	}));
	tracing::info!(model = args.model, tokens_per_s, mfu, "training throughput");
	Ok(())
}

/// Largest change of any logit at positions before the middle of the sequence when the token at
/// the middle changes: 0 for a causal model (position i sees tokens ≤ i only).
fn future_token_leak(model: &TrainableModel, inputs: &Tensor, vocab: i64) -> f64 {
	tch::no_grad(|| {
		let mid = inputs.size()[1] / 2;
		let changed = inputs.copy();
		let _ = changed.narrow(1, mid, 1).g_add_scalar_(1).remainder_(vocab);
		let a = model.llama().forward(inputs).narrow(1, 0, mid).to_kind(Kind::Float);
		let b = model.llama().forward(&changed).narrow(1, 0, mid).to_kind(Kind::Float);
		(a - b).abs().max().double_value(&[])
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn flops_follow_six_n_plus_attention() {
		let c = ModelConfig::builtin("124m").unwrap();
		let n = c.param_count() as f64;
		let f = flops_per_token(&c, 2048);
		assert_eq!(f, 6.0 * n + 12.0 * 12.0 * 768.0 * 2048.0);
	}
}
