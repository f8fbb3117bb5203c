//! Who scores whom, and what a validator commits to: pure functions of chain state, so the
//! pallet, the validators and any auditor compute the same answers.
//!
//! ## The seed, and who can bias it
//! The seed of window W is `blake2_256(SCALE(W, parent_hash))`, drawn at the first block of
//! W+1, after every commitment of W is final. On this chain blocks are authored by Aura, so
//! the author of the block *before* that first block chooses the parent hash: it can withhold
//! its block (losing its slot) to re-roll the seed once, or try many block contents to pick
//! among seeds. A miner that is also a block author can therefore bias which validators score
//! it, though not what they measure, and the quorum still needs several of them. A production
//! chain would take the seed from BABE's VRF output (`pallet_babe::RandomnessFromOneEpochAgo`,
//! one author cannot grind it) or from a drand beacon, neither of which changes anything below.
//!
//! ## Assignment
//! Miner m of window W is scored by the `k` validators with the smallest
//! `blake2_256(SCALE(seed, m, v))`, taken from the validator set stored with the seed: a
//! uniform draw of k distinct validators per miner, independent across miners, that no one knows
//! before the seed exists.

use codec::Encode;
use sp_io::hashing::blake2_256;

use crate::types::Window;

/// The seed of `window` from the parent hash of the block that draws it.
pub fn window_seed(window: Window, parent_hash: &[u8]) -> [u8; 32] {
	blake2_256(&(window, parent_hash).encode())
}

/// The `k` validators assigned to `miner` under `seed`, in increasing order of their draw.
/// `validators` need not be sorted; `k` above their number gives them all.
pub fn assigned_validators<AccountId: Encode + Clone>(
	seed: &[u8; 32],
	validators: &[AccountId],
	miner: &AccountId,
	k: u32,
) -> alloc::vec::Vec<AccountId> {
	let mut drawn: alloc::vec::Vec<([u8; 32], &AccountId)> =
		validators.iter().map(|v| (blake2_256(&(seed, miner, v).encode()), v)).collect();
	drawn.sort_by_key(|d| d.0);
	drawn.into_iter().take(k as usize).map(|(_, v)| v.clone()).collect()
}

/// Whether `validator` is among the `k` assigned to `miner` (as [`assigned_validators`]).
pub fn is_assigned<AccountId: Encode + Clone + PartialEq>(
	seed: &[u8; 32],
	validators: &[AccountId],
	miner: &AccountId,
	validator: &AccountId,
	k: u32,
) -> bool {
	assigned_validators(seed, validators, miner, k).contains(validator)
}

/// What `commit_scores` stores and `reveal_scores` checks:
/// `blake2_256(SCALE(window, validator, theta_hash, scores, salt))`. `scores` is the revealed
/// list exactly as submitted (a SCALE `Vec` of (miner, score)); the salt keeps a commitment
/// from being matched against guessed scores.
pub fn score_commitment<AccountId: Encode, Scores: Encode>(
	window: Window,
	validator: &AccountId,
	theta_hash: &[u8; 32],
	scores: &Scores,
	salt: &[u8; 32],
) -> [u8; 32] {
	blake2_256(&(window, validator, theta_hash, scores, salt).encode())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn assignment_is_k_distinct_validators_and_depends_on_seed_and_miner() {
		let validators: alloc::vec::Vec<u64> = (100..116).collect();
		let a = assigned_validators(&[1; 32], &validators, &7u64, 3);
		assert_eq!(a.len(), 3);
		let mut distinct = a.clone();
		distinct.sort();
		distinct.dedup();
		assert_eq!(distinct.len(), 3);
		assert!(a.iter().all(|v| validators.contains(v)));
		assert_eq!(a, assigned_validators(&[1; 32], &validators, &7u64, 3));
		// Across 64 seeds the first draw changes (a fixed assignment would be predictable).
		let firsts: alloc::collections::BTreeSet<u64> =
			(0..64u8).map(|s| assigned_validators(&[s; 32], &validators, &7u64, 1)[0]).collect();
		assert!(firsts.len() > 8, "{firsts:?}");
		let others: alloc::collections::BTreeSet<u64> =
			(0..64u64).map(|m| assigned_validators(&[1; 32], &validators, &m, 1)[0]).collect();
		assert!(others.len() > 8, "{others:?}");
		assert_eq!(assigned_validators(&[1; 32], &validators, &7u64, 99).len(), 16);
		// The order of the stored set does not matter.
		let mut reversed = validators.clone();
		reversed.reverse();
		assert_eq!(a, assigned_validators(&[1; 32], &reversed, &7u64, 3));
	}

	#[test]
	fn the_commitment_binds_every_input() {
		let scores: alloc::vec::Vec<(u64, u32)> = alloc::vec![(1, 2)];
		let base = score_commitment(5, &100u64, &[1; 32], &scores, &[9; 32]);
		assert_ne!(base, score_commitment(6, &100u64, &[1; 32], &scores, &[9; 32]));
		assert_ne!(base, score_commitment(5, &101u64, &[1; 32], &scores, &[9; 32]));
		assert_ne!(base, score_commitment(5, &100u64, &[2; 32], &scores, &[9; 32]));
		assert_ne!(
			base,
			score_commitment(5, &100u64, &[1; 32], &alloc::vec![(1u64, 3u32)], &[9; 32])
		);
		assert_ne!(base, score_commitment(5, &100u64, &[1; 32], &scores, &[8; 32]));
	}
}
