//! The Gauntlet's point: honest miners and five kinds of adversary on one live chain, every one
//! a real `gauntlet-trainer miner` process. After `WINDOWS` rated windows every honest miner
//! ranks above every adversary on the chain's leaderboard, the copier is flagged, and no
//! adversary holds any final weight.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use gauntlet_chain::{GauntletClient, Signer};
use gauntlet_e2e::{wait_for, Node, TestDir, Trainer};

/// Rated windows before the verdict. The stale miner replays its first contribution, which is
/// `MAX_STEPS_BEHIND` (5) windows old, so sync-score 0, from its sixth window on.
const WINDOWS: u64 = 9;

#[tokio::test(flavor = "multi_thread")]
async fn honest_miners_outrank_every_adversary() -> Result<()> {
	let mut dir = TestDir::new("adversaries")?;
	// 25 s windows: on two cores eight miners and the validator share the CPU, and with 20 s the
	// validator's evaluation of eight contributions (17–22 s measured) missed the scoring
	// deadline in most windows.
	let mut node = Node::start("adversaries", &["--dev", "--tmp", "--dev-block-time", "2500"])?;
	node.client(Duration::from_secs(90)).await?;
	let url = node.ws_url();
	let client = GauntletClient::connect(&url).await?;
	let alice = Signer::from_uri("//Alice")?;
	client.sudo_add_validator(&alice, &alice.account_id()).await?;

	let honest = ["//Bob", "//Charlie", "//Dave"];
	let bob = Signer::from_uri("//Bob")?.account_id().to_string();
	let adversaries: [(&str, Vec<&str>); 5] = [
		("//Eve", vec!["--behaviour", "noise"]),
		("//Ferdie", vec!["--behaviour", "zero"]),
		("//Alice//stash", vec!["--behaviour", "copy", "--copy-from", bob.as_str()]),
		("//Bob//stash", vec!["--behaviour", "stale"]),
		("//Charlie//stash", vec!["--behaviour", "wrong-data"]),
	];
	let mut trainers = Vec::new();
	for suri in honest {
		trainers.push(Trainer::start("miner", &url, suri, dir.path(), &[])?);
	}
	for (suri, extra) in &adversaries {
		trainers.push(Trainer::start("miner", &url, suri, dir.path(), extra)?);
	}
	trainers.push(Trainer::start("validator", &url, "//Alice", dir.path(), &[])?);
	let account = |suri: &str| Signer::from_uri(suri).map(|s| s.account_id());
	let honest_ids = honest.iter().map(|s| account(s)).collect::<Result<Vec<_>, _>>()?;
	let adversary_ids =
		adversaries.iter().map(|(s, _)| account(s)).collect::<Result<Vec<_>, _>>()?;
	let copier = adversary_ids[2];

	let start = client.head().await?.window;
	let last = start + WINDOWS + 1;
	wait_for("the last window to close", Duration::from_secs(40 * (WINDOWS + 4)), || async {
		for t in &trainers {
			t.check_running()?;
		}
		let closed = client.window_record(last).await?.is_some_and(|r| r.ranking.is_some());
		Ok(closed.then_some(()))
	})
	.await?;

	// The copier is flagged in every window where it managed to copy.
	let mut copied_windows = 0;
	for w in start..=last {
		let record = client.window_record(w).await?.context("window record")?;
		if let Some(entry) = record.ranking.iter().flatten().find(|e| e.miner == copier) {
			ensure!(entry.copy_flags > 0, "window {w}: the copy was not flagged: {entry:?}");
			copied_windows += 1;
		}
		if let Some(bob_entry) =
			record.ranking.iter().flatten().find(|e| e.miner.to_string() == bob)
		{
			ensure!(
				bob_entry.copy_flags == 0,
				"window {w}: the original was flagged: {bob_entry:?}"
			);
		}
	}
	ensure!(copied_windows >= 3, "the copier committed in only {copied_windows} windows");

	let board = client.leaderboard().await?;
	let position = |id| board.iter().position(|r| &r.miner == id);
	let summary: Vec<String> = board
		.iter()
		.map(|r| {
			format!(
				"{} w={:.4} ord={:.2} ma={:.3} sync={:.2}",
				r.miner, r.final_weight, r.ordinal, r.binary_ma, r.sync
			)
		})
		.collect();
	let worst_honest = honest_ids
		.iter()
		.map(|h| position(h).context("honest miner missing"))
		.collect::<Result<Vec<_>>>()?;
	for (id, (suri, _)) in adversary_ids.iter().zip(&adversaries) {
		let p = position(id).with_context(|| format!("{suri} missing"))?;
		ensure!(
			worst_honest.iter().all(|h| *h < p),
			"{suri} ranks at {p}, above an honest miner:\n{}",
			summary.join("\n")
		);
		ensure!(board[p].final_weight == 0.0, "{suri} holds weight:\n{}", summary.join("\n"));
	}
	for h in &honest_ids {
		let row = &board[position(h).context("honest")?];
		ensure!(row.final_weight > 0.0, "honest {h} has no weight:\n{}", summary.join("\n"));
	}

	drop(trainers);
	node.shutdown(Duration::from_secs(30))?;
	dir.pass();
	Ok(())
}
