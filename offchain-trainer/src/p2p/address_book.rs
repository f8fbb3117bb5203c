//! Where to dial each peer: the addresses from its chain registration (or `--bootnode`). A
//! behaviour hands them to the swarm whenever a dial to the peer starts, so the stream protocol can
//! open a stream by peer id alone and dial on demand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
	dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
	THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

use super::endpoint::strip_peer_id;

/// Shared map from peer to its dial addresses.
#[derive(Clone, Debug, Default)]
pub struct AddressBook(Arc<Mutex<HashMap<PeerId, Vec<Multiaddr>>>>);

impl AddressBook {
	/// Records `addrs` as the peer's addresses (replacing older ones; an empty list keeps them).
	/// Addresses whose `/p2p/` suffix names another peer are dropped.
	pub fn set(&self, peer: PeerId, addrs: &[Multiaddr]) {
		let addrs: Vec<Multiaddr> =
			addrs.iter().filter_map(|a| strip_peer_id(a.clone(), &peer)).collect();
		if !addrs.is_empty() {
			self.lock().insert(peer, addrs);
		}
	}

	/// The peer's addresses.
	pub fn get(&self, peer: &PeerId) -> Vec<Multiaddr> {
		self.lock().get(peer).cloned().unwrap_or_default()
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PeerId, Vec<Multiaddr>>> {
		// The map holds no invariant a panicking writer could break.
		self.0.lock().unwrap_or_else(|e| e.into_inner())
	}
}

/// The behaviour that answers the swarm's "which addresses for this dial?".
pub struct Behaviour {
	book: AddressBook,
}

impl Behaviour {
	/// A behaviour over `book`.
	pub fn new(book: AddressBook) -> Self {
		Self { book }
	}
}

impl NetworkBehaviour for Behaviour {
	type ConnectionHandler = dummy::ConnectionHandler;
	type ToSwarm = std::convert::Infallible;

	fn handle_established_inbound_connection(
		&mut self,
		_: ConnectionId,
		_: PeerId,
		_: &Multiaddr,
		_: &Multiaddr,
	) -> Result<THandler<Self>, ConnectionDenied> {
		Ok(dummy::ConnectionHandler)
	}

	fn handle_established_outbound_connection(
		&mut self,
		_: ConnectionId,
		_: PeerId,
		_: &Multiaddr,
		_: Endpoint,
		_: PortUse,
	) -> Result<THandler<Self>, ConnectionDenied> {
		Ok(dummy::ConnectionHandler)
	}

	fn handle_pending_outbound_connection(
		&mut self,
		_: ConnectionId,
		peer: Option<PeerId>,
		_: &[Multiaddr],
		_: Endpoint,
	) -> Result<Vec<Multiaddr>, ConnectionDenied> {
		Ok(peer.map(|p| self.book.get(&p)).unwrap_or_default())
	}

	fn on_swarm_event(&mut self, _: FromSwarm) {}

	fn on_connection_handler_event(
		&mut self,
		_: PeerId,
		_: ConnectionId,
		event: THandlerOutEvent<Self>,
	) {
		match event {}
	}

	fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
		Poll::Pending
	}
}
