//! What a peer reads from the network or from other peers (`offchain-trainer/src/p2p/`): the
//! first input byte picks the message (`gauntlet_fuzz::split_p2p`).
//!
//! Properties, per message:
//! - request (`wire::Request::read` over a stream, what the server reads): `Ok` exactly when the
//!   stream holds at least `REQUEST_LEN` bytes starting with the version byte, and then the
//!   request re-encodes to those bytes; otherwise a typed error (`Io` of kind `UnexpectedEof`
//!   for a short stream, `Version(b)` with the byte read). The server reads no byte past the
//!   request.
//! - status (`wire::Status::from_byte`, what the fetcher reads first): a status exactly for
//!   bytes 0..=3, and it maps back to its byte.
//! - announcement (`Announcement::decode`, a gossipsub message): `Some` exactly for inputs of
//!   `ANNOUNCEMENT_LEN` bytes, and it re-encodes to them.
//! - endpoint (`Endpoint::from_chain`, a registration other miners wrote on chain): a typed
//!   `EndpointError`, or an endpoint whose peer id re-encodes to the registered bytes (one peer,
//!   one byte string), with every registered address and none ending in `/p2p/` of another peer
//!   (a registration cannot send fetchers to a peer id it does not own); its canonical byte form
//!   decodes again, to the same endpoint unless an address still ends in its own `/p2p/` (a
//!   doubled suffix: `from_chain` drops one).
#![no_main]

use futures::io::Cursor;
use gauntlet_fuzz::{split_fields, split_p2p, P2pMessage};
use libfuzzer_sys::fuzz_target;
use libp2p::multiaddr::Protocol;
use offchain_trainer::p2p::announce::ANNOUNCEMENT_LEN;
use offchain_trainer::p2p::endpoint::EndpointError;
use offchain_trainer::p2p::wire::{Request, Status, WireError, REQUEST_LEN};
use offchain_trainer::p2p::{Announcement, Endpoint};

fuzz_target!(|data: &[u8]| {
	let Some((kind, bytes)) = split_p2p(data) else { return };
	match kind {
		P2pMessage::Request => request(bytes),
		P2pMessage::Status => {
			for &b in bytes {
				match Status::from_byte(b) {
					Some(s) => assert_eq!(s as u8, b),
					None => assert!(b > 3),
				}
			}
		}
		P2pMessage::Announcement => match Announcement::decode(bytes) {
			Some(a) => assert_eq!(a.encode().as_slice(), bytes),
			None => assert_ne!(bytes.len(), ANNOUNCEMENT_LEN),
		},
		P2pMessage::Endpoint => endpoint(bytes),
	}
});

fn request(bytes: &[u8]) {
	let mut stream = Cursor::new(bytes);
	let result = futures::executor::block_on(Request::read(&mut stream));
	match result {
		Ok(req) => {
			assert_eq!(req.encode().as_slice(), &bytes[..REQUEST_LEN]);
			assert_eq!(stream.position(), REQUEST_LEN as u64, "read past the request");
		}
		Err(WireError::Io(e)) => {
			assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
			assert!(bytes.len() < REQUEST_LEN);
		}
		Err(WireError::Version(v)) => {
			assert!(bytes.len() >= REQUEST_LEN);
			assert_eq!(v, bytes[0]);
			assert!(Request::decode(bytes[..REQUEST_LEN].try_into().unwrap()).is_err());
		}
	}
}

fn endpoint(bytes: &[u8]) {
	let fields = split_fields(bytes);
	let Some((peer_id, addrs)) = fields.split_first() else { return };
	let addrs: Vec<Vec<u8>> = addrs.iter().map(|a| a.to_vec()).collect();
	match Endpoint::from_chain(peer_id, &addrs) {
		Err(EndpointError::BadMultiaddr { index }) => assert!(index < addrs.len()),
		Err(EndpointError::NoAddress) => assert!(addrs.is_empty()),
		Err(EndpointError::BadPeerId) => {}
		Err(EndpointError::TooLarge(_)) => panic!("from_chain never checks sizes"),
		Ok(e) => {
			assert_eq!(e.peer_id.to_bytes(), *peer_id, "two byte strings name one peer");
			assert_eq!(e.addrs.len(), addrs.len());
			let mut suffixed = false;
			for a in &e.addrs {
				if let Some(Protocol::P2p(id)) = a.iter().last() {
					assert_eq!(id, e.peer_id, "an address names another peer");
					suffixed = true;
				}
			}
			let canonical: Vec<Vec<u8>> = e.addrs.iter().map(|a| a.to_vec()).collect();
			let again = Endpoint::from_chain(&e.peer_id.to_bytes(), &canonical)
				.expect("the canonical form of a decoded endpoint does not decode");
			if !suffixed {
				assert_eq!(again, e);
			}
		}
	}
}
