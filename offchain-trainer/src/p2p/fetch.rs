//! Fetching a payload from the peer that committed it, verified against the commitment before
//! anyone reads it: at most `size + 1` bytes are read (the extra byte detects an oversized
//! stream), every byte is hashed as it arrives, and only a payload of exactly the committed size
//! and hash is returned. Every way a peer can fail is a typed [`FetchError`], never a panic; a
//! failed fetch leaves the host as it was.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{AsyncRead, AsyncReadExt};
use libp2p::{Multiaddr, PeerId};
use libp2p_stream::{Control, OpenStreamError};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::time::timeout;

use super::address_book::AddressBook;
use super::commitment::{Commitment, Hex, PayloadHasher};
use super::limiter::Bandwidth;
use super::metrics::P2pMetrics;
use super::wire::{Request, Status, PROTOCOL};

/// Bytes read from the stream at a time (hashed while still in cache, then appended).
const CHUNK: usize = 256 * 1024;

/// Why a fetch failed. Everything but [`FetchError::InvalidCommitment`] and
/// [`FetchError::Shutdown`] means the peer did not serve its committed payload, which a validator
/// records against it (see [`FetchError::blames_peer`]).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
	/// The commitment's size is zero or above the configured maximum; nothing was requested.
	#[error("committed size {size} is outside 1..={max} bytes")]
	InvalidCommitment {
		/// Committed size.
		size: u64,
		/// `max_payload_bytes`.
		max: u64,
	},
	/// No connection or stream to the peer could be opened.
	#[error("cannot reach {peer}: {reason}")]
	Dial {
		/// The peer.
		peer: PeerId,
		/// What failed.
		reason: String,
	},
	/// The peer does not speak the payload protocol.
	#[error("{peer} does not serve {PROTOCOL}")]
	UnsupportedProtocol {
		/// The peer.
		peer: PeerId,
	},
	/// The peer has no payload under (window, hash).
	#[error("{peer} has no payload {hash} for window {window}")]
	NotFound {
		/// The peer.
		peer: PeerId,
		/// The window asked for.
		window: u64,
		/// Hex of the committed hash.
		hash: String,
	},
	/// The peer stayed at its limit of concurrent transfers through every retry.
	#[error("{peer} is too busy to serve")]
	Busy {
		/// The peer.
		peer: PeerId,
	},
	/// The peer sent more bytes than committed; reading stopped at the first extra byte.
	#[error("{peer} sent more than the committed {committed} bytes")]
	Oversized {
		/// The peer.
		peer: PeerId,
		/// Committed size.
		committed: u64,
	},
	/// The stream ended before the committed size (after every resumption attempt).
	#[error("{peer} ended the stream after {received} of {committed} bytes")]
	Truncated {
		/// The peer.
		peer: PeerId,
		/// Committed size.
		committed: u64,
		/// Bytes received.
		received: u64,
	},
	/// No bytes arrived for the stall timeout (after every retry).
	#[error("{peer} sent nothing for {after:?} ({received} of {committed} bytes received)")]
	Stalled {
		/// The peer.
		peer: PeerId,
		/// The stall timeout.
		after: Duration,
		/// Bytes received.
		received: u64,
		/// Committed size.
		committed: u64,
	},
	/// The bytes have the committed size but not the committed hash.
	#[error("{peer} sent {size} bytes hashing to {actual}, committed {expected}")]
	HashMismatch {
		/// The peer.
		peer: PeerId,
		/// Size of the payload.
		size: u64,
		/// Hex of the committed hash.
		expected: String,
		/// Hex of the hash of what was sent.
		actual: String,
	},
	/// The peer broke the protocol (unknown status, refused a well-formed request).
	#[error("{peer} broke the payload protocol: {reason}")]
	Protocol {
		/// The peer.
		peer: PeerId,
		/// What it did.
		reason: String,
	},
	/// The stream failed mid-transfer (after every resumption attempt).
	#[error("stream with {peer} failed: {source}")]
	Io {
		/// The peer.
		peer: PeerId,
		/// The error.
		source: std::io::Error,
	},
	/// The host is shutting down.
	#[error("the p2p host has shut down")]
	Shutdown,
}

