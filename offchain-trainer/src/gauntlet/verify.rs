//! `gauntlet-trainer verify`: recompute a window's revealed scores from chain state and peers,
//! and say which validator's scores do not hold up.
//!
//! Everything a score depends on is read from the chain or fetched against an on-chain hash:
//! - the window's seed, the validator set it assigns from and each miner's scorers;
//! - the run configuration (codec, evaluation batches, trial step, run seed);
//! - θ_W: a checkpoint announced for window W, loaded only if its weights hash equals the θ
//!   hash the validator revealed (and so, for an honest majority, the window's canonical θ);
//! - each assigned miner's payload and weight sample, checked against its commitment.
//!
//! Per validator, verify then runs the validator's own measurement ([`super::validator`]) as
//! that validator: its random pages (from the seed and its account), its assigned set (the
//! median-norm clip and the indicator's reference are over that set), the same copy detection.
//! Each (validator, miner) row compares the revealed losses and scores with the recomputed
//! ones.
//!
//! What is not on chain, and must be given the same as the validator's: `--eval-batch-seqs`
//! and `--indicator-margin` (defaults equal the validator's), and the model, data and sequence
//! length flags every peer shares. The sync score is recomputed from θ_W alone, so a payload
//! built on an older θ (sync below 1 on chain) shows as a difference in `sync` only.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use gauntlet_chain::types::{Hash32, MinerScore, ValidatorScores};
use gauntlet_chain::AccountId;
use serde::Serialize;

use super::cli::PeerArgs;
use super::global_model::GlobalModel;
use super::replay::{load_checkpoint_of, ContributionCache};
use super::run_params::RunParams;
use super::sync::SyncHistory;
use super::validator::{score_window, ValidatorArgs};
use super::Window;
use crate::training::TrainableModel;

/// `gauntlet-trainer verify` flags.
#[derive(Clone, Debug, clap::Args)]
pub struct VerifyArgs {
	/// Model, data and node flags, as the run's peers use them (`--suri` is not needed).
	#[command(flatten)]
	pub peer: PeerArgs,
	/// The window to verify (closed or at least revealed).
	#[arg(long)]
	pub window: Window,
	/// Only this validator's rows.
	#[arg(long, value_parser = super::cli::parse_account)]
	pub validator: Option<AccountId>,
	/// Only this miner's rows.
	#[arg(long, value_parser = super::cli::parse_account)]
	pub miner: Option<AccountId>,
	/// The validators' `--eval-batch-seqs` (not on chain).
	#[arg(long, default_value_t = 30)]
	pub eval_batch_seqs: usize,
	/// The validators' `--indicator-margin` (not on chain).
	#[arg(long, default_value_t = 0.0005)]
	pub indicator_margin: f64,
	/// Largest difference between a revealed and a recomputed loss or score that still agrees.
	/// Measured (docs/verify.md): at most 4.7e-10 between validators on one CPU thread and verify
	/// on two, the chain's 1e-9 fixed-point rounding; a lie of 0.5 shows as 2.2.
	#[arg(long, default_value_t = 1e-6)]
	pub tolerance: f64,
	/// Output format.
	#[arg(long, value_enum, default_value = "table")]
	pub format: Format,
}

/// How `verify` prints its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
	/// Aligned columns.
	Table,
	/// One JSON document.
	Json,
}

/// One (validator, miner) comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
	/// The validator.
	pub validator: AccountId,
	/// The miner.
	pub miner: AccountId,
	/// What the validator revealed.
	pub submitted: MinerScore,
	/// What verify measured; `None` when it could not (why is in `verdict`).
	pub recomputed: Option<MinerScore>,
	/// Largest absolute difference over the four losses and the two relative improvements.
	pub difference: Option<f64>,
	/// Whether the row holds up.
	pub agrees: bool,
	/// `agrees`, or what differs.
	pub verdict: String,
}

/// The rows of a window and whether every one agrees.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
	/// The window.
	pub window: Window,
	/// The window's canonical θ, if closed with a majority.
	pub canonical_theta: Option<Hash32>,
	/// One row per (validator, miner).
	pub rows: Vec<Row>,
}

impl Report {
	/// Whether every row agrees (and there is at least one).
	pub fn all_agree(&self) -> bool {
		!self.rows.is_empty() && self.rows.iter().all(|r| r.agrees)
	}
}

