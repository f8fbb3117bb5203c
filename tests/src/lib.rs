//! Support for the end-to-end tests: find the real binaries, start them on free loopback ports,
//! wait until they answer, and stop them the way a user would (SIGINT).

use anyhow::{bail, Context, Result};
use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Stdio},
	time::{Duration, Instant},
};

pub use subxt;
pub use subxt_rpcs;
pub use subxt_signer;

/// The subxt configuration matching the Gauntlet runtime (standard Substrate extensions).
pub type ChainConfig = subxt::SubstrateConfig;
/// A connected subxt client.
pub type Client = subxt::OnlineClient<ChainConfig>;

/// Path of a workspace binary built in the same profile as this test
/// (`$CARGO_TARGET_DIR/<profile>/<name>`), or `$GAUNTLET_<NAME>_BIN` when set.
pub fn binary(name: &str) -> Result<PathBuf> {
	let var = format!("GAUNTLET_{}_BIN", name.trim_start_matches("gauntlet-").to_uppercase());
	if let Ok(path) = std::env::var(&var) {
		return Ok(PathBuf::from(path));
	}
	// Test executables live in <target>/<profile>/deps/.
	let exe = std::env::current_exe().context("locating the test executable")?;
	let profile_dir = exe
		.parent()
		.and_then(Path::parent)
		.context("test executable is not under <target>/<profile>/deps")?;
	let path = profile_dir.join(name);
	if !path.exists() {
		bail!(
			"{} not found: build it first (`cargo build --release -p {name}`) or set {var}",
			path.display()
		);
	}
	Ok(path)
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<u16> {
	let listener = TcpListener::bind("127.0.0.1:0").context("binding an ephemeral port")?;
	Ok(listener.local_addr()?.port())
}

/// A running `gauntlet-node` process; stopped with SIGKILL if dropped while running.
pub struct Node {
	child: Child,
	/// JSON-RPC/WebSocket port on 127.0.0.1.
	pub rpc_port: u16,
	/// libp2p port on 127.0.0.1.
	pub p2p_port: u16,
	log_path: PathBuf,
	_base: Option<tempdir::TempDir>,
}

mod tempdir {
	//! A directory removed on drop (the tests need nothing more than this).
	use std::path::{Path, PathBuf};

	pub struct TempDir(PathBuf);

	impl TempDir {
		pub fn new(prefix: &str) -> std::io::Result<Self> {
			let nanos = std::time::SystemTime::now()
				.duration_since(std::time::UNIX_EPOCH)
				.map(|d| d.as_nanos())
				.unwrap_or_default();
			let path =
				std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
			std::fs::create_dir_all(&path)?;
			Ok(Self(path))
		}

		pub fn path(&self) -> &Path {
			&self.0
		}
	}

	impl Drop for TempDir {
		fn drop(&mut self) {
			let _ = std::fs::remove_dir_all(&self.0);
		}
	}
}

impl Node {
	/// Start `gauntlet-node` with `args` plus free RPC/p2p ports, no Prometheus, no mDNS,
	/// its log in a file under the system temp dir.
	pub fn start(label: &str, args: &[&str]) -> Result<Self> {
		Self::start_on(label, args, free_port()?, free_port()?)
	}

	/// [`Node::start`] on given ports, e.g. to restart a node where its clients expect it.
	pub fn start_on(label: &str, args: &[&str], rpc_port: u16, p2p_port: u16) -> Result<Self> {
		let base = tempdir::TempDir::new(&format!("gauntlet-{label}"))?;
		let log_path = base.path().join("node.log");
		let log = std::fs::File::create(&log_path)?;
		let child = Command::new(binary("gauntlet-node")?)
			.args(args)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--no-prometheus", "--no-mdns", "--no-telemetry"])
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.context("spawning gauntlet-node")?;
		Ok(Self { child, rpc_port, p2p_port, log_path, _base: Some(base) })
	}

	/// The node's WebSocket RPC endpoint.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's log so far (for assertion messages).
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log_path).unwrap_or_default()
	}

	/// Connect a subxt client, retrying until the RPC server answers or `timeout` passes.
	pub async fn client(&mut self, timeout: Duration) -> Result<Client> {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self.child.try_wait()? {
				bail!("gauntlet-node exited early ({status}):\n{}", self.log());
			}
			match Client::from_insecure_url(self.ws_url()).await {
				Ok(client) => return Ok(client),
				Err(e) if Instant::now() > deadline => {
					bail!("no RPC on {} after {timeout:?}: {e}\n{}", self.ws_url(), self.log())
				}
				Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
			}
		}
	}

	/// A raw JSON-RPC client, retrying until the server answers or `timeout` passes.
	pub async fn rpc_client(&mut self, timeout: Duration) -> Result<subxt_rpcs::RpcClient> {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self.child.try_wait()? {
				bail!("gauntlet-node exited early ({status}):\n{}", self.log());
			}
			match subxt_rpcs::RpcClient::from_insecure_url(self.ws_url()).await {
				Ok(client) => return Ok(client),
				Err(e) if Instant::now() > deadline => {
					bail!("no RPC on {} after {timeout:?}: {e}\n{}", self.ws_url(), self.log())
				}
				Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
			}
		}
	}

	/// Ask the node to stop (SIGINT, as Ctrl-C does) and wait for it to exit.
	pub fn shutdown(mut self, timeout: Duration) -> Result<ExitStatus> {
		let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
		// SAFETY: plain kill(2) on a child process we own.
		if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
			bail!("kill(SIGINT) failed: {}", std::io::Error::last_os_error());
		}
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self.child.try_wait()? {
				return Ok(status);
			}
			if Instant::now() > deadline {
				bail!("gauntlet-node did not stop within {timeout:?} of SIGINT:\n{}", self.log());
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}

	/// Kill the node with SIGKILL, as a power cut or the OOM killer would: no shutdown path
	/// runs, so whatever the database holds afterwards is what it had made durable.
	pub fn kill(mut self) -> Result<()> {
		self.child.kill().context("kill(SIGKILL)")?;
		self.child.wait().context("waiting for the killed node")?;
		Ok(())
	}

	/// Wait for the process to exit by itself (for commands that must fail fast).
	pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(status) = self.child.try_wait()? {
				return Ok(status);
			}
			if Instant::now() > deadline {
				bail!("gauntlet-node still running after {timeout:?}:\n{}", self.log());
			}
			std::thread::sleep(Duration::from_millis(100));
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		if matches!(self.child.try_wait(), Ok(None)) {
			let _ = self.child.kill();
			let _ = self.child.wait();
		}
	}
}

