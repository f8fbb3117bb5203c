//! The loopback benchmark behind `docs/p2p-bench.md`: two hosts in one process, one serving and
//! one fetching (with full verification), per transport, payload size and bandwidth cap.

use std::fmt::Write as _;
use std::time::Instant;

use libp2p::Multiaddr;

use super::config::P2pConfig;
use super::fetch::FetchError;
use super::host::{P2pHost, StartError};
use super::store::StoreError;
use super::Commitment;

/// Transport of a benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
	/// TCP with noise and yamux.
	Tcp,
	/// QUIC v1.
	Quic,
}

impl Transport {
	fn listen(self) -> Multiaddr {
		let addr = match self {
			Self::Tcp => "/ip4/127.0.0.1/tcp/0",
			Self::Quic => "/ip4/127.0.0.1/udp/0/quic-v1",
		};
		addr.parse().expect("valid literal multiaddr")
	}

	fn name(self) -> &'static str {
		match self {
			Self::Tcp => "TCP+noise+yamux",
			Self::Quic => "QUIC",
		}
	}
}

/// One measurement to take.
#[derive(Clone, Copy, Debug)]
pub struct BenchCase {
	/// Transport used.
	pub transport: Transport,
	/// Payload bytes.
	pub size: usize,
	/// Server upload cap, Mb/s.
	pub upload_cap_mbps: Option<f64>,
	/// Fetcher download cap, Mb/s.
	pub download_cap_mbps: Option<f64>,
	/// Pieces in flight at once (`P2pConfig::transfer_lanes`).
	pub lanes: usize,
}

/// One measured transfer.
#[derive(Clone, Copy, Debug)]
pub struct BenchRow {
	/// What was measured.
	pub case: BenchCase,
	/// Seconds from `fetch` to the verified payload (connection already open).
	pub seconds: f64,
	/// CPU seconds the process (both hosts) spent meanwhile, if the OS tells.
	pub cpu_seconds: Option<f64>,
	/// CPU seconds of hashing the payload once when serving it (BLAKE3 alone), if known.
	pub hash_cpu_seconds: Option<f64>,
}

impl BenchRow {
	/// Achieved rate in MB/s (10^6 bytes).
	pub fn mb_per_s(&self) -> f64 {
		self.case.size as f64 / self.seconds / 1e6
	}

	/// Process CPU seconds per GB transferred (sender, receiver, hashing and kernel together).
	pub fn cpu_seconds_per_gb(&self) -> Option<f64> {
		Some(self.cpu_seconds? / (self.case.size as f64 / 1e9))
	}

	/// BLAKE3 throughput in MB per CPU second, from hashing the payload when serving it.
	pub fn hash_mb_per_cpu_s(&self) -> Option<f64> {
		let cpu = self.hash_cpu_seconds.filter(|s| *s > 0.0)?;
		Some(self.case.size as f64 / cpu / 1e6)
	}

	/// Achieved rate over the tighter cap, if any.
	pub fn ratio_to_cap(&self) -> Option<f64> {
		let cap = match (self.case.upload_cap_mbps, self.case.download_cap_mbps) {
			(Some(u), Some(d)) => u.min(d),
			(Some(c), None) | (None, Some(c)) => c,
			(None, None) => return None,
		};
		Some(self.mb_per_s() * 8.0 / cap)
	}
}

