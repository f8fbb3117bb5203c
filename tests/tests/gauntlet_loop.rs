//! The whole Gauntlet loop on a live dev chain: the real `gauntlet-node`, three honest
//! `gauntlet-trainer miner` processes and one `gauntlet-trainer validator`, talking libp2p over
//! loopback. After several windows: every miner's commitments and the validator's scores are on
//! chain, ratings moved, and the miners' global weights are bit-identical window by window.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use gauntlet_chain::{GauntletClient, Signer};
use gauntlet_e2e::{free_port, wait_for, Node, TestDir, Trainer};

/// Windows every assertion covers once the first full window has passed.
const WINDOWS: u64 = 4;

#[tokio::test(flavor = "multi_thread")]
async fn honest_miners_and_a_validator_train_score_and_stay_in_sync() -> Result<()> {
	let mut dir = TestDir::new("loop")?;
	let mut node = Node::start("loop", &["--dev", "--tmp", "--dev-block-time", "2000"])?;
	node.client(Duration::from_secs(90)).await?;
	let url = node.ws_url();
	let client = GauntletClient::connect(&url).await?;
	let alice = Signer::from_uri("//Alice")?;
	client.sudo_add_validator(&alice, &alice.account_id()).await?;

	let miners = ["//Bob", "//Charlie", "//Dave"];
	let metrics_addr = format!("127.0.0.1:{}", free_port()?);
	let mut trainers: Vec<Trainer> = miners
		.iter()
		.map(|suri| {
			let extra: &[&str] =
				if *suri == "//Bob" { &["--metrics-addr", &metrics_addr] } else { &[] };
			Trainer::start("miner", &url, suri, dir.path(), extra)
		})
		.collect::<Result<_>>()?;
	trainers.push(Trainer::start("validator", &url, "//Alice", dir.path(), &[])?);
	let accounts: Vec<_> = miners
		.iter()
		.map(|s| Signer::from_uri(s).map(|s| s.account_id()))
		.collect::<Result<_, _>>()?;

	// The first window every miner committed in, then WINDOWS more, closed (rated at W+3).
	let first = wait_for("every miner's first commitment", Duration::from_secs(240), || async {
		for t in &trainers {
			t.check_running()?;
		}
		let head = client.head().await?.window;
		for w in head.saturating_sub(3)..=head {
			if let Some(r) = client.window_record(w).await? {
				if accounts.iter().all(|a| r.commitments.iter().any(|c| &c.miner == a)) {
					return Ok(Some(w));
				}
			}
		}
		Ok(None)
	})
	.await?;
	let last = first + WINDOWS;
	wait_for("the last window to close", Duration::from_secs(60 * (WINDOWS + 3)), || async {
		for t in &trainers {
			t.check_running()?;
		}
		let closed = client.window_record(last).await?.is_some_and(|r| r.ranking.is_some());
		Ok(closed.then_some(()))
	})
	.await?;

	for w in first..=last {
		let record = client.window_record(w).await?.context("window record")?;
		for (a, suri) in accounts.iter().zip(miners) {
			ensure!(
				record.commitments.iter().any(|c| &c.miner == a),
				"{suri} did not commit in window {w}:\n{}",
				trainers
					.iter()
					.find(|t| t.suri == suri)
					.map(|t| t.log_tail(30))
					.unwrap_or_default()
			);
		}
		let scores = record
			.scores
			.iter()
			.find(|s| s.validator == alice.account_id())
			.with_context(|| format!("no scores from the validator for window {w}"))?;
		for a in &accounts {
			let s = scores.scores.iter().find(|s| &s.miner == a).context("miner not scored")?;
			ensure!(s.score.failure.is_none(), "window {w}: {a} scored as a failure: {s:?}");
			ensure!(!s.score.copy_suspected, "window {w}: honest {a} flagged as a copy");
			ensure!(s.score.sync_score == 1.0, "window {w}: {a} out of sync: {s:?}");
		}
		let set = record.aggregation_set.context("aggregation set")?;
		ensure!(accounts.iter().all(|a| set.contains(a)), "window {w}: set {set:?}");
	}

	let board = client.leaderboard().await?;
	for a in &accounts {
		let row = board.iter().find(|r| &r.miner == a).context("miner on the leaderboard")?;
		ensure!(row.mu != 25.0 && row.sigma < 25.0 / 3.0, "ratings did not move for {a}: {row:?}");
	}

	// θ of every window from `first + 1` on is the same bit for bit in every miner (and the
	// validator), and it changes from window to window: the aggregates are applied.
	let mut hashes = Vec::new();
	for w in first + 1..=last {
		let all: Vec<Option<String>> = trainers.iter().map(|t| t.global_weights(w)).collect();
		let reference =
			all[0].clone().with_context(|| format!("no journal entry for window {w}"))?;
		ensure!(
			all.iter().all(|h| h.as_deref() == Some(reference.as_str())),
			"window {w}: global weights differ across peers: {all:?}"
		);
		hashes.push(reference);
	}
	hashes.dedup();
	ensure!(
		hashes.len() as u64 == WINDOWS,
		"global weights did not change every window: {hashes:?}"
	);

	// Bob's Prometheus endpoint: training, phases and p2p traffic.
	let metrics = scrape(&metrics_addr).await?;
	for name in [
		"gauntlet_train_loss",
		"gauntlet_tokens_per_second",
		"gauntlet_phase_seconds_bucket{phase=\"train\"",
		"gauntlet_windows_done_total",
		"gauntlet_final_weight",
	] {
		ensure!(metrics.contains(name), "{name} missing from Bob's metrics:\n{metrics}");
	}
	ensure!(metrics.contains("p2p"), "no p2p metrics in Bob's endpoint:\n{metrics}");

	drop(trainers);
	node.shutdown(Duration::from_secs(30))?;
	dir.pass();
	Ok(())
}

/// `GET /metrics` over a plain TCP connection (HTTP/1.0: the server closes when done).
async fn scrape(addr: &str) -> Result<String> {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let mut stream = tokio::net::TcpStream::connect(addr).await?;
	stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await?;
	let mut body = String::new();
	stream.read_to_string(&mut body).await?;
	ensure!(body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"), "{body}");
	Ok(body)
}
