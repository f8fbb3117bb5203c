//! A generic client that knows nothing of this chain (py-substrate-interface, from metadata alone)
//! reads a `gauntlet-node --dev` chain filled with commitments and scores: it decodes every closed
//! window's ranking (`Gauntlet.Rankings`), the rating snapshots (`Gauntlet.RatingHistory`) and the
//! runtime call `GauntletApi_leaderboard` to the same numbers `gauntlet-audit --format json`
//! prints, and gets a signed extrinsic included.

use anyhow::{ensure, Context, Result};
use gauntlet_chain::{
	types::{EvaluationLosses, MinerScore},
	AccountId, GauntletClient, SealedScores, Signer, Window,
};
use gauntlet_e2e::{binary, wait_for, Node};
use serde_json::Value;
use std::{
	collections::BTreeMap,
	path::Path,
	process::{Command, Stdio},
	time::{Duration, Instant},
};
use tokio::task::JoinSet;

/// Windows with commitments; each is scored in the next and closed two later.
const FILLED_WINDOWS: u64 = 2;
/// Largest difference allowed between a number the generic client decoded and the auditor's:
/// both divide the same integer once (I64F64 by 2⁶⁴, FixedI64 and Perbill by 10⁹), so only the
/// JSON round trips may differ, by an ulp.
const TOLERANCE: f64 = 1e-12;

/// The score the validator gives miner `m` in the `round`-th filled window: distinct scores, so
/// the ranking is 1, 2, 3; in the second window the third miner's payload is flagged as copied
/// (ranked with the worst score, −1000.000000001).
fn score_of(m: usize, round: u64) -> MinerScore {
	MinerScore {
		gradient_score: 0.3 - 0.1 * m as f64 + 0.01 * round as f64,
		own_improvement: 0.35 - 0.05 * m as f64,
		binary_indicator: if m == 1 { -1 } else { 1 },
		sync_score: 1.0 - 0.2 * m as f64,
		copy_suspected: m == 2 && round == 1,
		failure: None,
		losses: EvaluationLosses {
			own_before: 5.0,
			own_after: 4.0 + 0.1 * m as f64,
			random_before: 5.0,
			random_after: 4.5 + 0.1 * m as f64,
		},
	}
}

/// Wait for the first block of a window after `after`, and return that window.
async fn next_window(client: &GauntletClient, after: Window) -> Result<Window> {
	wait_for("the next window", Duration::from_secs(60), || async {
		let head = client.head().await?;
		Ok((head.window > after).then_some(head.window))
	})
	.await
}

/// Fills the chain through extrinsics alone (as `dashboard.rs` does, smaller): Bob validates,
/// Dave, Eve and Ferdie commit in [`FILLED_WINDOWS`] windows, Bob scores each in the next; returns
/// once the last scored window is closed, with the miners and who committed in each scored window.
async fn fill(client: &GauntletClient) -> Result<(Vec<Signer>, BTreeMap<Window, Vec<AccountId>>)> {
	let validator = Signer::from_uri("//Bob")?;
	client
		.sudo_add_validator(&Signer::from_uri("//Alice")?, &validator.account_id())
		.await
		.context("add_validator")?;
	let miners: Vec<Signer> = ["Dave", "Eve", "Ferdie"]
		.iter()
		.map(|name| Signer::from_uri(&format!("//{name}")))
		.collect::<Result<_, _>>()?;
	let mut tasks = JoinSet::new();
	for (m, signer) in miners.iter().enumerate() {
		let (client, signer) = (client.clone(), signer.clone());
		tasks.spawn(async move {
			let peer = format!("12D3KooWMiner{m}");
			client.register(&signer, peer.as_bytes(), &[b"/ip4/127.0.0.1/tcp/40000".to_vec()]).await
		});
	}
	while let Some(joined) = tasks.join_next().await {
		joined?.context("register")?;
	}

	let mut window = client.head().await?.window;
	let mut committed: BTreeMap<Window, Vec<AccountId>> = BTreeMap::new();
	let mut sealed: BTreeMap<Window, SealedScores> = BTreeMap::new();
	let mut scored = BTreeMap::new();
	// Commitments, then a window later score commitments, then a window later their reveals.
	for round in 0..=FILLED_WINDOWS + 1 {
		window = next_window(client, window).await?;
		// This window's commitments (`Some(miner)`) and the previous window's scores (`None`).
		let mut tasks = JoinSet::new();
		if round < FILLED_WINDOWS {
			for (m, signer) in miners.iter().enumerate() {
				let (client, signer) = (client.clone(), signer.clone());
				tasks.spawn(async move {
					let result = client.commit(&signer, window, [m as u8 + 1; 32], 4096).await;
					(Some(Some(signer.account_id())), result.map(drop))
				});
			}
		}
		let previous = window - 1;
		if let Some(who) = committed.get(&previous).cloned() {
			let scores: Vec<(AccountId, MinerScore)> = miners
				.iter()
				.enumerate()
				.filter(|(_, s)| who.contains(&s.account_id()))
				.map(|(m, s)| (s.account_id(), score_of(m, round - 1)))
				.collect();
			let seal = SealedScores::new(previous, validator.account_id(), [7; 32], scores)?;
			sealed.insert(previous, seal.clone());
			let (client, validator) = (client.clone(), validator.clone());
			tasks.spawn(
				async move { (None, client.commit_scores(&validator, &seal).await.map(drop)) },
			);
		}
		let revealed = window.checked_sub(2);
		if let Some(seal) = revealed.and_then(|w| sealed.remove(&w)) {
			let (client, validator) = (client.clone(), validator.clone());
			tasks.spawn(async move {
				(Some(None), client.reveal_scores(&validator, &seal).await.map(drop))
			});
		}
		let mut commits = Vec::new();
		while let Some(joined) = tasks.join_next().await {
			match joined? {
				(Some(Some(miner)), Ok(())) => commits.push(miner),
				(Some(None), Ok(())) => {
					let w = revealed.context("a reveal")?;
					scored.insert(w, committed[&w].clone());
				}
				(None, Ok(())) => {}
				// The window can end between reading it and inclusion: the test checks below
				// that enough got through.
				(_, Err(e)) => eprintln!("window {window}: {e}"),
			}
		}
		if !commits.is_empty() {
			committed.insert(window, commits);
		}
	}
	// Closed at the first block of the window three after.
	let last = *scored.keys().last().context("no window was scored")?;
	next_window(client, last + 2).await?;
	Ok((miners, scored))
}

