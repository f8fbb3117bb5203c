//! Issue #8 end to end: a dev chain is filled with commitments and scores through the typed
//! chain client (`gauntlet-chain`), `gauntlet-audit serve` reads it, and headless Chromium loads
//! every page: the DOM holds the leaderboard rows, a rating chart with one point per closed
//! window, every validator's scores side by side; unknown miners and windows are 404 pages; an
//! open page (Chromium over WebDriver) follows new blocks without a reload, says so when the node
//! stops, and recovers when it returns. Screenshots are saved
//! under `$GAUNTLET_ARTIFACTS_DIR` (default `$CARGO_TARGET_DIR/gauntlet-artifacts`). The CLI's
//! JSON is checked against the API's, and its CSV and PNG outputs are produced.

use anyhow::{ensure, Context, Result};
use gauntlet_chain::{
	types::{EvaluationLosses, FailureReason, MinerScore},
	AccountId, ChainError, GauntletClient, SealedScores, Signer, Window,
};
use gauntlet_e2e::{binary, free_port, wait_for, Node};
use serde_json::Value;
use std::{
	collections::BTreeMap,
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	time::Duration,
};
use tokio::{
	io::{AsyncReadExt, AsyncWriteExt},
	net::TcpStream,
	task::JoinSet,
};

const START: Duration = Duration::from_secs(90);
/// Windows with commitments; each is scored in the next and closed two later.
const FILLED_WINDOWS: u64 = 4;

/// The dev chain, filled: who mines, who validates, what was committed when.
struct Filled {
	miners: Vec<(String, Signer)>,
	validators: Vec<Signer>,
	/// Window → miners that committed in it.
	committed: BTreeMap<Window, Vec<AccountId>>,
	/// Windows whose scores were submitted by both validators.
	scored: Vec<Window>,
	/// The window a validator announced a checkpoint in.
	checkpoint: Option<Window>,
}

/// The θ hash both validators report having evaluated against.
const THETA: [u8; 32] = [0x5a; 32];

/// The score `validator` (0 or 1) gives miner `m` (0, 1, 2) in `window`: miner 0 is good, miner
/// 1 is out of sync for validator 1, miner 2 gets a copy flag from validator 0 and a hash
/// mismatch from validator 1.
fn score_of(validator: usize, m: usize, window: Window) -> MinerScore {
	let jitter = (window % 3) as f64 * 0.01;
	let clean = MinerScore {
		gradient_score: 0.3 - 0.1 * m as f64 + jitter,
		own_improvement: 0.35 - 0.1 * m as f64,
		binary_indicator: 1,
		sync_score: 1.0,
		copy_suspected: false,
		failure: None,
		losses: EvaluationLosses {
			own_before: 5.0,
			own_after: 4.0,
			random_before: 5.0,
			random_after: 4.5 - 0.1 * m as f64,
		},
	};
	match (validator, m) {
		(1, 1) => MinerScore { sync_score: 0.4, ..clean },
		(0, 2) => MinerScore { copy_suspected: true, ..clean },
		(1, 2) => MinerScore { failure: Some(FailureReason::HashMismatch), ..clean },
		_ => clean,
	}
}

async fn connect(url: &str) -> Result<GauntletClient> {
	wait_for("the node's RPC", START, || async { Ok(GauntletClient::connect(url).await.ok()) })
		.await
}

/// Wait for the first block of a window after `after`, and return that window.
async fn next_window(client: &GauntletClient, after: Window) -> Result<Window> {
	wait_for("the next window", Duration::from_secs(60), || async {
		let head = client.head().await?;
		Ok((head.window > after).then_some(head.window))
	})
	.await
}

