//! Connecting to a node and reading Gauntlet state through the `GauntletApi` runtime API.

use crate::{
	runtime,
	types::{
		AccountId, ChainHead, LeaderboardEntry, MinerEndpoint, RatingSnapshot, RunConfig, Window,
		WindowRecord,
	},
	ChainError, Result,
};
use subxt::{
	client::{ClientAtBlock, OnlineClientAtBlockImpl},
	OnlineClient, SubstrateConfig,
};

/// The subxt configuration of the Gauntlet runtime (standard Substrate extensions).
pub type ChainConfig = SubstrateConfig;
/// subxt's view of the chain at one block.
pub(crate) type AtBlock = ClientAtBlock<ChainConfig, OnlineClientAtBlockImpl<ChainConfig>>;

/// A connection to a Gauntlet node. Cheap to clone; every read is at the latest finalized block.
#[derive(Clone, Debug)]
pub struct GauntletClient {
	pub(crate) api: OnlineClient<ChainConfig>,
	url: String,
}

impl GauntletClient {
	/// Connect to the node's WebSocket RPC endpoint, e.g. `ws://127.0.0.1:9944`.
	pub async fn connect(url: &str) -> Result<Self> {
		// Plain ws:// is the norm for a node on loopback; the caller chooses the endpoint.
		let api = OnlineClient::<ChainConfig>::from_insecure_url(url).await.map_err(|e| {
			ChainError::Connect { url: url.to_string(), source: Box::new(e.into()) }
		})?;
		tracing::debug!(url, "connected to the Gauntlet node");
		Ok(Self { api, url: url.to_string() })
	}

	/// The endpoint this client talks to.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// The underlying subxt client, for queries this crate does not wrap.
	pub fn subxt(&self) -> &OnlineClient<ChainConfig> {
		&self.api
	}

	pub(crate) async fn at_finalized(&self, context: &'static str) -> Result<AtBlock> {
		self.api.at_current_block().await.map_err(|e| ChainError::rpc(context, e))
	}

	/// The chain at the latest finalized block: reads through it all answer from that block's
	/// state, so one page or report is consistent even while blocks arrive.
	pub async fn at_latest(&self) -> Result<ChainAt> {
		let at = self.at_finalized("reading the latest block").await?;
		let blocks_per_window = blocks_per_window_at(&at).await?;
		let block = at.block_number();
		let head = ChainHead {
			block,
			window: block.checked_div(u64::from(blocks_per_window)).unwrap_or_default(),
			blocks_per_window,
		};
		Ok(ChainAt { at, head })
	}

	/// The latest finalized block and its window.
	pub async fn head(&self) -> Result<ChainHead> {
		Ok(self.at_latest().await?.head())
	}

	/// Every registered miner's standing, by final weight then ordinal, descending.
	pub async fn leaderboard(&self) -> Result<Vec<LeaderboardEntry>> {
		self.at_latest().await?.leaderboard().await
	}

	/// `miner`'s rating after each closed window in `from..=to` still stored, oldest first.
	pub async fn rating_history(
		&self,
		miner: &AccountId,
		from: Window,
		to: Window,
	) -> Result<Vec<RatingSnapshot>> {
		self.at_latest().await?.rating_history(miner, from, to).await
	}

	/// Commitments, announcements, scores, aggregation set and ranking of `window`; `None` for a
	/// future or pruned window.
	pub async fn window_record(&self, window: Window) -> Result<Option<WindowRecord>> {
		self.at_latest().await?.window_record(window).await
	}

	/// The run configuration in force.
	pub async fn run_config(&self) -> Result<RunConfig> {
		self.at_latest().await?.run_config().await
	}

	/// The validators, sorted by account id.
	pub async fn validators(&self) -> Result<Vec<AccountId>> {
		self.at_latest().await?.validators().await
	}

	/// Whether `who` is a registered miner.
	pub async fn is_registered(&self, who: &AccountId) -> Result<bool> {
		self.at_latest().await?.is_registered(who).await
	}

	/// `who`'s registered libp2p endpoint, if it is a registered miner.
	pub async fn miner_endpoint(&self, who: &AccountId) -> Result<Option<MinerEndpoint>> {
		self.at_latest().await?.miner_endpoint(who).await
	}
}

