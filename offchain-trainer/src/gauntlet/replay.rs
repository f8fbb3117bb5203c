//! Bringing the global weights to a window, without any central store:
//!
//! 1. start from the newest of: this peer's own checkpoint on disk, a checkpoint another peer
//!    announced on chain (fetched over libp2p and checked against the announced hash), or θ_0
//!    (the run's initial weights, from the model seed);
//! 2. replay each later window's aggregate: the chain names the set, peers serve the bytes.
//!
//! A checkpoint served to peers is θ alone (safetensors, f32): optimizer moments and error
//! feedback are a miner's own business and start afresh for a late joiner.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gauntlet_chain::{AccountId, ChainAt};

use crate::p2p::{Commitment, P2pHandle};
use crate::sparseloco::Tensor as Array;
use crate::tensor_io::{parse_safetensors, serialize_safetensors, to_tch};

use super::chain_view::ChainView;
use super::contribution::Contribution;
use super::global_model::GlobalModel;
use super::own_contributions::OwnContributions;
use super::peers::{fetch_contribution_within, miner_endpoint, FetchBudget};
use super::run_params::RunParams;
use super::Window;

/// How far back from the head a late joiner looks for announced checkpoints.
pub const CHECKPOINT_LOOKBACK: u64 = 32;

/// Why the global weights could not be brought to a window.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
	/// The chain no longer holds the record of a window to replay (pruned).
	#[error("window {0} is no longer on chain (pruned); start from a newer checkpoint")]
	Pruned(Window),
	/// The aggregation set of a past window was never selected.
	#[error("window {0} has no aggregation set yet")]
	NoAggregationSet(Window),
	/// The chain could not be read.
	#[error("chain: {0}")]
	Chain(#[from] gauntlet_chain::ChainError),
	/// The aggregate could not be applied.
	#[error("applying the aggregate of window {window}: {source}")]
	Apply {
		/// The window.
		window: Window,
		/// The codec's refusal.
		source: crate::sparseloco::CodecError,
	},
	/// A checkpoint does not fit the model.
	#[error("checkpoint: {0}")]
	Checkpoint(String),
}

/// What replaying one window did.
#[derive(Clone, Debug, Default)]
pub struct WindowAggregate {
	/// The window whose aggregate was applied.
	pub window: Window,
	/// Set members whose contributions were applied, in order.
	pub applied: Vec<AccountId>,
	/// Set members left out, with why.
	pub left_out: Vec<(AccountId, String)>,
	/// Tensors that kept their weights because the aggregate made them non-finite.
	pub skipped: Vec<String>,
	/// Time spent reading the window's record (its aggregation set) from the chain.
	pub read: std::time::Duration,
	/// Time spent getting the members' contributions (cache, disk or network).
	pub fetch: std::time::Duration,
	/// Time spent applying the aggregate to θ.
	pub apply: std::time::Duration,
}

/// Where [`advance_to`] finds contributions besides the network, and how long it waits for one.
#[derive(Clone, Copy)]
pub struct Sources<'a> {
	/// This peer's account, if it is a miner.
	pub me: Option<&'a AccountId>,
	/// This peer's own served contributions.
	pub own: Option<&'a OwnContributions>,
	/// How long a set's fetches may take: a dead member must not make every other peer miss the
	/// window, and a large set must not be left out on time alone. All peers time out on a dead
	/// member alike; a member that is merely slow for some peers is where θ can split, which the
	/// sync score and the checkpoint-hash check of the miner loop catch.
	pub fetch: FetchBudget,
}

/// A contribution fetched before its window's outer step (while a miner waited for the window,
/// or by a validator's evaluation), with its payload's bytes already on θ's GPU when the
/// fetcher could put them there ([`GlobalModel::upload_payload`]).
pub struct Prefetched {
	/// The decoded contribution.
	pub contribution: Contribution,
	/// Its payload's bytes on θ's device.
	pub uploaded: Option<tch::Tensor>,
}

/// Contributions already fetched, by (window, miner).
pub type ContributionCache = std::collections::BTreeMap<(Window, AccountId), Prefetched>;

