//! A validator's scores between `commit_scores` and `reveal_scores`: what it committed to, kept
//! so that exactly the same bytes are revealed a window later, after a restart too.
//!
//! The commitment is `blake2_256(SCALE(window, validator, theta_hash, scores, salt))`, the
//! pallet's `assignment::score_commitment`, computed here over the runtime's own types (the
//! scores converted to fixed point once, the same way for the commitment and the reveal). The
//! salt is 32 random bytes from the operating system: without it a commitment to a small
//! score list could be matched against guesses before the reveal.

use serde::{Deserialize, Serialize};
use subxt::ext::codec::Encode;

use crate::{
	runtime::runtime_types as rt,
	types::{AccountId, Hash32, MinerScore, Window},
	ChainError, Result,
};

/// Scores a validator committed to and will reveal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealedScores {
	/// The scored window.
	pub window: Window,
	/// The validator.
	pub validator: AccountId,
	/// Weights hash of the θ the scores were measured on.
	pub theta_hash: Hash32,
	/// One score per assigned miner, in the order they are revealed.
	pub scores: Vec<(AccountId, MinerScore)>,
	/// The commitment's salt (secret until the reveal).
	pub salt: Hash32,
	/// What `commit_scores` records.
	pub commitment: Hash32,
}

impl SealedScores {
	/// Seals `scores` with a fresh random salt.
	pub fn new(
		window: Window,
		validator: AccountId,
		theta_hash: [u8; 32],
		scores: Vec<(AccountId, MinerScore)>,
	) -> Result<Self> {
		let mut salt = [0u8; 32];
		getrandom::fill(&mut salt).map_err(|e| ChainError::InvalidInput {
			field: "salt",
			reason: format!("no randomness from the operating system: {e}"),
		})?;
		Self::with_salt(window, validator, theta_hash, scores, salt)
	}

	/// Seals `scores` with `salt` (tests and auditors recomputing a commitment).
	pub fn with_salt(
		window: Window,
		validator: AccountId,
		theta_hash: [u8; 32],
		scores: Vec<(AccountId, MinerScore)>,
		salt: [u8; 32],
	) -> Result<Self> {
		let runtime_scores = to_runtime(&scores)?;
		// The SCALE encoding of the tuple is its fields' encodings, concatenated.
		let mut bytes = window.encode();
		validator.encode_to(&mut bytes);
		theta_hash.encode_to(&mut bytes);
		subxt::ext::codec::Compact(runtime_scores.len() as u32).encode_to(&mut bytes);
		for (miner, score) in &runtime_scores {
			miner.encode_to(&mut bytes);
			encode_score(score, &mut bytes);
		}
		salt.encode_to(&mut bytes);
		let commitment = blake2_256(&bytes);
		Ok(Self {
			window,
			validator,
			theta_hash: Hash32(theta_hash),
			scores,
			salt: Hash32(salt),
			commitment: Hash32(commitment),
		})
	}

	/// The scores in the runtime's fixed point, as the reveal sends them.
	pub(crate) fn runtime_scores(
		&self,
	) -> Result<Vec<(AccountId, rt::pallet_gauntlet::types::MinerScore)>> {
		to_runtime(&self.scores)
	}
}

fn to_runtime(
	scores: &[(AccountId, MinerScore)],
) -> Result<Vec<(AccountId, rt::pallet_gauntlet::types::MinerScore)>> {
	scores.iter().map(|(miner, score)| Ok((*miner, score.to_runtime()?))).collect()
}

