//! The model: a LLaMA-style decoder in tch, one concept per file.

pub mod attention;
pub mod config;
pub mod fused;
pub mod linear;
pub mod llama;
pub mod mlp;
pub mod rms_norm;
pub mod rope;

pub use config::{ConfigError, ModelConfig};
pub use llama::Llama;

use tch::{Device, Kind};

/// Numeric precision of the forward and backward passes. Master weights, optimizer state,
/// normalisation statistics and the loss stay fp32 in every mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
	/// bf16 matrix products on CUDA, fp32 on the CPU (the default).
	#[default]
	Auto,
	/// fp32 everywhere (bit-reproducible on the CPU).
	Fp32,
	/// bf16 matrix products wherever the model runs.
	Bf16,
}

impl Precision {
	/// The kind matrix products run in on `device`.
	pub fn compute_kind(self, device: Device) -> Kind {
		match (self, device) {
			(Self::Fp32, _) | (Self::Auto, Device::Cpu) => Kind::Float,
			_ => Kind::BFloat16,
		}
	}
}
