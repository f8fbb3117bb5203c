//! The Gauntlet trainer: SparseLoCo training in tch, payload exchange over libp2p, and the
//! chain client that commits payloads and submits scores to `pallet-gauntlet`.
//!
//! The `gauntlet-trainer` binary is a thin clap layer over this library.

pub mod device;
