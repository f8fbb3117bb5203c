//! Copy detection: two miners whose payloads keep largely the same top-k positions did not
//! train independently (honest miners share θ but not data, so their kept sets overlap little).
//! Of a suspicious pair, the later committer is flagged: a copier can only commit after it has
//! seen the original. Same-block pairs are both flagged.

use std::collections::BTreeSet;

use gauntlet_chain::AccountId;

use crate::sparseloco::Payload;

/// Fraction of kept positions two payloads share: over every tensor both hold with the same
/// chunking, `Σ |kept_a ∩ kept_b| / Σ min(k_a, k_b)` per chunk; 0 when nothing is comparable.
pub fn index_overlap(a: &Payload, b: &Payload) -> f64 {
	let (mut shared, mut possible) = (0usize, 0usize);
	for ta in a.tensors() {
		let Some(tb) = b.get(ta.name()) else { continue };
		if ta.geometry() != tb.geometry() {
			continue;
		}
		let (ka, kb) = (ta.k(), tb.k());
		for c in 0..ta.geometry().num_chunks() {
			let (ia, ib) =
				(&ta.indices()[c * ka..(c + 1) * ka], &tb.indices()[c * kb..(c + 1) * kb]);
			shared += sorted_intersection(ia, ib);
			possible += ka.min(kb);
		}
	}
	if possible == 0 {
		0.0
	} else {
		shared as f64 / possible as f64
	}
}

/// Size of the intersection of two strictly increasing slices.
fn sorted_intersection(a: &[u16], b: &[u16]) -> usize {
	let (mut i, mut j, mut n) = (0, 0, 0);
	while i < a.len() && j < b.len() {
		match a[i].cmp(&b[j]) {
			std::cmp::Ordering::Less => i += 1,
			std::cmp::Ordering::Greater => j += 1,
			std::cmp::Ordering::Equal => {
				n += 1;
				i += 1;
				j += 1;
			}
		}
	}
	n
}

/// One evaluated contribution: who, when it was committed, what it keeps.
pub struct Candidate<'a> {
	/// The miner.
	pub miner: AccountId,
	/// Block of its commitment.
	pub committed_at: u32,
	/// Its payload.
	pub payload: &'a Payload,
}

/// The miners to flag among `candidates`: for every pair overlapping more than `threshold`, the
/// later committer (both when they committed in the same block). Also returns the largest
/// overlap seen per miner, for logs and metrics.
pub fn flag_copies(
	candidates: &[Candidate<'_>],
	threshold: f64,
) -> (BTreeSet<AccountId>, Vec<(AccountId, f64)>) {
	let mut flagged = BTreeSet::new();
	let mut max_overlap = vec![0.0f64; candidates.len()];
	for (i, a) in candidates.iter().enumerate() {
		for (j, b) in candidates.iter().enumerate().skip(i + 1) {
			let overlap = index_overlap(a.payload, b.payload);
			max_overlap[i] = max_overlap[i].max(overlap);
			max_overlap[j] = max_overlap[j].max(overlap);
			if overlap <= threshold {
				continue;
			}
			match a.committed_at.cmp(&b.committed_at) {
				std::cmp::Ordering::Less => {
					flagged.insert(b.miner);
				}
				std::cmp::Ordering::Greater => {
					flagged.insert(a.miner);
				}
				std::cmp::Ordering::Equal => {
					flagged.insert(a.miner);
					flagged.insert(b.miner);
				}
			}
		}
	}
	let overlaps = candidates.iter().map(|c| c.miner).zip(max_overlap).collect();
	(flagged, overlaps)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::{CodecConfig, Tensor};

	fn payload(seed: u64) -> Payload {
		let data: Vec<f32> = (0..64 * 64)
			.map(|i| {
				let h = (i as u64 + 1)
					.wrapping_mul(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xD6E8_FEB8_6659_FD93));
				((h >> 40) as f32 / (1u64 << 24) as f32) - 0.5
			})
			.collect();
		let t = Tensor::new("w", vec![64, 64], data).unwrap();
		Payload::compress(&[t], &CodecConfig::default()).unwrap()
	}

	fn account(b: u8) -> AccountId {
		AccountId::from([b; 32])
	}

	#[test]
	fn a_byte_copy_overlaps_fully_and_independent_payloads_little() {
		let (a, b) = (payload(1), payload(2));
		assert_eq!(index_overlap(&a, &a.clone()), 1.0);
		let independent = index_overlap(&a, &b);
		assert!(independent < 0.2, "independent payloads overlap {independent}");
	}

	#[test]
	fn the_later_committer_of_a_suspicious_pair_is_flagged() {
		let (a, b) = (payload(1), payload(2));
		let copy = a.clone();
		let candidates = [
			Candidate { miner: account(1), committed_at: 10, payload: &a },
			Candidate { miner: account(2), committed_at: 11, payload: &b },
			Candidate { miner: account(3), committed_at: 12, payload: &copy },
		];
		let (flagged, overlaps) = flag_copies(&candidates, 0.4);
		assert_eq!(flagged.into_iter().collect::<Vec<_>>(), vec![account(3)]);
		assert_eq!(overlaps[0].1, 1.0);
		let same_block = [
			Candidate { miner: account(1), committed_at: 10, payload: &a },
			Candidate { miner: account(3), committed_at: 10, payload: &copy },
		];
		assert_eq!(flag_copies(&same_block, 0.4).0.len(), 2);
	}
}
