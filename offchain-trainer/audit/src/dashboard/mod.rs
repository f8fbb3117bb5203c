//! `gauntlet-audit serve`: a read-only web dashboard over the chain (issue #8).
//!
//! - Binds to 127.0.0.1 by default and only ever reads chain state over RPC.
//! - Pages: leaderboard, miner, window, run configuration; each is also served as JSON under
//!   `/api/...` (the same structs the CLI prints with `--format json`).
//! - Charts are SVG drawn by the server; `assets/app.js` polls `/api/status` and swaps in fresh
//!   page content (`?fragment=1`) as blocks arrive.
//! - A watcher task probes the node every `poll`; while it is unreachable, pages answer 503 and
//!   say so, and the watcher reconnects when the node returns.

pub mod html;
pub mod svg;

use crate::views::{self, DEFAULT_MINER_WINDOWS};
use anyhow::Context;
use axum::{
	extract::{Path, Query, State},
	http::{header, StatusCode},
	response::{Html, IntoResponse, Redirect, Response},
	routing::get,
	Json, Router,
};
use gauntlet_chain::{types::ChainHead, AccountId, ChainError, GauntletClient, Window};
use serde::{Deserialize, Serialize};
use std::{future::Future, net::SocketAddr, str::FromStr, sync::Arc, time::Duration};
use tokio::sync::RwLock;

/// How long one chain query of a page may take before the page reports a timeout.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long connecting or probing the node may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to listen and what to read.
#[derive(Clone, Debug)]
pub struct ServeOptions {
	/// The node's WebSocket RPC endpoint.
	pub node: String,
	/// Address to bind (127.0.0.1 unless told otherwise).
	pub listen: SocketAddr,
	/// How often the node is probed for new blocks and reachability.
	pub poll: Duration,
}

/// What the dashboard knows about the node right now (`/api/status`).
#[derive(Clone, Debug, Serialize)]
pub struct NodeStatus {
	/// The node's endpoint.
	pub node: String,
	/// Whether the last probe succeeded.
	pub connected: bool,
	/// The latest finalized block and window at the last successful probe.
	pub head: Option<ChainHead>,
	/// Why the last probe failed.
	pub error: Option<String>,
}

struct AppState {
	node: String,
	client: RwLock<Option<GauntletClient>>,
	status: RwLock<NodeStatus>,
}

/// Serve the dashboard until `shutdown` resolves.
pub async fn serve(
	options: ServeOptions,
	shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
	let state = Arc::new(AppState {
		node: options.node.clone(),
		client: RwLock::new(None),
		status: RwLock::new(NodeStatus {
			node: options.node.clone(),
			connected: false,
			head: None,
			error: None,
		}),
	});
	let listener = tokio::net::TcpListener::bind(options.listen)
		.await
		.with_context(|| format!("binding {}", options.listen))?;
	let addr = listener.local_addr().context("reading the bound address")?;
	// The first probe runs before the first request, so an early page already knows the node.
	state.probe().await;
	let watcher = tokio::spawn(watch(state.clone(), options.poll));
	tracing::info!(%addr, node = %options.node, "dashboard listening on http://{addr}");
	println!("gauntlet-audit dashboard on http://{addr} (node {})", options.node);
	let served = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
	watcher.abort();
	served.context("serving HTTP")
}

fn router(state: Arc<AppState>) -> Router {
	Router::new()
		.route("/", get(leaderboard_page))
		.route("/miner/{miner}", get(miner_page))
		.route("/window", get(window_form))
		.route("/window/{window}", get(window_page))
		.route("/config", get(config_page))
		.route("/api", get(api_index))
		.route("/api/status", get(api_status))
		.route("/api/leaderboard", get(api_leaderboard))
		.route("/api/miner/{miner}", get(api_miner))
		.route("/api/history/{miner}", get(api_history))
		.route("/api/window/{window}", get(api_window))
		.route("/api/config", get(api_config))
		.route("/assets/app.js", get(app_js))
		.route("/assets/style.css", get(style_css))
		.fallback(not_found_page)
		.with_state(state)
}

async fn watch(state: Arc<AppState>, poll: Duration) {
	loop {
		tokio::time::sleep(poll).await;
		state.probe().await;
	}
}

impl AppState {
	/// Connect if needed, then read the chain head; record the outcome in `status`.
	async fn probe(&self) {
		let existing = self.client.read().await.clone();
		let client = match existing {
			Some(client) => client,
			None => match tokio::time::timeout(PROBE_TIMEOUT, GauntletClient::connect(&self.node))
				.await
			{
				Ok(Ok(client)) => {
					*self.client.write().await = Some(client.clone());
					client
				}
				Ok(Err(e)) => return self.mark_down(e.to_string()).await,
				Err(_) => return self.mark_down("connecting timed out".into()).await,
			},
		};
		match tokio::time::timeout(PROBE_TIMEOUT, client.head()).await {
			Ok(Ok(head)) => {
				let mut status = self.status.write().await;
				if !status.connected {
					tracing::info!(node = %self.node, block = head.block, "node reachable");
				}
				status.connected = true;
				status.head = Some(head);
				status.error = None;
			}
			Ok(Err(e)) => {
				// A dead connection never recovers by itself: drop it and reconnect next time.
				*self.client.write().await = None;
				self.mark_down(e.to_string()).await
			}
			Err(_) => {
				*self.client.write().await = None;
				self.mark_down("the node did not answer in time".into()).await
			}
		}
	}

