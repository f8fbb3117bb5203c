//! The trainer's connection to its node: reconnects when the node goes away (a restart keeps the
//! miners and validators running), and tells the loops which window the chain is in. Windows
//! follow the latest finalized block, polled: blocks, not wall clocks, drive every phase.

use std::time::Duration;

use gauntlet_chain::{ChainAt, GauntletClient};

use super::Window;

/// How often the head is polled while waiting for a window.
pub(super) const POLL: Duration = Duration::from_millis(250);
/// Pause between reconnection attempts.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// A node connection that is re-established on failure.
pub struct ChainView {
	url: String,
	client: Option<GauntletClient>,
}

impl ChainView {
	/// Connects to `url` (waiting and retrying while the node is not up yet, for `patience`).
	pub async fn connect(url: &str, patience: Duration) -> anyhow::Result<Self> {
		let deadline = tokio::time::Instant::now() + patience;
		loop {
			match GauntletClient::connect(url).await {
				Ok(client) => return Ok(Self { url: url.to_string(), client: Some(client) }),
				Err(e) if tokio::time::Instant::now() < deadline => {
					tracing::info!(url, error = %e, "node not reachable yet; retrying");
					tokio::time::sleep(RECONNECT_PAUSE).await;
				}
				Err(e) => return Err(e.into()),
			}
		}
	}

	/// The client, reconnecting first if the last call failed.
	pub async fn client(&mut self) -> GauntletClient {
		loop {
			if let Some(client) = &self.client {
				return client.clone();
			}
			match GauntletClient::connect(&self.url).await {
				Ok(client) => {
					tracing::info!(url = %self.url, "reconnected to the node");
					self.client = Some(client);
				}
				Err(e) => {
					tracing::warn!(url = %self.url, error = %e, "node unreachable; retrying");
					tokio::time::sleep(RECONNECT_PAUSE).await;
				}
			}
		}
	}

	/// Drops the connection after an error, so the next call reconnects.
	pub fn reset(&mut self) {
		self.client = None;
	}

	/// The chain at its latest finalized block, retrying (and reconnecting) until it answers.
	pub async fn latest(&mut self) -> ChainAt {
		loop {
			let client = self.client().await;
			match client.at_latest().await {
				Ok(at) => return at,
				Err(e) => {
					tracing::warn!(error = %e, "reading the chain head failed; reconnecting");
					self.reset();
					tokio::time::sleep(RECONNECT_PAUSE).await;
				}
			}
		}
	}

	/// Waits until the chain is in `window` or later and returns that view.
	pub async fn wait_for_window(&mut self, window: Window) -> ChainAt {
		loop {
			let at = self.latest().await;
			if at.head().window >= window {
				return at;
			}
			tokio::time::sleep(POLL).await;
		}
	}
}
