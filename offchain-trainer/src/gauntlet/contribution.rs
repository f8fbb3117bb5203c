//! What a miner serves for a window, and what its on-chain commitment hashes:
//!
//! ```text
//! magic "GNTC" | version u8 = 1 | sample_len u32 LE | sample: sample_len × f32 LE | payload
//! ```
//!
//! `sample` is the miner's global weights θ_W at the run's sample positions ([`super::sync`]):
//! validators compare it with their own θ history to compute the sync score. `payload` is the
//! SparseLoCo wire payload ([`crate::sparseloco::wire`]). One blob under one hash means a miner
//! cannot pair a fresh sample with a stale payload after committing.
//!
//! Hand-written rather than a serde format: the layout is part of the protocol every peer must
//! read identically, and it is four fields.

use crate::sparseloco::{DecodeLimits, Payload, WireError};

/// First bytes of a contribution.
pub const MAGIC: [u8; 4] = *b"GNTC";
/// The layout version this build writes and reads.
pub const VERSION: u8 = 1;
/// Most sample values a contribution may carry.
pub const MAX_SAMPLE_LEN: usize = 4096;
const HEADER_LEN: usize = 4 + 1 + 4;

/// A decoded contribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
	/// θ_W at the run's sample positions.
	pub sample: Vec<f32>,
	/// The compressed pseudo-gradient.
	pub payload: Payload,
	/// The payload's wire bytes, as received: the GPU aggregator reads this format, and
	/// re-encoding the decoded payload would cost a pass on the host per peer and window.
	pub payload_wire: Vec<u8>,
}

/// Bytes that are not a contribution of this run.
#[derive(Debug, thiserror::Error)]
pub enum ContributionError {
	/// Fewer bytes than the header or the announced sample.
	#[error("contribution truncated: {len} bytes, at least {needed} needed")]
	Truncated {
		/// Bytes given.
		len: usize,
		/// Bytes the header announces.
		needed: usize,
	},
	/// The magic bytes are wrong.
	#[error("not a Gauntlet contribution (bad magic)")]
	BadMagic,
	/// A layout version this build does not read.
	#[error("contribution version {0} (this build reads {VERSION})")]
	Version(u8),
	/// The sample is longer than [`MAX_SAMPLE_LEN`] or than the run's sample.
	#[error("weight sample of {len} values, at most {max} allowed")]
	SampleTooLong {
		/// Values announced.
		len: usize,
		/// The bound.
		max: usize,
	},
	/// A sample value is NaN or infinite.
	#[error("weight sample holds a non-finite value at {index}")]
	NonFiniteSample {
		/// Its position.
		index: usize,
	},
	/// The payload does not decode.
	#[error("payload: {0}")]
	Payload(#[from] WireError),
}

impl Contribution {
	/// A contribution of `sample` and `payload` (encoding the payload once).
	pub fn new(sample: Vec<f32>, payload: Payload) -> Self {
		let payload_wire = payload.encode();
		Self { sample, payload, payload_wire }
	}

	/// Serialises `sample` and `payload` (already encoded) into one blob.
	pub fn encode_parts(sample: &[f32], payload: &[u8]) -> Vec<u8> {
		let mut out = Vec::with_capacity(HEADER_LEN + 4 * sample.len() + payload.len());
		out.extend_from_slice(&MAGIC);
		out.push(VERSION);
		out.extend_from_slice(&(sample.len() as u32).to_le_bytes());
		for v in sample {
			out.extend_from_slice(&v.to_le_bytes());
		}
		out.extend_from_slice(payload);
		out
	}

	/// Bytes of a contribution with a `sample_len` weight sample and a payload of at most
	/// `max_payload` bytes.
	pub fn max_encoded_len(sample_len: usize, max_payload: usize) -> usize {
		HEADER_LEN.saturating_add(4 * sample_len).saturating_add(max_payload)
	}

