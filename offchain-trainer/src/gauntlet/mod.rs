//! The Gauntlet roles on a live chain: the miner and validator loops and the pieces they share.
//!
//! Window `W` as the trainer sees it (the pallet's docs have the chain's side):
//!
//! ```text
//! miner, at the first block of W:   θ_W = θ_{W-1} − η·aggregate(set of W−1)   (every peer alike)
//!                                    H AdamW steps on its pages of W → Δ → error feedback → payload
//!                                    serve (payload + θ_W sample), commit (hash, size) within W
//! validator, during W+1:             fetch and verify the contributions of W the chain assigned
//!                                    to it, evaluate them on θ_W, flag copies, seal its scores
//!                                    and commit to them
//! validator, at the start of W+2:    reveal the scores of W
//! chain, first block of W+3:         close W with the revealed scores
//! ```
//!
//! - [`run_params`]: the chain's run configuration in the trainer's types.
//! - [`contribution`]: what a miner serves for a window (payload and weight sample) on the wire.
//! - [`sync`]: weight samples and the sync score.
//! - [`global_model`]: the global weights, advanced by the chain-selected aggregates.
//! - [`chain_view`]: a reconnecting chain connection and the window clock.
//! - [`peers`]: fetching a miner's contribution, verified against its commitment.
//! - [`own_contributions`]: a miner's saved contributions and error feedback, for restarts.
//! - [`replay`]: bringing the global weights to a window (local checkpoint, peer checkpoint,
//!   aggregates since).
//! - [`evaluation`]: a validator's measurements of one contribution.
//! - [`sealed_scores`]: a validator's committed scores on disk until it reveals them.
//! - [`copy_detection`]: top-k index overlap between contributions.
//! - [`journal`]: one JSON line per window in the state directory.
//! - [`metrics`]: Prometheus metrics and their HTTP endpoint.
//! - [`behaviour`]: how a miner builds its payload; the dishonest variants exist for the
//!   adversarial end-to-end test.
//! - [`miner`], [`validator`]: the two loops; [`cli`] their command-line flags.
//! - [`verify`]: recomputing a window's revealed scores from chain state and peers.

pub mod behaviour;
pub mod chain_view;
pub mod cli;
pub mod contribution;
pub mod copy_detection;
pub mod evaluation;
pub mod global_model;
pub mod journal;
pub mod metrics;
pub mod miner;
pub mod own_contributions;
pub mod peers;
pub mod replay;
pub mod run_params;
pub mod sealed_scores;
pub mod sync;
pub mod validator;
pub mod verify;

pub use behaviour::Behaviour;
pub use contribution::{Contribution, ContributionError};
pub use global_model::GlobalModel;
pub use run_params::RunParams;

/// A training window (`block / blocks_per_window`).
pub type Window = u64;
