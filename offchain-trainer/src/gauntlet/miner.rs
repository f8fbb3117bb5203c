//! The miner loop (`gauntlet-trainer miner`): register, then every window bring θ to the
//! global state, train H inner steps on the assigned pages, compress with error feedback, serve
//! the contribution and commit to it on chain before the window ends.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use gauntlet_chain::{AccountId, ChainAt, ChainError, Signer};

use crate::data::Dataset;
use crate::host_copy::{HostCopies, PendingCopy};
use crate::outer::{pseudo_gradient, ErrorBuffers, GpuErrorBuffers};
use crate::p2p::P2pHandle;
use crate::sparseloco::{CodecConfig, Tensor as Array};
use crate::training::checkpoint::{self, CheckpointInfo};
use crate::training::{train_step, AdamW, TrainConfig, TrainableModel};

use super::behaviour::{noise_payload, zero_payload, Behaviour};
use super::chain_view::ChainView;
use super::cli::{parse_account, Peer, PeerArgs, PeerSetup};
use super::contribution::Contribution;
use super::global_model::{weights_hash_of, GlobalModel};
use super::journal::{hex, Journal, JournalEntry};
use super::metrics::RoleMetrics;
use super::own_contributions::OwnContributions;
use super::peers::fetch_contribution;
use super::replay::{
	self, advance_to, checkpoint_bytes_of, local_checkpoint_dir, ContributionCache, ReplayError,
	Sources,
};
use super::run_params::RunParams;
use super::Window;

/// `gauntlet-trainer miner` flags.
#[derive(Clone, Debug, clap::Args)]
pub struct MinerArgs {
	#[command(flatten)]
	pub peer: PeerArgs,
	/// Serve θ as a checkpoint and announce it on chain every this many windows (0: never), for
	/// late joiners.
	#[arg(long, default_value_t = 5)]
	pub checkpoint_every: u64,
	/// Save the local checkpoint (θ, optimizer, error feedback; what a restart resumes from)
	/// every this many windows. Every window by default; a restart replays the windows since.
	/// Written by a background thread from a host copy: a `124m` save took 6.5–8.1 s on an H200
	/// host when it was written in line.
	#[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
	pub local_checkpoint_every: u64,
	/// Test-only adversarial behaviours (see `gauntlet::behaviour`).
	#[arg(long, value_enum, default_value = "honest", hide = true)]
	pub behaviour: Behaviour,
	/// The miner whose contributions `--behaviour copy` copies.
	#[arg(long, hide = true, value_parser = parse_account)]
	pub copy_from: Option<AccountId>,
}

/// What the loop carries from window to window.
struct MinerState {
	global: GlobalModel,
	optimizer: AdamW,
	error_feedback: ErrorFeedback,
	stale: Option<Vec<u8>>,
	/// Resumed from a checkpoint older than the chain's window (so windows were replayed) and not
	/// yet confirmed by a peer's (see `majority_disagrees`).
	recovering: bool,
}

/// The miner's error-feedback buffers: on its CUDA device with the GPU codec, else on the host
/// with the CPU codec. Both give the same payload bytes for the same θ and local weights.
enum ErrorFeedback {
	Host(ErrorBuffers),
	Device(Box<GpuErrorBuffers>),
}

impl ErrorFeedback {
	/// On the device of `model`'s weights when it is a CUDA device and the GPU codec loads there,
	/// from `host` (a checkpoint's buffers, or empty ones).
	fn new(host: ErrorBuffers, model: &TrainableModel, codec: &CodecConfig) -> Self {
		if model.device() == tch::Device::Cpu {
			return Self::Host(host);
		}
		match GpuErrorBuffers::new(&host, model.names(), model.params(), codec) {
			Ok(device) => Self::Device(Box::new(device)),
			Err(e) => {
				tracing::warn!(error = %e, "error feedback on the host (the CPU codec)");
				Self::Host(host)
			}
		}
	}

	/// Starts copying the buffers to the host: in line when they are there, on the copy stream
	/// on a GPU (later rounds do not reach the copy). Returns β and the copy.
	fn start_host_copy(&self, copies: &HostCopies) -> Result<(f32, PendingCopy)> {
		Ok(match self {
			Self::Host(buffers) => (buffers.beta(), PendingCopy::Ready(buffers.arrays().to_vec())),
			Self::Device(buffers) => (
				buffers.beta(),
				copies.start(&buffers.named()).context("copying the error feedback to the host")?,
			),
		})
	}

