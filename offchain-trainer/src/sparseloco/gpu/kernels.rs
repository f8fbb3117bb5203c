//! The codec's CUDA kernels (`kernels.cu`), compiled by NVRTC for the device on first use, and
//! their launches. The only `unsafe` of the GPU codec lives here: a launch is unsafe because the
//! kernel trusts its arguments, so every launch function below documents what its caller checked.
//!
//! Kernels run on the legacy default stream, the stream libtorch uses unless told otherwise: they
//! are ordered with tch's own operations on the same tensors without any extra synchronisation.

#![allow(unsafe_code)]

use std::sync::{Arc, Mutex};

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{
	CudaContext, CudaEvent, CudaFunction, CudaModule, CudaStream, LaunchConfig, PinnedHostSlice,
	PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

use super::GpuCodecError;

/// The CUDA source, built into the binary.
pub const SOURCE: &str = include_str!("kernels.cu");

/// Threads per block of every kernel but `clip_weights` (`THREADS` in the source).
const THREADS: u32 = 256;

/// Chunks handled per block by the warp-per-chunk kernels (`WARPS` in the source).
const CHUNKS_PER_BLOCK: u32 = THREADS / 32;

/// Most peers `clip_weights` sorts (`MAX_PEERS` in the source).
pub const MAX_PEERS: usize = 64;

/// NVRTC options: no fused multiply-adds, so f32 results round as the CPU codec's; IEEE
/// division and square roots (NVRTC's defaults, spelled out because correctness depends on them).
fn compile_options(arch: &'static str) -> CompileOptions {
	CompileOptions {
		fmad: Some(false),
		prec_div: Some(true),
		prec_sqrt: Some(true),
		ftz: Some(false),
		use_fast_math: Some(false),
		arch: Some(arch),
		..Default::default()
	}
}

/// Compiles the codec kernels to PTX for `arch` (e.g. `sm_90`). Needs libnvrtc only, no GPU.
pub fn compile(arch: &'static str) -> Result<cudarc::nvrtc::Ptx, GpuCodecError> {
	compile_source(SOURCE, "sparseloco_kernels.cu", arch)
}

/// Compiles CUDA `source` to PTX for `arch` with the codec's options (see [`compile_options`]).
pub fn compile_source(
	source: &str,
	name: &str,
	arch: &'static str,
) -> Result<cudarc::nvrtc::Ptx, GpuCodecError> {
	// cudarc panics when it cannot find libnvrtc; report that as an error instead.
	// SAFETY: only probes whether the library can be loaded.
	if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
		return Err(GpuCodecError::Unavailable("libnvrtc not found on the library path".into()));
	}
	let options = CompileOptions { name: Some(name.into()), ..compile_options(arch) };
	compile_ptx_with_opts(source, options).map_err(|e| GpuCodecError::Compile(e.to_string()))
}

/// Compiles `source` for CUDA device `ordinal` and loads it into the device's primary context
/// (the one libtorch uses). The context is set to leave stream ordering to the caller: kernels
/// here take tch tensors' raw addresses, never cudarc's tracked slices.
pub fn load_module(
	ordinal: usize,
	source: &str,
	name: &str,
) -> Result<(Arc<CudaContext>, Arc<CudaModule>), GpuCodecError> {
	let ctx = CudaContext::new(ordinal)?;
	// SAFETY: tracking only concerns `CudaSlice`s, which these modules never create.
	unsafe { ctx.disable_event_tracking() };
	let (major, minor) = ctx.compute_capability()?;
	if major < 8 {
		return Err(GpuCodecError::Unavailable(format!(
			"compute capability {major}.{minor}: the kernels need 8.0 or newer"
		)));
	}
	// NVRTC takes a 'static arch name; one short string per process and device.
	let arch: &'static str = Box::leak(format!("sm_{major}{minor}").into_boxed_str());
	let module = ctx.load_module(compile_source(source, name, arch)?)?;
	Ok((ctx, module))
}

/// The loaded kernels of one device, and the streams the codec uses.
#[derive(Debug)]
pub struct Kernels {
	ctx: Arc<CudaContext>,
	/// The legacy default stream (libtorch's).
	stream: Arc<CudaStream>,
	/// A second stream for copies to the host that overlap compute.
	copy_stream: Arc<CudaStream>,
	ef_select: CudaFunction,
	chunk_centred_sq: CudaFunction,
	chunk_codes: CudaFunction,
	chunk_pack: CudaFunction,
	chunk_subtract: CudaFunction,
	tensor_stats: CudaFunction,
	peer_norms: CudaFunction,
	clip_weights: CudaFunction,
	scatter_sum: CudaFunction,
}

