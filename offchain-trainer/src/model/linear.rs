//! A bias-free linear layer whose fp32 master weight is cast to the compute precision per call.

use tch::{nn, Kind, Tensor};

/// `y = x · Wᵀ` with `W` of shape `(out, in)`, stored in fp32.
#[derive(Debug)]
pub struct Linear {
	/// The master weight, `(out, in)`.
	pub weight: Tensor,
}

impl Linear {
	/// A layer `in_dim → out_dim` under `vs`, weight drawn from N(0, std²).
	pub fn new(vs: nn::Path, in_dim: i64, out_dim: i64, std: f64) -> Self {
		let weight =
			vs.var("weight", &[out_dim, in_dim], nn::Init::Randn { mean: 0.0, stdev: std });
		Self { weight }
	}

	/// Applies the layer with the matrix product in `kind` (bf16 on GPU, fp32 on CPU); autograd
	/// carries the gradient back to the fp32 master weight through the cast.
	pub fn forward(&self, xs: &Tensor, kind: Kind) -> Tensor {
		xs.to_kind(kind).matmul(&self.weight.to_kind(kind).tr())
	}
}
