//! "The payload for window W is ready" announcements over gossipsub: one small fixed-size message
//! per payload, so peers can fetch as soon as a miner serves instead of polling. They are hints
//! only: a fetch still checks the commitment read from chain.

use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::PeerId;

use super::commitment::Commitment;

/// The gossipsub topic.
pub const TOPIC: &str = "/gauntlet/payload-ready/1";
/// Encoded announcement length: window u64 LE | hash [u8; 32] | size u64 LE.
pub const ANNOUNCEMENT_LEN: usize = 8 + 32 + 8;
/// Largest gossipsub message accepted: the announcement plus protobuf framing, signature and key.
const MAX_TRANSMIT_SIZE: usize = 1024;

/// A payload a peer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announcement {
	/// The window of the payload.
	pub window: u64,
	/// What the peer commits (or committed) on chain.
	pub commitment: Commitment,
}

/// An announcement and the peer that signed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedAnnouncement {
	/// The announcing peer (the gossipsub message author, checked by its signature).
	pub from: PeerId,
	/// What it announced.
	pub announcement: Announcement,
}

/// Why an announcement was not published.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
	/// The host was started with announcements off.
	#[error("announcements are disabled")]
	Disabled,
	/// No connected peer subscribes to the topic yet.
	#[error("no peer to announce to")]
	NoPeers,
	/// Gossipsub refused the message.
	#[error("publishing failed: {0}")]
	Publish(String),
	/// The host is shutting down.
	#[error("the p2p host has shut down")]
	Shutdown,
}

impl Announcement {
	/// The message bytes.
	pub fn encode(&self) -> [u8; ANNOUNCEMENT_LEN] {
		let mut out = [0u8; ANNOUNCEMENT_LEN];
		out[..8].copy_from_slice(&self.window.to_le_bytes());
		out[8..40].copy_from_slice(&self.commitment.hash);
		out[40..].copy_from_slice(&self.commitment.size.to_le_bytes());
		out
	}

	/// Decodes a message; `None` unless it is exactly one announcement.
	pub fn decode(bytes: &[u8]) -> Option<Self> {
		let bytes: &[u8; ANNOUNCEMENT_LEN] = bytes.try_into().ok()?;
		let window = u64::from_le_bytes(bytes[..8].try_into().ok()?);
		let hash = bytes[8..40].try_into().ok()?;
		let size = u64::from_le_bytes(bytes[40..].try_into().ok()?);
		Some(Self { window, commitment: Commitment { hash, size } })
	}
}

/// The topic every host joins.
pub fn topic() -> IdentTopic {
	IdentTopic::new(TOPIC)
}

/// A gossipsub behaviour for announcements: signed messages only, small messages only.
pub fn behaviour(keypair: &Keypair) -> Result<gossipsub::Behaviour, String> {
	let config = gossipsub::ConfigBuilder::default()
		.validation_mode(ValidationMode::Strict)
		.max_transmit_size(MAX_TRANSMIT_SIZE)
		.heartbeat_interval(std::time::Duration::from_secs(1))
		.build()
		.map_err(|e| e.to_string())?;
	let mut behaviour =
		gossipsub::Behaviour::new(MessageAuthenticity::Signed(keypair.clone()), config)?;
	behaviour.subscribe(&topic()).map_err(|e| e.to_string())?;
	Ok(behaviour)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn announcements_round_trip_and_other_lengths_are_refused() {
		let a = Announcement { window: 9, commitment: Commitment::of(b"payload") };
		assert_eq!(Announcement::decode(&a.encode()), Some(a));
		assert_eq!(Announcement::decode(&a.encode()[1..]), None);
		assert_eq!(Announcement::decode(&[0u8; ANNOUNCEMENT_LEN + 1]), None);
	}
}
