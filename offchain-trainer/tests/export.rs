//! `gauntlet-trainer export` and `gauntlet-trainer eval` as a user runs them on a checkpoint.
//! (That `transformers` loads the export and computes the same logits is checked by
//! `offchain_trainer::export::tests::transformers_loads_the_export_and_matches_tch_logits`.)
//! Needs libtorch on LD_LIBRARY_PATH (scripts/env.sh sets it).

use std::path::Path;

use offchain_trainer::model::{ModelConfig, Precision};
use offchain_trainer::training::checkpoint::{self, CheckpointInfo, CHECKPOINT_VERSION};
use offchain_trainer::training::{AdamW, TrainConfig, TrainableModel};

mod common;
use common::{arg, trainer};

/// The `tiny` model at θ₀ of run seed 5, saved as a miner saves its checkpoint.
fn tiny_checkpoint(dir: &Path) {
	let config = ModelConfig::builtin("tiny").unwrap();
	let model = TrainableModel::new(&config, tch::Device::Cpu, Precision::Fp32, 5);
	let train = TrainConfig::default();
	let optimizer = AdamW::new(model.params(), train.adamw);
	let info = CheckpointInfo {
		format_version: CHECKPOINT_VERSION,
		model: config,
		train,
		optimizer_steps: 0,
		rounds: 0,
		run_seed: 5,
		error_feedback_beta: None,
	};
	checkpoint::save(dir, info, &model, &optimizer, None).unwrap();
}

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> f64 {
	let rest = text.split(label).nth(1).unwrap_or_else(|| panic!("{label:?} not in {text:?}"));
	rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn export_writes_a_hugging_face_directory_and_refuses_to_overwrite_a_checkpoint() {
	let dir = tempfile::tempdir().unwrap();
	let (ckpt, out) = (dir.path().join("checkpoint"), dir.path().join("hf"));
	tiny_checkpoint(&ckpt);

	let run = trainer(&["export", "--checkpoint", arg(&ckpt), "--out", arg(&out)]);
	let stdout = String::from_utf8_lossy(&run.stdout);
	assert!(run.status.success(), "export failed: {}", String::from_utf8_lossy(&run.stderr));
	// tiny: 2 blocks × 9 tensors + embedding + final norm; 1,639,680 parameters.
	assert!(stdout.starts_with("20 tensors, 1639680 parameters"), "{stdout}");
	for file in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"] {
		assert!(out.join(file).is_file(), "{file} missing");
	}
	let config: serde_json::Value =
		serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
	assert_eq!(config["architectures"][0], "LlamaForCausalLM");
	assert_eq!(config["hidden_size"], 256);

	let run = trainer(&["export", "--checkpoint", arg(&ckpt), "--out", arg(&ckpt)]);
	assert!(!run.status.success(), "exporting over the checkpoint must fail");
	assert!(String::from_utf8_lossy(&run.stderr).contains("holds a checkpoint"));
}

/// At θ₀ the tiny model predicts bytes about uniformly: held-out loss within 0.2 of
/// ln 256 = 5.545 nats, perplexity exp(loss) (printed to 4 and 3 decimals).
#[test]
fn eval_prints_heldout_loss_and_perplexity() {
	let dir = tempfile::tempdir().unwrap();
	let ckpt = dir.path().join("checkpoint");
	tiny_checkpoint(&ckpt);
	let run = trainer(&[
		"eval",
		"--checkpoint",
		arg(&ckpt),
		"--data",
		"synthetic",
		"--synthetic-bytes",
		"200000",
		"--eval-seqs",
		"16",
		"--device",
		"cpu",
	]);
	let stdout = String::from_utf8_lossy(&run.stdout);
	assert!(run.status.success(), "eval failed: {}", String::from_utf8_lossy(&run.stderr));
	let loss = number_after(&stdout, "held-out loss");
	let perplexity = number_after(&stdout, "perplexity");
	assert!((loss - 256f64.ln()).abs() < 0.2, "{stdout}");
	assert!((perplexity - loss.exp()).abs() <= 1e-3 + perplexity * 1e-4, "{stdout}");
	assert!(stdout.contains("(16 sequences of 64 tokens, 1024 tokens;"), "{stdout}");
}
