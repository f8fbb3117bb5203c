//! The LLaMA-style decoder: token embedding, `n_layers` pre-norm blocks, final norm, output head.

use tch::{nn, Device, Kind, Tensor};

use super::attention::Attention;
use super::config::ModelConfig;
use super::linear::Linear;
use super::mlp::SwiGlu;
use super::rms_norm::RmsNorm;
use super::rope::Rotary;
use super::Precision;

/// Standard deviation of the initial weights (GPT-2's); residual outputs get `0.02/√(2L)`.
const INIT_STD: f64 = 0.02;

/// One pre-norm block: `h = x + attn(norm(x))`, `y = h + mlp(norm(h))`.
#[derive(Debug)]
pub(in crate::model) struct Block {
	pub(in crate::model) attention_norm: RmsNorm,
	pub(in crate::model) attention: Attention,
	pub(in crate::model) ffn_norm: RmsNorm,
	pub(in crate::model) feed_forward: SwiGlu,
}

impl Block {
	fn new(vs: nn::Path, config: &ModelConfig) -> Self {
		let out_std = INIT_STD / (2.0 * config.n_layers as f64).sqrt();
		Self {
			attention_norm: RmsNorm::new(&vs / "attention_norm", config.dim, config.norm_eps),
			attention: Attention::new(&vs / "attention", config, INIT_STD, out_std),
			ffn_norm: RmsNorm::new(&vs / "ffn_norm", config.dim, config.norm_eps),
			feed_forward: SwiGlu::new(
				&vs / "feed_forward",
				config.dim,
				config.ffn_hidden,
				INIT_STD,
				out_std,
			),
		}
	}

	fn forward(&self, xs: &Tensor, rope: &Rotary, kind: Kind) -> Tensor {
		let h = xs + self.attention.forward(&self.attention_norm.forward(xs), rope, kind);
		let out = self.feed_forward.forward(&self.ffn_norm.forward(&h), kind);
		h + out
	}
}

/// The decoder. Parameters live in the [`nn::VarStore`] it was built from, in fp32; matrix
/// products run in the [`Precision`]'s kind. Tensor names follow Meta's LLaMA checkpoints
/// (`tok_embeddings.weight`, `layers.3.attention.wq.weight`, `norm.weight`, `output.weight`).
#[derive(Debug)]
pub struct Llama {
	config: ModelConfig,
	pub(in crate::model) tok_embeddings: Tensor,
	pub(in crate::model) layers: Vec<Block>,
	pub(in crate::model) norm: RmsNorm,
	pub(in crate::model) output: Option<Linear>,
	pub(in crate::model) rope: Rotary,
	pub(in crate::model) kind: Kind,
}

impl Llama {
	/// Builds the model under `vs` (its device decides where the weights live), drawing the
	/// initial weights from libtorch's generator (seed it with `tch::manual_seed` first).
	pub fn new(vs: nn::Path, config: &ModelConfig, precision: Precision) -> Self {
		let init = nn::Init::Randn { mean: 0.0, stdev: INIT_STD };
		let tok_embeddings =
			(&vs / "tok_embeddings").var("weight", &[config.vocab_size, config.dim], init);
		let layers = (0..config.n_layers).map(|i| Block::new(&vs / "layers" / i, config)).collect();
		let norm = RmsNorm::new(&vs / "norm", config.dim, config.norm_eps);
		let output = (!config.tie_embeddings)
			.then(|| Linear::new(&vs / "output", config.dim, config.vocab_size, INIT_STD));
		let rope =
			Rotary::new(config.head_dim(), config.max_seq_len, config.rope_theta, vs.device());
		Self {
			config: config.clone(),
			tok_embeddings,
			layers,
			norm,
			output,
			rope,
			kind: precision.compute_kind(vs.device()),
		}
	}

	/// The configuration the model was built from.
	pub fn config(&self) -> &ModelConfig {
		&self.config
	}

