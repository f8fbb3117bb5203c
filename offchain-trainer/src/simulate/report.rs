//! The simulation's per-round records and their CSV form.

use std::fmt::Write as _;

use super::Method;

/// One row of the results: the state after `round` outer rounds (round 0 is the start).
#[derive(Clone, Debug, PartialEq)]
pub struct RoundRecord {
	/// The method.
	pub method: Method,
	/// Rounds completed.
	pub round: usize,
	/// Training tokens consumed by all peers together so far.
	pub tokens: u64,
	/// Bytes one peer sent in this round (its payload; dense fp32 for DiLoCo; H dense fp32
	/// gradients for DDP).
	pub bytes_per_peer_round: u64,
	/// Bytes one peer has sent so far.
	pub bytes_per_peer_total: u64,
	/// Mean training loss of the round's inner steps (NaN for round 0).
	pub train_loss: f64,
	/// Loss on the held-out pages after the round.
	pub heldout_loss: f64,
}

/// The CSV header written by [`to_csv`].
pub const CSV_HEADER: &str =
	"method,round,tokens,bytes_per_peer_round,bytes_per_peer_total,train_loss,heldout_loss";

/// Records as CSV text, header first.
pub fn to_csv(records: &[RoundRecord]) -> String {
	let mut out = format!("{CSV_HEADER}\n");
	for r in records {
		let train =
			if r.train_loss.is_finite() { format!("{:.5}", r.train_loss) } else { String::new() };
		let _ = writeln!(
			out,
			"{},{},{},{},{},{},{:.5}",
			r.method.name(),
			r.round,
			r.tokens,
			r.bytes_per_peer_round,
			r.bytes_per_peer_total,
			train,
			r.heldout_loss
		);
	}
	out
}

/// A Markdown table of each method's final state: held-out loss, tokens, mean bytes per peer
/// per round, and those bytes relative to one dense fp32 copy of the model (`dense_bytes`).
pub fn summary_table(records: &[RoundRecord], dense_bytes: u64) -> String {
	let mut out = String::from(
		"| method | rounds | tokens | final held-out loss | bytes/peer/round | dense fp32 / bytes |\n\
		 |---|---:|---:|---:|---:|---:|\n",
	);
	let mut methods: Vec<Method> = records.iter().map(|r| r.method).collect();
	methods.dedup();
	for m in methods {
		let rows: Vec<&RoundRecord> = records.iter().filter(|r| r.method == m).collect();
		let Some(last) = rows.last() else { continue };
		let per_round = last.bytes_per_peer_total / (last.round.max(1) as u64);
		let _ = writeln!(
			out,
			"| {} | {} | {} | {:.4} | {} | {:.1}x |",
			m.name(),
			last.round,
			last.tokens,
			last.heldout_loss,
			per_round,
			dense_bytes as f64 / per_round.max(1) as f64
		);
	}
	out
}
