//! Fetching a miner's contribution for a window: its endpoint from chain state, the bytes over
//! libp2p checked against its commitment, then decoded and checked against the model. Every
//! failure is classified as the chain's [`FailureReason`], so a validator can score it.

use gauntlet_chain::types::{Commitment as ChainCommitment, FailureReason};
use gauntlet_chain::{AccountId, ChainAt};

use crate::p2p::{Commitment, Endpoint, FetchError, P2pHandle};
use crate::sparseloco::CodecConfig;

use super::contribution::{Contribution, ContributionError};
use super::global_model::GlobalModel;
use super::Window;

/// Why a miner's contribution could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ContributionFailure {
	/// The miner is not registered, or its endpoint does not decode.
	#[error("no usable endpoint on chain: {0}")]
	NoEndpoint(String),
	/// The chain could not be read.
	#[error("chain: {0}")]
	Chain(#[from] gauntlet_chain::ChainError),
	/// The bytes could not be fetched (or not all of them).
	#[error("fetch: {0}")]
	Fetch(Box<FetchError>),
	/// The bytes match the commitment but are not a contribution of this run.
	#[error("malformed: {0}")]
	Malformed(#[from] ContributionError),
	/// The payload decodes but does not fit the model or the codec settings.
	#[error("does not fit the model: {0}")]
	Mismatch(#[from] crate::sparseloco::CodecError),
	/// Not fetched within the allowed time.
	#[error("not fetched within {0:?}")]
	TimedOut(std::time::Duration),
}

impl From<FetchError> for ContributionFailure {
	fn from(e: FetchError) -> Self {
		Self::Fetch(Box::new(e))
	}
}

impl ContributionFailure {
	/// The failure as a validator reports it on chain.
	pub fn reason(&self) -> FailureReason {
		match self {
			Self::Fetch(e)
				if matches!(
					**e,
					FetchError::HashMismatch { .. } | FetchError::Oversized { .. }
				) =>
			{
				FailureReason::HashMismatch
			}
			Self::Malformed(_) | Self::Mismatch(_) => FailureReason::Malformed,
			Self::NoEndpoint(_) | Self::Chain(_) | Self::Fetch(_) | Self::TimedOut(_) => {
				FailureReason::MissingPayload
			}
		}
	}
}

/// The p2p form of a chain commitment.
pub fn p2p_commitment(c: &ChainCommitment) -> Commitment {
	Commitment { hash: c.payload_hash.0, size: c.payload_size }
}

/// Fetches `commitment.miner`'s contribution for `window` and decodes it for `global`.
pub async fn fetch_contribution(
	p2p: &P2pHandle,
	chain: &ChainAt,
	window: Window,
	commitment: &ChainCommitment,
	global: &GlobalModel,
	codec: &CodecConfig,
) -> Result<(Vec<u8>, Contribution), ContributionFailure> {
	let endpoint = miner_endpoint(chain, &commitment.miner).await?;
	let bytes =
		p2p.fetch(endpoint.peer_id, &endpoint.addrs, window, p2p_commitment(commitment)).await?;
	let contribution = decode_contribution(&bytes, global, codec)?;
	Ok((bytes, contribution))
}

/// How long fetching a set of contributions at once may take: a floor for dialing, opening
/// streams and the first bytes, plus the time the set's committed bytes need at this peer's
/// download cap, with slack. A fixed limit left out a 20-peer set of `1b` payloads (20 × 29 MB
/// at 500 Mb/s: 9.3 s) on time alone, and a peer that left it out held another θ than the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FetchBudget {
	/// Dialing, opening streams and the first bytes (`--fetch-timeout-s`).
	pub floor: std::time::Duration,
	/// This peer's download cap in bytes per second (`--max-download-mbps`); none: the floor
	/// alone bounds a fetch, as the link's speed is unknown.
	pub download_bytes_per_s: Option<f64>,
}

impl FetchBudget {
	/// Transfer time at the cap is multiplied by this: the cap is reached within 2.2% on loopback
	/// (docs/p2p-bench.md), but the set's fetches share the link with serving and with each
	/// other's handshakes, and several lanes of one payload finish unevenly.
	pub const SLACK: f64 = 1.5;

	/// From the floor in seconds and the download cap in Mb/s.
	pub fn new(floor_s: u64, max_download_mbps: Option<f64>) -> Self {
		Self {
			floor: std::time::Duration::from_secs(floor_s),
			download_bytes_per_s: max_download_mbps.filter(|m| *m > 0.0).map(|m| m * 1e6 / 8.0),
		}
	}

	/// The deadline for fetching `bytes` in all (the committed sizes of every fetch running at
	/// once; they share the download link).
	pub fn deadline(&self, bytes: u64) -> std::time::Duration {
		let transfer = self.download_bytes_per_s.map_or(0.0, |b| Self::SLACK * bytes as f64 / b);
		self.floor + std::time::Duration::from_secs_f64(transfer)
	}

	/// The deadline for fetching `set` at once. Each commitment counts its committed size up to
	/// `max_each`, the most a valid contribution can take ([`GlobalModel::max_contribution_bytes`]):
	/// a miner that commits to a huge size cannot stretch everyone's deadline (at 500 Mb/s a 2 GiB
	/// commitment would add 51 s), and the fetch refuses bytes beyond the commitment anyway.
	pub fn for_set<'c>(
		&self,
		set: impl IntoIterator<Item = &'c ChainCommitment>,
		max_each: u64,
	) -> std::time::Duration {
		self.deadline(set.into_iter().map(|c| c.payload_size.min(max_each)).sum())
	}
}

