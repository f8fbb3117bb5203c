//! Export tests: the files' names and values, the refusals, and the round trip through
//! `transformers` (Python), which must compute the trainer's logits and tokenize as it does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use super::*;
use crate::data::{Tokenizer, TokenizerKind};
use crate::model::Precision;
use crate::tensor_io::{read_safetensors, to_array, write_safetensors};
use crate::training::{AdamW, CheckpointInfo, TrainConfig, TrainableModel};

/// A model of `config` whose every weight is random at a scale where each part of the forward
/// pass shows in the logits (so that a wrong name, norm or rotary layout cannot hide): linear
/// weights and embeddings N(0, 1/fan_in), norm gains 1 + N(0, 0.2²) (not all ones, so that
/// swapping the two norms of a block changes the result).
fn random_model(config: &ModelConfig, seed: i64) -> TrainableModel {
	let model = TrainableModel::new(config, Device::Cpu, Precision::Fp32, seed);
	tch::manual_seed(seed);
	let values: Vec<Tensor> = model
		.names()
		.iter()
		.zip(model.params())
		.map(|(name, p)| {
			let noise = Tensor::randn(p.size(), (Kind::Float, Device::Cpu));
			if name.contains("norm") {
				noise * 0.2 + 1.0
			} else {
				noise / (p.size()[1] as f64).sqrt()
			}
		})
		.collect();
	model.assign(&values);
	model
}

/// Writes `model` as the trainer writes a checkpoint into `dir`.
fn save_checkpoint(dir: &Path, model: &TrainableModel) {
	let train = TrainConfig::default();
	let optimizer = AdamW::new(model.params(), train.adamw);
	let info = CheckpointInfo {
		format_version: checkpoint::CHECKPOINT_VERSION,
		model: model.config().clone(),
		train,
		optimizer_steps: 0,
		rounds: 7,
		run_seed: 0,
		error_feedback_beta: None,
	};
	checkpoint::save(dir, info, model, &optimizer, None).unwrap();
}

/// `tiny` (byte tokenizer, tied embeddings, 4 query heads over 2 key/value heads).
fn tiny() -> ModelConfig {
	ModelConfig::builtin("tiny").unwrap()
}

/// A small GPT-2-tokenizer model unlike `tiny` in every switch: untied output head, one
/// key/value head for four query heads, a padded vocabulary (50304 rows for 50257 tokens),
/// `rope_theta` 500000 as `1b`.
fn small_gpt2() -> ModelConfig {
	ModelConfig {
		tokenizer: TokenizerKind::Gpt2,
		vocab_size: 50304,
		dim: 128,
		n_layers: 2,
		n_heads: 4,
		n_kv_heads: 1,
		ffn_hidden: 320,
		max_seq_len: 64,
		rope_theta: 500000.0,
		norm_eps: 1e-5,
		tie_embeddings: false,
	}
}

#[test]
fn export_renames_every_tensor_and_keeps_its_bits() {
	let dir = tempfile::tempdir().unwrap();
	let (ckpt, out) = (dir.path().join("checkpoint"), dir.path().join("hf"));
	let mut config = tiny();
	config.tie_embeddings = false;
	let model = random_model(&config, 1);
	save_checkpoint(&ckpt, &model);

	let summary = export_checkpoint(&ckpt, &out, ExportDtype::F32).unwrap();
	assert_eq!(summary.tensors, 2 * 9 + 3);
	assert_eq!(summary.parameters, config.param_count() as u64);
	for file in [
		"model.safetensors",
		"config.json",
		"generation_config.json",
		"tokenizer.json",
		"tokenizer_config.json",
	] {
		assert!(out.join(file).is_file(), "{file} missing");
	}
	let (exported, metadata) = read_safetensors(&out.join("model.safetensors")).unwrap();
	assert_eq!(metadata.get("format").map(String::as_str), Some("pt"));
	let by_name: HashMap<&str, _> = exported.iter().map(|a| (a.name.as_str(), a)).collect();
	for (p, (name, value)) in
		hf_parameters(&config).iter().zip(model.names().iter().zip(model.params()))
	{
		assert_eq!(&p.ours, name);
		assert_eq!(by_name[p.hf.as_str()], &to_array(&p.hf, value), "{name} → {}", p.hf);
	}
	let hf: Value =
		serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
	assert_eq!(hf["tie_word_embeddings"], false);
	assert_eq!(hf["torch_dtype"], "float32");

	// bf16: each value rounded to the nearest bfloat16 (8 significant bits: relative error ≤ 2⁻⁸).
	let out16 = dir.path().join("hf16");
	let summary16 = export_checkpoint(&ckpt, &out16, ExportDtype::Bf16).unwrap();
	assert!(summary16.bytes * 2 - summary.bytes < 4096, "half the bytes, headers aside");
	let (exported16, _) = read_safetensors(&out16.join("model.safetensors")).unwrap();
	for (a, b) in exported.iter().zip(&exported16) {
		assert_eq!(a.name, b.name);
		for (x, y) in a.data.iter().zip(&b.data) {
			assert_eq!(*y, half::bf16::from_f32(*x).to_f32());
			assert!((x - y).abs() <= x.abs() * 2f32.powi(-8), "{x} → {y}");
		}
	}
}

