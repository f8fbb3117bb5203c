//! Signed Gauntlet transactions, each waited for until finalized and successful.

use crate::{
	runtime::{self, runtime_types as rt},
	types::{AccountId, Window},
	ChainError, GauntletClient, Result, SealedScores, Signer,
};
use subxt::{
	config::SubstrateExtrinsicParamsBuilder, error::TransactionEventsError,
	extrinsics::ExtrinsicEvents, transactions::Payload,
};

/// A transaction that was finalized without a dispatch error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Included {
	/// Hash of the block that includes it, as `0x` hex.
	pub block_hash: String,
	/// Names of the events it emitted, as `Pallet.Event`.
	pub events: Vec<String>,
}

impl GauntletClient {
	/// Register `signer` as a miner serving payloads at `peer_id` / `multiaddrs` (holds the
	/// miner deposit).
	pub async fn register(
		&self,
		signer: &Signer,
		peer_id: &[u8],
		multiaddrs: &[Vec<u8>],
	) -> Result<Included> {
		let call = runtime::transactions()
			.gauntlet()
			.register(bounded(peer_id.to_vec()), endpoint_list(multiaddrs));
		self.submit("Gauntlet.register", &call, signer).await.map(|(i, _)| i)
	}

	/// Replace `signer`'s peer id and multiaddrs.
	pub async fn update_endpoint(
		&self,
		signer: &Signer,
		peer_id: &[u8],
		multiaddrs: &[Vec<u8>],
	) -> Result<Included> {
		let call = runtime::transactions()
			.gauntlet()
			.update_endpoint(bounded(peer_id.to_vec()), endpoint_list(multiaddrs));
		self.submit("Gauntlet.update_endpoint", &call, signer).await.map(|(i, _)| i)
	}

	/// Commit to the payload `signer` serves for `window` (must be the current window).
	pub async fn commit(
		&self,
		signer: &Signer,
		window: Window,
		payload_hash: [u8; 32],
		payload_size: u64,
	) -> Result<Included> {
		let call = runtime::transactions().gauntlet().commit(window, payload_hash, payload_size);
		self.submit("Gauntlet.commit", &call, signer).await.map(|(i, _)| i)
	}

	/// Announce a checkpoint `signer` serves, for `window` (must be the current window).
	pub async fn announce_checkpoint(
		&self,
		signer: &Signer,
		window: Window,
		checkpoint_hash: [u8; 32],
		checkpoint_size: u64,
	) -> Result<Included> {
		let call = runtime::transactions().gauntlet().announce_checkpoint(
			window,
			checkpoint_hash,
			checkpoint_size,
		);
		self.submit("Gauntlet.announce_checkpoint", &call, signer).await.map(|(i, _)| i)
	}

	/// Commit `signer`'s (a validator's) sealed scores of `sealed.window`, which must be the
	/// current window minus one.
	pub async fn commit_scores(&self, signer: &Signer, sealed: &SealedScores) -> Result<Included> {
		let call =
			runtime::transactions().gauntlet().commit_scores(sealed.window, sealed.commitment.0);
		self.submit("Gauntlet.commit_scores", &call, signer).await.map(|(i, _)| i)
	}

	/// Reveal `signer`'s sealed scores of `sealed.window` (the current window minus two): the
	/// same θ hash, scores and salt it committed to.
	pub async fn reveal_scores(&self, signer: &Signer, sealed: &SealedScores) -> Result<Included> {
		let call = runtime::transactions().gauntlet().reveal_scores(
			sealed.window,
			sealed.theta_hash.0,
			bounded(sealed.runtime_scores()?),
			sealed.salt.0,
		);
		self.submit("Gauntlet.reveal_scores", &call, signer).await.map(|(i, _)| i)
	}