/// Runs `verify`; `Ok(true)` when every row agrees. Bad input (no such window, nothing
/// revealed, no checkpoint of θ_W) is an error.
pub async fn run(args: VerifyArgs) -> Result<bool> {
	let report = verify(&args).await?;
	match args.format {
		Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
		Format::Table => print_table(&report),
	}
	Ok(report.all_agree())
}

async fn verify(args: &VerifyArgs) -> Result<Report> {
	let window = args.window;
	let setup = args.peer.setup()?;
	let mut chain =
		super::chain_view::ChainView::connect(&args.peer.node, args.peer.connect_timeout()).await?;
	let at = chain.latest().await;
	let record = at
		.window_record(window)
		.await?
		.with_context(|| format!("window {window} is in the future or pruned"))?;
	anyhow::ensure!(!record.scores.is_empty(), "no validator revealed scores for window {window}");
	let params = RunParams::from_chain(&at.run_config().await?)?;
	anyhow::ensure!(
		params.run_seed == args.peer.run_seed,
		"the chain's run seed is {}, --run-seed is {}",
		params.run_seed,
		args.peer.run_seed
	);
	let p2p_config = args.peer.p2p_config(prometheus::Registry::new());
	let max_payload = usize::try_from(p2p_config.max_payload_bytes).unwrap_or(usize::MAX);
	let (p2p, _host) =
		crate::p2p::P2pHost::start(p2p_config).await.context("starting the p2p host")?;

	let reports: Vec<&ValidatorScores> = record
		.scores
		.iter()
		.filter(|v| args.validator.is_none_or(|only| v.validator == only))
		.collect();
	anyhow::ensure!(!reports.is_empty(), "the validator revealed nothing for window {window}");
	let validator_args = ValidatorArgs {
		peer: args.peer.clone(),
		indicator_margin: args.indicator_margin,
		eval_batch_seqs: args.eval_batch_seqs,
		inflate_miner: None,
	};
	// One θ per distinct revealed θ hash (normally one for the whole window).
	let mut rows = Vec::new();
	let mut thetas: BTreeMap<[u8; 32], Option<GlobalModel>> = BTreeMap::new();
	for report in reports {
		let theta_hash = report.theta_hash.0;
		if let std::collections::btree_map::Entry::Vacant(slot) = thetas.entry(theta_hash) {
			let model = TrainableModel::new(
				&setup.model,
				setup.device,
				setup.precision,
				params.run_seed as i64,
			);
			let mut global = GlobalModel::new(model, 0, params.run_seed, max_payload);
			// Any announcer's checkpoint of θ_W whose weights are the ones the report names.
			let loaded =
				load_checkpoint_of(&at, &p2p, &mut global, window, None, Some(theta_hash)).await?;
			slot.insert(loaded.then_some(global));
		}
		let submitted: Vec<_> = report
			.scores
			.iter()
			.filter(|s| args.miner.is_none_or(|only| s.miner == only))
			.collect();
		let Some(Some(global)) = thetas.get(&theta_hash) else {
			for s in submitted {
				rows.push(Row {
					validator: report.validator,
					miner: s.miner,
					submitted: s.score,
					recomputed: None,
					difference: None,
					agrees: false,
					verdict: format!(
						"no checkpoint of θ {} for window {window}",
						report.theta_hash
					),
				});
			}
			continue;
		};
		let mut history = SyncHistory::default();
		history.push(window, global.sample());
		let mut cache = ContributionCache::new();
		let recomputed = score_window(
			&validator_args,
			&setup,
			&params,
			&at,
			&p2p,
			global,
			&history,
			&report.validator,
			window,
			&super::metrics::RoleMetrics::default(),
			&mut cache,
			&mut BTreeMap::new(),
		)
		.await
		.with_context(|| format!("recomputing {}'s scores", report.validator))?;
		let recomputed: BTreeMap<AccountId, MinerScore> = recomputed.into_iter().collect();
		for s in submitted {
			rows.push(compare(
				report.validator,
				s.miner,
				s.score,
				recomputed.get(&s.miner),
				args.tolerance,
			));
		}
	}
	Ok(Report { window, canonical_theta: record.outcome.and_then(|o| o.canonical_theta), rows })
}

