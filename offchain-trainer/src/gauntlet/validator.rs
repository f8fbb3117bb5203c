//! The validator loop (`gauntlet-trainer validator`). At the start of window V it reveals the
//! scores of V−2 it committed to during V−1 (in the background); during V it evaluates the
//! contributions of V−1 that the chain assigned to it, on θ_{V−1}, seals and saves its scores
//! and commits to them; then it advances θ by V−1's aggregate like every miner.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use gauntlet_chain::types::{Commitment as ChainCommitment, MinerScore};
use gauntlet_chain::{AccountId, ChainAt, GauntletClient, SealedScores, Signer};

use crate::data::Batch;
use crate::p2p::P2pHandle;
use crate::sparseloco::Payload;
use crate::training::TrainableModel;

use super::cli::{Peer, PeerArgs};
use super::contribution::Contribution;
use super::copy_detection::{flag_copies, Candidate};
use super::evaluation::{self, measure};
use super::global_model::{weights_hash_of, GlobalModel};
use super::journal::{hex, Journal, JournalEntry};
use super::metrics::RoleMetrics;
use super::peers::{fetch_contribution_within, ContributionFailure};
use super::replay::{
	self, advance_to, checkpoint_bytes_of, load_checkpoint_bytes, ContributionCache, Prefetched,
	Sources,
};
use super::run_params::RunParams;
use super::sealed_scores::SealedScoreFiles;
use super::sync::{sync_score, SyncHistory};
use super::Window;

/// `gauntlet-trainer validator` flags.
#[derive(Clone, Debug, clap::Args)]
pub struct ValidatorArgs {
	#[command(flatten)]
	pub peer: PeerArgs,
	/// The binary indicator is +1 only when the own-data improvement beats the random-data one
	/// by more than this (relative units); see `gauntlet::evaluation::score`.
	/// Measured with the tiny model on synthetic text, 120 own and 120 random sequences (four
	/// runs of the adversaries e2e test, 11 windows each): honest miners' advantage
	/// 0.0001–0.0012 in the first four windows, 0.0001–0.0051 after (mostly above 0.001); a
	/// miner training on unassigned pages −0.0011–0.0018, a zero payload exactly 0. Over the
	/// moving average (recomputed from the logged losses) this margin leaves the worst honest
	/// miner at +0.17 and the wrong-data miner at −0.085 or lower.
	#[arg(long, default_value_t = 0.0005)]
	pub indicator_margin: f64,
	/// Sequences per evaluation batch (the run config says how many batches). The own-data
	/// pages must be among those the miner trained on: keep `eval_own_batches × this` at most
	/// `inner_steps ×` the miners' `--batch-seqs` (4 × 30 = 30 × 4 with the dev run config and
	/// the miners' defaults: every page a miner trained on). Fewer sequences made the
	/// indicator's noise as large as an honest miner's early signal.
	#[arg(long, default_value_t = 30)]
	pub eval_batch_seqs: usize,
	/// Dishonest, for the end-to-end tests only: report this miner's gradient score 0.5 higher
	/// (with its indicator +1 and random-page loss after made consistent with the lie), as a
	/// validator bribed by that miner would. The quorum's median and `gauntlet-trainer verify`
	/// are what stop it.
	#[arg(long, hide = true, value_parser = super::cli::parse_account)]
	pub inflate_miner: Option<AccountId>,
}

