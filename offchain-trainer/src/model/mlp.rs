//! The SwiGLU feed-forward block (Shazeer 2020): `W₂ · (silu(W₁x) ⊙ W₃x)`.

use tch::{nn, Kind, Tensor};

use super::linear::Linear;

/// Gate (`w1`), up (`w3`) and down (`w2`) projections, named as in Meta's LLaMA checkpoints.
#[derive(Debug)]
pub struct SwiGlu {
	pub(in crate::model) w1: Linear,
	pub(in crate::model) w2: Linear,
	pub(in crate::model) w3: Linear,
}

impl SwiGlu {
	/// A block `dim → hidden → dim`; `out_std` initialises the down projection (scaled by depth).
	pub fn new(vs: nn::Path, dim: i64, hidden: i64, std: f64, out_std: f64) -> Self {
		Self {
			w1: Linear::new(&vs / "w1", dim, hidden, std),
			w2: Linear::new(&vs / "w2", hidden, dim, out_std),
			w3: Linear::new(&vs / "w3", dim, hidden, std),
		}
	}

	/// Applies the block with matrix products in `kind`.
	pub fn forward(&self, xs: &Tensor, kind: Kind) -> Tensor {
		let gate = self.w1.forward(xs, kind).silu();
		self.w2.forward(&(gate * self.w3.forward(xs, kind)), kind)
	}
}