	async fn mark_down(&self, error: String) {
		let mut status = self.status.write().await;
		if status.connected || status.error.is_none() {
			tracing::warn!(node = %self.node, %error, "node unreachable");
		}
		status.connected = false;
		status.error = Some(error);
	}

	/// Run `read` against the connected node, or fail with why not.
	async fn read<T, F, Fut>(&self, read: F) -> Result<T, AppError>
	where
		F: FnOnce(GauntletClient) -> Fut,
		Fut: Future<Output = Result<Option<T>, ChainError>>,
	{
		let client = self.client.read().await.clone();
		let Some(client) = client else {
			let status = self.status.read().await;
			return Err(AppError::NodeDown(
				status.error.clone().unwrap_or_else(|| "not connected yet".into()),
			));
		};
		match tokio::time::timeout(QUERY_TIMEOUT, read(client)).await {
			Ok(Ok(Some(value))) => Ok(value),
			Ok(Ok(None)) => Err(AppError::NotFound(String::new())),
			Ok(Err(e)) => Err(AppError::Chain(e.to_string())),
			Err(_) => Err(AppError::Chain("the node did not answer in time".into())),
		}
	}

	async fn status_line_parts(&self) -> NodeStatus {
		self.status.read().await.clone()
	}
}

/// Why a page or API call could not be answered.
#[derive(Debug)]
enum AppError {
	/// The node is unreachable (503).
	NodeDown(String),
	/// No such miner, window or page (404); the message says which.
	NotFound(String),
	/// The node answered with an error (502).
	Chain(String),
}

impl AppError {
	fn status(&self) -> StatusCode {
		match self {
			Self::NodeDown(_) => StatusCode::SERVICE_UNAVAILABLE,
			Self::NotFound(_) => StatusCode::NOT_FOUND,
			Self::Chain(_) => StatusCode::BAD_GATEWAY,
		}
	}

	fn title_and_message(&self, node: &str) -> (String, String) {
		match self {
			Self::NodeDown(e) => (
				"Node unreachable".into(),
				format!(
					"The node at {node} is unreachable ({e}). This page updates by itself when it \
					 returns."
				),
			),
			Self::NotFound(what) => ("Not found".into(), what.clone()),
			Self::Chain(e) => ("Chain query failed".into(), e.clone()),
		}
	}

	fn with_subject(self, subject: String) -> Self {
		match self {
			Self::NotFound(_) => Self::NotFound(subject),
			other => other,
		}
	}
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
	/// `1`: only the content, for the page's live update.
	fragment: Option<u8>,
	/// How many windows a miner page covers.
	windows: Option<u64>,
}

async fn page(
	state: &AppState,
	title: &str,
	query: &PageQuery,
	body: Result<String, AppError>,
) -> Response {
	let status = state.status_line_parts().await;
	let (code, title, content) = match body {
		Ok(content) => (StatusCode::OK, title.to_string(), content),
		Err(e) => {
			let (title, message) = e.title_and_message(&state.node);
			(e.status(), title.clone(), html::error(&title, &message))
		}
	};
	if query.fragment == Some(1) {
		return (code, Html(content)).into_response();
	}
	let line = html::StatusLine {
		node: &status.node,
		connected: status.connected,
		block: status.head.map(|h| h.block),
		window: status.head.map(|h| h.window),
		error: status.error.as_deref(),
	};
	(code, Html(html::layout(&title, &line, &content))).into_response()
}

fn parse_miner(text: &str) -> Result<AccountId, AppError> {
	AccountId::from_str(text)
		.map_err(|_| AppError::NotFound(format!("{text} is not an SS58 account address.")))
}

fn parse_window(text: &str) -> Result<Window, AppError> {
	text.parse().map_err(|_| AppError::NotFound(format!("{text} is not a window number.")))
}

async fn leaderboard_page(
	State(state): State<Arc<AppState>>,
	Query(q): Query<PageQuery>,
) -> Response {
	let body = state.read(|c| async move { views::leaderboard(&c).await.map(Some) }).await;
	page(&state, "Leaderboard", &q, body.map(|v| html::leaderboard(&v))).await
}

async fn miner_page(
	State(state): State<Arc<AppState>>,
	Path(miner): Path<String>,
	Query(q): Query<PageQuery>,
) -> Response {
	let windows = q.windows.unwrap_or(DEFAULT_MINER_WINDOWS);
	let body = match parse_miner(&miner) {
		Ok(id) => state
			.read(|c| async move { views::miner(&c, &id, windows).await })
			.await
			.map(|v| html::miner(&v))
			.map_err(|e| e.with_subject(format!("The chain knows no miner {miner}."))),
		Err(e) => Err(e),
	};
	page(&state, "Miner", &q, body).await
}

