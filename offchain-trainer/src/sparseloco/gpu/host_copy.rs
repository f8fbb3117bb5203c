//! Device tensors copied to host memory on the codec's copy stream while the default stream goes
//! on with training. The miner's per-window host copies (θ for its journal hash and the checkpoint
//! it serves; optimizer and error feedback for its local checkpoint) then cost the loop one
//! device-side clone, not a transfer: θ alone at `124m` took 0.13–0.29 s a window through
//! pageable memory on the loop (docs/four-peers.md).
//!
//! The clones travel through a small page-locked staging buffer, chunk by chunk, on the thread
//! that waits for the arrays: pinning a buffer the size of a `1b` checkpoint (17 GB) took 12–19 s
//! when the first version of this module did it, longer than the copy.

use std::sync::{Arc, Mutex};

use cudarc::driver::{CudaEvent, PinnedHostSlice};
use tch::{Device, Kind, Tensor};

use super::kernels::Kernels;
use super::{addr, device_ordinal, GpuCodecError};
use crate::sparseloco::Tensor as Array;

/// Bytes copied per chunk: large enough that a copy runs near the link's bandwidth, small
/// enough to pin in milliseconds.
const STAGING_BYTES: usize = 64 << 20;

/// Staging buffers kept for reuse, one per copy in flight.
type Pool = Arc<Mutex<Vec<PinnedHostSlice<u8>>>>;

/// Starts host copies of one device's tensors.
#[derive(Clone)]
pub struct HostCopier {
	kernels: Arc<Kernels>,
	pool: Pool,
}

impl std::fmt::Debug for HostCopier {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("HostCopier").finish_non_exhaustive()
	}
}

/// One host copy on its way; [`HostCopyInFlight::wait`] gives the arrays.
pub struct HostCopyInFlight {
	kernels: Arc<Kernels>,
	pool: Pool,
	/// Marks the clones' kernels on the default stream: the copies start after it.
	ready: CudaEvent,
	/// Names, shapes and the device clones the copy reads (alive until it is done).
	clones: Vec<(String, Vec<usize>, Tensor)>,
}

impl HostCopier {
	/// A copier for CUDA `device` (an error on any other device).
	pub fn new(device: Device) -> Result<Self, GpuCodecError> {
		Ok(Self {
			kernels: Kernels::load(device_ordinal(device)?)?,
			pool: Arc::new(Mutex::new(Vec::new())),
		})
	}

	/// Clones every tensor as contiguous f32 on the default stream, after the work enqueued so
	/// far (so later work may change the originals), and marks that point; the copy itself runs
	/// in [`HostCopyInFlight::wait`], on the copy stream, alongside whatever the default stream
	/// does by then.
	pub fn start(&self, named: &[(&str, &Tensor)]) -> Result<HostCopyInFlight, GpuCodecError> {
		let clones = tch::no_grad(|| {
			named
				.iter()
				.map(|(name, t)| {
					let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
					let mut clone = Tensor::f_empty(t.size(), (Kind::Float, t.device()))?;
					clone.f_copy_(t)?;
					Ok((name.to_string(), shape, clone))
				})
				.collect::<Result<Vec<_>, GpuCodecError>>()
		})?;
		Ok(HostCopyInFlight {
			ready: self.kernels.mark()?,
			kernels: self.kernels.clone(),
			pool: self.pool.clone(),
			clones,
		})
	}
}

impl HostCopyInFlight {
	/// Copies the clones to the host chunk by chunk through a staging buffer (waiting for the
	/// copy stream only, never for the default stream) and returns them as host arrays, in the
	/// order given.
	pub fn wait(self) -> Result<Vec<Array>, GpuCodecError> {
		let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
		let mut staging = match pooled {
			Some(buffer) => buffer,
			None => self.kernels.alloc_pinned(STAGING_BYTES)?,
		};
		let copied = self.copy_through(&mut staging);
		self.pool.lock().unwrap_or_else(|p| p.into_inner()).push(staging);
		copied
	}

	fn copy_through(&self, staging: &mut PinnedHostSlice<u8>) -> Result<Vec<Array>, GpuCodecError> {
		let mut arrays = Vec::with_capacity(self.clones.len());
		for (name, shape, clone) in &self.clones {
			let bytes = 4 * clone.numel();
			let mut data: Vec<f32> = Vec::with_capacity(clone.numel());
			let mut done = 0usize;
			while done < bytes {
				let len = (bytes - done).min(STAGING_BYTES);
				let src = addr(clone) + done as u64;
				self.kernels.copy_to_host_after(&self.ready, src, len, staging, 0)?;
				self.kernels.synchronize_copies()?;
				let chunk = &staging.as_slice()?[..len];
				data.extend(
					chunk.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
				);
				done += len;
			}
			arrays.push(Array { name: name.clone(), shape: shape.clone(), data });
		}
		Ok(arrays)
	}
}
