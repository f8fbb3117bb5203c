//! The `gauntlet-trainer compress` / `decompress` commands as a user runs them.
//! Needs libtorch on LD_LIBRARY_PATH (scripts/env.sh sets it).

use std::collections::HashMap;
use std::process::Output;

use offchain_trainer::sparseloco::{CodecConfig, Payload, Tensor as Array};
use offchain_trainer::tensor_io::{read_safetensors, write_safetensors};

mod common;
use common::{arg, trainer};

/// Deterministic values with a spread of magnitudes (no RNG crate needed).
fn values(n: usize, seed: u32) -> Vec<f32> {
	(0..n).map(|i| (i as f32 * 0.618 + seed as f32).sin() * (1.0 + (i % 7) as f32)).collect()
}

fn gradient() -> Vec<Array> {
	vec![
		Array::new("layers.0.attention.wq.weight", vec![512, 512], values(512 * 512, 1)).unwrap(),
		Array::new("layers.0.ffn_norm.weight", vec![64], values(64, 2)).unwrap(),
		Array::new("tok_embeddings.weight", vec![640, 256], values(640 * 256, 3)).unwrap(),
	]
}

#[test]
fn compress_then_decompress_reconstructs_same_names_and_shapes() {
	let dir = tempfile::tempdir().unwrap();
	let (input, payload, output) = (
		dir.path().join("g.safetensors"),
		dir.path().join("p.bin"),
		dir.path().join("r.safetensors"),
	);
	let grad = gradient();
	write_safetensors(&input, &grad, HashMap::new()).unwrap();

	let out = trainer(&["compress", "--input", arg(&input), "--output", arg(&payload)]);
	assert!(out.status.success(), "compress failed: {}", String::from_utf8_lossy(&out.stderr));
	let out = trainer(&["decompress", "--input", arg(&payload), "--output", arg(&output)]);
	assert!(out.status.success(), "decompress failed: {}", String::from_utf8_lossy(&out.stderr));

	let (back, _) = read_safetensors(&output).unwrap();
	let mut sorted = grad.clone();
	sorted.sort_by(|a, b| a.name.cmp(&b.name));
	let shapes =
		|v: &[Array]| v.iter().map(|a| (a.name.clone(), a.shape.clone())).collect::<Vec<_>>();
	assert_eq!(shapes(&back), shapes(&sorted));

	// The CLI's output is exactly the library's reconstruction.
	let expected = Payload::compress(&sorted, &CodecConfig::default()).unwrap().decompress();
	assert_eq!(back, expected);

	// 64 of every 4096 entries of the 512×512 matrix survive; the reconstruction is closer to
	// the input than zero is.
	let (x, y) = (&sorted[0].data, &back[0].data);
	assert_eq!(back[0].name, "layers.0.attention.wq.weight");
	assert_eq!(y.iter().filter(|v| **v != 0.0).count(), 64 * 64);
	let err: f32 = x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum();
	let norm: f32 = x.iter().map(|a| a * a).sum();
	assert!(err < norm, "reconstruction error {err} not below input energy {norm}");

	// ≥ 140x smaller than the dense fp32 input (146x minus the per-tensor headers).
	let dense = 4 * grad.iter().map(Array::numel).sum::<usize>();
	let size = std::fs::metadata(&payload).unwrap().len() as usize;
	assert!(size * 140 <= dense, "payload {size} bytes for {dense} dense bytes");
}

#[test]
fn non_finite_input_is_refused_and_writes_nothing() {
	let dir = tempfile::tempdir().unwrap();
	let (input, payload) = (dir.path().join("g.safetensors"), dir.path().join("p.bin"));
	let mut grad = gradient();
	grad[2].data[1234] = f32::NAN;
	write_safetensors(&input, &grad, HashMap::new()).unwrap();

	let out = trainer(&["compress", "--input", arg(&input), "--output", arg(&payload)]);
	assert!(!out.status.success(), "compress accepted a NaN");
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(stderr.contains("non-finite"), "error does not say why: {stderr}");
	assert!(stderr.contains("tok_embeddings.weight"), "error does not name the tensor: {stderr}");
	assert!(!payload.exists(), "an output file was written");
	let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
	assert_eq!(leftovers, 1, "temporary files left behind");

	grad[2].data[1234] = f32::INFINITY;
	write_safetensors(&input, &grad, HashMap::new()).unwrap();
	let out = trainer(&["compress", "--input", arg(&input), "--output", arg(&payload)]);
	assert!(!out.status.success() && !payload.exists(), "compress accepted +Inf");
}

#[test]
fn decompress_refuses_a_corrupt_payload() {
	let dir = tempfile::tempdir().unwrap();
	let (payload, output) = (dir.path().join("p.bin"), dir.path().join("r.safetensors"));
	std::fs::write(&payload, b"not a payload at all").unwrap();
	let out = trainer(&["decompress", "--input", arg(&payload), "--output", arg(&output)]);
	assert!(!out.status.success());
	assert!(!output.exists());
}

#[test]
fn miner_and_validator_refuse_bad_arguments_before_touching_the_network() {
	let dir = tempfile::tempdir().unwrap();
	let state = dir.path().join("state");
	let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).to_string();

	let missing = trainer(&["miner", "--suri", "//Bob"]);
	assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
	assert!(stderr(&missing).contains("--state-dir"), "{}", stderr(&missing));

	let no_key = trainer(&["validator", "--state-dir", arg(&state), "--data", "synthetic"]);
	assert!(!no_key.status.success());
	assert!(stderr(&no_key).contains("--suri or --key-file"), "{}", stderr(&no_key));

	let copy =
		trainer(&["miner", "--suri", "//Bob", "--state-dir", arg(&state), "--behaviour", "copy"]);
	assert!(!copy.status.success());
	assert!(stderr(&copy).contains("--copy-from"), "{}", stderr(&copy));

	let bad_account =
		trainer(&["add-validator", "--suri", "//Alice", "--validator", "not-an-account"]);
	assert_eq!(bad_account.status.code(), Some(2), "{}", stderr(&bad_account));

	let too_long = trainer(&[
		"miner",
		"--suri",
		"//Bob",
		"--state-dir",
		arg(&state),
		"--data",
		"synthetic",
		"--seq-len",
		"100000",
	]);
	assert!(!too_long.status.success());
	assert!(stderr(&too_long).contains("max_seq_len"), "{}", stderr(&too_long));
}