#[derive(Debug, Deserialize)]
struct WindowForm {
	w: Option<String>,
}

async fn window_form(Query(form): Query<WindowForm>) -> Redirect {
	match form.w.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
		Some(w) => Redirect::to(&format!("/window/{}", urlencode(w))),
		None => Redirect::to("/"),
	}
}

/// Percent-encode everything but digits and letters (the input goes back into a path).
fn urlencode(text: &str) -> String {
	text.bytes()
		.map(
			|b| {
				if b.is_ascii_alphanumeric() {
					(b as char).to_string()
				} else {
					format!("%{b:02X}")
				}
			},
		)
		.collect()
}

async fn window_page(
	State(state): State<Arc<AppState>>,
	Path(window): Path<String>,
	Query(q): Query<PageQuery>,
) -> Response {
	let body = match parse_window(&window) {
		Ok(w) => state
			.read(|c| async move { views::window(&c, w).await })
			.await
			.map(|v| html::window(&v))
			.map_err(|e| {
				e.with_subject(format!("Window {w} is in the future or no longer stored."))
			}),
		Err(e) => Err(e),
	};
	page(&state, &format!("Window {window}"), &q, body).await
}

async fn config_page(State(state): State<Arc<AppState>>, Query(q): Query<PageQuery>) -> Response {
	let body = state.read(|c| async move { views::config(&c).await.map(Some) }).await;
	page(&state, "Run configuration", &q, body.map(|v| html::config(&v))).await
}

async fn not_found_page(State(state): State<Arc<AppState>>) -> Response {
	page(
		&state,
		"Not found",
		&PageQuery::default(),
		Err(AppError::NotFound("No such page.".into())),
	)
	.await
}

// --- JSON API ----------------------------------------------------------------------------------

fn api_result<T: Serialize>(result: Result<T, AppError>) -> Response {
	match result {
		Ok(value) => Json(value).into_response(),
		Err(e) => {
			let message = match &e {
				AppError::NodeDown(m) | AppError::NotFound(m) | AppError::Chain(m) => m.clone(),
			};
			let code = e.status();
			(code, Json(serde_json::json!({ "status": code.as_u16(), "error": message })))
				.into_response()
		}
	}
}

async fn api_index() -> Json<serde_json::Value> {
	Json(serde_json::json!({
		"routes": {
			"/api/status": "node reachability and the latest finalized block and window",
			"/api/leaderboard": "every miner's standing with an ordinal trend (gauntlet-audit leaderboard)",
			"/api/miner/{ss58}?windows=N": "a miner's standing, rating history and per-window evidence",
			"/api/history/{ss58}?from=W&to=W": "a miner's rating snapshots (gauntlet-audit history)",
			"/api/window/{W}": "commitments, seed, assignments, score commitments and reveals, scores with their losses, ranking, outcome and aggregation set (gauntlet-audit window)",
			"/api/config": "the run configuration in force (gauntlet-audit config)",
		}
	}))
}

async fn api_status(State(state): State<Arc<AppState>>) -> Json<NodeStatus> {
	Json(state.status_line_parts().await)
}

async fn api_leaderboard(State(state): State<Arc<AppState>>) -> Response {
	api_result(state.read(|c| async move { views::leaderboard(&c).await.map(Some) }).await)
}

async fn api_miner(
	State(state): State<Arc<AppState>>,
	Path(miner): Path<String>,
	Query(q): Query<PageQuery>,
) -> Response {
	let windows = q.windows.unwrap_or(DEFAULT_MINER_WINDOWS);
	let result = match parse_miner(&miner) {
		Ok(id) => state
			.read(|c| async move { views::miner(&c, &id, windows).await })
			.await
			.map_err(|e| e.with_subject(format!("unknown miner {miner}"))),
		Err(e) => Err(e),
	};
	api_result(result)
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
	from: Option<Window>,
	to: Option<Window>,
}

async fn api_history(
	State(state): State<Arc<AppState>>,
	Path(miner): Path<String>,
	Query(range): Query<RangeQuery>,
) -> Response {
	let result = match parse_miner(&miner) {
		Ok(id) => {
			state
				.read(|c| async move {
					let to = match range.to {
						Some(to) => to,
						None => c.head().await?.window,
					};
					views::history(&c, &id, range.from.unwrap_or(0), to).await.map(Some)
				})
				.await
		}
		Err(e) => Err(e),
	};
	api_result(result)
}

async fn api_window(State(state): State<Arc<AppState>>, Path(window): Path<String>) -> Response {
	let result = match parse_window(&window) {
		Ok(w) => state
			.read(|c| async move { views::window(&c, w).await })
			.await
			.map_err(|e| e.with_subject(format!("window {w} is in the future or pruned"))),
		Err(e) => Err(e),
	};
	api_result(result)
}

async fn api_config(State(state): State<Arc<AppState>>) -> Response {
	api_result(state.read(|c| async move { views::config(&c).await.map(Some) }).await)
}

async fn app_js() -> impl IntoResponse {
	([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("assets/app.js"))
}

async fn style_css() -> impl IntoResponse {
	([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("assets/style.css"))
}