	/// Serialises this contribution.
	pub fn encode(&self) -> Vec<u8> {
		Self::encode_parts(&self.sample, &self.payload_wire)
	}

	/// Decodes `bytes`, checking every bound before allocating: at most `max_sample` sample values
	/// (the run's sample length) and a payload within `limits`.
	pub fn decode(
		bytes: &[u8],
		max_sample: usize,
		limits: &DecodeLimits,
	) -> Result<Self, ContributionError> {
		if bytes.len() < HEADER_LEN {
			return Err(ContributionError::Truncated { len: bytes.len(), needed: HEADER_LEN });
		}
		if bytes[..4] != MAGIC {
			return Err(ContributionError::BadMagic);
		}
		if bytes[4] != VERSION {
			return Err(ContributionError::Version(bytes[4]));
		}
		let len = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
		let max = max_sample.min(MAX_SAMPLE_LEN);
		if len > max {
			return Err(ContributionError::SampleTooLong { len, max });
		}
		let payload_at = HEADER_LEN + 4 * len;
		if bytes.len() < payload_at {
			return Err(ContributionError::Truncated { len: bytes.len(), needed: payload_at });
		}
		let sample: Vec<f32> = bytes[HEADER_LEN..payload_at]
			.chunks_exact(4)
			.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
			.collect();
		if let Some(index) = sample.iter().position(|v| !v.is_finite()) {
			return Err(ContributionError::NonFiniteSample { index });
		}
		let payload = Payload::decode(&bytes[payload_at..], limits)?;
		Ok(Self { sample, payload, payload_wire: bytes[payload_at..].to_vec() })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::{CodecConfig, Tensor};

	fn payload() -> (Payload, DecodeLimits) {
		let t = Tensor::new("w", vec![8, 8], (0..64).map(|i| (i as f32 - 31.5) / 10.0).collect())
			.unwrap();
		let config = CodecConfig { topk: 4, ..CodecConfig::default() };
		let limits = DecodeLimits::for_model(std::slice::from_ref(&t), 1 << 20);
		(Payload::compress(&[t], &config).unwrap(), limits)
	}

	#[test]
	fn round_trips_sample_and_payload() {
		let (p, limits) = payload();
		let c = Contribution::new(vec![0.5, -1.25, 3.0], p);
		let bytes = c.encode();
		assert_eq!(&bytes[..4], b"GNTC");
		assert_eq!(Contribution::decode(&bytes, 16, &limits).unwrap(), c);
	}

	#[test]
	fn refuses_bad_input_with_a_typed_error() {
		let (p, limits) = payload();
		let good = Contribution::new(vec![1.0; 4], p).encode();
		let decode = |b: &[u8]| Contribution::decode(b, 16, &limits);
		assert!(matches!(decode(&good[..3]), Err(ContributionError::Truncated { .. })));
		assert!(matches!(decode(&good[..20]), Err(ContributionError::Truncated { .. })));
		let mut magic = good.clone();
		magic[0] = b'X';
		assert!(matches!(decode(&magic), Err(ContributionError::BadMagic)));
		let mut version = good.clone();
		version[4] = 9;
		assert!(matches!(decode(&version), Err(ContributionError::Version(9))));
		let mut long = good.clone();
		long[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
		assert!(matches!(decode(&long), Err(ContributionError::SampleTooLong { .. })));
		let mut nan = good.clone();
		nan[9..13].copy_from_slice(&f32::NAN.to_le_bytes());
		assert!(matches!(decode(&nan), Err(ContributionError::NonFiniteSample { index: 0 })));
		let mut payload = good.clone();
		payload.truncate(good.len() - 1);
		assert!(matches!(decode(&payload), Err(ContributionError::Payload(_))));
		assert!(matches!(
			Contribution::decode(&good, 2, &limits),
			Err(ContributionError::SampleTooLong { len: 4, max: 2 })
		));
	}
}