#[test]
fn export_refuses_weights_that_disagree_with_the_config_and_a_checkpoint_as_output() {
	let dir = tempfile::tempdir().unwrap();
	let ckpt = dir.path().join("checkpoint");
	save_checkpoint(&ckpt, &random_model(&tiny(), 2));
	let refused = export_checkpoint(&ckpt, &ckpt, ExportDtype::F32);
	assert!(matches!(refused, Err(ExportError::WouldOverwriteCheckpoint(_))), "{refused:?}");

	// A weights file with one tensor renamed.
	let weights = checkpoint::model_file(&ckpt);
	let (mut arrays, _) = read_safetensors(&weights).unwrap();
	arrays[0].name = "layers.0.attention.wz.weight".into();
	write_safetensors(&weights, &arrays, HashMap::new()).unwrap();
	let refused = export_checkpoint(&ckpt, &dir.path().join("hf"), ExportDtype::F32);
	assert!(matches!(refused, Err(ExportError::Mismatch(_))), "{refused:?}");
}

/// The Python of the project's venv (`scripts/setup.sh` installs `transformers` there), if it
/// can import `transformers`; `None` with the reason otherwise.
fn python_with_transformers() -> Result<PathBuf, String> {
	let python = std::env::var("GAUNTLET_VENV")
		.map(|venv| PathBuf::from(venv).join("bin/python"))
		.unwrap_or_else(|_| PathBuf::from("python3"));
	match Command::new(&python).args(["-c", "import transformers, safetensors, torch"]).output() {
		Ok(out) if out.status.success() => Ok(python),
		Ok(out) => Err(format!(
			"{} cannot import transformers ({}); scripts/setup.sh installs it",
			python.display(),
			String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()
		)),
		Err(e) => Err(format!("{} does not run: {e}", python.display())),
	}
}

/// Text with what tokenizers trip on: contractions, runs of spaces and newlines, digits,
/// punctuation, accents, CJK, emoji.
const TEXTS: &[&str] = &[
	"Hello world",
	"The quick brown fox jumps over the lazy dog. It's 2026; we'll see.",
	"  leading spaces,\ttabs\tand\n\nnew lines\n   ",
	"numbers 3.14159 and 1,000,000 and 42nd",
	"café naïve Ærøskøbing — “quotes” ‘single’",
	"日本語のテキストと emoji 🙂🚀",
	"def f(x):\n    return x**2  # code\n",
	"ALL CAPS!!! ??? ... ---",
];

/// One case of the round trip: `model` saved, exported as `dtype` into `dir/name`, the trainer's
/// logits of a fixed batch and its token ids of [`TEXTS`] written next to it.
fn round_trip_case(dir: &Path, name: &str, model: &TrainableModel, dtype: ExportDtype) -> Value {
	let (ckpt, out) = (dir.join(format!("{name}.ckpt")), dir.join(name));
	save_checkpoint(&ckpt, model);
	export_checkpoint(&ckpt, &out, dtype).unwrap();
	// Two sequences of 48 ids spread over the whole embedding, padded rows included.
	let vocab = model.config().vocab_size;
	let tokens: Vec<Vec<i64>> =
		(0..2).map(|b| (0..48).map(|t| (b * 7919 + t * 104_729 + 13) % vocab).collect()).collect();
	let flat: Vec<i64> = tokens.concat();
	let input = Tensor::from_slice(&flat).view([2, 48]);
	let logits = tch::no_grad(|| model.llama().forward(&input));
	let logits_path = dir.join(format!("{name}.logits.safetensors"));
	write_safetensors(&logits_path, &[to_array("logits", &logits)], HashMap::new()).unwrap();
	let tokenizer = Tokenizer::new(model.config().tokenizer);
	let ids: Vec<Vec<u32>> = TEXTS.iter().map(|t| tokenizer.encode(t)).collect();
	json!({
		"name": name,
		"dir": out,
		"dtype": match dtype { ExportDtype::F32 => "f32", ExportDtype::Bf16 => "bf16" },
		"tokens": tokens,
		"logits": logits_path,
		"texts": TEXTS,
		"ids": ids,
	})
}

