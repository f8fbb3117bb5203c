//! The decoder's memory-bound steps, each one kernel on CUDA (`kernels.cu`) and a few libtorch
//! operations elsewhere (the reference the kernels are checked against, and what CPU tests run).
//!
//! Eager libtorch spends most of a small model's step in these: an RMSNorm is eight kernels
//! forward and more backward, each a full pass over the activations, and the loss upcasts the
//! `(tokens, vocab)` logits to f32 and makes three more passes for the softmax and its gradient.
//! Hand-written because libtorch has no fused versions reachable from tch (the fusion torch.compile
//! does happens in Python) and tch cannot define autograd functions: the forward and backward
//! pass in [`super::pass`] call these directly.
//!
//! Every tensor is two-dimensional `(rows, width)` and contiguous; activations are in the compute
//! kind (bf16 for the kernels), statistics and norm gains in f32.

#![allow(unsafe_code)]

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use tch::{Device, Kind, Tensor};

use crate::model::ModelConfig;
use crate::sparseloco::gpu::{load_module, GpuCodecError};

/// The CUDA source, built into the binary.
const SOURCE: &str = include_str!("kernels.cu");

/// Threads per block (`THREADS` in the source).
const THREADS: u32 = 256;

/// Warps per block (`WARPS` in the source).
const WARPS: i64 = THREADS as i64 / 32;

/// Widest row the norm backward kernel takes (`32 * 8 * MAX_VECS` in the source).
const MAX_NORM_WIDTH: i64 = 2048;

