//! `check-fused`: the fused training pass on a GPU against autograd. Each kernel against its
//! reference operations on the same bf16 input, then one model's loss and gradients three ways:
//! autograd in f32 (the yardstick), autograd in bf16 (what training ran before) and the fused
//! pass in bf16. The fused pass passes when its gradients are as close to the f32 ones as bf16
//! autograd's are (bf16 rounding, not a wrong derivative, is the only difference allowed).

use anyhow::Result;
use serde_json::json;
use tch::{Device, Kind, Tensor};

use super::{emit, random_batch};
use crate::data::Batch;
use crate::model::fused::{FusedOps, FusedPassError};
use crate::model::{ModelConfig, Precision};
use crate::training::{accumulate_gradients, Backward, TrainableModel};

/// What to check.
#[derive(Debug, Clone)]
pub struct FusedCheckArgs {
	/// The CUDA device.
	pub device: Device,
	/// Built-in model.
	pub model: String,
	/// Tokens per sequence.
	pub seq: i64,
	/// Sequences.
	pub batch: i64,
}

/// Largest |a − b| over the largest |b|.
fn rel_max(a: &Tensor, b: &Tensor) -> f64 {
	let (a, b) = (a.to_kind(Kind::Float), b.to_kind(Kind::Float));
	let scale = b.abs().max().double_value(&[]).max(f64::MIN_POSITIVE);
	(a - b).abs().max().double_value(&[]) / scale
}

/// ‖a − b‖ / ‖b‖.
fn rel_l2(a: &Tensor, b: &Tensor) -> f64 {
	let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
	let norm = b.norm().double_value(&[]).max(f64::MIN_POSITIVE);
	(a - b).norm().double_value(&[]) / norm
}

/// Each kernel against the reference on the model's shapes; (name, largest relative error).
fn check_ops(
	device: Device,
	c: &ModelConfig,
	rows: i64,
	seq: i64,
) -> Result<Vec<(&'static str, f64)>, FusedPassError> {
	let cuda = FusedOps::for_device(device)?;
	let reference = FusedOps::Reference;
	let bf = (Kind::BFloat16, device);
	let f32_ = (Kind::Float, device);
	let (d, f, hd) = (c.dim, c.ffn_hidden, c.head_dim());
	let x = Tensor::randn([rows, d], bf);
	let g = Tensor::rand([d], f32_) + 0.5;
	let dy = Tensor::randn([rows, d], bf);
	let res = Tensor::randn([rows, d], bf);
	let mut out = Vec::new();

	let (y_c, r_c) = cuda.rms_norm_forward(&x, &g, c.norm_eps)?;
	let (y_r, r_r) = reference.rms_norm_forward(&x, &g, c.norm_eps)?;
	out.push(("rms_norm_forward", rel_max(&y_c, &y_r).max(rel_max(&r_c, &r_r))));
	let (dx_c, dg_c) = cuda.rms_norm_backward(&dy, &x, &r_r, &g, Some(&res))?;
	let (dx_r, dg_r) = reference.rms_norm_backward(&dy, &x, &r_r, &g, Some(&res))?;
	out.push(("rms_norm_backward", rel_max(&dx_c, &dx_r).max(rel_max(&dg_c, &dg_r))));

	let width = (c.n_heads + 2 * c.n_kv_heads) * hd;
	let rope = crate::model::rope::Rotary::new(hd, c.max_seq_len, c.rope_theta, device);
	let (cos, sin) = rope.tables();
	let qkv = Tensor::randn([rows, width], bf);
	for inverse in [false, true] {
		let (a, b) = (qkv.copy(), qkv.copy());
		let heads = c.n_heads + c.n_kv_heads;
		cuda.rotary_(&a, heads, hd, seq, cos, sin, inverse)?;
		reference.rotary_(&b, heads, hd, seq, cos, sin, inverse)?;
		out.push((if inverse { "rotary_inverse" } else { "rotary" }, rel_max(&a, &b)));
	}

	let ab = Tensor::randn([rows, 2 * f], bf);
	let dgate = Tensor::randn([rows, f], bf);
	out.push((
		"swiglu_forward",
		rel_max(&cuda.swiglu_forward(&ab, f)?, &reference.swiglu_forward(&ab, f)?),
	));
	out.push((
		"swiglu_backward",
		rel_max(
			&cuda.swiglu_backward(&dgate, &ab, f)?,
			&reference.swiglu_backward(&dgate, &ab, f)?,
		),
	));

	let logits = (Tensor::randn([rows, c.vocab_size], f32_) * 3.0).to_kind(Kind::BFloat16);
	let targets = Tensor::randint(c.vocab_size, [rows], (Kind::Int64, device));
	let (a, b) = (logits.copy(), logits.copy());
	let scale = 1.0 / rows as f64;
	let loss_c = cuda.cross_entropy_(&a, &targets, scale)?;
	let loss_r = reference.cross_entropy_(&b, &targets, scale)?;
	out.push(("cross_entropy", rel_max(&loss_c, &loss_r).max(rel_max(&a, &b))));
	Ok(out)
}

