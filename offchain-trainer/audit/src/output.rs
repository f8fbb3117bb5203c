//! The CLI's three output formats: an aligned text table, JSON (exactly what the web API
//! serves) and CSV.

use crate::views::{ConfigView, HistoryView, LeaderboardView, WindowView};
use serde::Serialize;
use std::io::Write;

/// How the CLI prints what it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
	/// Aligned columns for people.
	Table,
	/// The JSON the dashboard's API serves.
	Json,
	/// Comma-separated values with a header row.
	Csv,
}

/// A printing failure (the output stream closed, a value did not serialise).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
	/// Writing to the output failed.
	#[error("writing output: {0}")]
	Io(#[from] std::io::Error),
	/// JSON serialisation failed.
	#[error("encoding JSON: {0}")]
	Json(#[from] serde_json::Error),
	/// CSV encoding failed.
	#[error("encoding CSV: {0}")]
	Csv(#[from] csv::Error),
}

/// Header and rows of one table.
pub struct Table {
	/// Column names.
	pub headers: Vec<&'static str>,
	/// Cells, one `Vec` per row.
	pub rows: Vec<Vec<String>>,
}

impl Table {
	fn write_text(&self, out: &mut impl Write) -> Result<(), OutputError> {
		let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
		for row in &self.rows {
			for (w, cell) in widths.iter_mut().zip(row) {
				*w = (*w).max(cell.chars().count());
			}
		}
		let line = |cells: Vec<&str>| {
			let padded: Vec<String> =
				cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
			padded.join("  ").trim_end().to_string()
		};
		writeln!(out, "{}", line(self.headers.clone()))?;
		for row in &self.rows {
			writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
		}
		Ok(())
	}

	fn write_csv(&self, out: &mut impl Write) -> Result<(), OutputError> {
		let mut writer = csv::Writer::from_writer(out);
		writer.write_record(&self.headers)?;
		for row in &self.rows {
			writer.write_record(row)?;
		}
		writer.flush()?;
		Ok(())
	}
}

/// Print `view` in `format`: JSON serialises the whole view, table and CSV the `tables`
/// (text tables under their titles, CSV only the first, the view's main table).
pub fn print<V: Serialize>(
	view: &V,
	tables: &[(&str, Table)],
	format: Format,
	out: &mut impl Write,
) -> Result<(), OutputError> {
	match format {
		Format::Json => {
			serde_json::to_writer_pretty(&mut *out, view)?;
			writeln!(out)?;
		}
		Format::Csv => {
			if let Some((_, table)) = tables.first() {
				table.write_csv(out)?;
			}
		}
		Format::Table => {
			for (i, (title, table)) in tables.iter().enumerate() {
				if i > 0 {
					writeln!(out)?;
				}
				if !title.is_empty() {
					writeln!(out, "{title}")?;
				}
				table.write_text(out)?;
			}
		}
	}
	Ok(())
}

fn f(x: f64) -> String {
	format!("{x:.4}")
}

fn opt<T: ToString>(x: Option<T>) -> String {
	x.map(|v| v.to_string()).unwrap_or_else(|| "-".to_string())
}

/// The leaderboard as one table.
pub fn leaderboard_tables(view: &LeaderboardView) -> Vec<(&'static str, Table)> {
	let rows = view
		.rows
		.iter()
		.enumerate()
		.map(|(i, r)| {
			let e = &r.entry;
			vec![
				(i + 1).to_string(),
				e.miner.to_string(),
				f(e.mu),
				f(e.sigma),
				f(e.ordinal),
				f(e.binary_ma),
				f(e.sync),
				f(e.final_weight),
				opt(e.last_committed),
			]
		})
		.collect();
	let headers = vec![
		"rank",
		"miner",
		"mu",
		"sigma",
		"ordinal",
		"binary_ma",
		"sync",
		"final_weight",
		"last_committed",
	];
	vec![("", Table { headers, rows })]
}

/// A rating history as one table.
pub fn history_tables(view: &HistoryView) -> Vec<(&'static str, Table)> {
	let rows = view
		.snapshots
		.iter()
		.map(|s| {
			vec![
				s.window.to_string(),
				f(s.mu),
				f(s.sigma),
				f(s.ordinal),
				f(s.binary_ma),
				f(s.sync),
				f(s.final_weight),
			]
		})
		.collect();
	let headers = vec!["window", "mu", "sigma", "ordinal", "binary_ma", "sync", "final_weight"];
	vec![("", Table { headers, rows })]
}

/// A window as tables: scores (the CSV table), commitments, ranking, aggregation set, then how
/// it was scored: the seed and quorum, each miner's assigned validators, and each validator's
/// score commitment and reveal.
pub fn window_tables(view: &WindowView) -> Vec<(&'static str, Table)> {
	let r = &view.record;
	let scoring = {
		let outcome = r.outcome.as_ref();
		let mut rows = vec![
			vec![
				"seed".to_string(),
				r.seed.as_ref().map_or("not drawn yet".into(), |s| s.seed.to_string()),
			],
			vec!["drawn_at".to_string(), opt(r.seed.as_ref().map(|s| s.drawn_at))],
			vec![
				"validators".to_string(),
				r.seed.as_ref().map_or(String::new(), |s| {
					s.validators.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
				}),
			],
			vec![
				"scorers_per_miner".to_string(),
				opt(r.seed.as_ref().map(|s| s.scorers_per_miner)),
			],
			vec!["quorum".to_string(), opt(r.seed.as_ref().map(|s| s.quorum))],
		];
		rows.push(vec![
			"canonical_theta".to_string(),
			match outcome {
				None => "window not closed".into(),
				Some(o) => o.canonical_theta.map_or("no majority".into(), |h| h.to_string()),
			},
		]);
		rows.push(vec![
			"below_quorum".to_string(),
			outcome.map_or(String::new(), |o| {
				o.below_quorum.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
			}),
		]);
		Table { headers: vec!["field", "value"], rows }
	};
	let assignments = r
		.assignments
		.iter()
		.map(|a| {
			let validators = a.validators.iter().map(ToString::to_string).collect::<Vec<_>>();
			vec![a.miner.to_string(), validators.join(" ")]
		})
		.collect();
	let score_commits = r
		.score_commits
		.iter()
		.map(|c| {
			let theta = r.scores.iter().find(|v| v.validator == c.validator);
			vec![
				c.validator.to_string(),
				c.commitment.to_string(),
				c.committed_at.to_string(),
				c.revealed_at.map_or("not revealed".into(), |b| b.to_string()),
				theta.map_or(String::new(), |v| v.theta_hash.to_string()),
			]
		})
		.collect();
	let scores = r
		.scores
		.iter()
		.flat_map(|v| {
			v.scores.iter().map(move |s| {
				let reasons = crate::views::low_score_reasons(&s.score);
				vec![
					v.validator.to_string(),
					s.miner.to_string(),
					f(s.score.gradient_score),
					f(s.score.own_improvement),
					s.score.binary_indicator.to_string(),
					f(s.score.sync_score),
					s.score.copy_suspected.to_string(),
					opt(s.score.failure),
					reasons.join("; "),
					f(s.score.losses.own_before),
					f(s.score.losses.own_after),
					f(s.score.losses.random_before),
					f(s.score.losses.random_after),
				]
			})
		})
		.collect();
	let commitments = r
		.commitments
		.iter()
		.map(|c| {
			vec![
				c.miner.to_string(),
				c.payload_hash.to_string(),
				c.payload_size.to_string(),
				c.committed_at.to_string(),
			]
		})
		.collect();
	let ranking = r
		.ranking
		.iter()
		.flatten()
		.map(|e| {
			vec![
				e.rank.to_string(),
				e.miner.to_string(),
				f(e.score),
				f(e.gradient_score),
				f(e.sync_score),
				e.validators.to_string(),
				e.copy_flags.to_string(),
				e.failures.to_string(),
				f(e.mu),
				f(e.sigma),
				f(e.final_weight),
			]
		})
		.collect();
	let aggregation = r.aggregation_set.iter().flatten().map(|m| vec![m.to_string()]).collect();
	vec![
		(
			"scores",
			Table {
				headers: vec![
					"validator",
					"miner",
					"gradient_score",
					"own_improvement",
					"binary_indicator",
					"sync_score",
					"copy_suspected",
					"failure",
					"low_score_reasons",
					"own_loss_before",
					"own_loss_after",
					"random_loss_before",
					"random_loss_after",
				],
				rows: scores,
			},
		),
		(
			"commitments",
			Table {
				headers: vec!["miner", "payload_hash", "payload_size", "committed_at"],
				rows: commitments,
			},
		),
		(
			"ranking",
			Table {
				headers: vec![
					"rank",
					"miner",
					"score",
					"gradient_score",
					"sync_score",
					"validators",
					"copy_flags",
					"failures",
					"mu",
					"sigma",
					"final_weight",
				],
				rows: ranking,
			},
		),
		("aggregation set", Table { headers: vec!["miner"], rows: aggregation }),
		("scoring", scoring),
		("assignments", Table { headers: vec!["miner", "validators"], rows: assignments }),
		(
			"score commitments",
			Table {
				headers: vec![
					"validator",
					"commitment",
					"committed_at",
					"revealed_at",
					"theta_hash",
				],
				rows: score_commits,
			},
		),
	]
}

/// The run configuration as `field, value` rows (the JSON field names).
pub fn config_tables(view: &ConfigView) -> Vec<(&'static str, Table)> {
	let rows = config_fields(view).into_iter().map(|(k, v)| vec![k, v]).collect();
	vec![("", Table { headers: vec!["field", "value"], rows })]
}

/// Every field of the run configuration (JSON names, alphabetical), as text.
pub fn config_fields(view: &ConfigView) -> Vec<(String, String)> {
	let value = serde_json::to_value(&view.config).unwrap_or_default();
	let Some(map) = value.as_object() else { return Vec::new() };
	map.iter()
		.map(|(k, v)| {
			let text = match v {
				serde_json::Value::String(s) => s.clone(),
				other => other.to_string(),
			};
			(k.clone(), text)
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn table() -> Table {
		Table {
			headers: vec!["a", "long header"],
			rows: vec![vec!["1".into(), "x,y".into()], vec!["22222".into(), "z".into()]],
		}
	}

	#[test]
	fn text_tables_align_columns() {
		let mut out = Vec::new();
		print(&(), &[("", table())], Format::Table, &mut out).expect("print");
		let text = String::from_utf8(out).expect("utf8");
		assert_eq!(text, "a      long header\n1      x,y\n22222  z\n");
	}

	#[test]
	fn csv_quotes_cells_with_commas() {
		let mut out = Vec::new();
		print(&(), &[("", table())], Format::Csv, &mut out).expect("print");
		assert_eq!(String::from_utf8(out).expect("utf8"), "a,long header\n1,\"x,y\"\n22222,z\n");
	}
}
