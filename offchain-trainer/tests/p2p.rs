//! Payload exchange between real libp2p swarms over loopback: honest peers exchange and verify
//! 100 MB payloads; misbehaving servers (a raw server on the same protocol, written here) each give
//! their typed error and leave the fetcher able to fetch from honest peers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{AsyncWriteExt, StreamExt};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId};
use offchain_trainer::p2p::bench::pseudo_random;
use offchain_trainer::p2p::wire::{write_status, Request, Status, PROTOCOL};
use offchain_trainer::p2p::{
	AnnounceError, Commitment, Endpoint, FetchError, P2pConfig, P2pHandle, P2pHost, StartError,
};

const MB: usize = 1_000_000;

/// A host with short timeouts so failure tests finish quickly.
async fn host(
	dir: &tempfile::TempDir,
	name: &str,
	tweak: impl FnOnce(&mut P2pConfig),
) -> P2pHandle {
	let mut config = P2pConfig::new(dir.path().join(format!("{name}.key")));
	config.stall_timeout = Duration::from_millis(500);
	config.open_timeout = Duration::from_secs(5);
	config.retries = 1;
	config.retry_backoff = Duration::from_millis(20);
	config.announcements = false;
	tweak(&mut config);
	let (handle, _task) = P2pHost::start(config).await.expect("host starts");
	handle
}

fn outcome(handle: &P2pHandle, kind: &str) -> u64 {
	handle.metrics().fetches.with_label_values(&[kind]).get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_exchange_100_mb_payloads_and_verify_every_byte() {
	let dir = tempfile::tempdir().unwrap();
	let mut peers = Vec::new();
	for i in 0..3u64 {
		let handle =
			host(&dir, &format!("peer{i}"), |c| c.stall_timeout = Duration::from_secs(30)).await;
		let payload = pseudo_random(100 * MB, 1000 + i);
		let commitment = handle.serve(5, payload.clone()).unwrap();
		assert_eq!(commitment.size, 100 * MB as u64);
		// What a peer reads back from the pallet's `Miners` entry: bytes only.
		let chain = handle.endpoint().to_chain().unwrap();
		let endpoint = Endpoint::from_chain(&chain.peer_id, &chain.multiaddrs).unwrap();
		assert_eq!(endpoint.addrs.len(), 2, "TCP and QUIC: {:?}", endpoint.addrs);
		peers.push((handle, payload, commitment, endpoint));
	}

	let mut fetches = Vec::new();
	for (i, (fetcher, ..)) in peers.iter().enumerate() {
		for (j, (_, _, commitment, endpoint)) in peers.iter().enumerate() {
			if i != j {
				let (fetcher, commitment, endpoint) =
					(fetcher.clone(), *commitment, endpoint.clone());
				fetches.push(tokio::spawn(async move {
					(i, j, fetcher.fetch(endpoint.peer_id, &endpoint.addrs, 5, commitment).await)
				}));
			}
		}
	}
	for fetch in fetches {
		let (i, j, result) = fetch.await.unwrap();
		let bytes = result.unwrap_or_else(|e| panic!("peer {i} fetching from peer {j}: {e}"));
		assert!(bytes == peers[j].1, "peer {i} got different bytes from peer {j}");
	}
	for (handle, ..) in &peers {
		assert_eq!(outcome(handle, "ok"), 2);
		assert!(handle.metrics().bytes_received.get() >= 200 * MB as u64);
		assert!(handle.metrics().bytes_sent.get() >= 200 * MB as u64);
	}
}

/// How the raw test server misbehaves after answering `Ok`.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
	/// Sends the payload with one byte flipped.
	Corrupt,
	/// Sends half of what is asked, then closes.
	Truncate,
	/// Sends the payload and 1 MB more.
	Oversize,
	/// Sends 1 MB, then nothing, keeping the stream open.
	Stall,
	/// Truncates the first stream only, then serves honestly (resumption).
	TruncateOnce,
}

/// A bare libp2p swarm speaking the payload protocol with `payload`, misbehaving as told.
/// Returns its peer id, its address and the offsets of the requests it received.
async fn raw_server(
	payload: Vec<u8>,
	mode: Misbehaviour,
) -> (PeerId, Vec<Multiaddr>, Arc<Mutex<Vec<u64>>>) {
	let (peer, addrs, offsets, _) = counting_raw_server(payload, mode).await;
	(peer, addrs, offsets)
}