async fn fill(client: &GauntletClient) -> Result<Filled> {
	let sudo = Signer::from_uri("//Alice")?;
	let validators = vec![Signer::from_uri("//Bob")?, Signer::from_uri("//Charlie")?];
	for v in &validators {
		client.sudo_add_validator(&sudo, &v.account_id()).await.context("add_validator")?;
	}
	assert_eq!(client.validators().await?.len(), 2);
	let mut miners = Vec::new();
	for name in ["Dave", "Eve", "Ferdie"] {
		let signer = Signer::from_uri(&format!("//{name}"))?;
		let peer = format!("12D3KooW{name}");
		client
			.register(&signer, peer.as_bytes(), &[b"/ip4/127.0.0.1/tcp/40000".to_vec()])
			.await
			.with_context(|| format!("register {name}"))?;
		miners.push((name.to_string(), signer));
	}
	let dave = &miners[0].1;
	client
		.update_endpoint(dave, b"12D3KooWDave2", &[b"/ip4/127.0.0.1/tcp/40001".to_vec()])
		.await
		.context("update_endpoint")?;
	// Registering twice is a typed dispatch error that changes nothing.
	let again = client.register(&miners[0].1, b"12D3KooWDave", &[b"/ip4/1.2.3.4".to_vec()]).await;
	assert!(
		matches!(&again, Err(ChainError::Dispatch { error, .. }) if error.contains("AlreadyRegistered")),
		"{again:?}"
	);

	let mut filled = Filled {
		miners,
		validators,
		committed: BTreeMap::new(),
		scored: Vec::new(),
		checkpoint: None,
	};
	let mut window = client.head().await?.window;
	// Score commitments waiting for their reveal, by scored window.
	let mut sealed: BTreeMap<Window, Vec<SealedScores>> = BTreeMap::new();
	// FILLED_WINDOWS windows of commitments, then two more: the last window's score commitments,
	// then their reveals.
	for round in 0..=FILLED_WINDOWS + 1 {
		window = next_window(client, window).await?;
		let mut tasks = JoinSet::new();
		// This window's commitments (all in one block: separate accounts, separate nonces).
		if round < FILLED_WINDOWS {
			for (m, (_, signer)) in filled.miners.iter().enumerate() {
				let (client, signer) = (client.clone(), signer.clone());
				tasks.spawn(async move {
					let hash = [m as u8 + 1; 32];
					let result = client.commit(&signer, window, hash, 4096 + m as u64).await;
					(format!("commit {m}"), signer.account_id(), result)
				});
			}
		}
		// A validator announces a checkpoint in the first window (it submits no scores then).
		if round == 0 {
			let (client, signer) = (client.clone(), filled.validators[0].clone());
			tasks.spawn(async move {
				let result = client.announce_checkpoint(&signer, window, [9; 32], 1 << 20).await;
				("checkpoint".to_string(), signer.account_id(), result)
			});
		}
		// The previous window's scores, committed by both validators.
		let previous = window.checked_sub(1);
		let to_score = previous.and_then(|w| filled.committed.get(&w).cloned());
		if let (Some(prev), Some(committed)) = (previous, to_score) {
			for (v, signer) in filled.validators.iter().enumerate() {
				let scores: Vec<(AccountId, MinerScore)> = filled
					.miners
					.iter()
					.enumerate()
					.filter(|(_, (_, s))| committed.contains(&s.account_id()))
					.map(|(m, (_, s))| (s.account_id(), score_of(v, m, prev)))
					.collect();
				let seal = SealedScores::new(prev, signer.account_id(), THETA, scores)?;
				sealed.entry(prev).or_default().push(seal.clone());
				let (client, signer) = (client.clone(), signer.clone());
				tasks.spawn(async move {
					let result = client.commit_scores(&signer, &seal).await;
					(format!("score commitment {v}"), signer.account_id(), result)
				});
			}
		}
		// The scores committed a window ago, revealed.
		let revealing = window.checked_sub(2).and_then(|w| sealed.remove(&w));
		for seal in revealing.into_iter().flatten() {
			let client = client.clone();
			let signer = filled
				.validators
				.iter()
				.find(|v| v.account_id() == seal.validator)
				.context("sealed by a validator")?
				.clone();
			tasks.spawn(async move {
				let result = client.reveal_scores(&signer, &seal).await;
				("reveal".to_string(), signer.account_id(), result)
			});
		}
		let mut commits = Vec::new();
		let mut reveals_ok = 0;
		while let Some(joined) = tasks.join_next().await {
			let (what, who, result) = joined?;
			match result {
				Ok(_) if what.starts_with("commit") => commits.push(who),
				Ok(_) if what.starts_with("score commitment") => {}
				Ok(_) if what == "reveal" => reveals_ok += 1,
				Ok(_) => filled.checkpoint = Some(window),
				// The window can end between reading it and inclusion: try again next window.
				Err(e) => eprintln!("window {window}: {what} failed: {e}"),
			}
		}
		if !commits.is_empty() {
			filled.committed.insert(window, commits);
		}
		if reveals_ok == filled.validators.len() {
			filled.scored.push(window - 2);
		}
	}
	ensure!(filled.scored.len() >= 3, "too few windows scored: {:?}", filled.scored);
	// Wait until the last scored window is closed (first block of window + 3).
	let last = *filled.scored.last().context("no window scored")?;
	next_window(client, last + 2).await?;
	Ok(filled)
}