	/// One round on `θ − local`: the payload's wire bytes.
	fn step(
		&mut self,
		names: &[String],
		theta: &[tch::Tensor],
		local: &[tch::Tensor],
		codec: &CodecConfig,
	) -> Result<Vec<u8>> {
		Ok(match self {
			Self::Host(buffers) => {
				buffers.step(&pseudo_gradient(names, theta, local), codec)?.encode()
			}
			Self::Device(buffers) => buffers.step(theta, local)?,
		})
	}
}

/// Runs the miner until `--windows` windows are done (or forever).
pub async fn run(args: MinerArgs) -> Result<()> {
	anyhow::ensure!(
		args.behaviour != Behaviour::Copy || args.copy_from.is_some(),
		"--behaviour copy needs --copy-from"
	);
	let Peer {
		setup,
		signer,
		me,
		metrics: role_metrics,
		mut chain,
		params,
		p2p,
		store_windows,
		max_payload,
	} = args.peer.start().await?;
	register(&mut chain, &signer, &p2p).await?;
	tracing::info!(miner = %me, peer = %p2p.local_peer_id(), behaviour = ?args.behaviour, "miner registered");

	let state_dir = &args.peer.state_dir;
	let own = OwnContributions::new(state_dir.join("contributions"), store_windows)?;
	let saved = own.resume().context("reading the saved contributions")?;
	for (window, path) in own.list()? {
		if let Ok(bytes) = std::fs::read(&path) {
			let _ = p2p.serve(window, bytes);
		}
	}
	let journal = Journal::new(state_dir);
	let mut state = initial_state(&args, &setup, &params, &mut chain, &p2p, max_payload).await?;
	// The last window whose contribution was final before a restart: it is served (and
	// committed, if the commit had not landed), never trained again; the error feedback after it
	// replaces the checkpoint's when newer (the checkpoint of window c holds it after c − 1).
	let mut final_before_restart = None;
	if let Some(saved) = saved {
		if saved.window >= state.global.window() {
			tracing::info!(
				window = saved.window,
				"error feedback from the last saved contribution"
			);
			state.error_feedback =
				ErrorFeedback::new(saved.error_feedback, state.global.model(), &params.codec);
		}
		final_before_restart = Some(saved.window);
	}
	let mut cache = ContributionCache::new();
	let mut window = state.global.window().max(chain.latest().await.head().window);
	let mut done = 0u64;
	let fetch = args.peer.fetch_budget();
	let mut last_checkpoint: Option<(Window, Announcement)> = None;
	// On-chain commits still being submitted, oldest first.
	let mut pending: std::collections::VecDeque<PendingCommit> = Default::default();
	// θ's checkpoint hash announced last, to compare with the other miners' before syncing.
	let mut checkpoint_check: Option<(Window, [u8; 32])> = None;
	let checkpoint_dir = local_checkpoint_dir(&args.peer.state_dir);
	let mut writer = CheckpointWriter::default();
	let copies = HostCopies::for_device(setup.device);
	let mut first_round = true;
	while args.peer.windows.is_none_or(|n| done < n) {
		let waited = Instant::now();
		let sources = Sources { me: Some(&me), own: Some(&own), fetch };
		let at = replay::wait_prefetching(
			&mut chain,
			&p2p,
			&state.global,
			window,
			&params,
			sources,
			&mut cache,
		)
		.await;
		window = window.max(at.head().window);
		role_metrics.window.set(window as i64);
		let mut entry = JournalEntry { window, role: "miner".into(), ..Default::default() };
		entry.seconds.insert("wait".into(), waited.elapsed().as_secs_f64());
		// Commits included by now are journaled; one still waiting for its block stays pending
		// rather than hold up the round (nothing in it needs the commit included).
		while pending.front().is_some_and(PendingCommit::is_done) {
			if let Some(p) = pending.pop_front() {
				p.finish(&mut chain, &me, &role_metrics, &journal, "commit").await;
			}
		}

		let sync = role_metrics.phase("sync");
		if let Some((w, announcement)) = last_checkpoint.take().filter(|(w, _)| *w < window) {
			checkpoint_check = announcement.await.ok().flatten().map(|hash| (w, hash));
		}
		let synced = sync_window(
			&mut chain,
			&at,
			&p2p,
			&mut state,
			&me,
			checkpoint_check,
			window,
			&params,
			sources,
			&mut cache,
		)
		.await;
		let replayed = match synced {
			Ok(replayed) => replayed,
			// A node restarting or a dropped connection: not this miner's failure. Reconnect
			// and start the window over (θ is only ever moved whole windows at a time).
			Err(ReplayError::Chain(e)) => {
				tracing::warn!(window, error = %e, "chain unreachable while syncing; retrying");
				chain.reset();
				tokio::time::sleep(std::time::Duration::from_secs(1)).await;
				continue;
			}
			Err(e) => return Err(e.into()),
		};
		checkpoint_check = None;
		entry.seconds.insert("sync".into(), sync.stop_and_record());
		let read: f64 = replayed.iter().map(|s| s.read.as_secs_f64()).sum();
		let fetch: f64 = replayed.iter().map(|s| s.fetch.as_secs_f64()).sum();
		let apply: f64 = replayed.iter().map(|s| s.apply.as_secs_f64()).sum();
		entry.seconds.insert("read".into(), read);
		entry.seconds.insert("fetch".into(), fetch);
		entry.seconds.insert("apply".into(), apply);
		if let Some(last) = replayed.last().filter(|s| s.window + 1 == window) {
			entry.aggregated = last.applied.iter().map(ToString::to_string).collect();
			entry.left_out = last.left_out.iter().map(|(m, _)| m.to_string()).collect();
		}
		// θ's host copy (on the copy stream on a GPU, while the window trains): hashed for the
		// journal and, when due, served as a checkpoint, both on other threads.
		let copying = Instant::now();
		let theta = copy_theta(&copies, &state.global)?;
		let hashing = {
			let theta = theta.clone();
			tokio::spawn(async move {
				let theta = theta.await?;
				tokio::task::spawn_blocking(move || weights_hash_of(&theta))
					.await
					.map_err(|e| e.to_string())
			})
		};
		entry.seconds.insert("hash".into(), copying.elapsed().as_secs_f64());
		let checkpointing = Instant::now();
		if window % args.local_checkpoint_every == 0 {
			let snapshot = local_checkpoint(&args, &setup, &state, &copies, window)?;
			writer.start(snapshot, &checkpoint_dir)?;
		}
		if args.checkpoint_every > 0 && window > 0 && window % args.checkpoint_every == 0 {
			let client = chain.client().await;
			let announcement = announce_checkpoint(client, &signer, &p2p, theta.clone(), window);
			last_checkpoint = Some((window, announcement));
		}
		entry.seconds.insert("checkpoint".into(), checkpointing.elapsed().as_secs_f64());

		let computed = Instant::now();
		let saved = final_before_restart.take().filter(|w| *w == window).and_then(|w| own.load(w));
		let resumed = saved.is_some();
		// The first window after a start, committed on chain but with no final bytes saved (the
		// save failed; the commit does not wait for it): training it again would serve bytes
		// other than the committed ones and send residual the error feedback already sent.
		let committed_unsaved = first_round
			&& !resumed
			&& matches!(own_commitment(&mut chain, &me, window).await, Ok(Some(_)));
		first_round = false;
		if committed_unsaved {
			tracing::warn!(
				window,
				"committed before a restart, bytes not saved: skipping the window"
			);
			entry.note = Some(COMMITTED_UNSAVED.into());
			journal.append(&entry);
			window += 1;
			done += 1;
			continue;
		}
		let built = match saved {
			Some(bytes) => Ok(Some((bytes, None))),
			None => {
				build_contribution(
					&args,
					&setup,
					&params,
					&mut state,
					&mut chain,
					&p2p,
					&me,
					window,
					&role_metrics,
					&mut entry.seconds,
				)
				.await
			}
		};
		entry.seconds.insert("compute".into(), computed.elapsed().as_secs_f64());
		drop(theta);
		entry.global_weights = match hashing.await.map_err(|e| e.to_string()).and_then(|h| h) {
			Ok(hash) => hex(&hash),
			Err(e) => format!("(no hash: {e})"),
		};
		let bytes = match built {
			Ok(Some((bytes, loss))) => {
				entry.train_loss = loss;
				Some(bytes)
			}
			Ok(None) => {
				entry.note = Some("nothing to commit".into());
				None
			}
			Err(e) => {
				tracing::warn!(window, error = format!("{e:#}"), "no contribution this window");
				entry.note = Some(format!("{e:#}"));
				role_metrics.windows_missed.with_label_values(&["build"]).inc();
				None
			}
		};
		let Some(bytes) = bytes else {
			journal.append(&entry);
			window += 1;
			done += 1;
			continue;
		};

		// Served now; saved and then committed in the background, and journaled at the first
		// window start that finds the commit included, so the loop never blocks on a block being
		// produced (unless commits pile up: a stalled node).
		let commit_timer = role_metrics.phase("commit");
		let commitment = p2p.serve(window, bytes.clone())?;
		let save = if resumed {
			// Final before the restart: on chain already, or to be committed now.
			match own_commitment(&mut chain, &me, window).await {
				Ok(Some(hash)) => {
					if hash == commitment.hash {
						tracing::info!(window, "committed before the restart; serving those bytes");
						entry.committed = Some(hex(&hash));
						entry.committed_bytes = Some(commitment.size);
						entry.note = Some(RESUMED_COMMITTED.into());
					} else {
						tracing::warn!(window, "the chain holds another commitment of ours");
						entry.note = Some("the chain holds other bytes of ours".into());
					}
					journal.append(&entry);
					window += 1;
					done += 1;
					continue;
				}
				Ok(None) => {
					tracing::info!(
						window,
						"saved before the restart, not yet committed: committing"
					);
					entry.note = Some(RESUMED_UNCOMMITTED.into());
				}
				Err(e) => tracing::warn!(window, error = %e, "own commitment not read; committing"),
			}
			None
		} else {
			// Saved before the commit is submitted (see `own_contributions`): the bytes, then
			// the error feedback after this window's compression, on a blocking thread (the
			// write competes with the local checkpoint's for the disk; in line it took up to
			// 0.9 s on a 4 x H200 run).
			let (beta, error_feedback) = state.error_feedback.start_host_copy(&copies)?;
			Some((own.clone(), bytes.clone(), beta, error_feedback))
		};
		let client = chain.client().await;
		let submitter = signer.clone();
		let submission = tokio::spawn(async move {
			if let Some((own, bytes, beta, error_feedback)) = save {
				// A failed save does not hold the commit back: serving this window matters
				// more than a restart's resume (which then retrains nothing: the chain's
				// record of the commit stops it).
				let saved = tokio::task::spawn_blocking(move || -> Result<()> {
					let error_feedback = error_feedback.wait()?;
					Ok(own.save_final(window, &bytes, beta, &error_feedback)?)
				})
				.await;
				match saved {
					Ok(Ok(())) => {}
					Ok(Err(e)) => tracing::warn!(window, error = %e, "contribution not saved"),
					Err(e) => tracing::warn!(window, error = %e, "contribution saver failed"),
				}
			}
			let submitted = Instant::now();
			let result = client
				.commit(&submitter, window, commitment.hash, commitment.size)
				.await
				.map(|_| ());
			(result, submitted.elapsed())
		});
		entry.seconds.insert("commit".into(), commit_timer.stop_and_record());
		pending.push_back(PendingCommit { entry, commitment, submission });
		while pending.len() > MAX_PENDING_COMMITS {
			if let Some(p) = pending.pop_front() {
				p.finish(&mut chain, &me, &role_metrics, &journal, "commit").await;
			}
		}
		window += 1;
		done += 1;
	}
	// Stopping: what is left waits for its block, which no round pays for (`drain`).
	while let Some(p) = pending.pop_front() {
		p.finish(&mut chain, &me, &role_metrics, &journal, "drain").await;
	}
	writer.finish(&checkpoint_dir)
}

