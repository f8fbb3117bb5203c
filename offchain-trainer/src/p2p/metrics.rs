//! Prometheus metrics of payload transfers, registered on the registry the caller passes in (the
//! trainer's one registry serves them all; without one the metrics still count, unexported).

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

/// Counters and histograms of one host.
#[derive(Clone, Debug)]
pub struct P2pMetrics {
	/// Payload bytes written to fetchers.
	pub bytes_sent: IntCounter,
	/// Payload bytes read from servers (including those of failed fetches).
	pub bytes_received: IntCounter,
	/// Seconds per served payload, request to last byte.
	pub serve_seconds: Histogram,
	/// Seconds per successful fetch, first dial to verified payload.
	pub fetch_seconds: Histogram,
	/// Finished fetches by outcome (`ok` or the [`super::FetchError::kind`]).
	pub fetches: IntCounterVec,
	/// Served streams by outcome (`ok`, `not_found`, `busy`, `bad_request`, `error`).
	pub serves: IntCounterVec,
}

impl P2pMetrics {
	/// Creates the metrics and registers them on `registry`, if given.
	pub fn new(registry: Option<&Registry>) -> Result<Self, prometheus::Error> {
		// 10 ms .. ~5 min: loopback transfers of small payloads up to GB over a home link.
		let buckets = prometheus::exponential_buckets(0.01, 2.0, 15)?;
		let histogram = |name: &str, help: &str| {
			Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.clone()))
		};
		let metrics = Self {
			bytes_sent: IntCounter::new(
				"gauntlet_p2p_sent_bytes_total",
				"Payload bytes sent to fetchers",
			)?,
			bytes_received: IntCounter::new(
				"gauntlet_p2p_received_bytes_total",
				"Payload bytes received from servers",
			)?,
			serve_seconds: histogram("gauntlet_p2p_serve_seconds", "Seconds to serve one payload")?,
			fetch_seconds: histogram(
				"gauntlet_p2p_fetch_seconds",
				"Seconds to fetch and verify one payload",
			)?,
			fetches: IntCounterVec::new(
				Opts::new("gauntlet_p2p_fetches_total", "Finished fetches by outcome"),
				&["outcome"],
			)?,
			serves: IntCounterVec::new(
				Opts::new("gauntlet_p2p_serves_total", "Served streams by outcome"),
				&["outcome"],
			)?,
		};
		if let Some(registry) = registry {
			registry.register(Box::new(metrics.bytes_sent.clone()))?;
			registry.register(Box::new(metrics.bytes_received.clone()))?;
			registry.register(Box::new(metrics.serve_seconds.clone()))?;
			registry.register(Box::new(metrics.fetch_seconds.clone()))?;
			registry.register(Box::new(metrics.fetches.clone()))?;
			registry.register(Box::new(metrics.serves.clone()))?;
		}
		Ok(metrics)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn metrics_are_exported_by_the_callers_registry_once() {
		let registry = Registry::new();
		let metrics = P2pMetrics::new(Some(&registry)).unwrap();
		metrics.bytes_received.inc_by(42);
		metrics.fetches.with_label_values(&["ok"]).inc();
		let names: Vec<String> =
			registry.gather().iter().map(|f| f.get_name().to_string()).collect();
		assert!(names.contains(&"gauntlet_p2p_received_bytes_total".to_string()), "{names:?}");
		assert!(names.contains(&"gauntlet_p2p_fetches_total".to_string()), "{names:?}");
		// A second host on the same registry would export clashing series: refused.
		assert!(P2pMetrics::new(Some(&registry)).is_err());
		assert!(P2pMetrics::new(None).is_ok());
	}
}
