//! One inner optimizer step: gradient accumulation over micro-batches, clipping, AdamW.

use tch::{Kind, Tensor};

use super::optimizer::AdamW;
use super::trainable::TrainableModel;
use super::TrainConfig;
use crate::data::Batch;
use crate::model::fused::FusedPass;

/// What one step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
	/// Mean training loss over the step's batch (nats per token).
	pub loss: f64,
	/// Global L2 norm of the gradient before clipping.
	pub grad_norm: f64,
	/// Learning rate used.
	pub lr: f64,
}

/// Adds `weight × ∇(mean loss over batch)` to the parameters' gradients, running `micro`
/// sequences per forward/backward pass; returns the batch's mean loss.
pub fn accumulate_gradients(model: &TrainableModel, batch: &Batch, micro: i64, weight: f64) -> f64 {
	accumulate_on_device(model, batch, micro, weight).double_value(&[])
}

/// [`accumulate_gradients`] with the loss left on the device (an f64 scalar): reading it waits
/// for the backward pass, so a caller with more work to queue reads it afterwards.
fn accumulate_on_device(model: &TrainableModel, batch: &Batch, micro: i64, weight: f64) -> Tensor {
	let n = batch.len() as f64;
	let mut losses = Vec::new();
	model.mark_grads_written();
	if let Some(pass) = model.fused() {
		FusedPass::ensure_grads(model.params());
		for mb in batch.micro_batches(micro) {
			let share = mb.len() as f64 / n;
			// A failure here is a CUDA fault or a bug, the class of error the autograd path's
			// libtorch calls also panic on; `set_backward` already checked that the pass fits.
			let loss = pass
				.loss_and_backward(model.llama(), &mb.inputs, &mb.targets, share * weight)
				.unwrap_or_else(|e| panic!("fused training pass: {e}"));
			losses.push(loss.to_kind(Kind::Double) * share);
		}
	} else {
		for mb in batch.micro_batches(micro) {
			let share = mb.len() as f64 / n;
			let loss = model.llama().loss(&mb.inputs, &mb.targets);
			losses.push(loss.detach().to_kind(Kind::Double) * share);
			(loss * (share * weight)).backward();
		}
	}
	match losses.len() {
		0 => Tensor::zeros([], (Kind::Double, model.device())),
		_ => Tensor::stack(&losses, 0).sum(Kind::Double),
	}
}

/// Scales all gradients so their global L2 norm is at most `max_norm` (no-op when `max_norm`
/// is 0 or the norm is already smaller); returns the norm before scaling.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64) -> f64 {
	let grads: Vec<Tensor> = params.iter().map(Tensor::grad).filter(Tensor::defined).collect();
	if grads.is_empty() {
		return 0.0;
	}
	let norm = tch::no_grad(|| {
		let squares: Vec<Tensor> =
			grads.iter().map(|g| g.to_kind(Kind::Double).square().sum(Kind::Double)).collect();
		Tensor::stack(&squares, 0).sum(Kind::Double).sqrt().double_value(&[])
	});
	if max_norm > 0.0 && norm > max_norm {
		let scale = max_norm / (norm + 1e-6);
		tch::no_grad(|| {
			for mut g in grads {
				let _ = g.g_mul_scalar_(scale);
			}
		});
	}
	norm
}

/// Clips the accumulated gradients, takes one AdamW step at the schedule's learning rate for
/// the optimizer's step count, and clears the gradients.
pub fn apply_step(
	model: &TrainableModel,
	optimizer: &mut AdamW,
	config: &TrainConfig,
	loss: f64,
) -> StepStats {
	let (lr, grad_norm) = update(model, optimizer, config);
	StepStats { loss, grad_norm: grad_norm.read(), lr }
}

/// The gradient norm of an update: on the host, or still on the device.
enum GradNorm {
	Host(f64),
	Device(Tensor),
}

impl GradNorm {
	fn read(self) -> f64 {
		match self {
			Self::Host(norm) => norm,
			Self::Device(norm) => norm.double_value(&[]),
		}
	}
}

/// Clip, update and clear, queued without waiting for the device where it can: returns the
/// learning rate and the norm before clipping.
fn update(model: &TrainableModel, optimizer: &mut AdamW, config: &TrainConfig) -> (f64, GradNorm) {
	let lr = config.schedule().at(optimizer.steps());
	// On CUDA, clipping and the update in three launches; elsewhere (and as the fallback) the
	// per-tensor path, which keeps CPU runs bit-reproducible.
	let grad_norm = match optimizer.fused_step(model.params(), lr, config.grad_clip) {
		Some(norm) => GradNorm::Device(norm),
		None => {
			let norm = clip_grad_norm(model.params(), config.grad_clip);
			optimizer.step(model.params(), lr);
			GradNorm::Host(norm)
		}
	};
	// Queued behind the update, before anything waits for the device: the clearing's launches
	// (one per parameter) then overlap the update instead of leaving the GPU idle.
	model.zero_grad();
	(lr, grad_norm)
}