/// Journal notes of a window whose contribution was final before a restart.
const RESUMED_COMMITTED: &str = "committed before a restart: serving the committed bytes";
const RESUMED_UNCOMMITTED: &str = "saved before a restart: committing the saved bytes";
const COMMITTED_UNSAVED: &str =
	"committed before a restart without saved bytes: not trained again, nothing served";

/// The payload hash this miner committed to for `window`, if the chain holds one.
async fn own_commitment(
	chain: &mut ChainView,
	me: &AccountId,
	window: Window,
) -> Result<Option<[u8; 32]>, ChainError> {
	let record = chain.latest().await.window_record(window).await?;
	Ok(record
		.and_then(|r| r.commitments.into_iter().find(|c| &c.miner == me))
		.map(|c| c.payload_hash.0))
}

/// Brings θ to `window`: first compares the checkpoint this miner announced last (`check`) with
/// the other miners' and takes theirs if the majority differs, then replays every aggregate
/// since θ's window, from a peer's checkpoint if the chain has pruned that far.
#[allow(clippy::too_many_arguments)]
async fn sync_window(
	chain: &mut ChainView,
	at: &ChainAt,
	p2p: &P2pHandle,
	state: &mut MinerState,
	me: &AccountId,
	check: Option<(Window, [u8; 32])>,
	window: Window,
	params: &RunParams,
	sources: Sources<'_>,
	cache: &mut ContributionCache,
) -> Result<Vec<replay::WindowAggregate>, ReplayError> {
	if let Some((w, mine)) = check {
		match replay::majority_disagrees(at, w, me, mine, state.recovering).await? {
			Some(theirs) => {
				tracing::warn!(
					window = w,
					"θ differs from the other miners' checkpoints; taking theirs"
				);
				if replay::load_checkpoint_of(at, p2p, &mut state.global, w, Some(theirs), None)
					.await?
				{
					state.recovering = false;
				}
			}
			None => {
				let others = at
					.window_record(w)
					.await?
					.map_or(0, |r| r.checkpoints.iter().filter(|a| &a.announcer != me).count());
				// Confirmed by at least one other peer: no longer the suspect of a split.
				if others > 0 {
					state.recovering = false;
				}
			}
		}
	}
	let mut looked_for_checkpoint = false;
	let mut start = Some(at);
	loop {
		let advanced =
			advance_to(chain, start.take(), p2p, &mut state.global, window, params, sources, cache)
				.await;
		match advanced {
			Err(ReplayError::Pruned(w)) if !looked_for_checkpoint => {
				tracing::warn!(window = w, "history pruned; looking for a peer checkpoint");
				let at = chain.latest().await;
				replay::load_peer_checkpoint(&at, p2p, &mut state.global).await?;
				looked_for_checkpoint = true;
			}
			other => return other,
		}
	}
}

