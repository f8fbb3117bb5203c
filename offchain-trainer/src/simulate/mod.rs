//! Many peers in one process, one after another on one model: SparseLoCo, DiLoCo and DDP on the
//! same data budget, with the held-out loss and the bytes each peer sends, round by round.

pub mod plot;
pub mod report;

pub use report::RoundRecord;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::data::Dataset;
use crate::model::{ModelConfig, Precision};
use crate::outer::{apply_payloads, pseudo_gradient, ErrorBuffers, NesterovOuter};
use crate::sparseloco::{
	Aggregation, AggregationRule, CodecConfig, CodecError, DecodeLimits, Payload, WireError,
};
use crate::training::{
	accumulate_gradients, apply_step, train_step, AdamW, TrainConfig, TrainableModel,
};

/// How peers share what they learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
	/// H local AdamW steps, then top-k + 2-bit pseudo-gradients with error feedback, summed
	/// after median-norm clipping, outer SGD.
	Sparseloco,
	/// H local AdamW steps, then dense fp32 pseudo-gradients averaged, outer Nesterov SGD.
	Diloco,
	/// Dense fp32 gradients averaged every step (data-parallel baseline).
	Ddp,
}

impl Method {
	/// Lower-case name (CSV, plot legend).
	pub fn name(self) -> &'static str {
		match self {
			Self::Sparseloco => "sparseloco",
			Self::Diloco => "diloco",
			Self::Ddp => "ddp",
		}
	}
}

/// Everything a simulation run needs besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
	/// Simulated peers.
	pub peers: usize,
	/// Outer rounds.
	pub rounds: usize,
	/// Inner steps per round (H); DDP takes the same number of steps per round.
	pub inner_steps: usize,
	/// Inner-loop hyperparameters (its `total_steps` is set to `rounds × inner_steps`).
	pub train: TrainConfig,
	/// SparseLoCo compression.
	pub codec: CodecConfigSer,
	/// SparseLoCo error-feedback decay β.
	pub ef_beta: f32,
	/// SparseLoCo outer learning rate η (applied to the aggregate of the peers).
	pub sparseloco_outer_lr: f32,
	/// How SparseLoCo combines the peers' clipped payloads (Templar's mean unless told).
	#[serde(default)]
	pub aggregation: AggregationRule,
	/// DiLoCo outer learning rate.
	pub diloco_outer_lr: f64,
	/// DiLoCo outer momentum.
	pub diloco_momentum: f64,
	/// Held-out sequences evaluated after every round.
	pub eval_seqs: usize,
	/// Data-assignment seed of the run.
	pub run_seed: u64,
	/// Seed of the initial weights (the same for every method).
	pub model_seed: i64,
	/// Numeric precision.
	pub precision: Precision,
}

/// [`CodecConfig`] in a serialisable form.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodecConfigSer {
	/// Kept entries per chunk.
	pub topk: usize,
	/// Largest tile side.
	pub chunk_target: usize,
	/// Quantization bins.
	pub bins: u8,
	/// Quantization range in standard deviations.
	pub range: f32,
}

impl From<CodecConfigSer> for CodecConfig {
	fn from(c: CodecConfigSer) -> Self {
		CodecConfig { topk: c.topk, chunk_target: c.chunk_target, bins: c.bins, range: c.range }
	}
}

impl Default for CodecConfigSer {
	fn default() -> Self {
		let c = CodecConfig::default();
		Self { topk: c.topk, chunk_target: c.chunk_target, bins: c.bins, range: c.range }
	}
}

impl Default for SimConfig {
	fn default() -> Self {
		Self {
			peers: 4,
			rounds: 10,
			inner_steps: 10,
			train: TrainConfig::default(),
			codec: CodecConfigSer::default(),
			ef_beta: crate::sparseloco::DEFAULT_BETA,
			sparseloco_outer_lr: crate::sparseloco::DEFAULT_OUTER_LR,
			aggregation: AggregationRule::default(),
			diloco_outer_lr: 0.7,
			diloco_momentum: 0.9,
			eval_seqs: 64,
			run_seed: 0,
			model_seed: 0,
			precision: Precision::Auto,
		}
	}
}

