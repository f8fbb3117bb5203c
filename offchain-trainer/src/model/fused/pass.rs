//! The decoder's forward and backward pass written out by hand, for training on a GPU.
//!
//! Same model and same mathematics as [`Llama::loss`] under autograd, with the differences that
//! make it faster: the norms, the rotary embedding, the SwiGLU gate and the loss with its gradient
//! are single passes ([`FusedOps`]); the query, key and value projections are one matrix product,
//! as are the gate and up projections; the rotary embedding is applied in place in the product's
//! output; the logits' gradient overwrites the logits (no f32 copy of the `(tokens, vocab)`
//! matrix). Attention keeps libtorch's flash kernel and its backward through a small autograd
//! graph of its own. Gradients are added to the parameters' `.grad`, as `backward()` does, so the
//! optimizer, clipping and checkpoints are unchanged.

use tch::{Kind, Tensor};

use super::ops::{FusedOps, FusedPassError};
use crate::model::attention::repeat_kv;
use crate::model::llama::Block;
use crate::model::Llama;

/// What the forward pass of one block keeps for its backward pass.
struct BlockTape {
	x: Tensor,
	rstd1: Tensor,
	n1: Tensor,
	wqkv: Tensor,
	/// The attention's own autograd graph: its leaves (rotated q, k and v) and output.
	q: Tensor,
	k: Tensor,
	v: Tensor,
	attn: Tensor,
	attn_rows: Tensor,
	wo: Tensor,
	h: Tensor,
	rstd2: Tensor,
	n2: Tensor,
	w13: Tensor,
	ab: Tensor,
	gate: Tensor,
	w2: Tensor,
}

/// Adds `g` (any kind) to the f32 gradient of parameter `p`.
fn add_grad(p: &Tensor, g: &Tensor) -> Result<(), FusedPassError> {
	let mut grad = p.grad();
	if !grad.defined() {
		return Err(FusedPassError::NotApplicable("parameter without a gradient buffer".into()));
	}
	let _ = grad.f_add_(g)?;
	Ok(())
}

/// `dyᵀ · x`: the gradient of `W` in `y = x · Wᵀ`.
fn weight_grad(dy: &Tensor, x: &Tensor) -> Result<Tensor, FusedPassError> {
	Ok(dy.f_tr()?.f_mm(x)?)
}

/// The hand-written pass over one model.
#[derive(Debug)]
pub struct FusedPass {
	ops: FusedOps,
}

impl FusedPass {
	/// The pass with `ops`.
	pub fn new(ops: FusedOps) -> Self {
		Self { ops }
	}

	/// The operations the pass runs on.
	pub fn ops(&self) -> &FusedOps {
		&self.ops
	}

	/// Whether the pass can train `model` (its activations' kind and widths fit the kernels).
	pub fn supports(&self, model: &Llama) -> bool {
		let c = model.config();
		self.ops.supports(model.kind, c.dim) && c.head_dim() % 2 == 0
	}

	/// Gives every parameter of `params` a zero gradient buffer if it has none yet (autograd
	/// creates them on the first `backward()`; this pass only adds to them).
	pub fn ensure_grads(params: &[Tensor]) {
		let missing: Vec<Tensor> = params
			.iter()
			.filter(|p| !p.grad().defined())
			.map(|p| p.sum(Kind::Float) * 0.0)
			.collect();
		if !missing.is_empty() {
			Tensor::stack(&missing, 0).sum(Kind::Float).backward();
		}
	}

