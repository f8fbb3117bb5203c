//! The payloads a host serves: the last few windows' payloads, keyed by (window, hash). Bounded by
//! window count so a long-running miner's memory stays flat: serving a new window evicts the oldest.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::commitment::Commitment;

/// Why a payload was not stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
	/// The store is full of newer windows; this one would be evicted at once.
	#[error("window {window} is older than every window kept (oldest kept: {oldest})")]
	WindowTooOld {
		/// The window offered.
		window: u64,
		/// The oldest window the store keeps.
		oldest: u64,
	},
	/// Empty payloads cannot be committed on chain.
	#[error("empty payload")]
	Empty,
}

/// Payloads by window, then by content hash.
#[derive(Debug)]
pub struct PayloadStore {
	max_windows: usize,
	windows: BTreeMap<u64, HashMap<[u8; 32], Bytes>>,
}

impl PayloadStore {
	/// A store that keeps at most `max_windows` windows (at least one).
	pub fn new(max_windows: usize) -> Self {
		Self { max_windows: max_windows.max(1), windows: BTreeMap::new() }
	}

	/// Keeps `payload` under (window, commitment.hash), evicting the oldest windows beyond the bound.
	/// The caller vouches that `commitment` is the payload's (see [`Commitment::of`]).
	pub fn insert(
		&mut self,
		window: u64,
		commitment: Commitment,
		payload: Bytes,
	) -> Result<(), StoreError> {
		if payload.is_empty() {
			return Err(StoreError::Empty);
		}
		if self.windows.len() >= self.max_windows && !self.windows.contains_key(&window) {
			if let Some((&oldest, _)) = self.windows.first_key_value() {
				if window < oldest {
					return Err(StoreError::WindowTooOld { window, oldest });
				}
			}
		}
		self.windows.entry(window).or_default().insert(commitment.hash, payload);
		while self.windows.len() > self.max_windows {
			if let Some((evicted, _)) = self.windows.pop_first() {
				tracing::debug!(window = evicted, "evicted payloads of window");
			}
		}
		Ok(())
	}

	/// The payload served under (window, hash), if any (a cheap reference-counted handle).
	pub fn get(&self, window: u64, hash: &[u8; 32]) -> Option<Bytes> {
		self.windows.get(&window)?.get(hash).cloned()
	}

	/// Windows currently kept, oldest first.
	pub fn windows(&self) -> Vec<u64> {
		self.windows.keys().copied().collect()
	}

	/// Total payload bytes held.
	pub fn bytes(&self) -> u64 {
		self.windows.values().flat_map(|w| w.values()).map(|p| p.len() as u64).sum()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn put(
		store: &mut PayloadStore,
		window: u64,
		bytes: &'static [u8],
	) -> Result<Commitment, StoreError> {
		let commitment = Commitment::of(bytes);
		store.insert(window, commitment, Bytes::from_static(bytes)).map(|_| commitment)
	}

	#[test]
	fn keeps_the_newest_windows_and_evicts_the_oldest() {
		let mut store = PayloadStore::new(2);
		let a = put(&mut store, 1, b"a").unwrap();
		let b = put(&mut store, 2, b"b").unwrap();
		let b2 = put(&mut store, 2, b"b2").unwrap();
		let c = put(&mut store, 3, b"c").unwrap();
		assert_eq!(store.windows(), vec![2, 3]);
		assert_eq!(store.get(1, &a.hash), None);
		assert_eq!(store.get(2, &b.hash).as_deref(), Some(&b"b"[..]));
		assert_eq!(store.get(2, &b2.hash).as_deref(), Some(&b"b2"[..]));
		assert_eq!(store.get(3, &c.hash).as_deref(), Some(&b"c"[..]));
		assert_eq!(store.get(3, &b.hash), None);
		assert_eq!(store.bytes(), 4);
	}

	#[test]
	fn refuses_a_window_older_than_a_full_store_and_empty_payloads_without_changing_state() {
		let mut store = PayloadStore::new(2);
		put(&mut store, 5, b"x").unwrap();
		put(&mut store, 6, b"y").unwrap();
		assert_eq!(
			put(&mut store, 4, b"z"),
			Err(StoreError::WindowTooOld { window: 4, oldest: 5 })
		);
		assert_eq!(put(&mut store, 7, b""), Err(StoreError::Empty));
		assert_eq!(store.windows(), vec![5, 6]);
	}
}