/// Registers this miner with its p2p endpoint, or updates the endpoint if it changed.
async fn register(chain: &mut ChainView, signer: &Signer, p2p: &P2pHandle) -> Result<()> {
	let endpoint = p2p.endpoint().to_chain().context("this host's endpoint")?;
	let me = signer.account_id();
	let at = chain.latest().await;
	let client = chain.client().await;
	match at.miner_endpoint(&me).await? {
		None => {
			client.register(signer, &endpoint.peer_id, &endpoint.multiaddrs).await?;
		}
		Some(current)
			if current.peer_id != endpoint.peer_id || current.multiaddrs != endpoint.multiaddrs =>
		{
			client.update_endpoint(signer, &endpoint.peer_id, &endpoint.multiaddrs).await?;
		}
		Some(_) => {}
	}
	Ok(())
}

/// The state to start from: this miner's own checkpoint, else a peer's, else θ_0.
async fn initial_state(
	args: &MinerArgs,
	setup: &PeerSetup,
	params: &RunParams,
	chain: &mut ChainView,
	p2p: &P2pHandle,
	max_payload: usize,
) -> Result<MinerState> {
	let dir = local_checkpoint_dir(&args.peer.state_dir);
	let run_seed = args.peer.run_seed;
	if checkpoint::exists(&dir) {
		let c = checkpoint::load(&dir, setup.device, setup.precision).with_context(|| {
			format!("loading {} (delete it to start from a peer checkpoint)", dir.display())
		})?;
		let window = c.info.rounds;
		tracing::info!(window, "resuming from the local checkpoint");
		let error_feedback = match c.error_feedback {
			Some(ef) => ef,
			None => ErrorBuffers::new(params.error_feedback_beta)?,
		};
		let error_feedback = ErrorFeedback::new(error_feedback, &c.model, &params.codec);
		// Only a miner that has windows to replay doubts its θ: one restarted within the window
		// of its checkpoint holds exactly the θ it held before, and must not yield to another
		// miner at a tie (two restarted miners that both yield would swap θs).
		let head = chain.latest().await.head().window;
		return Ok(MinerState {
			global: GlobalModel::new(c.model, window, run_seed, max_payload),
			optimizer: c.optimizer,
			error_feedback,
			stale: None,
			recovering: window < head,
		});
	}
	let model = TrainableModel::new(&setup.model, setup.device, setup.precision, run_seed as i64);
	let mut global = GlobalModel::new(model, 0, run_seed, max_payload);
	let at = chain.latest().await;
	let recovering = at.head().window > 0
		&& replay::load_peer_checkpoint(&at, p2p, &mut global).await?.is_some();
	let optimizer = AdamW::new(global.model().params(), setup.train.adamw);
	let error_feedback = ErrorBuffers::new(params.error_feedback_beta)?;
	let error_feedback = ErrorFeedback::new(error_feedback, global.model(), &params.codec);
	Ok(MinerState { global, optimizer, error_feedback, stale: None, recovering })
}

