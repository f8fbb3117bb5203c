//! `gauntlet-node --dev`: blocks are produced, a generic client reads them, a signed extrinsic
//! (a remark, then a pallet-gauntlet call) is included, and SIGINT stops the node cleanly.

use anyhow::{Context, Result};
use gauntlet_e2e::{
	subxt::dynamic::{self, At},
	subxt_signer::sr25519::dev,
	wait_for, Client, Node,
};
use std::time::Duration;

const START: Duration = Duration::from_secs(90);

async fn best_number(api: &Client) -> Result<u64> {
	Ok(api.at_current_block().await?.block_number())
}

/// The names of the events an included extrinsic emitted, as `Pallet.Event`.
async fn submit(
	api: &Client,
	tx: &impl gauntlet_e2e::subxt::transactions::Payload,
) -> Result<Vec<String>> {
	let at = api.at_current_block().await?;
	let events = at
		.transactions()
		.sign_and_submit_then_watch_default(tx, &dev::alice())
		.await?
		.wait_for_finalized_success()
		.await?;
	events
		.iter()
		.map(|e| {
			let e = e?;
			Ok(format!("{}.{}", e.pallet_name(), e.event_name()))
		})
		.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_chain_produces_blocks_and_includes_signed_extrinsics() -> Result<()> {
	let mut node = Node::start("dev", &["--dev", "--tmp", "--dev-block-time", "500"])?;
	let api = node.client(START).await?;

	// Blocks are produced without any prompting.
	let first = best_number(&api).await?;
	let reached = wait_for("three more blocks", Duration::from_secs(30), || async {
		let n = best_number(&api).await?;
		Ok((n >= first + 3).then_some(n))
	})
	.await?;
	assert!(reached >= first + 3);

	// A generic client reads `System.Number` from storage using metadata alone.
	let at = api.at_current_block().await?;
	let number: u32 =
		at.storage().fetch(dynamic::storage::<(), u32>("System", "Number"), ()).await?.decode()?;
	assert_eq!(u64::from(number), at.block_number());

	// The Gauntlet runtime API answers on the running node: the genesis run configuration.
	let run_config = at
		.runtime_apis()
		.call(dynamic::runtime_api_call::<_, dynamic::Value>("GauntletApi", "run_config", ()))
		.await
		.context("GauntletApi.run_config")?;
	assert_eq!(
		run_config.at("blocks_per_window").and_then(|v| v.as_u128()),
		Some(10),
		"run config: {run_config}"
	);

	// A signed extrinsic from Alice is included (and finalised: dev blocks are final at once).
	let remark = dynamic::transaction("System", "remark_with_event", (b"gauntlet".to_vec(),));
	let events = submit(&api, &remark).await?;
	assert!(events.iter().any(|e| e == "System.Remarked"), "events: {events:?}\n{}", node.log());

	// The runtime has pallet-gauntlet under the name `Gauntlet`: register as a miner (peer id and
	// one multiaddr, deposit held), then commit for the current window. The window can roll over
	// between reading it and inclusion, so try a few times.
	let register = dynamic::transaction(
		"Gauntlet",
		"register",
		(b"12D3KooWtestpeer".to_vec(), vec![b"/ip4/127.0.0.1/tcp/40000".to_vec()]),
	);
	let events = submit(&api, &register).await?;
	assert!(events.iter().any(|e| e == "Gauntlet.MinerRegistered"), "events: {events:?}");
	let per_window: u32 = api
		.at_current_block()
		.await?
		.storage()
		.fetch(dynamic::storage::<(), u32>("Gauntlet", "BlocksPerWindow"), ())
		.await?
		.decode()
		.context("Gauntlet.BlocksPerWindow")?;
	let mut committed = None;
	for _ in 0..3 {
		let window = (best_number(&api).await? + 1) / u64::from(per_window);
		let commit = dynamic::transaction("Gauntlet", "commit", (window, [9u8; 32], 4096u64));
		match submit(&api, &commit).await {
			Ok(events) => {
				committed = Some(events);
				break;
			}
			Err(e) => eprintln!("commit for window {window} failed, retrying: {e}"),
		}
	}
	let events = committed.context("Gauntlet.commit never succeeded")?;
	assert!(events.iter().any(|e| e == "Gauntlet.Committed"), "events: {events:?}");

	let status = node.shutdown(Duration::from_secs(30))?;
	assert!(status.success(), "node exited with {status} after SIGINT");
	Ok(())
}

/// Two transactions of one account in flight at once (a miner's commit while its checkpoint
/// announcement is pending) take consecutive nonces and both land: the chain's nonce alone does
/// not count the pool, and a shared one made the second "priority too low" on a GPU run.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_transactions_of_one_account_all_land() -> Result<()> {
	use gauntlet_chain::{GauntletClient, Signer};
	let mut node = Node::start("nonces", &["--dev", "--tmp", "--dev-block-time", "500"])?;
	node.client(START).await?;
	let client = GauntletClient::connect(&node.ws_url()).await?;
	let alice = Signer::from_uri("//Alice")?;
	let validators: Vec<_> = ["//Bob", "//Charlie", "//Dave"]
		.iter()
		.map(|s| Signer::from_uri(s).map(|s| s.account_id()))
		.collect::<Result<_, _>>()?;
	let (a, b, c) = tokio::join!(
		client.sudo_add_validator(&alice, &validators[0]),
		client.sudo_add_validator(&alice, &validators[1]),
		client.sudo_add_validator(&alice, &validators[2]),
	);
	a.context("first")?;
	b.context("second")?;
	c.context("third")?;
	let mut on_chain = client.validators().await?;
	on_chain.sort();
	let mut want = validators.clone();
	want.sort();
	assert_eq!(on_chain, want);
	node.shutdown(Duration::from_secs(30))?;
	Ok(())
}
