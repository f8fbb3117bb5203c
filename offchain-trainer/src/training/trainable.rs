//! A model together with its variable store and a stable, named list of its parameters.

use std::sync::atomic::{AtomicBool, Ordering};

use tch::{nn, Device, Kind, Tensor};

use crate::data::Batch;
use crate::model::fused::{FusedOps, FusedPass};
use crate::model::{Llama, ModelConfig, Precision};

/// How the gradients of a training step are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backward {
	/// libtorch's autograd through [`Llama::loss`] (the CPU's path: bit-reproducible there).
	Autograd,
	/// The hand-written pass with fused kernels ([`FusedPass`]); the default on CUDA.
	Fused,
}

/// The decoder, its [`nn::VarStore`], and its parameters sorted by name (the order every
/// optimizer state, pseudo-gradient and checkpoint uses).
#[derive(Debug)]
pub struct TrainableModel {
	// Keeps the variables alive; the model and `params` hold handles into it.
	_vs: nn::VarStore,
	llama: Llama,
	names: Vec<String>,
	params: Vec<Tensor>,
	/// The fused pass when the model trains through it, `None` for autograd.
	fused: Option<FusedPass>,
	/// Whether every gradient is known to be zero (or absent), so [`Self::zero_grad`] has
	/// nothing to do: set by it, cleared by [`Self::mark_grads_written`] before anything adds
	/// to them. A step used to clear them twice (after its update and before the next step's
	/// passes); on a GPU that was a fill launch per parameter each time (1.3 ms a step at `124m`).
	grads_clear: AtomicBool,
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
		let grads_clear = AtomicBool::new(false);
		let mut model = Self { _vs: vs, llama, names, params, fused: None, grads_clear };
		if device.is_cuda() {
			model.set_backward(Backward::Fused);
		}
		model
	}

	/// Chooses how gradients are computed. [`Backward::Fused`] falls back to autograd, with a
	/// warning, when the kernels cannot be loaded or do not fit the model (bf16 activations,
	/// width ≤ 4096); on the CPU it runs the reference operations (what its tests check).
	pub fn set_backward(&mut self, backward: Backward) {
		self.fused = match backward {
			Backward::Autograd => None,
			Backward::Fused => match FusedOps::for_device(self.device()).map(FusedPass::new) {
				Ok(pass) if pass.supports(&self.llama) => Some(pass),
				Ok(_) => {
					tracing::info!("fused training pass does not fit this model; using autograd");
					None
				}
				Err(e) => {
					tracing::warn!(error = %e, "fused training pass unavailable; using autograd");
					None
				}
			},
		};
	}

	/// How gradients are computed now.
	pub fn backward(&self) -> Backward {
		if self.fused.is_some() {
			Backward::Fused
		} else {
			Backward::Autograd
		}
	}

	/// The fused pass, when gradients go through it.
	pub fn fused(&self) -> Option<&FusedPass> {
		self.fused.as_ref()
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

	/// Clears every parameter's gradient (nothing to do when they are known to be zero).
	pub fn zero_grad(&self) {
		if self.grads_clear.swap(true, Ordering::Relaxed) {
			return;
		}
		for p in &self.params {
			let mut g = p.grad();
			if g.defined() {
				let _ = g.zero_();
			}
		}
	}

	/// Records that the gradients are about to change (anything that adds to them calls this
	/// first), so the next [`Self::zero_grad`] clears them.
	pub fn mark_grads_written(&self) {
		self.grads_clear.store(false, Ordering::Relaxed);
	}

	/// Mean loss over `batch` without gradients, `micro` sequences per forward pass (through the
	/// fused pass's forward when the model trains through it).
	pub fn eval_loss(&self, batch: &Batch, micro: i64) -> f64 {
		tch::no_grad(|| {
			let mut total = 0.0;
			for mb in batch.micro_batches(micro) {
				let loss = match &self.fused {
					// A failure is a CUDA fault or a bug (see `accumulate_gradients`).
					Some(pass) => pass
						.loss(&self.llama, &mb.inputs, &mb.targets)
						.unwrap_or_else(|e| panic!("fused evaluation pass: {e}")),
					None => self.llama.loss(&mb.inputs, &mb.targets),
				};
				let loss = loss.to_kind(Kind::Double);
				total += loss.double_value(&[]) * mb.len() as f64;
			}
			total / batch.len().max(1) as f64
		})
	}
}
