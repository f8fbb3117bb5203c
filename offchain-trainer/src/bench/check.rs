//! `check-codec`: the GPU codec against the CPU codec on the same input. Error-feedback rounds on a
//! real model's shapes plus shapes that take the kernels' unusual paths, then an aggregation of
//! several peers; every payload must decode to the CPU codec's result ([`compare_payloads`]).

use anyhow::{Context, Result};
use serde_json::json;
use tch::{Device, Kind, Tensor};

use super::{emit, synchronize};
use crate::host_copy::HostCopies;
use crate::model::{ModelConfig, Precision};
use crate::outer::{
	apply_payloads, apply_payloads_on_gpu, gpu_aggregator, pseudo_gradient, ErrorBuffers,
	GpuErrorBuffers,
};
use crate::sparseloco::gpu::compare::{compare_payloads, max_dense_diff};
use crate::sparseloco::gpu::layout::PayloadLayout;
use crate::sparseloco::gpu::{GpuAggregator, GpuCompressor};
use crate::sparseloco::{
	aggregate, outer_step, Aggregation, AggregationRule, CodecConfig, DecodeLimits, Payload,
	Tensor as Array, DEFAULT_BETA,
};
use crate::tensor_io::{named_shapes, to_array, to_tch};
use crate::training::TrainableModel;

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckArgs {
	/// The CUDA device.
	pub device: Device,
	/// Built-in model whose tensor shapes are used.
	pub model: String,
	/// Error-feedback rounds.
	pub rounds: usize,
	/// Peers in the aggregation check.
	pub peers: usize,
}

/// Shapes beyond a LLaMA's 64×64 tiles and 1-D norms: a 50×48 tile (irregular addressing), a
/// prime length (single-entry chunks, an odd kept count), k = 62 (codes straddle chunk
/// boundaries), a 3-D tensor.
fn extra_shapes() -> Vec<(String, Vec<usize>)> {
	[vec![100, 96], vec![67], vec![63], vec![7, 63], vec![2, 3, 64], vec![128, 128]]
		.into_iter()
		.enumerate()
		.map(|(i, s)| (format!("extra.{i}"), s))
		.collect()
}

/// The pseudo-gradient of `round`: N(0, 1e-6) everywhere, except tensor `extra.5`, which is
/// quantized to a few levels (many exact ties at every selection boundary) and zero in round 0
/// (every key equal: the kernel's flat-data path).
fn delta(shapes: &[(String, Vec<usize>)], device: Device, round: usize) -> Vec<Tensor> {
	tch::manual_seed(100 + round as i64);
	shapes
		.iter()
		.map(|(name, s)| {
			let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
			let t = Tensor::randn(dims.as_slice(), (Kind::Float, device)) * 1e-3;
			if name == "extra.5" {
				if round == 0 {
					t.zeros_like()
				} else {
					(t * 2e3).round() * 1e-3
				}
			} else {
				t
			}
		})
		.collect()
}

fn arrays(shapes: &[(String, Vec<usize>)], tensors: &[Tensor]) -> Vec<Array> {
	shapes.iter().zip(tensors).map(|((n, _), t)| to_array(n, t)).collect()
}

