//! The Gauntlet trainer: SparseLoCo training in tch, payload exchange over libp2p, and the
//! chain client that commits payloads and commits and reveals scores to `pallet-gauntlet`.
//!
//! The `gauntlet-trainer` binary is a thin clap layer over this library.
//!
//! - [`model`]: the LLaMA-style decoder (RMSNorm, RoPE, SwiGLU, grouped-query attention).
//! - [`data`]: corpora, tokenizers, mmap token shards, deterministic page assignment.
//! - [`training`]: the inner AdamW loop and checkpoints.
//! - [`sparseloco`]: the SparseLoCo codec over plain `f32` (top-k, 2-bit, wire format).
//! - [`outer`]: the outer round wired to tch (pseudo-gradients, error feedback, aggregation).
//! - [`simulate`]: many peers in one process, SparseLoCo vs DiLoCo vs DDP.
//! - [`payload_file`]: `compress` / `decompress` between safetensors and payload files.
//! - [`bench`]: GPU benchmarks and the GPU-vs-CPU codec check (`scripts/gpu/bench.sh`).
//! - [`export`]: a checkpoint as a Hugging Face LLaMA directory (`transformers` loads it).
//! - [`eval`]: a checkpoint's held-out loss and perplexity.

pub mod atomic_file;
pub mod bench;
pub mod data;
pub mod device;
pub mod eval;
pub mod export;
pub mod gauntlet;
pub mod host_copy;
pub mod malloc;
pub mod model;
pub mod outer;
pub mod p2p;
pub mod payload_file;
pub mod simulate;
pub mod sparseloco;
pub mod tensor_io;
#[cfg(test)]
mod test_support;
pub mod training;
