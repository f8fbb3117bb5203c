//! Model shapes, read from a serde file of named configurations (`configs/models.json`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::TokenizerKind;

/// The configurations shipped with the crate (`configs/models.json`): `tiny`, `small`, `124m`, `1b`.
pub const BUILTIN_MODELS: &str = include_str!("../../configs/models.json");

/// A configuration that cannot be loaded or does not describe a valid model.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
	/// The file could not be read.
	#[error("reading model configs {path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// The text is not a JSON map of name → configuration.
	#[error("parsing model configs: {0}")]
	Parse(#[from] serde_json::Error),
	/// No configuration has this name.
	#[error("unknown model {name:?}; known: {known}")]
	Unknown {
		/// The name asked for.
		name: String,
		/// The names on offer, comma-separated.
		known: String,
	},
	/// The shapes do not fit together.
	#[error("invalid model config: {0}")]
	Invalid(String),
}

/// A LLaMA-style decoder: RMSNorm, rotary embeddings, SwiGLU MLP, grouped-query attention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
	/// The tokenizer whose ids the model reads.
	pub tokenizer: TokenizerKind,
	/// Embedding rows: at least the tokenizer's vocabulary, padded to a multiple of 64 so that
	/// SparseLoCo tiles the embedding into 64×64 chunks (GPT-2's 50257 = 29·1733 would give 29×64
	/// tiles and twice the payload).
	pub vocab_size: i64,
	/// Width of the residual stream.
	pub dim: i64,
	/// Transformer blocks.
	pub n_layers: i64,
	/// Query heads.
	pub n_heads: i64,
	/// Key/value heads; `n_heads` must be a multiple (grouped-query attention).
	pub n_kv_heads: i64,
	/// Hidden width of the SwiGLU MLP.
	pub ffn_hidden: i64,
	/// Longest sequence the rotary tables cover.
	pub max_seq_len: i64,
	/// Rotary base frequency.
	pub rope_theta: f64,
	/// RMSNorm epsilon.
	pub norm_eps: f64,
	/// Share the input embedding with the output projection.
	pub tie_embeddings: bool,
}

impl ModelConfig {
	/// A configuration shipped with the crate, by name.
	pub fn builtin(name: &str) -> Result<Self, ConfigError> {
		Self::from_json(BUILTIN_MODELS, name)
	}

	/// A configuration from a JSON file of `{ name: config }`.
	pub fn from_file(path: &Path, name: &str) -> Result<Self, ConfigError> {
		let text = std::fs::read_to_string(path)
			.map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
		Self::from_json(&text, name)
	}

	/// A configuration from JSON text of `{ name: config }`.
	pub fn from_json(text: &str, name: &str) -> Result<Self, ConfigError> {
		let mut all: BTreeMap<String, ModelConfig> = serde_json::from_str(text)?;
		let known = all.keys().cloned().collect::<Vec<_>>().join(", ");
		let config =
			all.remove(name).ok_or_else(|| ConfigError::Unknown { name: name.into(), known })?;
		config.validate()?;
		Ok(config)
	}

	/// Checks that the shapes fit together.
	pub fn validate(&self) -> Result<(), ConfigError> {
		let bad = |m: String| Err(ConfigError::Invalid(m));
		let positive = [
			("vocab_size", self.vocab_size),
			("dim", self.dim),
			("n_layers", self.n_layers),
			("n_heads", self.n_heads),
			("n_kv_heads", self.n_kv_heads),
			("ffn_hidden", self.ffn_hidden),
			("max_seq_len", self.max_seq_len),
		];
		if let Some((name, v)) = positive.iter().find(|(_, v)| *v <= 0) {
			return bad(format!("{name} must be positive, got {v}"));
		}
		if self.dim % self.n_heads != 0 {
			return bad(format!("dim {} is not a multiple of n_heads {}", self.dim, self.n_heads));
		}
		if self.n_heads % self.n_kv_heads != 0 {
			return bad(format!(
				"n_heads {} is not a multiple of n_kv_heads {}",
				self.n_heads, self.n_kv_heads
			));
		}
		if self.head_dim() % 2 != 0 {
			return bad(format!("head_dim {} must be even for rotary embeddings", self.head_dim()));
		}
		let needed = self.tokenizer.vocab_size();
		if self.vocab_size < needed {
			return bad(format!("vocab_size {} below the tokenizer's {needed}", self.vocab_size));
		}
		if !(self.rope_theta > 0.0 && self.norm_eps > 0.0) {
			return bad("rope_theta and norm_eps must be positive".into());
		}
		Ok(())
	}

	/// Width of one attention head.
	pub fn head_dim(&self) -> i64 {
		self.dim / self.n_heads
	}

	/// Number of trainable parameters (tied embeddings counted once).
	pub fn param_count(&self) -> i64 {
		let kv = self.n_kv_heads * self.head_dim();
		let attention = 2 * self.dim * self.dim + 2 * self.dim * kv;
		let mlp = 3 * self.dim * self.ffn_hidden;
		let norms = 2 * self.dim;
		let embeddings = self.vocab_size * self.dim * if self.tie_embeddings { 1 } else { 2 };
		self.n_layers * (attention + mlp + norms) + self.dim + embeddings
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn builtin_models_have_the_advertised_sizes() {
		let millions = |name: &str| ModelConfig::builtin(name).unwrap().param_count() as f64 / 1e6;
		assert!((1.0..=5.0).contains(&millions("tiny")), "tiny {}", millions("tiny"));
		assert!((10.0..=20.0).contains(&millions("small")), "small {}", millions("small"));
		assert!((110.0..=140.0).contains(&millions("124m")), "124m {}", millions("124m"));
		assert!((900.0..=1300.0).contains(&millions("1b")), "1b {}", millions("1b"));
	}

	#[test]
	fn unknown_and_inconsistent_configs_are_refused() {
		assert!(matches!(ModelConfig::builtin("huge"), Err(ConfigError::Unknown { .. })));
		let mut c = ModelConfig::builtin("tiny").unwrap();
		c.n_kv_heads = 3; // 4 query heads are not a multiple of 3 kv heads
		assert!(matches!(c.validate(), Err(ConfigError::Invalid(_))));
		let mut c = ModelConfig::builtin("small").unwrap();
		c.vocab_size = 1000;
		assert!(matches!(c.validate(), Err(ConfigError::Invalid(_))));
	}
}