	/// Adds `grad_scale × ∇(mean cross-entropy of predicting targets from tokens)` to every
	/// parameter's gradient (which must exist: see [`Self::ensure_grads`]); returns the mean loss,
	/// an f32 scalar still on the device.
	pub fn loss_and_backward(
		&self,
		model: &Llama,
		tokens: &Tensor,
		targets: &Tensor,
		grad_scale: f64,
	) -> Result<Tensor, FusedPassError> {
		let _no_grad = tch::no_grad_guard();
		let (batch, seq) = tokens.size2()?;
		let rows = batch * seq;
		let kind = model.kind;
		let tokens = tokens.f_reshape([rows])?;
		let targets = targets.f_reshape([rows])?.f_contiguous()?;

		// Forward.
		let embedding = model.tok_embeddings.f_to_kind(kind)?;
		let mut x = embedding.f_index_select(0, &tokens)?;
		let mut tapes = Vec::with_capacity(model.layers.len());
		for block in &model.layers {
			let (out, tape) = self.block_forward(model, block, x, batch, seq)?;
			tapes.push(tape);
			x = out;
		}
		let (normed, rstd) = self.ops.rms_norm_forward(&x, &model.norm.weight, model.norm.eps)?;
		let head = match &model.output {
			Some(output) => output.weight.f_to_kind(kind)?,
			None => embedding.shallow_clone(),
		};
		let logits = normed.f_mm(&head.f_tr()?)?;
		let scale = grad_scale / rows as f64;
		let row_losses = self.ops.cross_entropy_(&logits, &targets, scale)?;
		let loss = row_losses.f_mean(Kind::Float)?;

		// Backward: `logits` now holds their gradient.
		let head_param = model.output.as_ref().map_or(&model.tok_embeddings, |o| &o.weight);
		add_grad(head_param, &weight_grad(&logits, &normed)?)?;
		let dnormed = logits.f_mm(&head)?;
		drop(logits);
		let (mut dx, dg) =
			self.ops.rms_norm_backward(&dnormed, &x, &rstd, &model.norm.weight, None)?;
		add_grad(&model.norm.weight, &dg)?;
		for (block, tape) in model.layers.iter().zip(tapes).rev() {
			dx = self.block_backward(model, block, tape, &dx, batch, seq)?;
		}
		let mut grad = model.tok_embeddings.grad();
		let _ = grad.f_index_add_(0, &tokens, &dx.f_to_kind(Kind::Float)?)?;
		Ok(loss)
	}

	fn block_forward(
		&self,
		model: &Llama,
		block: &Block,
		x: Tensor,
		batch: i64,
		seq: i64,
	) -> Result<(Tensor, BlockTape), FusedPassError> {
		let kind = model.kind;
		let att = &block.attention;
		let (h_q, h_kv, hd) = (att.n_heads, att.n_kv_heads, att.head_dim);
		let cast = |w: &Tensor| w.f_to_kind(kind);
		let wqkv = Tensor::f_cat(
			&[cast(&att.wq.weight)?, cast(&att.wk.weight)?, cast(&att.wv.weight)?],
			0,
		)?;

		let norm = &block.attention_norm;
		let (n1, rstd1) = self.ops.rms_norm_forward(&x, &norm.weight, norm.eps)?;
		let qkv = n1.f_mm(&wqkv.f_tr()?)?;
		let rope = &model.rope;
		self.ops.rotary_(&qkv, h_q + h_kv, hd, seq, &rope.cos, &rope.sin, false)?;
		let heads = |start: i64, n: i64| -> Result<Tensor, FusedPassError> {
			let t = qkv.f_narrow(1, start * hd, n * hd)?.f_view([batch, seq, n, hd])?;
			Ok(t.f_transpose(1, 2)?.f_detach()?.f_set_requires_grad(true)?)
		};
		let (q, k, v) = (heads(0, h_q)?, heads(h_q, h_kv)?, heads(h_q + h_kv, h_kv)?);
		let n_rep = h_q / h_kv;
		let attn = tch::with_grad(|| {
			Tensor::f_scaled_dot_product_attention(
				&q,
				&repeat_kv(&k, n_rep),
				&repeat_kv(&v, n_rep),
				None::<Tensor>,
				0.0,
				true,
				None,
				false,
			)
		})?;
		let attn_rows =
			attn.f_detach()?.f_transpose(1, 2)?.f_contiguous()?.f_view([batch * seq, h_q * hd])?;
		let wo = cast(&att.wo.weight)?;
		let h = &x + attn_rows.f_mm(&wo.f_tr()?)?;

		let ffn = &block.feed_forward;
		let norm = &block.ffn_norm;
		let (n2, rstd2) = self.ops.rms_norm_forward(&h, &norm.weight, norm.eps)?;
		let w13 = Tensor::f_cat(&[cast(&ffn.w1.weight)?, cast(&ffn.w3.weight)?], 0)?;
		let ab = n2.f_mm(&w13.f_tr()?)?;
		let hidden = ffn.w1.weight.size()[0];
		let gate = self.ops.swiglu_forward(&ab, hidden)?;
		let w2 = cast(&ffn.w2.weight)?;
		let out = &h + gate.f_mm(&w2.f_tr()?)?;
		let tape = BlockTape {
			x,
			rstd1,
			n1,
			wqkv,
			q,
			k,
			v,
			attn,
			attn_rows,
			wo,
			h,
			rstd2,
			n2,
			w13,
			ab,
			gate,
			w2,
		};
		Ok((out, tape))
	}

