//! Four simulated peers train `tiny` with SparseLoCo on generated text (byte tokenizer, no
//! download): the held-out loss falls, and each peer sends at most 1/140 of a dense fp32 copy of
//! the model per round.
//!
//! A payload's size depends only on the tensor shapes: 14 bits per kept entry (64 of every 4096
//! in a matrix), 2 bits per entry of a 1-D tensor (norm gains, kept whole: their indices are
//! implied), and a ~65-byte header per tensor. At `tiny`'s 1.6M parameters (20 tensors) these
//! cost 3.5% on top of the 146.3x of the matrices: 141.3x; at `small`'s 11M, 1%.

use indicatif::ProgressBar;
use offchain_trainer::data::Dataset;
use offchain_trainer::model::{ModelConfig, Precision};
use offchain_trainer::simulate::{simulate, Method, SimConfig};
use tch::Device;

fn setup() -> (ModelConfig, Dataset, SimConfig) {
	// One intra-op thread per test: on 2 shared cores, OpenMP threads spinning against other
	// processes made this test 8x slower.
	tch::set_num_threads(1);
	let model = ModelConfig::builtin("tiny").unwrap();
	let data = Dataset::synthetic(11, 400_000, 64, 50).unwrap();
	let mut config = SimConfig {
		peers: 4,
		rounds: 4,
		inner_steps: 5,
		eval_seqs: 32,
		precision: Precision::Fp32,
		..SimConfig::default()
	};
	config.train.lr = 3e-3;
	config.train.warmup_steps = 3;
	config.train.batch_seqs = 4;
	config.train.micro_batch_seqs = 4;
	(model, data, config)
}

#[test]
fn four_sparseloco_peers_lower_the_heldout_loss_by_2_nats_with_140x_less_traffic() {
	let (model, data, config) = setup();
	let rows =
		simulate(&model, &data, Method::Sparseloco, &config, Device::Cpu, &ProgressBar::hidden())
			.unwrap();
	assert_eq!(rows.len(), 5);
	let (start, end) = (rows[0].heldout_loss, rows[4].heldout_loss);
	// From ≈ ln 256 = 5.55 nats at initialisation; measured here: 5.64 → 4.55 → 3.63 → 2.92 →
	// 2.68 over the four rounds (80 peer-steps of 256 tokens), 46,420 bytes per peer and round
	// (141.3x less than dense fp32).
	assert!(start > 5.3, "initial held-out loss {start}");
	assert!(end < start - 2.0, "held-out loss fell only from {start:.3} to {end:.3}");
	for w in rows.windows(2) {
		assert!(w[1].heldout_loss < w[0].heldout_loss + 0.05, "loss rose: {rows:?}");
	}

	let dense = 4 * model.param_count() as u64;
	for r in &rows[1..] {
		assert!(
			r.bytes_per_peer_round * 140 <= dense,
			"round {}: {} bytes per peer vs {dense} dense fp32 bytes ({:.1}x)",
			r.round,
			r.bytes_per_peer_round,
			dense as f64 / r.bytes_per_peer_round as f64
		);
	}
	assert_eq!(rows[4].tokens, 4 * 4 * 5 * 4 * 64);
}

#[test]
fn ddp_and_diloco_consume_the_same_tokens_and_send_dense_bytes() {
	let (model, data, mut config) = setup();
	config.rounds = 1;
	config.inner_steps = 2;
	let dense = 4 * model.param_count() as u64;
	for (method, per_round) in [(Method::Diloco, dense), (Method::Ddp, 2 * dense)] {
		let rows =
			simulate(&model, &data, method, &config, Device::Cpu, &ProgressBar::hidden()).unwrap();
		assert_eq!(rows[1].tokens, 4 * 2 * 4 * 64, "{method:?}");
		assert_eq!(rows[1].bytes_per_peer_round, per_round, "{method:?}");
		assert!(rows[1].heldout_loss < rows[0].heldout_loss, "{method:?} did not learn");
	}
}

#[test]
fn sparseloco_payload_of_the_small_model_is_at_most_1_140_of_dense_fp32() {
	use offchain_trainer::outer::{pseudo_gradient, ErrorBuffers};
	use offchain_trainer::sparseloco::CodecConfig;
	use offchain_trainer::training::TrainableModel;

	let config = ModelConfig::builtin("small").unwrap();
	let model = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 0);
	let zeros: Vec<tch::Tensor> = model.params().iter().map(|p| p.zeros_like()).collect();
	let delta = pseudo_gradient(model.names(), model.params(), &zeros);
	let payload = ErrorBuffers::new(0.95).unwrap().step(&delta, &CodecConfig::default()).unwrap();
	let bytes = payload.encode().len() as u64;
	let dense = 4 * config.param_count() as u64;
	assert!(
		bytes * 140 <= dense,
		"{bytes} payload bytes vs {dense} dense ({:.1}x)",
		dense as f64 / bytes as f64
	);
}

#[test]
fn zero_peers_or_rounds_are_refused_before_any_work() {
	use offchain_trainer::simulate::SimError;
	let (model, data, mut config) = setup();
	config.peers = 0;
	let err =
		simulate(&model, &data, Method::Sparseloco, &config, Device::Cpu, &ProgressBar::hidden());
	assert!(matches!(err, Err(SimError::Zero("peers"))), "{err:?}");
}
