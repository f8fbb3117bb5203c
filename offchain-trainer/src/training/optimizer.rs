//! AdamW (Loshchilov & Hutter 2019), written out so its state can be checkpointed and swapped
//! between simulated peers. The update rule of `torch.optim.AdamW` (decoupled decay, bias
//! correction), not its exact floating-point evaluation order.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::fused::FusedAdamW;

/// The optimizer's constants.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
	/// First-moment decay β₁.
	pub beta1: f64,
	/// Second-moment decay β₂.
	pub beta2: f64,
	/// Denominator epsilon.
	pub eps: f64,
	/// Decoupled weight decay, applied to matrices only (never to norm gains).
	pub weight_decay: f64,
}

impl Default for AdamWConfig {
	/// Templar's inner optimizer: betas (0.9, 0.95), weight decay 0.1.
	fn default() -> Self {
		Self { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1 }
	}
}

/// AdamW state for a fixed list of parameters (in the order `step` receives them).
#[derive(Debug)]
pub struct AdamW {
	config: AdamWConfig,
	steps: u64,
	exp_avg: Vec<Tensor>,
	exp_avg_sq: Vec<Tensor>,
	decay: Vec<bool>,
	fused: Fused,
}

/// The fused CUDA path of [`AdamW::fused_step`]: not tried yet, loaded, or unavailable.
#[derive(Debug)]
enum Fused {
	Untried,
	Ready(Box<FusedAdamW>),
	Unavailable,
}

impl AdamW {
	/// Zero state shaped like `params`; matrices (rank ≥ 2) get weight decay.
	pub fn new(params: &[Tensor], config: AdamWConfig) -> Self {
		let zeros = |p: &Tensor| p.zeros_like().to_kind(Kind::Float).detach();
		Self {
			config,
			steps: 0,
			exp_avg: params.iter().map(zeros).collect(),
			exp_avg_sq: params.iter().map(zeros).collect(),
			decay: params.iter().map(|p| p.dim() >= 2).collect(),
			fused: Fused::Untried,
		}
	}

	/// The constants.
	pub fn config(&self) -> &AdamWConfig {
		&self.config
	}

	/// Steps taken so far.
	pub fn steps(&self) -> u64 {
		self.steps
	}

	/// One update of every parameter that has a gradient, at learning rate `lr`.
	pub fn step(&mut self, params: &[Tensor], lr: f64) {
		assert_eq!(params.len(), self.exp_avg.len(), "AdamW built for another parameter list");
		self.steps += 1;
		let c = self.config;
		let bias1 = 1.0 - c.beta1.powi(self.steps as i32);
		let bias2_sqrt = (1.0 - c.beta2.powi(self.steps as i32)).sqrt();
		tch::no_grad(|| {
			for (i, p) in params.iter().enumerate() {
				let grad = p.grad();
				if !grad.defined() {
					continue;
				}
				let mut p = p.shallow_clone();
				if self.decay[i] && c.weight_decay != 0.0 {
					let _ = p.g_mul_scalar_(1.0 - lr * c.weight_decay);
				}
				let _ = self.exp_avg[i].lerp_(&grad, 1.0 - c.beta1);
				let _ = self.exp_avg_sq[i].g_mul_scalar_(c.beta2);
				let _ = self.exp_avg_sq[i].addcmul_(&(&grad * (1.0 - c.beta2)), &grad);
				let denom = (self.exp_avg_sq[i].sqrt() / bias2_sqrt) + c.eps;
				let update = self.exp_avg[i].divide(&denom) * (lr / bias1);
				let _ = p.g_sub_(&update);
			}
		});
	}