/// Applies the aggregates of `global.window()`, `global.window() + 1`, … until θ is that of
/// `target`. Contributions come from `cache`, from `own` (this peer's), or are fetched. The
/// first window's record is read at `start` when given (a view the caller already holds, in
/// `target`: one chain read less on the critical path), later ones at the latest block.
#[allow(clippy::too_many_arguments)]
pub async fn advance_to(
	chain: &mut ChainView,
	mut start: Option<&ChainAt>,
	p2p: &P2pHandle,
	global: &mut GlobalModel,
	target: Window,
	params: &RunParams,
	sources: Sources<'_>,
	cache: &mut ContributionCache,
) -> Result<Vec<WindowAggregate>, ReplayError> {
	let Sources { me, own, fetch } = sources;
	let mut done = Vec::new();
	while global.window() < target {
		let window = global.window();
		let reading = std::time::Instant::now();
		let latest;
		let at = match start.take().filter(|at| at.head().window > window) {
			Some(at) => at,
			None => {
				latest = chain.latest().await;
				&latest
			}
		};
		let record = at.window_record(window).await?.ok_or(ReplayError::Pruned(window))?;
		let set = record.aggregation_set.ok_or(ReplayError::NoAggregationSet(window))?;
		let mut step = WindowAggregate { window, read: reading.elapsed(), ..Default::default() };
		let fetching = std::time::Instant::now();
		let mut payloads = Vec::with_capacity(set.len());
		let mut wires = Vec::with_capacity(set.len());
		let mut uploaded = Vec::with_capacity(set.len());
		let largest = global.max_contribution_bytes(&params.codec);
		let deadline =
			fetch.for_set(record.commitments.iter().filter(|c| set.contains(&c.miner)), largest);
		let fetches = set.iter().map(|miner| {
			let commitment = record.commitments.iter().find(|c| &c.miner == miner);
			let cached = cache.remove(&(window, *miner));
			let global = &*global;
			async move {
				let Some(commitment) = commitment else {
					return (*miner, Err("no commitment on chain".to_string()));
				};
				if let Some(c) = cached {
					return (*miner, Ok(c));
				}
				let prefetched = |c| Prefetched { contribution: c, uploaded: None };
				if Some(miner) == me {
					let saved =
						own.and_then(|o| o.contribution(window, commitment, global, &params.codec));
					if let Some(decoded) = saved {
						return (*miner, decoded.map(prefetched));
					}
				}
				let fetched = fetch_contribution_within(
					deadline,
					p2p,
					at,
					window,
					commitment,
					global,
					&params.codec,
				)
				.await;
				let result = fetched.map(|(_, c)| prefetched(c)).map_err(|e| e.to_string());
				(*miner, result)
			}
		});
		for (miner, result) in futures::future::join_all(fetches).await {
			match result {
				Ok(Prefetched { contribution: c, uploaded: on_device }) => {
					step.applied.push(miner);
					payloads.push(c.payload);
					wires.push(c.payload_wire);
					uploaded.push(on_device);
				}
				Err(why) => step.left_out.push((miner, why)),
			}
		}
		step.fetch = fetching.elapsed();
		let applying = std::time::Instant::now();
		step.skipped = global
			.advance(
				&payloads,
				&wires,
				&uploaded,
				params.aggregation,
				params.outer_lr,
				&params.codec,
			)
			.map_err(|source| ReplayError::Apply { window, source })?;
		step.apply = applying.elapsed();
		if !step.left_out.is_empty() {
			tracing::warn!(window, left_out = ?step.left_out, "aggregate applied without some set members");
		}
		cache.retain(|(w, _), _| *w > window);
		done.push(step);
	}
	Ok(done)
}

