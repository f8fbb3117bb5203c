//! The dashboard's pages as HTML strings. Every page is a layout (navigation, the node status
//! line, `<main id="content">`) around a body that `?fragment=1` returns alone, so the page's
//! script can swap in fresh content as blocks arrive without a reload.

use super::svg::{self, Series};
use crate::views::{
	low_score_reasons, ConfigView, LeaderboardView, MinerView, WindowView, TREND_WINDOWS,
};
use gauntlet_chain::{types::MinerScore, AccountId};
use std::fmt::Write;

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
	let mut out = String::with_capacity(text.len());
	for c in text.chars() {
		match c {
			'&' => out.push_str("&amp;"),
			'<' => out.push_str("&lt;"),
			'>' => out.push_str("&gt;"),
			'"' => out.push_str("&quot;"),
			'\'' => out.push_str("&#39;"),
			c => out.push(c),
		}
	}
	out
}

/// What the status line says about the node when the page is rendered.
pub struct StatusLine<'a> {
	/// The node's URL.
	pub node: &'a str,
	/// Whether the last probe reached it.
	pub connected: bool,
	/// The latest finalized block, if known.
	pub block: Option<u64>,
	/// The window of that block.
	pub window: Option<u64>,
	/// Why the node is unreachable.
	pub error: Option<&'a str>,
}

/// A full page: `title`, the status line, and `content` (a fragment from this module).
pub fn layout(title: &str, status: &StatusLine, content: &str) -> String {
	let status_text = status_text(status);
	format!(
		r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Gauntlet auditor</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body data-live="{live}" data-block="{block}">
<header>
<a class="brand" href="/">Gauntlet auditor</a>
<nav><a href="/">Leaderboard</a> <a href="/config">Run configuration</a>
<form action="/window" method="get"><input name="w" type="number" min="0" placeholder="window" aria-label="window"><button>Go</button></form></nav>
<div id="status" class="{live}" title="{detail}">{status_text}</div>
</header>
<main id="content">
{content}
</main>
<footer>Read-only view of <code>{node}</code> · updates as blocks arrive · <a href="/api">JSON API</a></footer>
<script src="/assets/app.js"></script>
</body>
</html>
"#,
		title = esc(title),
		live = if status.connected { "connected" } else { "disconnected" },
		block = status.block.map(|b| b.to_string()).unwrap_or_default(),
		node = esc(status.node),
		detail = esc(status.error.unwrap_or_default()),
	)
}

fn status_text(status: &StatusLine) -> String {
	match (status.connected, status.block, status.window) {
		(true, Some(block), Some(window)) => {
			format!("block #{block} · window {window}")
		}
		(true, ..) => "connected".to_string(),
		// The error itself is in the title attribute and the page body: it can be long.
		(false, ..) => "node unreachable: retrying".to_string(),
	}
}

fn short(account: &AccountId) -> String {
	let s = account.to_string();
	format!("{}…{}", &s[..6.min(s.len())], &s[s.len().saturating_sub(4)..])
}