	/// Clips the gradients' global norm to `max_norm` (0: no clipping) and takes one update, in
	/// three CUDA launches over all parameters ([`FusedAdamW`]). Returns the norm before
	/// clipping (an f64 scalar on the device, so the caller can queue more work before waiting
	/// for it), or `None` (nothing changed) when the parameters are not all contiguous f32 CUDA
	/// tensors with gradients or the kernels cannot be loaded; then use
	/// [`super::clip_grad_norm`] and [`Self::step`], which compute the same update.
	pub fn fused_step(&mut self, params: &[Tensor], lr: f64, max_norm: f64) -> Option<Tensor> {
		assert_eq!(params.len(), self.exp_avg.len(), "AdamW built for another parameter list");
		let device = params.first()?.device();
		if device == tch::Device::Cpu || matches!(self.fused, Fused::Unavailable) {
			return None;
		}
		let grads: Vec<Tensor> = params.iter().map(Tensor::grad).collect();
		if grads.iter().any(|g| !g.defined()) {
			return None;
		}
		if matches!(self.fused, Fused::Untried) {
			self.fused = match FusedAdamW::new(device) {
				Ok(f) => Fused::Ready(Box::new(f)),
				Err(e) => {
					tracing::warn!(error = %e, "fused AdamW unavailable; using per-tensor updates");
					Fused::Unavailable
				}
			};
		}
		let Fused::Ready(fused) = &mut self.fused else { return None };
		let result = tch::no_grad(|| {
			fused.step(
				params,
				&grads,
				&self.exp_avg,
				&self.exp_avg_sq,
				&self.decay,
				&self.config,
				lr,
				self.steps + 1,
				max_norm,
			)
		});
		match result {
			Ok(norm) => {
				self.steps += 1;
				Some(norm)
			}
			Err(e) => {
				// Only argument checks and launches fail here, before any state changes.
				tracing::warn!(error = %e, "fused AdamW failed; using per-tensor updates");
				self.fused = Fused::Unavailable;
				None
			}
		}
	}

	/// The state as `(first moments, second moments)`, in parameter order.
	pub fn moments(&self) -> (&[Tensor], &[Tensor]) {
		(&self.exp_avg, &self.exp_avg_sq)
	}

	/// Replaces the state (a checkpoint's). Shapes must match the parameters the optimizer was
	/// built for.
	pub fn restore(
		&mut self,
		steps: u64,
		exp_avg: Vec<Tensor>,
		exp_avg_sq: Vec<Tensor>,
	) -> Result<(), String> {
		let same = |a: &[Tensor], b: &[Tensor]| {
			a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.size() == y.size())
		};
		if !same(&exp_avg, &self.exp_avg) || !same(&exp_avg_sq, &self.exp_avg_sq) {
			return Err("optimizer state does not match the model's parameters".into());
		}
		let device = self.exp_avg.first().map(Tensor::device);
		let put = |t: Tensor| match device {
			Some(d) => t.to_device(d),
			None => t,
		};
		self.steps = steps;
		self.exp_avg = exp_avg.into_iter().map(put).collect();
		self.exp_avg_sq = exp_avg_sq.into_iter().map(put).collect();
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn first_step_moves_each_weight_by_lr_against_its_gradient_sign() {
		// With bias correction, step 1 of Adam is lr·g/(|g|+eps) ≈ lr·sign(g).
		let w = Tensor::from_slice(&[1.0f32, -2.0, 3.0]).set_requires_grad(true);
		let loss = (&w * Tensor::from_slice(&[2.0f32, -0.5, 0.0])).sum(Kind::Float);
		loss.backward();
		let mut opt = AdamW::new(
			&[w.shallow_clone()],
			AdamWConfig { weight_decay: 0.0, ..Default::default() },
		);
		opt.step(&[w.shallow_clone()], 0.1);
		let after: Vec<f32> = Vec::try_from(&w.detach()).unwrap();
		assert!((after[0] - 0.9).abs() < 1e-6, "{after:?}");
		assert!((after[1] - -1.9).abs() < 1e-6, "{after:?}");
		assert_eq!(after[2], 3.0, "zero gradient, no decay on vectors: unchanged");
		assert_eq!(opt.steps(), 1);
	}
}