// --- HTTP and Chromium -----------------------------------------------------------------------

/// GET `path` from the dashboard: (status code, body).
async fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
	http(port, "GET", path, None).await
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection: (status code, body).
async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, String)> {
	tokio::time::timeout(Duration::from_secs(60), http_once(port, method, path, body))
		.await
		.with_context(|| format!("{method} {path}: no answer within 60 s"))?
}

async fn http_once(
	port: u16,
	method: &str,
	path: &str,
	body: Option<&Value>,
) -> Result<(u16, String)> {
	let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
	let body = body.map(Value::to_string).unwrap_or_default();
	let request = format!(
		"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
		 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(request.as_bytes()).await?;
	// Read the headers, then exactly Content-Length bytes (or to the end without one).
	let mut response = Vec::new();
	let mut chunk = [0u8; 8192];
	loop {
		let text = String::from_utf8_lossy(&response);
		if let Some((head, rest)) = text.split_once("\r\n\r\n") {
			let length = head.lines().find_map(|l| {
				let (name, value) = l.split_once(':')?;
				name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
			});
			if length.is_some_and(|n: usize| rest.len() >= n) {
				break;
			}
		}
		let n = stream.read(&mut chunk).await?;
		if n == 0 {
			break;
		}
		response.extend_from_slice(&chunk[..n]);
	}
	let text = String::from_utf8_lossy(&response).into_owned();
	let (head, body) = text.split_once("\r\n\r\n").context("no end of headers")?;
	let status = head
		.split_whitespace()
		.nth(1)
		.and_then(|s| s.parse().ok())
		.with_context(|| format!("bad status line in {head:?}"))?;
	Ok((status, body.to_string()))
}

async fn api(port: u16, path: &str) -> Result<Value> {
	let (status, body) = http_get(port, path).await?;
	ensure!(status == 200, "GET {path}: {status} {body}");
	serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))
}

fn artifacts_dir() -> Result<PathBuf> {
	let dir = match std::env::var_os("GAUNTLET_ARTIFACTS_DIR") {
		Some(dir) => PathBuf::from(dir),
		None => match std::env::var_os("CARGO_TARGET_DIR") {
			Some(target) => PathBuf::from(target).join("gauntlet-artifacts"),
			// <target>/<profile>/deps/<test exe>
			None => std::env::current_exe()?
				.ancestors()
				.nth(3)
				.context("test executable outside a target dir")?
				.join("gauntlet-artifacts"),
		},
	};
	std::fs::create_dir_all(&dir)?;
	Ok(dir)
}