impl FetchError {
	/// Whether another attempt may succeed: a stream that broke, stalled or found the peer busy,
	/// or a dial that failed. Bytes that contradict the commitment are final.
	pub fn is_retryable(&self) -> bool {
		matches!(
			self,
			Self::Dial { .. }
				| Self::Busy { .. }
				| Self::Truncated { .. }
				| Self::Stalled { .. }
				| Self::Io { .. }
		)
	}

	/// Whether the failure is the peer's (it did not serve its committed payload), as opposed to
	/// a bad commitment or this host shutting down.
	pub fn blames_peer(&self) -> bool {
		!matches!(self, Self::InvalidCommitment { .. } | Self::Shutdown)
	}

	/// A short name for metrics and logs.
	pub fn kind(&self) -> &'static str {
		match self {
			Self::InvalidCommitment { .. } => "invalid_commitment",
			Self::Dial { .. } => "dial",
			Self::UnsupportedProtocol { .. } => "unsupported_protocol",
			Self::NotFound { .. } => "not_found",
			Self::Busy { .. } => "busy",
			Self::Oversized { .. } => "oversized",
			Self::Truncated { .. } => "truncated",
			Self::Stalled { .. } => "stalled",
			Self::HashMismatch { .. } => "hash_mismatch",
			Self::Protocol { .. } => "protocol",
			Self::Io { .. } => "io",
			Self::Shutdown => "shutdown",
		}
	}
}

/// Limits of the fetcher (from [`super::P2pConfig`]).
#[derive(Clone, Debug)]
pub(crate) struct FetchSettings {
	pub max_payload_bytes: u64,
	pub open_timeout: Duration,
	pub stall_timeout: Duration,
	pub retries: u32,
	pub retry_backoff: Duration,
}

/// A request to the swarm task to connect to a peer (at the addresses in the address book); the
/// reply comes once a connection is up or the dial failed.
pub(crate) struct DialRequest {
	pub peer: PeerId,
	pub reply: oneshot::Sender<Result<(), String>>,
}

/// Fetches payloads over the host's swarm.
#[derive(Clone)]
pub(crate) struct Fetcher {
	pub control: Control,
	pub dials: mpsc::Sender<DialRequest>,
	pub addresses: AddressBook,
	pub bandwidth: Bandwidth,
	pub metrics: P2pMetrics,
	pub permits: Arc<Semaphore>,
	pub settings: FetchSettings,
}

/// Where received bytes go: a blocking-pool thread that hashes each chunk and appends it to the
/// payload, so hashing (the largest CPU cost of a transfer) overlaps with receiving instead of
/// adding to it. Lives for the whole fetch, so a retry resumes with the hash state intact.
struct Assembler {
	chunks: mpsc::Sender<Vec<u8>>,
	finished: tokio::task::JoinHandle<(Vec<u8>, Commitment)>,
	/// Bytes handed over so far.
	received: u64,
}

impl Assembler {
	fn new(capacity: usize) -> Self {
		// A few chunks in flight are enough to keep both sides busy.
		let (chunks, mut incoming) = mpsc::channel::<Vec<u8>>(8);
		let finished = tokio::task::spawn_blocking(move || {
			// The committed size is bounded above, so reserving it up front is safe and saves
			// the copies of a growing buffer; pages are only touched as bytes arrive.
			let mut bytes = Vec::with_capacity(capacity);
			let mut hasher = PayloadHasher::default();
			while let Some(chunk) = incoming.blocking_recv() {
				hasher.update(&chunk);
				bytes.extend_from_slice(&chunk);
			}
			(bytes, hasher.finish())
		});
		Self { chunks, finished, received: 0 }
	}

	async fn push(&mut self, chunk: Vec<u8>) -> Result<(), FetchError> {
		self.received += chunk.len() as u64;
		self.chunks.send(chunk).await.map_err(|_| FetchError::Shutdown)
	}

	/// The bytes received and their commitment.
	async fn finish(self) -> Result<(Vec<u8>, Commitment), FetchError> {
		drop(self.chunks);
		self.finished.await.map_err(|_| FetchError::Shutdown)
	}
}

