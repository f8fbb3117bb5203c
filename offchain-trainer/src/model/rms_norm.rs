//! Root-mean-square layer normalisation (Zhang & Sennrich 2019), computed in fp32.

use tch::{nn, Kind, Tensor};

/// `y = x / sqrt(mean(x²) + ε) · g`, the statistic always in fp32 so bf16 activations keep their
/// precision where it matters.
#[derive(Debug)]
pub struct RmsNorm {
	/// The per-channel gain `g`, initialised to one.
	pub weight: Tensor,
	pub(in crate::model) eps: f64,
}

impl RmsNorm {
	/// A norm over the last dimension of width `dim`.
	pub fn new(vs: nn::Path, dim: i64, eps: f64) -> Self {
		Self { weight: vs.var("weight", &[dim], nn::Init::Const(1.0)), eps }
	}

	/// Normalises `xs` over its last dimension; the result has `xs`'s kind.
	pub fn forward(&self, xs: &Tensor) -> Tensor {
		let kind = xs.kind();
		let x = xs.to_kind(Kind::Float);
		let rms = (x.square().mean_dim(-1, true, Kind::Float) + self.eps).rsqrt();
		(x * rms * &self.weight).to_kind(kind)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn output_has_unit_rms() {
		let vs = nn::VarStore::new(tch::Device::Cpu);
		let norm = RmsNorm::new(vs.root(), 8, 1e-6);
		let x = Tensor::arange(16, (Kind::Float, tch::Device::Cpu)).view([2, 8]) * 3.0 - 7.0;
		let y = norm.forward(&x);
		let rms = y.square().mean_dim(-1, false, Kind::Float);
		for r in Vec::<f32>::try_from(&rms).unwrap() {
			assert!((r - 1.0).abs() < 1e-4, "rms {r}");
		}
	}
}
