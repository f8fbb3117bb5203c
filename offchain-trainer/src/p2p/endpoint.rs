//! A miner's endpoint as the pallet stores it (`register(peer_id, multiaddrs)`): the peer id and
//! the multiaddrs to dial, as bytes. Peers find each other from chain state alone by decoding the
//! `Miners` entries with [`Endpoint::from_chain`].

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Longest peer id the runtime accepts (`MaxPeerIdLen`).
pub const MAX_PEER_ID_LEN: usize = 128;
/// Most multiaddrs per miner the runtime accepts (`MaxMultiaddrs`).
pub const MAX_MULTIADDRS: usize = 8;
/// Longest multiaddr the runtime accepts (`MaxMultiaddrLen`).
pub const MAX_MULTIADDR_LEN: usize = 256;

/// Why chain bytes are not a usable endpoint, or an endpoint does not fit the chain's bounds.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
	/// The peer id bytes do not decode.
	#[error("peer id does not decode")]
	BadPeerId,
	/// A multiaddr is neither binary nor text multiaddr.
	#[error("multiaddr #{index} does not decode")]
	BadMultiaddr {
		/// Position in the list.
		index: usize,
	},
	/// No dialable address.
	#[error("no multiaddr")]
	NoAddress,
	/// More or longer fields than the runtime accepts.
	#[error("endpoint exceeds the chain's bounds: {0}")]
	TooLarge(&'static str),
}

/// Where to fetch a peer's payloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
	/// The peer's libp2p identity.
	pub peer_id: PeerId,
	/// Addresses it listens on (without a `/p2p/` suffix).
	pub addrs: Vec<Multiaddr>,
}

/// An endpoint in the byte form the pallet's `register` and `update_endpoint` take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEndpoint {
	/// `PeerId::to_bytes`.
	pub peer_id: Vec<u8>,
	/// Binary multiaddrs.
	pub multiaddrs: Vec<Vec<u8>>,
}

impl Endpoint {
	/// The byte form to register on chain. Addresses that peers cannot dial (unspecified IPs such as
	/// 0.0.0.0) are left out; an endpoint that does not fit the runtime's bounds is refused.
	pub fn to_chain(&self) -> Result<ChainEndpoint, EndpointError> {
		let peer_id = self.peer_id.to_bytes();
		if peer_id.len() > MAX_PEER_ID_LEN {
			return Err(EndpointError::TooLarge("peer id"));
		}
		let multiaddrs: Vec<Vec<u8>> =
			self.addrs.iter().filter(|a| is_dialable(a)).map(|a| a.to_vec()).collect();
		if multiaddrs.is_empty() {
			return Err(EndpointError::NoAddress);
		}
		if multiaddrs.len() > MAX_MULTIADDRS {
			return Err(EndpointError::TooLarge("too many multiaddrs"));
		}
		if multiaddrs.iter().any(|a| a.len() > MAX_MULTIADDR_LEN) {
			return Err(EndpointError::TooLarge("multiaddr too long"));
		}
		Ok(ChainEndpoint { peer_id, multiaddrs })
	}

	/// Decodes a registration read from chain state. Multiaddrs may be binary or text (the pallet
	/// does not parse them); a `/p2p/<id>` suffix must name the registered peer and is dropped.
	pub fn from_chain(peer_id: &[u8], multiaddrs: &[Vec<u8>]) -> Result<Self, EndpointError> {
		let peer_id = PeerId::from_bytes(peer_id).map_err(|_| EndpointError::BadPeerId)?;
		let mut addrs = Vec::with_capacity(multiaddrs.len());
		for (index, bytes) in multiaddrs.iter().enumerate() {
			let bad = EndpointError::BadMultiaddr { index };
			let addr = Multiaddr::try_from(bytes.clone())
				.ok()
				.or_else(|| std::str::from_utf8(bytes).ok()?.parse().ok())
				.ok_or(bad.clone())?;
			addrs.push(strip_peer_id(addr, &peer_id).ok_or(bad)?);
		}
		if addrs.is_empty() {
			return Err(EndpointError::NoAddress);
		}
		Ok(Self { peer_id, addrs })
	}
}

/// Removes a trailing `/p2p/<peer>`; `None` if it names another peer.
pub fn strip_peer_id(mut addr: Multiaddr, peer: &PeerId) -> Option<Multiaddr> {
	match addr.iter().last() {
		Some(Protocol::P2p(id)) if id == *peer => {
			addr.pop();
			Some(addr)
		}
		Some(Protocol::P2p(_)) => None,
		_ => Some(addr),
	}
}

/// Splits `/…/p2p/<peer>` (the `--peer` / `--bootnode` form) into the peer and its address.
pub fn split_peer_addr(addr: &Multiaddr) -> Option<(PeerId, Multiaddr)> {
	let mut addr = addr.clone();
	match addr.pop() {
		Some(Protocol::P2p(peer)) => Some((peer, addr)),
		_ => None,
	}
}

fn is_dialable(addr: &Multiaddr) -> bool {
	addr.iter().all(|p| match p {
		Protocol::Ip4(ip) => !ip.is_unspecified(),
		Protocol::Ip6(ip) => !ip.is_unspecified(),
		_ => true,
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn registration_bytes_round_trip_and_drop_unspecified_addresses() {
		let peer_id = PeerId::random();
		let endpoint = Endpoint {
			peer_id,
			addrs: vec![
				"/ip4/127.0.0.1/tcp/4001".parse().unwrap(),
				"/ip4/0.0.0.0/tcp/4001".parse().unwrap(),
				"/ip4/127.0.0.1/udp/4001/quic-v1".parse().unwrap(),
			],
		};
		let chain = endpoint.to_chain().unwrap();
		assert_eq!(chain.multiaddrs.len(), 2);
		let back = Endpoint::from_chain(&chain.peer_id, &chain.multiaddrs).unwrap();
		assert_eq!(back.peer_id, peer_id);
		assert_eq!(back.addrs, vec![endpoint.addrs[0].clone(), endpoint.addrs[2].clone()]);
	}

	#[test]
	fn text_multiaddrs_and_own_p2p_suffix_are_accepted_others_are_typed_errors() {
		let peer_id = PeerId::random();
		let text = format!("/ip4/127.0.0.1/tcp/5/p2p/{peer_id}").into_bytes();
		let endpoint = Endpoint::from_chain(&peer_id.to_bytes(), &[text]).unwrap();
		assert_eq!(endpoint.addrs, vec!["/ip4/127.0.0.1/tcp/5".parse::<Multiaddr>().unwrap()]);

		let other = format!("/ip4/127.0.0.1/tcp/5/p2p/{}", PeerId::random()).into_bytes();
		assert_eq!(
			Endpoint::from_chain(&peer_id.to_bytes(), &[other]),
			Err(EndpointError::BadMultiaddr { index: 0 })
		);
		assert_eq!(
			Endpoint::from_chain(&peer_id.to_bytes(), &[b"garbage".to_vec()]),
			Err(EndpointError::BadMultiaddr { index: 0 })
		);
		assert_eq!(Endpoint::from_chain(b"nope", &[]), Err(EndpointError::BadPeerId));
		assert_eq!(Endpoint::from_chain(&peer_id.to_bytes(), &[]), Err(EndpointError::NoAddress));
	}
}