/// Why a benchmark case failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
	/// A host did not start.
	#[error(transparent)]
	Start(#[from] StartError),
	/// The payload could not be served.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The fetch failed.
	#[error(transparent)]
	Fetch(#[from] FetchError),
	/// Scratch directory for the identities.
	#[error("temporary directory: {0}")]
	Io(#[from] std::io::Error),
	/// Verified bytes differ from the served ones (cannot happen unless hashing is broken).
	#[error("fetched payload differs from the served one")]
	Differs,
}

/// The cases of `docs/p2p-bench.md`: 10 MB, 100 MB and 1 GB uncapped in the default lanes, 1 GB
/// in 1 (one stream on one connection), 2 and 4 lanes, then 100 MB under a 500 Mb/s download
/// cap and 50 MB under a 110 Mb/s upload cap, each over TCP and QUIC.
pub fn default_cases() -> Vec<BenchCase> {
	let lanes = P2pConfig::new("unused".into()).transfer_lanes;
	let mut cases = Vec::new();
	for transport in [Transport::Tcp, Transport::Quic] {
		let case = |size, upload_cap_mbps, download_cap_mbps, lanes| BenchCase {
			transport,
			size,
			upload_cap_mbps,
			download_cap_mbps,
			lanes,
		};
		for size in [10_000_000, 100_000_000, 1_000_000_000] {
			cases.push(case(size, None, None, lanes));
		}
		for other in [1, 2, 4] {
			cases.push(case(1_000_000_000, None, None, other));
		}
		cases.push(case(100_000_000, None, Some(500.0), lanes));
		cases.push(case(50_000_000, Some(110.0), None, lanes));
	}
	cases
}

/// Measures one case with a fresh pair of hosts.
pub async fn run_case(case: BenchCase) -> Result<BenchRow, BenchError> {
	let dir = tempfile::tempdir()?;
	let config = |name: &str| {
		let mut c = P2pConfig::new(dir.path().join(name));
		c.listen = vec![case.transport.listen()];
		c.announcements = false;
		c.transfer_lanes = case.lanes;
		c
	};
	let mut server_config = config("server.key");
	server_config.max_upload_mbps = case.upload_cap_mbps;
	let mut client_config = config("client.key");
	client_config.max_download_mbps = case.download_cap_mbps;
	let (server, server_task) = P2pHost::start(server_config).await?;
	let (client, client_task) = P2pHost::start(client_config).await?;

	let payload = pseudo_random(case.size, case.size as u64);
	let warmup = server.serve(0, vec![1u8; 1024])?;
	let cpu_before_hash = process_cpu_seconds();
	let commitment = server.serve(1, payload.clone())?;
	let hash_cpu_seconds = cpu_before_hash.zip(process_cpu_seconds()).map(|(a, b)| b - a);
	let (peer, addrs) = (server.local_peer_id(), server.listen_addrs());
	// Open the connection first so the row measures the transfer, not the handshake; uncapped,
	// fetch the payload once too, which opens a connection per lane.
	client.fetch(peer, &addrs, 0, warmup).await?;
	if case.upload_cap_mbps.is_none() && case.download_cap_mbps.is_none() {
		client.fetch(peer, &addrs, 1, commitment).await?;
	}

	let cpu_before = process_cpu_seconds();
	let started = Instant::now();
	let fetched = client.fetch(peer, &addrs, 1, commitment).await?;
	let seconds = started.elapsed().as_secs_f64();
	let cpu_seconds = cpu_before.zip(process_cpu_seconds()).map(|(a, b)| b - a);
	if fetched != payload || Commitment::of(&fetched) != commitment {
		return Err(BenchError::Differs);
	}
	drop((server, client));
	server_task.abort();
	client_task.abort();
	Ok(BenchRow { case, seconds, cpu_seconds, hash_cpu_seconds })
}

/// The markdown table of `rows`, with a header line of context.
pub fn markdown(rows: &[BenchRow], context: &str) -> String {
	let mut out = String::new();
	let _ = writeln!(out, "# p2p payload transfer benchmark\n\n{context}\n");
	let _ = writeln!(
		out,
		"| payload | transport | lanes | cap | seconds | MB/s | Mb/s | ratio to cap | CPU s per GB | BLAKE3 alone, MB per CPU s |"
	);
	let _ = writeln!(out, "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|");
	for row in rows {
		let c = &row.case;
		let cap = match (c.upload_cap_mbps, c.download_cap_mbps) {
			(None, None) => "none".to_string(),
			(Some(u), None) => format!("upload {u} Mb/s"),
			(None, Some(d)) => format!("download {d} Mb/s"),
			(Some(u), Some(d)) => format!("up {u} / down {d} Mb/s"),
		};
		let ratio = row.ratio_to_cap().map_or("-".to_string(), |r| format!("{r:.3}"));
		let cpu = row.cpu_seconds_per_gb().map_or("-".to_string(), |c| format!("{c:.1}"));
		let hash = row.hash_mb_per_cpu_s().map_or("-".to_string(), |h| format!("{h:.0}"));
		let _ = writeln!(
			out,
			"| {} | {} | {} | {cap} | {:.3} | {:.1} | {:.0} | {ratio} | {cpu} | {hash} |",
			human_size(c.size),
			c.transport.name(),
			c.lanes,
			row.seconds,
			row.mb_per_s(),
			row.mb_per_s() * 8.0,
		);
	}
	out
}

fn human_size(bytes: usize) -> String {
	if bytes >= 1_000_000_000 {
		format!("{} GB", bytes / 1_000_000_000)
	} else {
		format!("{} MB", bytes / 1_000_000)
	}
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`; clock ticks are
/// 1/100 s, USER_HZ on every Linux architecture the trainer runs on).
fn process_cpu_seconds() -> Option<f64> {
	let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
	// Fields after the parenthesised command name; utime and stime are the 12th and 13th.
	let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
	let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
	Some(ticks / 100.0)
}

/// Deterministic incompressible-looking bytes (xorshift64*), fast enough for GB payloads.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
	let mut state = seed | 1;
	let mut out = Vec::with_capacity(len + 8);
	while out.len() < len {
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
	}
	out.truncate(len);
	out
}
