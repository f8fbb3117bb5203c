//! `bench-codec`: the GPU codec's full error-feedback round and the aggregation of many peers on
//! synthetic models of `1024 × 1024` tensors (the shapes of the PyTorch reference's figures), the
//! device's copy bandwidth (for the memory-bound floor), and the existing CPU path for contrast.

use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use tch::{Device, Kind, Tensor};

use super::{emit, median};
use crate::outer::ErrorBuffers;
use crate::sparseloco::gpu::layout::PayloadLayout;
use crate::sparseloco::gpu::{GpuAggregator, GpuCompressor};
use crate::sparseloco::AggregationRule;
use crate::sparseloco::{CodecConfig, DEFAULT_BETA};
use crate::tensor_io::to_array;

/// Side of the synthetic square tensors.
const SIDE: usize = 1024;

/// What to measure.
#[derive(Debug, Clone)]
pub struct CodecBenchArgs {
	/// The CUDA device.
	pub device: Device,
	/// Model sizes for the error-feedback round (see [`super::parse_params`]).
	pub params: Vec<usize>,
	/// Timed rounds per size (the median is reported).
	pub rounds: usize,
	/// Untimed rounds first.
	pub warmup: usize,
	/// Model size of the aggregation benchmark (none: skipped).
	pub aggregate_params: Option<usize>,
	/// Peers aggregated.
	pub peers: usize,
	/// Model size for the CPU codec's round (none: skipped; it takes seconds per round).
	pub cpu_params: Option<usize>,
}

/// Names and shapes of `round(params / 2²⁰)` (at least one) `1024 × 1024` tensors.
pub fn synthetic_shapes(params: usize) -> Vec<(String, Vec<usize>)> {
	let count = ((params + SIDE * SIDE / 2) / (SIDE * SIDE)).max(1);
	(0..count).map(|i| (format!("layers.{i}.weight"), vec![SIDE, SIDE])).collect()
}

/// Pseudo-gradient-like values, N(0, 1e-6), one tensor per shape, drawn on `device`.
pub fn synthetic_tensors(
	shapes: &[(String, Vec<usize>)],
	device: Device,
	seed: i64,
) -> Vec<Tensor> {
	tch::manual_seed(seed);
	shapes
		.iter()
		.map(|(_, s)| {
			let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
			Tensor::randn(dims.as_slice(), (Kind::Float, device)) * 1e-3
		})
		.collect()
}

/// Device-to-device copy bandwidth (bytes read plus written per second) on 1 GiB, median of 10.
pub fn copy_bandwidth(c: &GpuCompressor, device: Device) -> Result<f64> {
	let n = 1i64 << 28;
	let src = Tensor::randn([n], (Kind::Float, device));
	let mut dst = src.empty_like();
	let (a, b) = (c.timing_event()?, c.timing_event()?);
	let mut ms = Vec::new();
	for i in 0..13 {
		c.record(&a)?;
		dst.copy_(&src);
		c.record(&b)?;
		b.synchronize()?;
		if i >= 3 {
			ms.push(f64::from(a.elapsed_ms(&b)?));
		}
	}
	Ok(2.0 * 4.0 * n as f64 / (median(&ms) * 1e-3))
}

/// Runs the benchmark, printing one JSON line per measurement.
pub fn run(args: &CodecBenchArgs) -> Result<()> {
	let cfg = CodecConfig::default();
	let device = args.device;
	let probe_shapes = synthetic_shapes(SIDE * SIDE);
	let probe =
		GpuCompressor::new(&probe_shapes, &cfg, device).context("starting the GPU codec")?;
	let bandwidth = copy_bandwidth(&probe, device)?;
	emit(&json!({"bench": "copy_bandwidth", "bytes_per_s": bandwidth}));
	drop(probe);

	for &params in &args.params {
		let shapes = synthetic_shapes(params);
		let delta = synthetic_tensors(&shapes, device, 7);
		let ef: Vec<Tensor> = delta.iter().map(Tensor::zeros_like).collect();
		let mut c = GpuCompressor::new(&shapes, &cfg, device)?;
		let (start, computed, copied) = (c.timing_event()?, c.timing_event()?, c.timing_event()?);
		let (mut compute_ms, mut total_ms) = (Vec::new(), Vec::new());
		let mut payload_bytes = 0;
		for r in 0..args.warmup + args.rounds {
			c.record(&start)?;
			c.enqueue_step(&ef, &delta, DEFAULT_BETA)?;
			c.record(&computed)?;
			c.join_copy()?;
			c.record(&copied)?;
			payload_bytes = c.finish()?.len();
			if r >= args.warmup {
				compute_ms.push(f64::from(start.elapsed_ms(&computed)?));
				total_ms.push(f64::from(start.elapsed_ms(&copied)?));
			}
		}
		let n = c.layout().tensors().iter().map(|t| t.numel()).sum::<usize>();
		let kept = c.layout().total_entries();
		// The least a round must move: read Δ and e, write e (12 B per element), read and write e
		// at the kept positions, write the payload.
		let floor_bytes = 12 * n + 8 * kept + payload_bytes;
		let floor_ms = floor_bytes as f64 / bandwidth * 1e3;
		let round_ms = median(&compute_ms);
		emit(&json!({
			"bench": "codec_round", "impl": "rust-gpu", "params": n, "tensors": shapes.len(),
			"round_ms": round_ms, "round_min_ms": compute_ms.iter().copied().fold(f64::MAX, f64::min),
			"round_with_host_copy_ms": median(&total_ms), "payload_bytes": payload_bytes,
			"kept": kept, "floor_ms": floor_ms, "floor_bytes": floor_bytes,
			"rounds": args.rounds,
		}));
		tracing::info!(params = n, round_ms, floor_ms, "GPU codec round");
	}

	if let Some(params) = args.aggregate_params {
		aggregate_bench(args, &cfg, params, bandwidth)?;
	}
	if let Some(params) = args.cpu_params {
		cpu_round(args, &cfg, params)?;
	}
	Ok(())
}

