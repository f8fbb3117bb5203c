//! One JSON line per window in `<state dir>/journal.jsonl`: what this peer did and the hash of
//! the global weights it held. Operators tail it; the end-to-end tests compare the hashes of
//! different miners window by window.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Window;

/// One window as a peer saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
	/// The window.
	pub window: Window,
	/// `miner` or `validator`.
	pub role: String,
	/// BLAKE3 of θ_window, hex.
	pub global_weights: String,
	/// Contributions applied to reach θ_window (the previous window's aggregate), SS58.
	#[serde(default)]
	pub aggregated: Vec<String>,
	/// Aggregation-set members left out, SS58.
	#[serde(default)]
	pub left_out: Vec<String>,
	/// Mean inner-loop loss (miners).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub train_loss: Option<f64>,
	/// The committed hash, hex (miners that committed).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub committed: Option<String>,
	/// Committed size in bytes.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub committed_bytes: Option<u64>,
	/// Miners scored (validators).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub scored: Option<usize>,
	/// Miners flagged as copies (validators), SS58.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub copies: Vec<String>,
	/// Seconds spent per phase in this window. Miners: `wait` (for the window to open, fetching
	/// the previous window's contributions meanwhile), `sync` (bring θ to the window; of it
	/// `read` of the window record, `fetch` and `apply`), `hash` (starting θ's host copy),
	/// `checkpoint` (starting the local snapshot's copy, θ announcement), `compute` (inner steps
	/// and compression; of it `compress`), `commit` (serve, save, submit,
	/// and any wait for inclusion), `inclusion` (submission to inclusion, in the background).
	/// Validators: `sync`, `score` (of it `fetch` and `evaluate`), `submit`.
	#[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
	pub seconds: BTreeMap<String, f64>,
	/// Something that went wrong in this window, if anything.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub note: Option<String>,
}

/// The journal file.
#[derive(Clone, Debug)]
pub struct Journal {
	path: PathBuf,
}

impl Journal {
	/// The journal in `state_dir`.
	pub fn new(state_dir: &Path) -> Self {
		Self { path: state_dir.join("journal.jsonl") }
	}

	/// Appends `entry`; a journal that cannot be written is logged, never fatal.
	pub fn append(&self, entry: &JournalEntry) {
		let line = match serde_json::to_string(entry) {
			Ok(line) => line,
			Err(e) => return tracing::warn!(error = %e, "journal entry not serialisable"),
		};
		let result = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(&self.path)
			.and_then(|mut f| writeln!(f, "{line}"));
		if let Err(e) = result {
			tracing::warn!(path = %self.path.display(), error = %e, "journal not written");
		}
	}

	/// Every entry so far (unreadable lines skipped).
	pub fn read(path: &Path) -> std::io::Result<Vec<JournalEntry>> {
		let text = std::fs::read_to_string(path)?;
		Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
	}
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}
