//! The contribution decoder (`Contribution::decode`, `offchain-trainer/src/gauntlet/contribution.rs`)
//! on untrusted bytes, as a validator decodes what a miner served, with the validator's bounds
//! (`SAMPLE_LEN` sample values, `DecodeLimits::for_model` of its model).
//!
//! Property: `decode` returns a typed `ContributionError` whose variant matches the first thing
//! wrong with the header, or a contribution that
//! - re-encodes to exactly the input (`encode(decode(b)) == b`);
//! - carries at most `SAMPLE_LEN` sample values, all finite;
//! - keeps `payload_wire` equal to the payload's canonical encoding, which decodes back to
//!   `payload` (the GPU aggregator reads the wire bytes, the CPU path the decoded payload: they
//!   must be the same contribution);
//! - holds a payload within the model's limits (tensor count, name length, elements);
//! - if it also passes the validator's check against the model and the run's codec
//!   (`Payload::check_against`, default `CodecConfig`), takes at most
//!   `Contribution::max_encoded_len(SAMPLE_LEN, Payload::max_encoded_len(model, codec))` bytes:
//!   the most a peer's fetch budget counts for one commitment (`max_contribution_bytes`).
#![no_main]

use gauntlet_fuzz::{contribution_limits, contribution_model};
use libfuzzer_sys::fuzz_target;
use offchain_trainer::gauntlet::contribution::{MAGIC, VERSION};
use offchain_trainer::gauntlet::sync::SAMPLE_LEN;
use offchain_trainer::gauntlet::{Contribution, ContributionError};
use offchain_trainer::sparseloco::{CodecConfig, Payload};

fuzz_target!(|data: &[u8]| {
	let limits = contribution_limits();
	match Contribution::decode(data, SAMPLE_LEN, &limits) {
		Err(e) => {
			let header_ok = data.len() >= 9 && data[..4] == MAGIC && data[4] == VERSION;
			match e {
				ContributionError::Truncated { len, needed } => {
					assert_eq!(len, data.len());
					assert!(len < needed);
				}
				ContributionError::BadMagic => assert!(data.len() >= 9 && data[..4] != MAGIC),
				ContributionError::Version(v) => {
					assert!(data.len() >= 9 && v == data[4] && v != VERSION)
				}
				ContributionError::SampleTooLong { len, max } => {
					assert!(header_ok && len > max && max == SAMPLE_LEN)
				}
				ContributionError::NonFiniteSample { index } => {
					let at = 9 + 4 * index;
					let v = f32::from_le_bytes(data[at..at + 4].try_into().unwrap());
					assert!(header_ok && !v.is_finite());
				}
				ContributionError::Payload(_) => assert!(header_ok),
			}
		}
		Ok(c) => {
			assert_eq!(c.encode(), data, "accepted bytes are not canonical");
			assert!(c.sample.len() <= SAMPLE_LEN);
			assert!(c.sample.iter().all(|v| v.is_finite()));
			assert_eq!(c.payload.encode(), c.payload_wire);
			assert_eq!(Payload::decode(&c.payload_wire, &limits).as_ref(), Ok(&c.payload));
			assert_eq!(9 + 4 * c.sample.len() + c.payload_wire.len(), data.len());
			let tensors = c.payload.tensors();
			assert!(tensors.len() <= limits.max_tensors);
			for t in tensors {
				assert!(t.name().len() <= limits.max_name_len);
				assert!(t.numel() as u64 <= limits.max_tensor_elements);
			}
			let (model, codec) = (contribution_model(), CodecConfig::default());
			if c.payload.check_against(model, &codec).is_ok() {
				let payload_max = Payload::max_encoded_len(model, &codec);
				assert!(c.payload_wire.len() <= payload_max, "a valid payload exceeds its bound");
				assert!(data.len() <= Contribution::max_encoded_len(SAMPLE_LEN, payload_max));
			}
		}
	}
});
