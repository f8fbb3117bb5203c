//! A validator's sealed scores on disk, between `commit_scores` (window W+1) and
//! `reveal_scores` (W+2): the reveal must carry exactly what was committed, salt included, even
//! after a restart. Files are owner-only (the salt is secret until the reveal) and named by the
//! scored window: `<state dir>/sealed-scores/<window>.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gauntlet_chain::SealedScores;

use super::Window;

/// The sealed-score files of one validator.
#[derive(Clone, Debug)]
pub struct SealedScoreFiles {
	dir: PathBuf,
}

impl SealedScoreFiles {
	/// The files under `state_dir`.
	pub fn new(state_dir: &Path) -> Self {
		Self { dir: state_dir.join("sealed-scores") }
	}

	fn path(&self, window: Window) -> PathBuf {
		self.dir.join(format!("{window}.json"))
	}

	/// Saves `sealed` (before its commitment is submitted, so a crash in between leaves
	/// something to reveal rather than a commitment that can never be opened).
	pub fn save(&self, sealed: &SealedScores) -> Result<()> {
		let json = serde_json::to_vec(sealed)?;
		let path = self.path(sealed.window);
		crate::atomic_file::write_private(&path, &json)
			.with_context(|| format!("writing {}", path.display()))
	}

	/// The sealed scores of `window`, if saved.
	pub fn load(&self, window: Window) -> Result<Option<SealedScores>> {
		let path = self.path(window);
		match std::fs::read(&path) {
			Ok(bytes) => serde_json::from_slice(&bytes)
				.map(Some)
				.with_context(|| format!("reading {}", path.display())),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
		}
	}

	/// Deletes the files of windows before `window` (their reveal period is over).
	pub fn forget_before(&self, window: Window) {
		let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
		for entry in entries.flatten() {
			let name = entry.file_name();
			let old = name
				.to_str()
				.and_then(|n| n.strip_suffix(".json"))
				.and_then(|w| w.parse::<Window>().ok())
				.is_some_and(|w| w < window);
			if old {
				let _ = std::fs::remove_file(entry.path());
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use gauntlet_chain::{types::MinerScore, AccountId};

	#[test]
	fn sealed_scores_round_trip_owner_only_and_are_forgotten_after_their_reveal() {
		let dir = tempfile::tempdir().unwrap();
		let files = SealedScoreFiles::new(dir.path());
		assert!(files.load(4).unwrap().is_none());
		let score = MinerScore {
			gradient_score: 0.01,
			own_improvement: 0.02,
			binary_indicator: 1,
			sync_score: 1.0,
			copy_suspected: false,
			failure: None,
			losses: Default::default(),
		};
		let sealed = SealedScores::new(
			4,
			AccountId::from([9; 32]),
			[1; 32],
			vec![(AccountId::from([1; 32]), score)],
		)
		.unwrap();
		files.save(&sealed).unwrap();
		assert_eq!(files.load(4).unwrap(), Some(sealed.clone()));
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(files.path(4)).unwrap().permissions().mode();
			assert_eq!(mode & 0o777, 0o600);
		}
		files.save(&SealedScores { window: 6, ..sealed }).unwrap();
		files.forget_before(5);
		assert!(files.load(4).unwrap().is_none());
		assert!(files.load(6).unwrap().is_some());
	}
}
