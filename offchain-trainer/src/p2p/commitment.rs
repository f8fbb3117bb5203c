//! What a miner commits on chain for a payload: the Blake2b-256 hash of its bytes and their exact
//! count (`pallet-gauntlet::commit(window, payload_hash, payload_size)`).

use std::fmt;

/// Bytes of the hash the pallet stores (Blake2b with a 32-byte output, as `sp_core::blake2_256`).
pub const HASH_BYTES: usize = 32;

/// The on-chain commitment to one payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment {
	/// Blake2b-256 of the payload bytes.
	pub hash: [u8; 32],
	/// Exact payload length in bytes.
	pub size: u64,
}

impl Commitment {
	/// The commitment of `payload` (one pass of Blake2b-256 over it).
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
/// `blake2b_simd` rather than RustCrypto's `blake2`: same digest, but its AVX2 compression
/// function hashes about 1.4x faster here, and a hash is sequential, so its speed bounds one
/// transfer whatever the transport (docs/p2p-bench.md).
#[derive(Clone)]
pub struct PayloadHasher {
	hasher: blake2b_simd::State,
	len: u64,
}

impl Default for PayloadHasher {
	fn default() -> Self {
		Self { hasher: blake2b_simd::Params::new().hash_length(HASH_BYTES).to_state(), len: 0 }
	}
}

impl PayloadHasher {
	/// Feeds the next bytes of the payload.
	pub fn update(&mut self, bytes: &[u8]) {
		self.hasher.update(bytes);
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
		let mut hash = [0u8; HASH_BYTES];
		hash.copy_from_slice(self.hasher.finalize().as_bytes());
		Commitment { hash, size: self.len }
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn empty_payload_has_the_reference_blake2b_256() {
		// BLAKE2b-256("") from RFC 7693's reference implementation.
		assert_eq!(
			Hex(&Commitment::of(b"").hash).to_string(),
			"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
		);
	}

	#[test]
	fn streaming_hash_equals_one_shot_hash() {
		let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
		let mut hasher = PayloadHasher::default();
		for chunk in payload.chunks(333) {
			hasher.update(chunk);
		}
		let commitment = hasher.finish();
		assert_eq!(commitment, Commitment::of(&payload));
		assert_eq!(commitment.size, 10_000);
		assert!(commitment.matches(&payload));
		assert!(!commitment.matches(&payload[1..]));
	}
}
