//! Causal attention inside the fused pass: forward, and backward from the output's gradient.
//!
//! On CUDA both halves are libtorch's cuDNN attention kernels called directly: the forward
//! through `cudnn_attention.cpp` (tch has no binding for the operator that returns the
//! logsumexp the backward needs), the backward through tch. Elsewhere (the reference operations
//! the CPU tests run, and on CUDA if the cuDNN kernel refuses the input) the forward is
//! `scaled_dot_product_attention` recorded in a small autograd graph of its own, and the
//! backward runs that graph from `Σ out · dout`, whose gradient with respect to `out` is `dout`
//! (tch offers no `backward(gradient)`). The cuDNN kernels take grouped-query heads as they are
//! (fewer key/value heads); repeating them for the kernel instead made a `1b` step 2 ms longer.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr};
use std::sync::atomic::{AtomicBool, Ordering};

use tch::{Kind, Tensor};
use torch_sys::C_tensor;

use super::ops::FusedPassError;
use crate::model::attention::causal_attention;

/// `gauntlet_attention_forward` in `cudnn_attention.cpp`.
#[repr(C)]
struct KernelForward {
	out: *mut C_tensor,
	logsumexp: *mut C_tensor,
	cum_seq_q: *mut C_tensor,
	cum_seq_k: *mut C_tensor,
	philox_seed: *mut C_tensor,
	philox_offset: *mut C_tensor,
	max_q: i64,
	max_k: i64,
}

extern "C" {
	fn gauntlet_cudnn_attention_forward(
		q: *const C_tensor,
		k: *const C_tensor,
		v: *const C_tensor,
		scale: f64,
		result: *mut KernelForward,
		err: *mut c_char,
		err_len: usize,
	) -> c_int;
}

/// Set once the cuDNN kernel has refused an input; from then on this process uses the fallback.
static KERNEL_REFUSED: AtomicBool = AtomicBool::new(false);

/// What the backward pass of one attention needs from its forward pass.
pub(super) enum AttentionTape {
	/// The cuDNN kernel's inputs, output and statistics.
	Kernel {
		q: Tensor,
		k: Tensor,
		v: Tensor,
		out: Tensor,
		logsumexp: Tensor,
		cum_seq_q: Tensor,
		cum_seq_k: Tensor,
		philox_seed: Tensor,
		philox_offset: Tensor,
		max_q: i64,
		max_k: i64,
		scale: f64,
	},
	/// Leaves (q, k, v with gradients required) and output of a recorded autograd graph.
	Graph { q: Tensor, k: Tensor, v: Tensor, out: Tensor },
	/// Nothing kept (forward only).
	None,
}

/// Causal attention of `q` `(batch, heads, seq, dim)` over `k` and `v` `(batch, kv heads, seq,
/// dim)`; returns the output `(batch, heads, seq, dim)` and, when `keep`, the tape for
/// [`backward`]. `cuda` selects the cuDNN kernel (bf16 on a CUDA device).
pub(super) fn forward(
	q: Tensor,
	k: Tensor,
	v: Tensor,
	cuda: bool,
	keep: bool,
) -> Result<(Tensor, AttentionTape), FusedPassError> {
	// After one refusal the kernel is not tried again: each refusal is a C++ exception per layer.
	if cuda && !KERNEL_REFUSED.load(Ordering::Relaxed) {
		match kernel_forward(&q, &k, &v) {
			Ok((out, tape)) => return Ok((out, if keep { tape } else { AttentionTape::None })),
			Err(e) => {
				if !KERNEL_REFUSED.swap(true, Ordering::Relaxed) {
					tracing::warn!(error = %e, "cuDNN attention unavailable; using SDPA");
				}
			}
		}
	}
	let leaf = |t: Tensor| -> Result<Tensor, FusedPassError> {
		Ok(t.f_detach()?.f_set_requires_grad(keep)?)
	};
	let (q, k, v) = (leaf(q)?, leaf(k)?, leaf(v)?);
	let attention = || causal_attention(&q, &k, &v);
	// With a graph only when a backward pass will follow.
	if !keep {
		return Ok((attention()?, AttentionTape::None));
	}
	let out = tch::with_grad(attention)?;
	Ok((out.f_detach()?, AttentionTape::Graph { q, k, v, out }))
}

