//! Resuming from a checkpoint is bit-exact on the CPU: N steps straight equal N/2 steps, save,
//! load into a fresh process state, N/2 more steps.

use offchain_trainer::data::Dataset;
use offchain_trainer::model::{ModelConfig, Precision};
use offchain_trainer::outer::{pseudo_gradient, ErrorBuffers};
use offchain_trainer::sparseloco::CodecConfig;
use offchain_trainer::training::checkpoint::{self, CheckpointInfo};
use offchain_trainer::training::{train_step, AdamW, TrainConfig, TrainableModel};
use tch::Device;

const STEPS: usize = 6;

fn setup() -> (ModelConfig, TrainConfig, Dataset) {
	// One intra-op thread: robust on shared cores, and the resume comparison stays exact.
	tch::set_num_threads(1);
	let mut model = ModelConfig::builtin("tiny").unwrap();
	model.n_layers = 2;
	let train = TrainConfig {
		lr: 3e-3,
		warmup_steps: 2,
		total_steps: STEPS as u64,
		batch_seqs: 4,
		micro_batch_seqs: 2,
		..TrainConfig::default()
	};
	(model, train, Dataset::synthetic(5, 100_000, 32, 50).unwrap())
}

/// Steps `range` of a run: step `s` trains on the pages drawn for window `s`.
fn run_steps(
	model: &TrainableModel,
	opt: &mut AdamW,
	train: &TrainConfig,
	data: &Dataset,
	range: std::ops::Range<usize>,
) {
	for s in range {
		let pages = data.split.assign(9, b"peer", s as u64, train.batch_seqs).unwrap();
		train_step(model, opt, &data.batch(&pages, Device::Cpu), train);
	}
}

fn bits(model: &TrainableModel) -> Vec<Vec<u32>> {
	model
		.params()
		.iter()
		.map(|p| {
			let a = offchain_trainer::tensor_io::to_array("p", p);
			a.data.iter().map(|v| v.to_bits()).collect()
		})
		.collect()
}

#[test]
fn resume_from_checkpoint_is_bit_exact_on_cpu() {
	let (config, train, data) = setup();
	let straight = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 1);
	let mut opt = AdamW::new(straight.params(), train.adamw);
	run_steps(&straight, &mut opt, &train, &data, 0..STEPS);

	let first = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 1);
	let mut opt_first = AdamW::new(first.params(), train.adamw);
	run_steps(&first, &mut opt_first, &train, &data, 0..STEPS / 2);
	// Error feedback travels with the checkpoint too.
	let initial = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 1).snapshot();
	let mut ef = ErrorBuffers::new(0.95).unwrap();
	ef.step(&pseudo_gradient(first.names(), &initial, first.params()), &CodecConfig::default())
		.unwrap();

	let dir = tempfile::tempdir().unwrap();
	let info = CheckpointInfo {
		format_version: 0,
		model: config.clone(),
		train: train.clone(),
		optimizer_steps: 0,
		rounds: 1,
		run_seed: 9,
		error_feedback_beta: None,
	};
	checkpoint::save(dir.path(), info, &first, &opt_first, Some(&ef)).unwrap();
	drop((first, opt_first));

	let mut resumed = checkpoint::load(dir.path(), Device::Cpu, Precision::Fp32).unwrap();
	assert_eq!(resumed.optimizer.steps(), (STEPS / 2) as u64);
	assert_eq!(resumed.info.rounds, 1);
	assert_eq!(resumed.error_feedback.as_ref(), Some(&ef), "error feedback restored exactly");
	run_steps(&resumed.model, &mut resumed.optimizer, &train, &data, STEPS / 2..STEPS);

	assert_eq!(bits(&resumed.model), bits(&straight), "weights differ after resume");
	let (m1, v1) = resumed.optimizer.moments();
	let (m2, v2) = opt.moments();
	for (a, b) in m1.iter().chain(v1).zip(m2.iter().chain(v2)) {
		assert!(a.equal(b), "optimizer moments differ after resume");
	}
}

/// A write cut off at any point leaves a complete checkpoint: the old one until the new one is
/// in place, whichever rename the crash came between.
#[test]
fn an_interrupted_write_leaves_a_complete_checkpoint() {
	let (config, train, _) = setup();
	let model = TrainableModel::new(&config, Device::Cpu, Precision::Fp32, 1);
	let opt = AdamW::new(model.params(), train.adamw);
	let info = |rounds| CheckpointInfo {
		format_version: 0,
		model: config.clone(),
		train: train.clone(),
		optimizer_steps: 0,
		rounds,
		run_seed: 9,
		error_feedback_beta: None,
	};
	let root = tempfile::tempdir().unwrap();
	let dir = root.path().join("checkpoint");
	let sibling = |suffix: &str| root.path().join(format!("checkpoint{suffix}"));
	assert!(!checkpoint::exists(&dir));
	checkpoint::save(&dir, info(1), &model, &opt, None).unwrap();
	assert!(checkpoint::exists(&dir));

	// Cut off while writing the files: the staging directory is ignored and replaced later.
	std::fs::create_dir_all(sibling(".partial")).unwrap();
	std::fs::write(sibling(".partial").join("model.safetensors"), b"torn").unwrap();
	assert_eq!(checkpoint::load(&dir, Device::Cpu, Precision::Fp32).unwrap().info.rounds, 1);

	// Cut off between the two renames: only `checkpoint.old` holds one.
	std::fs::rename(&dir, sibling(".old")).unwrap();
	assert!(checkpoint::exists(&dir));
	assert_eq!(checkpoint::load(&dir, Device::Cpu, Precision::Fp32).unwrap().info.rounds, 1);

	// The next write completes over both leftovers.
	let snapshot = checkpoint::snapshot(info(2), &model, &opt, None);
	snapshot.write(&dir).unwrap();
	assert_eq!(checkpoint::load(&dir, Device::Cpu, Precision::Fp32).unwrap().info.rounds, 2);
	assert!(!sibling(".old").exists() && !sibling(".partial").exists());
}
