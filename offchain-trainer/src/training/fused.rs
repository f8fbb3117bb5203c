//! AdamW with global gradient-norm clipping for CUDA parameters in three kernel launches
//! (`fused_adamw.cu`: per-chunk Σg², the norm and clip factor, the update) instead of about a dozen
//! libtorch operations per parameter. Same update rule as [`super::AdamW::step`] after
//! [`super::clip_grad_norm`]; the clip factor stays on the device and scales the gradient inside
//! the update, so gradients are read twice and never rewritten.

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use tch::{Device, Kind, Tensor};

use super::optimizer::AdamWConfig;
use crate::sparseloco::gpu::load_module;

/// The CUDA source, built into the binary.
const SOURCE: &str = include_str!("fused_adamw.cu");

/// Elements per block (`CHUNK` in the source).
const CHUNK: usize = 16384;

/// Threads per block (`THREADS` in the source).
const THREADS: u32 = 256;

/// Words of one parameter descriptor (`struct ParamDesc`).
const DESC_WORDS: usize = 6;

/// Why the fused step cannot run (the failures of the fused training pass's kernels: building
/// them, a driver or libtorch call, or tensors they do not take); the caller falls back to the
/// per-tensor path.
pub use crate::model::fused::FusedPassError as FusedError;

/// The loaded kernels and the descriptors of the parameter list last seen.
#[derive(Debug)]
pub struct FusedAdamW {
	stream: Arc<CudaStream>,
	grad_sq_partial: CudaFunction,
	grad_norm_finish: CudaFunction,
	adamw_step: CudaFunction,
	device: Device,
	/// Addresses the descriptors were built from (parameters, gradients, moments).
	key: Vec<u64>,
	descs: Option<Tensor>,
	chunk_tensor: Option<Tensor>,
	chunk_start: Option<Tensor>,
	partial: Option<Tensor>,
	chunks: usize,
	clip: Tensor,
}

fn addr(t: &Tensor) -> u64 {
	t.data_ptr() as u64
}

impl FusedAdamW {
	/// Compiles and loads the kernels on CUDA `device`.
	pub fn new(device: Device) -> Result<Self, FusedError> {
		let Device::Cuda(ordinal) = device else {
			return Err(FusedError::NotApplicable(format!("{device:?} is not a CUDA device")));
		};
		let (ctx, module) = load_module(ordinal, SOURCE, "fused_adamw.cu")?;
		Ok(Self {
			stream: ctx.default_stream(),
			grad_sq_partial: module.load_function("grad_sq_partial")?,
			grad_norm_finish: module.load_function("grad_norm_finish")?,
			adamw_step: module.load_function("adamw_step")?,
			device,
			key: Vec::new(),
			descs: None,
			chunk_tensor: None,
			chunk_start: None,
			partial: None,
			chunks: 0,
			clip: Tensor::f_zeros([2], (Kind::Double, device))?,
		})
	}

