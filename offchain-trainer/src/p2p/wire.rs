//! The payload protocol on one libp2p stream, `/gauntlet/payload/2`:
//!
//! ```text
//! fetcher → server   request: version u8 = 1 | window u64 LE | hash [u8; 32] | offset u64 LE
//! server  → fetcher  status u8, then for `Ok` the payload bytes from `offset` to the end, then EOF
//! ```
//!
//! The response carries no length: the fetcher knows the size from the chain commitment and reads
//! at most `size - offset + 1` bytes, so a server can neither make it read more than committed nor
//! lie about the size. `offset` lets a broken transfer resume where it stopped.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// The stream protocol name. `/2`: the hash in a request is BLAKE3 (it was Blake2b-256 in `/1`), so
/// a peer of the older protocol fails at negotiation instead of asking for hashes nobody has.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/gauntlet/payload/2");
/// Encoded request length.
pub const REQUEST_LEN: usize = 1 + 8 + 32 + 8;
const VERSION: u8 = 1;

/// A request for the payload of (window, hash), from byte `offset` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
	/// The window the payload was committed in.
	pub window: u64,
	/// The committed BLAKE3 hash.
	pub hash: [u8; 32],
	/// First byte wanted (non-zero when resuming).
	pub offset: u64,
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
	/// The request does not decode or its offset is past the payload's end.
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
		Ok(Self { window: u64_at(1), hash, offset: u64_at(41) })
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
		let req = Request { window: 0x0102_0304_0506_0708, hash: [7; 32], offset: 99 };
		let mut bytes = req.encode();
		assert_eq!(Request::decode(&bytes).unwrap(), req);
		bytes[0] = 2;
		assert!(matches!(Request::decode(&bytes), Err(WireError::Version(2))));
		assert_eq!(Status::from_byte(2), Some(Status::Busy));
		assert_eq!(Status::from_byte(9), None);
	}
}