fn aggregate_bench(
	args: &CodecBenchArgs,
	cfg: &CodecConfig,
	params: usize,
	bandwidth: f64,
) -> Result<()> {
	let device = args.device;
	let shapes = synthetic_shapes(params);
	let mut c = GpuCompressor::new(&shapes, cfg, device)?;
	let (mut payloads, mut headers) = (Vec::new(), Vec::new());
	for p in 0..args.peers {
		let delta = synthetic_tensors(&shapes, device, 1000 + p as i64);
		headers.push(c.compress(&delta)?.to_vec());
		payloads.push(c.payload_on_device().copy());
	}
	let out: Vec<Tensor> = shapes
		.iter()
		.map(|(_, s)| Tensor::zeros([s[0] as i64, s[1] as i64], (Kind::Float, device)))
		.collect();
	let layout = PayloadLayout::new(&shapes, cfg)?;
	let payload_len = layout.payload_len();
	let mut agg = GpuAggregator::new(layout, device)?;
	let refs: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
	let (start, end) = (agg.timing_event()?, agg.timing_event()?);
	let mut ms = Vec::new();
	for r in 0..args.warmup + args.rounds {
		agg.record(&start)?;
		agg.enqueue(&payloads, &refs, &out, AggregationRule::Mean)?;
		agg.record(&end)?;
		agg.synchronize()?;
		if r >= args.warmup {
			ms.push(f64::from(start.elapsed_ms(&end)?));
		}
	}
	let n = params_of(&shapes);
	// The least it must move: every payload read once, the dense sum written once.
	let floor_bytes = 4 * n + args.peers * payload_len;
	let t = median(&ms);
	emit(&json!({
		"bench": "aggregate", "impl": "rust-gpu", "params": n, "peers": args.peers,
		"ms": t, "floor_ms": floor_bytes as f64 / bandwidth * 1e3, "floor_bytes": floor_bytes,
		"rounds": args.rounds,
	}));
	tracing::info!(params = n, peers = args.peers, ms = t, "GPU aggregation");
	Ok(())
}

fn params_of(shapes: &[(String, Vec<usize>)]) -> usize {
	shapes.iter().map(|(_, s)| s.iter().product::<usize>()).sum()
}

/// The path the trainer took before the GPU codec: copy Δ to the host, then the CPU codec's
/// error-feedback round (one thread) and encoding.
fn cpu_round(args: &CodecBenchArgs, cfg: &CodecConfig, params: usize) -> Result<()> {
	let shapes = synthetic_shapes(params);
	let delta = synthetic_tensors(&shapes, args.device, 7);
	let mut ef = ErrorBuffers::new(DEFAULT_BETA)?;
	let mut ms = Vec::new();
	for _ in 0..2 {
		let t0 = Instant::now();
		let arrays: Vec<_> = shapes.iter().zip(&delta).map(|((n, _), t)| to_array(n, t)).collect();
		let bytes = ef.step(&arrays, cfg)?.encode();
		ms.push(t0.elapsed().as_secs_f64() * 1e3);
		anyhow::ensure!(!bytes.is_empty(), "empty CPU payload");
	}
	emit(&json!({
		"bench": "codec_round", "impl": "rust-cpu", "params": params_of(&shapes),
		"tensors": shapes.len(), "round_ms": ms[1], "first_round_ms": ms[0],
	}));
	Ok(())
}
