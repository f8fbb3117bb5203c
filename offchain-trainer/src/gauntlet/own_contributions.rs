//! What a miner keeps of its own contributions, so that a restart at any moment, even between
//! its commit landing and the next window, neither contradicts the chain nor re-sends residual.
//!
//! Per window `W` it commits to, a miner writes, in this order and before it submits the commit:
//! 1. `<dir>/<W>.bin`: the contribution's bytes (what it serves; never overwritten);
//! 2. `<dir>/error_feedback.safetensors`: its error-feedback buffers *after* compressing `W`'s
//!    payload, tagged with `W` (metadata `window`, `beta`). This file is the marker that `W`'s
//!    contribution is final: the buffers already had the sent part taken out.
//!
//! On restart ([`OwnContributions::resume`]) a `.bin` newer than the marker was never committed
//! (the commit is submitted after both writes) and is discarded; the marker's buffers replace
//! older ones from the local checkpoint; and window `W` is not trained again: its saved bytes are
//! served and, if the commit had not landed yet, committed. The chain refuses a second commit
//! for a window anyway (`AlreadyCommitted`), so retraining could only ever have replaced the
//! served bytes with ones that no longer match the commitment.

use std::collections::HashMap;
use std::path::PathBuf;

use gauntlet_chain::types::Commitment as ChainCommitment;

use crate::outer::ErrorBuffers;
use crate::p2p::Commitment;
use crate::sparseloco::{CodecConfig, Tensor as Array};
use crate::tensor_io::{read_safetensors, write_safetensors, TensorIoError};

use super::contribution::Contribution;
use super::global_model::GlobalModel;
use super::peers::decode_contribution;
use super::Window;

const ERROR_FEEDBACK_FILE: &str = "error_feedback.safetensors";

