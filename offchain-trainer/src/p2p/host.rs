//! The libp2p host of a trainer process: one swarm (TCP and QUIC, noise + yamux on TCP) carrying
//! the payload stream protocol and gossipsub announcements, run by a background task, and the
//! cloneable [`P2pHandle`] the miner/validator loop uses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{DialError, NetworkBehaviour, SwarmEvent};
use libp2p::{gossipsub, noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::address_book::{self, AddressBook};
use super::announce::{self, AnnounceError, Announcement, ReceivedAnnouncement};
use super::commitment::Commitment;
use super::config::P2pConfig;
use super::endpoint::{split_peer_addr, Endpoint};
use super::fetch::{DialRequest, FetchError, FetchSettings, Fetcher};
use super::identity::{self, IdentityError};
use super::limiter::{BadCap, Bandwidth};
use super::metrics::P2pMetrics;
use super::serve::Server;
use super::store::{PayloadStore, StoreError};
use super::wire::PROTOCOL;

/// How long [`P2pHost::start`] waits for every listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the host did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
	/// The identity key file is unusable.
	#[error(transparent)]
	Identity(#[from] IdentityError),
	/// A bandwidth cap is not a positive number.
	#[error(transparent)]
	Cap(#[from] BadCap),
	/// The metrics could not be registered (e.g. registered twice on one registry).
	#[error("registering p2p metrics: {0}")]
	Metrics(#[from] prometheus::Error),
	/// A transport or behaviour could not be built.
	#[error("building the libp2p swarm: {0}")]
	Swarm(String),
	/// A listen address could not be bound.
	#[error("listening on {addr}: {reason}")]
	Listen {
		/// The address.
		addr: Multiaddr,
		/// Why.
		reason: String,
	},
	/// A bootnode address lacks its `/p2p/<peer id>` suffix.
	#[error("bootnode {0} must end in /p2p/<peer id>")]
	Bootnode(Multiaddr),
	/// A limit in the configuration is zero.
	#[error("invalid configuration: {0}")]
	Config(&'static str),
}

#[derive(NetworkBehaviour)]
struct Behaviour {
	addresses: address_book::Behaviour,
	stream: libp2p_stream::Behaviour,
	gossip: Toggle<gossipsub::Behaviour>,
}

/// Requests from handles to the swarm task.
enum Command {
	Announce { announcement: Announcement, reply: oneshot::Sender<Result<(), AnnounceError>> },
}

/// Starts hosts.
pub struct P2pHost;

impl P2pHost {
	/// Loads (or creates) the identity, binds the listeners and starts the swarm task. Returns once
	/// every listener has an address, so [`P2pHandle::listen_addrs`] is complete. The task ends
	/// when every handle is dropped; its `JoinHandle` is returned for the caller to await or abort.
	pub async fn start(config: P2pConfig) -> Result<(P2pHandle, JoinHandle<()>), StartError> {
		if config.max_concurrent_fetches == 0
			|| config.max_concurrent_serves == 0
			|| config.transfer_lanes == 0
		{
			return Err(StartError::Config("concurrency limits must be at least 1"));
		}
		if config.piece_bytes == 0 {
			return Err(StartError::Config("pieces must hold at least one byte"));
		}
		let keypair = identity::load_or_create(&config.identity_path)?;
		let bandwidth = Bandwidth::new(config.max_upload_mbps, config.max_download_mbps)?;
		let metrics = P2pMetrics::new(config.registry.as_ref())?;
		let addresses = AddressBook::default();
		for bootnode in &config.bootnodes {
			let (peer, addr) =
				split_peer_addr(bootnode).ok_or_else(|| StartError::Bootnode(bootnode.clone()))?;
			addresses.set(peer, &[addr]);
		}

		let swarm_err = |e: &dyn std::fmt::Display| StartError::Swarm(e.to_string());
		let book = addresses.clone();
		let announcements = config.announcements;
		let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
			.with_tokio()
			.with_tcp(
				tcp::Config::default().nodelay(true),
				noise::Config::new,
				yamux::Config::default,
			)
			.map_err(|e| swarm_err(&e))?
			.with_quic()
			.with_behaviour(|key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
				let gossip = if announcements { Some(announce::behaviour(key)?) } else { None };
				Ok(Behaviour {
					addresses: address_book::Behaviour::new(book),
					stream: libp2p_stream::Behaviour::new(),
					gossip: Toggle::from(gossip),
				})
			})
			.map_err(|e| swarm_err(&e))?
			.with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
			.build();

		let listen_addrs = listen(&mut swarm, &config.listen).await?;
		for bootnode in &config.bootnodes {
			if let Some((peer, _)) = split_peer_addr(bootnode) {
				if let Err(e) = swarm.dial(peer) {
					tracing::warn!(%peer, error = %e, "dialing bootnode failed");
				}
			}
		}
		let local_peer_id = *swarm.local_peer_id();
		tracing::info!(peer_id = %local_peer_id, addrs = ?listen_addrs, "p2p host listening");

		let mut control = swarm.behaviour().stream.new_control();
		let incoming = control.accept(PROTOCOL).map_err(|e| swarm_err(&e))?;
		let store = Arc::new(Mutex::new(PayloadStore::new(config.store_windows)));
		let server = Server {
			store: store.clone(),
			bandwidth: bandwidth.clone(),
			metrics: metrics.clone(),
			permits: Arc::new(Semaphore::new(config.max_concurrent_serves)),
			stall_timeout: config.stall_timeout,
		};
		tokio::spawn(server.run(incoming));

		let (dials, dial_rx) = mpsc::channel(64);
		let fetcher = Fetcher {
			control,
			dials,
			addresses,
			bandwidth,
			metrics: metrics.clone(),
			permits: Arc::new(Semaphore::new(config.max_concurrent_fetches)),
			settings: FetchSettings {
				max_payload_bytes: config.max_payload_bytes,
				open_timeout: config.open_timeout,
				stall_timeout: config.stall_timeout,
				retries: config.retries,
				retry_backoff: config.retry_backoff,
				piece_bytes: config.piece_bytes,
				lanes: config.transfer_lanes,
			},
		};
		let (commands, command_rx) = mpsc::channel(64);
		let (announced, _) = broadcast::channel(256);
		let listen_addrs = Arc::new(RwLock::new(listen_addrs));
		let task =
			tokio::spawn(run(swarm, command_rx, dial_rx, listen_addrs.clone(), announced.clone()));
		let handle = P2pHandle {
			inner: Arc::new(Inner {
				local_peer_id,
				listen_addrs,
				store,
				fetcher,
				commands,
				announced,
				metrics,
				announcements,
			}),
		};
		Ok((handle, task))
	}
}

/// Binds every listen address and waits for each listener's first address.
async fn listen(
	swarm: &mut Swarm<Behaviour>,
	addrs: &[Multiaddr],
) -> Result<Vec<Multiaddr>, StartError> {
	let mut pending = Vec::new();
	for addr in addrs {
		let id = swarm
			.listen_on(addr.clone())
			.map_err(|e| StartError::Listen { addr: addr.clone(), reason: e.to_string() })?;
		pending.push((id, addr.clone()));
	}
	let mut bound = Vec::new();
	let wait = async {
		while !pending.is_empty() {
			match swarm.select_next_some().await {
				SwarmEvent::NewListenAddr { listener_id, address } => {
					pending.retain(|(id, _)| *id != listener_id);
					bound.push(address);
				}
				SwarmEvent::ListenerClosed { listener_id, reason, .. } => {
					if let Some((_, addr)) = pending.iter().find(|(id, _)| *id == listener_id) {
						let reason = reason.err().map_or("closed".to_string(), |e| e.to_string());
						return Err(StartError::Listen { addr: addr.clone(), reason });
					}
				}
				SwarmEvent::ListenerError { listener_id, error } => {
					if let Some((_, addr)) = pending.iter().find(|(id, _)| *id == listener_id) {
						return Err(StartError::Listen {
							addr: addr.clone(),
							reason: error.to_string(),
						});
					}
				}
				_ => {}
			}
		}
		Ok(())
	};
	match tokio::time::timeout(LISTEN_TIMEOUT, wait).await {
		Ok(Ok(())) => Ok(bound),
		Ok(Err(e)) => Err(e),
		Err(_) => Err(StartError::Listen {
			addr: pending.first().map(|(_, a)| a.clone()).unwrap_or_else(Multiaddr::empty),
			reason: "no address reported in time".into(),
		}),
	}
}

/// The swarm task: drives connections, keeps the listen addresses current, publishes and
/// delivers announcements. Ends when every handle is gone.
async fn run(
	mut swarm: Swarm<Behaviour>,
	mut commands: mpsc::Receiver<Command>,
	mut dials: mpsc::Receiver<DialRequest>,
	listen_addrs: Arc<RwLock<Vec<Multiaddr>>>,
	announced: broadcast::Sender<ReceivedAnnouncement>,
) {
	let topic = announce::topic();
	// Fetches waiting for a connection to each peer.
	let mut waiting: HashMap<PeerId, Vec<oneshot::Sender<Result<(), String>>>> = HashMap::new();
	// Open connections to each peer, and extra connections being dialed to it (for a transfer
	// in several lanes).
	let mut connections: HashMap<PeerId, usize> = HashMap::new();
	let mut adding: HashMap<PeerId, usize> = HashMap::new();
	loop {
		tokio::select! {
			Some(DialRequest { peer, connections: wanted, reply }) = dials.recv() => {
				let open = connections.get(&peer).copied().unwrap_or(0);
				if open > 0 {
					// The fetch starts on the connections there are; streams it opens later
					// spread over the extra ones as they come up.
					let _ = reply.send(Ok(()));
					let dialing = adding.get(&peer).copied().unwrap_or(0);
					let mut dialed = 0;
					for _ in (open + dialing)..wanted {
						let opts = DialOpts::peer_id(peer).condition(PeerCondition::Always).build();
						match swarm.dial(opts) {
							Ok(()) => dialed += 1,
							Err(e) => tracing::debug!(%peer, error = %e, "extra connection not dialed"),
						}
					}
					if dialed > 0 {
						*adding.entry(peer).or_default() += dialed;
					}
					continue;
				}
				let opts = DialOpts::peer_id(peer).condition(PeerCondition::DisconnectedAndNotDialing).build();
				match swarm.dial(opts) {
					// Already dialing: wait for that dial's outcome.
					Ok(()) | Err(DialError::DialPeerConditionFalse(_)) => waiting.entry(peer).or_default().push(reply),
					Err(e) => {
						let _ = reply.send(Err(e.to_string()));
					},
				}
			},
			command = commands.recv() => match command {
				None => break,
				Some(Command::Announce { announcement, reply }) => {
					let result = match swarm.behaviour_mut().gossip.as_mut() {
						None => Err(AnnounceError::Disabled),
						Some(gossip) => gossip.publish(topic.clone(), announcement.encode().to_vec())
							.map(|_| ())
							.map_err(|e| match e {
								gossipsub::PublishError::InsufficientPeers => AnnounceError::NoPeers,
								e => AnnounceError::Publish(e.to_string()),
							}),
					};
					let _ = reply.send(result);
				},
			},
			event = swarm.select_next_some() => match event {
				SwarmEvent::NewListenAddr { address, .. } => {
					write(&listen_addrs).push(address);
				},
				SwarmEvent::ExpiredListenAddr { address, .. } => {
					write(&listen_addrs).retain(|a| *a != address);
				},
				SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message { message, .. })) => {
					let decoded = Announcement::decode(&message.data);
					match (message.source, decoded) {
						(Some(from), Some(announcement)) => {
							// No subscriber is fine: announcements are hints.
							let _ = announced.send(ReceivedAnnouncement { from, announcement });
						},
						_ => tracing::debug!("ignored a malformed announcement"),
					}
				},
				SwarmEvent::ConnectionEstablished { peer_id, endpoint, num_established, .. } => {
					tracing::debug!(%peer_id, addr = %endpoint.get_remote_address(), "connected");
					connections.insert(peer_id, num_established.get() as usize);
					if endpoint.is_dialer() {
						settle_dial(&mut adding, peer_id);
					}
					for reply in waiting.remove(&peer_id).unwrap_or_default() {
						let _ = reply.send(Ok(()));
					}
				},
				SwarmEvent::ConnectionClosed { peer_id, cause, num_established, .. } => {
					tracing::debug!(%peer_id, ?cause, "disconnected");
					if num_established == 0 {
						connections.remove(&peer_id);
					} else {
						connections.insert(peer_id, num_established as usize);
					}
				},
				SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
					tracing::debug!(?peer_id, %error, "dial failed");
					if let Some(peer) = peer_id {
						settle_dial(&mut adding, peer);
						for reply in waiting.remove(&peer).unwrap_or_default() {
							let _ = reply.send(Err(error.to_string()));
						}
					}
				},
				_ => {},
			},
		}
	}
	tracing::debug!("p2p host stopped");
}

