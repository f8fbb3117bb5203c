//! Host copies of model-sized tensors: in line on the CPU, on the GPU codec's copy stream on a
//! CUDA device ([`crate::sparseloco::gpu::HostCopier`]), so that a loop that needs θ or its
//! checkpoint state on the host pays for a device-side clone, not for the transfer.

use tch::{Device, Tensor};

use crate::sparseloco::gpu::{GpuCodecError, HostCopier, HostCopyInFlight};
use crate::sparseloco::Tensor as Array;
use crate::tensor_io::to_array;

/// How host copies are made on one device.
#[derive(Clone, Debug)]
pub enum HostCopies {
	/// `to_array` on the calling thread (the CPU, or CUDA without the codec's kernels).
	InLine,
	/// Through page-locked memory on the copy stream.
	CopyStream(HostCopier),
}

/// A host copy, done or on its way.
pub enum PendingCopy {
	/// Copied already.
	Ready(Vec<Array>),
	/// On the copy stream.
	InFlight(HostCopyInFlight),
}

impl HostCopies {
	/// The copy stream on a CUDA device where the GPU codec's context loads, else in line
	/// (with the reason logged).
	pub fn for_device(device: Device) -> Self {
		match device {
			Device::Cpu => Self::InLine,
			cuda => match HostCopier::new(cuda) {
				Ok(copier) => Self::CopyStream(copier),
				Err(e) => {
					tracing::warn!(error = %e, "host copies without a copy stream");
					Self::InLine
				}
			},
		}
	}

	/// Starts copying `named` tensors (as `f32`) to the host; later changes to the tensors do
	/// not reach the copy.
	pub fn start(&self, named: &[(&str, &Tensor)]) -> Result<PendingCopy, GpuCodecError> {
		Ok(match self {
			Self::InLine => PendingCopy::Ready(named.iter().map(|(n, t)| to_array(n, t)).collect()),
			Self::CopyStream(copier) => PendingCopy::InFlight(copier.start(named)?),
		})
	}
}

impl PendingCopy {
	/// The arrays, in the order given to [`HostCopies::start`]; blocks until they are copied.
	pub fn wait(self) -> Result<Vec<Array>, GpuCodecError> {
		match self {
			Self::Ready(arrays) => Ok(arrays),
			Self::InFlight(copy) => copy.wait(),
		}
	}
}
