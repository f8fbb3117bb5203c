//! How a host is set up: identity, addresses, store size, caps, timeouts. [`P2pArgs`] is the same
//! as command-line flags, for the trainer's commands to flatten into theirs.

use std::path::PathBuf;
use std::time::Duration;

use libp2p::Multiaddr;

/// Everything [`super::P2pHost::start`] needs.
#[derive(Clone, Debug)]
pub struct P2pConfig {
	/// The ed25519 key file (created with mode 0600 on first run).
	pub identity_path: PathBuf,
	/// Addresses to listen on; port 0 picks a free port.
	pub listen: Vec<Multiaddr>,
	/// Peers to connect to at start (`/…/p2p/<peer id>`), for announcements and tests; payload
	/// fetches dial the addresses registered on chain and need none.
	pub bootnodes: Vec<Multiaddr>,
	/// Windows of payloads kept for serving.
	pub store_windows: usize,
	/// Largest commitment size a fetch accepts (the runtime's `MaxPayloadSize`): the fetcher
	/// allocates the committed size, so this bounds what a lying commitment can cost.
	pub max_payload_bytes: u64,
	/// Upload cap in Mb/s (`None`: unlimited).
	pub max_upload_mbps: Option<f64>,
	/// Download cap in Mb/s (`None`: unlimited).
	pub max_download_mbps: Option<f64>,
	/// Fetches in flight at once; more wait their turn.
	pub max_concurrent_fetches: usize,
	/// Smallest piece: a payload is fetched in one piece per lane, none smaller than this, so
	/// small payloads stay one stream on one connection.
	pub piece_bytes: u64,
	/// Pieces of one payload in flight at once, each on a stream of its own, over as many
	/// connections to the peer: one libp2p connection encrypts and multiplexes on one task per
	/// side, which bounded a transfer to ~0.6 GB/s on loopback. libp2p-stream puts each stream
	/// on one of the connections at random, so some share one: 8 lanes moved 1 GB at 1.21-1.47
	/// GB/s in five runs on a 64-core host, 4 lanes at 0.69-1.17 GB/s (docs/p2p-bench.md).
	pub transfer_lanes: usize,
	/// Streams served at once; more are answered `Busy`.
	pub max_concurrent_serves: usize,
	/// Limit for dialing a peer and opening a stream.
	pub open_timeout: Duration,
	/// Longest wait for the next bytes of a transfer before it counts as stalled.
	pub stall_timeout: Duration,
	/// Extra attempts after a retryable failure (broken stream, stall, busy, dial).
	pub retries: u32,
	/// Pause before the first retry; doubles with each further one.
	pub retry_backoff: Duration,
	/// How long an unused connection stays open.
	pub idle_connection_timeout: Duration,
	/// Join the gossipsub topic of "payload ready" announcements.
	pub announcements: bool,
	/// Where to register the metrics.
	pub registry: Option<prometheus::Registry>,
}

impl P2pConfig {
	/// Defaults: TCP and QUIC on 127.0.0.1 (free ports), 4 windows kept, 2 GiB payloads at most,
	/// no caps, 4 fetches and 16 serves at once, 8 lanes a transfer (pieces of 8 MiB or more),
	/// 10 s to open, 30 s stall limit, 3 retries.
	pub fn new(identity_path: PathBuf) -> Self {
		Self {
			identity_path,
			listen: default_listen(),
			bootnodes: Vec::new(),
			store_windows: 4,
			max_payload_bytes: 2 * 1024 * 1024 * 1024,
			max_upload_mbps: None,
			max_download_mbps: None,
			max_concurrent_fetches: 4,
			piece_bytes: 8 << 20,
			transfer_lanes: 8,
			max_concurrent_serves: 16,
			open_timeout: Duration::from_secs(10),
			stall_timeout: Duration::from_secs(30),
			retries: 3,
			retry_backoff: Duration::from_millis(500),
			idle_connection_timeout: Duration::from_secs(120),
			announcements: true,
			registry: None,
		}
	}
}

/// TCP and QUIC on loopback, free ports.
pub fn default_listen() -> Vec<Multiaddr> {
	vec![
		"/ip4/127.0.0.1/tcp/0".parse().expect("valid literal multiaddr"),
		"/ip4/127.0.0.1/udp/0/quic-v1".parse().expect("valid literal multiaddr"),
	]
}

/// The p2p flags of a trainer command.
#[derive(Clone, Debug, clap::Args)]
pub struct P2pArgs {
	/// ed25519 key file of this host's libp2p identity (created, mode 0600, on first run).
	#[arg(long, default_value = "p2p.key")]
	pub identity: PathBuf,
	/// Listen address (repeatable); default TCP and QUIC on 127.0.0.1, free ports.
	#[arg(long = "listen")]
	pub listen: Vec<Multiaddr>,
	/// Peer to connect to at start, `/ip4/…/tcp/…/p2p/<peer id>` (repeatable).
	#[arg(long = "bootnode", alias = "peer")]
	pub bootnodes: Vec<Multiaddr>,
	/// Upload cap in Mb/s, e.g. 110 for a home uplink.
	#[arg(long)]
	pub max_upload_mbps: Option<f64>,
	/// Download cap in Mb/s, e.g. 500.
	#[arg(long)]
	pub max_download_mbps: Option<f64>,
	/// Windows of payloads kept for serving.
	#[arg(long, default_value_t = 4)]
	pub store_windows: usize,
	/// Pieces of one payload fetched at once, each on its own stream and connection.
	#[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
	pub transfer_lanes: u16,
}

impl P2pArgs {
	/// The host configuration these flags describe (other fields at their defaults).
	pub fn config(&self) -> P2pConfig {
		let mut config = P2pConfig::new(self.identity.clone());
		if !self.listen.is_empty() {
			config.listen = self.listen.clone();
		}
		config.bootnodes = self.bootnodes.clone();
		config.max_upload_mbps = self.max_upload_mbps;
		config.max_download_mbps = self.max_download_mbps;
		config.store_windows = self.store_windows;
		config.transfer_lanes = self.transfer_lanes.into();
		config
	}
}
