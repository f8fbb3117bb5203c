//! Prometheus metrics of a miner or validator, served at `http://<addr>/metrics` (loopback
//! unless told otherwise). The p2p layer registers its byte and fetch counters in the same
//! registry.

use std::net::SocketAddr;

use prometheus::{
	Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
	Opts, Registry, TextEncoder,
};

/// The role's metrics.
#[derive(Clone)]
pub struct RoleMetrics {
	/// Where everything is registered (pass it to the p2p host too).
	pub registry: Registry,
	/// The window being worked on.
	pub window: IntGauge,
	/// Mean inner-loop loss of the last window (miners).
	pub train_loss: Gauge,
	/// Training throughput of the last window (miners).
	pub tokens_per_second: Gauge,
	/// Seconds per phase of the window (`sync`, `train`, `compress`, `commit`, `evaluate`,
	/// `submit`).
	pub phase_seconds: HistogramVec,
	/// Windows committed (miners) or scored (validators).
	pub windows_done: IntCounter,
	/// Windows missed, by reason.
	pub windows_missed: IntCounterVec,
	/// Scores given, by result (`scored`, `copy`, `failure`) (validators).
	pub scores_given: IntCounterVec,
	/// The last gradient score given to each miner (validators).
	pub gradient_score: GaugeVec,
	/// The last score received from the chain: the miner's final weight (miners).
	pub final_weight: Gauge,
}

impl RoleMetrics {
	/// Fresh metrics in a fresh registry.
	pub fn new() -> Self {
		let registry =
			Registry::new_custom(Some("gauntlet".into()), None).expect("a constant, valid prefix");
		let m = Self {
			window: IntGauge::new("gauntlet_window", "window being worked on").expect("valid"),
			train_loss: Gauge::new(
				"gauntlet_train_loss",
				"mean inner-loop loss of the last window",
			)
			.expect("valid"),
			tokens_per_second: Gauge::new(
				"gauntlet_tokens_per_second",
				"training tokens per second",
			)
			.expect("valid"),
			phase_seconds: HistogramVec::new(
				HistogramOpts::new("gauntlet_phase_seconds", "seconds per phase of a window")
					.buckets(prometheus::exponential_buckets(0.01, 2.0, 16).expect("valid")),
				&["phase"],
			)
			.expect("valid"),
			windows_done: IntCounter::new(
				"gauntlet_windows_done_total",
				"windows committed or scored",
			)
			.expect("valid"),
			windows_missed: IntCounterVec::new(
				Opts::new("gauntlet_windows_missed_total", "windows missed"),
				&["reason"],
			)
			.expect("valid"),
			scores_given: IntCounterVec::new(
				Opts::new("gauntlet_scores_given_total", "scores submitted, by result"),
				&["result"],
			)
			.expect("valid"),
			gradient_score: GaugeVec::new(
				Opts::new("gauntlet_gradient_score", "last gradient score given to a miner"),
				&["miner"],
			)
			.expect("valid"),
			final_weight: Gauge::new("gauntlet_final_weight", "this miner's final weight on chain")
				.expect("valid"),
			registry,
		};
		let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
			Box::new(m.window.clone()),
			Box::new(m.train_loss.clone()),
			Box::new(m.tokens_per_second.clone()),
			Box::new(m.phase_seconds.clone()),
			Box::new(m.windows_done.clone()),
			Box::new(m.windows_missed.clone()),
			Box::new(m.scores_given.clone()),
			Box::new(m.gradient_score.clone()),
			Box::new(m.final_weight.clone()),
		];
		for c in collectors {
			m.registry.register(c).expect("distinct metric names");
		}
		m
	}

	/// Times `phase` until the returned guard drops.
	pub fn phase(&self, phase: &str) -> prometheus::HistogramTimer {
		self.phase_seconds.with_label_values(&[phase]).start_timer()
	}
}

impl Default for RoleMetrics {
	fn default() -> Self {
		Self::new()
	}
}

/// Serves `registry` at `http://addr/metrics` until the process ends; returns the bound address.
pub async fn serve(registry: Registry, addr: SocketAddr) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr).await?;
	let bound = listener.local_addr()?;
	let app = axum::Router::new().route(
		"/metrics",
		axum::routing::get(move || {
			let registry = registry.clone();
			async move {
				let mut buffer = Vec::new();
				// Encoding gathered families into a Vec cannot fail.
				let _ = TextEncoder::new().encode(&registry.gather(), &mut buffer);
				String::from_utf8(buffer).unwrap_or_default()
			}
		}),
	);
	tokio::spawn(async move {
		if let Err(e) = axum::serve(listener, app).await {
			tracing::warn!(error = %e, "metrics server stopped");
		}
	});
	tracing::info!(%bound, "metrics at http://{bound}/metrics");
	Ok(bound)
}