	fn prepare(
		&mut self,
		params: &[Tensor],
		grads: &[Tensor],
		m: &[Tensor],
		v: &[Tensor],
		decay: &[bool],
	) -> Result<(), FusedError> {
		let mut key = Vec::with_capacity(4 * params.len());
		for (i, p) in params.iter().enumerate() {
			for t in [p, &grads[i], &m[i], &v[i]] {
				let ok = t.device() == self.device
					&& t.kind() == Kind::Float
					&& t.is_contiguous()
					&& t.numel() == p.numel();
				if !ok {
					return Err(FusedError::NotApplicable(format!(
						"parameter {i}: every tensor must be a contiguous f32 on {:?}",
						self.device
					)));
				}
				key.push(addr(t));
			}
		}
		if key == self.key && self.descs.is_some() {
			return Ok(());
		}
		let mut words = Vec::with_capacity(params.len() * DESC_WORDS);
		let (mut chunk_tensor, mut chunk_start) = (Vec::new(), Vec::new());
		for (i, p) in params.iter().enumerate() {
			let n = p.numel();
			words.extend([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
			words.extend([n as u64, u64::from(decay[i])]);
			for start in (0..n).step_by(CHUNK) {
				chunk_tensor.push(i as i32);
				chunk_start.push(start as i64);
			}
		}
		let words: Vec<i64> = words.into_iter().map(|w| w as i64).collect();
		self.chunks = chunk_tensor.len();
		self.descs = Some(Tensor::f_from_slice(&words)?.f_to_device(self.device)?);
		self.chunk_tensor = Some(Tensor::f_from_slice(&chunk_tensor)?.f_to_device(self.device)?);
		self.chunk_start = Some(Tensor::f_from_slice(&chunk_start)?.f_to_device(self.device)?);
		self.partial =
			Some(Tensor::f_zeros([self.chunks.max(1) as i64], (Kind::Double, self.device))?);
		self.key = key;
		Ok(())
	}

	/// Clips the gradients' global norm to `max_norm` (0: no clipping) and takes AdamW step
	/// number `step` (1-based) at learning rate `lr`; returns the norm before clipping, an f64
	/// scalar still on the device (reading it waits for the step: queue what follows first).
	#[allow(clippy::too_many_arguments)]
	pub fn step(
		&mut self,
		params: &[Tensor],
		grads: &[Tensor],
		m: &[Tensor],
		v: &[Tensor],
		decay: &[bool],
		config: &AdamWConfig,
		lr: f64,
		step: u64,
		max_norm: f64,
	) -> Result<Tensor, FusedError> {
		if params.is_empty() {
			return Ok(Tensor::f_zeros([], (Kind::Double, self.device))?);
		}
		self.prepare(params, grads, m, v, decay)?;
		let (Some(descs), Some(chunk_tensor), Some(chunk_start), Some(partial)) =
			(&self.descs, &self.chunk_tensor, &self.chunk_start, &self.partial)
		else {
			return Err(FusedError::NotApplicable("descriptors missing".into()));
		};
		let (descs, chunk_tensor, chunk_start) =
			(addr(descs), addr(chunk_tensor), addr(chunk_start));
		let (partial, clip) = (addr(partial), addr(&self.clip));
		let n = self.chunks as u64;
		let grid = u32::try_from(self.chunks)
			.map_err(|_| FusedError::NotApplicable("too many parameters for one launch".into()))?;
		let cfg = |blocks: u32| LaunchConfig {
			grid_dim: (blocks, 1, 1),
			block_dim: (THREADS, 1, 1),
			shared_mem_bytes: 0,
		};
		let bias1 = 1.0 - config.beta1.powi(step as i32);
		let bias2_sqrt = (1.0 - config.beta2.powi(step as i32)).sqrt();
		let f = |x: f64| x as f32;
		let (lr32, b1, b2, eps, wd) =
			(f(lr), f(config.beta1), f(config.beta2), f(config.eps), f(config.weight_decay));
		let (step_size, b2s) = (f(lr / bias1), f(bias2_sqrt));
		// SAFETY: `prepare` checked that every address in the descriptors is a contiguous f32
		// tensor on this device of its parameter's element count, and sized the chunk map and
		// the partial sums for exactly `self.chunks` blocks; `clip` holds two f64.
		unsafe {
			self.stream
				.launch_builder(&self.grad_sq_partial)
				.arg(&descs)
				.arg(&chunk_tensor)
				.arg(&chunk_start)
				.arg(&partial)
				.launch(cfg(grid))?;
			self.stream
				.launch_builder(&self.grad_norm_finish)
				.arg(&partial)
				.arg(&n)
				.arg(&max_norm)
				.arg(&clip)
				.launch(cfg(1))?;
			self.stream
				.launch_builder(&self.adamw_step)
				.arg(&descs)
				.arg(&chunk_tensor)
				.arg(&chunk_start)
				.arg(&clip)
				.arg(&lr32)
				.arg(&b1)
				.arg(&b2)
				.arg(&eps)
				.arg(&wd)
				.arg(&step_size)
				.arg(&b2s)
				.launch(cfg(grid))?;
		}
		// A copy: the next step overwrites `clip`.
		Ok(self.clip.f_get(0)?.copy())
	}
}