/// One full inner step on `batch`: accumulate, clip, update. On a GPU the step's only wait for
/// the device is at its end, for the loss and the gradient norm.
pub fn train_step(
	model: &TrainableModel,
	optimizer: &mut AdamW,
	batch: &Batch,
	config: &TrainConfig,
) -> StepStats {
	// A no-op when the last step cleared them (see `TrainableModel::zero_grad`).
	model.zero_grad();
	let loss = accumulate_on_device(model, batch, config.micro_batch_seqs as i64, 1.0);
	let (lr, grad_norm) = update(model, optimizer, config);
	StepStats { loss: loss.double_value(&[]), grad_norm: grad_norm.read(), lr }
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::data::Dataset;
	use crate::model::{ModelConfig, Precision};
	use crate::training::Backward;
	use tch::Device;

	fn grads(model: &TrainableModel) -> Vec<Tensor> {
		model.params().iter().map(|p| p.grad().copy()).collect()
	}

	#[test]
	fn accumulating_micro_batches_gives_the_full_batch_gradient() {
		let mut config = ModelConfig::builtin("tiny").unwrap();
		config.n_layers = 1;
		let model = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 3);
		let data = Dataset::synthetic(1, 20_000, 16, 0).unwrap();
		let batch = data.batch(&[0, 5, 9, 11], Device::Cpu);
		model.zero_grad();
		let whole = accumulate_gradients(&model, &batch, 4, 1.0);
		let g_whole = grads(&model);
		model.zero_grad();
		let parts = accumulate_gradients(&model, &batch, 1, 1.0);
		let g_parts = grads(&model);
		assert!((whole - parts).abs() < 1e-5, "loss {whole} vs {parts}");
		for (a, b) in g_whole.iter().zip(&g_parts) {
			let diff = (a - b).abs().max().double_value(&[]);
			assert!(diff < 1e-6, "gradient differs by {diff}");
		}
	}

	/// Loss and every parameter's gradient of one accumulation on `config`, through `backward`.
	fn loss_and_grads(config: &ModelConfig, backward: Backward) -> (f64, Vec<Tensor>) {
		let mut model = TrainableModel::new(config, Device::Cpu, Precision::Fp32, 3);
		model.set_backward(backward);
		assert_eq!(model.backward(), backward);
		let data = Dataset::synthetic(1, 20_000, 16, 0).unwrap();
		let batch = data.batch(&[0, 5, 9, 11], Device::Cpu);
		model.zero_grad();
		let loss = accumulate_gradients(&model, &batch, 2, 0.7);
		(loss, grads(&model))
	}

	/// Evaluation loss of a fresh model on a fixed batch, through `backward`'s forward pass.
	fn eval_loss(config: &ModelConfig, backward: Backward) -> f64 {
		let mut model = TrainableModel::new(config, Device::Cpu, Precision::Fp32, 4);
		model.set_backward(backward);
		let data = Dataset::synthetic(1, 20_000, 16, 0).unwrap();
		model.eval_loss(&data.batch(&[1, 2, 3], Device::Cpu), 2)
	}

	#[test]
	fn fused_pass_gives_autograds_loss_and_gradients() {
		// Grouped-query (4 query heads on 2 kv heads) with tied embeddings, and an untied
		// multi-head model: the hand-written backward pass must match autograd to rounding.
		let tied = ModelConfig::builtin("tiny").unwrap();
		let mut untied = tied.clone();
		(untied.n_kv_heads, untied.tie_embeddings) = (4, false);
		for config in [tied, untied] {
			let (loss_a, grads_a) = loss_and_grads(&config, Backward::Autograd);
			let (loss_f, grads_f) = loss_and_grads(&config, Backward::Fused);
			assert!((loss_a - loss_f).abs() < 1e-5, "loss {loss_a} vs {loss_f}");
			let (eval_a, eval_f) =
				(eval_loss(&config, Backward::Autograd), eval_loss(&config, Backward::Fused));
			assert!((eval_a - eval_f).abs() < 1e-5, "evaluation loss {eval_a} vs {eval_f}");
			for (a, f) in grads_a.iter().zip(&grads_f) {
				let scale = a.abs().max().double_value(&[]).max(1e-12);
				let diff = (a - f).abs().max().double_value(&[]);
				assert!(diff <= 1e-4 * scale, "gradient differs by {diff} (largest entry {scale})");
			}
		}
	}

	#[test]
	fn clipping_scales_the_global_norm_down_to_the_limit() {
		let a = Tensor::from_slice(&[3.0f32]).set_requires_grad(true);
		let b = Tensor::from_slice(&[4.0f32]).set_requires_grad(true);
		((&a * 3.0) + (&b * 4.0)).sum(Kind::Float).backward();
		let params = [a.shallow_clone(), b.shallow_clone()];
		assert!((clip_grad_norm(&params, 1.0) - 5.0).abs() < 1e-9);
		let after = clip_grad_norm(&params, 0.0);
		assert!((after - 1.0).abs() < 1e-5, "norm after clipping {after}");
	}
}