fn miner_link(account: &AccountId) -> String {
	let s = account.to_string();
	format!(r#"<a class="account" href="/miner/{s}" title="{s}">{}</a>"#, esc(&short(account)))
}

fn account_span(account: &AccountId) -> String {
	let s = account.to_string();
	format!(r#"<span class="account" title="{s}">{}</span>"#, esc(&short(account)))
}

fn window_link(window: u64) -> String {
	format!(r#"<a href="/window/{window}">{window}</a>"#)
}

fn num(x: f64) -> String {
	format!("{x:.3}")
}

/// The leaderboard body.
pub fn leaderboard(view: &LeaderboardView) -> String {
	let mut html = format!(
		r#"<h1>Leaderboard</h1><p class="meta">{} miners · window {} · trends over the last {TREND_WINDOWS} closed windows</p>"#,
		view.rows.len(),
		window_link(view.head.window),
	);
	if view.rows.is_empty() {
		html.push_str(r#"<p class="empty">No registered miner yet.</p>"#);
		return html;
	}
	html.push_str(
		r#"<table id="leaderboard"><thead><tr><th>#</th><th>miner</th><th>μ</th><th>σ</th><th>ordinal</th><th>binary MA</th><th>sync</th><th>final weight</th><th>last committed</th><th>trend</th></tr></thead><tbody>"#,
	);
	for (i, row) in view.rows.iter().enumerate() {
		let e = &row.entry;
		let trend: Vec<f64> = row.trend.iter().map(|p| p.ordinal).collect();
		let _ = write!(
			html,
			r#"<tr class="miner-row" data-miner="{miner}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td><td>{}</td></tr>"#,
			i + 1,
			miner_link(&e.miner),
			num(e.mu),
			num(e.sigma),
			num(e.ordinal),
			num(e.binary_ma),
			num(e.sync),
			e.final_weight * 100.0,
			e.last_committed.map(window_link).unwrap_or_else(|| "–".into()),
			svg::sparkline(&trend, 100, 24),
			miner = e.miner,
		);
	}
	html.push_str("</tbody></table>");
	html
}

fn score_cell(score: &MinerScore) -> String {
	let reasons = low_score_reasons(score);
	let flags: String =
		reasons.iter().map(|r| format!(r#"<span class="flag">{}</span>"#, esc(r))).collect();
	let class = if reasons.is_empty() { "score" } else { "score low" };
	format!(
		r#"<td class="{class}" title="own {:.4} · indicator {} · sync {:.2}">{:.4}{flags}</td>"#,
		score.own_improvement, score.binary_indicator, score.sync_score, score.gradient_score
	)
}

/// A miner's body.
pub fn miner(view: &MinerView) -> String {
	let mut html = format!(
		r#"<h1>Miner <span class="account-full">{}</span></h1>"#,
		esc(&view.miner.to_string())
	);
	match &view.standing {
		Some(e) => {
			let _ = write!(
				html,
				r#"<table class="standing"><tr><th>position</th><th>μ</th><th>σ</th><th>ordinal</th><th>binary MA</th><th>sync</th><th>final weight</th><th>last committed</th></tr><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td><td>{}</td></tr></table>"#,
				view.position.map(|p| p.to_string()).unwrap_or_default(),
				num(e.mu),
				num(e.sigma),
				num(e.ordinal),
				num(e.binary_ma),
				num(e.sync),
				e.final_weight * 100.0,
				e.last_committed.map(window_link).unwrap_or_else(|| "–".into()),
			);
		}
		None => html.push_str(r#"<p class="meta">Not registered now (deregistered?).</p>"#),
	}
	html.push_str("<h2>Rating history</h2>");
	let at = |f: fn(&gauntlet_chain::types::RatingSnapshot) -> f64| {
		view.history.iter().map(|s| (s.window as f64, f(s))).collect::<Vec<_>>()
	};
	let series = [
		Series { class: "mu", color: "#1f77b4", points: at(|s| s.mu) },
		Series { class: "ordinal", color: "#d62728", points: at(|s| s.ordinal) },
	];
	let _ = write!(
		html,
		r#"<div id="rating-chart" data-windows="{}">{}</div>"#,
		view.history.len(),
		svg::line_chart(&series, "window", 760, 260)
	);
	html.push_str("<h2>Windows</h2>");
	if view.windows.is_empty() {
		html.push_str(r#"<p class="empty">No commitment or score in the windows shown.</p>"#);
	}
	for w in &view.windows {
		let _ = write!(
			html,
			r#"<section class="miner-window" data-window="{}"><h3>Window {}</h3>"#,
			w.window,
			window_link(w.window)
		);
		match &w.commitment {
			Some(c) => {
				let _ = write!(
					html,
					r#"<p>Committed <code>{}</code> ({} bytes) in block #{}.</p>"#,
					c.payload_hash, c.payload_size, c.committed_at
				);
			}
			None => html.push_str("<p>No commitment.</p>"),
		}
		if let Some(r) = &w.ranking {
			let _ = write!(
				html,
				r#"<p>Ranked {} with median score {:.4} from {} validators ({} copy flags, {} failures).</p>"#,
				r.rank, r.score, r.validators, r.copy_flags, r.failures
			);
		}
		if let Some(aggregated) = w.aggregated {
			html.push_str(if aggregated {
				"<p>In the aggregation set.</p>"
			} else {
				"<p>Not in the aggregation set.</p>"
			});
		}
		if !w.measurements.is_empty() {
			html.push_str(r#"<table class="measurements"><thead><tr><th>validator</th><th>gradient score</th><th>own improvement</th><th>indicator</th><th>sync</th><th>copy</th><th>failure</th><th>why low</th></tr></thead><tbody>"#);
			for m in &w.measurements {
				let s = &m.score;
				let _ = write!(
					html,
					r#"<tr class="measurement"><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:+}</td><td>{:.2}</td><td>{}</td><td>{}</td><td class="reasons">{}</td></tr>"#,
					account_span(&m.validator),
					s.gradient_score,
					s.own_improvement,
					s.binary_indicator,
					s.sync_score,
					if s.copy_suspected { "yes" } else { "no" },
					s.failure.map(|f| f.to_string()).unwrap_or_else(|| "–".into()),
					esc(&m.low_score_reasons.join(", ")),
				);
			}
			html.push_str("</tbody></table>");
		}
		html.push_str("</section>");
	}
	html
}

/// A window's body.
pub fn window(view: &WindowView) -> String {
	let r = &view.record;
	let w = r.window;
	let mut html = format!(r#"<h1>Window {w}</h1><p class="meta">"#);
	if w > 0 {
		let _ = write!(html, r#"<a href="/window/{}">← {}</a> · "#, w - 1, w - 1);
	}
	let state = match (&r.ranking, w.cmp(&view.head.window)) {
		(Some(_), _) => "closed",
		(None, std::cmp::Ordering::Equal) => "open for commitments",
		(None, _) => "being scored",
	};
	let _ = write!(html, "{state} · chain at window {}", view.head.window);
	if w < view.head.window {
		let _ = write!(html, r#" · <a href="/window/{}">{} →</a>"#, w + 1, w + 1);
	}
	html.push_str("</p>");

	let _ = write!(html, "<h2>Commitments ({})</h2>", r.commitments.len());
	if r.commitments.is_empty() {
		html.push_str(r#"<p class="empty">None.</p>"#);
	} else {
		html.push_str(r#"<table id="commitments"><thead><tr><th>miner</th><th>payload hash</th><th>size</th><th>block</th></tr></thead><tbody>"#);
		for c in &r.commitments {
			let _ = write!(
				html,
				"<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
				miner_link(&c.miner),
				c.payload_hash,
				c.payload_size,
				c.committed_at
			);
		}
		html.push_str("</tbody></table>");
	}

	if !r.checkpoints.is_empty() {
		let _ = write!(html, "<h2>Checkpoints ({})</h2>", r.checkpoints.len());
		html.push_str(r#"<table id="checkpoints"><thead><tr><th>announcer</th><th>checkpoint hash</th><th>size</th><th>block</th></tr></thead><tbody>"#);
		for c in &r.checkpoints {
			let _ = write!(
				html,
				"<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
				account_span(&c.announcer),
				c.checkpoint_hash,
				c.checkpoint_size,
				c.announced_at
			);
		}
		html.push_str("</tbody></table>");
	}

	// Scores side by side: a row per scored miner, a column per validator.
	let _ = write!(html, "<h2>Scores ({} validators)</h2>", r.scores.len());
	if r.scores.is_empty() {
		html.push_str(r#"<p class="empty">No validator has submitted scores.</p>"#);
	} else {
		let mut miners: Vec<&AccountId> =
			r.scores.iter().flat_map(|v| v.scores.iter().map(|s| &s.miner)).collect();
		miners.sort_by_key(|m| m.0);
		miners.dedup();
		html.push_str(r#"<table id="scores"><thead><tr><th>miner</th>"#);
		for v in &r.scores {
			let _ = write!(html, "<th>{}</th>", account_span(&v.validator));
		}
		html.push_str("</tr></thead><tbody>");
		for miner in miners {
			let _ = write!(
				html,
				r#"<tr class="score-row" data-miner="{miner}"><td>{}</td>"#,
				miner_link(miner)
			);
			for v in &r.scores {
				match v.scores.iter().find(|s| &s.miner == miner) {
					Some(s) => html.push_str(&score_cell(&s.score)),
					None => html.push_str(r#"<td class="none">–</td>"#),
				}
			}
			html.push_str("</tr>");
		}
		html.push_str("</tbody></table>");
	}

	html.push_str("<h2>Ranking</h2>");
	match &r.ranking {
		None => {
			let _ = write!(
				html,
				r#"<p class="empty">Not closed yet (closes at the first block of window {}).</p>"#,
				w + 3
			);
		}
		Some(ranking) => {
			html.push_str(r#"<table id="ranking"><thead><tr><th>rank</th><th>miner</th><th>median score</th><th>gradient</th><th>sync</th><th>validators</th><th>copy flags</th><th>failures</th><th>μ</th><th>σ</th><th>final weight</th></tr></thead><tbody>"#);
			for e in ranking {
				let _ = write!(
					html,
					r#"<tr class="rank-row"><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}%</td></tr>"#,
					e.rank,
					miner_link(&e.miner),
					e.score,
					e.gradient_score,
					e.sync_score,
					e.validators,
					e.copy_flags,
					e.failures,
					num(e.mu),
					num(e.sigma),
					e.final_weight * 100.0
				);
			}
			html.push_str("</tbody></table>");
		}
	};

	// How the window was scored: seed, assignment, commit and reveal, quorum, canonical θ.
	html.push_str("<h2>Scoring</h2>");
	match &r.seed {
		None => {
			let _ = write!(
				html,
				r#"<p class="empty">No seed yet (drawn at the first block of window {}).</p>"#,
				w + 1
			);
		}
		Some(seed) => {
			let _ = write!(
				html,
				r#"<p id="seed">seed <code>{}</code> drawn at block {} · {} validators · {} per miner · quorum {}</p>"#,
				seed.seed,
				seed.drawn_at,
				seed.validators.len(),
				seed.scorers_per_miner,
				seed.quorum
			);
		}
	}
	match &r.outcome {
		None => html.push_str(r#"<p class="empty">Canonical θ: window not closed.</p>"#),
		Some(o) => {
			let canonical = o
				.canonical_theta
				.map_or("no majority".to_string(), |h| format!("<code>{h}</code>"));
			let _ = write!(html, r#"<p id="canonical-theta">canonical θ {canonical}</p>"#);
			if !o.below_quorum.is_empty() {
				html.push_str(r#"<p id="below-quorum">below quorum (not rated):"#);
				for m in &o.below_quorum {
					let _ = write!(html, " {}", miner_link(m));
				}
				html.push_str("</p>");
			}
		}
	}
	if !r.score_commits.is_empty() {
		html.push_str(r#"<table id="score-commits"><thead><tr><th>validator</th><th>commitment</th><th>committed</th><th>revealed</th><th>θ measured on</th></tr></thead><tbody>"#);
		for c in &r.score_commits {
			let theta = r.scores.iter().find(|v| v.validator == c.validator);
			let _ = write!(
				html,
				"<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
				account_span(&c.validator),
				c.commitment,
				c.committed_at,
				c.revealed_at.map_or("not revealed".to_string(), |b| b.to_string()),
				theta.map_or(String::new(), |v| format!("<code>{}</code>", v.theta_hash))
			);
		}
		html.push_str("</tbody></table>");
	}
	if !r.assignments.is_empty() {
		html.push_str(r#"<table id="assignments"><thead><tr><th>miner</th><th>assigned validators</th></tr></thead><tbody>"#);
		for a in &r.assignments {
			let validators: Vec<String> = a.validators.iter().map(account_span).collect();
			let _ = write!(
				html,
				"<tr><td>{}</td><td>{}</td></tr>",
				miner_link(&a.miner),
				validators.join(" ")
			);
		}
		html.push_str("</tbody></table>");
	}

	html.push_str("<h2>Aggregation set</h2>");
	match &r.aggregation_set {
		None => {
			let _ = write!(
				html,
				r#"<p class="empty">Not selected yet (at the first block of window {}).</p>"#,
				w + 1
			);
		}
		Some(set) if set.is_empty() => html.push_str(r#"<p class="empty">Empty.</p>"#),
		Some(set) => {
			html.push_str(r#"<ul id="aggregation-set">"#);
			for m in set {
				let _ = write!(html, "<li>{}</li>", miner_link(m));
			}
			html.push_str("</ul>");
		}
	}
	html
}

/// The run configuration body.
pub fn config(view: &ConfigView) -> String {
	let mut html = format!(
		r#"<h1>Run configuration</h1><p class="meta">version <strong id="config-version">{}</strong> · in force at window {}</p><table id="config"><thead><tr><th>field</th><th>value</th></tr></thead><tbody>"#,
		view.config.version, view.head.window
	);
	for (k, v) in crate::output::config_fields(view) {
		let _ = write!(html, r#"<tr><th scope="row">{}</th><td>{}</td></tr>"#, esc(&k), esc(&v));
	}
	html.push_str("</tbody></table>");
	html
}

/// An error body: `title` and a sentence.
pub fn error(title: &str, message: &str) -> String {
	format!(
		r#"<h1 class="error-title">{}</h1><p class="error-message">{}</p><p><a href="/">Back to the leaderboard</a></p>"#,
		esc(title),
		esc(message)
	)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn escaping_covers_markup_and_quotes() {
		assert_eq!(
			esc(r#"<a href="x">'&'</a>"#),
			"&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
		);
	}
}