/// [`raw_server`], also counting the connections fetchers open to it.
async fn counting_raw_server(
	payload: Vec<u8>,
	mode: Misbehaviour,
) -> (PeerId, Vec<Multiaddr>, Arc<Mutex<Vec<u64>>>, Arc<AtomicUsize>) {
	let mut swarm = libp2p::SwarmBuilder::with_new_identity()
		.with_tokio()
		.with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
		.unwrap()
		.with_behaviour(|_| libp2p_stream::Behaviour::new())
		.unwrap()
		.with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
		.build();
	swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap()).unwrap();
	let addr = loop {
		if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
			break address;
		}
	};
	let peer = *swarm.local_peer_id();
	let mut incoming = swarm.behaviour().new_control().accept(PROTOCOL).unwrap();
	let connections = Arc::new(AtomicUsize::new(0));
	let counted = connections.clone();
	tokio::spawn(async move {
		loop {
			if let SwarmEvent::ConnectionEstablished { .. } = swarm.select_next_some().await {
				counted.fetch_add(1, Ordering::SeqCst);
			}
		}
	});
	let offsets = Arc::new(Mutex::new(Vec::new()));
	let streams = Arc::new(AtomicUsize::new(0));
	let payload = Arc::new(payload);
	let seen = offsets.clone();
	tokio::spawn(async move {
		while let Some((_, mut stream)) = incoming.next().await {
			let (payload, seen, nth) =
				(payload.clone(), seen.clone(), streams.fetch_add(1, Ordering::SeqCst));
			tokio::spawn(async move {
				let request = Request::read(&mut stream).await.unwrap();
				seen.lock().unwrap().push(request.offset);
				write_status(&mut stream, Status::Ok).await.unwrap();
				let rest = &payload[request.offset as usize..request.end as usize];
				let _ = match mode {
					Misbehaviour::Corrupt => {
						let mut bad = rest.to_vec();
						let middle = bad.len() / 2;
						bad[middle] ^= 0x55;
						stream.write_all(&bad).await
					}
					Misbehaviour::Truncate => stream.write_all(&rest[..rest.len() / 2]).await,
					Misbehaviour::TruncateOnce if nth == 0 => {
						stream.write_all(&rest[..rest.len() / 2]).await
					}
					Misbehaviour::TruncateOnce => stream.write_all(rest).await,
					Misbehaviour::Oversize => {
						stream.write_all(rest).await.unwrap();
						stream.write_all(&vec![0u8; MB]).await
					}
					Misbehaviour::Stall => {
						stream.write_all(&rest[..MB]).await.unwrap();
						tokio::time::sleep(Duration::from_secs(3600)).await;
						Ok(())
					}
				};
				let _ = stream.close().await;
			});
		}
	});
	(peer, vec![addr], offsets, connections)
}

/// The fetcher still fetches and verifies a payload from an honest host.
async fn assert_healthy(
	fetcher: &P2pHandle,
	honest: &P2pHandle,
	window: u64,
	commitment: Commitment,
	payload: &[u8],
) {
	let bytes = fetcher
		.fetch(honest.local_peer_id(), &honest.listen_addrs(), window, commitment)
		.await
		.expect("fetch from the honest host after a failure");
	assert!(bytes == payload);
}

