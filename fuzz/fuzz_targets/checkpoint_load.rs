//! The checkpoint loader's parsing (`offchain-trainer/src/training/checkpoint.rs`): what `load`
//! reads from a checkpoint directory before any tensor reaches libtorch. The input is
//! `config.json` and one safetensors file (`gauntlet_fuzz::split_checkpoint`); the target calls
//! the loader's own bytes-level functions, `checkpoint::parse_info` (what `read_info` does with
//! the file's bytes) and `tensor_io::parse_safetensors` (what `read_safetensors` does with the
//! mapped file), then `ErrorBuffers::from_arrays` for the error-feedback file. Building the
//! model itself (`TrainableModel::new`, libtorch) is left out: it is not parsing, and a fuzzed
//! model config would allocate whatever it names.
//!
//! Property: each step returns a typed error, or
//! - `config.json`: a `CheckpointInfo` of this format version that, written back as
//!   `Snapshot::write` writes it (`serde_json::to_vec_pretty`), reads back equal (when every
//!   float in it is finite: JSON has no NaN or infinity);
//! - safetensors: tensors sorted by name, names unique, each with as many `f32` values as its
//!   shape holds, and the file's metadata; written back as the checkpoint writer writes them
//!   (`serialize_safetensors`), they read back bit for bit with the same metadata;
//! - error feedback: buffers accepted only with a β in `0..=1` and finite values everywhere.
#![no_main]

use gauntlet_fuzz::split_checkpoint;
use libfuzzer_sys::fuzz_target;
use offchain_trainer::outer::ErrorBuffers;
use offchain_trainer::tensor_io::{parse_safetensors, serialize_safetensors};
use offchain_trainer::training::checkpoint::{parse_info, CHECKPOINT_VERSION};
use offchain_trainer::training::CheckpointInfo;

fuzz_target!(|data: &[u8]| {
	let (config, safetensors) = split_checkpoint(data);

	let info = parse_info(config).ok();
	if let Some(info) = &info {
		assert_eq!(info.format_version, CHECKPOINT_VERSION);
		assert!(info.model.validate().is_ok(), "parse_info accepted an invalid model config");
		if all_finite(info) {
			let written = serde_json::to_vec_pretty(info).expect("CheckpointInfo serialises");
			let back = parse_info(&written).expect("a written config.json does not read back");
			assert_eq!(&back, info, "config.json does not round-trip");
		}
	}

	let Ok((tensors, metadata)) = parse_safetensors(safetensors, "fuzz.safetensors") else {
		return;
	};
	for pair in tensors.windows(2) {
		assert!(pair[0].name < pair[1].name, "names not sorted and unique");
	}
	for t in &tensors {
		let numel = t.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
		assert_eq!(numel, Some(t.data.len()));
	}
	let written = serialize_safetensors(&tensors, metadata.clone(), "rewritten")
		.expect("parsed tensors do not serialise");
	let (back, back_meta) =
		parse_safetensors(&written, "rewritten").expect("rewritten tensors do not parse");
	assert_eq!(back_meta, metadata);
	assert_eq!(back.len(), tensors.len());
	for (a, b) in back.iter().zip(&tensors) {
		assert_eq!((&a.name, &a.shape), (&b.name, &b.shape));
		assert!(a.data.iter().map(|v| v.to_bits()).eq(b.data.iter().map(|v| v.to_bits())));
	}

	let beta = info.as_ref().and_then(|i| i.error_feedback_beta).unwrap_or(0.95);
	if let Ok(ef) = ErrorBuffers::from_arrays(beta, tensors) {
		assert!((0.0..=1.0).contains(&ef.beta()));
		assert!(ef.arrays().iter().all(|a| a.data.iter().all(|v| v.is_finite())));
	}
});

/// Whether every float of `info` has a JSON form (`serde_json` writes NaN and ±∞ as `null`).
fn all_finite(info: &CheckpointInfo) -> bool {
	let (m, t) = (&info.model, &info.train);
	[m.rope_theta, m.norm_eps, t.lr, t.min_lr_ratio, t.grad_clip]
		.into_iter()
		.chain([t.adamw.beta1, t.adamw.beta2, t.adamw.eps, t.adamw.weight_decay])
		.all(f64::is_finite)
		&& info.error_feedback_beta.is_none_or(f32::is_finite)
}
