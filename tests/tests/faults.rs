//! Faults a live run survives, with the real node and trainer processes:
//! - a miner killed with SIGKILL mid-window: the window still closes, the others go on;
//! - a miner killed with SIGKILL just after its commit landed and restarted in the same window:
//!   it serves the committed bytes instead of training the window again (which would replace
//!   them), its contribution is scored, and it keeps the global weights;
//! - the same miner restarted on its state directory: it catches up to the global weights;
//! - a miner that joins late with an empty state directory: it loads a checkpoint another miner
//!   announced on chain, fetched over libp2p, and replays the aggregates since;
//! - the node killed with SIGKILL in the middle of a window and restarted on its database: every
//!   closed window's record (commitments, scores, aggregation set, ranking) and every miner's
//!   rating history are as before; afterwards the miners, which reconnect by themselves, commit,
//!   the validator's scores close a window, and every miner holds the same θ (the validator's θ
//!   splits earlier in this scenario, see below).

use std::time::Duration;

use anyhow::{ensure, Result};
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
	let mut bob = Trainer::start("miner", &url, "//Bob", dir.path(), &every)?;
	let mut charlie = Trainer::start("miner", &url, "//Charlie", dir.path(), &every)?;
	let validator = Trainer::start("validator", &url, "//Alice", dir.path(), &[])?;
	let bob_id = Signer::from_uri("//Bob")?.account_id();
	let charlie_id = Signer::from_uri("//Charlie")?.account_id();

	// Both miners commit, early enough in a window to restart within it; then Charlie dies,
	// and Bob is killed and restarted at once, right after its commit landed.
	let blocks_per_window = u64::from(client.head().await?.blocks_per_window);
	let both = wait_for("both miners to commit", WINDOW * 8, || async {
		bob.check_running()?;
		charlie.check_running()?;
		let head = client.head().await?;
		let early = head.block % blocks_per_window < blocks_per_window / 2;
		let w = head.window;
		Ok((early
			&& committed(&client, w, &bob_id).await?
			&& committed(&client, w, &charlie_id).await?)
			.then_some(w))
	})
	.await?;
	charlie.kill()?;
	bob.restart()?;
	let killed_in = client.head().await?.window;
	ensure!(killed_in == both, "the window ended before Bob's restart ({both} → {killed_in})");

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
	// Bob, restarted in the window it had committed in, served those bytes (no retraining) and
	// the validator scored them.
	let bob_entry = bob.journal().into_iter().find(|e| e["window"].as_u64() == Some(both));
	let note = bob_entry.as_ref().and_then(|e| e["note"].as_str()).unwrap_or_default();
	ensure!(
		note.starts_with("committed before a restart"),
		"Bob's journal for window {both} does not show the resumed commit: {bob_entry:?}"
	);
	let scored = wait_for("Bob's resumed window to close", WINDOW * 3, || async {
		Ok(client.window_record(both).await?.and_then(|r| r.ranking))
	})
	.await?;
	ensure!(
		scored.iter().any(|e| e.miner == bob_id && e.validators > 0 && e.failures == 0),
		"Bob's contribution of window {both}, committed before its restart, was not scored: \
		 {scored:?}"
	);

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

	// The node dies (SIGKILL) in the middle of a window and comes back on its database, on the
	// same ports.
	let before_kill = wait_for("the middle of a window", WINDOW * 2, || async {
		let head = client.head().await?;
		let into = head.block % blocks_per_window;
		Ok((into >= blocks_per_window / 3 && into < 2 * blocks_per_window / 3).then_some(head))
	})
	.await?;
	// Everything closed so far: window records and every miner's rating history.
	let closed_to = before_kill.window.saturating_sub(2);
	ensure!(both <= closed_to, "window {both}, where both miners committed, is not closed yet");
	let mut records = Vec::new();
	for w in 0..=closed_to {
		records.push(client.window_record(w).await?);
	}
	ensure!(
		records.iter().flatten().any(|r| r.ranking.as_ref().is_some_and(|r| !r.is_empty())),
		"no ranked window before the kill: nothing would be compared"
	);
	let dave_id = Signer::from_uri("//Dave")?.account_id();
	let miners = [bob_id, charlie_id, dave_id];
	let mut histories = Vec::new();
	for m in &miners {
		histories.push(client.rating_history(m, 0, closed_to).await?);
	}
	ensure!(histories.iter().any(|h| !h.is_empty()), "no rating history before the kill");
	node.kill()?;
	tokio::time::sleep(Duration::from_secs(3)).await;
	let mut node = Node::start_on("faults-restarted", &node_args, rpc, p2p)?;
	node.client(Duration::from_secs(90)).await?;
	let client = GauntletClient::connect(&url).await?;
	let head = client.head().await?;
	ensure!(
		head.block >= before_kill.block,
		"the chain went back across the SIGKILL: {head:?} < {before_kill:?}"
	);
	for (w, before) in (0..=closed_to).zip(&records) {
		ensure!(
			&client.window_record(w).await? == before,
			"window {w}'s record changed across the SIGKILL"
		);
	}
	for (m, before) in miners.iter().zip(&histories) {
		ensure!(
			&client.rating_history(m, 0, closed_to).await? == before,
			"{m}'s rating history changed across the SIGKILL"
		);
	}
	let resumed = wait_for("every miner to commit after the node restart", WINDOW * 6, || async {
		for t in [&bob, &charlie, &dave] {
			t.check_running()?;
		}
		let w = client.head().await?.window;
		if w <= head.window {
			return Ok(None);
		}
		let mut all = true;
		for m in &miners {
			all &= committed(&client, w, m).await?;
		}
		Ok(all.then_some(w))
	})
	.await?;
	// The validator scores that window: its close ranks all three miners.
	wait_for("the validator's scores to close a window after the restart", WINDOW * 4, || async {
		validator.check_running()?;
		let ranking = client.window_record(resumed).await?.and_then(|r| r.ranking);
		Ok(ranking.filter(|r| r.len() == miners.len() && r.iter().all(|e| e.validators > 0)))
	})
	.await?;
	// θ after the restart: the same on every miner. The validator is not compared: in this
	// scenario it leaves a set member out of window 0's aggregate ("not fetched within 6s" while
	// the miners are still starting) and holds another θ from window 1 on, before any kill;
	// unlike a miner it has no repair path yet (issue 19, θ anchored on chain). Its hash is
	// printed so the split stays visible.
	let theta_window = resumed + 1;
	let same = wait_for("every miner to journal θ after the restart", WINDOW * 4, || async {
		let hashes: Vec<Option<String>> =
			[&bob, &charlie, &dave].iter().map(|t| t.global_weights(theta_window)).collect();
		Ok(hashes.iter().all(Option::is_some).then_some(hashes))
	})
	.await?;
	ensure!(
		same.windows(2).all(|p| p[0] == p[1]),
		"θ of window {theta_window} differs between miners after the restart: {same:?}"
	);
	eprintln!(
		"θ of window {theta_window}: miners {:?}, validator {:?}",
		same[0],
		validator.global_weights(theta_window)
	);
	eprintln!(
		"killed in window {killed_in}, caught up at {caught_up}, late joiner in sync at {joined}, \
		 node killed at block {} (window {}), all committing again at {resumed}, θ equal at \
		 {theta_window}",
		before_kill.block, before_kill.window
	);

	drop((bob, charlie, dave, validator));
	node.shutdown(Duration::from_secs(30))?;
	dir.pass();
	Ok(())
}