impl Fetcher {
	/// Fetches the payload committed as `commitment` for `window` from `peer` (dialing `addrs` if
	/// not connected), retrying and resuming as configured, and returns it once verified.
	pub async fn fetch(
		&self,
		peer: PeerId,
		addrs: &[Multiaddr],
		window: u64,
		commitment: Commitment,
	) -> Result<Vec<u8>, FetchError> {
		let started = Instant::now();
		let result = self.fetch_verified(peer, addrs, window, commitment).await;
		match &result {
			Ok(_) => {
				self.metrics.fetch_seconds.observe(started.elapsed().as_secs_f64());
				self.metrics.fetches.with_label_values(&["ok"]).inc();
			}
			Err(e) => {
				tracing::warn!(%peer, window, error = %e, "payload fetch failed");
				self.metrics.fetches.with_label_values(&[e.kind()]).inc();
			}
		}
		result
	}

	async fn fetch_verified(
		&self,
		peer: PeerId,
		addrs: &[Multiaddr],
		window: u64,
		commitment: Commitment,
	) -> Result<Vec<u8>, FetchError> {
		let max = self.settings.max_payload_bytes;
		let invalid = FetchError::InvalidCommitment { size: commitment.size, max };
		if commitment.size == 0 || commitment.size > max {
			return Err(invalid);
		}
		let capacity = usize::try_from(commitment.size).map_err(|_| invalid)?;
		self.addresses.set(peer, addrs);
		let _permit = self.permits.acquire().await.map_err(|_| FetchError::Shutdown)?;

		let mut assembler = Assembler::new(capacity);
		let mut control = self.control.clone();
		let mut retries_left = self.settings.retries;
		let mut backoff = self.settings.retry_backoff;
		loop {
			match self.attempt(&mut control, peer, window, commitment, &mut assembler).await {
				Ok(()) => break,
				Err(e) if e.is_retryable() && retries_left > 0 => {
					tracing::debug!(%peer, window, error = %e, received = assembler.received, "retrying fetch");
					retries_left -= 1;
					tokio::time::sleep(backoff).await;
					backoff = backoff.saturating_mul(2);
				}
				Err(e) => return Err(e),
			}
		}
		let (bytes, received) = assembler.finish().await?;
		if received.hash != commitment.hash {
			return Err(FetchError::HashMismatch {
				peer,
				size: received.size,
				expected: Hex(&commitment.hash).to_string(),
				actual: Hex(&received.hash).to_string(),
			});
		}
		Ok(bytes)
	}

	/// One stream: request from the current offset, then read until EOF or one byte past the
	/// committed size.
	async fn attempt(
		&self,
		control: &mut Control,
		peer: PeerId,
		window: u64,
		commitment: Commitment,
		assembler: &mut Assembler,
	) -> Result<(), FetchError> {
		let settings = &self.settings;
		// Connect first, then open the stream on the live connection: the stream behaviour's own
		// on-demand dial is best effort (it drops a dial request when another one is queued).
		let connect = async {
			let (reply, response) = oneshot::channel();
			self.dials.send(DialRequest { peer, reply }).await.map_err(|_| FetchError::Shutdown)?;
			response
				.await
				.map_err(|_| FetchError::Shutdown)?
				.map_err(|reason| FetchError::Dial { peer, reason })
		};
		match timeout(settings.open_timeout, connect).await {
			Err(_) => return Err(FetchError::Dial { peer, reason: "timed out connecting".into() }),
			Ok(result) => result?,
		}
		let stream = match timeout(settings.open_timeout, control.open_stream(peer, PROTOCOL)).await
		{
			Err(_) => {
				return Err(FetchError::Dial { peer, reason: "timed out opening a stream".into() })
			}
			Ok(Err(OpenStreamError::UnsupportedProtocol(_))) => {
				return Err(FetchError::UnsupportedProtocol { peer })
			}
			Ok(Err(e)) => return Err(FetchError::Dial { peer, reason: e.to_string() }),
			Ok(Ok(stream)) => stream,
		};
		let mut stream = self.bandwidth.download(stream);
		let committed = commitment.size;
		let stalled = |received: u64| FetchError::Stalled {
			peer,
			after: settings.stall_timeout,
			received,
			committed,
		};

		let request = Request { window, hash: commitment.hash, offset: assembler.received };
		match timeout(settings.stall_timeout, request.write(&mut stream)).await {
			Err(_) => return Err(stalled(assembler.received)),
			Ok(Err(source)) => return Err(FetchError::Io { peer, source }),
			Ok(Ok(())) => {}
		}

		let mut status = [0u8; 1];
		if self
			.read_some(&mut stream, &mut status, peer)
			.await
			.map_err(|e| e.unwrap_or_else(|| stalled(assembler.received)))?
			== 0
		{
			return Err(FetchError::Truncated { peer, committed, received: assembler.received });
		}
		match Status::from_byte(status[0]) {
			Some(Status::Ok) => {}
			Some(Status::NotFound) => {
				return Err(FetchError::NotFound {
					peer,
					window,
					hash: Hex(&commitment.hash).to_string(),
				})
			}
			Some(Status::Busy) => return Err(FetchError::Busy { peer }),
			Some(Status::BadRequest) => {
				return Err(FetchError::Protocol {
					peer,
					reason: "refused a well-formed request".into(),
				})
			}
			None => {
				return Err(FetchError::Protocol {
					peer,
					reason: format!("unknown status {}", status[0]),
				})
			}
		}

		let result = self.receive(&mut stream, peer, committed, assembler).await;
		if let Err(e) = &result {
			tracing::debug!(%peer, window, error = %e, received = assembler.received, "transfer attempt ended");
		}
		result
	}