/// One extra dial to `peer` ended (connected or failed).
fn settle_dial(adding: &mut HashMap<PeerId, usize>, peer: PeerId) {
	if let Some(n) = adding.get_mut(&peer) {
		*n = n.saturating_sub(1);
		if *n == 0 {
			adding.remove(&peer);
		}
	}
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
	lock.write().unwrap_or_else(|e| e.into_inner())
}

struct Inner {
	local_peer_id: PeerId,
	listen_addrs: Arc<RwLock<Vec<Multiaddr>>>,
	store: Arc<Mutex<PayloadStore>>,
	fetcher: Fetcher,
	commands: mpsc::Sender<Command>,
	announced: broadcast::Sender<ReceivedAnnouncement>,
	metrics: P2pMetrics,
	announcements: bool,
}

/// The miner/validator loop's view of the host. Cheap to clone; the host runs until every clone
/// is dropped.
#[derive(Clone)]
pub struct P2pHandle {
	inner: Arc<Inner>,
}

impl P2pHandle {
	/// This host's peer id (what the miner registers on chain).
	pub fn local_peer_id(&self) -> PeerId {
		self.inner.local_peer_id
	}

	/// The addresses the host listens on now.
	pub fn listen_addrs(&self) -> Vec<Multiaddr> {
		self.inner.listen_addrs.read().unwrap_or_else(|e| e.into_inner()).clone()
	}

