//! The trainer's decoder in Hugging Face's LLaMA vocabulary: each parameter's `transformers` name
//! and the `config.json` of `LlamaForCausalLM` that runs the same forward pass.
//!
//! The two models compute the same function, tensor for tensor, with no reshaping:
//! - **Rotary embeddings.** [`crate::model::rope`] rotates the two *halves* of each head
//!   (`x1 = x[..d/2]`, `x2 = x[d/2..]`, `rotate_half(x) = [-x2, x1]`), which is what HF's
//!   `apply_rotary_pos_emb` does, with the same frequencies `θ^(-2i/d)`. Meta's original checkpoints
//!   rotate *interleaved* pairs, which is why `convert_llama_weights_to_hf.py` permutes the rows
//!   of `wq` and `wk`; our weights are already in the halves layout, so they are copied as they are.
//! - **RMSNorm** `x · rsqrt(mean(x²) + ε) · g` in fp32 on both sides: `rms_norm_eps` = `norm_eps`.
//! - **SwiGLU** `w2(silu(w1 x) ⊙ w3 x)`: `w1` is `gate_proj`, `w3` is `up_proj`, `w2` is
//!   `down_proj`.
//! - **Grouped-query attention**: query head `h` reads key/value head `h / (n_heads/n_kv_heads)`
//!   ([`crate::model::attention::repeat_kv`]), as HF's `repeat_kv`; scores scaled by
//!   `1/√head_dim`, causal, no bias anywhere.
//! - **Output head**: tied to the embedding when `tie_embeddings` (`tie_word_embeddings`, and no
//!   `lm_head.weight` in the file, as `transformers` itself saves tied models).
//! - **Vocabulary**: the embedding keeps its padded rows (`vocab_size`, a multiple of 64); the
//!   tokenizer never produces those ids, and the logits keep their columns.

use serde::{Deserialize, Serialize};

use crate::data::tokenizer::GPT2_EOT;
use crate::data::TokenizerKind;
use crate::model::ModelConfig;

/// One parameter as the checkpoint stores it and as `transformers` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HfParameter {
	/// The trainer's name (Meta's LLaMA layout: `layers.0.attention.wq.weight`).
	pub ours: String,
	/// The `LlamaForCausalLM` state-dict name (`model.layers.0.self_attn.q_proj.weight`).
	pub hf: String,
	/// The shape, identical on both sides (`(out, in)` for projections).
	pub shape: Vec<usize>,
}

/// Every parameter of a model of `config`, in the trainer's name order (sorted), with its HF name.
pub fn hf_parameters(config: &ModelConfig) -> Vec<HfParameter> {
	let d = |v: i64| usize::try_from(v).expect("validated configs have positive sizes");
	let (dim, hidden) = (d(config.dim), d(config.ffn_hidden));
	let (q_dim, kv_dim) =
		(d(config.n_heads * config.head_dim()), d(config.n_kv_heads * config.head_dim()));
	let param = |ours: String, hf: String, shape: Vec<usize>| HfParameter { ours, hf, shape };
	let mut out = vec![
		param(
			"tok_embeddings.weight".into(),
			"model.embed_tokens.weight".into(),
			vec![d(config.vocab_size), dim],
		),
		param("norm.weight".into(), "model.norm.weight".into(), vec![dim]),
	];
	if !config.tie_embeddings {
		out.push(param(
			"output.weight".into(),
			"lm_head.weight".into(),
			vec![d(config.vocab_size), dim],
		));
	}
	for layer in 0..config.n_layers {
		let (ours, hf) = (format!("layers.{layer}"), format!("model.layers.{layer}"));
		let per_layer = [
			("attention_norm", "input_layernorm", vec![dim]),
			("ffn_norm", "post_attention_layernorm", vec![dim]),
			("attention.wq", "self_attn.q_proj", vec![q_dim, dim]),
			("attention.wk", "self_attn.k_proj", vec![kv_dim, dim]),
			("attention.wv", "self_attn.v_proj", vec![kv_dim, dim]),
			("attention.wo", "self_attn.o_proj", vec![dim, q_dim]),
			("feed_forward.w1", "mlp.gate_proj", vec![hidden, dim]),
			("feed_forward.w3", "mlp.up_proj", vec![hidden, dim]),
			("feed_forward.w2", "mlp.down_proj", vec![dim, hidden]),
		];
		for (o, h, shape) in per_layer {
			out.push(param(format!("{ours}.{o}.weight"), format!("{hf}.{h}.weight"), shape));
		}
	}
	out.sort_by(|a, b| a.ours.cmp(&b.ours));
	out
}