/// Runs the check, printing one JSON line per round and one for the aggregation. Returns whether
/// everything agreed.
pub fn run(args: &CheckArgs) -> Result<bool> {
	let cfg = CodecConfig::default();
	let device = args.device;
	let model = ModelConfig::builtin(&args.model)?;
	let m = TrainableModel::new(&model, Device::Cpu, Precision::Fp32, 0);
	let mut shapes = named_shapes(m.names(), m.params());
	drop(m);
	shapes.extend(extra_shapes());
	let limits = DecodeLimits::new(usize::MAX);

	let mut gpu = GpuCompressor::new(&shapes, &cfg, device).context("starting the GPU codec")?;
	let ef: Vec<Tensor> = shapes
		.iter()
		.map(|(_, s)| {
			let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
			Tensor::zeros(dims.as_slice(), (Kind::Float, device))
		})
		.collect();
	let mut cpu = ErrorBuffers::new(DEFAULT_BETA)?;
	let mut ok = true;
	for round in 0..args.rounds {
		let d = delta(&shapes, device, round);
		let d_host = arrays(&shapes, &d);
		// What both compress: β·e + Δ, in f32 exactly as both codecs compute it.
		let sources: Vec<Array> = if cpu.arrays().is_empty() {
			d_host.clone()
		} else {
			cpu.arrays()
				.iter()
				.zip(&d_host)
				.map(|(e, d)| {
					let data =
						e.data.iter().zip(&d.data).map(|(&e, &d)| DEFAULT_BETA * e + d).collect();
					Array { name: e.name.clone(), shape: e.shape.clone(), data }
				})
				.collect()
		};
		let want = cpu.step(&d_host, &cfg)?;
		let want_bytes = want.encode();
		let got_bytes = gpu.step(&ef, &d, DEFAULT_BETA)?.to_vec();
		let got = Payload::decode(&got_bytes, &limits).context("decoding the GPU payload")?;
		let r = compare_payloads(&got, &want, Some(&sources));
		let ef_got = arrays(&shapes, &ef);
		let (ef_abs, ef_rel) = ef_got
			.iter()
			.zip(cpu.arrays())
			.map(|(a, b)| max_dense_diff(&a.data, &b.data))
			.fold((0.0f64, 0.0f64), |(x, y), (a, b)| (x.max(a), y.max(b)));
		let agrees = r.agrees() && (r.tie_chunks > 0 || ef_rel <= 1e-6);
		ok &= agrees;
		emit(&json!({
			"bench": "check_round", "round": round, "tensors": r.tensors, "chunks": r.chunks,
			"entries": r.entries, "bytes_equal": got_bytes == want_bytes,
			"index_mismatches": r.index_mismatches, "tie_chunks": r.tie_chunks,
			"value_mismatches": r.value_mismatches, "max_value_rel_err": r.max_value_rel_err,
			"ef_max_abs_diff": ef_abs, "ef_max_rel_diff": ef_rel, "agrees": agrees,
		}));
	}

	// Aggregation: each peer compresses its own Δ (no error feedback); the CPU aggregates the
	// decoded payloads, the GPU their device copies.
	let layout = PayloadLayout::new(&shapes, &cfg)?;
	let (mut payloads, mut bytes, mut decoded) = (Vec::new(), Vec::new(), Vec::new());
	for p in 0..args.peers {
		let d = delta(&shapes, device, 10 + p);
		// Scale peers differently so that clipping to the median norm matters.
		let d: Vec<Tensor> = d.iter().map(|t| t * (1.0 + p as f64)).collect();
		let b = gpu.compress(&d)?.to_vec();
		decoded.push(Payload::decode(&b, &limits)?);
		payloads.push(gpu.payload_on_device().copy());
		bytes.push(b);
	}
	let zeros: Vec<Array> =
		shapes.iter().map(|(n, s)| Array::zeros(n.clone(), s.clone())).collect::<Result<_, _>>()?;
	let mut agg = GpuAggregator::new(layout, device)?;
	let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
	for rule in [AggregationRule::Mean, AggregationRule::Sum] {
		let want = aggregate(&zeros, &decoded, &Aggregation::of_set(rule))?;
		let out: Vec<Tensor> = ef.iter().map(Tensor::zeros_like).collect();
		agg.enqueue(&payloads, &refs, &out, rule)?;
		agg.synchronize()?;
		let got = arrays(&shapes, &out);
		let (abs, rel) = got
			.iter()
			.zip(&want)
			.map(|(a, b)| max_dense_diff(&a.data, &b.data))
			.fold((0.0f64, 0.0f64), |(x, y), (a, b)| (x.max(a), y.max(b)));
		let exact = got.iter().zip(&want).all(|(a, b)| a.data == b.data);
		let agrees = rel <= 1e-6;
		ok &= agrees;
		emit(&json!({
			"bench": "check_aggregate", "rule": rule.name(), "peers": args.peers,
			"tensors": shapes.len(), "bitwise_equal": exact, "max_abs_diff": abs,
			"max_rel_diff": rel, "agrees": agrees,
		}));
	}
	for rule in [AggregationRule::Mean, AggregationRule::Sum] {
		ok &= check_outer_step(&shapes, &decoded, rule, device)?;
	}
	ok &= check_miner_round(&shapes, device, args.rounds)?;
	Ok(ok)
}

/// The miner's round on the device ([`GpuErrorBuffers`]: `θ − local`, error feedback and codec on
/// the GPU) against the host's ([`ErrorBuffers`] on [`pseudo_gradient`]'s host arrays): equal
/// payload bytes in every round. Then θ's host copy on the copy stream ([`HostCopies`]) against
/// `to_array` in line: equal arrays, and how long each holds the caller.
fn check_miner_round(
	shapes: &[(String, Vec<usize>)],
	device: Device,
	rounds: usize,
) -> Result<bool> {
	let cfg = CodecConfig::default();
	let names: Vec<String> = shapes.iter().map(|(n, _)| n.clone()).collect();
	let theta = random_weights(shapes, device, 11);
	let mut host = ErrorBuffers::new(DEFAULT_BETA)?;
	let mut on_device = GpuErrorBuffers::new(&host, &names, &theta, &cfg)?;
	let mut equal_rounds = 0;
	for round in 0..rounds {
		let d = delta(shapes, device, 20 + round);
		let local: Vec<Tensor> = theta.iter().zip(&d).map(|(t, d)| t - d * 0.01).collect();
		let want = host.step(&pseudo_gradient(&names, &theta, &local), &cfg)?.encode();
		let got = on_device.step(&theta, &local)?;
		equal_rounds += usize::from(got == want);
	}

	let sync = || synchronize(device);
	let named: Vec<(&str, &Tensor)> = names.iter().map(String::as_str).zip(&theta).collect();
	let copies = HostCopies::for_device(device);
	// Once untimed: the first copy pins its buffer.
	copies.start(&named)?.wait()?;
	sync();
	let t0 = std::time::Instant::now();
	let inline: Vec<Array> = named.iter().map(|(n, t)| to_array(n, t)).collect();
	let to_array_s = t0.elapsed().as_secs_f64();
	sync();
	let t0 = std::time::Instant::now();
	let pending = copies.start(&named)?;
	let copy_start_s = t0.elapsed().as_secs_f64();
	let copied = pending.wait()?;
	let copy_wait_s = t0.elapsed().as_secs_f64() - copy_start_s;
	let copy_equal = copied.len() == inline.len()
		&& copied.iter().zip(&inline).all(|(a, b)| {
			a.name == b.name
				&& a.shape == b.shape
				&& a.data.iter().zip(&b.data).all(|(x, y)| x.to_bits() == y.to_bits())
		});
	let params: usize = shapes.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
	emit(&json!({
		"bench": "check_miner_round", "rounds": rounds, "bytes_equal_rounds": equal_rounds,
		"params": params, "host_copy_equal": copy_equal, "to_array_s": to_array_s,
		"copy_start_s": copy_start_s, "copy_wait_s": copy_wait_s,
	}));
	Ok(equal_rounds == rounds && copy_equal)
}

