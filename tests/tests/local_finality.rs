//! `gauntlet-node --chain local`: Alice and Bob author with Aura and finalise with GRANDPA.

use anyhow::{Context, Result};
use gauntlet_e2e::{wait_for, Node};
use std::time::Duration;
use subxt_rpcs::{rpc_params, RpcClient};

async fn rpc(node: &Node) -> Result<RpcClient> {
	wait_for("the RPC server", Duration::from_secs(90), || async {
		Ok(RpcClient::from_insecure_url(node.ws_url()).await.ok())
	})
	.await
}

async fn finalized_number(rpc: &RpcClient) -> Result<u64> {
	let hash: String = rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
	let header: serde_json::Value = rpc.request("chain_getHeader", rpc_params![hash]).await?;
	let hex = header["number"].as_str().context("header without a number")?;
	Ok(u64::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_authorities_finalize_blocks() -> Result<()> {
	let alice = Node::start("alice", &["--chain", "local", "--alice", "--tmp"])?;
	let alice_rpc = rpc(&alice).await?;
	let peer_id: String = alice_rpc.request("system_localPeerId", rpc_params![]).await?;
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", alice.p2p_port);
	let bob = Node::start("bob", &["--chain", "local", "--bob", "--tmp", "--bootnodes", &bootnode])?;
	let bob_rpc = rpc(&bob).await?;

	// GRANDPA needs both votes (2 of 2), so finality advancing proves the two nodes agree.
	let finalized = wait_for("block 3 to be finalised on both nodes", Duration::from_secs(120), || async {
		let (a, b) = (finalized_number(&alice_rpc).await?, finalized_number(&bob_rpc).await?);
		Ok((a >= 3 && b >= 3).then_some((a, b)))
	})
	.await
	.with_context(|| format!("alice:\n{}\nbob:\n{}", alice.log(), bob.log()))?;
	assert!(finalized.0 >= 3 && finalized.1 >= 3);

	for node in [bob, alice] {
		let status = node.shutdown(Duration::from_secs(30))?;
		assert!(status.success(), "node exited with {status} after SIGINT");
	}
	Ok(())
}
