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