/// One row: the revealed score against the recomputed one.
fn compare(
	validator: AccountId,
	miner: AccountId,
	submitted: MinerScore,
	recomputed: Option<&MinerScore>,
	tolerance: f64,
) -> Row {
	let Some(r) = recomputed.copied() else {
		return Row {
			validator,
			miner,
			submitted,
			recomputed: None,
			difference: None,
			agrees: false,
			verdict: "not recomputed (not assigned to this validator?)".into(),
		};
	};
	let (s, l, rl) = (&submitted, &submitted.losses, &r.losses);
	let pairs = [
		("own_before", l.own_before, rl.own_before),
		("own_after", l.own_after, rl.own_after),
		("random_before", l.random_before, rl.random_before),
		("random_after", l.random_after, rl.random_after),
		("gradient_score", s.gradient_score, r.gradient_score),
		("own_improvement", s.own_improvement, r.own_improvement),
	];
	let difference = pairs.iter().map(|(_, a, b)| (a - b).abs()).fold(0.0, f64::max);
	let mut differs: Vec<String> = pairs
		.iter()
		.filter(|(_, a, b)| (a - b).abs() > tolerance || a.is_nan() != b.is_nan())
		.map(|(name, a, b)| format!("{name} {a:.6} vs {b:.6}"))
		.collect();
	if s.binary_indicator != r.binary_indicator {
		differs.push(format!("indicator {} vs {}", s.binary_indicator, r.binary_indicator));
	}
	if (s.sync_score - r.sync_score).abs() > tolerance {
		differs.push(format!("sync {:.4} vs {:.4}", s.sync_score, r.sync_score));
	}
	if s.copy_suspected != r.copy_suspected {
		differs.push(format!("copy flag {} vs {}", s.copy_suspected, r.copy_suspected));
	}
	if s.failure != r.failure {
		differs.push(format!("failure {:?} vs {:?}", s.failure, r.failure));
	}
	let agrees = differs.is_empty();
	Row {
		validator,
		miner,
		submitted,
		recomputed: Some(r),
		difference: Some(difference),
		agrees,
		verdict: if agrees {
			"agrees".into()
		} else {
			format!("DISAGREES: {}", differs.join("; "))
		},
	}
}

fn print_table(report: &Report) {
	let canonical = report.canonical_theta.map_or("none".to_string(), |h| h.to_string());
	println!("window {}  canonical θ {canonical}", report.window);
	println!(
		"{:<48}  {:<48}  {:>10}  {:>10}  {:>9}  verdict",
		"validator", "miner", "submitted", "recomputed", "diff"
	);
	for r in &report.rows {
		let recomputed =
			r.recomputed.map_or("-".to_string(), |s| format!("{:+.6}", s.gradient_score));
		let difference = r.difference.map_or("-".to_string(), |d| format!("{d:.2e}"));
		println!(
			"{:<48}  {:<48}  {:>+10.6}  {:>10}  {:>9}  {}",
			r.validator.to_string(),
			r.miner.to_string(),
			r.submitted.gradient_score,
			recomputed,
			difference,
			r.verdict
		);
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use gauntlet_chain::types::EvaluationLosses;

	fn score(g: f64) -> MinerScore {
		MinerScore {
			gradient_score: g,
			own_improvement: 0.02,
			binary_indicator: 1,
			sync_score: 1.0,
			copy_suspected: false,
			failure: None,
			losses: EvaluationLosses {
				own_before: 5.0,
				own_after: 4.9,
				random_before: 5.0,
				random_after: 5.0 * (1.0 - g),
			},
		}
	}

	#[test]
	fn a_row_agrees_within_the_tolerance_and_names_what_differs_beyond_it() {
		let (v, m) = (AccountId::from([1; 32]), AccountId::from([2; 32]));
		let same = compare(v, m, score(0.01), Some(&score(0.01 + 1e-9)), 1e-6);
		assert!(same.agrees, "{}", same.verdict);
		let lie = compare(v, m, score(0.51), Some(&score(0.01)), 1e-6);
		assert!(!lie.agrees);
		assert!(lie.verdict.contains("gradient_score") && lie.verdict.contains("random_after"));
		let flipped = compare(
			v,
			m,
			MinerScore { binary_indicator: -1, ..score(0.01) },
			Some(&score(0.01)),
			1e-6,
		);
		assert!(!flipped.agrees && flipped.verdict.contains("indicator"));
		let missing = compare(v, m, score(0.01), None, 1e-6);
		assert!(!missing.agrees);
		let report = Report { window: 1, canonical_theta: None, rows: vec![same.clone()] };
		assert!(report.all_agree());
		assert!(!Report { rows: vec![same, lie], ..report.clone() }.all_agree());
		assert!(!Report { rows: vec![], ..report }.all_agree(), "nothing verified is no agreement");
	}
}