/// A running `gauntlet-trainer` process (miner or validator) with its own state directory;
/// killed if dropped while running.
pub struct Trainer {
	// Behind a mutex so that polling loops can check on `&self`.
	child: std::sync::Mutex<Option<Child>>,
	/// `miner` or `validator`.
	pub role: String,
	/// Its signing key's URI (`//Bob`).
	pub suri: String,
	/// Its state directory (journal, checkpoints, p2p key).
	pub state_dir: PathBuf,
	args: Vec<String>,
	log_path: PathBuf,
	restarts: u32,
}

impl Trainer {
	/// Starts `gauntlet-trainer <role> --node <node_url> --suri <suri> --state-dir <dir>/<name>`
	/// with the small, single-threaded CPU settings the end-to-end tests use (synthetic text,
	/// unless `extra` names `--data` itself), plus `extra`.
	pub fn start(
		role: &str,
		node_url: &str,
		suri: &str,
		dir: &Path,
		extra: &[&str],
	) -> Result<Self> {
		let name = suri.trim_start_matches("//").replace('/', "-").to_lowercase();
		let state_dir = dir.join(format!("{role}-{name}"));
		let mut args: Vec<String> = vec![
			role.into(),
			"--node".into(),
			node_url.into(),
			"--suri".into(),
			suri.into(),
			"--state-dir".into(),
			state_dir.display().to_string(),
		];
		// Miners one libtorch thread each (up to eight share two cores); the validator both
		// cores, which it has to itself whenever the niced miners let it (below): measured on
		// two cores, one thread took 17–23 s to evaluate eight contributions. `extra` may say
		// otherwise (several validators).
		if !extra.contains(&"--threads") {
			let threads = if role == "miner" { "1" } else { "2" };
			args.extend(["--threads".to_string(), threads.to_string()]);
		}
		if !extra.contains(&"--data") {
			args.extend(["--data".to_string(), "synthetic".to_string()]);
		}
		args.extend(extra.iter().map(|s| s.to_string()));
		let log_path = dir.join(format!("{role}-{name}.log"));
		let mut trainer = Self {
			child: std::sync::Mutex::new(None),
			role: role.into(),
			suri: suri.into(),
			state_dir,
			args,
			log_path,
			restarts: 0,
		};
		trainer.spawn()?;
		Ok(trainer)
	}

