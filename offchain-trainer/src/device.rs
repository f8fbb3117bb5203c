//! Choosing where tensors live: CUDA when present (or asked for), CPU otherwise.

use std::str::FromStr;

/// Where to train, as given on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
	/// CUDA device 0 if libtorch sees one, else the CPU.
	#[default]
	Auto,
	/// Always the CPU.
	Cpu,
	/// CUDA device `n`; an error if it is not there.
	Cuda(usize),
}

/// A device request that cannot be met.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
	/// The text is not `auto`, `cpu`, `cuda` or `cuda:N`.
	#[error("unknown device {0:?}: expected auto, cpu, cuda or cuda:N")]
	Unknown(String),
	/// CUDA device `n` was asked for but libtorch sees only `available` devices.
	#[error("CUDA device {requested} requested but libtorch sees {available} CUDA device(s)")]
	CudaUnavailable {
		/// The index asked for.
		requested: usize,
		/// How many CUDA devices libtorch reports.
		available: usize,
	},
}

impl FromStr for DeviceChoice {
	type Err = DeviceError;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"auto" => Ok(Self::Auto),
			"cpu" => Ok(Self::Cpu),
			"cuda" => Ok(Self::Cuda(0)),
			other => other
				.strip_prefix("cuda:")
				.and_then(|n| n.parse().ok())
				.map(Self::Cuda)
				.ok_or_else(|| DeviceError::Unknown(other.to_string())),
		}
	}
}

impl DeviceChoice {
	/// Resolve the choice against what libtorch sees on this machine.
	pub fn resolve(self) -> Result<tch::Device, DeviceError> {
		let available = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
		match self {
			Self::Cpu => Ok(tch::Device::Cpu),
			Self::Auto if available > 0 => Ok(tch::Device::Cuda(0)),
			Self::Auto => Ok(tch::Device::Cpu),
			Self::Cuda(n) if n < available => Ok(tch::Device::Cuda(n)),
			Self::Cuda(requested) => Err(DeviceError::CudaUnavailable { requested, available }),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn parses_device_names() {
		assert_eq!("auto".parse(), Ok(DeviceChoice::Auto));
		assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
		assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
		assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
		assert!(matches!("gpu".parse::<DeviceChoice>(), Err(DeviceError::Unknown(_))));
		assert!(matches!("cuda:x".parse::<DeviceChoice>(), Err(DeviceError::Unknown(_))));
	}

	#[test]
	fn cpu_always_resolves() {
		assert_eq!(DeviceChoice::Cpu.resolve(), Ok(tch::Device::Cpu));
	}

	#[test]
	fn a_tensor_computes_on_the_resolved_device() {
		let device = DeviceChoice::Auto.resolve().expect("auto never fails");
		let t = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(device);
		assert_eq!(t.sum(tch::Kind::Float).double_value(&[]), 6.0);
	}
}