fn blocks(n: usize, per_block: u32) -> Result<u32, GpuCodecError> {
	u32::try_from(n.div_ceil(per_block as usize).max(1))
		.map_err(|_| GpuCodecError::TooLarge("more chunks than one kernel launch can cover"))
}

fn cfg(grid: (u32, u32), threads: u32) -> LaunchConfig {
	LaunchConfig { grid_dim: (grid.0, grid.1, 1), block_dim: (threads, 1, 1), shared_mem_bytes: 0 }
}

/// Device addresses of the per-chunk and per-entry scratch arrays of one compression round.
#[derive(Debug, Clone, Copy)]
pub struct RoundBuffers {
	/// `TensorDesc[T]`.
	pub descs: u64,
	/// `u32[C]`: the tensor of every chunk.
	pub chunk_tensor: u64,
	/// `u16[E]`, `f32[E]`, `u8[E]`: index, value and code of every kept entry.
	pub idx: u64,
	/// See `idx`.
	pub val: u64,
	/// See `idx`.
	pub code: u64,
	/// `f64[C]`, `f64[C]`, `f64[4C]`, `u32[4C]`: per-chunk partial sums.
	pub chunk_sum: u64,
	/// See `chunk_sum`.
	pub chunk_sq: u64,
	/// See `chunk_sum`.
	pub chunk_bins: u64,
	/// See `chunk_sum`.
	pub chunk_counts: u64,
	/// `f32[T]`, `f32[T]`, `f32[4T]`: per-tensor statistics.
	pub shift: u64,
	/// See `shift`.
	pub scale: u64,
	/// See `shift`.
	pub lut: u64,
	/// `u8[payload_len]`: the payload with its headers written.
	pub payload: u64,
	/// `u32[1]`: error bits, zeroed by the caller before the round.
	pub error: u64,
}

impl Kernels {
	/// The kernels of CUDA device `ordinal`, compiled and loaded on first use in this process.
	pub fn load(ordinal: usize) -> Result<Arc<Self>, GpuCodecError> {
		static LOADED: Mutex<Vec<(usize, Arc<Kernels>)>> = Mutex::new(Vec::new());
		let mut loaded = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		if let Some((_, k)) = loaded.iter().find(|(o, _)| *o == ordinal) {
			return Ok(k.clone());
		}
		let k = Self::compile_and_load(ordinal)?;
		loaded.push((ordinal, k.clone()));
		Ok(k)
	}

	fn compile_and_load(ordinal: usize) -> Result<Arc<Self>, GpuCodecError> {
		let (ctx, module) = load_module(ordinal, SOURCE, "sparseloco_kernels.cu")?;
		let f = |name: &str| module.load_function(name);
		let stream = ctx.default_stream();
		let copy_stream = ctx.new_stream()?;
		Ok(Arc::new(Self {
			ef_select: f("ef_select")?,
			chunk_centred_sq: f("chunk_centred_sq")?,
			chunk_codes: f("chunk_codes")?,
			chunk_pack: f("chunk_pack")?,
			chunk_subtract: f("chunk_subtract")?,
			tensor_stats: f("tensor_stats")?,
			peer_norms: f("peer_norms")?,
			clip_weights: f("clip_weights")?,
			scatter_sum: f("scatter_sum")?,
			ctx,
			stream,
			copy_stream,
		}))
	}

	/// Page-locked host memory of `len` bytes (cached, for reading back on the host).
	pub fn alloc_pinned(&self, len: usize) -> Result<PinnedHostSlice<u8>, GpuCodecError> {
		// SAFETY: the memory is written by a device copy before it is read (see `copy_to_host`).
		Ok(unsafe { self.ctx.alloc_pinned_with_flags::<u8>(len.max(1), 0) }?)
	}