/// The cuDNN forward through the shim: the output and its tape.
fn kernel_forward(
	q: &Tensor,
	k: &Tensor,
	v: &Tensor,
) -> Result<(Tensor, AttentionTape), FusedPassError> {
	let head_dim = q.size().last().copied().unwrap_or(1);
	let scale = 1.0 / (head_dim as f64).sqrt();
	let null = std::ptr::null_mut;
	let mut result = KernelForward {
		out: null(),
		logsumexp: null(),
		cum_seq_q: null(),
		cum_seq_k: null(),
		philox_seed: null(),
		philox_offset: null(),
		max_q: 0,
		max_k: 0,
	};
	let mut err = [0 as c_char; 512];
	// SAFETY: the three pointers are live tch tensors (`at::Tensor*`) borrowed for the call; on
	// success the shim stores six tensors it allocated with `new`; on failure it allocates
	// nothing and writes a NUL-terminated message into `err`.
	let rc = unsafe {
		gauntlet_cudnn_attention_forward(
			q.as_ptr(),
			k.as_ptr(),
			v.as_ptr(),
			scale,
			&mut result,
			err.as_mut_ptr(),
			err.len(),
		)
	};
	if rc != 0 {
		// SAFETY: `snprintf` NUL-terminated the message inside the buffer.
		let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy().into_owned();
		return Err(FusedPassError::NotApplicable(format!("cuDNN attention: {msg}")));
	}
	// SAFETY: each pointer is a distinct tensor the shim allocated and nobody else owns;
	// `from_ptr` hands it to tch's `Drop` (the `delete` tch's own results get).
	let take = |p: *mut C_tensor| unsafe { Tensor::from_ptr(p) };
	let out = take(result.out);
	let tape = AttentionTape::Kernel {
		q: q.shallow_clone(),
		k: k.shallow_clone(),
		v: v.shallow_clone(),
		out: out.shallow_clone(),
		logsumexp: take(result.logsumexp),
		cum_seq_q: take(result.cum_seq_q),
		cum_seq_k: take(result.cum_seq_k),
		philox_seed: take(result.philox_seed),
		philox_offset: take(result.philox_offset),
		max_q: result.max_q,
		max_k: result.max_k,
		scale,
	};
	Ok((out, tape))
}

/// The gradients of q, k and v (shaped as the forward's inputs) from the output's gradient.
pub(super) fn backward(tape: AttentionTape, dout: &Tensor) -> Result<[Tensor; 3], FusedPassError> {
	match tape {
		AttentionTape::Kernel {
			q,
			k,
			v,
			out,
			logsumexp,
			cum_seq_q,
			cum_seq_k,
			philox_seed,
			philox_offset,
			max_q,
			max_k,
			scale,
		} => {
			let (dq, dk, dv) = Tensor::f_internal_scaled_dot_product_cudnn_attention_backward(
				dout,
				&q,
				&k,
				&v,
				&out,
				&logsumexp,
				&philox_seed,
				&philox_offset,
				&Tensor::new(),
				&cum_seq_q,
				&cum_seq_k,
				max_q,
				max_k,
				0.0,
				true,
				scale,
			)?;
			Ok([dq, dk, dv])
		}
		AttentionTape::Graph { q, k, v, out } => {
			// Recorded with gradients on: a root without a graph crashes libtorch's engine.
			let surrogate = tch::with_grad(|| (&out * dout).f_sum(Kind::Float))?;
			let grads = Tensor::f_run_backward(&[surrogate], &[&q, &k, &v], false, false)?;
			let [dq, dk, dv]: [Tensor; 3] = grads
				.try_into()
				.map_err(|_| FusedPassError::NotApplicable("attention gradients".into()))?;
			Ok([dq, dk, dv])
		}
		AttentionTape::None => {
			Err(FusedPassError::NotApplicable("attention backward without a tape".into()))
		}
	}
}
