//! CPU benchmark of the codec, as a markdown table (no benchmark framework needed).

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::codec::Payload;
use super::config::CodecConfig;
use super::tensor::Tensor;
use super::wire::DecodeLimits;

/// Side of the square test tensors: a GPT-style `1024 × 1024` projection of 64×64 tiles.
const SIDE: usize = 1024;

/// Repetitions per measurement; the fastest is reported (least disturbed by other load).
const REPS: usize = 3;

/// Deterministic standard-normal samples: xorshift64* and Box–Muller, so the benchmark needs
/// no `rand` crate and every run measures the same data.
pub fn normal_samples(n: usize, seed: u64) -> Vec<f32> {
	let mut s = seed | 1;
	let mut next = move || {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		// Top 53 bits to a uniform in (0, 1]: never 0, so `ln` stays finite.
		((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
	};
	let mut out = Vec::with_capacity(n);
	while out.len() < n {
		let (u1, u2) = (next(), next());
		let r = (-2.0 * u1.ln()).sqrt();
		let t = std::f64::consts::TAU * u2;
		out.push((r * t.cos()) as f32);
		if out.len() < n {
			out.push((r * t.sin()) as f32);
		}
	}
	out
}

/// A synthetic model of `round(params / 2²⁰)` (at least one) `1024 × 1024` tensors filled with
/// standard-normal values scaled to a pseudo-gradient-like 1e-3.
pub fn synthetic_model(params: usize) -> Vec<Tensor> {
	let count = ((params + SIDE * SIDE / 2) / (SIDE * SIDE)).max(1);
	(0..count)
		.map(|i| {
			let data = normal_samples(SIDE * SIDE, 0x9E37_79B9_7F4A_7C15 ^ i as u64)
				.into_iter()
				.map(|v| v * 1e-3)
				.collect();
			Tensor { name: format!("layers.{i}.weight"), shape: vec![SIDE, SIDE], data }
		})
		.collect()
}

fn best_of<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
	let mut best = Duration::MAX;
	let mut last = None;
	for _ in 0..REPS {
		let t0 = Instant::now();
		let out = f();
		best = best.min(t0.elapsed());
		last = Some(out);
	}
	(best, last.expect("REPS > 0"))
}

/// Measures compression (top-k, quantization and encoding to bytes) and decompression (decoding
/// and validating the bytes, then reconstructing dense tensors) on one thread for synthetic
/// models of about each of `params` parameters, with the default [`CodecConfig`], and returns a
/// markdown table: times, throughput, payload size, wire bits per kept entry (headers included)
/// and the compression ratio against dense fp32 and bf16.
pub fn bench_table(params: &[usize]) -> String {
	let cfg = CodecConfig::default();
	let mut table = String::from(
		"| params | tensors | compress ms | compress Mparam/s | decompress ms | decompress Mparam/s \
		 | payload bytes | kept entries | bits / kept entry | ratio vs fp32 | ratio vs bf16 |\n\
		 |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
	);
	for &p in params {
		let model = synthetic_model(p);
		let n: usize = model.iter().map(Tensor::numel).sum();
		let (t_c, bytes) = best_of(|| {
			Payload::compress(&model, &cfg).map(|payload| payload.encode()).unwrap_or_default()
		});
		let limits = DecodeLimits::for_model(&model, bytes.len());
		let (t_d, dense) = best_of(|| {
			Payload::decode(&bytes, &limits).map(|payload| payload.decompress()).unwrap_or_default()
		});
		let kept: usize = Payload::decode(&bytes, &limits).map(|p| p.num_kept()).unwrap_or(0);
		// Guard against measuring a failure path.
		let ok = dense.len() == model.len() && kept > 0;
		let mps = |t: Duration| n as f64 / t.as_secs_f64() / 1e6;
		let _ = writeln!(
			table,
			"| {n} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {kept} | {:.3} | {:.1}x | {:.1}x |{}",
			model.len(),
			t_c.as_secs_f64() * 1e3,
			mps(t_c),
			t_d.as_secs_f64() * 1e3,
			mps(t_d),
			bytes.len(),
			bytes.len() as f64 * 8.0 / kept.max(1) as f64,
			(4 * n) as f64 / bytes.len().max(1) as f64,
			(2 * n) as f64 / bytes.len().max(1) as f64,
			if ok { "" } else { " FAILED" },
		);
	}
	table
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn samples_look_standard_normal() {
		let v = normal_samples(100_000, 7);
		let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
		let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / v.len() as f64;
		assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.02, "mean {mean} var {var}");
		assert!(v.iter().all(|x| x.is_finite()));
	}

	#[test]
	fn small_table_has_a_row_per_size() {
		let t = bench_table(&[1]);
		assert_eq!(t.lines().count(), 3, "{t}");
		assert!(!t.contains("FAILED"), "{t}");
		// One 1024×1024 tensor: 256 tiles × 64 kept × 14 bits + headers.
		assert!(t.contains("| 1048576 | 1 |"), "{t}");
		assert!(t.contains("| 16384 |"), "{t}");
	}
}