/// The SCALE encoding of `pallet_gauntlet::MinerScore`, field by field in declaration order.
/// Written out because subxt's generated types encode only against the metadata's type
/// registry (`EncodeAsType`); a layout change in the pallet makes the chain refuse every reveal
/// (`CommitmentMismatch`, caught by the end-to-end tests) and fails the byte test below.
fn encode_score(s: &rt::pallet_gauntlet::types::MinerScore, out: &mut Vec<u8>) {
	use rt::pallet_gauntlet::types::FailureReason as R;
	for x in [&s.gradient_score, &s.own_improvement] {
		out.extend_from_slice(&x.0.to_le_bytes());
	}
	out.push(s.binary_indicator as u8);
	out.extend_from_slice(&s.sync_score.0.to_le_bytes());
	out.push(u8::from(s.copy_suspected));
	match &s.failure {
		None => out.push(0),
		Some(reason) => out.extend_from_slice(&[
			1,
			match reason {
				R::MissingPayload => 0,
				R::HashMismatch => 1,
				R::Malformed => 2,
			},
		]),
	}
	let l = &s.losses;
	for x in [&l.own_before, &l.own_after, &l.random_before, &l.random_after] {
		out.extend_from_slice(&x.0.to_le_bytes());
	}
}

fn blake2_256(bytes: &[u8]) -> [u8; 32] {
	let hash = blake2b_simd::Params::new().hash_length(32).hash(bytes);
	hash.as_bytes().try_into().expect("32-byte hash")
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::types::EvaluationLosses;

	fn score(g: f64) -> MinerScore {
		MinerScore {
			gradient_score: g,
			own_improvement: g,
			binary_indicator: 1,
			sync_score: 1.0,
			copy_suspected: false,
			failure: None,
			losses: EvaluationLosses {
				own_before: 5.0,
				own_after: 4.0,
				random_before: 5.0,
				random_after: 4.5,
			},
		}
	}

	/// The commitment matches what the pallet computes for the same values; the expected bytes
	/// are those of `pallet_gauntlet::assignment::score_commitment` on the runtime's types
	/// (recomputed here by hand from the SCALE layout, so a layout change fails this test).
	#[test]
	fn the_commitment_is_the_pallets_hash_of_the_scale_tuple() {
		let miner = AccountId::from([1; 32]);
		let validator = AccountId::from([2; 32]);
		let sealed =
			SealedScores::with_salt(7, validator, [3; 32], vec![(miner, score(0.1))], [4; 32])
				.unwrap();
		let mut bytes = Vec::new();
		bytes.extend_from_slice(&7u64.to_le_bytes());
		bytes.extend_from_slice(&[2; 32]);
		bytes.extend_from_slice(&[3; 32]);
		bytes.push(4); // compact length 1
		bytes.extend_from_slice(&[1; 32]);
		for inner in [100_000_000i64, 100_000_000] {
			bytes.extend_from_slice(&inner.to_le_bytes());
		}
		bytes.push(1); // binary indicator
		bytes.extend_from_slice(&1_000_000_000i64.to_le_bytes());
		bytes.push(0); // not a copy
		bytes.push(0); // no failure
		for inner in [5_000_000_000i64, 4_000_000_000, 5_000_000_000, 4_500_000_000] {
			bytes.extend_from_slice(&inner.to_le_bytes());
		}
		bytes.extend_from_slice(&[4; 32]);
		assert_eq!(sealed.commitment, Hash32(blake2_256(&bytes)));
	}

	#[test]
	fn a_sealed_list_survives_json_and_salts_differ() {
		let miner = AccountId::from([1; 32]);
		let a = SealedScores::new(
			3,
			AccountId::from([2; 32]),
			[0; 32],
			vec![(miner, score(0.123456789))],
		)
		.unwrap();
		let json = serde_json::to_string(&a).unwrap();
		let back: SealedScores = serde_json::from_str(&json).unwrap();
		assert_eq!(back, a);
		let recommitted = SealedScores::with_salt(
			3,
			back.validator,
			back.theta_hash.0,
			back.scores.clone(),
			back.salt.0,
		)
		.unwrap();
		assert_eq!(recommitted.commitment, a.commitment);
		let b = SealedScores::new(3, AccountId::from([2; 32]), [0; 32], a.scores.clone()).unwrap();
		assert_ne!(a.salt, b.salt);
		assert_ne!(a.commitment, b.commitment);
	}
}