/// Runs the validator until `--windows` windows are scored (or forever).
pub async fn run(args: ValidatorArgs) -> Result<()> {
	let Peer {
		setup, me, metrics: role_metrics, mut chain, params, p2p, max_payload, signer, ..
	} = args.peer.start().await?;
	let at = chain.latest().await;
	anyhow::ensure!(
		at.validators().await?.contains(&me),
		"{me} is not a validator on this chain (the admin adds validators with Gauntlet.add_validator)"
	);
	let journal = Journal::new(&args.peer.state_dir);
	let theta_file = args.peer.state_dir.join("global.safetensors");
	let sealed_files = SealedScoreFiles::new(&args.peer.state_dir);
	let run_seed = params.run_seed;
	let fetch = args.peer.fetch_budget();

	let model = TrainableModel::new(&setup.model, setup.device, setup.precision, run_seed as i64);
	let mut global = GlobalModel::new(model, 0, run_seed, max_payload);
	if let Ok(bytes) = std::fs::read(&theta_file) {
		let window = safetensors_window(&bytes).context("reading global.safetensors")?;
		load_checkpoint_bytes(&bytes, window, &mut global, None).with_context(|| {
			format!("loading {} (delete it to start afresh)", theta_file.display())
		})?;
		tracing::info!(window, "resuming from the saved global weights");
	} else if at.head().window > 0 {
		replay::load_peer_checkpoint(&at, &p2p, &mut global).await?;
	}
	let mut history = SyncHistory::default();
	history.push(global.window(), global.sample());
	let mut cache = ContributionCache::new();

	let mut current = at.head().window.max(1).max(global.window() + 1);
	let mut done = 0u64;
	while args.peer.windows.is_none_or(|n| done < n) {
		let at = chain.wait_for_window(current).await;
		current = current.max(at.head().window);
		let target = current - 1;
		role_metrics.window.set(target as i64);
		if let Some(committed) = target.checked_sub(1) {
			let client = chain.client().await;
			spawn_reveal(
				client,
				signer.clone(),
				sealed_files.clone(),
				committed,
				role_metrics.clone(),
			);
		}

		let sync = role_metrics.phase("sync");
		while global.window() < target {
			let next = global.window() + 1;
			let sources = Sources { me: None, own: None, fetch };
			advance_to(
				&mut chain,
				Some(&at),
				&p2p,
				&mut global,
				next,
				&params,
				sources,
				&mut cache,
			)
			.await?;
			history.push(global.window(), global.sample());
		}
		let synced = sync.stop_and_record();
		// One host copy of θ for the journal's hash and for `global.safetensors` below.
		let mut theta = global.host_weights();
		// A θ split from the miners' (a set member's payload this validator could not fetch
		// while they could) is repaired as a miner repairs its own: where miners announced
		// θ_target, a majority with another checkpoint hash wins. Counting announcers is what
		// issue 19's canonical θ is to replace.
		if let Some(theirs) = split_from_miners(&at, &me, &theta, target).await {
			match replay::load_checkpoint_of(&at, &p2p, &mut global, target, Some(theirs), None)
				.await
			{
				Ok(true) => {
					tracing::warn!(window = target, "θ differed from the miners'; took theirs");
					theta = global.host_weights();
					history.push(target, global.sample());
				}
				Ok(false) => {
					tracing::warn!(window = target, "θ differs from the miners'; theirs not loaded")
				}
				Err(e) => tracing::warn!(window = target, error = %e, "θ differs from the miners'"),
			}
		}
		let mut entry = JournalEntry {
			window: target,
			role: "validator".into(),
			global_weights: hex(&weights_hash_of(&theta)),
			..Default::default()
		};
		entry.seconds.insert("sync".into(), synced);

		let at = chain.latest().await;
		let scoring = std::time::Instant::now();
		let scores = match score_window(
			&args,
			&setup,
			&params,
			&at,
			&p2p,
			&global,
			&history,
			&me,
			target,
			&role_metrics,
			&mut cache,
			&mut entry.seconds,
		)
		.await
		{
			Ok(scores) => scores,
			Err(e) => {
				tracing::warn!(window = target, error = format!("{e:#}"), "window not scored");
				entry.note = Some(format!("{e:#}"));
				Vec::new()
			}
		};
		let scores = match &args.inflate_miner {
			Some(favoured) => inflate(scores, favoured),
			None => scores,
		};
		entry.seconds.insert("score".into(), scoring.elapsed().as_secs_f64());
		entry.scored = Some(scores.len());
		entry.copies =
			scores.iter().filter(|(_, s)| s.copy_suspected).map(|(m, _)| m.to_string()).collect();
		if !scores.is_empty() {
			let submit = role_metrics.phase("submit");
			let client = chain.client().await;
			match commit_scores(
				&client,
				&signer,
				&sealed_files,
				target,
				weights_hash_of(&theta),
				scores,
			)
			.await
			{
				Ok(()) => {
					tracing::info!(window = target, "scores committed");
				}
				Err(e) => {
					tracing::warn!(
						window = target,
						error = format!("{e:#}"),
						"scores not committed"
					);
					entry.note = Some(format!("commit failed: {e:#}"));
					role_metrics.windows_missed.with_label_values(&["commit"]).inc();
				}
			}
			entry.seconds.insert("submit".into(), submit.stop_and_record());
		}
		sealed_files.forget_before(target.saturating_sub(2));
		journal.append(&entry);
		match checkpoint_bytes_of(&theta, global.window()) {
			Ok(bytes) => {
				if let Err(e) = crate::atomic_file::write(&theta_file, &bytes) {
					tracing::warn!(error = %e, "global weights not saved");
				}
			}
			Err(e) => tracing::warn!(error = %e, "global weights not serialised"),
		}
		current += 1;
		done += 1;
	}
	Ok(())
}