/// `transformers` loads the export as a `LlamaForCausalLM` and computes the trainer's fp32
/// logits (the trainer's forward in fp32 on the CPU) of a batch of 2 × 48 tokens:
/// - fp32 export, run in fp32: largest difference ≤ 1e-4 × the logits' largest magnitude. Both
///   sides run libtorch on the same fp32 weights; only the order of a few operations may differ
///   between `transformers` versions (rotary frequencies, the norm's products), a few fp32 ulps
///   (2⁻²⁴ ≈ 6e-8) each. Measured with transformers 4.57.6 and torch 2.11.0: 0.0, bit for bit.
/// - bf16 export, run by `transformers` in bf16: ≤ 5e-2 × the scale. bf16 keeps 8 significant
///   bits (rounding error up to 2⁻⁸ ≈ 4e-3 of each weight and of each operation's result),
///   compounded through two blocks and the head. Measured: 0.080 at a scale of 4.74 (1.7%).
/// - Control: the fp32 export with its `q_proj`/`k_proj` rows permuted as Meta → HF converters
///   do for interleaved rotary pairs (wrong for our halves layout) differs by more than 100× the
///   fp32 bound (measured: 3.9 and 5.3, most of the scale), so the comparison sees the layout.
/// - The HF tokenizer gives the trainer's ids for every text of [`TEXTS`] and decodes them back
///   to the text (GPT-2 BPE and bytes).
#[test]
fn transformers_loads_the_export_and_matches_tch_logits() {
	let python = match python_with_transformers() {
		Ok(python) => python,
		Err(why) => return crate::test_support::skip_or_fail_in_ci(&why),
	};
	let dir = tempfile::tempdir().unwrap();
	let tiny_model = random_model(&tiny(), 11);
	let gpt2_model = random_model(&small_gpt2(), 12);
	let cases = vec![
		round_trip_case(dir.path(), "tiny-f32", &tiny_model, ExportDtype::F32),
		round_trip_case(dir.path(), "tiny-bf16", &tiny_model, ExportDtype::Bf16),
		round_trip_case(dir.path(), "small-gpt2-f32", &gpt2_model, ExportDtype::F32),
	];
	let manifest = dir.path().join("manifest.json");
	std::fs::write(&manifest, serde_json::to_vec(&json!({ "cases": cases })).unwrap()).unwrap();

	// The runner's CARGO_MANIFEST_DIR first: a test binary reused from a shared target directory
	// may have been compiled in another checkout.
	let crate_dir =
		std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
	let script = Path::new(&crate_dir).join("tests/python/check_hf_export.py");
	let out = Command::new(&python)
		.arg(&script)
		.arg(&manifest)
		.env("HF_HUB_OFFLINE", "1")
		.env("TRANSFORMERS_OFFLINE", "1")
		.output()
		.unwrap();
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "{} failed:\n{stderr}", script.display());
	let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
		panic!("report is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
	});
	eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());

	let case = |name: &str| {
		report["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone()
	};
	let number = |c: &Value, key: &str| c[key].as_f64().unwrap_or_else(|| panic!("{key}: {c}"));
	for (name, model, bound) in [
		("tiny-f32", &tiny_model, 1e-4),
		("tiny-bf16", &tiny_model, 5e-2),
		("small-gpt2-f32", &gpt2_model, 1e-4),
	] {
		let c = case(name);
		let config = model.config();
		assert_eq!(c["class"], "LlamaForCausalLM", "{name}");
		assert_eq!(c["parameters"].as_i64(), Some(config.param_count()), "{name}");
		assert_eq!(c["logits_shape"], json!([2, 48, config.vocab_size]), "{name}");
		let (diff, scale) = (number(&c, "max_abs_diff"), number(&c, "logit_scale"));
		assert!(scale > 1.0, "{name}: logits of scale {scale}");
		assert!(diff <= bound * scale, "{name}: logits differ by {diff} (scale {scale})");
		if let Some(control) = c["interleaved_rope_max_abs_diff"].as_f64() {
			assert!(control > 100.0 * bound * scale, "{name}: wrong rotary layout only {control}");
		}
		assert_eq!(c["texts"], TEXTS.len(), "{name}");
		assert_eq!(c["tokenizer_mismatches"], json!([]), "{name}");
		assert_eq!(c["tokenizer_len"], config.tokenizer.vocab_size(), "{name}");
	}
}
