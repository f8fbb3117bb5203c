//! The SparseLoCo codec on a CUDA device: the CPU codec's payload bytes from a few fused kernels
//! over every tensor of the model at once.
//!
//! One error-feedback round ([`GpuCompressor::step`]) is seven launches whatever the number of
//! tensors, with no host synchronisation until the payload is read:
//! 1. `ef_select`, one block per chunk: `e ← β·e + Δ` (read Δ and e, write e: the only pass over
//!    the dense data), then the chunk's top-k by magnitude with the CPU codec's tie rule (a
//!    bitwise search for the k-th largest magnitude over a small candidate set), kept entries
//!    written in ascending index order with the chunk's partial sum;
//! 2. per-tensor shift, per-chunk centred squares, per-tensor scale, per-chunk codes and bin sums,
//!    per-tensor LUT (written into the payload), each over the kept entries only (1.6% of the
//!    data);
//! 3. `chunk_pack` writes the 12-bit indices and 2-bit codes into a device copy of the wire
//!    payload whose headers were written once ([`layout::PayloadLayout`]); a second stream copies
//!    it to page-locked host memory while
//! 4. `chunk_subtract` applies `e ← e − ê` at the kept positions.
//!
//! Every f32 operation rounds as the CPU codec's (the kernels are built without fused
//! multiply-adds) and the reductions are f64 in a fixed order, so the payload matches the CPU
//! codec's for the same input ([`compare`] checks it; the reductions' order differs from the CPU's
//! sequential one, which can move a statistic by one f32 ulp in rare cases).
//!
//! [`GpuAggregator`] is the receiving side: per-peer norms from code counts, median clipping and
//! the ordered sum of every peer's reconstruction with a count per position, built per chunk in
//! shared memory, then divided once by the count under Templar's mean rule.

use tch::{Device, Kind, Tensor};

pub mod compare;
mod host_copy;
mod kernels;
pub mod layout;

use std::sync::Arc;

use cudarc::driver::{CudaEvent, DriverError, PinnedHostSlice};

pub use self::host_copy::{HostCopier, HostCopyInFlight};
pub use self::kernels::{
	compile as compile_kernels, compile_source, load_module, MAX_PEERS, SOURCE as KERNEL_SOURCE,
};
use self::kernels::{Kernels, RoundBuffers};
use self::layout::{PayloadLayout, DESC_WORDS};
use super::aggregate::AggregationRule;
use super::config::CodecConfig;
use super::error::CodecError;

