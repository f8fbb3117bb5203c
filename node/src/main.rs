//! `gauntlet-node`: the Gauntlet test chain.
//!
//! `--dev` seals a block every `--dev-block-time` milliseconds on a single node;
//! `--chain local` runs Alice and Bob as Aura authors with GRANDPA finality.

// `sc_cli::Error` (upstream) is large; every Substrate node returns it from `run`.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
