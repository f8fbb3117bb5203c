//! The SparseLoCo payload decoder (`Payload::decode`, `offchain-trainer/src/sparseloco/wire.rs`)
//! on untrusted bytes, as a validator decodes a fetched payload.
//!
//! Property: `decode` returns a typed `WireError`, or a payload that
//! - re-encodes to exactly the input (the format is canonical: `encode(decode(b)) == b`), with
//!   `encoded_len` equal to the input's length;
//! - keeps within the limits it was decoded under (tensor count, name length, rank, elements);
//! - passes its own checked constructors (`CompressedTensor::from_parts`, `Payload::new`), which
//!   the decoder bypasses (`from_checked_parts`), so decoder and constructor agree on validity;
//! - decompresses into dense tensors of the declared shapes whose values are all finite and
//!   whose non-zeros sit only at kept positions.
#![no_main]

use gauntlet_fuzz::payload_limits;
use libfuzzer_sys::fuzz_target;
use offchain_trainer::sparseloco::{CompressedTensor, Payload};

fuzz_target!(|data: &[u8]| {
	let limits = payload_limits();
	let Ok(payload) = Payload::decode(data, &limits) else { return };

	assert_eq!(payload.encode(), data, "accepted bytes are not canonical");
	assert_eq!(payload.encoded_len(), data.len());

	let tensors = payload.tensors();
	assert!(tensors.len() <= limits.max_tensors);
	let mut total = 0u64;
	for t in tensors {
		assert!(!t.name().is_empty() && t.name().len() <= limits.max_name_len);
		assert!(t.shape().len() <= limits.max_rank);
		let numel: usize = t.shape().iter().product();
		assert_eq!(numel, t.numel());
		assert!(numel as u64 <= limits.max_tensor_elements);
		total += numel as u64;

		let g = t.geometry();
		let rebuilt = CompressedTensor::from_parts(
			t.name(),
			t.shape().to_vec(),
			g.tile_rows(),
			g.tile_cols(),
			t.k(),
			t.lut().to_vec(),
			t.shift(),
			t.indices().to_vec(),
			t.codes().to_vec(),
		)
		.expect("the decoder accepted a tensor its checked constructor refuses");
		assert_eq!(&rebuilt, t);

		let dense = t.decompress();
		assert_eq!(dense.shape, t.shape());
		assert_eq!(dense.data.len(), numel);
		assert!(dense.data.iter().all(|v| v.is_finite()), "a decoded value is not finite");
		let mut kept = vec![false; numel];
		t.for_each_entry(|p, _| kept[p] = true);
		assert_eq!(
			kept.iter().filter(|&&k| k).count(),
			t.num_kept(),
			"two entries share a position"
		);
		assert!(dense.data.iter().zip(&kept).all(|(v, &k)| k || *v == 0.0));
	}
	assert!(total <= limits.max_total_elements);
	let again = Payload::new(tensors.to_vec()).expect("Payload::new refuses a decoded payload");
	assert_eq!(again, payload);
});
