//! Property tests of the SparseLoCo codec: exact round trips over random shapes and configs, and
//! a hardened decoder that never panics on random, mutated, truncated or extended bytes.

use offchain_trainer::sparseloco::bench::normal_samples;
use offchain_trainer::sparseloco::topk::effective_k;
use offchain_trainer::sparseloco::{
	ChunkGeometry, CodecConfig, CompressedTensor, Compressor, DecodeLimits, ErrorFeedback, Payload,
	PseudoGradient, Tensor, WireError,
};
use proptest::prelude::*;

/// Dimensions that exercise every tiling case: ≤ 64 (whole), 64-divisible, divisible by a
/// smaller number (100 -> 50, 96 -> 48, 130 -> 26) and primes above 64 (s = 1).
fn dim() -> impl Strategy<Value = usize> {
	prop_oneof![
		3 => 1usize..=70,
		1 => Just(64usize),
		1 => Just(128usize),
		1 => Just(96usize),
		1 => Just(100usize),
		1 => Just(130usize),
		1 => Just(67usize),
		1 => Just(257usize),
	]
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
	prop::collection::vec(dim(), 0..=3)
		.prop_filter("at most 40k elements", |s| s.iter().product::<usize>() <= 40_000)
}

fn config() -> impl Strategy<Value = CodecConfig> {
	prop_oneof![
		2 => Just(CodecConfig::default()),
		3 => (1usize..=80, 1usize..=64, 2u8..=4, 0.5f32..10.0).prop_map(
			|(topk, chunk_target, bins, range)| CodecConfig { topk, chunk_target, bins, range }
		),
	]
}

/// Random tensor: normal values at a random scale, optionally snapped to a coarse grid so that
/// magnitude ties (and exact zeros) are common.
fn tensor() -> impl Strategy<Value = Tensor> {
	(shape(), any::<u64>(), -20i32..10, any::<bool>(), any::<bool>()).prop_map(
		|(shape, seed, exp, ties, offset)| {
			let n = shape.iter().product();
			let scale = 2f32.powi(exp);
			let data = normal_samples(n, seed)
				.into_iter()
				.map(|v| {
					let v = if ties { (v * 2.0).round() / 2.0 } else { v };
					v * scale + if offset { 3.0 * scale } else { 0.0 }
				})
				.collect();
			Tensor::new("t", shape, data).unwrap()
		},
	)
}

fn limits() -> DecodeLimits {
	DecodeLimits::new(1 << 24)
}

/// Reference top-k: per chunk, sort by (larger magnitude, lower index), keep k, ascending.
fn reference_indices(t: &Tensor, cfg: &CodecConfig) -> Vec<u16> {
	let g = ChunkGeometry::for_shape(&t.shape, cfg.chunk_target);
	let k = effective_k(cfg.topk, g.chunk_len());
	let mut out = Vec::new();
	for c in 0..g.num_chunks() {
		let mut v: Vec<(f32, u16)> =
			(0..g.chunk_len()).map(|l| (t.data[g.position(c, l)].abs(), l as u16)).collect();
		v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
		let mut idx: Vec<u16> = v[..k].iter().map(|x| x.1).collect();
		idx.sort_unstable();
		out.extend(idx);
	}
	out
}