/// A fetcher, an honest host serving a 4 MB payload for window 1, and a raw misbehaving server
/// holding the same payload; returns the fetch error from the raw server.
async fn fetch_from_misbehaving(mode: Misbehaviour) -> (FetchError, Vec<u64>) {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |_| {}).await;
	let honest = host(&dir, "honest", |_| {}).await;
	let payload = pseudo_random(4 * MB, 7);
	let commitment = honest.serve(1, payload.clone()).unwrap();
	let (peer, addrs, offsets) = raw_server(payload.clone(), mode).await;

	let err = fetcher.fetch(peer, &addrs, 1, commitment).await.expect_err("misbehaving server");
	assert!(err.blames_peer());
	assert_eq!(outcome(&fetcher, err.kind()), 1);
	assert_healthy(&fetcher, &honest, 1, commitment, &payload).await;
	assert_eq!(outcome(&fetcher, "ok"), 1);
	let offsets = offsets.lock().unwrap().clone();
	(err, offsets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_bytes_are_a_hash_mismatch() {
	let (err, offsets) = fetch_from_misbehaving(Misbehaviour::Corrupt).await;
	assert!(matches!(err, FetchError::HashMismatch { size, .. } if size == 4 * MB as u64), "{err}");
	assert_eq!(offsets, vec![0], "a hash mismatch is final, not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_stream_is_resumed_then_reported_as_truncated() {
	let (err, offsets) = fetch_from_misbehaving(Misbehaviour::Truncate).await;
	let size = 4 * MB as u64;
	// Two attempts (retries = 1): half, then half of the rest.
	assert!(
		matches!(err, FetchError::Truncated { committed, received, .. } if committed == size && received == size / 4 * 3),
		"{err}"
	);
	assert_eq!(offsets, vec![0, size / 2], "the retry resumes at the first missing byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_transfer_resumes_and_completes() {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |_| {}).await;
	let payload = pseudo_random(4 * MB, 9);
	let commitment = Commitment::of(&payload);
	let (peer, addrs, offsets) = raw_server(payload.clone(), Misbehaviour::TruncateOnce).await;
	let bytes = fetcher.fetch(peer, &addrs, 1, commitment).await.unwrap();
	assert!(bytes == payload);
	assert_eq!(*offsets.lock().unwrap(), vec![0, 2 * MB as u64]);
	// Each byte crossed the wire once.
	assert_eq!(fetcher.metrics().bytes_received.get(), 4 * MB as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_in_pieces_comes_over_several_connections_and_a_broken_piece_resumes() {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |c| {
		c.piece_bytes = MB as u64;
		c.transfer_lanes = 4;
	})
	.await;
	let payload = pseudo_random(4 * MB + 123, 11);
	let commitment = Commitment::of(&payload);
	let (peer, addrs, offsets, connections) =
		counting_raw_server(payload.clone(), Misbehaviour::TruncateOnce).await;
	let bytes = fetcher.fetch(peer, &addrs, 1, commitment).await.unwrap();
	assert!(bytes == payload);
	// Four pieces, one a lane, one request each, and one more for the rest of the piece whose
	// first stream broke half-way.
	let mut offsets = offsets.lock().unwrap().clone();
	offsets.sort_unstable();
	assert_eq!(offsets.len(), 5, "{offsets:?}");
	let piece = payload.len().div_ceil(4) as u64;
	for i in 0..4 {
		assert!(offsets.contains(&(i * piece)), "piece {i} never requested: {offsets:?}");
	}
	assert_eq!(fetcher.metrics().bytes_received.get(), payload.len() as u64);
	// The lanes asked for a connection each.
	let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
	while connections.load(Ordering::SeqCst) < 4 && tokio::time::Instant::now() < deadline {
		tokio::time::sleep(Duration::from_millis(10)).await;
	}
	assert_eq!(connections.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_stream_is_refused_at_the_first_extra_byte() {
	let (err, offsets) = fetch_from_misbehaving(Misbehaviour::Oversize).await;
	assert!(
		matches!(err, FetchError::Oversized { committed, .. } if committed == 4 * MB as u64),
		"{err}"
	);
	assert_eq!(offsets, vec![0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalling_peer_times_out_as_stalled() {
	let (err, offsets) = fetch_from_misbehaving(Misbehaviour::Stall).await;
	// First attempt gets 1 MB then stalls; the resumed attempt gets 1 MB more and stalls again.
	assert!(
		matches!(err, FetchError::Stalled { received, committed, .. } if received == 2 * MB as u64 && committed == 4 * MB as u64),
		"{err}"
	);
	assert_eq!(offsets, vec![0, MB as u64]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_window_or_hash_is_not_found_and_bad_commitments_are_refused_locally() {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |c| c.max_payload_bytes = 8 * MB as u64).await;
	let honest = host(&dir, "honest", |_| {}).await;
	let payload = pseudo_random(MB, 3);
	let commitment = honest.serve(1, payload.clone()).unwrap();
	let (peer, addrs) = (honest.local_peer_id(), honest.listen_addrs());

	let err = fetcher.fetch(peer, &addrs, 2, commitment).await.unwrap_err();
	assert!(matches!(err, FetchError::NotFound { window: 2, .. }), "{err}");
	let other = Commitment { hash: [9; 32], size: commitment.size };
	let err = fetcher.fetch(peer, &addrs, 1, other).await.unwrap_err();
	assert!(matches!(err, FetchError::NotFound { window: 1, .. }), "{err}");
	assert_eq!(outcome(&fetcher, "not_found"), 2);

	for size in [0, 8 * MB as u64 + 1] {
		let err =
			fetcher.fetch(peer, &addrs, 1, Commitment { size, ..commitment }).await.unwrap_err();
		assert!(matches!(err, FetchError::InvalidCommitment { .. }), "{err}");
		assert!(!err.blames_peer());
	}
	assert_healthy(&fetcher, &honest, 1, commitment, &payload).await;
	assert_eq!(honest.metrics().serves.with_label_values(&["not_found"]).get(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_address_is_a_dial_error() {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |_| {}).await;
	// A port nobody listens on (bound, then released).
	let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
	let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
	let err = fetcher.fetch(PeerId::random(), &[addr], 1, Commitment::of(b"x")).await.unwrap_err();
	assert!(matches!(err, FetchError::Dial { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_serves_only_the_last_windows() {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = host(&dir, "fetcher", |_| {}).await;
	let miner = host(&dir, "miner", |c| c.store_windows = 2).await;
	let commitments: Vec<Commitment> =
		(1..=3u64).map(|w| miner.serve(w, pseudo_random(1000, w)).unwrap()).collect();
	assert_eq!(miner.served_windows(), vec![2, 3]);
	let (peer, addrs) = (miner.local_peer_id(), miner.listen_addrs());
	let err = fetcher.fetch(peer, &addrs, 1, commitments[0]).await.unwrap_err();
	assert!(matches!(err, FetchError::NotFound { .. }), "{err}");
	assert_eq!(
		fetcher.fetch(peer, &addrs, 3, commitments[2]).await.unwrap(),
		pseudo_random(1000, 3)
	);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_at_its_limit_answers_busy() {
	let dir = tempfile::tempdir().unwrap();
	// 8 Mb/s upload: the first 2 MB transfer holds the single serve slot for about 2 s.
	let miner = host(&dir, "miner", |c| {
		c.max_concurrent_serves = 1;
		c.max_upload_mbps = Some(8.0);
		c.stall_timeout = Duration::from_secs(10);
	})
	.await;
	let first = host(&dir, "first", |c| c.stall_timeout = Duration::from_secs(10)).await;
	let second = host(&dir, "second", |c| c.retries = 0).await;
	let payload = pseudo_random(2 * MB, 11);
	let commitment = miner.serve(1, payload.clone()).unwrap();
	let (peer, addrs) = (miner.local_peer_id(), miner.listen_addrs());
	let slow = {
		let (first, addrs) = (first.clone(), addrs.clone());
		tokio::spawn(async move { first.fetch(peer, &addrs, 1, commitment).await })
	};
	tokio::time::sleep(Duration::from_millis(500)).await;
	let err = second.fetch(peer, &addrs, 1, commitment).await.unwrap_err();
	assert!(matches!(err, FetchError::Busy { .. }), "{err}");
	assert!(slow.await.unwrap().unwrap() == payload);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lanes_refused_as_busy_leave_their_pieces_to_the_others() {
	let dir = tempfile::tempdir().unwrap();
	// Two serve slots, held by the first two lanes for seconds (1 MB pieces through an 8 Mb/s
	// upload cap the streams share): the other two lanes, opened after them, are answered Busy.
	let miner = host(&dir, "miner", |c| {
		c.max_concurrent_serves = 2;
		c.max_upload_mbps = Some(8.0);
		c.stall_timeout = Duration::from_secs(10);
	})
	.await;
	let fetcher = host(&dir, "fetcher", |c| {
		c.piece_bytes = MB as u64;
		c.transfer_lanes = 4;
		c.retries = 0;
		c.stall_timeout = Duration::from_secs(10);
	})
	.await;
	let payload = pseudo_random(4 * MB, 13);
	let commitment = miner.serve(1, payload.clone()).unwrap();
	let (peer, addrs) = (miner.local_peer_id(), miner.listen_addrs());
	// No retries: a lane refused as Busy cannot have been retried, its piece went to a lane
	// still fetching.
	let bytes = fetcher.fetch(peer, &addrs, 1, commitment).await.unwrap();
	assert!(bytes == payload);
	assert!(miner.metrics().serves.with_label_values(&["busy"]).get() >= 1);
	assert_eq!(miner.metrics().serves.with_label_values(&["ok"]).get(), 4);
	assert_eq!(fetcher.metrics().bytes_received.get(), payload.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_reach_connected_peers() {
	let dir = tempfile::tempdir().unwrap();
	let miner = host(&dir, "miner", |c| c.announcements = true).await;
	let bootnode: Multiaddr =
		format!("{}/p2p/{}", miner.listen_addrs()[0], miner.local_peer_id()).parse().unwrap();
	let validator = host(&dir, "validator", |c| {
		c.announcements = true;
		c.bootnodes = vec![bootnode];
	})
	.await;
	let mut received = validator.announcements();
	let commitment = miner.serve(4, vec![1u8; 100]).unwrap();
	// Gossipsub learns the validator's subscription a moment after the connection opens.
	let mut tries = 0;
	loop {
		match miner.announce(4, commitment).await {
			Ok(()) => break,
			Err(AnnounceError::NoPeers) if tries < 100 => {
				tries += 1;
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
			Err(e) => panic!("announce: {e}"),
		}
	}
	let got =
		tokio::time::timeout(Duration::from_secs(10), received.recv()).await.unwrap().unwrap();
	assert_eq!(got.from, miner.local_peer_id());
	assert_eq!((got.announcement.window, got.announcement.commitment), (4, commitment));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_survives_restarts_and_loose_key_files_stop_the_host() {
	use std::os::unix::fs::PermissionsExt;
	let dir = tempfile::tempdir().unwrap();
	let first = host(&dir, "miner", |_| {}).await.local_peer_id();
	let second = host(&dir, "miner", |_| {}).await.local_peer_id();
	assert_eq!(first, second);
	let key = dir.path().join("miner.key");
	std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
	let err = P2pHost::start(P2pConfig::new(key)).await.err().expect("loose key refused");
	assert!(matches!(err, StartError::Identity(_)), "{err}");
}