/// A simulation that could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
	/// Data assignment failed (e.g. too few pages for a window).
	#[error(transparent)]
	Data(#[from] crate::data::DataError),
	/// The codec refused a pseudo-gradient or an aggregate.
	#[error(transparent)]
	Codec(#[from] CodecError),
	/// A payload did not decode.
	#[error(transparent)]
	Wire(#[from] WireError),
	/// A count that must be positive is zero.
	#[error("{0} must be at least 1")]
	Zero(&'static str),
	/// Training diverged.
	#[error("non-finite training loss in round {round}")]
	Diverged {
		/// The round.
		round: usize,
	},
}

/// The identity of simulated peer `i` (what a real miner's account bytes are).
pub fn peer_id(i: usize) -> Vec<u8> {
	format!("sim-peer-{i}").into_bytes()
}

struct Run<'a> {
	config: &'a SimConfig,
	train: TrainConfig,
	dataset: &'a Dataset,
	model: TrainableModel,
	eval: crate::data::Batch,
	progress: &'a ProgressBar,
}

impl Run<'_> {
	fn eval_loss(&self) -> f64 {
		self.model.eval_loss(&self.eval, self.train.micro_batch_seqs as i64)
	}

	fn pages(&self, peer: usize, round: usize) -> Result<Vec<u64>, SimError> {
		let count = self.config.inner_steps * self.train.batch_seqs;
		Ok(self.dataset.split.assign(self.config.run_seed, &peer_id(peer), round as u64, count)?)
	}

	/// H local steps of `peer` from the weights the model holds; returns the mean loss.
	fn local_steps(&self, peer: usize, round: usize, opt: &mut AdamW) -> Result<f64, SimError> {
		let pages = self.pages(peer, round)?;
		let b = self.train.batch_seqs;
		let mut total = 0.0;
		for s in 0..self.config.inner_steps {
			let batch = self.dataset.batch(&pages[s * b..(s + 1) * b], self.model.device());
			let stats = train_step(&self.model, opt, &batch, &self.train);
			if !stats.loss.is_finite() {
				return Err(SimError::Diverged { round });
			}
			total += stats.loss;
			self.progress.inc(1);
		}
		Ok(total / self.config.inner_steps as f64)
	}
}

/// Runs `method` for `config.rounds` rounds of `config.peers` peers on `dataset`, starting from
/// the weights of `config.model_seed`; returns one record per round, round 0 being the start.
pub fn simulate(
	model_config: &ModelConfig,
	dataset: &Dataset,
	method: Method,
	config: &SimConfig,
	device: Device,
	progress: &ProgressBar,
) -> Result<Vec<RoundRecord>, SimError> {
	let counts = [
		("peers", config.peers),
		("rounds", config.rounds),
		("inner_steps", config.inner_steps),
		("batch_seqs", config.train.batch_seqs),
		("micro_batch_seqs", config.train.micro_batch_seqs),
	];
	if let Some((name, _)) = counts.iter().find(|(_, n)| *n == 0) {
		return Err(SimError::Zero(name));
	}
	let mut train = config.train.clone();
	train.total_steps = (config.rounds * config.inner_steps) as u64;
	let model = TrainableModel::new(model_config, device, config.precision, config.model_seed);
	let eval = dataset.heldout_batch(config.eval_seqs, device);
	let tokens_per_step = (train.batch_seqs * dataset.seq_len()) as u64;
	let run = Run { config, train, dataset, model, eval, progress };
	let dense_bytes = 4 * run.model.numel() as u64;
	let tokens_per_round = tokens_per_step * (config.inner_steps * config.peers) as u64;

	let mut records = vec![RoundRecord {
		method,
		round: 0,
		tokens: 0,
		bytes_per_peer_round: 0,
		bytes_per_peer_total: 0,
		train_loss: f64::NAN,
		heldout_loss: run.eval_loss(),
	}];
	progress.set_message(format!("{} round 0/{}", method.name(), config.rounds));
	let names = run.model.names().to_vec();
	let mut optimizers: Vec<AdamW> =
		(0..config.peers).map(|_| AdamW::new(run.model.params(), run.train.adamw)).collect();
	let mut error_feedback = (0..config.peers)
		.map(|_| ErrorBuffers::new(config.ef_beta))
		.collect::<Result<Vec<_>, _>>()?;
	let mut nesterov = NesterovOuter::new(config.diloco_outer_lr, config.diloco_momentum);
	let codec: CodecConfig = config.codec.into();
	let limits = {
		let shapes: Vec<_> = names
			.iter()
			.zip(run.model.params())
			.map(|(n, p)| crate::tensor_io::to_array(n, &p.zeros_like()))
			.collect();
		DecodeLimits::for_model(&shapes, usize::MAX)
	};

	let mut bytes_total = 0u64;
	for round in 1..=config.rounds {
		let window = round - 1;
		let (train_loss, bytes) = match method {
			Method::Ddp => {
				let pages: Vec<Vec<u64>> =
					(0..config.peers).map(|p| run.pages(p, window)).collect::<Result<_, _>>()?;
				let b = run.train.batch_seqs;
				let mut total = 0.0;
				for s in 0..config.inner_steps {
					run.model.zero_grad();
					let mut loss = 0.0;
					for page in &pages {
						let batch = dataset.batch(&page[s * b..(s + 1) * b], device);
						let micro = run.train.micro_batch_seqs as i64;
						loss += accumulate_gradients(
							&run.model,
							&batch,
							micro,
							1.0 / config.peers as f64,
						) / config.peers as f64;
						progress.inc(1);
					}
					let stats = apply_step(&run.model, &mut optimizers[0], &run.train, loss);
					if !stats.loss.is_finite() {
						return Err(SimError::Diverged { round });
					}
					total += stats.loss;
				}
				(total / config.inner_steps as f64, dense_bytes * config.inner_steps as u64)
			}
			Method::Diloco | Method::Sparseloco => {
				let global = run.model.snapshot();
				let mut losses = 0.0;
				let mut delta_sum: Option<Vec<Tensor>> = None;
				let mut payloads = Vec::with_capacity(config.peers);
				let mut payload_bytes = 0u64;
				for (p, opt) in optimizers.iter_mut().enumerate().take(config.peers) {
					run.model.assign(&global);
					losses += run.local_steps(p, window, opt)?;
					if method == Method::Diloco {
						let local = run.model.params();
						let deltas: Vec<Tensor> =
							tch::no_grad(|| global.iter().zip(local).map(|(g, l)| g - l).collect());
						delta_sum = Some(match delta_sum.take() {
							None => deltas,
							Some(sum) => sum.iter().zip(&deltas).map(|(a, b)| a + b).collect(),
						});
					} else {
						let delta = pseudo_gradient(&names, &global, run.model.params());
						let payload = error_feedback[p].step(&delta, &codec)?;
						let wire = payload.encode();
						payload_bytes += wire.len() as u64;
						payloads.push(Payload::decode(&wire, &limits)?);
					}
				}
				run.model.assign(&global);
				let bytes = match method {
					Method::Diloco => {
						let n = config.peers as f64;
						let mean: Vec<Tensor> =
							delta_sum.unwrap_or_default().iter().map(|d| d / n).collect();
						nesterov.step(run.model.params(), &mean);
						dense_bytes
					}
					_ => {
						let skipped = apply_payloads(
							&names,
							run.model.params(),
							&payloads,
							&Aggregation::of_set(config.aggregation),
							config.sparseloco_outer_lr,
						)?;
						if !skipped.is_empty() {
							tracing::warn!(
								round,
								?skipped,
								"non-finite aggregate: tensors left as they were"
							);
						}
						payload_bytes / config.peers as u64
					}
				};
				(losses / config.peers as f64, bytes)
			}
		};
		bytes_total += bytes;
		let heldout_loss = run.eval_loss();
		records.push(RoundRecord {
			method,
			round,
			tokens: tokens_per_round * round as u64,
			bytes_per_peer_round: bytes,
			bytes_per_peer_total: bytes_total,
			train_loss,
			heldout_loss,
		});
		progress.set_message(format!(
			"{} round {round}/{} held-out {heldout_loss:.3}",
			method.name(),
			config.rounds
		));
		tracing::debug!(method = method.name(), round, train_loss, heldout_loss, bytes, "round");
	}
	Ok(records)
}

/// Runs each of `methods` in turn from the same initial weights with one progress bar, writes
/// `simulation.csv`, `simulation.png` and `simulation.json` (the configuration) into `out_dir`,
/// and returns all records. A plot that cannot be drawn (no font) is logged, not fatal.
pub fn run_and_report(
	model_config: &ModelConfig,
	dataset: &Dataset,
	methods: &[Method],
	config: &SimConfig,
	device: Device,
	out_dir: &std::path::Path,
) -> anyhow::Result<Vec<RoundRecord>> {
	use anyhow::Context;
	std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
	let steps = (config.rounds * config.inner_steps * config.peers * methods.len()) as u64;
	let progress = ProgressBar::new(steps);
	progress.set_style(
		indicatif::ProgressStyle::with_template(
			"{elapsed_precise} [{bar:30}] {pos}/{len} peer-steps ({eta} left) {msg}",
		)
		.expect("valid template")
		.progress_chars("=> "),
	);
	let mut records = Vec::new();
	for &method in methods {
		let rows = simulate(model_config, dataset, method, config, device, &progress)
			.with_context(|| format!("simulating {}", method.name()))?;
		records.extend(rows);
		let csv = report::to_csv(&records);
		crate::atomic_file::write(&out_dir.join("simulation.csv"), csv.as_bytes())
			.context("writing simulation.csv")?;
	}
	progress.finish_and_clear();
	let mut effective = config.clone();
	effective.train.total_steps = (config.rounds * config.inner_steps) as u64;
	let json = serde_json::json!({
		"model": model_config,
		"simulation": effective,
		"device": format!("{device:?}"),
	});
	crate::atomic_file::write(
		&out_dir.join("simulation.json"),
		serde_json::to_string_pretty(&json)?.as_bytes(),
	)
	.context("writing simulation.json")?;
	let title = format!(
		"{} peers, H={}, {} rounds, {:.1}M params",
		config.peers,
		config.inner_steps,
		config.rounds,
		model_config.param_count() as f64 / 1e6
	);
	if let Err(e) = plot::plot(&records, &out_dir.join("simulation.png"), &title) {
		tracing::warn!("plot not written: {e}");
	}
	Ok(records)
}
