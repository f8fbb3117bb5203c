//! Peer-to-peer payload exchange: miners serve their compressed pseudo-gradient of each window
//! straight from memory, and other miners and validators fetch it over libp2p, verified against
//! the on-chain commitment before it is decoded.
//!
//! - [`commitment`]: the `(BLAKE3, size)` a miner commits on chain.
//! - [`identity`]: the host's ed25519 key file (mode 0600, created on first run).
//! - [`endpoint`]: peer id and multiaddrs in the byte form the pallet's registration stores.
//! - [`config`]: host settings and the matching command-line flags.
//! - [`wire`]: the `/gauntlet/payload/3` stream protocol.
//! - [`store`]: the bounded store of served payloads.
//! - [`fetch`]: verified fetching in lanes, with timeouts, retries and resumption; [`FetchError`].
//! - `serve`: answering payload requests.
//! - [`limiter`]: upload and download caps.
//! - [`metrics`]: Prometheus counters and histograms.
//! - [`announce`]: gossipsub "payload ready" announcements.
//! - `address_book`: where to dial each peer.
//! - [`host`]: the swarm and the [`P2pHandle`] the trainer loop uses.
//! - [`bench`]: the loopback throughput benchmark behind `docs/p2p-bench.md`.
//!
//! ```no_run
//! # async fn demo(miner: offchain_trainer::p2p::P2pHandle, validator: offchain_trainer::p2p::P2pHandle) {
//! let commitment = miner.serve(7, vec![1u8; 1 << 20]).unwrap(); // then commit(7, hash, size)
//! let endpoint = miner.endpoint(); // registered on chain; a validator reads it back
//! let payload = validator.fetch(endpoint.peer_id, &endpoint.addrs, 7, commitment).await;
//! # }
//! ```

mod address_book;
pub mod announce;
pub mod bench;
pub mod commitment;
pub mod config;
pub mod endpoint;
pub mod fetch;
pub mod host;
pub mod identity;
pub mod limiter;
pub mod metrics;
mod serve;
pub mod store;
pub mod wire;

pub use announce::{AnnounceError, Announcement, ReceivedAnnouncement};
pub use commitment::Commitment;
pub use config::{P2pArgs, P2pConfig};
pub use endpoint::Endpoint;
pub use fetch::FetchError;
pub use host::{P2pHandle, P2pHost, StartError};
pub use metrics::P2pMetrics;