/// Why the GPU codec cannot run or refused its input.
#[derive(Debug, thiserror::Error)]
pub enum GpuCodecError {
	/// No usable CUDA device or library.
	#[error("GPU codec unavailable: {0}")]
	Unavailable(String),
	/// NVRTC refused the kernel source (a bug, reported with its log).
	#[error("compiling the codec kernels: {0}")]
	Compile(String),
	/// A CUDA driver call failed.
	#[error("CUDA driver: {0}")]
	Driver(#[from] DriverError),
	/// The input does not fit the codec (see [`CodecError`]).
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// A tensor is not what the layout expects (device, kind, size or contiguity).
	#[error("tensor {name:?}: {reason}")]
	BadTensor {
		/// Parameter name.
		name: String,
		/// What is wrong.
		reason: String,
	},
	/// More data than the kernels can index.
	#[error("too large for the GPU codec: {0}")]
	TooLarge(&'static str),
	/// A libtorch call failed.
	#[error("libtorch: {0}")]
	Torch(#[from] tch::TchError),
}

/// Error bits the kernels set (`ERR_*` in `kernels.cu`).
const ERR_NON_FINITE_VALUE: i64 = 1;
const ERR_NON_FINITE_STATS: i64 = 2;

fn device_ordinal(device: Device) -> Result<usize, GpuCodecError> {
	match device {
		Device::Cuda(n) => Ok(n),
		other => Err(GpuCodecError::Unavailable(format!("{other:?} is not a CUDA device"))),
	}
}

fn addr(t: &Tensor) -> u64 {
	t.data_ptr() as u64
}

/// Checks that `t` is a contiguous f32 tensor of `numel` elements on `device`.
fn check_f32(t: &Tensor, name: &str, numel: usize, device: Device) -> Result<(), GpuCodecError> {
	let bad = |reason: String| GpuCodecError::BadTensor { name: name.to_owned(), reason };
	if t.device() != device {
		return Err(bad(format!("on {:?}, the codec runs on {device:?}", t.device())));
	}
	if t.kind() != Kind::Float {
		return Err(bad(format!("kind {:?}, expected Float", t.kind())));
	}
	if t.numel() != numel {
		return Err(bad(format!("{} elements, the layout has {numel}", t.numel())));
	}
	if !t.is_contiguous() {
		return Err(bad("not contiguous".into()));
	}
	Ok(())
}

/// Descriptors as the `i64` words libtorch can hold (the kernels read them as `u64`).
fn descriptor_words(layout: &PayloadLayout, data: &[u64], delta: &[u64]) -> Vec<i64> {
	let mut words = Vec::with_capacity(layout.tensors().len() * DESC_WORDS);
	for (i, t) in layout.tensors().iter().enumerate() {
		words.extend(t.descriptor(data[i], delta.get(i).copied().unwrap_or(0)).map(|w| w as i64));
	}
	words
}

/// Device descriptors, re-uploaded only when the tensors' addresses change.
#[derive(Debug)]
struct Descriptors {
	device: Device,
	words: Vec<i64>,
	on_device: Option<Tensor>,
}

impl Descriptors {
	fn update(&mut self, words: Vec<i64>) -> Result<u64, GpuCodecError> {
		if self.on_device.is_none() || self.words != words {
			let t = Tensor::f_from_slice(&words)?.f_to_device(self.device)?;
			self.words = words;
			self.on_device = Some(t);
		}
		Ok(self.on_device.as_ref().map(addr).unwrap_or(0))
	}
}

/// The compressing side of the GPU codec for one model layout: owns the scratch arrays and the
/// device and host copies of the payload, and runs error-feedback rounds on caller-owned buffers.
#[derive(Debug)]
pub struct GpuCompressor {
	kernels: Arc<Kernels>,
	layout: PayloadLayout,
	config: CodecConfig,
	device: Device,
	descs: Descriptors,
	chunk_tensor: Tensor,
	idx: Tensor,
	val: Tensor,
	code: Tensor,
	chunk_sum: Tensor,
	chunk_sq: Tensor,
	chunk_bins: Tensor,
	chunk_counts: Tensor,
	shift: Tensor,
	scale: Tensor,
	lut: Tensor,
	payload: Tensor,
	error: Tensor,
	host: PinnedHostSlice<u8>,
}

impl GpuCompressor {
	/// A compressor for tensors `(name, shape)` in this order, with `config`, on `device`.
	pub fn new(
		tensors: &[(String, Vec<usize>)],
		config: &CodecConfig,
		device: Device,
	) -> Result<Self, GpuCodecError> {
		let kernels = Kernels::load(device_ordinal(device)?)?;
		let layout = PayloadLayout::new(tensors, config)?;
		let (c, e, t) = (layout.total_chunks(), layout.total_entries(), layout.tensors().len());
		let n = |x: usize| x as i64;
		let zeros = |len: usize, kind: Kind| Tensor::f_zeros([n(len.max(1))], (kind, device));
		let chunk_tensor: Vec<i32> = layout.chunk_tensors().into_iter().map(|x| x as i32).collect();
		let payload = Tensor::f_from_slice(layout.template())?.f_to_device(device)?;
		let host = kernels.alloc_pinned(layout.payload_len())?;
		Ok(Self {
			descs: Descriptors { device, words: Vec::new(), on_device: None },
			chunk_tensor: Tensor::f_from_slice(&chunk_tensor)?.f_to_device(device)?,
			idx: zeros(e, Kind::Int16)?,
			val: zeros(e, Kind::Float)?,
			code: zeros(e, Kind::Uint8)?,
			chunk_sum: zeros(c, Kind::Double)?,
			chunk_sq: zeros(c, Kind::Double)?,
			chunk_bins: zeros(4 * c, Kind::Double)?,
			chunk_counts: zeros(4 * c, Kind::Int)?,
			shift: zeros(t, Kind::Float)?,
			scale: zeros(t, Kind::Float)?,
			lut: zeros(4 * t, Kind::Float)?,
			error: zeros(1, Kind::Int)?,
			payload,
			host,
			kernels,
			layout,
			config: *config,
			device,
		})
	}

	/// The payload layout (names, shapes, offsets).
	pub fn layout(&self) -> &PayloadLayout {
		&self.layout
	}

	/// The device copy of the last payload (wire bytes, `u8`).
	pub fn payload_on_device(&self) -> &Tensor {
		&self.payload
	}

	fn buffers(&self, descs: u64) -> RoundBuffers {
		RoundBuffers {
			descs,
			chunk_tensor: addr(&self.chunk_tensor),
			idx: addr(&self.idx),
			val: addr(&self.val),
			code: addr(&self.code),
			chunk_sum: addr(&self.chunk_sum),
			chunk_sq: addr(&self.chunk_sq),
			chunk_bins: addr(&self.chunk_bins),
			chunk_counts: addr(&self.chunk_counts),
			shift: addr(&self.shift),
			scale: addr(&self.scale),
			lut: addr(&self.lut),
			payload: addr(&self.payload),
			error: addr(&self.error),
		}
	}

	fn check(&self, what: &str, tensors: &[Tensor]) -> Result<Vec<u64>, GpuCodecError> {
		if tensors.len() != self.layout.tensors().len() {
			return Err(GpuCodecError::BadTensor {
				name: what.to_owned(),
				reason: format!(
					"{} tensors, the layout has {}",
					tensors.len(),
					self.layout.tensors().len()
				),
			});
		}
		tensors
			.iter()
			.zip(self.layout.tensors())
			.map(|(t, l)| check_f32(t, &l.name, l.numel(), self.device).map(|()| addr(t)))
			.collect()
	}

	/// Enqueues one error-feedback round on the default stream without waiting for it:
	/// `ef ← β·ef + delta`, the payload of `ef` (copied to host memory on a second stream), then
	/// `ef ← ef − ê`. `ef` and `delta` hold one contiguous f32 tensor per layout entry, in layout
	/// order, on the codec's device. [`Self::finish`] waits and returns the payload.
	pub fn enqueue_step(
		&mut self,
		ef: &[Tensor],
		delta: &[Tensor],
		beta: f32,
	) -> Result<(), GpuCodecError> {
		if !(beta.is_finite() && (0.0..=1.0).contains(&beta)) {
			return Err(CodecError::InvalidBeta(beta).into());
		}
		let data = self.check("error-feedback buffers", ef)?;
		let deltas = self.check("pseudo-gradient", delta)?;
		self.enqueue(&data, &deltas, beta, true)
	}

	/// Enqueues the compression of `tensors` as they are (no error feedback, nothing changed).
	pub fn enqueue_compress(&mut self, tensors: &[Tensor]) -> Result<(), GpuCodecError> {
		let data = self.check("tensors", tensors)?;
		self.enqueue(&data, &[], 0.0, false)
	}

	// Launches trust their arguments; `check` and the layout make them so.
	#[allow(unsafe_code)]
	fn enqueue(
		&mut self,
		data: &[u64],
		delta: &[u64],
		beta: f32,
		error_feedback: bool,
	) -> Result<(), GpuCodecError> {
		let descs = self.descs.update(descriptor_words(&self.layout, data, delta))?;
		let b = self.buffers(descs);
		let _ = self.error.f_zero_()?;
		let (tensors, chunks) = (self.layout.tensors().len(), self.layout.total_chunks());
		// SAFETY: every buffer was sized from `self.layout` in `new`, and `check` verified that
		// each data / delta address is a contiguous f32 tensor of its layout entry's size on
		// this device.
		unsafe {
			self.kernels.compress(&b, tensors, chunks, beta, error_feedback, self.config.range)?;
		}
		self.kernels.copy_to_host(b.payload, self.layout.payload_len(), &mut self.host, 0)?;
		if error_feedback {
			// SAFETY: as above, after `compress` on the same buffers.
			unsafe { self.kernels.subtract(&b, chunks)? };
		}
		Ok(())
	}

	/// Makes the default stream wait for the payload's copy to the host, so that an event
	/// recorded next on it marks the end of the whole round.
	pub fn join_copy(&self) -> Result<(), GpuCodecError> {
		self.kernels.join_copies()
	}

	/// Waits for the round and returns the payload's wire bytes (in page-locked memory), or the
	/// error the kernels flagged: a non-finite value in the buffers, or quantizer statistics that
	/// overflowed f32. After an error the buffers are unspecified (as the CPU codec's).
	pub fn finish(&mut self) -> Result<&[u8], GpuCodecError> {
		self.kernels.synchronize()?;
		let flags = self.error.f_int64_value(&[0])?;
		if flags & ERR_NON_FINITE_VALUE != 0 {
			return Err(CodecError::NonFinite { name: "(GPU round)".into(), index: 0 }.into());
		}
		if flags & ERR_NON_FINITE_STATS != 0 {
			return Err(CodecError::NonFiniteStatistics { name: "(GPU round)".into() }.into());
		}
		Ok(&self.host.as_slice()?[..self.layout.payload_len()])
	}

	/// One error-feedback round (see [`Self::enqueue_step`]), waiting for its payload.
	pub fn step(
		&mut self,
		ef: &[Tensor],
		delta: &[Tensor],
		beta: f32,
	) -> Result<&[u8], GpuCodecError> {
		self.enqueue_step(ef, delta, beta)?;
		self.finish()
	}

	/// Compresses `tensors` as they are and returns the payload's wire bytes.
	pub fn compress(&mut self, tensors: &[Tensor]) -> Result<&[u8], GpuCodecError> {
		self.enqueue_compress(tensors)?;
		self.finish()
	}

	/// A timing event on the codec's stream (see [`Self::record`]).
	pub fn timing_event(&self) -> Result<CudaEvent, GpuCodecError> {
		self.kernels.timing_event()
	}

	/// Records `event` after the work enqueued so far on the default stream.
	pub fn record(&self, event: &CudaEvent) -> Result<(), GpuCodecError> {
		self.kernels.record(event)
	}
}

/// The receiving side: the aggregate of many peers' payloads for one layout, on the device.
#[derive(Debug)]
pub struct GpuAggregator {
	kernels: Arc<Kernels>,
	layout: PayloadLayout,
	device: Device,
	descs: Descriptors,
	chunk_tensor: Tensor,
	norms: Tensor,
	weights: Tensor,
	peers: Option<(Vec<i64>, Tensor)>,
}

impl GpuAggregator {
	/// An aggregator for payloads of `layout` on `device`.
	pub fn new(layout: PayloadLayout, device: Device) -> Result<Self, GpuCodecError> {
		let kernels = Kernels::load(device_ordinal(device)?)?;
		let chunk_tensor: Vec<i32> = layout.chunk_tensors().into_iter().map(|x| x as i32).collect();
		let t = layout.tensors().len() as i64;
		Ok(Self {
			descs: Descriptors { device, words: Vec::new(), on_device: None },
			chunk_tensor: Tensor::f_from_slice(&chunk_tensor)?.f_to_device(device)?,
			norms: Tensor::f_zeros([MAX_PEERS as i64 * t], (Kind::Double, device))?,
			weights: Tensor::f_zeros([4 * MAX_PEERS as i64 * t], (Kind::Float, device))?,
			peers: None,
			kernels,
			layout,
			device,
		})
	}

	/// Enqueues the aggregate of `payloads` under `rule` into `out`: for every tensor `i` of the
	/// layout, each peer's values are scaled by `min(1, median_p ‖ê_{p,i}‖ / ‖ê_{p,i}‖)`, then
	/// summed per position, and with [`AggregationRule::Mean`] divided by the number of peers
	/// that kept the position (the CPU [`super::aggregate()`]'s rule, bit for bit; clipping to
	/// the set's median only). `payloads` are device `u8` copies of payloads that were decoded and accepted on the
	/// host ([`super::Payload::decode`] checks indices and LUT) and whose headers match the layout
	/// (checked here on `headers`, their host bytes). `out` holds one contiguous f32 tensor per
	/// layout entry.
	#[allow(unsafe_code)]
	pub fn enqueue(
		&mut self,
		payloads: &[Tensor],
		headers: &[&[u8]],
		out: &[Tensor],
		rule: AggregationRule,
	) -> Result<(), GpuCodecError> {
		if payloads.is_empty() || payloads.len() > MAX_PEERS || headers.len() != payloads.len() {
			return Err(GpuCodecError::TooLarge(
				"between 1 and 64 peers, each with its host bytes",
			));
		}
		let len = self.layout.payload_len();
		for (p, (t, h)) in payloads.iter().zip(headers).enumerate() {
			let bad =
				|reason: String| GpuCodecError::BadTensor { name: format!("peer {p}"), reason };
			if !self.layout.matches_headers(h) {
				return Err(bad("payload headers differ from the model's layout".into()));
			}
			if t.device() != self.device || t.kind() != Kind::Uint8 || t.numel() != len {
				return Err(bad(format!("expected {len} u8 bytes on {:?}", self.device)));
			}
			if !t.is_contiguous() {
				return Err(bad("not contiguous".into()));
			}
		}
		if out.len() != self.layout.tensors().len() {
			return Err(GpuCodecError::BadTensor {
				name: "aggregate".into(),
				reason: format!(
					"{} outputs for {} tensors",
					out.len(),
					self.layout.tensors().len()
				),
			});
		}
		let mut data = Vec::with_capacity(out.len());
		for (t, l) in out.iter().zip(self.layout.tensors()) {
			check_f32(t, &l.name, l.numel(), self.device)?;
			data.push(addr(t));
		}
		let descs = self.descs.update(descriptor_words(&self.layout, &data, &[]))?;
		let addrs: Vec<i64> = payloads.iter().map(|t| addr(t) as i64).collect();
		if self.peers.as_ref().map(|(a, _)| a != &addrs).unwrap_or(true) {
			let t = Tensor::f_from_slice(&addrs)?.f_to_device(self.device)?;
			self.peers = Some((addrs, t));
		}
		let peers = self.peers.as_ref().map(|(_, t)| addr(t)).unwrap_or(0);
		// SAFETY: descriptors and chunk map come from `self.layout`; every output was checked
		// above to be a contiguous f32 tensor of its entry's size on this device; every payload
		// is a contiguous u8 tensor of the layout's length whose headers match (the caller
		// vouches for the values by having decoded them); norms and weights hold MAX_PEERS ≥
		// n_peers peers.
		unsafe {
			self.kernels.aggregate(
				descs,
				addr(&self.chunk_tensor),
				peers,
				payloads.len(),
				self.layout.tensors().len(),
				self.layout.total_chunks(),
				addr(&self.norms),
				addr(&self.weights),
				rule == AggregationRule::Mean,
			)?;
		}
		Ok(())
	}

	/// Waits for the enqueued work.
	pub fn synchronize(&self) -> Result<(), GpuCodecError> {
		self.kernels.synchronize()
	}

	/// A timing event (see [`GpuCompressor::timing_event`]).
	pub fn timing_event(&self) -> Result<CudaEvent, GpuCodecError> {
		self.kernels.timing_event()
	}

	/// Records `event` on the default stream.
	pub fn record(&self, event: &CudaEvent) -> Result<(), GpuCodecError> {
		self.kernels.record(event)
	}
}