/// `config.json` of a `LlamaForCausalLM` (the keys `transformers.LlamaConfig` reads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HfLlamaConfig {
	/// `["LlamaForCausalLM"]`: what `AutoModelForCausalLM` instantiates.
	pub architectures: Vec<String>,
	/// `"llama"`.
	pub model_type: String,
	/// Embedding rows (the trainer's padded `vocab_size`).
	pub vocab_size: i64,
	/// `dim`.
	pub hidden_size: i64,
	/// `ffn_hidden`.
	pub intermediate_size: i64,
	/// `n_layers`.
	pub num_hidden_layers: i64,
	/// `n_heads`.
	pub num_attention_heads: i64,
	/// `n_kv_heads`.
	pub num_key_value_heads: i64,
	/// `dim / n_heads`.
	pub head_dim: i64,
	/// `"silu"`: the SwiGLU gate.
	pub hidden_act: String,
	/// `max_seq_len`: the longest sequence the model was trained for.
	pub max_position_embeddings: i64,
	/// `norm_eps`.
	pub rms_norm_eps: f64,
	/// `rope_theta`.
	pub rope_theta: f64,
	/// `None`: plain rotary embeddings, no scaling.
	pub rope_scaling: Option<serde_json::Value>,
	/// No bias in the attention projections.
	pub attention_bias: bool,
	/// No dropout.
	pub attention_dropout: f64,
	/// No bias in the MLP.
	pub mlp_bias: bool,
	/// `tie_embeddings`.
	pub tie_word_embeddings: bool,
	/// The trainer's initialisation standard deviation (only used if weights are re-initialised).
	pub initializer_range: f64,
	/// GPT-2's `<|endoftext|>`, or none for the byte tokenizer.
	pub bos_token_id: Option<u32>,
	/// As `bos_token_id`: GPT-2 separates documents with `<|endoftext|>`.
	pub eos_token_id: Option<u32>,
	/// One slice for the MLP (the key older `transformers` versions expect).
	pub pretraining_tp: u32,
	/// Key-value cache on by default for generation.
	pub use_cache: bool,
	/// The dtype of the exported weights (`"float32"` or `"bfloat16"`).
	pub torch_dtype: String,
}

impl HfLlamaConfig {
	/// The configuration that reproduces a model of `config` whose weights are stored as
	/// `torch_dtype`.
	pub fn of(config: &ModelConfig, torch_dtype: &str) -> Self {
		let special = match config.tokenizer {
			TokenizerKind::Gpt2 => Some(GPT2_EOT),
			TokenizerKind::Byte => None,
		};
		Self {
			architectures: vec!["LlamaForCausalLM".into()],
			model_type: "llama".into(),
			vocab_size: config.vocab_size,
			hidden_size: config.dim,
			intermediate_size: config.ffn_hidden,
			num_hidden_layers: config.n_layers,
			num_attention_heads: config.n_heads,
			num_key_value_heads: config.n_kv_heads,
			head_dim: config.head_dim(),
			hidden_act: "silu".into(),
			max_position_embeddings: config.max_seq_len,
			rms_norm_eps: config.norm_eps,
			rope_theta: config.rope_theta,
			rope_scaling: None,
			attention_bias: false,
			attention_dropout: 0.0,
			mlp_bias: false,
			tie_word_embeddings: config.tie_embeddings,
			initializer_range: 0.02,
			bos_token_id: special,
			eos_token_id: special,
			pretraining_tp: 1,
			use_cache: true,
			torch_dtype: torch_dtype.into(),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::model::Precision;
	use crate::training::TrainableModel;

	/// The mapping covers exactly the parameters the model has, with their shapes: a parameter
	/// added to the model without a name here fails this test, not a user's export.
	#[test]
	fn every_model_parameter_has_one_hf_name_with_its_shape() {
		for tie in [true, false] {
			let mut config = ModelConfig::builtin("tiny").unwrap();
			config.tie_embeddings = tie;
			let model = TrainableModel::new(&config, tch::Device::Cpu, Precision::Fp32, 0);
			let ours: Vec<(String, Vec<usize>)> = model
				.names()
				.iter()
				.zip(model.params())
				.map(|(n, p)| (n.clone(), p.size().iter().map(|&s| s as usize).collect()))
				.collect();
			let mapped = hf_parameters(&config);
			let mapped_ours: Vec<(String, Vec<usize>)> =
				mapped.iter().map(|p| (p.ours.clone(), p.shape.clone())).collect();
			assert_eq!(mapped_ours, ours, "tie_embeddings {tie}");
			let mut hf: Vec<&str> = mapped.iter().map(|p| p.hf.as_str()).collect();
			hf.sort_unstable();
			hf.dedup();
			assert_eq!(hf.len(), mapped.len(), "HF names are distinct");
			// tiny: 2 layers × 9 tensors + embedding + final norm (+ the untied head).
			assert_eq!(mapped.len(), 2 * 9 + 2 + usize::from(!tie));
		}
	}

	#[test]
	fn config_carries_the_shapes_and_constants_of_the_model() {
		let config = ModelConfig::builtin("1b").unwrap();
		let hf = HfLlamaConfig::of(&config, "bfloat16");
		let json = serde_json::to_value(&hf).unwrap();
		assert_eq!(json["model_type"], "llama");
		assert_eq!(json["architectures"][0], "LlamaForCausalLM");
		assert_eq!(json["vocab_size"], 50304);
		assert_eq!(json["hidden_size"], 2048);
		assert_eq!(json["intermediate_size"], 8192);
		assert_eq!(json["num_hidden_layers"], 16);
		assert_eq!(json["num_attention_heads"], 32);
		assert_eq!(json["num_key_value_heads"], 8);
		assert_eq!(json["head_dim"], 64);
		assert_eq!(json["rope_theta"], 500000.0);
		assert_eq!(json["rms_norm_eps"], 1e-5);
		assert_eq!(json["max_position_embeddings"], 2048);
		assert_eq!(json["tie_word_embeddings"], true);
		assert_eq!(json["rope_scaling"], serde_json::Value::Null);
		assert_eq!(json["eos_token_id"], 50256);
		let byte = HfLlamaConfig::of(&ModelConfig::builtin("tiny").unwrap(), "float32");
		assert_eq!(byte.eos_token_id, None);
	}
}
