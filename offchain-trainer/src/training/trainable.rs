//! A model together with its variable store and a stable, named list of its parameters.

use tch::{nn, Device, Kind, Tensor};

use crate::data::Batch;
use crate::model::{Llama, ModelConfig, Precision};

/// The decoder, its [`nn::VarStore`], and its parameters sorted by name (the order every
/// optimizer state, pseudo-gradient and checkpoint uses).
#[derive(Debug)]
pub struct TrainableModel {
	// Keeps the variables alive; the model and `params` hold handles into it.
	_vs: nn::VarStore,
	llama: Llama,
	names: Vec<String>,
	params: Vec<Tensor>,
}

impl TrainableModel {
	/// A freshly initialised model on `device`; the same `seed` gives the same weights.
	pub fn new(config: &ModelConfig, device: Device, precision: Precision, seed: i64) -> Self {
		tch::manual_seed(seed);
		let vs = nn::VarStore::new(device);
		let llama = Llama::new(vs.root(), config, precision);
		let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
		named.sort_by(|a, b| a.0.cmp(&b.0));
		let (names, params) = named.into_iter().unzip();
		Self { _vs: vs, llama, names, params }
	}

	/// The decoder.
	pub fn llama(&self) -> &Llama {
		&self.llama
	}

	/// The configuration.
	pub fn config(&self) -> &ModelConfig {
		self.llama.config()
	}

	/// The device the weights live on.
	pub fn device(&self) -> Device {
		self.llama.device()
	}

	/// Parameter names, sorted.
	pub fn names(&self) -> &[String] {
		&self.names
	}

	/// Parameters, in [`Self::names`] order (handles: updating them updates the model).
	pub fn params(&self) -> &[Tensor] {
		&self.params
	}

	/// Number of scalar parameters.
	pub fn numel(&self) -> usize {
		self.params.iter().map(Tensor::numel).sum()
	}

	/// Detached copies of the current weights.
	pub fn snapshot(&self) -> Vec<Tensor> {
		tch::no_grad(|| self.params.iter().map(|p| p.detach().copy()).collect())
	}

	/// Overwrites the weights with `values` (same order and shapes as [`Self::params`]).
	pub fn assign(&self, values: &[Tensor]) {
		assert_eq!(values.len(), self.params.len(), "one value per parameter");
		tch::no_grad(|| {
			for (p, v) in self.params.iter().zip(values) {
				p.shallow_clone().copy_(v);
			}
		});
	}

	/// Clears every parameter's gradient.
	pub fn zero_grad(&self) {
		for p in &self.params {
			let mut g = p.grad();
			if g.defined() {
				let _ = g.zero_();
			}
		}
	}

	/// Mean loss over `batch` without gradients, `micro` sequences per forward pass.
	pub fn eval_loss(&self, batch: &Batch, micro: i64) -> f64 {
		tch::no_grad(|| {
			let mut total = 0.0;
			for mb in batch.micro_batches(micro) {
				let loss = self.llama.loss(&mb.inputs, &mb.targets).to_kind(Kind::Double);
				total += loss.double_value(&[]) * mb.len() as f64;
			}
			total / batch.len().max(1) as f64
		})
	}
}
