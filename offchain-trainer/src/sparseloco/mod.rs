//! SparseLoCo: the communication codec of Gauntlet's outer rounds.
//!
//! One outer round, seen from one peer (see `shared/reference/sparseloco.md`):
//! 1. [`PseudoGradient::from_weights`]: `Δ = θ − θ_local` after `H` inner AdamW steps;
//! 2. [`ErrorFeedback::step`]: `e ← β·e + Δ`, compress `e` into a [`Payload`], `e ← e − ê`;
//! 3. [`Payload::encode`] → bytes to publish (their hash is committed on chain);
//! 4. [`Payload::decode`] each selected peer's bytes under [`DecodeLimits`], check them with
//!    [`Payload::check_against`];
//! 5. [`aggregate()`] (median-norm clipping per peer, then per position the mean over the peers
//!    that kept it: Templar's rule) and [`outer_step`] (`θ ← θ − η·agg`).
//!
//! Compression of one tensor ([`Compressor::compress`]) is Templar's: chunking into tiles of
//! `s(R) × s(C)` ([`chunking`]), top-k by magnitude per chunk ([`topk`]), a per-tensor 2-bit
//! quantizer with a 4-entry LUT and shift ([`quantize`]), 12-bit indices and 2-bit codes
//! ([`packing`]), and a versioned little-endian wire format ([`wire`]).
//!
//! Everything here but [`gpu`] is plain Rust over `f32` slices (no tch), so it runs on any host
//! and serves as the reference the GPU codec ([`gpu`], CUDA kernels over tch tensors) must match.

// Lints scoped to this module so they travel with it into the trainer crate.
#![warn(missing_docs)]
// `deny`, not `forbid`: the GPU codec's kernel launches (`gpu/kernels.rs`) opt back in.
#![deny(unsafe_code)]

pub mod aggregate;
pub mod bench;
pub mod chunking;
pub mod codec;
pub mod config;
pub mod error;
pub mod error_feedback;
pub mod gpu;
pub mod packing;
pub mod pseudo_gradient;
pub mod quantize;
pub mod tensor;
pub mod topk;
pub mod wire;

pub use aggregate::{
	aggregate, contributions_by_tensor, median_norms, outer_step, Aggregation, AggregationRule,
	ClipTo,
};
pub use bench::bench_table;
pub use chunking::ChunkGeometry;
pub use codec::{compress_tensor, CompressedTensor, Compressor, Payload};
pub use config::{CodecConfig, DEFAULT_BETA, DEFAULT_OUTER_LR};
pub use error::{CodecError, WireError};
pub use error_feedback::ErrorFeedback;
pub use pseudo_gradient::PseudoGradient;
pub use tensor::Tensor;
pub use wire::{DecodeLimits, MAGIC, WIRE_VERSION};
