//! Faults a live run survives, with the real node and trainer processes:
//! - a miner killed with SIGKILL mid-window: the window still closes, the others go on;
//! - the same miner restarted on its state directory: it catches up to the global weights;
//! - a miner that joins late with an empty state directory: it loads a checkpoint another miner
//!   announced on chain, fetched over libp2p, and replays the aggregates since;
//! - the node stopped and restarted on its database: the history is intact and the miners,
//!   which reconnect by themselves, keep committing.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use gauntlet_chain::{AccountId, GauntletClient, Signer};
use gauntlet_e2e::{free_port, wait_for, Node, TestDir, Trainer};

const WINDOW: Duration = Duration::from_secs(20);

async fn committed(client: &GauntletClient, window: u64, miner: &AccountId) -> Result<bool> {
	Ok(client
		.window_record(window)
		.await?
		.is_some_and(|r| r.commitments.iter().any(|c| &c.miner == miner)))
}

/// Waits until `trainer` and `reference` journal the same global weights for a window ≥ `from`.
async fn wait_in_sync(trainer: &Trainer, reference: &Trainer, from: u64) -> Result<u64> {
	wait_for("the restarted miner to reach the global weights", WINDOW * 8, || {
		let found = trainer.check_running().map(|()| {
			trainer
				.journal()
				.iter()
				.filter_map(|e| e["window"].as_u64())
				.filter(|w| *w >= from)
				.find(|w| {
					trainer.global_weights(*w).is_some()
						&& trainer.global_weights(*w) == reference.global_weights(*w)
				})
		});
		async move { found }
	})
	.await
}

#[tokio::test(flavor = "multi_thread")]
async fn miners_survive_kills_late_joins_and_node_restarts() -> Result<()> {
	let mut dir = TestDir::new("faults")?;
	let base_path = dir.path().join("node");
	let base = base_path.display().to_string();
	let (rpc, p2p) = (free_port()?, free_port()?);
	let node_args = ["--dev", "--base-path", base.as_str(), "--dev-block-time", "2000"];
	let mut node = Node::start_on("faults", &node_args, rpc, p2p)?;
	node.client(Duration::from_secs(90)).await?;
	let url = node.ws_url();
	let client = GauntletClient::connect(&url).await?;
	let alice = Signer::from_uri("//Alice")?;
	client.sudo_add_validator(&alice, &alice.account_id()).await?;

	let every = ["--checkpoint-every", "2"];
	let bob = Trainer::start("miner", &url, "//Bob", dir.path(), &every)?;
	let mut charlie = Trainer::start("miner", &url, "//Charlie", dir.path(), &every)?;
	let validator = Trainer::start("validator", &url, "//Alice", dir.path(), &[])?;
	let bob_id = Signer::from_uri("//Bob")?.account_id();
	let charlie_id = Signer::from_uri("//Charlie")?.account_id();

	// Both miners commit; then Charlie dies mid-window.
	let both = wait_for("both miners to commit", WINDOW * 8, || async {
		bob.check_running()?;
		charlie.check_running()?;
		let w = client.head().await?.window;
		Ok((committed(&client, w, &bob_id).await? && committed(&client, w, &charlie_id).await?)
			.then_some(w))
	})
	.await?;
	charlie.kill()?;
	let killed_in = client.head().await?.window;

	// The window after the kill closes with Bob's commitment rated; Bob keeps committing.
	let after = killed_in + 1;
	wait_for("the window after the kill to close", WINDOW * 5, || async {
		bob.check_running()?;
		validator.check_running()?;
		Ok(client.window_record(after).await?.is_some_and(|r| r.ranking.is_some()).then_some(()))
	})
	.await?;
	ensure!(committed(&client, after, &bob_id).await?, "Bob stopped committing after the kill");
	ensure!(!committed(&client, after, &charlie_id).await?, "a killed miner committed");

	// Charlie restarts on its state directory and catches up.
	charlie.restart()?;
	let caught_up = wait_in_sync(&charlie, &bob, after + 1).await?;
	let back = wait_for("Charlie to commit again", WINDOW * 4, || async {
		charlie.check_running()?;
		let w = client.head().await?.window;
		Ok(committed(&client, w, &charlie_id).await?.then_some(w))
	})
	.await?;

	// A late joiner with nothing on disk: a peer checkpoint plus replay.
	let dave = Trainer::start("miner", &url, "//Dave", dir.path(), &every)?;
	let joined = wait_in_sync(&dave, &bob, back).await?;
	let dave_log = std::fs::read_to_string(dir.path().join("miner-dave.log")).unwrap_or_default();
	ensure!(
		dave_log.contains("loaded a peer checkpoint"),
		"Dave did not start from a peer checkpoint"
	);

	// The node stops and comes back on its database, on the same ports.
	let before_restart = client.head().await?;
	let kept = client.window_record(both).await?.context("record before the restart")?;
	node.shutdown(Duration::from_secs(30))?;
	tokio::time::sleep(Duration::from_secs(5)).await;
	let mut node = Node::start_on("faults-restarted", &node_args, rpc, p2p)?;
	node.client(Duration::from_secs(90)).await?;
	let client = GauntletClient::connect(&url).await?;
	let head = client.head().await?;
	ensure!(
		head.block >= before_restart.block,
		"the chain went back: {head:?} < {before_restart:?}"
	);
	ensure!(
		client.window_record(both).await?.as_ref() == Some(&kept),
		"window {both}'s record changed across the restart"
	);
	let resumed = wait_for("every miner to commit after the node restart", WINDOW * 6, || async {
		for t in [&bob, &charlie, &dave] {
			t.check_running()?;
		}
		let w = client.head().await?.window;
		if w <= head.window {
			return Ok(None);
		}
		let dave_id = Signer::from_uri("//Dave")?.account_id();
		let all = committed(&client, w, &bob_id).await?
			&& committed(&client, w, &charlie_id).await?
			&& committed(&client, w, &dave_id).await?;
		Ok(all.then_some(w))
	})
	.await?;
	eprintln!(
		"killed in window {killed_in}, caught up at {caught_up}, late joiner in sync at {joined}, \
		 all committing again at {resumed}"
	);

	drop((bob, charlie, dave, validator));
	node.shutdown(Duration::from_secs(30))?;
	dir.pass();
	Ok(())
}
