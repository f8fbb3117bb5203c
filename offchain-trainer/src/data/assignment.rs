//! Which pages of a token shard a peer trains on, and which pages are held out for evaluation.
//!
//! A *page* is `page_len` consecutive tokens (one training sequence plus its shifted target);
//! page `i` covers tokens `i·page_len .. (i+1)·page_len`. Both rules below are plain SHA-256
//! arithmetic with no random-number library, so a validator (in any language) recomputes a
//! miner's pages exactly from public values:
//!
//! - held out: page `i` is held out iff `u64_le(sha256("gauntlet/heldout/v1" ‖ u64_le(i))[..8])
//!   mod 1000 < heldout_permille`. Held-out pages are never assigned for training.
//! - assignment: the `j`-th draw for (run seed, peer, window) is
//!   `u64_le(sha256("gauntlet/pages/v1" ‖ u64_le(seed) ‖ u64_le(window) ‖ u32_le(|peer|) ‖ peer
//!   ‖ u64_le(j))[..8]) mod n_pages`; draws that hit a held-out page or one already drawn in this
//!   window are skipped until `count` distinct pages are found.

use sha2::{Digest, Sha256};

use super::DataError;

/// Domain tag of the held-out rule.
const HELDOUT_DOMAIN: &[u8] = b"gauntlet/heldout/v1";
/// Domain tag of the assignment rule.
const PAGES_DOMAIN: &[u8] = b"gauntlet/pages/v1";

/// A shard cut into pages, with its held-out share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSplit {
	/// Tokens per page (sequence length + 1).
	pub page_len: usize,
	/// Whole pages in the shard (a trailing partial page is never used).
	pub n_pages: u64,
	/// Pages held out for evaluation, per thousand.
	pub heldout_permille: u32,
}

fn hash_u64(parts: &[&[u8]]) -> u64 {
	let mut h = Sha256::new();
	for p in parts {
		h.update(p);
	}
	let digest = h.finalize();
	u64::from_le_bytes(digest[..8].try_into().expect("sha256 has 32 bytes"))
}

impl PageSplit {
	/// Pages of `page_len` tokens over a shard of `n_tokens`, `heldout_permille` ‰ held out.
	pub fn new(n_tokens: usize, page_len: usize, heldout_permille: u32) -> Result<Self, DataError> {
		if page_len < 2 || heldout_permille >= 1000 {
			return Err(DataError::BadSplit(format!(
				"page_len {page_len} (need ≥ 2), heldout_permille {heldout_permille} (need < 1000)"
			)));
		}
		Ok(Self { page_len, n_pages: (n_tokens / page_len) as u64, heldout_permille })
	}

	/// Whether page `page` belongs to the held-out split.
	pub fn is_heldout(&self, page: u64) -> bool {
		hash_u64(&[HELDOUT_DOMAIN, &page.to_le_bytes()]) % 1000 < u64::from(self.heldout_permille)
	}

	/// First token of `page`.
	pub fn page_start(&self, page: u64) -> usize {
		page as usize * self.page_len
	}

	/// Number of pages available for training.
	pub fn train_page_count(&self) -> u64 {
		(0..self.n_pages).filter(|&p| !self.is_heldout(p)).count() as u64
	}

	/// The `count` distinct training pages of `peer` (account or peer-id bytes) in `window` of
	/// the run with seed `run_seed`, in draw order (the order batches consume them).
	pub fn assign(
		&self,
		run_seed: u64,
		peer: &[u8],
		window: u64,
		count: usize,
	) -> Result<Vec<u64>, DataError> {
		let available = self.train_page_count();
		if count as u64 > available {
			return Err(DataError::NotEnoughPages { wanted: count as u64, available });
		}
		let peer_len = u32::try_from(peer.len()).expect("peer ids are short").to_le_bytes();
		let (seed, window) = (run_seed.to_le_bytes(), window.to_le_bytes());
		let mut chosen = Vec::with_capacity(count);
		let mut seen = std::collections::HashSet::with_capacity(count);
		let mut draw: u64 = 0;
		while chosen.len() < count {
			let h = hash_u64(&[PAGES_DOMAIN, &seed, &window, &peer_len, peer, &draw.to_le_bytes()]);
			draw += 1;
			let page = h % self.n_pages;
			if !self.is_heldout(page) && seen.insert(page) {
				chosen.push(page);
			}
		}
		Ok(chosen)
	}

	/// Up to `count` held-out pages spread evenly over the shard (the evaluation set).
	pub fn heldout_pages(&self, count: usize) -> Vec<u64> {
		let all: Vec<u64> = (0..self.n_pages).filter(|&p| self.is_heldout(p)).collect();
		if all.len() <= count {
			return all;
		}
		(0..count).map(|i| all[i * all.len() / count]).collect()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn split() -> PageSplit {
		PageSplit::new(1_000_000, 129, 50).unwrap()
	}

	#[test]
	fn assignment_is_reproducible_and_depends_on_peer_window_and_seed() {
		let s = split();
		let a = s.assign(42, b"alice", 7, 64).unwrap();
		assert_eq!(
			a,
			s.assign(42, b"alice", 7, 64).unwrap(),
			"a validator recomputes the same pages"
		);
		assert_eq!(a.len(), 64);
		let distinct: std::collections::HashSet<_> = a.iter().collect();
		assert_eq!(distinct.len(), 64);
		assert_ne!(a, s.assign(42, b"bob", 7, 64).unwrap());
		assert_ne!(a, s.assign(42, b"alice", 8, 64).unwrap());
		assert_ne!(a, s.assign(43, b"alice", 7, 64).unwrap());
		// A longer request extends a shorter one: the first pages do not depend on the count.
		assert_eq!(a[..10], s.assign(42, b"alice", 7, 10).unwrap()[..]);
	}

	#[test]
	fn heldout_pages_are_never_assigned_and_are_about_five_percent() {
		let s = split();
		let held = s.heldout_pages(usize::MAX);
		let share = held.len() as f64 / s.n_pages as f64;
		assert!((0.035..0.065).contains(&share), "held-out share {share}");
		let held: std::collections::HashSet<u64> = held.into_iter().collect();
		for window in 0..20 {
			for page in s.assign(1, b"peer", window, 200).unwrap() {
				assert!(!held.contains(&page), "held-out page {page} assigned");
				assert!(page < s.n_pages);
			}
		}
		assert_eq!(s.heldout_pages(10).len(), 10);
	}

	#[test]
	fn asking_for_more_pages_than_exist_is_an_error() {
		let s = PageSplit::new(1290, 129, 0).unwrap();
		assert!(s.assign(0, b"p", 0, 10).is_ok());
		assert!(matches!(s.assign(0, b"p", 0, 11), Err(DataError::NotEnoughPages { .. })));
	}
}
