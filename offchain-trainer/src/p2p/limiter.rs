//! Upload and download caps, so several trainers on one machine can reproduce home-link
//! conditions. Each cap is one token bucket (`async-speed-limit`, TiKV's limiter) shared by every
//! stream in that direction: the server's streams draw on the upload bucket, the fetcher's on the
//! download bucket, so the cap holds for the host as a whole, not per transfer.

use async_speed_limit::clock::StandardClock;
use async_speed_limit::Limiter;

/// A token-bucket-limited stream (reads and writes both draw on its bucket).
pub type Limited<S> = async_speed_limit::limiter::Resource<S, StandardClock>;

/// A cap that is not a positive, finite number of megabits per second.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("bandwidth cap must be a positive finite number of Mb/s, got {0}")]
pub struct BadCap(pub f64);

/// Bytes per second of a cap in megabits (10^6 bits) per second, the unit ISPs sell.
pub fn mbps_to_bytes_per_sec(mbps: f64) -> f64 {
	mbps * 1e6 / 8.0
}

/// The host's upload and download buckets.
#[derive(Clone, Debug)]
pub struct Bandwidth {
	upload: Limiter<StandardClock>,
	download: Limiter<StandardClock>,
}

impl Bandwidth {
	/// Buckets for the given caps in Mb/s; `None` is unlimited.
	pub fn new(
		max_upload_mbps: Option<f64>,
		max_download_mbps: Option<f64>,
	) -> Result<Self, BadCap> {
		Ok(Self { upload: limiter(max_upload_mbps)?, download: limiter(max_download_mbps)? })
	}

	/// Wraps a stream that sends payloads.
	pub fn upload<S>(&self, stream: S) -> Limited<S> {
		self.upload.clone().limit(stream)
	}

	/// Wraps a stream that receives payloads.
	pub fn download<S>(&self, stream: S) -> Limited<S> {
		self.download.clone().limit(stream)
	}
}

fn limiter(mbps: Option<f64>) -> Result<Limiter<StandardClock>, BadCap> {
	let bytes_per_sec = match mbps {
		None => f64::INFINITY,
		Some(m) if m.is_finite() && m > 0.0 => mbps_to_bytes_per_sec(m),
		Some(m) => return Err(BadCap(m)),
	};
	// A 50 ms refill period (the crate's default is 100 ms) keeps bursts small next to the
	// per-read stall timeout while costing one timer wake-up per 50 ms of capped traffic.
	Ok(Limiter::builder(bytes_per_sec).refill(std::time::Duration::from_millis(50)).build())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn caps_are_megabits_and_bad_caps_are_refused() {
		assert_eq!(mbps_to_bytes_per_sec(110.0), 13_750_000.0);
		assert!(Bandwidth::new(Some(500.0), None).is_ok());
		assert_eq!(Bandwidth::new(Some(0.0), None).unwrap_err(), BadCap(0.0));
		assert!(Bandwidth::new(None, Some(f64::NAN)).is_err());
		assert!(Bandwidth::new(None, Some(-1.0)).is_err());
		assert!(Bandwidth::new(None, Some(f64::INFINITY)).is_err());
	}
}
