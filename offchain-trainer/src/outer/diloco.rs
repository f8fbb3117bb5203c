//! DiLoCo's outer optimizer (Douillard et al. 2023): SGD with Nesterov momentum on the averaged
//! dense pseudo-gradient, lr 0.7 and momentum 0.9 as in the paper.

use tch::Tensor;

/// Outer Nesterov SGD: `b ← μ·b + Δ`, `θ ← θ − η·(Δ + μ·b)` (PyTorch's `SGD(nesterov=True)`).
#[derive(Debug)]
pub struct NesterovOuter {
	/// Outer learning rate η.
	pub lr: f64,
	/// Momentum μ.
	pub momentum: f64,
	buffers: Vec<Tensor>,
}

impl NesterovOuter {
	/// The optimizer with DiLoCo's constants (η 0.7, μ 0.9).
	pub fn diloco() -> Self {
		Self::new(0.7, 0.9)
	}

	/// The optimizer with explicit constants.
	pub fn new(lr: f64, momentum: f64) -> Self {
		Self { lr, momentum, buffers: Vec::new() }
	}

	/// Applies the averaged pseudo-gradient `delta` to `theta` in place.
	pub fn step(&mut self, theta: &[Tensor], delta: &[Tensor]) {
		assert_eq!(theta.len(), delta.len(), "one pseudo-gradient per tensor");
		tch::no_grad(|| {
			if self.buffers.is_empty() {
				self.buffers = delta.iter().map(|d| d.detach().copy()).collect();
			} else {
				for (b, d) in self.buffers.iter_mut().zip(delta) {
					let _ = b.g_mul_scalar_(self.momentum);
					let _ = b.g_add_(d);
				}
			}
			for ((t, d), b) in theta.iter().zip(delta).zip(&self.buffers) {
				let step = (d + b * self.momentum) * self.lr;
				let _ = t.shallow_clone().g_sub_(&step);
			}
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn follows_pytorch_nesterov_sgd() {
		let theta = [Tensor::from_slice(&[1.0f64])];
		let mut opt = NesterovOuter::new(0.5, 0.9);
		opt.step(&theta, &[Tensor::from_slice(&[1.0f64])]);
		// b = 1; θ = 1 − 0.5·(1 + 0.9) = 0.05
		assert!((theta[0].double_value(&[0]) - 0.05).abs() < 1e-12);
		opt.step(&theta, &[Tensor::from_slice(&[2.0f64])]);
		// b = 0.9 + 2 = 2.9; θ = 0.05 − 0.5·(2 + 2.61) = −2.255
		assert!((theta[0].double_value(&[0]) + 2.255).abs() < 1e-12);
	}
}