/// The outer step every peer takes with the window's aggregate: [`apply_payloads`] on θ in
/// device memory against the codec's [`aggregate`] + [`outer_step`] on the host. They must agree
/// bit for bit (θ is identical on every peer, whatever its device); both are timed (median of 5,
/// the host one including θ's copy to the host and back, as a peer without the device path pays).
fn check_outer_step(
	shapes: &[(String, Vec<usize>)],
	payloads: &[Payload],
	rule: AggregationRule,
	device: Device,
) -> Result<bool> {
	let how = Aggregation::of_set(rule);
	let lr = crate::sparseloco::DEFAULT_OUTER_LR;
	let names: Vec<String> = shapes.iter().map(|(n, _)| n.clone()).collect();
	let theta = random_weights(shapes, device, 7);
	let sync = || synchronize(device);
	let (mut host_s, mut device_s, mut aggregator_s) = (Vec::new(), Vec::new(), Vec::new());
	let mut want = Vec::new();
	let mut got = Vec::new();
	let mut got_aggregator = Vec::new();
	let mut aggregator = gpu_aggregator(&names, &theta, &CodecConfig::default())?;
	let mut aggregator_used = true;
	for _ in 0..5 {
		sync();
		let t0 = std::time::Instant::now();
		let mut host = arrays(shapes, &theta);
		let update = aggregate(&host, payloads, &how)?;
		outer_step(&mut host, &update, lr)?;
		let back: Vec<Tensor> = host.iter().map(|a| to_tch(a, device)).collect();
		sync();
		host_s.push(t0.elapsed().as_secs_f64());
		drop(back);
		want = host;

		let on_device: Vec<Tensor> = theta.iter().map(Tensor::copy).collect();
		sync();
		let t0 = std::time::Instant::now();
		apply_payloads(&names, &on_device, payloads, &how, lr)?;
		sync();
		device_s.push(t0.elapsed().as_secs_f64());
		got = arrays(shapes, &on_device);

		// Peers hold the bytes they received: encoding is not part of the step.
		let wire: Vec<Vec<u8>> = payloads.iter().map(Payload::encode).collect();
		let on_device: Vec<Tensor> = theta.iter().map(Tensor::copy).collect();
		sync();
		let t0 = std::time::Instant::now();
		aggregator_used &=
			apply_payloads_on_gpu(&names, &on_device, &wire, &[], rule, lr, &mut aggregator)?
				.is_some();
		sync();
		aggregator_s.push(t0.elapsed().as_secs_f64());
		got_aggregator = arrays(shapes, &on_device);
	}
	let bitwise = |got: &[Array]| {
		got.iter()
			.zip(&want)
			.all(|(a, b)| a.data.iter().zip(&b.data).all(|(x, y)| x.to_bits() == y.to_bits()))
	};
	let exact = bitwise(&got);
	let aggregator_exact = aggregator_used && bitwise(&got_aggregator);
	let params: usize = shapes.iter().map(|(_, s)| s.iter().product::<usize>()).sum();
	emit(&json!({
		"bench": "check_outer_step", "rule": rule.name(), "peers": payloads.len(),
		"tensors": shapes.len(),
		"params": params, "bitwise_equal": exact, "host_s": super::median(&host_s),
		"device_s": super::median(&device_s), "aggregator_bitwise_equal": aggregator_exact,
		"aggregator_s": super::median(&aggregator_s),
	}));
	Ok(exact && aggregator_exact)
}

/// Weights like a freshly initialised model's (N(0, 0.02²)) for `shapes` on `device`, from `seed`.
fn random_weights(shapes: &[(String, Vec<usize>)], device: Device, seed: i64) -> Vec<Tensor> {
	tch::manual_seed(seed);
	shapes
		.iter()
		.map(|(_, s)| {
			let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
			Tensor::randn(dims.as_slice(), (Kind::Float, device)) * 0.02
		})
		.collect()
}
