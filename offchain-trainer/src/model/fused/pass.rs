//! The decoder's forward and backward pass written out by hand, for training on a GPU.
//!
//! Same model and same mathematics as [`Llama::loss`] under autograd, with the differences that
//! make it faster: the norms, the rotary embedding, the SwiGLU gate and the loss with its gradient
//! are single passes ([`FusedOps`]); the query, key and value projections are one matrix product,
//! as are the gate and up projections; the rotary embedding is applied in place in the product's
//! output; the logits' gradient overwrites the logits (no f32 copy of the `(tokens, vocab)`
//! matrix). Attention is libtorch's cuDNN kernels, forward and backward, called directly
//! ([`super::attention`]). Gradients are added to the parameters' `.grad`, as `backward()`
//! does, so the optimizer, clipping and checkpoints are unchanged.

use tch::{Kind, Tensor};

use super::attention::{self, AttentionTape};
use super::ops::{FusedOps, FusedPassError};
use crate::model::llama::Block;
use crate::model::Llama;

/// What the forward pass of one block keeps for its backward pass.
struct BlockTape {
	x: Tensor,
	rstd1: Tensor,
	n1: Tensor,
	wqkv: Tensor,
	/// What the attention's backward needs (rotated q, k and v among it).
	attention: AttentionTape,
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

/// The f32 gradient buffer of parameter `p`.
fn grad_of(p: &Tensor) -> Result<Tensor, FusedPassError> {
	let grad = p.grad();
	if !grad.defined() {
		return Err(FusedPassError::NotApplicable("parameter without a gradient buffer".into()));
	}
	Ok(grad)
}

/// Adds `g` (any kind) to the f32 gradient of parameter `p`.
fn add_grad(p: &Tensor, g: &Tensor) -> Result<(), FusedPassError> {
	let _ = grad_of(p)?.f_add_(g)?;
	Ok(())
}

/// Adds `dyᵀ · x`, the gradient of `W` in `y = x · Wᵀ`, to `W`'s f32 gradient. On CUDA the bf16
/// product accumulates in f32 straight into the gradient (one GEMM: no bf16 copy of the product,
/// no separate add); elsewhere the product is added.
fn add_weight_grad(p: &Tensor, dy: &Tensor, x: &Tensor) -> Result<(), FusedPassError> {
	let grad = grad_of(p)?;
	let dyt = dy.f_tr()?;
	if grad.device().is_cuda() && dy.kind() == Kind::BFloat16 {
		let _ = grad.f_addmm_dtype_out(&grad, &dyt, x, Kind::Float)?;
	} else {
		let _ = grad.shallow_clone().f_add_(&dyt.f_mm(x)?)?;
	}
	Ok(())
}

/// The matrices `ws` (same column count) stacked by rows into one tensor of `kind`, each copied
/// (and cast) straight into its rows: one pass per matrix, where casting then concatenating
/// made two.
fn cast_stacked(ws: &[&Tensor], kind: Kind) -> Result<Tensor, FusedPassError> {
	let cols = ws.first().map_or(Ok(0), |w| w.size2().map(|(_, c)| c))?;
	let rows = ws.iter().map(|w| w.size2().map(|(r, _)| r)).sum::<Result<i64, _>>()?;
	let device = ws.first().map_or(tch::Device::Cpu, |w| w.device());
	let out = Tensor::f_empty([rows, cols], (kind, device))?;
	let mut start = 0;
	for w in ws {
		let n = w.size2()?.0;
		let mut rows_of_w = out.f_narrow(0, start, n)?;
		rows_of_w.f_copy_(w)?;
		start += n;
	}
	Ok(out)
}

/// What the forward pass hands the loss: the token ids as rows, the output head in the compute
/// kind, the blocks' tapes (empty when not kept) and the last block's output.
struct Forward {
	tokens: Tensor,
	head: Tensor,
	tapes: Vec<BlockTape>,
	x: Tensor,
	batch: i64,
	seq: i64,
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
		self.ops.supports(model.kind, model.config())
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