/// Waits until the chain is in `window`, meanwhile fetching into `cache` every contribution
/// committed in `window − 1` while θ is that window's (they decode against it): the sync at
/// the window's start then finds them there and only applies the aggregate, so the transfers
/// overlap the wait instead of following it. The set is fixed only at the window's close, so
/// every commitment seen is fetched; one that fails is left for [`advance_to`] to fetch again
/// if it is in the set. Fetches still running when the window starts are dropped.
pub async fn wait_prefetching(
	chain: &mut ChainView,
	p2p: &P2pHandle,
	global: &GlobalModel,
	window: Window,
	params: &RunParams,
	sources: Sources<'_>,
	cache: &mut ContributionCache,
) -> ChainAt {
	use futures::stream::{FuturesUnordered, StreamExt};
	let previous = window.checked_sub(1).filter(|&w| w == global.window());
	let mut tried = std::collections::BTreeSet::new();
	let mut pending = FuturesUnordered::new();
	// The window record is read once per new block: it is a runtime call on the node, and every
	// miner polls.
	let mut read_at = None;
	loop {
		let at = chain.latest().await;
		if at.head().window >= window {
			return at;
		}
		let at = std::sync::Arc::new(at);
		let new_block = read_at.replace(at.head().block) != Some(at.head().block);
		if let Some(w) = previous.filter(|&w| new_block && at.head().window == w) {
			if let Ok(Some(record)) = at.window_record(w).await {
				// Every commitment seen is fetched at once: they share the link.
				let largest = global.max_contribution_bytes(&params.codec);
				let deadline = sources.fetch.for_set(&record.commitments, largest);
				for c in record.commitments {
					if Some(&c.miner) == sources.me {
						// This peer's own contribution: from its saved bytes (once the write has
						// landed), decoded and put on the GPU now rather than in the outer step.
						if cache.contains_key(&(w, c.miner)) {
							continue;
						}
						let saved =
							sources.own.and_then(|o| o.contribution(w, &c, global, &params.codec));
						if let Some(Ok(contribution)) = saved {
							let uploaded = global.upload_payload(&contribution.payload_wire);
							cache.insert((w, c.miner), Prefetched { contribution, uploaded });
						}
						continue;
					}
					if !tried.insert(c.miner) {
						continue;
					}
					let at = at.clone();
					pending.push(async move {
						let fetched = fetch_contribution_within(
							deadline,
							p2p,
							&at,
							w,
							&c,
							global,
							&params.codec,
						)
						.await;
						(c.miner, fetched)
					});
				}
			}
		}
		let poll = tokio::time::sleep(super::chain_view::POLL);
		tokio::pin!(poll);
		loop {
			tokio::select! {
				Some((miner, fetched)) = pending.next(), if !pending.is_empty() => {
					if let (Some(w), Ok((_, contribution))) = (previous, fetched) {
						// The copy to the GPU now, while waiting, not in the outer step.
						let uploaded = global.upload_payload(&contribution.payload_wire);
						cache.insert((w, miner), Prefetched { contribution, uploaded });
					}
				}
				_ = &mut poll => break,
			}
		}
	}
}

/// θ_`window` (host arrays, as [`GlobalModel::host_weights`] gives them) as the checkpoint bytes
/// peers serve, with the window in the metadata.
pub fn checkpoint_bytes_of(theta: &[Array], window: Window) -> Result<Vec<u8>, ReplayError> {
	let metadata = HashMap::from([("window".to_string(), window.to_string())]);
	serialize_safetensors(theta, metadata, "checkpoint")
		.map_err(|e| ReplayError::Checkpoint(e.to_string()))
}

/// Loads checkpoint `bytes` of θ_`window` into `global`; refuses a checkpoint whose tensors or
/// window do not match, or, when `weights` is given, whose weights hash
/// ([`super::global_model::weights_hash_of`]) is another, leaving `global` unchanged.
pub fn load_checkpoint_bytes(
	bytes: &[u8],
	window: Window,
	global: &mut GlobalModel,
	weights: Option<[u8; 32]>,
) -> Result<(), ReplayError> {
	let bad = |m: String| ReplayError::Checkpoint(m);
	let (arrays, metadata) =
		parse_safetensors(bytes, "checkpoint").map_err(|e| bad(e.to_string()))?;
	if metadata.get("window").and_then(|w| w.parse::<Window>().ok()) != Some(window) {
		return Err(bad(format!("metadata does not say window {window}")));
	}
	let mut by_name: HashMap<&str, &crate::sparseloco::Tensor> =
		arrays.iter().map(|a| (a.name.as_str(), a)).collect();
	let model = global.model();
	let mut ordered = Vec::with_capacity(model.params().len());
	for (name, p) in model.names().iter().zip(model.params()) {
		let a =
			by_name.remove(name.as_str()).ok_or_else(|| bad(format!("tensor {name} missing")))?;
		let want: Vec<usize> = p.size().iter().map(|&d| d as usize).collect();
		if a.shape != want {
			return Err(bad(format!("{name} has shape {:?}, the model {want:?}", a.shape)));
		}
		if a.data.iter().any(|v| !v.is_finite()) {
			return Err(bad(format!("{name} holds a non-finite value")));
		}
		ordered.push(a);
	}
	if let Some(extra) = by_name.keys().next() {
		return Err(bad(format!("unknown tensor {extra}")));
	}
	if weights
		.is_some_and(|w| w != super::global_model::weights_hash_in_order(ordered.iter().copied()))
	{
		return Err(bad("its weights hash is not the one asked for".into()));
	}
	let values: Vec<_> = ordered.into_iter().map(|a| to_tch(a, model.device())).collect();
	model.assign(&values);
	global.set_window(window);
	Ok(())
}

/// Looks back from the head for the newest checkpoint announced by a registered miner, fetches
/// and verifies it, and loads it into `global` if it is newer than `global`'s window. Returns
/// the window loaded, if any.
pub async fn load_peer_checkpoint(
	at: &ChainAt,
	p2p: &P2pHandle,
	global: &mut GlobalModel,
) -> Result<Option<Window>, ReplayError> {
	let head = at.head().window;
	let oldest = head.saturating_sub(CHECKPOINT_LOOKBACK).max(global.window() + 1);
	for window in (oldest..=head).rev() {
		if load_checkpoint_of(at, p2p, global, window, None, None).await? {
			return Ok(Some(window));
		}
	}
	Ok(None)
}

