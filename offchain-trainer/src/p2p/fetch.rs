//! Fetching a payload from the peer that committed it, verified against the commitment before
//! anyone reads it. The payload comes in byte ranges (pieces), several at once on streams of
//! their own over several connections, so one transfer is not bound to one connection's task.
//! A stream is read for at most one byte past its piece (that byte detects an oversized stream
//! and ends the fetch), the whole is hashed on all cores once in, and only a payload of exactly
//! the committed size and hash is returned. Every way a peer can fail is a typed
//! [`FetchError`], never a panic; a failed fetch leaves the host as it was.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// Pause before asking again for a piece whose stream broke before its first byte.
const DROPPED_STREAM_RETRY: Duration = Duration::from_millis(10);

/// Most bytes read from a stream at a time.
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
	pub piece_bytes: u64,
	pub lanes: usize,
}

/// A request to the swarm task to connect to a peer (at the addresses in the address book); the
/// reply comes once a connection is up or the dial failed. `connections` above one asks for that
/// many connections in all: the reply still comes with the first, the others are dialed behind it.
pub(crate) struct DialRequest {
	pub peer: PeerId,
	pub connections: usize,
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

/// One byte range of a payload, fetched on one stream straight into its part of the payload's
/// buffer, with what has arrived so far (a retry asks for the rest only).
struct Piece<'a> {
	start: u64,
	buf: &'a mut [u8],
	filled: usize,
}

impl Piece<'_> {
	fn end(&self) -> u64 {
		self.start + self.buf.len() as u64
	}

	fn remaining(&self) -> usize {
		self.buf.len() - self.filled
	}
}

/// The pieces still to fetch and the lanes still fetching, under one lock so that a lane
/// handing its piece back and a lane finding nothing left cannot miss each other.
struct Queue<'a> {
	pieces: VecDeque<Piece<'a>>,
	lanes: usize,
}

fn lock<'q, 'a>(queue: &'q Mutex<Queue<'a>>) -> std::sync::MutexGuard<'q, Queue<'a>> {
	queue.lock().unwrap_or_else(|e| e.into_inner())
}

/// What every lane of one fetch shares.
struct Transfer<'q, 'a> {
	peer: PeerId,
	window: u64,
	commitment: Commitment,
	/// Connections to ask for: one per lane.
	connections: usize,
	queue: &'q Mutex<Queue<'a>>,
	/// Payload bytes received so far, all pieces together (for error reports).
	received: &'q AtomicU64,
	/// Held by a lane from opening its stream until the server's status byte: the lanes' streams
	/// reach the server one at a time. The stream behaviour queues one inbound stream per
	/// protocol and drops any that arrives while that slot is taken, so streams opened all at
	/// once were dropped (on loopback, a lane in a few transfers).
	opening: &'q tokio::sync::Mutex<()>,
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

	/// The payload in one piece per lane (none under `piece_bytes`), each on a stream of its own
	/// spread over as many connections, read straight into the payload's buffer; the hash
	/// (over all cores) is checked once every piece is in. One long stream per lane rather than
	/// many short ones: a new yamux stream starts with a small flow-control window.
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
		let size = usize::try_from(commitment.size).map_err(|_| invalid)?;
		self.addresses.set(peer, addrs);
		let _permit = self.permits.acquire().await.map_err(|_| FetchError::Shutdown)?;

		// Zeroed, so untouched pages cost nothing until a piece's bytes land in them.
		let mut bytes = vec![0u8; size];
		let lanes = self.settings.lanes.max(1);
		let piece_len = size.div_ceil(lanes).max(self.settings.piece_bytes.max(1) as usize);
		let pieces: VecDeque<Piece> = bytes
			.chunks_mut(piece_len)
			.enumerate()
			.map(|(i, buf)| Piece { start: (i * piece_len) as u64, buf, filled: 0 })
			.collect();
		let lanes = pieces.len();
		let queue = Mutex::new(Queue { pieces, lanes });
		let received = AtomicU64::new(0);
		let opening = tokio::sync::Mutex::new(());
		let transfer = Transfer {
			peer,
			window,
			commitment,
			connections: lanes,
			queue: &queue,
			received: &received,
			opening: &opening,
		};
		// The first final error ends the fetch; the other lanes are dropped with it.
		futures::future::try_join_all((0..lanes).map(|_| self.lane(&transfer))).await?;
		drop(queue);

