//! Serving payloads: every inbound stream on the payload protocol gets one request answered from
//! the store, within the host's concurrency limit and upload cap.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, Stream};
use libp2p_stream::IncomingStreams;
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::limiter::Bandwidth;
use super::metrics::P2pMetrics;
use super::store::PayloadStore;
use super::wire::{write_status, Request, Status};

/// Bytes written per call: small enough that one write finishes well within the stall timeout
/// even under a low upload cap.
const CHUNK: usize = 256 * 1024;

/// What the server side needs.
#[derive(Clone)]
pub(crate) struct Server {
	pub store: Arc<Mutex<PayloadStore>>,
	pub bandwidth: Bandwidth,
	pub metrics: P2pMetrics,
	pub permits: Arc<Semaphore>,
	pub stall_timeout: Duration,
}

impl Server {
	/// Answers inbound streams until the swarm shuts down.
	pub async fn run(self, mut incoming: IncomingStreams) {
		while let Some((peer, stream)) = incoming.next().await {
			let server = self.clone();
			match self.permits.clone().try_acquire_owned() {
				Ok(permit) => {
					tokio::spawn(async move {
						let _permit = permit;
						let outcome = server.serve(peer, stream).await;
						server.metrics.serves.with_label_values(&[outcome]).inc();
					});
				}
				Err(_) => {
					tokio::spawn(async move {
						let mut stream = stream;
						// Take the (small, bounded) request first: refusing before the fetcher
						// has finished writing it makes QUIC stop its send side, and the fetcher
						// would see a broken stream instead of `Busy`.
						let refusal = async {
							if Request::read(&mut stream).await.is_ok() {
								let _ = refuse(&mut stream, Status::Busy).await;
							}
						};
						let _ = timeout(server.stall_timeout, refusal).await;
						server.metrics.serves.with_label_values(&["busy"]).inc();
					});
				}
			}
		}
	}

	/// Serves one stream; returns the outcome label.
	async fn serve(&self, peer: PeerId, stream: Stream) -> &'static str {
		let mut stream = self.bandwidth.upload(stream);
		let request = match timeout(self.stall_timeout, Request::read(&mut stream)).await {
			Ok(Ok(request)) => request,
			Ok(Err(e)) => {
				tracing::debug!(%peer, error = %e, "bad payload request");
				let _ = timeout(self.stall_timeout, refuse(&mut stream, Status::BadRequest)).await;
				return "bad_request";
			}
			Err(_) => return "bad_request",
		};
		let payload =
			self.store.lock().unwrap_or_else(|e| e.into_inner()).get(request.window, &request.hash);
		let Some(payload) = payload else {
			let _ = timeout(self.stall_timeout, refuse(&mut stream, Status::NotFound)).await;
			return "not_found";
		};
		let range = usize::try_from(request.offset).ok().zip(usize::try_from(request.end).ok());
		let Some(wanted) = range.and_then(|(offset, end)| payload.get(offset..end)) else {
			let _ = timeout(self.stall_timeout, refuse(&mut stream, Status::BadRequest)).await;
			return "bad_request";
		};
		let started = Instant::now();
		match self.send(&mut stream, wanted).await {
			Ok(()) => {
				self.metrics.serve_seconds.observe(started.elapsed().as_secs_f64());
				tracing::debug!(%peer, window = request.window, bytes = wanted.len(), "served payload");
				"ok"
			}
			Err(e) => {
				tracing::debug!(%peer, window = request.window, error = %e, "serving payload failed");
				"error"
			}
		}
	}

	async fn send<S: AsyncWrite + Unpin>(
		&self,
		stream: &mut S,
		bytes: &[u8],
	) -> std::io::Result<()> {
		let stalled =
			|| std::io::Error::new(std::io::ErrorKind::TimedOut, "fetcher stopped reading");
		timeout(self.stall_timeout, write_status(stream, Status::Ok))
			.await
			.map_err(|_| stalled())??;
		for chunk in bytes.chunks(CHUNK) {
			timeout(self.stall_timeout, stream.write_all(chunk)).await.map_err(|_| stalled())??;
			self.metrics.bytes_sent.inc_by(chunk.len() as u64);
		}
		timeout(self.stall_timeout, stream.close()).await.map_err(|_| stalled())?
	}
}

async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, status: Status) -> std::io::Result<()> {
	write_status(stream, status).await?;
	stream.close().await
}
