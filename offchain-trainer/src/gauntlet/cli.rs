//! The flags of `gauntlet-trainer miner` and `gauntlet-trainer validator`, and turning them into
//! the model, data and connections the loops run on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use gauntlet_chain::{AccountId, Signer, SignerArgs};

use crate::data::{DataSource, Dataset};
use crate::device::DeviceChoice;
use crate::model::{ModelConfig, Precision};
use crate::p2p::P2pArgs;
use crate::training::TrainConfig;

/// Flags both roles share. Every peer of a run must agree on the model, the data, the sequence
/// length and the run seed (the chain's `model_config_hash` names them).
#[derive(Clone, Debug, clap::Args)]
pub struct PeerArgs {
	/// WebSocket RPC of the node to follow and submit to.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	#[command(flatten)]
	pub signer: SignerArgs,
	#[command(flatten)]
	pub p2p: P2pArgs,
	/// Directory for checkpoints, served contributions, the journal and (when `--identity` is
	/// relative) the libp2p key. Created if missing.
	#[arg(long)]
	pub state_dir: PathBuf,
	/// Built-in model: tiny, small, 124m, 1b.
	#[arg(long, default_value = "tiny")]
	pub model: String,
	/// Model configuration JSON to read `--model` from instead of the built-ins.
	#[arg(long)]
	pub model_config: Option<PathBuf>,
	/// Training text.
	#[arg(long, value_enum, default_value = "corpora")]
	pub data: DataSource,
	/// Directory of the fetched corpora.
	#[arg(long, default_value_os_t = default_data_dir())]
	pub data_dir: PathBuf,
	/// Tokens per training sequence (one page).
	#[arg(long, default_value_t = 64)]
	pub seq_len: usize,
	/// Sequences per batch (per inner step; per evaluation batch).
	#[arg(long, default_value_t = 4)]
	pub batch_seqs: usize,
	/// Seed of the run: initial weights, page assignment, sample positions. Must equal the
	/// chain's `run_seed` (the peer refuses to start otherwise).
	#[arg(long, default_value_t = 0)]
	pub run_seed: u64,
	/// Device: cpu, cuda, cuda:N or auto.
	#[arg(long, default_value = "cpu")]
	pub device: DeviceChoice,
	/// CPU threads for libtorch (0: one per core). Several peers on one machine: use 1.
	#[arg(long, default_value_t = 0)]
	pub threads: i32,
	/// Stop after this many windows (default: run until Ctrl-C).
	#[arg(long)]
	pub windows: Option<u64>,
	/// Serve Prometheus metrics at this address (e.g. 127.0.0.1:9615).
	#[arg(long)]
	pub metrics_addr: Option<SocketAddr>,
	/// How long to wait for the node at start.
	#[arg(long, default_value_t = 60)]
	pub connect_timeout_s: u64,
	/// Floor of the wait for a set of contributions, in seconds: dialing, opening streams and the
	/// first bytes. The time the set's committed bytes need at `--max-download-mbps` is added
	/// to it (see `FetchBudget`).
	#[arg(long, default_value_t = 6)]
	pub fetch_timeout_s: u64,
}

impl PeerArgs {
	/// How long fetching contributions may take, from the floor and the download cap.
	pub fn fetch_budget(&self) -> super::peers::FetchBudget {
		super::peers::FetchBudget::new(self.fetch_timeout_s, self.p2p.max_download_mbps)
	}
}

/// Where the corpora go by default (`$GAUNTLET_HOME/data`).
pub fn default_data_dir() -> PathBuf {
	std::env::var_os("GAUNTLET_HOME")
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from("/var/cache/gauntlet"))
		.join("data")
}

/// Everything a role derives from [`PeerArgs`] before touching the network.
pub struct PeerSetup {
	/// The model's shapes.
	pub model: ModelConfig,
	/// The token pages.
	pub dataset: Dataset,
	/// Inner-loop settings (batch size from the flags).
	pub train: TrainConfig,
	/// Where tensors live.
	pub device: tch::Device,
	/// Numeric precision.
	pub precision: Precision,
}

