//! A hand-written forward and backward pass of the decoder with fused kernels, for training on
//! CUDA: [`pass::FusedPass`] over [`ops::FusedOps`]. Autograd through [`super::Llama::loss`]
//! remains the path on the CPU (bit-reproducible) and wherever the kernels do not apply; the two
//! agree to rounding (tested on the CPU with the reference operations, and on a GPU by
//! `gauntlet-trainer check-fused`).

mod attention;
pub mod ops;
pub mod pass;

pub use ops::{FusedOps, FusedPassError};
pub use pass::FusedPass;