	/// This host's endpoint, to register on chain with [`Endpoint::to_chain`].
	pub fn endpoint(&self) -> Endpoint {
		Endpoint { peer_id: self.local_peer_id(), addrs: self.listen_addrs() }
	}

	/// Serves `payload` as this host's payload for `window` and returns its commitment (to
	/// submit with `commit`). Hashes the payload first (about 1 s per GB: call it from a
	/// blocking-friendly context for large payloads). Keeps the last `store_windows` windows.
	pub fn serve(&self, window: u64, payload: impl Into<Bytes>) -> Result<Commitment, StoreError> {
		let payload = payload.into();
		let commitment = Commitment::of(&payload);
		self.inner
			.store
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.insert(window, commitment, payload)?;
		Ok(commitment)
	}

	/// Windows whose payloads are served now, oldest first.
	pub fn served_windows(&self) -> Vec<u64> {
		self.inner.store.lock().unwrap_or_else(|e| e.into_inner()).windows()
	}

	/// Fetches `peer`'s payload for `window`, dialing `addrs` (its registered addresses) if not
	/// connected, and returns it only if it matches `commitment` exactly.
	pub async fn fetch(
		&self,
		peer: PeerId,
		addrs: &[Multiaddr],
		window: u64,
		commitment: Commitment,
	) -> Result<Vec<u8>, FetchError> {
		self.inner.fetcher.fetch(peer, addrs, window, commitment).await
	}

	/// Tells connected peers that this host serves `commitment` for `window`.
	pub async fn announce(&self, window: u64, commitment: Commitment) -> Result<(), AnnounceError> {
		if !self.inner.announcements {
			return Err(AnnounceError::Disabled);
		}
		let (reply, response) = oneshot::channel();
		let announcement = Announcement { window, commitment };
		self.inner
			.commands
			.send(Command::Announce { announcement, reply })
			.await
			.map_err(|_| AnnounceError::Shutdown)?;
		response.await.map_err(|_| AnnounceError::Shutdown)?
	}

	/// Announcements received from now on (a lagging receiver loses the oldest).
	pub fn announcements(&self) -> broadcast::Receiver<ReceivedAnnouncement> {
		self.inner.announced.subscribe()
	}

	/// This host's transfer metrics.
	pub fn metrics(&self) -> &P2pMetrics {
		&self.inner.metrics
	}
}
