//! The pallet's benchmarked weights (`pallets/gauntlet/src/weights.rs`, as wired into this
//! runtime) against the block's weight limit at the chain's worst case: `MaxMiners` miners and
//! `MaxValidators` validators. Prints the fractions the README quotes (`--no-capture` shows them).
//! The budgets (5% for one validator's reveal, 10% for a window close) are the pallet's design
//! limits: weights past them would crowd out the transactions a window needs.

use frame_support::{traits::Get, weights::Weight};
use gauntlet_runtime::{configs::RuntimeBlockWeights, Runtime};
use pallet_gauntlet::WeightInfo;

type Weights = <Runtime as pallet_gauntlet::Config>::WeightInfo;

fn max_miners() -> u32 {
	<Runtime as pallet_gauntlet::Config>::MaxMiners::get()
}

fn max_validators() -> u32 {
	<Runtime as pallet_gauntlet::Config>::MaxValidators::get()
}

/// Share of the block's ref-time limit (the proof-size limit is unbounded on this solo chain).
fn share_of_block(weight: Weight) -> f64 {
	let max = RuntimeBlockWeights::get().max_block;
	weight.ref_time() as f64 / max.ref_time() as f64
}

fn report(what: &str, weight: Weight) -> f64 {
	let share = share_of_block(weight);
	println!(
		"{what}: ref_time {:.3} ms, proof {} B = {:.2}% of the block's ref-time limit",
		weight.ref_time() as f64 / 1e9,
		weight.proof_size(),
		share * 100.0
	);
	share
}

#[test]
fn scores_for_every_miner_of_a_window_take_at_most_5_percent_of_a_block() {
	// One validator revealing a score for every miner (each checked against the assignment of
	// `MaxValidators` validators: the benchmark's worst case), plus its commitment.
	let reveal = Weights::reveal_scores(max_miners());
	let share = report(&format!("reveal_scores({})", max_miners()), reveal);
	report("commit_scores", Weights::commit_scores());
	assert!(
		share <= 0.05,
		"reveal_scores at {} miners takes {:.2}% of a block",
		max_miners(),
		share * 100.0
	);
}

#[test]
fn the_busiest_window_boundary_takes_at_most_10_percent_of_a_block() {
	// The first block of a window does everything `on_initialize` can do at once: close window
	// X-3, select X-1's aggregation set and draw its seed, activate a scheduled config and prune
	// the oldest window.
	let (n, v) = (max_miners(), max_validators());
	let close = Weights::close_window(n, v);
	let boundary = Weights::on_initialize_base()
		.saturating_add(close)
		.saturating_add(Weights::select_aggregation_set(n))
		.saturating_add(Weights::draw_seed())
		.saturating_add(Weights::activate_run_config())
		.saturating_add(Weights::prune_window(n, v));
	report(&format!("close_window({n}, {v})"), close);
	let share =
		report("whole window boundary (close + select + seed + activate + prune)", boundary);
	assert!(share <= 0.10, "a window boundary takes {:.2}% of a block", share * 100.0);
}