/// The dishonest validator's lie (see [`ValidatorArgs::inflate_miner`]): `favoured`'s gradient
/// score 0.5 higher, its indicator +1, and the random-page loss after made to match.
fn inflate(
	mut scores: Vec<(AccountId, MinerScore)>,
	favoured: &AccountId,
) -> Vec<(AccountId, MinerScore)> {
	for (miner, score) in scores.iter_mut().filter(|(m, _)| m == favoured) {
		score.gradient_score = (score.gradient_score + 0.5).min(evaluation::MAX_IMPROVEMENT);
		score.binary_indicator = 1;
		score.losses.random_after = score.losses.random_before * (1.0 - score.gradient_score);
		tracing::warn!(%miner, gradient_score = score.gradient_score, "inflated (dishonest validator)");
	}
	scores
}

/// The checkpoint hash most other announcers gave for θ_`window`, when this validator's `theta`
/// serialises to another (see [`replay::majority_disagrees`]); `None` when nobody else announced.
async fn split_from_miners(
	at: &ChainAt,
	me: &AccountId,
	theta: &[crate::sparseloco::Tensor],
	window: Window,
) -> Option<[u8; 32]> {
	let record = at.window_record(window).await.ok()??;
	if record.checkpoints.iter().all(|a| &a.announcer == me) {
		return None;
	}
	let bytes = checkpoint_bytes_of(theta, window).ok()?;
	let mine = crate::p2p::Commitment::of(&bytes).hash;
	replay::majority_disagrees(at, window, me, mine, false).await.ok().flatten()
}

/// Seals `scores` of `window` against θ `theta_hash`, saves them, then commits to them. Saved
/// first: a commitment whose scores are lost could never be revealed.
async fn commit_scores(
	client: &GauntletClient,
	signer: &Signer,
	files: &SealedScoreFiles,
	window: Window,
	theta_hash: [u8; 32],
	scores: Vec<(AccountId, MinerScore)>,
) -> Result<()> {
	let sealed = SealedScores::new(window, signer.account_id(), theta_hash, scores)?;
	files.save(&sealed)?;
	client.commit_scores(signer, &sealed).await?;
	Ok(())
}

/// Reveals, in the background, the scores of `window` saved when they were committed, unless
/// the chain shows no commitment from this validator or an earlier reveal.
fn spawn_reveal(
	client: GauntletClient,
	signer: Signer,
	files: SealedScoreFiles,
	window: Window,
	metrics: RoleMetrics,
) {
	tokio::spawn(async move {
		let me = signer.account_id();
		let result = async {
			let Some(sealed) = files.load(window)? else { return Ok(None) };
			let record = client.window_record(window).await?.context("window record pruned")?;
			let Some(commit) = record.score_commits.iter().find(|c| c.validator == me) else {
				return Ok(None);
			};
			anyhow::ensure!(
				commit.commitment == sealed.commitment,
				"the saved scores of window {window} are not those committed on chain"
			);
			if commit.revealed_at.is_some() {
				return Ok(None);
			}
			client.reveal_scores(&signer, &sealed).await?;
			anyhow::Ok(Some(sealed.scores.len()))
		}
		.await;
		match result {
			Ok(Some(miners)) => {
				tracing::info!(window, miners, "scores revealed");
				metrics.windows_done.inc();
			}
			Ok(None) => {}
			Err(e) => {
				tracing::warn!(window, error = format!("{e:#}"), "scores not revealed");
				metrics.windows_missed.with_label_values(&["reveal"]).inc();
			}
		}
	});
}