		let (bytes, got) = tokio::task::spawn_blocking(move || {
			let mut hasher = PayloadHasher::default();
			hasher.update_parallel(&bytes);
			(bytes, hasher.finish())
		})
		.await
		.map_err(|_| FetchError::Shutdown)?;
		if got.hash != commitment.hash {
			return Err(FetchError::HashMismatch {
				peer,
				size: got.size,
				expected: Hex(&commitment.hash).to_string(),
				actual: Hex(&got.hash).to_string(),
			});
		}
		Ok(bytes)
	}

	/// One lane: takes pieces until none are left, fetching each with retries and resumption.
	/// A lane the server answers `Busy` hands its piece back and stops while another lane is
	/// still fetching, so a transfer in lanes asks no more of a busy server than one stream.
	async fn lane(&self, transfer: &Transfer<'_, '_>) -> Result<(), FetchError> {
		let mut control = self.control.clone();
		loop {
			let next = {
				let mut queue = lock(transfer.queue);
				let next = queue.pieces.pop_front();
				if next.is_none() {
					queue.lanes -= 1;
				}
				next
			};
			let Some(mut piece) = next else { return Ok(()) };
			let mut retries_left = self.settings.retries;
			let mut backoff = self.settings.retry_backoff;
			loop {
				let error = match self.attempt(&mut control, transfer, &mut piece).await {
					Ok(()) => break,
					Err(e) => e,
				};
				if matches!(error, FetchError::Busy { .. }) {
					let mut queue = lock(transfer.queue);
					if queue.lanes > 1 {
						queue.lanes -= 1;
						queue.pieces.push_front(piece);
						return Ok(());
					}
				}
				if !error.is_retryable() || retries_left == 0 {
					return Err(error);
				}
				tracing::debug!(peer = %transfer.peer, window = transfer.window, %error, start = piece.start, "retrying piece");
				retries_left -= 1;
				// A stream that broke before its first byte is most likely one the server's
				// stream behaviour dropped on arrival (another fetcher's stream held its one
				// queue slot): asking again at once costs the server nothing.
				if piece.filled == 0 && matches!(error, FetchError::Io { .. }) {
					tokio::time::sleep(DROPPED_STREAM_RETRY).await;
					continue;
				}
				tokio::time::sleep(backoff).await;
				backoff = backoff.saturating_mul(2);
			}
		}
	}

	/// One stream: request the rest of `piece`, then read until EOF or one byte past it.
	async fn attempt(
		&self,
		control: &mut Control,
		transfer: &Transfer<'_, '_>,
		piece: &mut Piece<'_>,
	) -> Result<(), FetchError> {
		let Transfer { peer, window, commitment, received, .. } = *transfer;
		let settings = &self.settings;
		// Connect first, then open the stream on the live connection: the stream behaviour's own
		// on-demand dial is best effort (it drops a dial request when another one is queued).
		let connect = async {
			let (reply, response) = oneshot::channel();
			let request = DialRequest { peer, connections: transfer.connections, reply };
			self.dials.send(request).await.map_err(|_| FetchError::Shutdown)?;
			response
				.await
				.map_err(|_| FetchError::Shutdown)?
				.map_err(|reason| FetchError::Dial { peer, reason })
		};
		match timeout(settings.open_timeout, connect).await {
			Err(_) => return Err(FetchError::Dial { peer, reason: "timed out connecting".into() }),
			Ok(result) => result?,
		}
		let opening = transfer.opening.lock().await;
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
		let stalled = || FetchError::Stalled {
			peer,
			after: settings.stall_timeout,
			received: received.load(Ordering::Relaxed),
			committed,
		};

		let offset = piece.start + piece.filled as u64;
		let request = Request { window, hash: commitment.hash, offset, end: piece.end() };
		match timeout(settings.stall_timeout, request.write(&mut stream)).await {
			Err(_) => return Err(stalled()),
			Ok(Err(source)) => return Err(FetchError::Io { peer, source }),
			Ok(Ok(())) => {}
		}

		let mut status = [0u8; 1];
		if self
			.read_some(&mut stream, &mut status, peer)
			.await
			.map_err(|e| e.unwrap_or_else(stalled))?
			== 0
		{
			let received = received.load(Ordering::Relaxed);
			return Err(FetchError::Truncated { peer, committed, received });
		}
		drop(opening);
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

		let result = self.receive(&mut stream, transfer, piece).await;
		if let Err(e) = &result {
			tracing::debug!(%peer, window, error = %e, start = piece.start, filled = piece.filled, "transfer attempt ended");
		}
		result
	}

	/// Reads the rest of `piece` straight into its buffer, then one more read that must be EOF
	/// (a byte past the piece proves the stream oversized). Whatever arrived before a failure
	/// stays in the piece, so a retry resumes after it.
	async fn receive<S: AsyncRead + Unpin>(
		&self,
		stream: &mut S,
		transfer: &Transfer<'_, '_>,
		piece: &mut Piece<'_>,
	) -> Result<(), FetchError> {
		let (peer, committed) = (transfer.peer, transfer.commitment.size);
		let stalled = || FetchError::Stalled {
			peer,
			after: self.settings.stall_timeout,
			received: transfer.received.load(Ordering::Relaxed),
			committed,
		};
		let mut extra = [0u8; 1];
		loop {
			let remaining = piece.remaining();
			let buf = if remaining == 0 {
				&mut extra[..]
			} else {
				let from = piece.filled;
				&mut piece.buf[from..from + remaining.min(CHUNK)]
			};
			let n =
				self.read_some(stream, buf, peer).await.map_err(|e| e.unwrap_or_else(stalled))?;
			if n == 0 {
				return if remaining == 0 {
					Ok(())
				} else {
					let received = transfer.received.load(Ordering::Relaxed);
					Err(FetchError::Truncated { peer, committed, received })
				};
			}
			self.metrics.bytes_received.inc_by(n as u64);
			if remaining == 0 {
				return Err(FetchError::Oversized { peer, committed });
			}
			piece.filled += n;
			transfer.received.fetch_add(n as u64, Ordering::Relaxed);
		}
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