/// Headless Chromium on `url`: the DOM after scripts ran for `budget_ms` of virtual time, and a
/// screenshot to `screenshot` when given.
fn chromium(url: &str, budget_ms: u32, screenshot: Option<&Path>) -> Result<String> {
	let chromium = std::env::var("GAUNTLET_CHROMIUM").unwrap_or_else(|_| "chromium".into());
	let profile = std::env::temp_dir().join(format!(
		"gauntlet-chromium-{}-{}",
		std::process::id(),
		free_port()?
	));
	let mut command = Command::new(&chromium);
	command
		.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
		.args(["--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,1000"])
		.arg(format!("--user-data-dir={}", profile.display()))
		.arg(format!("--virtual-time-budget={budget_ms}"));
	match screenshot {
		Some(path) => command.arg(format!("--screenshot={}", path.display())),
		None => command.arg("--dump-dom"),
	};
	let out_file = profile.with_extension("dom");
	let mut child = command
		.arg(url)
		.stdin(Stdio::null())
		.stdout(std::fs::File::create(&out_file)?)
		.stderr(Stdio::piped())
		.spawn()
		.with_context(|| format!("running {chromium} (Debian package `chromium`)"))?;
	// A page whose requests never finish would stall Chromium's virtual clock forever.
	let deadline = std::time::Instant::now() + Duration::from_secs(90);
	while child.try_wait()?.is_none() {
		if std::time::Instant::now() > deadline {
			let _ = child.kill();
			let _ = child.wait();
			anyhow::bail!("{chromium} did not finish loading {url} within 90 s");
		}
		std::thread::sleep(Duration::from_millis(100));
	}
	let output = child.wait_with_output()?;
	let stdout = std::fs::read_to_string(&out_file).unwrap_or_default();
	let _ = std::fs::remove_file(&out_file);
	let _ = std::fs::remove_dir_all(&profile);
	ensure!(
		output.status.success(),
		"{chromium} failed on {url}: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	Ok(stdout)
}

fn dom(port: u16, path: &str) -> Result<String> {
	chromium(&format!("http://127.0.0.1:{port}{path}"), 4000, None)
}

fn screenshot(port: u16, path: &str, name: &str) -> Result<PathBuf> {
	let file = artifacts_dir()?.join(name);
	chromium(&format!("http://127.0.0.1:{port}{path}"), 3000, Some(&file))?;
	let bytes = std::fs::read(&file).with_context(|| format!("screenshot {}", file.display()))?;
	ensure!(bytes.len() > 1000 && &bytes[1..4] == b"PNG", "{} is not a PNG", file.display());
	eprintln!("screenshot: {}", file.display());
	Ok(file)
}

/// The dashboard process; killed on drop.
struct Dashboard(Child);

impl Drop for Dashboard {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// A Chromium session driven over WebDriver (`chromedriver`), to watch one page live in real
/// time: `--dump-dom` runs scripts on a virtual clock, faster than the chain makes blocks.
struct Browser {
	driver: Child,
	port: u16,
	session: String,
}

impl Browser {
	async fn start() -> Result<Self> {
		let port = free_port()?;
		let chromedriver =
			std::env::var("GAUNTLET_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
		let driver = Command::new(&chromedriver)
			.arg(format!("--port={port}"))
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(Stdio::null())
			.spawn()
			.with_context(|| {
				format!("starting {chromedriver} (Debian package `chromium-driver`)")
			})?;
		let mut browser = Self { driver, port, session: String::new() };
		let capabilities = serde_json::json!({ "capabilities": { "alwaysMatch": {
			"goog:chromeOptions": { "args": [
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"
			] }
		} } });
		let created = wait_for("chromedriver", Duration::from_secs(30), || async {
			Ok(http(port, "POST", "/session", Some(&capabilities)).await.ok())
		})
		.await?;
		let value: Value = serde_json::from_str(&created.1)?;
		browser.session = value["value"]["sessionId"]
			.as_str()
			.with_context(|| format!("no WebDriver session: {value}"))?
			.to_string();
		Ok(browser)
	}

	async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
		let path = format!("/session/{}{path}", self.session);
		let (status, text) = http(self.port, method, &path, body.as_ref()).await?;
		ensure!(status == 200, "WebDriver {method} {path}: {status} {text}");
		Ok(serde_json::from_str::<Value>(&text)?["value"].take())
	}

	async fn open(&self, url: &str) -> Result<()> {
		self.command("POST", "/url", Some(serde_json::json!({ "url": url }))).await.map(drop)
	}

	/// Evaluate `expression` in the page, as JSON.
	async fn eval(&self, expression: &str) -> Result<Value> {
		let script = format!("return {expression};");
		self.command(
			"POST",
			"/execute/sync",
			Some(serde_json::json!({ "script": script, "args": [] })),
		)
		.await
	}
}

impl Drop for Browser {
	fn drop(&mut self) {
		// Ending the session stops Chromium; killing chromedriver alone would leave it running.
		// Plain blocking I/O: drop cannot await, and this also runs when the test panics.
		use std::io::{Read, Write};
		if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
			let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
			let request = format!(
				"DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
				 Content-Length: 0\r\n\r\n",
				self.session, self.port
			);
			if stream.write_all(request.as_bytes()).is_ok() {
				// Wait for the answer: chromedriver replies once the browser has quit.
				let _ = stream.read(&mut [0u8; 1024]);
			}
		}
		let _ = self.driver.kill();
		let _ = self.driver.wait();
	}
}

/// What the live page shows: (status class, status text, body data-block, refreshes so far,
/// leaderboard rows).
const PAGE_STATE: &str = "[document.getElementById('status').className, \
	document.getElementById('status').textContent, document.body.dataset.block || '', \
	Number(document.body.dataset.refreshes || 0), \
	document.querySelectorAll('tr.miner-row').length]";

fn audit_cli(node: &str, args: &[&str]) -> Result<String> {
	let output = Command::new(binary("gauntlet-audit")?)
		.args(["--node", node])
		.args(args)
		.stdin(Stdio::null())
		.output()?;
	ensure!(
		output.status.success(),
		"gauntlet-audit {args:?}: {}",
		String::from_utf8_lossy(&output.stderr)
	);
	Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_shows_a_filled_chain_in_a_browser() -> Result<()> {
	let base =
		std::env::temp_dir().join(format!("gauntlet-dashboard-chain-{}", std::process::id()));
	let base_arg = base.display().to_string();
	// A kept base path (not --tmp), so the restarted node has the same chain.
	let node_args = ["--dev", "--base-path", &base_arg, "--dev-block-time", "200"];
	let (rpc_port, p2p_port) = (free_port()?, free_port()?);
	let node = Node::start_on("dashboard", &node_args, rpc_port, p2p_port)?;
	let url = node.ws_url();
	let client = connect(&url).await?;
	let filled = fill(&client).await.with_context(|| node.log())?;
	eprintln!("committed: {:?}, scored: {:?}", filled.committed.keys(), filled.scored);

	let http_port = free_port()?;
	let dashboard = Dashboard(
		Command::new(binary("gauntlet-audit")?)
			.args(["serve", "--node", &url, "--listen", &format!("127.0.0.1:{http_port}")])
			.args(["--poll-ms", "300"])
			.stdin(Stdio::null())
			.spawn()
			.context("starting gauntlet-audit serve")?,
	);
	wait_for("the dashboard to see the node", START, || async {
		let Ok((200, body)) = http_get(http_port, "/api/status").await else { return Ok(None) };
		Ok((serde_json::from_str::<Value>(&body)?["connected"] == true).then_some(()))
	})
	.await?;

	// Leaderboard: one row per miner (JSON and DOM), each with a trend sparkline.
	let board = api(http_port, "/api/leaderboard").await?;
	let rows = board["rows"].as_array().context("rows")?;
	assert_eq!(rows.len(), 3, "{board}");
	let html = dom(http_port, "/")?;
	assert_eq!(html.matches(r#"class="miner-row""#).count(), 3, "{html}");
	for (_, signer) in &filled.miners {
		assert!(html.contains(&signer.account_id().to_string()), "miner missing: {html}");
	}
	assert_eq!(html.matches(r#"class="sparkline""#).count(), 3);
	assert!(html.contains(r#"data-live="connected""#), "{html}");
	// In a real browser the open page follows new blocks without a reload: the status line and
	// the content (swapped in by the page's script) move on.
	let browser = Browser::start().await?;
	browser.open(&format!("http://127.0.0.1:{http_port}/")).await?;
	let first = browser.eval(PAGE_STATE).await?;
	let first_block = first[2].as_str().and_then(|b| b.parse::<u64>().ok()).context("block")?;
	let live = wait_for("the open page to follow new blocks", Duration::from_secs(30), || async {
		let state = browser.eval(PAGE_STATE).await?;
		let block = state[2].as_str().and_then(|b| b.parse::<u64>().ok()).unwrap_or_default();
		Ok((block > first_block && state[3].as_u64() >= Some(1)).then_some(state))
	})
	.await?;
	assert_eq!(live[0], "connected", "{live}");
	assert_eq!(live[4], 3, "rows after a live refresh: {live}");
	// The best miner (clean scores) leads.
	assert_eq!(rows[0]["miner"], filled.miners[0].1.account_id().to_string(), "{board}");
	screenshot(http_port, "/", "dashboard-leaderboard.png")?;

	// Miner page: one chart point per closed window in its history, every window's evidence.
	let dave = filled.miners[0].1.account_id().to_string();
	// All stored windows: the chain moves on while the test runs (a window every 2 s).
	let view = api(http_port, &format!("/api/miner/{dave}?windows=256")).await?;
	let history = view["history"].as_array().context("history")?.len();
	assert!(history >= 3, "closed windows rated: {view}");
	let html = dom(http_port, &format!("/miner/{dave}?windows=256"))?;
	assert_eq!(html.matches(r#"class="point ordinal""#).count(), history, "{html}");
	assert_eq!(html.matches(r#"class="point mu""#).count(), history);
	let dave_id = filled.miners[0].1.account_id();
	let dave_windows = filled.committed.values().filter(|c| c.contains(&dave_id)).count();
	assert_eq!(html.matches(r#"class="miner-window""#).count(), dave_windows, "{html}");
	screenshot(http_port, &format!("/miner/{dave}?windows=256"), "dashboard-miner.png")?;
	// The flagged miner's page names why its scores were low.
	let ferdie = filled.miners[2].1.account_id().to_string();
	let html = dom(http_port, &format!("/miner/{ferdie}?windows=256"))?;
	assert!(html.contains("copy flag") && html.contains("hash mismatch"), "{html}");
	let eve = filled.miners[1].1.account_id().to_string();
	assert!(
		dom(http_port, &format!("/miner/{eve}?windows=256"))?.contains("out of sync (sync 0.40)")
	);

	// Window page of a closed, scored window: all validators' scores side by side, the ranking.
	let window = filled.scored[0];
	let record = api(http_port, &format!("/api/window/{window}")).await?;
	let committers = filled.committed[&window].len();
	assert_eq!(record["scores"].as_array().map(Vec::len), Some(2), "{record}");
	assert_eq!(record["ranking"].as_array().map(Vec::len), Some(committers), "{record}");
	let html = dom(http_port, &format!("/window/{window}"))?;
	assert_eq!(html.matches(r#"class="score-row""#).count(), committers, "{html}");
	assert_eq!(html.matches(r#"class="rank-row""#).count(), committers, "{html}");
	assert_eq!(
		html.matches(r#"<td class="score"#).count(),
		2 * committers,
		"two validators' scores per miner"
	);
	let first = &record["scores"][0]["scores"][0]["gradient_score"];
	let shown = format!("{:.4}", first.as_f64().context("gradient score")?);
	assert!(html.contains(&shown), "score {shown} not shown: {html}");
	assert!(html.contains(r#"id="aggregation-set""#), "{html}");
	screenshot(http_port, &format!("/window/{window}"), "dashboard-window.png")?;

	// The checkpoint announcement is on its window's page.
	let announced = filled.checkpoint.context("checkpoint announcement failed")?;
	let html = dom(http_port, &format!("/window/{announced}"))?;
	assert!(html.contains(r#"id="checkpoints""#) && html.contains("1048576"), "{html}");

	// Run configuration page.
	let config = api(http_port, "/api/config").await?;
	let html = dom(http_port, "/config")?;
	let version = config["config"]["version"].as_u64().context("version")?;
	assert!(html.contains(&format!(r#"id="config-version">{version}<"#)), "{html}");
	assert!(html.contains("blocks_per_window"));

	// Bad input: 404 pages and JSON, never a crash.
	let stranger = Signer::from_uri("//Stranger")?.account_id().to_string();
	for path in [
		format!("/miner/{stranger}"),
		"/miner/not-an-address".to_string(),
		"/window/999999".to_string(),
		"/window/abc".to_string(),
		"/no/such/page".to_string(),
	] {
		let (status, body) = http_get(http_port, &path).await?;
		assert_eq!(status, 404, "GET {path}: {body}");
		assert!(body.contains("Not found"), "GET {path}: {body}");
	}
	let (status, body) = http_get(http_port, "/api/window/999999").await?;
	assert_eq!(status, 404, "{body}");
	assert_eq!(serde_json::from_str::<Value>(&body)?["status"], 404);
	assert!(dom(http_port, &format!("/miner/{stranger}"))?.contains("knows no miner"));

	// The CLI prints the same data as the API.
	let cli_board: Value =
		serde_json::from_str(&audit_cli(&url, &["leaderboard", "--format", "json"])?)?;
	let miners_of = |v: &Value| -> Vec<Value> {
		v["rows"].as_array().into_iter().flatten().map(|r| r["miner"].clone()).collect()
	};
	assert_eq!(miners_of(&cli_board), miners_of(&board));
	let csv = audit_cli(&url, &["window", &window.to_string(), "--format", "csv"])?;
	assert_eq!(csv.lines().count(), 1 + 2 * committers, "{csv}");
	let cli_history: Value = serde_json::from_str(&audit_cli(
		&url,
		&["history", "--miner", &dave, "--from", "0", "--format", "json"],
	)?)?;
	assert_eq!(cli_history["snapshots"].as_array().map(Vec::len), Some(history));
	assert!(audit_cli(&url, &["config"])?.contains("blocks_per_window"));
	let png = artifacts_dir()?.join("ratings.png");
	audit_cli(&url, &["chart", "--out", &png.display().to_string()])?;
	assert_eq!(&std::fs::read(&png)?[1..4], b"PNG");

	// The node goes away: pages say so (503), the status line too; the server keeps running.
	node.shutdown(Duration::from_secs(30))?;
	wait_for("the dashboard to notice", Duration::from_secs(30), || async {
		let status = api(http_port, "/api/status").await?;
		Ok((status["connected"] == false).then_some(()))
	})
	.await?;
	let (status, body) = http_get(http_port, "/").await?;
	assert_eq!(status, 503, "{body}");
	let html = dom(http_port, "/")?;
	assert!(html.contains("Node unreachable"), "{html}");
	assert!(html.contains(r#"id="status" class="disconnected""#), "{html}");
	screenshot(http_port, "/", "dashboard-node-down.png")?;
	// The page that stayed open says so too, without a reload.
	let down = wait_for("the open page to show the outage", Duration::from_secs(30), || async {
		let state = browser.eval(PAGE_STATE).await?;
		Ok((state[0] == "disconnected").then_some(state))
	})
	.await?;
	assert!(down[1].as_str().is_some_and(|t| t.contains("unreachable")), "{down}");

	// It comes back on the same port with the same chain: the dashboard recovers.
	let node = Node::start_on("dashboard-restarted", &node_args, rpc_port, p2p_port)?;
	wait_for("the dashboard to reconnect", START, || async {
		let status = api(http_port, "/api/status").await?;
		Ok((status["connected"] == true).then_some(()))
	})
	.await
	.with_context(|| node.log())?;
	let (status, body) = http_get(http_port, "/").await?;
	assert_eq!(status, 200, "{body}");
	assert_eq!(body.matches(r#"class="miner-row""#).count(), 3);
	// And the open page recovers by itself: connected again, the leaderboard back.
	let refreshes = down[3].as_u64().unwrap_or_default();
	let back = wait_for("the open page to recover", Duration::from_secs(30), || async {
		let state = browser.eval(PAGE_STATE).await?;
		let recovered = state[0] == "connected" && state[3].as_u64() > Some(refreshes);
		Ok(recovered.then_some(state))
	})
	.await?;
	assert_eq!(back[4], 3, "rows after recovery: {back}");
	drop(browser);

	drop(dashboard);
	node.shutdown(Duration::from_secs(30))?;
	let _ = std::fs::remove_dir_all(&base);
	Ok(())
}