/// Why a fused kernel path (this pass, or the fused AdamW step) cannot run.
#[derive(Debug, thiserror::Error)]
pub enum FusedPassError {
	/// The kernels could not be built or loaded.
	#[error(transparent)]
	Gpu(#[from] GpuCodecError),
	/// A CUDA driver call failed.
	#[error("CUDA driver: {0}")]
	Driver(#[from] cudarc::driver::DriverError),
	/// A libtorch call failed.
	#[error("libtorch: {0}")]
	Torch(#[from] tch::TchError),
	/// The model or the tensors do not fit the kernels (kind, width, device, layout).
	#[error("not applicable to the fused kernels: {0}")]
	NotApplicable(String),
}

/// The loaded kernels of one CUDA device.
#[derive(Debug)]
pub struct CudaKernels {
	stream: Arc<CudaStream>,
	device: Device,
	rms_norm_forward: CudaFunction,
	rms_norm_backward: CudaFunction,
	column_sum: CudaFunction,
	rotary: CudaFunction,
	swiglu_forward: CudaFunction,
	swiglu_backward: CudaFunction,
	cross_entropy: CudaFunction,
}

/// Where the steps run.
#[derive(Debug)]
pub enum FusedOps {
	/// libtorch operations, any device and kind.
	Reference,
	/// The kernels, bf16 activations on one CUDA device.
	Cuda(CudaKernels),
}

fn addr(t: &Tensor) -> u64 {
	t.data_ptr() as u64
}

fn blocks(work: i64, per_block: i64, cap: i64) -> u32 {
	((work + per_block - 1) / per_block).clamp(1, cap) as u32
}

fn launch(grid: u32) -> LaunchConfig {
	LaunchConfig { grid_dim: (grid, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}

/// One block per row.
fn row_grid(rows: i64) -> Result<u32, FusedPassError> {
	u32::try_from(rows)
		.ok()
		.filter(|&r| r > 0 && r < i32::MAX as u32)
		.ok_or_else(|| FusedPassError::NotApplicable(format!("{rows} rows for one launch")))
}

/// A shape condition of the kernels (they move rows in 16-byte words).
fn require(ok: bool, what: &str) -> Result<(), FusedPassError> {
	if ok {
		Ok(())
	} else {
		Err(FusedPassError::NotApplicable(what.to_owned()))
	}
}

fn rows_width(t: &Tensor) -> Result<(i64, i64), FusedPassError> {
	match t.size().as_slice() {
		&[rows, width] => Ok((rows, width)),
		other => {
			Err(FusedPassError::NotApplicable(format!("expected (rows, width), got {other:?}")))
		}
	}
}

impl CudaKernels {
	/// Compiles and loads the kernels on CUDA `device`.
	pub fn new(device: Device) -> Result<Self, FusedPassError> {
		let Device::Cuda(ordinal) = device else {
			return Err(FusedPassError::NotApplicable(format!("{device:?} is not a CUDA device")));
		};
		let (ctx, module) = load_module(ordinal, SOURCE, "decoder_kernels.cu")?;
		Ok(Self {
			stream: ctx.default_stream(),
			device,
			rms_norm_forward: module.load_function("rms_norm_forward")?,
			rms_norm_backward: module.load_function("rms_norm_backward")?,
			column_sum: module.load_function("column_sum")?,
			rotary: module.load_function("rotary")?,
			swiglu_forward: module.load_function("swiglu_forward")?,
			swiglu_backward: module.load_function("swiglu_backward")?,
			cross_entropy: module.load_function("cross_entropy")?,
		})
	}

	/// Every tensor a kernel reads or writes: contiguous, on this device, of `kind`, starting
	/// 16-byte aligned (the kernels move rows in 16-byte words).
	fn check(&self, tensors: &[(&Tensor, Kind)]) -> Result<(), FusedPassError> {
		for (i, (t, kind)) in tensors.iter().enumerate() {
			let aligned = addr(t).is_multiple_of(16);
			if t.device() != self.device || t.kind() != *kind || !t.is_contiguous() || !aligned {
				return Err(FusedPassError::NotApplicable(format!(
					"argument {i}: {:?} {:?} (contiguous: {}, aligned: {aligned}), the kernel needs \
					 {kind:?} on {:?}",
					t.kind(),
					t.device(),
					t.is_contiguous(),
					self.device
				)));
			}
		}
		Ok(())
	}
}

impl FusedOps {
	/// The kernels on a CUDA device, the reference operations elsewhere.
	pub fn for_device(device: Device) -> Result<Self, FusedPassError> {
		match device {
			Device::Cuda(_) => Ok(Self::Cuda(CudaKernels::new(device)?)),
			_ => Ok(Self::Reference),
		}
	}

	/// Whether a model of `config` with activations of `kind` fits these operations: the
	/// kernels take bf16, move rows in groups of eight entries and rotate pairs two at a time;
	/// cuDNN attention takes heads of up to 256 entries, a multiple of 8.
	pub fn supports(&self, kind: Kind, config: &ModelConfig) -> bool {
		match self {
			Self::Reference => true,
			Self::Cuda(_) => {
				kind == Kind::BFloat16
					&& config.dim <= MAX_NORM_WIDTH
					&& [config.dim, config.ffn_hidden, config.vocab_size].iter().all(|w| w % 8 == 0)
					&& config.head_dim() % 8 == 0
					&& config.head_dim() <= 256
			}
		}
	}

	/// Whether these are the CUDA kernels (bf16 on a CUDA device).
	pub fn is_cuda(&self) -> bool {
		matches!(self, Self::Cuda(_))
	}

	/// `y = x / sqrt(mean(x²) + eps) · g` per row; returns `y` (x's kind) and `1/sqrt(…)` (f32,
	/// one per row) for the backward pass.
	pub fn rms_norm_forward(
		&self,
		x: &Tensor,
		g: &Tensor,
		eps: f64,
	) -> Result<(Tensor, Tensor), FusedPassError> {
		let (rows, d) = rows_width(x)?;
		match self {
			Self::Reference => {
				let xf = x.f_to_kind(Kind::Float)?;
				let rstd = (xf.f_square()?.f_mean_dim(-1, true, Kind::Float)? + eps).f_rsqrt()?;
				let y = (xf * &rstd * g).f_to_kind(x.kind())?;
				Ok((y, rstd.f_view([rows])?))
			}
			Self::Cuda(k) => {
				k.check(&[(x, Kind::BFloat16), (g, Kind::Float)])?;
				require(d % 8 == 0 && g.numel() as i64 == d, "norm width a multiple of 8")?;
				let y = x.f_empty_like()?;
				let rstd = Tensor::f_empty([rows], (Kind::Float, k.device))?;
				let (rows32, d32, eps32) = (rows as i32, d as i32, eps as f32);
				let (xp, gp, yp, rp) = (addr(x), addr(g), addr(&y), addr(&rstd));
				// SAFETY: x and y are contiguous, aligned bf16 (rows, d) with d a multiple of 8,
				// g is d f32s, rstd rows f32s, all on this device (checked above, allocated here).
				unsafe {
					k.stream
						.launch_builder(&k.rms_norm_forward)
						.arg(&xp)
						.arg(&gp)
						.arg(&yp)
						.arg(&rp)
						.arg(&rows32)
						.arg(&d32)
						.arg(&eps32)
						.launch(launch(blocks(rows, WARPS, 4096)))?;
				}
				Ok((y, rstd))
			}
		}
	}

	/// The gradients of [`Self::rms_norm_forward`]: `dx` (plus `residual`, the gradient that
	/// reaches `x` through the skip connection, when given) in x's kind, and `dg` (f32).
	pub fn rms_norm_backward(
		&self,
		dy: &Tensor,
		x: &Tensor,
		rstd: &Tensor,
		g: &Tensor,
		residual: Option<&Tensor>,
	) -> Result<(Tensor, Tensor), FusedPassError> {
		let (rows, d) = rows_width(x)?;
		match self {
			Self::Reference => {
				let r = rstd.f_unsqueeze(-1)?;
				let n = x.f_to_kind(Kind::Float)? * &r;
				let dyf = dy.f_to_kind(Kind::Float)?;
				let dg = (&dyf * &n).f_sum_dim_intlist([0i64].as_slice(), false, Kind::Float)?;
				let dn = dyf * g;
				let mean = (&dn * &n).f_mean_dim(-1, true, Kind::Float)?;
				let mut dx = r * (dn - n * mean);
				if let Some(res) = residual {
					dx += res.f_to_kind(Kind::Float)?;
				}
				Ok((dx.f_to_kind(x.kind())?, dg))
			}
			Self::Cuda(k) => {
				k.check(&[
					(dy, Kind::BFloat16),
					(x, Kind::BFloat16),
					(rstd, Kind::Float),
					(g, Kind::Float),
				])?;
				if let Some(res) = residual {
					k.check(&[(res, Kind::BFloat16)])?;
					require(res.size() == x.size(), "residual gradient of x's shape")?;
				}
				require(
					d % 8 == 0 && d <= MAX_NORM_WIDTH && dy.size() == x.size(),
					"norm width a multiple of 8, at most 2048",
				)?;
				let grid = blocks(rows, 4 * WARPS, 512);
				let dx = x.f_empty_like()?;
				let partial = Tensor::f_empty([grid as i64, d], (Kind::Float, k.device))?;
				let (rows32, d32) = (rows as i32, d as i32);
				let res = residual.map_or(0, addr);
				let (dyp, xp, rp, gp, dxp, pp) =
					(addr(dy), addr(x), addr(rstd), addr(g), addr(&dx), addr(&partial));
				// SAFETY: dy, x, dx (and residual when not null) are contiguous, aligned bf16
				// (rows, d), d a multiple of 8 and ≤ MAX_NORM_WIDTH; rstd has rows f32s, g d f32s,
				// partial (grid, d) f32s; all on this device.
				unsafe {
					k.stream
						.launch_builder(&k.rms_norm_backward)
						.arg(&dyp)
						.arg(&xp)
						.arg(&rp)
						.arg(&gp)
						.arg(&res)
						.arg(&dxp)
						.arg(&pp)
						.arg(&rows32)
						.arg(&d32)
						.launch(launch(grid))?;
				}
				let dg = Tensor::f_empty([d], (Kind::Float, k.device))?;
				let (grid32, dgp) = (grid as i32, addr(&dg));
				// SAFETY: partial holds (grid, d) f32s written above on this stream; dg has d.
				unsafe {
					k.stream
						.launch_builder(&k.column_sum)
						.arg(&pp)
						.arg(&grid32)
						.arg(&d32)
						.arg(&dgp)
						.launch(launch(blocks(d, 32, i64::from(i32::MAX))))?;
				}
				Ok((dx, dg))
			}
		}
	}

	/// Rotates, in place, the first `heads` heads (`head_dim` wide) of every row of `x`, row `r`
	/// by the angles of position `r % seq` in the `(max_seq, head_dim)` f32 tables (the
	/// "rotate half" layout of [`crate::model::rope::Rotary`]); `inverse` rotates back, which is
	/// the backward pass of the rotation.
	#[allow(clippy::too_many_arguments)]
	pub fn rotary_(
		&self,
		x: &Tensor,
		heads: i64,
		head_dim: i64,
		seq: i64,
		cos: &Tensor,
		sin: &Tensor,
		inverse: bool,
	) -> Result<(), FusedPassError> {
		let (rows, stride) = rows_width(x)?;
		match self {
			Self::Reference => {
				let view = x.f_narrow(1, 0, heads * head_dim)?.f_view([
					rows / seq,
					seq,
					heads,
					head_dim,
				])?;
				let kind = x.kind();
				let table = |t: &Tensor| -> Result<Tensor, FusedPassError> {
					Ok(t.f_narrow(0, 0, seq)?.f_to_kind(kind)?.f_view([1, seq, 1, head_dim])?)
				};
				let (c, s) = (table(cos)?, table(sin)?);
				let half = head_dim / 2;
				let (x1, x2) = (view.f_narrow(-1, 0, half)?, view.f_narrow(-1, half, half)?);
				let rotated = if inverse {
					Tensor::f_cat(&[&x2, &(-&x1)], -1)?
				} else {
					Tensor::f_cat(&[&(-&x2), &x1], -1)?
				};
				let y = &view * c + rotated * s;
				view.shallow_clone().f_copy_(&y)?;
				Ok(())
			}
			Self::Cuda(k) => {
				k.check(&[(x, Kind::BFloat16), (cos, Kind::Float), (sin, Kind::Float)])?;
				require(
					cos.size() == [cos.size()[0], head_dim]
						&& sin.size() == cos.size()
						&& cos.size()[0] >= seq
						&& head_dim % 4 == 0
						&& stride % 2 == 0
						&& heads * head_dim <= stride
						&& rows % seq == 0,
					"rotary: tables (≥ seq, head_dim), head_dim a multiple of 4, heads within the row",
				)?;
				let (stride32, seq32, heads32, hd32) =
					(stride as i32, seq as i32, heads as i32, head_dim as i32);
				let sign: f32 = if inverse { -1.0 } else { 1.0 };
				let (xp, cp, sp) = (addr(x), addr(cos), addr(sin));
				// SAFETY: x is contiguous bf16 (rows, stride), stride even, heads·head_dim ≤
				// stride, head_dim a multiple of 4 (so pairs are 4-byte aligned); the tables are
				// contiguous f32 (≥ seq, head_dim); all on this device; one block per row.
				unsafe {
					k.stream
						.launch_builder(&k.rotary)
						.arg(&xp)
						.arg(&cp)
						.arg(&sp)
						.arg(&stride32)
						.arg(&seq32)
						.arg(&heads32)
						.arg(&hd32)
						.arg(&sign)
						.launch(launch(row_grid(rows)?))?;
				}
				Ok(())
			}
		}
	}

	/// `silu(a) · b` for `ab = [a | b]`, rows of `2·f`.
	pub fn swiglu_forward(&self, ab: &Tensor, f: i64) -> Result<Tensor, FusedPassError> {
		let (rows, _) = rows_width(ab)?;
		match self {
			Self::Reference => Ok(ab.f_narrow(1, 0, f)?.f_silu()? * ab.f_narrow(1, f, f)?),
			Self::Cuda(k) => {
				k.check(&[(ab, Kind::BFloat16)])?;
				require(
					f % 8 == 0 && ab.size()[1] == 2 * f,
					"SwiGLU: f a multiple of 8, ab 2f wide",
				)?;
				let g = Tensor::f_empty([rows, f], (Kind::BFloat16, k.device))?;
				let (abp, gp, f32_) = (addr(ab), addr(&g), f as i32);
				// SAFETY: ab is contiguous, aligned bf16 (rows, 2f), g (rows, f), f a multiple of
				// 8, on this device; one block per row.
				unsafe {
					k.stream
						.launch_builder(&k.swiglu_forward)
						.arg(&abp)
						.arg(&gp)
						.arg(&f32_)
						.launch(launch(row_grid(rows)?))?;
				}
				Ok(g)
			}
		}
	}

	/// The gradient `[da | db]` of [`Self::swiglu_forward`] for the output gradient `dg`.
	pub fn swiglu_backward(
		&self,
		dg: &Tensor,
		ab: &Tensor,
		f: i64,
	) -> Result<Tensor, FusedPassError> {
		let (rows, _) = rows_width(ab)?;
		match self {
			Self::Reference => {
				let a = ab.f_narrow(1, 0, f)?.f_to_kind(Kind::Float)?;
				let b = ab.f_narrow(1, f, f)?.f_to_kind(Kind::Float)?;
				let dgf = dg.f_to_kind(Kind::Float)?;
				let sig = a.f_sigmoid()?;
				let da = &dgf * b * &sig * ((1.0 - &sig) * &a + 1.0);
				let db = dgf * a.f_silu()?;
				Ok(Tensor::f_cat(&[da, db], 1)?.f_to_kind(ab.kind())?)
			}
			Self::Cuda(k) => {
				k.check(&[(dg, Kind::BFloat16), (ab, Kind::BFloat16)])?;
				require(
					f % 8 == 0 && ab.size()[1] == 2 * f && dg.size() == [rows, f],
					"SwiGLU: f a multiple of 8, ab 2f wide, dg (rows, f)",
				)?;
				let dab = ab.f_empty_like()?;
				let (dgp, abp, dabp, f32_) = (addr(dg), addr(ab), addr(&dab), f as i32);
				// SAFETY: dg is contiguous, aligned bf16 (rows, f), ab and dab (rows, 2f), f a
				// multiple of 8, on this device; one block per row.
				unsafe {
					k.stream
						.launch_builder(&k.swiglu_backward)
						.arg(&dgp)
						.arg(&abp)
						.arg(&dabp)
						.arg(&f32_)
						.launch(launch(row_grid(rows)?))?;
				}
				Ok(dab)
			}
		}
	}

	/// Cross-entropy of each row of `logits` against its target (`targets`: int64, one per row):
	/// returns the per-row losses (f32, nats) and overwrites `logits` with the gradient of
	/// `scale · Σ losses`, i.e. `scale · (softmax − onehot)`; with `scale` 0 the logits are left
	/// as they are (evaluation). A target outside the vocabulary gives a NaN loss.
	pub fn cross_entropy_(
		&self,
		logits: &Tensor,
		targets: &Tensor,
		scale: f64,
	) -> Result<Tensor, FusedPassError> {
		let (rows, vocab) = rows_width(logits)?;
		match self {
			Self::Reference => {
				let lf = logits.f_to_kind(Kind::Float)?;
				let logp = lf.f_log_softmax(-1, Kind::Float)?;
				let t = targets.f_unsqueeze(1)?;
				let loss = -logp.f_gather(1, &t, false)?.f_squeeze_dim(1)?;
				if scale != 0.0 {
					let onehot = lf.f_zeros_like()?.f_scatter_value(1, &t, 1.0)?;
					let grad = (logp.f_exp()? - onehot) * scale;
					logits.shallow_clone().f_copy_(&grad)?;
				}
				Ok(loss)
			}
			Self::Cuda(k) => {
				k.check(&[(logits, Kind::BFloat16), (targets, Kind::Int64)])?;
				require(
					targets.numel() as i64 == rows && vocab % 8 == 0,
					"one target per row, vocabulary a multiple of 8",
				)?;
				let loss = Tensor::f_empty([rows], (Kind::Float, k.device))?;
				let (rows32, vocab32, scale32) = (rows as i32, vocab as i32, scale as f32);
				let (lp, tp, op) = (addr(logits), addr(targets), addr(&loss));
				// SAFETY: logits is contiguous, aligned bf16 (rows, vocab), vocab a multiple of 8;
				// targets rows int64 (the kernel bounds-checks each), loss rows f32; all on
				// this device.
				unsafe {
					k.stream
						.launch_builder(&k.cross_entropy)
						.arg(&lp)
						.arg(&tp)
						.arg(&op)
						.arg(&rows32)
						.arg(&vocab32)
						.arg(&scale32)
						.launch(launch(blocks(rows, 1, 1 << 20)))?;
				}
				Ok(loss)
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::gpu::compile_source;

	/// The kernels compile for Hopper wherever libnvrtc is on the library path (the torch venv
	/// ships it); a machine without it skips the check.
	#[test]
	fn decoder_kernels_compile_with_nvrtc() {
		match compile_source(SOURCE, "decoder_kernels.cu", "sm_90") {
			Ok(ptx) => {
				for kernel in ["rms_norm_backward", "rotary", "swiglu_backward", "cross_entropy"] {
					assert!(
						ptx.to_src().contains(&format!(".entry {kernel}")),
						"PTX lacks {kernel}"
					);
				}
			}
			Err(GpuCodecError::Unavailable(why)) => crate::test_support::skip_or_fail_in_ci(&why),
			Err(e) => panic!("{e}"),
		}
	}
}