	/// Reads payload bytes into chunks for the assembler until EOF or one byte past the committed
	/// size. Whatever valid bytes arrived before a failure are handed over, so a retry resumes
	/// after them.
	async fn receive<S: AsyncRead + Unpin>(
		&self,
		stream: &mut S,
		peer: PeerId,
		committed: u64,
		assembler: &mut Assembler,
	) -> Result<(), FetchError> {
		let mut chunk = vec![0u8; CHUNK];
		let mut filled = 0;
		let result = loop {
			let received = assembler.received + filled as u64;
			let remaining = committed - received;
			// One byte more than is still due: reading it proves the stream is oversized.
			let want = (remaining + 1).min((CHUNK - filled) as u64) as usize;
			let n = match self.read_some(stream, &mut chunk[filled..filled + want], peer).await {
				Ok(n) => n,
				Err(e) => {
					break Err(e.unwrap_or(FetchError::Stalled {
						peer,
						after: self.settings.stall_timeout,
						received,
						committed,
					}))
				}
			};
			if n == 0 {
				break if remaining == 0 {
					Ok(())
				} else {
					Err(FetchError::Truncated { peer, committed, received })
				};
			}
			self.metrics.bytes_received.inc_by(n as u64);
			if n as u64 > remaining {
				// Final error: the bytes of this chunk no longer matter.
				return Err(FetchError::Oversized { peer, committed });
			}
			filled += n;
			if filled == CHUNK {
				assembler.push(std::mem::replace(&mut chunk, vec![0u8; CHUNK])).await?;
				filled = 0;
			}
		};
		if filled > 0 {
			chunk.truncate(filled);
			assembler.push(chunk).await?;
		}
		result
	}

	/// Reads once with the stall timeout; `Err(None)` is a stall (the caller knows the counts).
	async fn read_some<S: AsyncRead + Unpin>(
		&self,
		stream: &mut S,
		buf: &mut [u8],
		peer: PeerId,
	) -> Result<usize, Option<FetchError>> {
		match timeout(self.settings.stall_timeout, stream.read(buf)).await {
			Err(_) => Err(None),
			Ok(Err(source)) => Err(Some(FetchError::Io { peer, source })),
			Ok(Ok(n)) => Ok(n),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn misbehaviour_is_final_and_broken_transfers_are_retried() {
		let peer = PeerId::random();
		assert!(!FetchError::Oversized { peer, committed: 1 }.is_retryable());
		assert!(!FetchError::HashMismatch {
			peer,
			size: 1,
			expected: String::new(),
			actual: String::new()
		}
		.is_retryable());
		assert!(FetchError::Truncated { peer, committed: 2, received: 1 }.is_retryable());
		assert!(FetchError::Stalled { peer, after: Duration::ZERO, received: 0, committed: 1 }
			.is_retryable());
		assert!(!FetchError::InvalidCommitment { size: 0, max: 1 }.blames_peer());
		assert!(FetchError::Busy { peer }.blames_peer());
	}
}
