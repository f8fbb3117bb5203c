//! The typed chain client (`gauntlet-chain`) is generated from metadata committed in the repo.
//! This test fails when the running node's runtime metadata differs from that file, with the
//! command that fixes it.

use anyhow::{Context, Result};
use gauntlet_chain::{metadata, GauntletClient};
use gauntlet_e2e::{wait_for, Node};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn committed_metadata_matches_the_running_node() -> Result<()> {
	let mut node = Node::start("metadata", &["--dev", "--tmp"])?;
	// Wait for RPC with the harness, then fetch through the chain crate.
	node.rpc_client(Duration::from_secs(90)).await?;
	let url = node.ws_url();
	let live = wait_for("the node's metadata", Duration::from_secs(30), || async {
		Ok(metadata::fetch_from_node(&url).await.ok())
	})
	.await?;

	assert!(
		live == metadata::COMMITTED,
		"offchain-trainer/chain/metadata/gauntlet.scale is stale: the running gauntlet-node's \
		 metadata V{} differs ({} bytes live, {} committed). Run scripts/refresh-metadata.sh and \
		 rebuild gauntlet-chain.",
		metadata::VERSION,
		live.len(),
		metadata::COMMITTED.len()
	);

	// And the generated client works against it: a runtime API call and a storage read.
	let client = GauntletClient::connect(&url).await?;
	let config = client.run_config().await.context("GauntletApi.run_config")?;
	let head = client.head().await.context("chain head")?;
	assert_eq!(config.blocks_per_window, head.blocks_per_window);
	assert_eq!(head.blocks_per_window, 10, "dev chain windows are 10 blocks");

	node.shutdown(Duration::from_secs(30))?;
	Ok(())
}
