//! The payload protocol on one libp2p stream, `/gauntlet/payload/3`:
//!
//! ```text
//! fetcher → server   request: version u8 = 3 | window u64 LE | hash [u8; 32] | offset u64 LE | end u64 LE
//! server  → fetcher  status u8, then for `Ok` the payload bytes `offset..end`, then EOF
//! ```
//!
//! The response carries no length: the fetcher knows the size from the chain commitment and reads
//! at most `end - offset + 1` bytes, so a server can neither make it read more than asked nor lie
//! about the size. A byte range per stream lets one transfer run as several pieces side by side
//! (on several connections: `fetch`), and lets a broken piece resume where it stopped.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The stream protocol name. `/3`: a request names a byte range (`/2` asked for everything from an
/// offset on; `/1` had Blake2b-256 hashes), so a peer of an older protocol fails at negotiation
/// instead of misreading requests.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/gauntlet/payload/3");
/// Encoded request length.
pub const REQUEST_LEN: usize = 1 + 8 + 32 + 8 + 8;
const VERSION: u8 = 3;

/// A request for bytes `offset..end` of the payload of (window, hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
	/// The window the payload was committed in.
	pub window: u64,
	/// The committed BLAKE3 hash.
	pub hash: [u8; 32],
	/// First byte wanted.
	pub offset: u64,
	/// One past the last byte wanted (at most the payload's size).
	pub end: u64,
}

/// The server's answer, one byte before the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
	/// The payload bytes follow.
	Ok = 0,
	/// No payload under (window, hash).
	NotFound = 1,
	/// The server is at its concurrent-transfer limit; try again later.
	Busy = 2,
	/// The request does not decode or its range is not inside the payload.
	BadRequest = 3,
}

impl Status {
	/// Decodes a status byte.
	pub fn from_byte(b: u8) -> Option<Self> {
		[Self::Ok, Self::NotFound, Self::Busy, Self::BadRequest].into_iter().find(|s| *s as u8 == b)
	}
}

/// A request that does not decode.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
	/// Unknown protocol version byte.
	#[error("unsupported request version {0}")]
	Version(u8),
	/// The stream failed or ended before a full request.
	#[error("reading request: {0}")]
	Io(#[from] std::io::Error),
}

impl Request {
	/// The request's bytes.
	pub fn encode(&self) -> [u8; REQUEST_LEN] {
		let mut out = [0u8; REQUEST_LEN];
		out[0] = VERSION;
		out[1..9].copy_from_slice(&self.window.to_le_bytes());
		out[9..41].copy_from_slice(&self.hash);
		out[41..49].copy_from_slice(&self.offset.to_le_bytes());
		out[49..57].copy_from_slice(&self.end.to_le_bytes());
		out
	}

	/// Decodes a request.
	pub fn decode(bytes: &[u8; REQUEST_LEN]) -> Result<Self, WireError> {
		if bytes[0] != VERSION {
			return Err(WireError::Version(bytes[0]));
		}
		let u64_at = |i: usize| {
			let mut b = [0u8; 8];
			b.copy_from_slice(&bytes[i..i + 8]);
			u64::from_le_bytes(b)
		};
		let mut hash = [0u8; 32];
		hash.copy_from_slice(&bytes[9..41]);
		Ok(Self { window: u64_at(1), hash, offset: u64_at(41), end: u64_at(49) })
	}

	/// Reads one request from a stream.
	pub async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Self, WireError> {
		let mut bytes = [0u8; REQUEST_LEN];
		stream.read_exact(&mut bytes).await?;
		Self::decode(&bytes)
	}

	/// Writes this request to a stream and flushes it.
	pub async fn write<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<()> {
		stream.write_all(&self.encode()).await?;
		stream.flush().await
	}
}

/// Writes a status byte (and flushes, so a refusal reaches the fetcher before the stream closes).
pub async fn write_status<S: AsyncWrite + Unpin>(
	stream: &mut S,
	status: Status,
) -> std::io::Result<()> {
	stream.write_all(&[status as u8]).await?;
	stream.flush().await
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn request_round_trips_and_rejects_other_versions() {
		let req =
			Request { window: 0x0102_0304_0506_0708, hash: [7; 32], offset: 99, end: 1 << 40 };
		let mut bytes = req.encode();
		assert_eq!(Request::decode(&bytes).unwrap(), req);
		bytes[0] = 2;
		assert!(matches!(Request::decode(&bytes), Err(WireError::Version(2))));
		assert_eq!(Status::from_byte(2), Some(Status::Busy));
		assert_eq!(Status::from_byte(9), None);
	}
}