	/// Takes the gradient reaching the block's output, adds the block's parameter gradients, and
	/// returns the gradient reaching its input.
	fn block_backward(
		&self,
		model: &Llama,
		block: &Block,
		t: BlockTape,
		dout: &Tensor,
		batch: i64,
		seq: i64,
	) -> Result<Tensor, FusedPassError> {
		let att = &block.attention;
		let ffn = &block.feed_forward;
		let (h_q, h_kv, hd) = (att.n_heads, att.n_kv_heads, att.head_dim);
		let hidden = ffn.w1.weight.size()[0];

		// Feed-forward: out = h + w2(silu(w1 n2) · w3 n2), n2 = norm(h).
		add_grad(&ffn.w2.weight, &weight_grad(dout, &t.gate)?)?;
		let dgate = dout.f_mm(&t.w2)?;
		let dab = self.ops.swiglu_backward(&dgate, &t.ab, hidden)?;
		drop(dgate);
		let dw13 = weight_grad(&dab, &t.n2)?;
		add_grad(&ffn.w1.weight, &dw13.f_narrow(0, 0, hidden)?)?;
		add_grad(&ffn.w3.weight, &dw13.f_narrow(0, hidden, hidden)?)?;
		let dn2 = dab.f_mm(&t.w13)?;
		drop(dab);
		let norm = &block.ffn_norm;
		let (dh, dg) =
			self.ops.rms_norm_backward(&dn2, &t.h, &t.rstd2, &norm.weight, Some(dout))?;
		add_grad(&norm.weight, &dg)?;

		// Attention: h = x + wo(attention(rotary(wq n1), rotary(wk n1), wv n1)), n1 = norm(x).
		add_grad(&att.wo.weight, &weight_grad(&dh, &t.attn_rows)?)?;
		let dattn = dh.f_mm(&t.wo)?.f_view([batch, seq, h_q, hd])?.f_transpose(1, 2)?;
		// Σ attn · dattn has gradient dattn with respect to attn: autograd's backward of the
		// attention from the output gradient (tch offers no `backward(gradient)`).
		// Recorded with gradients on: a root without a graph crashes libtorch's engine.
		let surrogate = tch::with_grad(|| (&t.attn * dattn).f_sum(Kind::Float))?;
		let grads = Tensor::f_run_backward(&[surrogate], &[&t.q, &t.k, &t.v], false, false)?;
		let rows = batch * seq;
		let dqkv = Tensor::f_empty([rows, (h_q + 2 * h_kv) * hd], (t.n1.kind(), t.n1.device()))?;
		for (grad, (start, n)) in grads.iter().zip([(0, h_q), (h_q, h_kv), (h_q + h_kv, h_kv)]) {
			let view = dqkv.f_narrow(1, start * hd, n * hd)?.f_view([batch, seq, n, hd])?;
			view.shallow_clone().f_copy_(&grad.f_transpose(1, 2)?)?;
		}
		drop(grads);
		let rope = &model.rope;
		self.ops.rotary_(&dqkv, h_q + h_kv, hd, seq, &rope.cos, &rope.sin, true)?;
		let dwqkv = weight_grad(&dqkv, &t.n1)?;
		add_grad(&att.wq.weight, &dwqkv.f_narrow(0, 0, h_q * hd)?)?;
		add_grad(&att.wk.weight, &dwqkv.f_narrow(0, h_q * hd, h_kv * hd)?)?;
		add_grad(&att.wv.weight, &dwqkv.f_narrow(0, (h_q + h_kv) * hd, h_kv * hd)?)?;
		let dn1 = dqkv.f_mm(&t.wqkv)?;
		let norm = &block.attention_norm;
		let (dx, dg) = self.ops.rms_norm_backward(&dn1, &t.x, &t.rstd1, &norm.weight, Some(&dh))?;
		add_grad(&norm.weight, &dg)?;
		Ok(dx)
	}
}