/// Loss and gradients of one accumulation of `batch` through `backward` at `precision`, and the
/// evaluation loss of the same batch (forward only) before the gradients are used.
fn loss_and_grads(
	config: &ModelConfig,
	device: Device,
	precision: Precision,
	backward: Backward,
	batch: &Batch,
) -> (f64, f64, Vec<String>, Vec<Tensor>, Backward) {
	let mut model = TrainableModel::new(config, device, precision, 0);
	model.set_backward(backward);
	model.zero_grad();
	let loss = accumulate_gradients(&model, batch, batch.len(), 1.0);
	let grads = model.params().iter().map(|p| p.grad().copy()).collect();
	let eval = model.eval_loss(batch, batch.len());
	(loss, eval, model.names().to_vec(), grads, model.backward())
}

/// Runs the check, printing JSON lines; `Ok(false)` when the fused pass is less accurate than
/// autograd in bf16 or a kernel disagrees with its reference.
pub fn run(args: &FusedCheckArgs) -> Result<bool> {
	let config = ModelConfig::builtin(&args.model)?;
	let rows = args.batch * args.seq;
	tch::manual_seed(5);
	let mut ok = true;
	for (op, err) in check_ops(args.device, &config, rows, args.seq)? {
		// One bf16 rounding apart (2⁻⁸ relative), a few where the reference rounds in between.
		let agrees = err < 2e-2;
		ok &= agrees;
		emit(&json!({"bench": "check_fused_op", "op": op, "max_rel_err": err, "agrees": agrees}));
	}

	let batch = random_batch(config.tokenizer.vocab_size(), args.batch, args.seq, args.device);
	let (loss32, eval32, names, truth, _) =
		loss_and_grads(&config, args.device, Precision::Fp32, Backward::Autograd, &batch);
	let (loss_a, eval_a, _, autograd, _) =
		loss_and_grads(&config, args.device, Precision::Bf16, Backward::Autograd, &batch);
	let (loss_f, eval_f, _, fused, used) =
		loss_and_grads(&config, args.device, Precision::Bf16, Backward::Fused, &batch);
	anyhow::ensure!(used == Backward::Fused, "the fused pass did not load (see the log)");
	let errs = |grads: &[Tensor]| -> Vec<f64> {
		grads.iter().zip(&truth).map(|(g, t)| rel_l2(g, t)).collect()
	};
	let (err_a, err_f) = (errs(&autograd), errs(&fused));
	let worst = |e: &[f64]| e.iter().cloned().fold(0.0, f64::max);
	let mean = |e: &[f64]| e.iter().sum::<f64>() / e.len().max(1) as f64;
	let (worst_a, worst_f) = (worst(&err_a), worst(&err_f));
	let worst_name = names
		[err_f.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |x| x.0)]
	.clone();
	// As accurate as bf16 autograd, with a margin for which side a rounding falls on.
	let agrees = worst_f <= 1.5 * worst_a + 1e-3
		&& (loss_f - loss32).abs() <= 2.0 * (loss_a - loss32).abs() + 1e-3
		&& (eval_f - eval32).abs() <= 2.0 * (eval_a - eval32).abs() + 1e-3;
	ok &= agrees;
	emit(&json!({
		"bench": "check_fused_model", "model": args.model, "seq": args.seq, "batch": args.batch,
		"tensors": names.len(), "loss_f32": loss32, "loss_autograd_bf16": loss_a,
		"loss_fused_bf16": loss_f, "eval_loss_f32": eval32, "eval_loss_autograd_bf16": eval_a,
		"eval_loss_fused_bf16": eval_f, "grad_rel_l2_autograd_bf16_max": worst_a,
		"grad_rel_l2_autograd_bf16_mean": mean(&err_a), "grad_rel_l2_fused_bf16_max": worst_f,
		"grad_rel_l2_fused_bf16_mean": mean(&err_f), "worst_tensor_fused": worst_name,
		"agrees": agrees,
	}));
	Ok(ok)
}
