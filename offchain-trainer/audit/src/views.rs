//! What the auditor shows, assembled from chain reads: one struct per page, serialised as-is by
//! the JSON API and by the CLI's `--format json`, so both always print the same data.

use gauntlet_chain::{
	types::{
		ChainHead, Commitment, LeaderboardEntry, MinerScore, RankEntry, RatingSnapshot, RunConfig,
		WindowRecord,
	},
	AccountId, ChainError, GauntletClient, Window,
};
use serde::Serialize;

/// Closed windows drawn in each leaderboard row's trend sparkline.
pub const TREND_WINDOWS: u64 = 20;
/// Windows shown on a miner's page unless asked otherwise.
pub const DEFAULT_MINER_WINDOWS: u64 = 16;
/// Most windows a miner's page reads (one runtime call each).
pub const MAX_MINER_WINDOWS: u64 = 256;

/// The leaderboard page.
#[derive(Clone, Debug, Serialize)]
pub struct LeaderboardView {
	/// Where the chain was when this was read.
	pub head: ChainHead,
	/// Miners by final weight, then ordinal, descending.
	pub rows: Vec<LeaderboardRow>,
}

/// One leaderboard row and its recent ordinal trend.
#[derive(Clone, Debug, Serialize)]
pub struct LeaderboardRow {
	/// The miner's standing.
	#[serde(flatten)]
	pub entry: LeaderboardEntry,
	/// Ordinal after each of the last [`TREND_WINDOWS`] closed windows the miner was rated in.
	pub trend: Vec<TrendPoint>,
}

/// One point of a trend line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TrendPoint {
	/// The closed window.
	pub window: Window,
	/// Ordinal (`μ − 3σ`) after its close.
	pub ordinal: f64,
}

/// A miner's page: standing, rating history and every recent window's evidence.
#[derive(Clone, Debug, Serialize)]
pub struct MinerView {
	/// Where the chain was when this was read.
	pub head: ChainHead,
	/// The miner.
	pub miner: AccountId,
	/// Current standing; `None` once deregistered.
	pub standing: Option<LeaderboardEntry>,
	/// 1-based position on the leaderboard.
	pub position: Option<usize>,
	/// Rating after each closed window in range, oldest first.
	pub history: Vec<RatingSnapshot>,
	/// The windows in range where the miner committed, was scored or ranked, newest first.
	pub windows: Vec<MinerWindow>,
}

/// One window from one miner's point of view.
#[derive(Clone, Debug, Serialize)]
pub struct MinerWindow {
	/// The window.
	pub window: Window,
	/// The miner's commitment, if it made one.
	pub commitment: Option<Commitment>,
	/// Each validator's measurements of this miner.
	pub measurements: Vec<Measurement>,
	/// The miner's line in the ranking, once the window is closed.
	pub ranking: Option<RankEntry>,
	/// Whether the miner's payload was aggregated, once the set is selected.
	pub aggregated: Option<bool>,
}

/// One validator's measurements of one miner, with why the score was low.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
	/// The validator.
	pub validator: AccountId,
	/// Its measurements.
	#[serde(flatten)]
	pub score: MinerScore,
	/// Why this score ranks low (empty for a clean score).
	pub low_score_reasons: Vec<String>,
}

/// A window's page.
#[derive(Clone, Debug, Serialize)]
pub struct WindowView {
	/// Where the chain was when this was read.
	pub head: ChainHead,
	/// Everything the chain holds about the window.
	#[serde(flatten)]
	pub record: WindowRecord,
}

/// The run configuration page.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigView {
	/// Where the chain was when this was read.
	pub head: ChainHead,
	/// The configuration in force.
	pub config: RunConfig,
}

/// A miner's rating history over a window range (`gauntlet-audit history`).
#[derive(Clone, Debug, Serialize)]
pub struct HistoryView {
	/// The miner.
	pub miner: AccountId,
	/// First window asked for.
	pub from: Window,
	/// Last window asked for.
	pub to: Window,
	/// Snapshots still stored in the range, oldest first.
	pub snapshots: Vec<RatingSnapshot>,
}

/// Why a validator's score ranks a miner low: failures, copy flags, being out of sync, or a
/// loss that got worse.
pub fn low_score_reasons(score: &MinerScore) -> Vec<String> {
	let mut reasons = Vec::new();
	if let Some(failure) = score.failure {
		reasons.push(failure.to_string());
	}
	if score.copy_suspected {
		reasons.push("copy flag".to_string());
	}
	if score.failure.is_none() {
		if score.sync_score < 1.0 {
			reasons.push(format!("out of sync (sync {:.2})", score.sync_score));
		}
		if score.gradient_score < 0.0 {
			reasons.push("loss got worse".to_string());
		}
	}
	reasons
}