/// The local checkpoint being written on its own thread, while the window's training goes on.
#[derive(Default)]
struct CheckpointWriter(Option<std::thread::JoinHandle<Result<()>>>);

impl CheckpointWriter {
	/// Waits for the write in flight, if any.
	fn finish(&mut self, dir: &Path) -> Result<()> {
		let Some(handle) = self.0.take() else { return Ok(()) };
		let written =
			handle.join().map_err(|_| anyhow::anyhow!("the checkpoint writer panicked"))?;
		written.with_context(|| format!("saving the checkpoint in {}", dir.display()))
	}

	/// Waits for the previous write, then writes `snapshot` (once its copy lands) to `dir` in
	/// the background.
	fn start(&mut self, snapshot: PendingSnapshot, dir: &Path) -> Result<()> {
		self.finish(dir)?;
		let dir = dir.to_path_buf();
		self.0 = Some(std::thread::spawn(move || Ok(snapshot.wait()?.write(&dir)?)));
		Ok(())
	}
}

/// A local checkpoint on its way to the host (see [`local_checkpoint`]).
struct PendingSnapshot {
	info: CheckpointInfo,
	copy: PendingCopy,
	/// How many of the copied arrays are [`checkpoint::state_tensors`]' (the rest: error feedback).
	state_len: usize,
	optimizer_steps: u64,
	beta: f32,
	/// The error feedback when it is on the host (copied in line); `None`: in `copy`.
	host_error_feedback: Option<Vec<Array>>,
}