async fn blocks_per_window_at(at: &AtBlock) -> Result<u32> {
	const WHAT: &str = "Gauntlet.BlocksPerWindow";
	let value = at
		.storage()
		.fetch(runtime::storage().gauntlet().blocks_per_window(), ())
		.await
		.map_err(|e| ChainError::rpc(WHAT, e))?;
	value.decode().map_err(|e| ChainError::Decode { what: WHAT, reason: e.to_string() })
}

/// The chain's state at one finalized block (see [`GauntletClient::at_latest`]).
pub struct ChainAt {
	at: AtBlock,
	head: ChainHead,
}

impl ChainAt {
	/// The block this view reads, and its window.
	pub fn head(&self) -> ChainHead {
		self.head
	}

	/// Every registered miner's standing, by final weight then ordinal, descending.
	pub async fn leaderboard(&self) -> Result<Vec<LeaderboardEntry>> {
		const WHAT: &str = "GauntletApi.leaderboard";
		let rows = self
			.at
			.runtime_apis()
			.call(runtime::runtime_apis().gauntlet_api().leaderboard())
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		Ok(rows.into_iter().map(Into::into).collect())
	}

	/// `miner`'s rating after each closed window in `from..=to` still stored, oldest first.
	pub async fn rating_history(
		&self,
		miner: &AccountId,
		from: Window,
		to: Window,
	) -> Result<Vec<RatingSnapshot>> {
		const WHAT: &str = "GauntletApi.rating_history";
		let rows = self
			.at
			.runtime_apis()
			.call(runtime::runtime_apis().gauntlet_api().rating_history(*miner, from, to))
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		Ok(rows.into_iter().map(Into::into).collect())
	}

	/// Everything stored about `window`; `None` for a future or pruned window.
	pub async fn window_record(&self, window: Window) -> Result<Option<WindowRecord>> {
		const WHAT: &str = "GauntletApi.window_record";
		let record = self
			.at
			.runtime_apis()
			.call(runtime::runtime_apis().gauntlet_api().window_record(window))
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		Ok(record.map(Into::into))
	}

	/// The run configuration in force.
	pub async fn run_config(&self) -> Result<RunConfig> {
		const WHAT: &str = "GauntletApi.run_config";
		let config = self
			.at
			.runtime_apis()
			.call(runtime::runtime_apis().gauntlet_api().run_config())
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		Ok(config.into())
	}

	/// The validators, sorted by account id.
	pub async fn validators(&self) -> Result<Vec<AccountId>> {
		const WHAT: &str = "Gauntlet.Validators";
		let value = self
			.at
			.storage()
			.fetch(runtime::storage().gauntlet().validators(), ())
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		let validators =
			value.decode().map_err(|e| ChainError::Decode { what: WHAT, reason: e.to_string() })?;
		Ok(validators.0)
	}

	/// Hash of the block this view reads: unknown before the block exists, so validators seed
	/// their random evaluation pages with it.
	pub fn block_hash(&self) -> [u8; 32] {
		self.at.block_hash().0
	}

	/// `who`'s registered libp2p endpoint, if it is a registered miner.
	pub async fn miner_endpoint(&self, who: &AccountId) -> Result<Option<MinerEndpoint>> {
		const WHAT: &str = "Gauntlet.Miners";
		let value = self
			.at
			.storage()
			.try_fetch(runtime::storage().gauntlet().miners(), (*who,))
			.await
			.map_err(|e| ChainError::rpc(WHAT, e))?;
		let Some(value) = value else { return Ok(None) };
		let info =
			value.decode().map_err(|e| ChainError::Decode { what: WHAT, reason: e.to_string() })?;
		Ok(Some(MinerEndpoint {
			peer_id: info.peer_id.0,
			multiaddrs: info.multiaddrs.0.into_iter().map(|a| a.0).collect(),
		}))
	}

	/// Whether `who` is a registered miner.
	pub async fn is_registered(&self, who: &AccountId) -> Result<bool> {
		Ok(self.miner_endpoint(who).await?.is_some())
	}
}