	/// The mean cross-entropy (f32 scalar on the device) of predicting `targets` from `tokens`,
	/// forward only: what evaluation needs, without keeping activations or writing gradients.
	pub fn loss(
		&self,
		model: &Llama,
		tokens: &Tensor,
		targets: &Tensor,
	) -> Result<Tensor, FusedPassError> {
		let _no_grad = tch::no_grad_guard();
		let forward = self.forward(model, tokens, false)?;
		let (normed, _) =
			self.ops.rms_norm_forward(&forward.x, &model.norm.weight, model.norm.eps)?;
		let logits = normed.f_mm(&forward.head.f_tr()?)?;
		let targets = targets.f_reshape([-1])?.f_contiguous()?;
		Ok(self.ops.cross_entropy_(&logits, &targets, 0.0)?.f_mean(Kind::Float)?)
	}

	/// Embedding and blocks; the blocks' tapes are kept when `keep` (for a backward pass).
	fn forward(
		&self,
		model: &Llama,
		tokens: &Tensor,
		keep: bool,
	) -> Result<Forward, FusedPassError> {
		let (batch, seq) = tokens.size2()?;
		let kind = model.kind;
		let tokens = tokens.f_reshape([batch * seq])?;
		let embedding = model.tok_embeddings.f_to_kind(kind)?;
		let mut x = embedding.f_index_select(0, &tokens)?;
		let mut tapes = Vec::with_capacity(if keep { model.layers.len() } else { 0 });
		for block in &model.layers {
			let (out, tape) = self.block_forward(model, block, x, batch, seq, keep)?;
			if keep {
				tapes.push(tape);
			}
			x = out;
		}
		let head = match &model.output {
			Some(output) => output.weight.f_to_kind(kind)?,
			None => embedding.shallow_clone(),
		};
		Ok(Forward { tokens, head, tapes, x, batch, seq })
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
		let Forward { tokens, head, tapes, x, batch, seq } = self.forward(model, tokens, true)?;
		let rows = batch * seq;
		let targets = targets.f_reshape([rows])?.f_contiguous()?;
		let (normed, rstd) = self.ops.rms_norm_forward(&x, &model.norm.weight, model.norm.eps)?;
		let logits = normed.f_mm(&head.f_tr()?)?;
		let scale = grad_scale / rows as f64;
		let row_losses = self.ops.cross_entropy_(&logits, &targets, scale)?;
		let loss = row_losses.f_mean(Kind::Float)?;

		// Backward: `logits` now holds their gradient.
		let head_param = model.output.as_ref().map_or(&model.tok_embeddings, |o| &o.weight);
		add_weight_grad(head_param, &logits, &normed)?;
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
		keep: bool,
	) -> Result<(Tensor, BlockTape), FusedPassError> {
		let kind = model.kind;
		let att = &block.attention;
		let (h_q, h_kv, hd) = (att.n_heads, att.n_kv_heads, att.head_dim);
		let cast = |w: &Tensor| w.f_to_kind(kind);
		let wqkv = cast_stacked(&[&att.wq.weight, &att.wk.weight, &att.wv.weight], kind)?;

		let norm = &block.attention_norm;
		let (n1, rstd1) = self.ops.rms_norm_forward(&x, &norm.weight, norm.eps)?;
		let qkv = n1.f_mm(&wqkv.f_tr()?)?;
		let rope = &model.rope;
		self.ops.rotary_(&qkv, h_q + h_kv, hd, seq, &rope.cos, &rope.sin, false)?;
		// (batch, heads, seq, dim) views of the product's columns.
		let heads = |start: i64, n: i64| -> Result<Tensor, FusedPassError> {
			let t = qkv.f_narrow(1, start * hd, n * hd)?.f_view([batch, seq, n, hd])?;
			Ok(t.f_transpose(1, 2)?)
		};
		let (attn, attention) = attention::forward(
			heads(0, h_q)?,
			heads(h_q, h_kv)?,
			heads(h_q + h_kv, h_kv)?,
			self.ops.is_cuda(),
			keep,
		)?;
		let attn_rows = attn.f_transpose(1, 2)?.f_contiguous()?.f_view([batch * seq, h_q * hd])?;
		let wo = cast(&att.wo.weight)?;
		// The residual added by the GEMM (C = x, β = 1): no separate pass over the activations.
		let h = x.f_addmm(&attn_rows, &wo.f_tr()?)?;

		let ffn = &block.feed_forward;
		let norm = &block.ffn_norm;
		let (n2, rstd2) = self.ops.rms_norm_forward(&h, &norm.weight, norm.eps)?;
		let w13 = cast_stacked(&[&ffn.w1.weight, &ffn.w3.weight], kind)?;
		let ab = n2.f_mm(&w13.f_tr()?)?;
		let hidden = ffn.w1.weight.size()[0];
		let gate = self.ops.swiglu_forward(&ab, hidden)?;
		let w2 = cast(&ffn.w2.weight)?;
		let out = h.f_addmm(&gate, &w2.f_tr()?)?;
		let tape = BlockTape {
			x,
			rstd1,
			n1,
			wqkv,
			attention,
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
		add_weight_grad(&ffn.w2.weight, dout, &t.gate)?;
		let dgate = dout.f_mm(&t.w2)?;
		let dab = self.ops.swiglu_backward(&dgate, &t.ab, hidden)?;
		drop(dgate);
		add_weight_grad(&ffn.w1.weight, &dab.f_narrow(1, 0, hidden)?, &t.n2)?;
		add_weight_grad(&ffn.w3.weight, &dab.f_narrow(1, hidden, hidden)?, &t.n2)?;
		let dn2 = dab.f_mm(&t.w13)?;
		drop(dab);
		let norm = &block.ffn_norm;
		let (dh, dg) =
			self.ops.rms_norm_backward(&dn2, &t.h, &t.rstd2, &norm.weight, Some(dout))?;
		add_grad(&norm.weight, &dg)?;

		// Attention: h = x + wo(attention(rotary(wq n1), rotary(wk n1), wv n1)), n1 = norm(x).
		add_weight_grad(&att.wo.weight, &dh, &t.attn_rows)?;
		let dattn = dh.f_mm(&t.wo)?.f_view([batch, seq, h_q, hd])?.f_transpose(1, 2)?;
		let grads = attention::backward(t.attention, &dattn)?;
		// Each part as (tokens, heads·dim) rows: a view when the kernel laid it out token-major,
		// a copy otherwise. q and k rotate back in place; the three parts then meet the
		// projections one by one instead of being packed into one (tokens, q+k+v) matrix.
		let rows = batch * seq;
		let rope = &model.rope;
		let (mut dn1, mut start) = (None::<Tensor>, 0);
		for (i, (grad, (proj, n))) in
			grads.iter().zip([(&att.wq, h_q), (&att.wk, h_kv), (&att.wv, h_kv)]).enumerate()
		{
			let part = grad.f_transpose(1, 2)?.f_reshape([rows, n * hd])?.f_contiguous()?;
			if i < 2 {
				self.ops.rotary_(&part, n, hd, seq, &rope.cos, &rope.sin, true)?;
			}
			add_weight_grad(&proj.weight, &part, &t.n1)?;
			let w = t.wqkv.f_narrow(0, start * hd, n * hd)?;
			start += n;
			dn1 = Some(match dn1 {
				None => part.f_mm(&w)?,
				Some(acc) => acc.f_addmm(&part, &w)?,
			});
		}
		drop(grads);
		let dn1 =
			dn1.ok_or_else(|| FusedPassError::NotApplicable("no attention gradient".into()))?;
		let norm = &block.attention_norm;
		let (dx, dg) = self.ops.rms_norm_backward(&dn1, &t.x, &t.rstd1, &norm.weight, Some(&dh))?;
		add_grad(&norm.weight, &dg)?;
		Ok(dx)
	}
}