impl PendingSnapshot {
	/// Waits for the copy and assembles the snapshot.
	fn wait(self) -> Result<checkpoint::Snapshot> {
		let mut state = self.copy.wait().context("copying the checkpoint to the host")?;
		let device_error_feedback = state.split_off(self.state_len);
		let ef = self.host_error_feedback.unwrap_or(device_error_feedback);
		Ok(checkpoint::snapshot_of_arrays(
			self.info,
			state,
			self.optimizer_steps,
			Some((self.beta, ef)),
		))
	}
}

/// Starts copying θ, the optimizer's moments and the error feedback of `window` to the host
/// (on the copy stream on a GPU): the loop pays for device-side clones only.
fn local_checkpoint(
	args: &MinerArgs,
	setup: &PeerSetup,
	state: &MinerState,
	copies: &HostCopies,
	window: Window,
) -> Result<PendingSnapshot> {
	let info = CheckpointInfo {
		format_version: 0,
		model: setup.model.clone(),
		train: setup.train.clone(),
		optimizer_steps: 0,
		rounds: window,
		run_seed: args.peer.run_seed,
		error_feedback_beta: None,
	};
	let state_tensors = checkpoint::state_tensors(state.global.model(), &state.optimizer);
	let mut named: Vec<(&str, &tch::Tensor)> =
		state_tensors.iter().map(|(n, t)| (n.as_str(), *t)).collect();
	let state_len = named.len();
	let (beta, host_error_feedback) = match &state.error_feedback {
		ErrorFeedback::Host(ef) => (ef.beta(), Some(ef.arrays().to_vec())),
		ErrorFeedback::Device(ef) => {
			named.extend(ef.named());
			(ef.beta(), None)
		}
	};
	Ok(PendingSnapshot {
		info,
		copy: copies.start(&named).context("copying the checkpoint to the host")?,
		state_len,
		optimizer_steps: state.optimizer.steps(),
		beta,
		host_error_feedback,
	})
}

/// θ's host copy, shared by the journal's hash and the checkpoint announcement.
type ThetaCopy = futures::future::Shared<
	futures::future::BoxFuture<'static, Result<std::sync::Arc<Vec<Array>>, String>>,
>;

/// Starts copying θ to the host (on the copy stream on a GPU); resolves once it is there.
fn copy_theta(copies: &HostCopies, global: &GlobalModel) -> Result<ThetaCopy> {
	use futures::FutureExt;
	let model = global.model();
	let named: Vec<(&str, &tch::Tensor)> =
		model.names().iter().map(String::as_str).zip(model.params()).collect();
	let copy = copies.start(&named).context("copying θ to the host")?;
	Ok(async move {
		match tokio::task::spawn_blocking(move || copy.wait()).await {
			Ok(Ok(arrays)) => Ok(std::sync::Arc::new(arrays)),
			Ok(Err(e)) => Err(e.to_string()),
			Err(e) => Err(format!("host copy task: {e}")),
		}
	}
	.boxed()
	.shared())
}

/// The hash of the checkpoint being served and announced, once it is built (`None`: it was not).
type Announcement = tokio::task::JoinHandle<Option<[u8; 32]>>;

