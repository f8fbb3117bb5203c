//! The runtime metadata this client was generated from, and the running node's, to compare them.

use crate::{ChainError, Result};
use codec::Decode;
use subxt::{
	config::RpcConfigFor,
	rpcs::{LegacyRpcMethods, RpcClient},
};

/// The metadata committed in `offchain-trainer/chain/metadata/gauntlet.scale` (refreshed by
/// `scripts/refresh-metadata.sh`), that the typed API was generated from.
pub const COMMITTED: &[u8] = include_bytes!("../metadata/gauntlet.scale");

/// The metadata version committed: 15, the first that describes runtime APIs.
pub const VERSION: u32 = 15;

/// The node's metadata at [`VERSION`], as the raw bytes `scripts/refresh-metadata.sh` writes.
pub async fn fetch_from_node(url: &str) -> Result<Vec<u8>> {
	let rpc = RpcClient::from_insecure_url(url)
		.await
		.map_err(|e| ChainError::Connect { url: url.to_string(), source: Box::new(e.into()) })?;
	let methods = LegacyRpcMethods::<RpcConfigFor<crate::ChainConfig>>::new(rpc);
	let bytes = methods
		.state_call("Metadata_metadata_at_version", Some(&codec::Encode::encode(&VERSION)), None)
		.await
		.map_err(|e| ChainError::rpc("Metadata_metadata_at_version", e))?;
	// The API returns Option<OpaqueMetadata>, an Option of SCALE bytes.
	let metadata = Option::<Vec<u8>>::decode(&mut &bytes[..])
		.map_err(|e| ChainError::Decode { what: "metadata", reason: e.to_string() })?;
	metadata.ok_or(ChainError::Decode {
		what: "metadata",
		reason: format!("the node does not provide metadata version {VERSION}"),
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn committed_metadata_is_prefixed_v15() {
		assert_eq!(&COMMITTED[..4], b"meta", "magic");
		assert_eq!(u32::from(COMMITTED[4]), VERSION);
	}
}