fn safetensors_window(bytes: &[u8]) -> Result<Window> {
	let (_, metadata) = crate::tensor_io::parse_safetensors(bytes, "global.safetensors")?;
	metadata.get("window").and_then(|w| w.parse().ok()).context("no window in the metadata")
}

/// Fetches, verifies and measures the chosen contributions of `window`; flags copies. The
/// seconds of fetching and of evaluating go into `seconds` (the journal entry's).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn score_window(
	args: &ValidatorArgs,
	setup: &super::cli::PeerSetup,
	params: &RunParams,
	at: &ChainAt,
	p2p: &P2pHandle,
	global: &GlobalModel,
	history: &SyncHistory,
	me: &AccountId,
	window: Window,
	role_metrics: &RoleMetrics,
	cache: &mut ContributionCache,
	seconds: &mut std::collections::BTreeMap<String, f64>,
) -> Result<Vec<(AccountId, MinerScore)>> {
	let record = at.window_record(window).await?.context("window record pruned")?;
	let seed = record.seed.as_ref().with_context(|| format!("window {window} has no seed yet"))?;
	// The chain's assignment: every miner's scorers are drawn from the window's seed.
	let chosen: Vec<ChainCommitment> = record.assigned_to(me).into_iter().cloned().collect();
	if chosen.is_empty() {
		return Ok(Vec::new());
	}
	let fetch_timer = role_metrics.phase("fetch");
	let largest = global.max_contribution_bytes(&params.codec);
	let deadline = args.peer.fetch_budget().for_set(&chosen, largest);
	let fetched = futures::future::join_all(chosen.iter().map(|c| async move {
		let fetched =
			fetch_contribution_within(deadline, p2p, at, window, c, global, &params.codec).await;
		(c.clone(), fetched.map(|(_, contribution)| contribution))
	}))
	.await;
	seconds.insert("fetch".into(), fetch_timer.stop_and_record());

	let b = args.eval_batch_seqs.max(1);
	let dataset = &setup.dataset;
	let device = global.model().device();
	// The random pages come from the window's seed, drawn after every commitment was made: no
	// miner could train on them, no validator could pick them, and anyone can recompute them.
	let random_identity = [me.as_ref(), seed.seed.0.as_slice()].concat();
	let random_pages = dataset.split.assign(
		params.run_seed,
		&random_identity,
		window,
		params.eval_random_batches * b,
	)?;
	let random = dataset.batch(&random_pages, device);

	let eval_timer = role_metrics.phase("evaluate");
	let mut decoded: Vec<(ChainCommitment, Contribution)> = Vec::new();
	let mut failed: Vec<(AccountId, MinerScore)> = Vec::new();
	for (commitment, result) in fetched {
		match result {
			Ok(c) => decoded.push((commitment, c)),
			Err(e) => {
				tracing::info!(window, miner = %commitment.miner, error = %e, "contribution failed");
				failed
					.push((commitment.miner, evaluation::failure(ContributionFailure::reason(&e))));
			}
		}
	}
	let mut measured: Vec<(ChainCommitment, Contribution, evaluation::Losses, Batch)> = Vec::new();
	tokio::task::block_in_place(|| -> Result<()> {
		let model = global.model();
		let micro = b as i64;
		let random_before = model.eval_loss(&random, micro);
		let own_batches = decoded
			.iter()
			.map(|(c, _)| {
				let pages = dataset.split.assign(
					params.run_seed,
					c.miner.as_ref(),
					window,
					params.eval_own_batches * b,
				)?;
				Ok(dataset.batch(&pages, device))
			})
			.collect::<Result<Vec<_>>>()?;
		// Every trial step is clipped to the median norm of the payloads evaluated in this
		// window, as the aggregate clips them: an inflated payload gains nothing.
		let evaluated: Vec<&Payload> = decoded.iter().map(|(_, c)| &c.payload).collect();
		let medians = global.median_norms(&evaluated)?;
		for ((commitment, contribution), own) in decoded.into_iter().zip(own_batches) {
			let losses = measure(
				global,
				&contribution.payload,
				&medians,
				params.eval_lr,
				&own,
				&random,
				random_before,
				micro,
			);
			match losses {
				Ok(l) => measured.push((commitment, contribution, l, own)),
				Err(e) => {
					tracing::info!(window, miner = %commitment.miner, error = %e, "payload not applicable");
					failed.push((
						commitment.miner,
						evaluation::failure(gauntlet_chain::types::FailureReason::Malformed),
					));
				}
			}
		}
		// The reference of the own-data indicator: the mean of the window's helpful updates
		// (those that lower the random-page loss on their own), measured on every page set.
		// Only helpful ones: a noise payload in the mean would move every other miner's
		// reference by as much as the signal (measured: up to 0.003 in windows with a noise miner).
		// Each miner's reference leaves its own payload out (it would dilute its advantage by
		// about 1/n); miners outside the helpful set share the full set's reference.
		let helpful: Vec<usize> = (0..measured.len())
			.filter(|&i| measured[i].2.random_after < measured[i].2.random_before)
			.collect();
		let reference_without = |left_out: Option<usize>| {
			let others: Vec<&Payload> = helpful
				.iter()
				.filter(|&&i| Some(i) != left_out)
				.map(|&i| &measured[i].1.payload)
				.collect();
			if others.len() < 2 {
				return None;
			}
			let targets: Vec<usize> = match left_out {
				Some(i) => vec![i],
				None => (0..measured.len()).filter(|i| !helpful.contains(i)).collect(),
			};
			evaluation::with_mean_update(global, &others, &medians, params.eval_lr, || {
				let random_after = model.eval_loss(&random, micro);
				targets
					.iter()
					.map(|&i| {
						let own_after = model.eval_loss(&measured[i].3, micro);
						(i, evaluation::Reference { own_after, random_after })
					})
					.collect::<Vec<_>>()
			})
			.ok()
		};
		let mut references: Vec<(usize, evaluation::Reference)> = Vec::new();
		if helpful.len() < measured.len() {
			references.extend(reference_without(None).into_iter().flatten());
		}
		for &i in &helpful {
			references.extend(reference_without(Some(i)).into_iter().flatten());
		}
		for (i, r) in references {
			measured[i].2.reference = Some(r);
		}
		Ok(())
	})?;
	seconds.insert("evaluate".into(), eval_timer.stop_and_record());

	let candidates: Vec<Candidate<'_>> = measured
		.iter()
		.map(|(c, contribution, _, _)| Candidate {
			miner: c.miner,
			committed_at: c.committed_at,
			payload: &contribution.payload,
		})
		.collect();
	let (copies, overlaps) = flag_copies(&candidates, params.copy_overlap_threshold);
	let overlaps: BTreeMap<AccountId, f64> = overlaps.into_iter().collect();
	let mut scores = failed;
	for (commitment, contribution, losses, _) in &measured {
		let steps_behind = history.steps_behind(window, &contribution.sample);
		let copy = copies.contains(&commitment.miner);
		let s = evaluation::score(losses, sync_score(steps_behind), copy, args.indicator_margin);
		tracing::debug!(window, miner = %commitment.miner, ?losses, "losses");
		tracing::info!(
			window,
			miner = %commitment.miner,
			gradient_score = s.gradient_score,
			own_improvement = s.own_improvement,
			own_data_advantage = evaluation::own_data_advantage(losses),
			indicator = s.binary_indicator,
			steps_behind,
			overlap = overlaps.get(&commitment.miner).copied().unwrap_or(0.0),
			copy,
			"scored"
		);
		role_metrics
			.gradient_score
			.with_label_values(&[&commitment.miner.to_string()])
			.set(s.gradient_score);
		scores.push((commitment.miner, s));
	}
	for (_, s) in &scores {
		let result = if s.failure.is_some() {
			"failure"
		} else if s.copy_suspected {
			"copy"
		} else {
			"scored"
		};
		role_metrics.scores_given.with_label_values(&[result]).inc();
	}
	for (commitment, contribution, _, _) in measured {
		// On the GPU now, so the outer step that applies them does not copy them.
		let uploaded = global.upload_payload(&contribution.payload_wire);
		cache.insert((window, commitment.miner), Prefetched { contribution, uploaded });
	}
	Ok(scores)
}