/// Serves θ_window (`theta`, its host copy once it lands) as a checkpoint and announces it on
/// chain, all in the background: serialising takes seconds at `124m` and the announcement waits
/// for finality, training need not. Resolves, once served, to the hash being announced.
fn announce_checkpoint(
	client: gauntlet_chain::GauntletClient,
	signer: &Signer,
	p2p: &P2pHandle,
	theta: ThetaCopy,
	window: Window,
) -> Announcement {
	let (signer, p2p) = (signer.clone(), p2p.clone());
	tokio::spawn(async move {
		let theta = match theta.await {
			Ok(theta) => theta,
			Err(e) => {
				tracing::warn!(window, error = %e, "checkpoint not copied");
				return None;
			}
		};
		let built = tokio::task::spawn_blocking(move || checkpoint_bytes_of(&theta, window)).await;
		let bytes = match built {
			Ok(Ok(bytes)) => bytes,
			Ok(Err(e)) => {
				tracing::warn!(window, error = %e, "checkpoint not built");
				return None;
			}
			Err(e) => {
				tracing::warn!(window, error = %e, "checkpoint builder failed");
				return None;
			}
		};
		let commitment = match p2p.serve(window, bytes) {
			Ok(c) => c,
			Err(e) => {
				tracing::warn!(window, error = %e, "checkpoint not served");
				return None;
			}
		};
		// The announcement waits for finality; the hash is known now.
		tokio::spawn(async move {
			match client
				.announce_checkpoint(&signer, window, commitment.hash, commitment.size)
				.await
			{
				Ok(_) => tracing::info!(window, bytes = commitment.size, "checkpoint announced"),
				Err(e) => tracing::warn!(window, error = %e, "checkpoint announcement failed"),
			}
		});
		Some(commitment.hash)
	})
}

/// Commits awaiting inclusion beyond which the loop waits for the oldest.
const MAX_PENDING_COMMITS: usize = 4;

/// A window's journal entry whose on-chain commit is still being submitted.
struct PendingCommit {
	entry: JournalEntry,
	commitment: crate::p2p::Commitment,
	submission: tokio::task::JoinHandle<(Result<(), ChainError>, std::time::Duration)>,
}

impl PendingCommit {
	/// Whether the submission has ended (included or failed), so [`Self::finish`] won't wait.
	fn is_done(&self) -> bool {
		self.submission.is_finished()
	}

	/// Awaits the commit's inclusion, records it (`blocked_as` gains any time the loop had to
	/// wait for it; `inclusion` is submission to inclusion) and appends the entry to the
	/// journal.
	async fn finish(
		self,
		chain: &mut ChainView,
		me: &AccountId,
		role_metrics: &RoleMetrics,
		journal: &Journal,
		blocked_as: &str,
	) {
		let Self { mut entry, commitment, submission } = self;
		let window = entry.window;
		let blocked = Instant::now();
		let outcome = submission.await;
		*entry.seconds.entry(blocked_as.into()).or_default() += blocked.elapsed().as_secs_f64();
		if let Ok((_, took)) = &outcome {
			entry.seconds.insert("inclusion".into(), took.as_secs_f64());
		}
		let failure = match outcome {
			Ok((Ok(()), _)) => None,
			Ok((Err(e), _)) => {
				if matches!(e, ChainError::Rpc { .. } | ChainError::Connect { .. }) {
					chain.reset();
				}
				Some(e.to_string())
			}
			Err(e) => Some(format!("commit task: {e}")),
		};
		match failure {
			None => {
				tracing::info!(window, bytes = commitment.size, loss = ?entry.train_loss, "committed");
				entry.committed = Some(hex(&commitment.hash));
				entry.committed_bytes = Some(commitment.size);
				role_metrics.windows_done.inc();
			}
			Some(e) => {
				tracing::warn!(window, error = %e, "commit failed");
				entry.note = Some(format!("commit failed: {e}"));
				role_metrics.windows_missed.with_label_values(&["commit"]).inc();
			}
		}
		if let Ok(Some(standing)) = chain
			.latest()
			.await
			.leaderboard()
			.await
			.map(|rows| rows.into_iter().find(|r| &r.miner == me))
		{
			role_metrics.final_weight.set(standing.final_weight);
		}
		journal.append(&entry);
	}
}