/// The leaderboard with each miner's trend.
pub async fn leaderboard(client: &GauntletClient) -> Result<LeaderboardView, ChainError> {
	let chain = client.at_latest().await?;
	let head = chain.head();
	let from = head.window.saturating_sub(TREND_WINDOWS);
	let mut rows = Vec::new();
	for entry in chain.leaderboard().await? {
		let trend = chain
			.rating_history(&entry.miner, from, head.window)
			.await?
			.into_iter()
			.map(|s| TrendPoint { window: s.window, ordinal: s.ordinal })
			.collect();
		rows.push(LeaderboardRow { entry, trend });
	}
	Ok(LeaderboardView { head, rows })
}

/// `miner`'s page over the last `windows` windows; `None` when the chain knows nothing about
/// the miner in that range (not registered, no history, no commitment, no score).
pub async fn miner(
	client: &GauntletClient,
	miner: &AccountId,
	windows: u64,
) -> Result<Option<MinerView>, ChainError> {
	let chain = client.at_latest().await?;
	let head = chain.head();
	let board = chain.leaderboard().await?;
	let position = board.iter().position(|e| &e.miner == miner);
	let standing = position.map(|i| board[i].clone());
	let from = head.window.saturating_sub(windows.clamp(1, MAX_MINER_WINDOWS) - 1);
	let history = chain.rating_history(miner, from, head.window).await?;
	let mut evidence = Vec::new();
	for window in (from..=head.window).rev() {
		let Some(record) = chain.window_record(window).await? else { continue };
		if let Some(w) = miner_window(&record, miner) {
			evidence.push(w);
		}
	}
	if standing.is_none() && history.is_empty() && evidence.is_empty() {
		return Ok(None);
	}
	Ok(Some(MinerView {
		head,
		miner: *miner,
		standing,
		position: position.map(|i| i + 1),
		history,
		windows: evidence,
	}))
}

/// What `record` says about `miner`, if anything.
fn miner_window(record: &WindowRecord, miner: &AccountId) -> Option<MinerWindow> {
	let commitment = record.commitments.iter().find(|c| &c.miner == miner).cloned();
	let measurements: Vec<Measurement> = record
		.scores
		.iter()
		.filter_map(|v| {
			let line = v.scores.iter().find(|s| &s.miner == miner)?;
			Some(Measurement {
				validator: v.validator,
				score: line.score,
				low_score_reasons: low_score_reasons(&line.score),
			})
		})
		.collect();
	let ranking =
		record.ranking.as_ref().and_then(|r| r.iter().find(|e| &e.miner == miner).cloned());
	if commitment.is_none() && measurements.is_empty() && ranking.is_none() {
		return None;
	}
	let aggregated = record.aggregation_set.as_ref().map(|set| set.contains(miner));
	Some(MinerWindow { window: record.window, commitment, measurements, ranking, aggregated })
}

/// `window`'s page; `None` for a future or pruned window.
pub async fn window(
	client: &GauntletClient,
	window: Window,
) -> Result<Option<WindowView>, ChainError> {
	let chain = client.at_latest().await?;
	Ok(chain.window_record(window).await?.map(|record| WindowView { head: chain.head(), record }))
}

/// The run configuration page.
pub async fn config(client: &GauntletClient) -> Result<ConfigView, ChainError> {
	let chain = client.at_latest().await?;
	Ok(ConfigView { head: chain.head(), config: chain.run_config().await? })
}

/// `miner`'s snapshots in `from..=to`.
pub async fn history(
	client: &GauntletClient,
	miner: &AccountId,
	from: Window,
	to: Window,
) -> Result<HistoryView, ChainError> {
	let snapshots = client.rating_history(miner, from, to).await?;
	Ok(HistoryView { miner: *miner, from, to, snapshots })
}

#[cfg(test)]
mod tests {
	use super::*;
	use gauntlet_chain::types::FailureReason;

	fn clean() -> MinerScore {
		MinerScore {
			gradient_score: 0.1,
			own_improvement: 0.2,
			binary_indicator: 1,
			sync_score: 1.0,
			copy_suspected: false,
			failure: None,
			losses: Default::default(),
		}
	}

	#[test]
	fn a_clean_score_has_no_reason() {
		assert!(low_score_reasons(&clean()).is_empty());
	}

	#[test]
	fn each_cause_of_a_low_score_is_named() {
		let failed = MinerScore { failure: Some(FailureReason::HashMismatch), ..clean() };
		assert_eq!(low_score_reasons(&failed), ["hash mismatch"]);
		let missing = MinerScore { failure: Some(FailureReason::MissingPayload), ..clean() };
		assert_eq!(low_score_reasons(&missing), ["missing payload"]);
		let copied = MinerScore { copy_suspected: true, ..clean() };
		assert_eq!(low_score_reasons(&copied), ["copy flag"]);
		let late = MinerScore { sync_score: 0.25, gradient_score: -0.5, ..clean() };
		assert_eq!(low_score_reasons(&late), ["out of sync (sync 0.25)", "loss got worse"]);
	}
}