/// Loads θ_`window` from a checkpoint announced for `window` (only one whose bytes hash to
/// `hash`, and whose weights hash to `weights`, when given), trying each announcer in turn.
/// Returns whether one was loaded.
pub async fn load_checkpoint_of(
	at: &ChainAt,
	p2p: &P2pHandle,
	global: &mut GlobalModel,
	window: Window,
	hash: Option<[u8; 32]>,
	weights: Option<[u8; 32]>,
) -> Result<bool, ReplayError> {
	let Some(record) = at.window_record(window).await? else { return Ok(false) };
	for announcement in &record.checkpoints {
		if hash.is_some_and(|h| h != announcement.checkpoint_hash.0) {
			continue;
		}
		let Ok(endpoint) = miner_endpoint(at, &announcement.announcer).await else { continue };
		let commitment =
			Commitment { hash: announcement.checkpoint_hash.0, size: announcement.checkpoint_size };
		match p2p.fetch(endpoint.peer_id, &endpoint.addrs, window, commitment).await {
			Ok(bytes) => match load_checkpoint_bytes(&bytes, window, global, weights) {
				Ok(()) => {
					tracing::info!(window, from = %announcement.announcer, "loaded a peer checkpoint");
					return Ok(true);
				}
				Err(e) => tracing::warn!(window, error = %e, "peer checkpoint refused"),
			},
			Err(e) => tracing::warn!(window, error = %e, "peer checkpoint not fetched"),
		}
	}
	Ok(false)
}

/// The checkpoint hash most announcers gave for `window`, when it is not `mine`: this peer's θ
/// then split from the others' (a contribution it could fetch and they could not, or the
/// reverse), and it should take theirs. `mine` counts as one vote; a peer that is `recovering`
/// (it resumed from a checkpoint, so it is the likelier one to have split) also gives way on a
/// tie, so two peers never swap states with each other.
pub async fn majority_disagrees(
	at: &ChainAt,
	window: Window,
	me: &AccountId,
	mine: [u8; 32],
	recovering: bool,
) -> Result<Option<[u8; 32]>, ReplayError> {
	let Some(record) = at.window_record(window).await? else { return Ok(None) };
	let mut counts: std::collections::BTreeMap<[u8; 32], usize> = Default::default();
	for a in record.checkpoints.iter().filter(|a| &a.announcer != me) {
		*counts.entry(a.checkpoint_hash.0).or_default() += 1;
	}
	let agreeing = 1 + counts.get(&mine).copied().unwrap_or(0);
	let best = counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
	Ok(best
		.filter(|(hash, n)| *hash != mine && (*n > agreeing || (recovering && *n == agreeing)))
		.map(|(hash, _)| hash))
}

/// Where a peer keeps its own resumable checkpoint.
pub fn local_checkpoint_dir(state_dir: &Path) -> PathBuf {
	state_dir.join("checkpoint")
}

#[cfg(test)]
mod tests {
	use super::super::global_model::weights_hash_of;
	use super::*;
	use crate::model::{ModelConfig, Precision};
	use crate::training::TrainableModel;

	fn global(seed: i64) -> GlobalModel {
		let config = ModelConfig::builtin("tiny").unwrap();
		let model = TrainableModel::new(&config, tch::Device::Cpu, Precision::Auto, seed);
		GlobalModel::new(model, 0, seed as u64, usize::MAX)
	}

	/// What `verify` (and any loader given a trusted θ) relies on: a checkpoint whose weights are
	/// not the asked-for ones is refused before anything is assigned.
	#[test]
	fn a_checkpoint_with_other_weights_than_asked_is_refused_and_changes_nothing() {
		let theta = global(1).host_weights();
		let bytes = checkpoint_bytes_of(&theta, 3).unwrap();
		let right = weights_hash_of(&theta);
		let mut target = global(2);
		let before = weights_hash_of(&target.host_weights());
		assert_ne!(before, right);
		let refused = load_checkpoint_bytes(&bytes, 3, &mut target, Some([7; 32]));
		assert!(matches!(refused, Err(ReplayError::Checkpoint(_))), "{refused:?}");
		assert_eq!((weights_hash_of(&target.host_weights()), target.window()), (before, 0));
		load_checkpoint_bytes(&bytes, 3, &mut target, Some(right)).unwrap();
		assert_eq!((weights_hash_of(&target.host_weights()), target.window()), (right, 3));
	}
}