/// [`fetch_contribution`] given up after `deadline` ([`ContributionFailure::TimedOut`]).
pub async fn fetch_contribution_within(
	deadline: std::time::Duration,
	p2p: &P2pHandle,
	chain: &ChainAt,
	window: Window,
	commitment: &ChainCommitment,
	global: &GlobalModel,
	codec: &CodecConfig,
) -> Result<(Vec<u8>, Contribution), ContributionFailure> {
	let fetch = fetch_contribution(p2p, chain, window, commitment, global, codec);
	match tokio::time::timeout(deadline, fetch).await {
		Ok(result) => result,
		Err(_) => Err(ContributionFailure::TimedOut(deadline)),
	}
}

/// Decodes contribution bytes (already verified against their commitment) for `global`.
pub fn decode_contribution(
	bytes: &[u8],
	global: &GlobalModel,
	codec: &CodecConfig,
) -> Result<Contribution, ContributionFailure> {
	let contribution = Contribution::decode(bytes, global.sample_len(), global.limits())?;
	global.check(&contribution.payload, codec)?;
	Ok(contribution)
}

/// `miner`'s registered endpoint.
pub async fn miner_endpoint(
	chain: &ChainAt,
	miner: &AccountId,
) -> Result<Endpoint, ContributionFailure> {
	let registered = chain
		.miner_endpoint(miner)
		.await?
		.ok_or_else(|| ContributionFailure::NoEndpoint("not registered".into()))?;
	Endpoint::from_chain(&registered.peer_id, &registered.multiaddrs)
		.map_err(|e| ContributionFailure::NoEndpoint(e.to_string()))
}

#[cfg(test)]
mod tests {
	use super::FetchBudget;
	use std::time::Duration;

	#[test]
	fn a_huge_commitment_counts_only_what_a_valid_contribution_can_take() {
		use gauntlet_chain::types::{Commitment, Hash32};
		let commitment = |size| Commitment {
			miner: gauntlet_chain::AccountId([7; 32]),
			payload_hash: Hash32([0; 32]),
			payload_size: size,
			committed_at: 1,
		};
		let budget = FetchBudget::new(6, Some(500.0));
		let largest = 29_000_000;
		let honest = [commitment(largest), commitment(largest)];
		// One miner commits to 2 GiB: without the cap the set's deadline grows by 51 s.
		let inflated = [commitment(largest), commitment(2 << 30)];
		assert!(
			budget.deadline(largest + (2 << 30))
				> budget.for_set(&honest, largest) + Duration::from_secs(50)
		);
		assert_eq!(budget.for_set(&inflated, largest), budget.for_set(&honest, largest));
		assert_eq!(budget.for_set(&honest, largest), budget.deadline(2 * largest));
	}

	#[test]
	fn the_deadline_grows_with_the_set_at_the_download_cap() {
		// 20 × 29 MB of `1b` payloads at 500 Mb/s: 9.28 s of transfer, 13.92 s with slack.
		let budget = FetchBudget::new(6, Some(500.0));
		let set = 20 * 29_000_000u64;
		let want = 6.0 + FetchBudget::SLACK * set as f64 * 8.0 / 500e6;
		assert!((budget.deadline(set).as_secs_f64() - want).abs() < 1e-9);
		assert!(budget.deadline(set) > Duration::from_secs(19));
		// Nothing to fetch, or no cap known: the floor.
		assert_eq!(budget.deadline(0), Duration::from_secs(6));
		assert_eq!(FetchBudget::new(6, None).deadline(set), Duration::from_secs(6));
		assert_eq!(FetchBudget::new(6, Some(0.0)).deadline(set), Duration::from_secs(6));
	}
}