/// `gauntlet-audit --node <node> <args> --format json`, parsed.
fn audit(node: &str, args: &[&str]) -> Result<Value> {
	let output = Command::new(binary("gauntlet-audit")?)
		.args(["--node", node, "--format", "json"])
		.args(args)
		.stdin(Stdio::null())
		.output()?;
	ensure!(
		output.status.success(),
		"gauntlet-audit {args:?}: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	serde_json::from_slice(&output.stdout).with_context(|| format!("gauntlet-audit {args:?}"))
}

/// Whether `client` and `audit` hold the same values (numbers within [`TOLERANCE`]); raises
/// `max_diff` to the largest difference between two numbers seen.
fn same(client: &Value, audit: &Value, max_diff: &mut f64) -> bool {
	match (client, audit) {
		(Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
			(Some(a), Some(b)) => {
				*max_diff = max_diff.max((a - b).abs());
				(a - b).abs() <= TOLERANCE
			}
			_ => false,
		},
		(Value::Array(a), Value::Array(b)) => {
			a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b, max_diff))
		}
		(Value::Object(a), Value::Object(b)) => {
			a.len() == b.len()
				&& a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, max_diff)))
		}
		_ => client == audit,
	}
}

/// `value` without the object keys `keys`.
fn without(value: &Value, keys: &[&str]) -> Value {
	let mut value = value.clone();
	if let Some(object) = value.as_object_mut() {
		for key in keys {
			object.remove(*key);
		}
	}
	value
}