/// This window's contribution bytes and mean training loss, per the behaviour. The seconds of
/// compressing go into `seconds` (the journal entry's) when it trains.
#[allow(clippy::too_many_arguments)]
async fn build_contribution(
	args: &MinerArgs,
	setup: &PeerSetup,
	params: &RunParams,
	state: &mut MinerState,
	chain: &mut ChainView,
	p2p: &P2pHandle,
	me: &AccountId,
	window: Window,
	role_metrics: &RoleMetrics,
	seconds: &mut std::collections::BTreeMap<String, f64>,
) -> Result<Option<(Vec<u8>, Option<f64>)>> {
	let behaviour = args.behaviour;
	if behaviour == Behaviour::Copy {
		let victim = args.copy_from.context("--copy-from")?;
		return copy_contribution(chain, p2p, &state.global, params, &victim, window).await;
	}
	if let (Behaviour::Stale, Some(bytes)) = (behaviour, &state.stale) {
		return Ok(Some((bytes.clone(), None)));
	}
	let sample = state.global.sample();
	let (payload, loss) = if behaviour.trains(state.stale.is_some()) {
		let timer = role_metrics.phase("train");
		let started = Instant::now();
		let identity = behaviour.data_identity(me.as_ref());
		let (payload, loss, compress) = tokio::task::block_in_place(|| {
			train_window(
				state,
				&setup.dataset,
				&setup.train,
				params,
				&identity,
				args.peer.run_seed,
				window,
			)
		})?;
		timer.observe_duration();
		seconds.insert("compress".into(), compress.as_secs_f64());
		let tokens = (params.inner_steps * setup.train.batch_seqs * setup.dataset.seq_len()) as f64;
		role_metrics.tokens_per_second.set(tokens / started.elapsed().as_secs_f64());
		role_metrics.train_loss.set(loss);
		(payload, Some(loss))
	} else if behaviour == Behaviour::Noise {
		(noise_payload(&state.global, &params.codec, 0.05, window)?.encode(), None)
	} else {
		(zero_payload(&state.global, &params.codec)?.encode(), None)
	};
	let bytes = Contribution::encode_parts(&sample, &payload);
	if behaviour == Behaviour::Stale {
		state.stale = Some(bytes.clone());
	}
	Ok(Some((bytes, loss)))
}

/// H inner steps from θ on the pages of `identity` in `window`; returns the compressed
/// pseudo-gradient (error feedback applied; wire bytes), the mean loss and how long the
/// compression took, and leaves the model at θ.
fn train_window(
	state: &mut MinerState,
	dataset: &Dataset,
	train: &TrainConfig,
	params: &RunParams,
	identity: &[u8],
	run_seed: u64,
	window: Window,
) -> Result<(Vec<u8>, f64, std::time::Duration)> {
	let model = state.global.model();
	let theta = model.snapshot();
	let b = train.batch_seqs;
	let pages = dataset.split.assign(run_seed, identity, window, params.inner_steps * b)?;
	let mut total = 0.0;
	let mut result = Ok(());
	// Pages are consumed last-drawn first: validators evaluate the first-drawn pages (a prefix,
	// whatever a miner's batch size), so those are the freshest in the payload.
	for step in 0..params.inner_steps {
		let at = (params.inner_steps - 1 - step) * b;
		let batch = dataset.batch(&pages[at..at + b], model.device());
		let stats = train_step(model, &mut state.optimizer, &batch, train);
		if !stats.loss.is_finite() {
			result = Err(anyhow::anyhow!("non-finite training loss at inner step {step}"));
			break;
		}
		total += stats.loss;
	}
	let compressing = Instant::now();
	let payload = result.and_then(|()| {
		state.error_feedback.step(model.names(), &theta, model.params(), &params.codec)
	});
	let compress = compressing.elapsed();
	model.assign(&theta);
	Ok((payload?, total / params.inner_steps as f64, compress))
}

/// Waits for `victim`'s commitment in `window`, fetches its contribution and returns the same
/// bytes (the copy adversary).
async fn copy_contribution(
	chain: &mut ChainView,
	p2p: &P2pHandle,
	global: &GlobalModel,
	params: &RunParams,
	victim: &AccountId,
	window: Window,
) -> Result<Option<(Vec<u8>, Option<f64>)>> {
	loop {
		let at = chain.latest().await;
		if at.head().window != window {
			return Ok(None);
		}
		if let Some(record) = at.window_record(window).await? {
			if let Some(c) = record.commitments.iter().find(|c| &c.miner == victim) {
				let (bytes, _) = fetch_contribution(p2p, &at, window, c, global, &params.codec)
					.await
					.map_err(|e| anyhow::anyhow!("fetching the copied contribution: {e}"))?;
				return Ok(Some((bytes, None)));
			}
		}
		tokio::time::sleep(std::time::Duration::from_millis(250)).await;
	}
}
