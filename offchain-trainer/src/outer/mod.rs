//! The outer round, wired to tch: pseudo-gradients from model tensors, the peer's
//! error-feedback buffers, SparseLoCo compression and aggregation through the codec
//! ([`crate::sparseloco`], plain `f32`), and the dense DiLoCo outer optimizer for comparison.

pub mod diloco;
pub mod error_feedback;
pub mod gpu_error_feedback;
pub mod sparseloco_step;

pub use diloco::NesterovOuter;
pub use error_feedback::ErrorBuffers;
pub use gpu_error_feedback::GpuErrorBuffers;
pub use sparseloco_step::{
	apply_payloads, apply_payloads_on_gpu, gpu_aggregator, pseudo_gradient, upload_payload,
};