	/// Add `validator` through `Sudo.sudo` (test and dev chains, where `sudo` is the admin).
	pub async fn sudo_add_validator(
		&self,
		sudo: &Signer,
		validator: &AccountId,
	) -> Result<Included> {
		const CALL: &str = "Sudo.sudo(Gauntlet.add_validator)";
		let inner = rt::gauntlet_runtime::RuntimeCall::Gauntlet(
			rt::pallet_gauntlet::pallet::Call::add_validator { validator: *validator },
		);
		let call = runtime::transactions().sudo().sudo(inner);
		let (included, events) = self.submit(CALL, &call, sudo).await?;
		// Sudo succeeds even when the inner call fails; its result is in the `Sudid` event.
		let sudid = events
			.find_first::<runtime::sudo::events::Sudid>()
			.transpose()
			.map_err(|e| ChainError::Decode { what: "Sudo.Sudid", reason: e.to_string() })?;
		match sudid.map(|e| e.sudo_result) {
			Some(Ok(())) => Ok(included),
			Some(Err(error)) => {
				Err(ChainError::Dispatch { call: CALL, error: format!("{error:?}") })
			}
			None => Err(ChainError::Decode { what: "Sudo.Sudid", reason: "no such event".into() }),
		}
	}

	/// Sign `call` with `signer`, submit it, and wait until it is finalized and succeeded.
	///
	/// The nonce is the larger of the chain's (at the latest finalized block) and the one after
	/// `signer`'s last submission: the chain's alone does not count transactions still in the
	/// pool, so two in flight from one account would share a nonce and one would be dropped
	/// (measured: a `1b` miner's commit refused as "priority too low" while its checkpoint
	/// announcement was pending). After any failure the next submission reads the chain again.
	async fn submit<Call: Payload>(
		&self,
		name: &'static str,
		call: &Call,
		signer: &Signer,
	) -> Result<(Included, ExtrinsicEvents<crate::ChainConfig>)> {
		let progress = {
			let mut next = signer.next_nonce.lock().await;
			let submitted = async {
				let mut txs =
					self.api.transactions().await.map_err(|e| ChainError::rpc(name, e))?;
				let on_chain = txs
					.account_nonce(&signer.keypair.public_key().to_account_id())
					.await
					.map_err(|e| ChainError::rpc(name, e))?;
				let nonce = next.map_or(on_chain, |n| n.max(on_chain));
				let params = SubstrateExtrinsicParamsBuilder::new().nonce(nonce).build();
				let progress = txs
					.sign_and_submit_then_watch(call, &signer.keypair, params)
					.await
					.map_err(|e| ChainError::rpc(name, e))?;
				Ok((progress, nonce))
			}
			.await;
			match submitted {
				Ok((progress, nonce)) => {
					*next = Some(nonce + 1);
					progress
				}
				Err(e) => {
					*next = None;
					return Err(e);
				}
			}
		};
		let in_block = match progress.wait_for_finalized().await {
			Ok(in_block) => in_block,
			Err(e) => {
				// Dropped or invalidated: the nonce it held may be free again.
				*signer.next_nonce.lock().await = None;
				return Err(ChainError::rpc(name, e));
			}
		};
		let events = match in_block.wait_for_success().await {
			Ok(events) => events,
			Err(TransactionEventsError::ExtrinsicFailed(error)) => {
				return Err(ChainError::Dispatch { call: name, error: error.to_string() })
			}
			Err(e) => return Err(ChainError::rpc(name, e)),
		};
		let names = events
			.iter()
			.map(|e| match e {
				Ok(e) => Ok(format!("{}.{}", e.pallet_name(), e.event_name())),
				Err(e) => Err(ChainError::Decode { what: "events", reason: e.to_string() }),
			})
			.collect::<Result<Vec<_>>>()?;
		tracing::debug!(call = name, events = ?names, "transaction finalized");
		let included =
			Included { block_hash: format!("{:?}", in_block.block_hash()), events: names };
		Ok((included, events))
	}
}

fn bounded<T>(items: Vec<T>) -> rt::bounded_collections::bounded_vec::BoundedVec<T> {
	rt::bounded_collections::bounded_vec::BoundedVec(items)
}

fn endpoint_list(
	multiaddrs: &[Vec<u8>],
) -> rt::bounded_collections::bounded_vec::BoundedVec<
	rt::bounded_collections::bounded_vec::BoundedVec<u8>,
> {
	bounded(multiaddrs.iter().cloned().map(bounded).collect())
}
