//! Causal self-attention with grouped-query heads, through `scaled_dot_product_attention`.

use tch::{nn, Kind, Tensor};

use super::config::ModelConfig;
use super::linear::Linear;
use super::rope::Rotary;

/// Repeats each of the `n_kv` key/value heads of `xs` `(batch, n_kv, seq, dim)` `n_rep` times in
/// place, giving `(batch, n_kv·n_rep, seq, dim)` where query head `h` reads key/value head
/// `h / n_rep` (the grouping of LLaMA-2/3 GQA).
pub fn repeat_kv(xs: &Tensor, n_rep: i64) -> Tensor {
	if n_rep == 1 {
		return xs.shallow_clone();
	}
	let (b, n_kv, t, d) = xs.size4().expect("key/value heads are (batch, heads, seq, dim)");
	xs.unsqueeze(2).expand([b, n_kv, n_rep, t, d], false).reshape([b, n_kv * n_rep, t, d])
}

/// Causal `scaled_dot_product_attention` of `q` `(batch, heads, seq, dim)` over `k` and `v`
/// `(batch, kv heads, seq, dim)`, each key/value head serving `heads / kv heads` query heads:
/// position `i` sees positions `≤ i` only. What [`Attention::forward`] and the fused pass's
/// fallback both run.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor, tch::TchError> {
	let ((_, heads, _, _), (_, kv_heads, _, _)) = (q.size4()?, k.size4()?);
	let n_rep = heads / kv_heads.max(1);
	Tensor::f_scaled_dot_product_attention(
		q,
		&repeat_kv(k, n_rep),
		&repeat_kv(v, n_rep),
		None::<Tensor>,
		0.0,
		true,
		None,
		false,
	)
}

/// Query, key, value and output projections of one block (`wq`, `wk`, `wv`, `wo`).
#[derive(Debug)]
pub struct Attention {
	pub(in crate::model) wq: Linear,
	pub(in crate::model) wk: Linear,
	pub(in crate::model) wv: Linear,
	pub(in crate::model) wo: Linear,
	pub(in crate::model) n_heads: i64,
	pub(in crate::model) n_kv_heads: i64,
	pub(in crate::model) head_dim: i64,
}

impl Attention {
	/// The projections for `config`; `out_std` initialises `wo` (scaled by depth).
	pub fn new(vs: nn::Path, config: &ModelConfig, std: f64, out_std: f64) -> Self {
		let head_dim = config.head_dim();
		let q_dim = config.n_heads * head_dim;
		let kv_dim = config.n_kv_heads * head_dim;
		Self {
			wq: Linear::new(&vs / "wq", config.dim, q_dim, std),
			wk: Linear::new(&vs / "wk", config.dim, kv_dim, std),
			wv: Linear::new(&vs / "wv", config.dim, kv_dim, std),
			wo: Linear::new(&vs / "wo", q_dim, config.dim, out_std),
			n_heads: config.n_heads,
			n_kv_heads: config.n_kv_heads,
			head_dim,
		}
	}

	/// Attends causally over `xs` `(batch, seq, dim)`: position `i` sees positions `≤ i` only.
	pub fn forward(&self, xs: &Tensor, rope: &Rotary, kind: Kind) -> Tensor {
		let (b, t, _) = xs.size3().expect("attention input is (batch, seq, dim)");
		let heads = |proj: &Linear, n: i64| {
			proj.forward(xs, kind).view([b, t, n, self.head_dim]).transpose(1, 2)
		};
		let q = rope.apply(&heads(&self.wq, self.n_heads));
		let k = rope.apply(&heads(&self.wk, self.n_kv_heads));
		let v = heads(&self.wv, self.n_kv_heads);
		let y = causal_attention(&q, &k, &v).expect("attention of consistent shapes");
		let y = y.transpose(1, 2).contiguous().view([b, t, self.n_heads * self.head_dim]);
		self.wo.forward(&y, kind)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use tch::Device;

	fn config(n_heads: i64, n_kv_heads: i64) -> ModelConfig {
		let mut c = ModelConfig::builtin("tiny").unwrap();
		(c.dim, c.n_heads, c.n_kv_heads) = (32, n_heads, n_kv_heads);
		c
	}

	#[test]
	fn repeat_kv_gives_query_head_h_the_kv_head_h_over_n_rep() {
		// Two kv heads, each filled with its own index, repeated three times.
		let xs = Tensor::from_slice(&[0.0f32, 1.0]).view([1, 2, 1, 1]).expand([1, 2, 5, 4], false);
		let out = repeat_kv(&xs, 3);
		assert_eq!(out.size(), vec![1, 6, 5, 4]);
		let per_head: Vec<f32> =
			Vec::try_from(out.select(2, 0).select(2, 0).squeeze_dim(0)).unwrap();
		assert_eq!(per_head, vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
	}

	#[test]
	fn grouped_attention_equals_multi_head_with_repeated_kv_weights() {
		tch::manual_seed(7);
		let device = Device::Cpu;
		let gqa_vs = nn::VarStore::new(device);
		let gqa = Attention::new(gqa_vs.root(), &config(4, 2), 0.2, 0.2);
		let mha_vs = nn::VarStore::new(device);
		let mha = Attention::new(mha_vs.root(), &config(4, 4), 0.2, 0.2);
		// Multi-head weights whose kv heads are the grouped ones, each repeated for its 2 queries.
		tch::no_grad(|| {
			let rep = |w: &Tensor| {
				let w = w.view([2, 1, 8, 32]).expand([2, 2, 8, 32], false);
				w.reshape([32, 32])
			};
			mha.wq.weight.shallow_clone().copy_(&gqa.wq.weight);
			mha.wo.weight.shallow_clone().copy_(&gqa.wo.weight);
			mha.wk.weight.shallow_clone().copy_(&rep(&gqa.wk.weight));
			mha.wv.weight.shallow_clone().copy_(&rep(&gqa.wv.weight));
		});
		let rope = Rotary::new(8, 16, 10000.0, device);
		let x = Tensor::randn([2, 7, 32], (Kind::Float, device));
		let a = gqa.forward(&x, &rope, Kind::Float);
		let b = mha.forward(&x, &rope, Kind::Float);
		let diff = (a - b).abs().max().double_value(&[]);
		assert!(diff < 1e-5, "GQA and repeated MHA differ by {diff}");
	}
}
