//! Rotary position embeddings (Su et al. 2021), in the "rotate half" layout used by LLaMA ports.

use tch::{Device, Kind, Tensor};

/// Precomputed cosine and sine tables, `(max_seq_len, head_dim)` each, in fp32.
#[derive(Debug)]
pub struct Rotary {
	pub(in crate::model) cos: Tensor,
	pub(in crate::model) sin: Tensor,
}

impl Rotary {
	/// Tables for heads of width `head_dim` (even) up to `max_seq_len` positions.
	pub fn new(head_dim: i64, max_seq_len: i64, theta: f64, device: Device) -> Self {
		let half = head_dim / 2;
		let exponents = Tensor::arange(half, (Kind::Float, device)) * (2.0 / head_dim as f64);
		let inv_freq = Tensor::from(theta).to_kind(Kind::Float).to_device(device).pow(&exponents);
		let inv_freq = inv_freq.reciprocal();
		let positions = Tensor::arange(max_seq_len, (Kind::Float, device));
		let angles = positions.outer(&inv_freq);
		let angles = Tensor::cat(&[&angles, &angles], -1);
		Self { cos: angles.cos(), sin: angles.sin() }
	}

	/// The cosine and sine tables, `(max_seq_len, head_dim)` f32 each.
	pub fn tables(&self) -> (&Tensor, &Tensor) {
		(&self.cos, &self.sin)
	}

	/// Rotates `xs` of shape `(batch, heads, seq, head_dim)`, position `i` by its angle.
	pub fn apply(&self, xs: &Tensor) -> Tensor {
		let (_, _, seq, head_dim) = xs.size4().expect("rotary input is (batch, heads, seq, dim)");
		let kind = xs.kind();
		let cos = self.cos.narrow(0, 0, seq).to_kind(kind);
		let sin = self.sin.narrow(0, 0, seq).to_kind(kind);
		let half = head_dim / 2;
		let x1 = xs.narrow(-1, 0, half);
		let x2 = xs.narrow(-1, half, half);
		let rotated = Tensor::cat(&[&(-x2), &x1], -1);
		xs * cos + rotated * sin
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rotation_keeps_norms_and_position_zero() {
		let rope = Rotary::new(8, 16, 10000.0, Device::Cpu);
		let x = Tensor::randn([1, 2, 16, 8], (Kind::Float, Device::Cpu));
		let y = rope.apply(&x);
		let diff = (x.norm_scalaropt_dim(2, [-1], false) - y.norm_scalaropt_dim(2, [-1], false))
			.abs()
			.max()
			.double_value(&[]);
		assert!(diff < 1e-5, "norm changed by {diff}");
		let first = (x.narrow(2, 0, 1) - y.narrow(2, 0, 1)).abs().max().double_value(&[]);
		assert_eq!(first, 0.0, "position 0 is not rotated");
	}

	#[test]
	fn scores_depend_on_relative_position_only() {
		let rope = Rotary::new(8, 16, 10000.0, Device::Cpu);
		let q = Tensor::randn([1, 1, 1, 8], (Kind::Float, Device::Cpu)).repeat([1, 1, 16, 1]);
		let k = Tensor::randn([1, 1, 1, 8], (Kind::Float, Device::Cpu)).repeat([1, 1, 16, 1]);
		let (q, k) = (rope.apply(&q), rope.apply(&k));
		let score =
			|i: i64, j: i64| (q.get(0).get(0).get(i) * k.get(0).get(0).get(j)).sum(Kind::Float);
		let a = score(5, 2).double_value(&[]);
		let b = score(12, 9).double_value(&[]);
		assert!((a - b).abs() < 1e-4, "{a} vs {b}");
	}
}