	/// The device the weights live on.
	pub fn device(&self) -> Device {
		self.tok_embeddings.device()
	}

	/// Next-token logits `(batch, seq, vocab)` for `tokens` `(batch, seq)` of kind `Int64`, in the
	/// compute kind. Causal: the logits at position `i` depend on tokens `0..=i` only.
	pub fn forward(&self, tokens: &Tensor) -> Tensor {
		let mut h =
			Tensor::embedding(&self.tok_embeddings, tokens, -1, false, false).to_kind(self.kind);
		for layer in &self.layers {
			h = layer.forward(&h, &self.rope, self.kind);
		}
		let h = self.norm.forward(&h);
		match &self.output {
			Some(output) => output.forward(&h, self.kind),
			None => h.matmul(&self.tok_embeddings.to_kind(self.kind).tr()),
		}
	}

	/// Mean cross-entropy (nats per token) of predicting `targets` from `tokens`, both
	/// `(batch, seq)`; computed in fp32 whatever the compute kind.
	pub fn loss(&self, tokens: &Tensor, targets: &Tensor) -> Tensor {
		let logits = self.forward(tokens).to_kind(Kind::Float);
		let vocab = logits.size()[2];
		logits.view([-1, vocab]).cross_entropy_for_logits(&targets.view([-1]))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tiny() -> (nn::VarStore, Llama) {
		tch::manual_seed(0);
		let vs = nn::VarStore::new(Device::Cpu);
		let mut config = ModelConfig::builtin("tiny").unwrap();
		config.n_layers = 2;
		let model = Llama::new(vs.root(), &config, Precision::Fp32);
		(vs, model)
	}

	#[test]
	fn logits_have_batch_seq_vocab_shape_and_parameter_count_matches() {
		// Seeded: the initial loss depends on the random initialisation and the random tokens.
		tch::manual_seed(0);
		let (vs, model) = tiny();
		let tokens = Tensor::randint(256, [3, 17], (Kind::Int64, Device::Cpu));
		assert_eq!(model.forward(&tokens).size(), vec![3, 17, 256]);
		let counted: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
		assert_eq!(counted, model.config().param_count());
		let targets = Tensor::randint(256, [3, 17], (Kind::Int64, Device::Cpu));
		let loss = model.loss(&tokens, &targets).double_value(&[]);
		// Near-uniform predictions at initialisation: about ln(256) = 5.545 nats (unseeded runs
		// were seen up to 0.11 above it).
		assert!((loss - 256f64.ln()).abs() < 0.2, "initial loss {loss}");
	}

	#[test]
	fn changing_a_future_token_leaves_earlier_logits_unchanged() {
		let (_vs, model) = tiny();
		let tokens = Tensor::randint(256, [2, 24], (Kind::Int64, Device::Cpu));
		let changed = tokens.copy();
		let _ = changed.narrow(1, 15, 1).fill_(7);
		let _ = tokens.narrow(1, 15, 1).fill_(200);
		let (a, b) = tch::no_grad(|| (model.forward(&tokens), model.forward(&changed)));
		let before = (a.narrow(1, 0, 15) - b.narrow(1, 0, 15)).abs().max().double_value(&[]);
		assert_eq!(before, 0.0, "positions 0..15 saw token 15");
		let at = (a.narrow(1, 15, 1) - b.narrow(1, 15, 1)).abs().max().double_value(&[]);
		assert!(at > 1e-4, "position 15 ignored its own token");
	}

	#[test]
	fn untied_model_has_its_own_output_head() {
		let vs = nn::VarStore::new(Device::Cpu);
		let mut config = ModelConfig::builtin("tiny").unwrap();
		config.tie_embeddings = false;
		let _model = Llama::new(vs.root(), &config, Precision::Fp32);
		assert!(vs.variables().contains_key("output.weight"));
		let counted: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
		assert_eq!(counted, config.param_count());
	}
}