	/// An event that can time work on the default stream.
	pub fn timing_event(&self) -> Result<CudaEvent, GpuCodecError> {
		Ok(self.ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))?)
	}

	/// Records `event` on the default stream.
	pub fn record(&self, event: &CudaEvent) -> Result<(), GpuCodecError> {
		Ok(event.record(&self.stream)?)
	}

	/// Waits for the default stream and the copy stream.
	pub fn synchronize(&self) -> Result<(), GpuCodecError> {
		self.stream.synchronize()?;
		self.copy_stream.synchronize()?;
		Ok(())
	}

	/// An event marking the work enqueued so far on the default stream.
	pub fn mark(&self) -> Result<CudaEvent, GpuCodecError> {
		Ok(self.stream.record_event(None)?)
	}

	/// Copies `len` bytes at device address `src` into `dst` from byte `at` on, on the copy
	/// stream, after the work enqueued so far on the default stream; later default-stream work
	/// runs alongside it. `dst` must not be read before [`Self::synchronize`] or
	/// [`Self::synchronize_copies`]. Fails (copying nothing) if `dst` is too short.
	pub fn copy_to_host(
		&self,
		src: u64,
		len: usize,
		dst: &mut PinnedHostSlice<u8>,
		at: usize,
	) -> Result<(), GpuCodecError> {
		self.copy_to_host_after(&self.mark()?, src, len, dst, at)
	}

	/// [`Self::copy_to_host`] after the default-stream work that `ready` marks (see
	/// [`Self::mark`]), whatever was enqueued there since.
	pub fn copy_to_host_after(
		&self,
		ready: &CudaEvent,
		src: u64,
		len: usize,
		dst: &mut PinnedHostSlice<u8>,
		at: usize,
	) -> Result<(), GpuCodecError> {
		let host = dst
			.as_mut_slice()?
			.get_mut(at..at.saturating_add(len))
			.ok_or(GpuCodecError::TooLarge("a host copy past the end of its buffer"))?;
		self.copy_stream.wait(ready)?;
		// SAFETY: `src` holds `len` bytes (the caller's buffer, alive until the copy stream is
		// synchronised) and `host` is page-locked memory of `len` bytes.
		unsafe {
			cudarc::driver::result::memcpy_dtoh_async(host, src, self.copy_stream.cu_stream())?
		};
		Ok(())
	}

	/// Waits for the copies enqueued so far, not for the default stream's work.
	pub fn synchronize_copies(&self) -> Result<(), GpuCodecError> {
		Ok(self.copy_stream.synchronize()?)
	}

	/// Makes the default stream wait for the copies enqueued so far (for timing a whole round).
	pub fn join_copies(&self) -> Result<(), GpuCodecError> {
		let done = self.copy_stream.record_event(None)?;
		self.stream.wait(&done)?;
		Ok(())
	}

	/// One compression round up to the packed payload: optional error-feedback update and top-k
	/// (`ef_select`), shift, scale, codes, LUT (written into the payload) and packed streams.
	///
	/// # Safety
	/// `b` holds valid device addresses of arrays sized for `chunks` chunks, `entries` kept
	/// entries and `tensors` descriptors built by [`super::layout::PayloadLayout`], whose data
	/// and (when `update_ef`) delta addresses point at f32 tensors of the layout's shapes.
	#[allow(clippy::too_many_arguments)]
	pub unsafe fn compress(
		&self,
		b: &RoundBuffers,
		tensors: usize,
		chunks: usize,
		beta: f32,
		update_ef: bool,
		range: f32,
	) -> Result<(), GpuCodecError> {
		let n_chunks = chunks as u64;
		let update = i32::from(update_ef);
		let per_chunk = cfg((blocks(chunks, 1)?, 1), THREADS);
		let warp_per_chunk = cfg((blocks(chunks, CHUNKS_PER_BLOCK)?, 1), THREADS);
		let per_tensor = cfg((blocks(tensors, 1)?, 1), THREADS);
		let s = &self.stream;
		s.launch_builder(&self.ef_select)
			.arg(&b.descs)
			.arg(&b.chunk_tensor)
			.arg(&beta)
			.arg(&update)
			.arg(&b.idx)
			.arg(&b.val)
			.arg(&b.chunk_sum)
			.arg(&b.error)
			.launch(per_chunk)?;
		let stats = |mode: i32| {
			s.launch_builder(&self.tensor_stats)
				.arg(&b.descs)
				.arg(&mode)
				.arg(&range)
				.arg(&b.chunk_sum)
				.arg(&b.chunk_sq)
				.arg(&b.chunk_bins)
				.arg(&b.chunk_counts)
				.arg(&b.shift)
				.arg(&b.scale)
				.arg(&b.lut)
				.arg(&b.payload)
				.arg(&b.error)
				.launch(per_tensor)
		};
		stats(0)?;
		s.launch_builder(&self.chunk_centred_sq)
			.arg(&b.descs)
			.arg(&b.chunk_tensor)
			.arg(&n_chunks)
			.arg(&b.val)
			.arg(&b.shift)
			.arg(&b.chunk_sq)
			.launch(warp_per_chunk)?;
		stats(1)?;
		s.launch_builder(&self.chunk_codes)
			.arg(&b.descs)
			.arg(&b.chunk_tensor)
			.arg(&n_chunks)
			.arg(&b.val)
			.arg(&b.shift)
			.arg(&b.scale)
			.arg(&b.code)
			.arg(&b.chunk_bins)
			.arg(&b.chunk_counts)
			.launch(warp_per_chunk)?;
		stats(2)?;
		s.launch_builder(&self.chunk_pack)
			.arg(&b.descs)
			.arg(&b.chunk_tensor)
			.arg(&n_chunks)
			.arg(&b.idx)
			.arg(&b.code)
			.arg(&b.payload)
			.launch(warp_per_chunk)?;
		Ok(())
	}

	/// `e ← e − ê` at the kept positions of the round in `b`.
	///
	/// # Safety
	/// As [`Self::compress`], after it on the same buffers.
	pub unsafe fn subtract(&self, b: &RoundBuffers, chunks: usize) -> Result<(), GpuCodecError> {
		let n_chunks = chunks as u64;
		self.stream
			.launch_builder(&self.chunk_subtract)
			.arg(&b.descs)
			.arg(&b.chunk_tensor)
			.arg(&n_chunks)
			.arg(&b.idx)
			.arg(&b.code)
			.arg(&b.shift)
			.arg(&b.lut)
			.launch(cfg((blocks(chunks, CHUNKS_PER_BLOCK)?, 1), THREADS))?;
		Ok(())
	}

	/// The aggregate of `peers` payloads (clipped sum, or with `mean` the per-position mean over
	/// the peers that kept each position) into the descriptors' data tensors.
	///
	/// # Safety
	/// `descs`/`chunk_tensor` come from one [`super::layout::PayloadLayout`] whose data addresses
	/// point at f32 outputs of its shapes; `peers` is a device array of `n_peers ≤ MAX_PEERS`
	/// addresses of payloads of that layout (headers checked, indices below the chunk length and
	/// strictly increasing per chunk, LUT finite); `norms` holds `f64[n_peers·T]` and `weights`
	/// `f32[4·n_peers·T]`.
	#[allow(clippy::too_many_arguments)]
	pub unsafe fn aggregate(
		&self,
		descs: u64,
		chunk_tensor: u64,
		peers: u64,
		n_peers: usize,
		tensors: usize,
		chunks: usize,
		norms: u64,
		weights: u64,
		mean: bool,
	) -> Result<(), GpuCodecError> {
		let (t, p, mean) = (tensors as u32, n_peers as u32, u32::from(mean));
		let s = &self.stream;
		s.launch_builder(&self.peer_norms)
			.arg(&descs)
			.arg(&peers)
			.arg(&t)
			.arg(&norms)
			.launch(cfg((blocks(tensors, 1)?, p), THREADS))?;
		s.launch_builder(&self.clip_weights)
			.arg(&descs)
			.arg(&peers)
			.arg(&t)
			.arg(&p)
			.arg(&norms)
			.arg(&weights)
			.launch(cfg((blocks(tensors, 64)?, 1), 64))?;
		s.launch_builder(&self.scatter_sum)
			.arg(&descs)
			.arg(&chunk_tensor)
			.arg(&peers)
			.arg(&t)
			.arg(&p)
			.arg(&weights)
			.arg(&mean)
			.launch(cfg((blocks(chunks, 1)?, 1), THREADS))?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The kernels compile for Hopper wherever libnvrtc is on the library path (the torch venv
	/// ships it); a machine without it skips the check.
	#[test]
	fn kernels_compile_with_nvrtc() {
		match compile("sm_90") {
			Ok(ptx) => assert!(ptx.to_src().contains(".entry ef_select"), "PTX lacks ef_select"),
			Err(GpuCodecError::Unavailable(why)) => crate::test_support::skip_or_fail_in_ci(&why),
			Err(e) => panic!("{e}"),
		}
	}
}
