//! What a miner commits on chain for a payload (and a peer for a θ checkpoint): the BLAKE3-256
//! hash of its bytes and their exact count (`pallet-gauntlet::commit(window, payload_hash,
//! payload_size)`).

use std::fmt;

/// Bytes of the hash the pallet stores (BLAKE3's default 32-byte output).
pub const HASH_BYTES: usize = 32;

/// The on-chain commitment to one payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment {
	/// BLAKE3 of the payload bytes.
	pub hash: [u8; HASH_BYTES],
	/// Exact payload length in bytes.
	pub size: u64,
}

impl Commitment {
	/// The commitment of `payload` (one pass of BLAKE3 over it).
	pub fn of(payload: &[u8]) -> Self {
		let mut hasher = PayloadHasher::default();
		hasher.update(payload);
		hasher.finish()
	}

	/// Whether `payload` is exactly the committed bytes.
	pub fn matches(&self, payload: &[u8]) -> bool {
		*self == Self::of(payload)
	}
}

impl fmt::Display for Commitment {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{} ({} bytes)", Hex(&self.hash), self.size)
	}
}

impl fmt::Debug for Commitment {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "Commitment {{ hash: {}, size: {} }}", Hex(&self.hash), self.size)
	}
}

/// Lower-case hex of a byte string, for logs and error messages.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
	}
}

/// Hashes a payload as its bytes arrive, so a fetched payload needs no second pass. `Clone` keeps
/// the state of a partial transfer, which is what makes resuming a broken one cheap.
///
/// BLAKE3 rather than Blake2b-256: the fetcher hashes the payload as it arrives, and
/// Blake2b-256, a sequential hash, ran at 613–625 MB/s on a core of the GPU host, below the
/// 1 GB/s a transfer should reach (docs/p2p-bench.md). BLAKE3 hashes several 1 KiB chunks at
/// once with SIMD on one core, and its tree splits one hash over all cores
/// ([`Self::update_parallel`]).
#[derive(Clone, Default)]
pub struct PayloadHasher {
	hasher: blake3::Hasher,
	len: u64,
}

impl PayloadHasher {
	/// Feeds the next bytes of the payload.
	pub fn update(&mut self, bytes: &[u8]) {
		self.hasher.update(bytes);
		self.len += bytes.len() as u64;
	}

	/// Feeds the next bytes of the payload, hashed on all cores (BLAKE3 is a tree, so one hash
	/// splits over threads); for large pieces, where it beats [`Self::update`].
	pub fn update_parallel(&mut self, bytes: &[u8]) {
		self.hasher.update_rayon(bytes);
		self.len += bytes.len() as u64;
	}

	/// Bytes fed so far.
	pub fn len(&self) -> u64 {
		self.len
	}

	/// Whether nothing has been fed yet.
	pub fn is_empty(&self) -> bool {
		self.len == 0
	}

	/// The commitment of everything fed.
	pub fn finish(self) -> Commitment {
		Commitment { hash: *self.hasher.finalize().as_bytes(), size: self.len }
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn empty_payload_has_the_reference_blake3() {
		// BLAKE3("") from the BLAKE3 specification's test vectors.
		assert_eq!(
			Hex(&Commitment::of(b"").hash).to_string(),
			"af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
		);
	}

	#[test]
	fn streaming_hash_equals_one_shot_hash() {
		let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
		let mut hasher = PayloadHasher::default();
		for (i, chunk) in payload.chunks(333).enumerate() {
			if i % 2 == 0 {
				hasher.update(chunk);
			} else {
				hasher.update_parallel(chunk);
			}
		}
		let commitment = hasher.finish();
		assert_eq!(commitment, Commitment::of(&payload));
		assert_eq!(commitment.size, 10_000);
		assert!(commitment.matches(&payload));
		assert!(!commitment.matches(&payload[1..]));
	}
}
