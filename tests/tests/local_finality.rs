//! `gauntlet-node --chain local`: Alice and Bob author with Aura and finalise with GRANDPA.

use anyhow::{Context, Result};
use gauntlet_e2e::{
	subxt_rpcs::{rpc_params, RpcClient},
	wait_for, Node,
};
use std::time::Duration;

const START: Duration = Duration::from_secs(90);
// Authorities need a persistent libp2p key; fixed ones keep the test self-contained.
const ALICE_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
const BOB_NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000002";

async fn finalized_number(rpc: &RpcClient) -> Result<u64> {
	let hash: String = rpc.request("chain_getFinalizedHead", rpc_params![]).await?;
	let header: serde_json::Value = rpc.request("chain_getHeader", rpc_params![hash]).await?;
	let hex = header["number"].as_str().context("header without a number")?;
	Ok(u64::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_authorities_finalize_blocks() -> Result<()> {
	let mut alice = Node::start(
		"alice",
		&["--chain", "local", "--alice", "--tmp", "--node-key", ALICE_NODE_KEY],
	)?;
	let alice_rpc = alice.rpc_client(START).await?;
	let peer_id: String = alice_rpc.request("system_localPeerId", rpc_params![]).await?;
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", alice.p2p_port);
	let mut bob = Node::start(
		"bob",
		&[
			"--chain",
			"local",
			"--bob",
			"--tmp",
			"--node-key",
			BOB_NODE_KEY,
			"--bootnodes",
			&bootnode,
		],
	)?;
	let bob_rpc = bob.rpc_client(START).await?;

	// GRANDPA needs both votes (2 of 2), so finality advancing proves the two nodes agree.
	let finalized =
		wait_for("block 3 to be finalised on both nodes", Duration::from_secs(120), || async {
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
