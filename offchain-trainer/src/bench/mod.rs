//! GPU benchmarks and checks behind `gauntlet-trainer bench-codec`, `check-codec`, `check-fused`
//! and `bench-train`. Each prints one JSON object per measurement on stdout (`scripts/gpu/bench.sh`
//! collects them next to the PyTorch reference's into `docs/gpu-bench.md`) and logs progress on
//! stderr. Speed targets live in that table, never in tests.

pub mod check;
pub mod codec;
pub mod fused;
pub mod train;

use serde_json::Value;
use tch::{Device, Kind, Tensor};

use crate::data::Batch;

/// Waits for `device`'s queued work, so that a host clock times it.
pub fn synchronize(device: Device) {
	if let Device::Cuda(n) = device {
		tch::Cuda::synchronize(n as i64);
	}
}

/// `batch` sequences of `seq` random tokens below `vocab`, with next-token targets (libtorch's
/// generator: seed it first for a reproducible batch).
pub fn random_batch(vocab: i64, batch: i64, seq: i64, device: Device) -> Batch {
	let tokens = Tensor::randint(vocab, [batch, seq + 1], (Kind::Int64, device));
	Batch {
		inputs: tokens.narrow(1, 0, seq).contiguous(),
		targets: tokens.narrow(1, 1, seq).contiguous(),
	}
}

/// Prints one result line.
pub fn emit(v: &Value) {
	println!("{v}");
}

/// Median of `xs` (the mean of the two middle values for an even count); 0 when empty.
pub fn median(xs: &[f64]) -> f64 {
	if xs.is_empty() {
		return 0.0;
	}
	let mut s = xs.to_vec();
	s.sort_by(f64::total_cmp);
	let m = s.len() / 2;
	if s.len() % 2 == 1 {
		s[m]
	} else {
		(s[m - 1] + s[m]) / 2.0
	}
}

/// Parameter counts of the codec benchmark's synthetic models, by name: `124m` (119 tensors of
/// 1024×1024, 124.8M), `1b` (1024 tensors, 1.07B), `4b` (4096 tensors, 4.29B) — the sizes of the
/// PyTorch figures in `shared/reference/sparseloco.md` — or a plain number.
pub fn parse_params(s: &str) -> Result<usize, String> {
	const M: usize = 1 << 20;
	match s.trim().to_ascii_lowercase().as_str() {
		"124m" => Ok(119 * M),
		"1b" => Ok(1024 * M),
		"4b" => Ok(4096 * M),
		other => {
			other.parse().map_err(|_| format!("unknown size {other:?}: 124m, 1b, 4b or a number"))
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sizes_and_medians() {
		assert_eq!(parse_params("1b"), Ok(1 << 30));
		assert_eq!(parse_params("124M"), Ok(124_780_544));
		assert_eq!(parse_params("4b"), Ok(1 << 32));
		assert_eq!(parse_params("1000"), Ok(1000));
		assert!(parse_params("huge").is_err());
		assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
		assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
		assert_eq!(median(&[]), 0.0);
	}
}