/// A role's running parts, started from [`PeerArgs::start`].
pub struct Peer {
	/// Model, data, training settings.
	pub setup: PeerSetup,
	/// The signing key.
	pub signer: Signer,
	/// Its account.
	pub me: AccountId,
	/// The role's metrics (served when `--metrics-addr` is given).
	pub metrics: super::metrics::RoleMetrics,
	/// The node connection.
	pub chain: super::chain_view::ChainView,
	/// The run configuration read at start.
	pub params: super::run_params::RunParams,
	/// The p2p host (it runs while a handle lives).
	pub p2p: crate::p2p::P2pHandle,
	/// Windows of payloads the host keeps.
	pub store_windows: u64,
	/// Largest payload a fetch accepts.
	pub max_payload: usize,
}

impl PeerArgs {
	/// What miners and validators do first: load model and data, read the key, serve metrics,
	/// connect to the node, read the run configuration and start the p2p host.
	pub async fn start(&self) -> Result<Peer> {
		let setup = self.setup()?;
		let signer = self.signer.signer()?;
		let me = signer.account_id();
		let metrics = super::metrics::RoleMetrics::new();
		if let Some(addr) = self.metrics_addr {
			super::metrics::serve(metrics.registry.clone(), addr)
				.await
				.context("metrics server")?;
		}
		let mut chain =
			super::chain_view::ChainView::connect(&self.node, self.connect_timeout()).await?;
		let at = chain.latest().await;
		let params = super::run_params::RunParams::from_chain(&at.run_config().await?)?;
		anyhow::ensure!(
			params.run_seed == self.run_seed,
			"the chain's run configuration v{} has run seed {}, but --run-seed is {}: this peer \
			 would train a different θ than every other peer",
			params.version,
			params.run_seed,
			self.run_seed
		);
		let p2p_config = self.p2p_config(metrics.registry.clone());
		let store_windows = p2p_config.store_windows as u64;
		let max_payload = usize::try_from(p2p_config.max_payload_bytes).unwrap_or(usize::MAX);
		let (p2p, _host) =
			crate::p2p::P2pHost::start(p2p_config).await.context("starting the p2p host")?;
		Ok(Peer { setup, signer, me, metrics, chain, params, p2p, store_windows, max_payload })
	}

	/// Checks the flags, creates the state directory (0700) and loads model and data.
	pub fn setup(&self) -> Result<PeerSetup> {
		if self.threads > 0 {
			tch::set_num_threads(self.threads);
		}
		create_private_dir(&self.state_dir)?;
		let device = self.device.resolve()?;
		let model = match &self.model_config {
			Some(path) => ModelConfig::from_file(path, &self.model)?,
			None => ModelConfig::builtin(&self.model)?,
		};
		anyhow::ensure!(self.seq_len >= 1, "--seq-len must be at least 1");
		anyhow::ensure!(self.batch_seqs >= 1, "--batch-seqs must be at least 1");
		anyhow::ensure!(
			self.seq_len as i64 <= model.max_seq_len,
			"--seq-len {} exceeds the model's max_seq_len {}",
			self.seq_len,
			model.max_seq_len
		);
		let dataset = Dataset::open(
			self.data,
			&self.data_dir,
			model.tokenizer,
			self.seq_len,
			50,
			self.run_seed,
			4 << 20,
		)
		.with_context(|| format!("--data {:?} for model {}", self.data, self.model))?;
		let train = TrainConfig {
			batch_seqs: self.batch_seqs,
			micro_batch_seqs: self.batch_seqs,
			// Windows run indefinitely: a long cosine whose tail is never reached.
			total_steps: 1_000_000,
			..TrainConfig::default()
		};
		Ok(PeerSetup { model, dataset, train, device, precision: Precision::Auto })
	}

	/// The libp2p key file: relative paths are inside the state directory.
	pub fn p2p_config(&self, registry: prometheus::Registry) -> crate::p2p::P2pConfig {
		let mut config = self.p2p.config();
		if config.identity_path.is_relative() {
			config.identity_path = self.state_dir.join(&config.identity_path);
		}
		config.registry = Some(registry);
		config
	}

	/// How long to wait for the node at start.
	pub fn connect_timeout(&self) -> Duration {
		Duration::from_secs(self.connect_timeout_s)
	}
}

/// Creates `dir` (and parents) with mode 0700 on Unix: it holds keys and checkpoints.
pub fn create_private_dir(dir: &Path) -> Result<()> {
	std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
			.with_context(|| format!("setting permissions of {}", dir.display()))?;
	}
	Ok(())
}

/// Parses an SS58 account id (a CLI value).
pub fn parse_account(s: &str) -> Result<AccountId, String> {
	s.parse::<AccountId>().map_err(|e| format!("not an SS58 account id: {e:?}"))
}