fn valid_payload_bytes() -> impl Strategy<Value = Vec<u8>> {
	(prop::collection::vec(tensor(), 1..=3), config()).prop_map(|(ts, cfg)| {
		let mut c = Compressor::new();
		let parts = ts
			.iter()
			.enumerate()
			.map(|(i, t)| c.compress(&format!("p{i}"), &t.shape, &t.data, &cfg).unwrap())
			.collect();
		Payload::new(parts).unwrap().encode()
	})
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

	/// decode(encode(x)) == x, the encoding is canonical, and its length is as predicted.
	#[test]
	fn wire_round_trip_is_exact(t in tensor(), cfg in config()) {
		let c = Compressor::new().compress(&t.name, &t.shape, &t.data, &cfg).unwrap();
		let p = Payload::new(vec![c]).unwrap();
		let bytes = p.encode();
		prop_assert_eq!(bytes.len(), p.encoded_len());
		let back = Payload::decode(&bytes, &limits()).unwrap();
		prop_assert_eq!(back.encode(), bytes.clone());
		prop_assert_eq!(&back, &p);
		// The tightest model-derived limits still accept it.
		let model = [Tensor::zeros("t", t.shape.clone()).unwrap()];
		prop_assert!(Payload::decode(&bytes, &DecodeLimits::for_model(&model, bytes.len())).is_ok());
		prop_assert!(back.check_against(&model, &cfg).is_ok());
	}

	/// Indices are exactly the per-chunk top-k, and every value is the LUT reconstruction.
	#[test]
	fn indices_exact_and_values_from_lut(t in tensor(), cfg in config()) {
		let c = Compressor::new().compress(&t.name, &t.shape, &t.data, &cfg).unwrap();
		let want = reference_indices(&t, &cfg);
		prop_assert_eq!(c.indices(), want.as_slice());
		let g = c.geometry();
		prop_assert_eq!(c.num_kept(), g.num_chunks() * effective_k(cfg.topk, g.chunk_len()));
		prop_assert_eq!(c.bins(), usize::from(cfg.bins));

		let dense = c.decompress();
		let mut kept = vec![false; t.numel()];
		let mut entry = 0;
		c.for_each_entry(|p, _| {
			kept[p] = true;
			entry += 1;
		});
		prop_assert_eq!(entry, c.num_kept());
		let mut p_entry = 0;
		for chunk in 0..g.num_chunks() {
			for e in 0..c.k() {
				let i = e + chunk * c.k();
				let pos = g.position(chunk, usize::from(c.indices()[i]));
				let code = usize::from(c.codes()[i]);
				prop_assert_eq!(dense.data[pos], c.lut()[code] + c.shift());
				p_entry += 1;
			}
		}
		prop_assert_eq!(p_entry, c.num_kept());
		for (p, &k) in kept.iter().enumerate() {
			if !k {
				prop_assert_eq!(dense.data[p], 0.0);
			}
		}

		// The LUT is the per-bin mean of the centred kept values; the shift their mean.
		let kept_values: Vec<f32> = (0..c.num_kept())
			.map(|i| t.data[g.position(i / c.k(), usize::from(c.indices()[i]))])
			.collect();
		let mean = kept_values.iter().map(|&v| f64::from(v)).sum::<f64>() / kept_values.len() as f64;
		prop_assert_eq!(c.shift(), mean as f32);
		for b in 0..c.bins() {
			let members: Vec<f64> = kept_values
				.iter()
				.zip(c.codes())
				.filter(|(_, &code)| usize::from(code) == b)
				.map(|(&v, _)| f64::from(v - c.shift()))
				.collect();
			let want = if members.is_empty() {
				0.0
			} else {
				(members.iter().sum::<f64>() / members.len() as f64) as f32
			};
			prop_assert_eq!(c.lut()[b], want);
		}
		// Codes are monotone in the centred value (a quantizer, not a hash).
		let mut pairs: Vec<(f32, u8)> = kept_values.iter().map(|&v| v - c.shift()).zip(c.codes().iter().copied()).collect();
		pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
		prop_assert!(pairs.windows(2).all(|w| w[0].1 <= w[1].1));
	}

	/// Error feedback: e_new = (β·e_old + Δ) − ê exactly, entry by entry.
	#[test]
	fn error_feedback_keeps_the_remainder(t in tensor(), seed in any::<u64>()) {
		let cfg = CodecConfig::default();
		let mut ef = ErrorFeedback::new(0.95).unwrap();
		let d1 = PseudoGradient::from_tensors(vec![t.clone()]).unwrap();
		ef.step(&d1, &cfg).unwrap();
		let before = ef.buffer("t").unwrap().data.clone();
		let d2: Vec<f32> = normal_samples(t.numel(), seed);
		let d2 = PseudoGradient::from_tensors(vec![Tensor::new("t", t.shape.clone(), d2).unwrap()]).unwrap();
		let p = ef.step(&d2, &cfg).unwrap();
		let sent = p.tensors()[0].decompress();
		let after = &ef.buffer("t").unwrap().data;
		for i in 0..t.numel() {
			prop_assert_eq!(after[i], (0.95 * before[i] + d2.tensors()[0].data[i]) - sent.data[i]);
		}
	}

	/// Random bytes never panic the decoder; anything it accepts re-encodes to the same bytes.
	#[test]
	fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
		if let Ok(p) = Payload::decode(&bytes, &limits()) {
			prop_assert_eq!(p.encode(), bytes);
		}
	}

	/// Same, behind a valid header, so the record parser itself is exercised.
	#[test]
	fn random_records_never_panic(
		count in 0u32..4,
		body in prop::collection::vec(any::<u8>(), 0..512),
	) {
		let mut bytes = b"SLCO".to_vec();
		bytes.extend(1u16.to_le_bytes());
		bytes.extend(count.to_le_bytes());
		bytes.extend(body);
		if let Ok(p) = Payload::decode(&bytes, &limits()) {
			prop_assert_eq!(p.encode(), bytes);
		}
	}

	/// One changed byte of a valid payload: never a panic; either an error, or a payload that
	/// re-encodes to exactly the mutated bytes (e.g. a changed LUT value). Header bytes must
	/// always be refused.
	#[test]
	fn single_byte_mutations_are_caught(
		bytes in valid_payload_bytes(),
		at in any::<prop::sample::Index>(),
		xor in 1u8..=255,
	) {
		let i = at.index(bytes.len());
		let mut b = bytes.clone();
		b[i] ^= xor;
		// Header bytes (magic, version, tensor count) can never survive a change.
		if let Ok(p) = Payload::decode(&b, &limits()) {
			prop_assert!(i >= 6 + 4, "header byte {} accepted", i);
			prop_assert_eq!(p.encode(), b.clone());
		}
	}

	/// Every proper prefix of a valid payload is refused; so is any extension.
	#[test]
	fn truncations_and_extensions_are_refused(
		bytes in valid_payload_bytes(),
		cut in any::<prop::sample::Index>(),
		extra in prop::collection::vec(any::<u8>(), 1..16),
	) {
		let n = cut.index(bytes.len());
		prop_assert!(Payload::decode(&bytes[..n], &limits()).is_err());
		let mut longer = bytes.clone();
		longer.extend(extra);
		prop_assert!(Payload::decode(&longer, &limits()).is_err());
		prop_assert!(Payload::decode(&bytes, &limits()).is_ok());
	}

	/// Parts that the decoder would refuse are refused by `from_parts` too.
	#[test]
	fn from_parts_agrees_with_the_decoder(bytes in valid_payload_bytes()) {
		let p = Payload::decode(&bytes, &limits()).unwrap();
		for t in p.tensors() {
			let g = t.geometry();
			let rebuilt = CompressedTensor::from_parts(
				t.name(), t.shape().to_vec(), g.tile_rows(), g.tile_cols(), t.k(),
				t.lut().to_vec(), t.shift(), t.indices().to_vec(), t.codes().to_vec(),
			).unwrap();
			prop_assert_eq!(&rebuilt, t);
		}
	}
}

/// Every cut of one fixed payload (with an odd kept count) is refused with a typed error.
#[test]
fn every_truncation_of_a_fixed_payload_is_an_error() {
	let t = Tensor::new("b", vec![67], normal_samples(67, 1)).unwrap();
	let w = Tensor::new("w", vec![100, 96], normal_samples(9600, 2)).unwrap();
	let p = Payload::compress(&[t, w], &CodecConfig::default()).unwrap();
	let bytes = p.encode();
	for n in 0..bytes.len() {
		let err = Payload::decode(&bytes[..n], &limits()).unwrap_err();
		assert!(
			matches!(err, WireError::Truncated { .. } | WireError::PartLength { .. }),
			"cut at {n}: {err:?}"
		);
	}
}