/// Why a miner's own saved state could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum OwnContributionError {
	/// A file could not be read, written or removed.
	#[error("{path}: {source}")]
	Io {
		/// The file or directory.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// The error-feedback file could not be written or parsed.
	#[error(transparent)]
	Tensors(#[from] TensorIoError),
	/// The error-feedback file's metadata or buffers are not valid.
	#[error("{path}: {what}")]
	Invalid {
		/// The file.
		path: String,
		/// What is wrong with it.
		what: String,
	},
	/// Other bytes were already saved for this window: a contribution is never replaced.
	#[error("window {0} already has a saved contribution with other bytes; it is never replaced")]
	AlreadySaved(Window),
}

/// The contributions this peer served, kept on disk so a restarted miner serves them again and
/// can replay its own part of past aggregates (`<dir>/<window>.bin`), and its error feedback as
/// of the last one (see the module doc).
#[derive(Clone, Debug)]
pub struct OwnContributions {
	dir: PathBuf,
	keep: u64,
}

/// What [`OwnContributions::resume`] found: the last window whose contribution was final before
/// the restart, and the error feedback after it.
#[derive(Debug)]
pub struct Resumed {
	/// The window of the last saved contribution.
	pub window: Window,
	/// The error-feedback buffers after compressing that window's payload.
	pub error_feedback: ErrorBuffers,
}

impl OwnContributions {
	/// Contributions under `dir`, keeping the last `keep` windows.
	pub fn new(dir: PathBuf, keep: u64) -> std::io::Result<Self> {
		std::fs::create_dir_all(&dir)?;
		Ok(Self { dir, keep: keep.max(1) })
	}

	fn path(&self, window: Window) -> PathBuf {
		self.dir.join(format!("{window}.bin"))
	}

	fn io(&self, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> OwnContributionError {
		let path = path.display().to_string();
		move |source| OwnContributionError::Io { path, source }
	}

	/// Saves the bytes served for `window` and drops windows older than the bound. Saving the
	/// same bytes again is a no-op; other bytes for a saved window are refused.
	pub fn save(&self, window: Window, bytes: &[u8]) -> Result<(), OwnContributionError> {
		let path = self.path(window);
		match std::fs::read(&path) {
			Ok(saved) if saved == bytes => {}
			Ok(_) => return Err(OwnContributionError::AlreadySaved(window)),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				crate::atomic_file::write(&path, bytes).map_err(self.io(&path))?;
			}
			Err(e) => return Err(self.io(&path)(e)),
		}
		for (w, old) in self.list()? {
			if w + self.keep <= window {
				std::fs::remove_file(&old).map_err(self.io(&old))?;
			}
		}
		Ok(())
	}

	/// Saves `window`'s contribution and then the error feedback after it (the marker that the
	/// contribution is final; see the module doc). Call before submitting the commit.
	pub fn save_final(
		&self,
		window: Window,
		bytes: &[u8],
		beta: f32,
		error_feedback: &[Array],
	) -> Result<(), OwnContributionError> {
		self.save(window, bytes)?;
		let meta = HashMap::from([
			("window".to_string(), window.to_string()),
			("beta".to_string(), beta.to_string()),
		]);
		write_safetensors(&self.dir.join(ERROR_FEEDBACK_FILE), error_feedback, meta)?;
		Ok(())
	}

	/// After a restart: discards contributions saved after the last final one (never
	/// committed), and returns that window with its error feedback (`None`: nothing final was
	/// saved, e.g. a state directory from before this file existed).
	pub fn resume(&self) -> Result<Option<Resumed>, OwnContributionError> {
		let path = self.dir.join(ERROR_FEEDBACK_FILE);
		if !path.exists() {
			return Ok(None);
		}
		let (buffers, meta) = read_safetensors(&path)?;
		let invalid =
			|what: String| OwnContributionError::Invalid { path: path.display().to_string(), what };
		let window = meta
			.get("window")
			.and_then(|w| w.parse::<Window>().ok())
			.ok_or_else(|| invalid("no window in the metadata".into()))?;
		let beta = meta
			.get("beta")
			.and_then(|b| b.parse::<f32>().ok())
			.ok_or_else(|| invalid("no beta in the metadata".into()))?;
		let error_feedback =
			ErrorBuffers::from_arrays(beta, buffers).map_err(|e| invalid(e.to_string()))?;
		for (w, unfinished) in self.list()? {
			if w > window {
				tracing::info!(window = w, "discarding a contribution saved but never committed");
				std::fs::remove_file(&unfinished).map_err(self.io(&unfinished))?;
			}
		}
		Ok(Some(Resumed { window, error_feedback }))
	}

	/// The bytes served for `window`, if kept.
	pub fn load(&self, window: Window) -> Option<Vec<u8>> {
		std::fs::read(self.path(window)).ok()
	}

	/// The contribution served for `window`, if kept: decoded for `global` when its bytes are
	/// the ones `commitment` (this peer's, read from the chain) hashes.
	pub fn contribution(
		&self,
		window: Window,
		commitment: &ChainCommitment,
		global: &GlobalModel,
		codec: &CodecConfig,
	) -> Option<Result<Contribution, String>> {
		let bytes = self.load(window)?;
		if Commitment::of(&bytes).hash != commitment.payload_hash.0 {
			return Some(Err("own bytes differ".into()));
		}
		Some(decode_contribution(&bytes, global, codec).map_err(|e| e.to_string()))
	}

	/// Every kept window and its file, oldest first.
	pub fn list(&self) -> Result<Vec<(Window, PathBuf)>, OwnContributionError> {
		let mut out = Vec::new();
		for entry in std::fs::read_dir(&self.dir).map_err(self.io(&self.dir))? {
			let path = entry.map_err(self.io(&self.dir))?.path();
			let window =
				path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<Window>().ok());
			if let (Some(window), Some("bin")) = (window, path.extension().and_then(|e| e.to_str()))
			{
				out.push((window, path));
			}
		}
		out.sort();
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn windows(own: &OwnContributions) -> Vec<Window> {
		own.list().unwrap().iter().map(|(w, _)| *w).collect()
	}

	#[test]
	fn own_contributions_keep_the_last_windows_and_list_them_in_order() {
		let dir = tempfile::tempdir().unwrap();
		let own = OwnContributions::new(dir.path().join("c"), 2).unwrap();
		own.save(3, b"three").unwrap();
		own.save(4, b"four").unwrap();
		std::fs::write(dir.path().join("c/notes.txt"), b"ignored").unwrap();
		assert_eq!(windows(&own), vec![3, 4]);
		own.save(5, b"five").unwrap();
		assert_eq!(windows(&own), vec![4, 5]);
		assert_eq!(own.load(3), None);
		assert_eq!(own.load(5).as_deref(), Some(&b"five"[..]));
	}

	#[test]
	fn a_saved_contribution_is_never_replaced() {
		let dir = tempfile::tempdir().unwrap();
		let own = OwnContributions::new(dir.path().to_path_buf(), 4).unwrap();
		own.save(7, b"committed").unwrap();
		own.save(7, b"committed").unwrap();
		let refused = own.save(7, b"retrained");
		assert!(matches!(refused, Err(OwnContributionError::AlreadySaved(7))), "{refused:?}");
		assert_eq!(own.load(7).as_deref(), Some(&b"committed"[..]));
	}

	#[test]
	fn resume_returns_the_last_final_window_and_discards_what_came_after() {
		let dir = tempfile::tempdir().unwrap();
		let own = OwnContributions::new(dir.path().to_path_buf(), 8).unwrap();
		assert!(own.resume().unwrap().is_none(), "nothing final saved yet");
		let ef = |v: f32| vec![Array::new("w", vec![2], vec![v, -v]).unwrap()];
		own.save_final(4, b"four", 0.95, &ef(1.0)).unwrap();
		own.save_final(5, b"five", 0.95, &ef(2.0)).unwrap();
		// Window 6's bytes were written, then the process died before its error feedback.
		own.save(6, b"six").unwrap();
		let resumed = own.resume().unwrap().expect("window 5 is final");
		assert_eq!(resumed.window, 5);
		assert_eq!(resumed.error_feedback.beta(), 0.95);
		assert_eq!(resumed.error_feedback.arrays(), &ef(2.0)[..]);
		assert_eq!(windows(&own), vec![4, 5], "the unfinished window 6 is discarded");
	}

	#[test]
	fn a_damaged_error_feedback_file_is_a_typed_error() {
		let dir = tempfile::tempdir().unwrap();
		let own = OwnContributions::new(dir.path().to_path_buf(), 8).unwrap();
		std::fs::write(dir.path().join(ERROR_FEEDBACK_FILE), b"not safetensors").unwrap();
		assert!(matches!(own.resume(), Err(OwnContributionError::Tensors(_))));
		let ef = vec![Array::new("w", vec![1], vec![1.0]).unwrap()];
		write_safetensors(&dir.path().join(ERROR_FEEDBACK_FILE), &ef, HashMap::new()).unwrap();
		assert!(matches!(own.resume(), Err(OwnContributionError::Invalid { .. })));
	}
}
