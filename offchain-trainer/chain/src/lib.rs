//! The typed Gauntlet chain client that every off-chain tool uses (miner, validator, auditor).
//!
//! - [`runtime`]: the subxt API generated at build time from the metadata committed in
//!   `metadata/gauntlet.scale` (refresh it with `scripts/refresh-metadata.sh` after a runtime
//!   change; the e2e test `metadata_drift` fails until you do).
//! - [`GauntletClient`]: connect, then read through the pallet's `GauntletApi` runtime API
//!   (leaderboard, rating history, window records, run configuration) and submit the pallet's
//!   calls (register, update_endpoint, commit, announce_checkpoint, commit_scores,
//!   reveal_scores).
//! - [`SealedScores`]: a validator's scores between their commitment and their reveal.
//! - [`Signer`]: an sr25519 key from a `//Alice`-style secret URI or a 0600 key file;
//!   [`SignerArgs`] the matching `--suri` / `--key-file` flags for CLIs.
//! - [`types`]: the chain's values with real numbers in place of fixed point, serialisable.
//! - [`ChainError`]: every failure, typed.

mod client;
mod error;
pub mod metadata;
mod sealed;
mod signer;
mod tx;
pub mod types;

pub use client::{ChainAt, ChainConfig, GauntletClient};
pub use error::{ChainError, Result};
pub use sealed::SealedScores;
pub use signer::{Signer, SignerArgs};
pub use tx::Included;
pub use types::{AccountId, Window};

/// The Gauntlet runtime's calls, storage, events and runtime APIs, generated from
/// `metadata/gauntlet.scale`.
#[allow(missing_docs, clippy::all)]
#[subxt::subxt(runtime_metadata_path = "metadata/gauntlet.scale")]
pub mod runtime {}