	fn spawn(&mut self) -> Result<()> {
		let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path)?;
		// Miners run at a lower priority: here up to eight of them share two cores with the
		// validator, which stands in for a validator's own machine and must score a window
		// before the next one ends (measured: at equal priority it missed that in 9 of 11
		// windows with eight miners). `nice` execs the trainer, so the pid stays the trainer's.
		let mut command = if self.role == "miner" {
			let mut c = Command::new("nice");
			c.args(["-n", "10"]).arg(binary("gauntlet-trainer")?);
			c
		} else {
			Command::new(binary("gauntlet-trainer")?)
		};
		let child = command
			.args(&self.args)
			.env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.context("spawning gauntlet-trainer")?;
		*self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
		Ok(())
	}

	/// SIGKILL, as a crash or `kill -9` would.
	pub fn kill(&mut self) -> Result<()> {
		let taken = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
		if let Some(mut child) = taken {
			child.kill()?;
			child.wait()?;
		}
		Ok(())
	}

	/// Starts the same command again, on the same state directory.
	pub fn restart(&mut self) -> Result<()> {
		self.kill()?;
		self.restarts += 1;
		self.spawn()
	}

	/// Fails if the process has exited (with its log).
	pub fn check_running(&self) -> Result<()> {
		if let Some(child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
			if let Some(status) = child.try_wait()? {
				bail!("{} {} exited ({status}):\n{}", self.role, self.suri, self.log_tail(60));
			}
		}
		Ok(())
	}

	/// The last `lines` lines of its log.
	pub fn log_tail(&self, lines: usize) -> String {
		let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
		let all: Vec<&str> = log.lines().collect();
		all[all.len().saturating_sub(lines)..].join("\n")
	}

	/// Its journal: `(window, global weights hash, committed hash)` per line.
	pub fn journal(&self) -> Vec<serde_json::Value> {
		std::fs::read_to_string(self.state_dir.join("journal.jsonl"))
			.unwrap_or_default()
			.lines()
			.filter_map(|l| serde_json::from_str(l).ok())
			.collect()
	}

	/// The global-weights hash it recorded for `window`, if any.
	pub fn global_weights(&self, window: u64) -> Option<String> {
		self.journal()
			.iter()
			.rev()
			.find(|e| e["window"].as_u64() == Some(window))
			.and_then(|e| e["global_weights"].as_str().map(str::to_string))
	}
}

impl Drop for Trainer {
	fn drop(&mut self) {
		let _ = self.kill();
	}
}

/// A scratch directory for one test's processes (their logs and state). It is removed on drop
/// only once the test has called [`TestDir::pass`], as its last step: a test that fails, by
/// panicking or by returning `Err` (as `?` does), never gets there, so its directory is kept and
/// its path printed to stderr, next to the failure. `GAUNTLET_KEEP_TEST_DIRS=1` keeps it always.
pub struct TestDir {
	path: PathBuf,
	passed: bool,
}

impl TestDir {
	/// A fresh directory under the system temp dir.
	pub fn new(label: &str) -> Result<Self> {
		let dir = tempdir::TempDir::new(&format!("gauntlet-{label}"))?;
		let path = dir.path().to_path_buf();
		std::mem::forget(dir);
		Ok(Self { path, passed: false })
	}

	/// Its path.
	pub fn path(&self) -> &Path {
		&self.path
	}

	/// Marks the test as passed, so the directory goes on drop. Removal waits for the drop
	/// rather than happening here: the test's processes, declared after the directory and so
	/// dropped before it, may still be writing to it.
	pub fn pass(&mut self) {
		self.passed = true;
	}
}

impl Drop for TestDir {
	fn drop(&mut self) {
		if !self.passed {
			eprintln!("test did not pass: its directory is kept at {}", self.path.display());
		} else if std::env::var_os("GAUNTLET_KEEP_TEST_DIRS").is_none() {
			let _ = std::fs::remove_dir_all(&self.path);
		}
	}
}

/// Poll `probe` every 250 ms until it returns `Some`, or fail after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<Option<T>>>,
{
	let deadline = Instant::now() + timeout;
	loop {
		if let Some(value) = probe().await? {
			return Ok(value);
		}
		if Instant::now() > deadline {
			bail!("timed out after {timeout:?} waiting for {what}");
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The shape of an end-to-end test: steps that may fail through `?`, then `pass`.
	fn e2e_test(dir: &mut TestDir, step: Result<()>) -> Result<()> {
		step?;
		dir.pass();
		Ok(())
	}

	#[test]
	fn a_test_that_returns_err_keeps_its_directory() -> Result<()> {
		let mut dir = TestDir::new("keeps-on-err")?;
		let path = dir.path().to_path_buf();
		assert!(e2e_test(&mut dir, Err(anyhow::anyhow!("a step failed"))).is_err());
		drop(dir);
		assert!(path.is_dir(), "{} was removed after a failed test", path.display());
		std::fs::remove_dir_all(&path)?;
		Ok(())
	}

	#[test]
	fn a_test_that_panics_keeps_its_directory() -> Result<()> {
		let dir = TestDir::new("keeps-on-panic")?;
		let path = dir.path().to_path_buf();
		let outcome = std::panic::catch_unwind(move || {
			let _dir = dir;
			panic!("a step panicked");
		});
		assert!(outcome.is_err());
		assert!(path.is_dir(), "{} was removed after a panic", path.display());
		std::fs::remove_dir_all(&path)?;
		Ok(())
	}

	#[test]
	fn a_passed_test_removes_its_directory() -> Result<()> {
		let mut dir = TestDir::new("removed-on-pass")?;
		let path = dir.path().to_path_buf();
		std::fs::write(path.join("node.log"), "a log")?;
		e2e_test(&mut dir, Ok(()))?;
		drop(dir);
		// The variable keeps every directory, so there is nothing to check under it.
		if std::env::var_os("GAUNTLET_KEEP_TEST_DIRS").is_none() {
			assert!(!path.exists(), "{} was kept after a passed test", path.display());
		}
		Ok(())
	}
}