#[tokio::test(flavor = "multi_thread")]
async fn py_substrate_interface_decodes_gauntlet_values_as_the_auditor_does() -> Result<()> {
	let started = Instant::now();
	let node = Node::start("generic", &["--dev", "--tmp", "--dev-block-time", "500"])?;
	let url = node.ws_url();
	let client = wait_for("the node's RPC", Duration::from_secs(90), || async {
		Ok(GauntletClient::connect(&url).await.ok())
	})
	.await?;
	let (miners, scored) = fill(&client).await.with_context(|| node.log())?;
	let committers: BTreeMap<&Window, usize> = scored.iter().map(|(w, c)| (w, c.len())).collect();
	eprintln!("scored windows (committers): {committers:?}, filled in {:?}", started.elapsed());

	// The runner's CARGO_MANIFEST_DIR first: a test binary reused from a shared target directory
	// may have been compiled in another checkout (measured: CI's clone, since deleted).
	let manifest_dir =
		std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
	let script = Path::new(&manifest_dir).join("clients/generic_client.py");
	// The project's venv (scripts/setup.sh) has substrate-interface.
	let python = std::env::var("GAUNTLET_VENV")
		.map(|venv| format!("{venv}/bin/python"))
		.unwrap_or_else(|_| "python3".into());
	let out = Command::new(python).arg(&script).arg(&url).output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "generic client failed: {stderr}\n{}", node.log());
	let report: Value =
		serde_json::from_slice(&out.stdout).context("generic client output is not JSON")?;
	assert!(report["system_number"].as_u64().context("System.Number")? >= 1);
	let pallets = report["pallets"].as_array().context("pallets")?;
	assert!(pallets.iter().any(|p| p == "Gauntlet"), "pallets: {pallets:?}");
	let storage = report["gauntlet_storage"].as_array().context("Gauntlet storage")?;
	for item in ["Rankings", "RatingHistory"] {
		assert!(storage.iter().any(|s| s == item), "{item} not in {storage:?}");
	}
	assert_eq!(report["remark_included"], true, "{report}");

	let mut max_diff = 0.0f64;
	// Every ranking the client decoded is the auditor's, and each scored window has one, of
	// every miner, in score order (the copy-flagged miner last).
	let rankings = report["rankings"].as_array().context("rankings")?;
	let accounts: Vec<String> = miners.iter().map(|s| s.account_id().to_string()).collect();
	let mut ranked = 0;
	for entry in rankings {
		let window = entry["window"].as_u64().context("ranking window")?;
		let ranking = entry["ranking"].as_array().context("ranking")?;
		if ranking.is_empty() {
			continue;
		}
		let record = audit(&url, &["window", &window.to_string()])?;
		assert!(
			same(&entry["ranking"], &record["ranking"], &mut max_diff),
			"window {window}: the generic client decoded {}\nthe auditor reads {}",
			entry["ranking"],
			record["ranking"]
		);
		ranked += 1;
	}
	for (window, committers) in &scored {
		let entry = rankings
			.iter()
			.find(|r| r["window"] == *window)
			.with_context(|| format!("no ranking of scored window {window} decoded"))?;
		let decoded: Vec<(&str, u64)> = entry["ranking"]
			.as_array()
			.into_iter()
			.flatten()
			.filter_map(|e| Some((e["miner"].as_str()?, e["rank"].as_u64()?)))
			.collect();
		// Scores fall with the miner's index, so the committers rank in that order.
		let expected: Vec<(&str, u64)> = miners
			.iter()
			.zip(&accounts)
			.filter(|(s, _)| committers.contains(&s.account_id()))
			.map(|(_, a)| a.as_str())
			.zip(1..)
			.collect();
		assert_eq!(decoded, expected, "window {window}: {entry}");
	}
	assert_eq!(ranked, scored.len(), "non-empty rankings: {rankings:?}");
	assert!(
		scored.values().any(|c| c.len() >= 2),
		"no window ranked two miners or more: {scored:?}"
	);

	// Every rating snapshot is the auditor's history entry of that miner and window.
	let history = report["rating_history"].as_array().context("rating history")?;
	let rated: usize = scored.values().map(Vec::len).sum();
	assert_eq!(history.len(), rated, "one snapshot per ranked miner: {history:?}");
	for account in &accounts {
		let decoded: Vec<Value> = history
			.iter()
			.filter(|s| s["miner"] == account.as_str())
			.map(|s| without(s, &["miner"]))
			.collect();
		let snapshots = audit(&url, &["history", "--miner", account, "--from", "0"])?;
		let snapshots = &snapshots["snapshots"];
		assert!(
			same(&Value::Array(decoded.clone()), snapshots, &mut max_diff),
			"{account}: the generic client decoded {decoded:?}\nthe auditor reads {snapshots}"
		);
	}

	// The runtime call decodes to the auditor's leaderboard (its rows less their trend lines).
	// Nothing is rated after the fill, so the board stays as the client read it.
	let board = audit(&url, &["leaderboard"])?;
	let rows: Vec<Value> = board["rows"]
		.as_array()
		.context("leaderboard rows")?
		.iter()
		.map(|r| without(r, &["trend"]))
		.collect();
	let decoded = report["leaderboard"].as_array().context("leaderboard")?;
	assert_eq!(decoded.len(), 3, "{decoded:?}");
	assert!(
		same(&report["leaderboard"], &Value::Array(rows.clone()), &mut max_diff),
		"the generic client decoded {decoded:?}\nthe auditor reads {rows:?}"
	);
	assert_eq!(decoded[0]["miner"], accounts[0].as_str(), "the best miner leads: {decoded:?}");
	eprintln!(
		"{ranked} rankings, {} snapshots and {} leaderboard rows decoded; largest difference \
		 from the auditor's numbers {max_diff:e}; {:?} in all",
		history.len(),
		decoded.len(),
		started.elapsed()
	);
	node.shutdown(Duration::from_secs(30))?;
	Ok(())
}
