//! SparseLoCo's outer step on tch models: pseudo-gradients out, aggregated payloads in.

use tch::{Kind, Tensor};

use crate::sparseloco::gpu::layout::PayloadLayout;
use crate::sparseloco::gpu::GpuAggregator;
use crate::sparseloco::{
	contributions_by_tensor, Aggregation, AggregationRule, CodecError, Payload, Tensor as Array,
};
use crate::tensor_io::{named_shapes, to_array};

/// `Δ = θ_global − θ_local` per tensor, as codec arrays named `names`.
pub fn pseudo_gradient(names: &[String], global: &[Tensor], local: &[Tensor]) -> Vec<Array> {
	assert!(names.len() == global.len() && global.len() == local.len(), "one name per tensor");
	tch::no_grad(|| {
		names
			.iter()
			.zip(global.iter().zip(local))
			.map(|(n, (g, l))| to_array(n, &(g - l)))
			.collect()
	})
}

/// Aggregates `payloads` as `how` says (the codec's rule: per-peer clipping to the median norm,
/// then per position the mean over the peers that kept it, or the sum; see
/// [`crate::sparseloco::aggregate()`]) and applies `θ ← θ − lr·agg` to `theta` (named `names`)
/// in place, on θ's own device. Returns the tensors left unchanged because their new weights
/// would not all be finite (see [`crate::sparseloco::outer_step`]).
///
/// Bit-identical to the codec's [`crate::sparseloco::aggregate()`] +
/// [`crate::sparseloco::outer_step`] on the host, on any device, so peers on CPUs and GPUs hold
/// the same θ: the host computes every kept entry's clipped value `factor · v` exactly as the
/// codec does; the device adds the peers into a zeroed buffer one peer at a time in the shared
/// order (positions are unique within a peer, so each add is one correctly rounded `f32`
/// addition, whatever the order atomics land in), counts them the same way (exact small
/// integers), divides once (IEEE division, also on CUDA: libtorch is not built with fast
/// math), multiplies by `lr`, and subtracts from θ — each a single correctly rounded operation,
/// like the codec's `w - lr * s` (no fused multiply-add: the multiply and the subtraction are
/// separate kernels). θ never leaves the device; only the kept entries travel to it.
///
/// Mismatched payloads or a non-finite `lr` are refused before θ changes. With no payloads θ is
/// left as it is.
pub fn apply_payloads<P: std::borrow::Borrow<Payload>>(
	names: &[String],
	theta: &[Tensor],
	payloads: &[P],
	how: &Aggregation<'_>,
	lr: f32,
) -> Result<Vec<String>, CodecError> {
	assert_eq!(names.len(), theta.len(), "one name per tensor");
	let shapes: Vec<Vec<usize>> =
		theta.iter().map(|t| t.size().iter().map(|&d| d as usize).collect()).collect();
	let model: Vec<(&str, &[usize])> =
		names.iter().map(String::as_str).zip(shapes.iter().map(Vec::as_slice)).collect();
	let contributions = contributions_by_tensor(&model, payloads)?;
	if !lr.is_finite() {
		return Err(CodecError::InvalidLearningRate(lr));
	}
	let Some(device) = theta.first().map(Tensor::device) else { return Ok(Vec::new()) };
	if payloads.is_empty() {
		return Ok(Vec::new());
	}
	let (offsets, total) = flat_offsets(theta);
	// Per peer: flat positions and clipped values of its kept entries.
	let mut entries: Vec<(Vec<i64>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); payloads.len()];
	for (i, (cs, &base)) in contributions.iter().zip(&offsets).enumerate() {
		for (&(peer, c), factor) in cs.iter().zip(how.clip_factors(i, cs)) {
			let (positions, values) = &mut entries[peer];
			positions.reserve(c.num_kept());
			values.reserve(c.num_kept());
			c.for_each_entry(|p, v| {
				positions.push((base + p) as i64);
				values.push(factor * v);
			});
		}
	}
	tch::no_grad(|| {
		let options = (Kind::Float, device);
		let mut step = Tensor::zeros([total as i64], options);
		let mut count =
			(how.rule == AggregationRule::Mean).then(|| Tensor::zeros([total as i64], options));
		for (positions, values) in entries.iter().filter(|(p, _)| !p.is_empty()) {
			let positions = Tensor::from_slice(positions).to_device(device);
			let values = Tensor::from_slice(values).to_device(device);
			let _ = step.index_add_(0, &positions, &values);
			if let Some(count) = &mut count {
				let _ = count.index_add_(0, &positions, &values.ones_like());
			}
		}
		if let Some(count) = count {
			// Positions no peer kept hold 0 / 1 = 0; one peer's x / 1 is x exactly.
			let _ = step.g_div_(&count.clamp_min(1.0));
		}
		take_step(names, theta, &offsets, step, lr)
	})
}

/// [`apply_payloads`] (clipped to the set's median) with the aggregate built on θ's CUDA device
/// by the GPU codec's aggregator from the payloads' wire bytes: the same bits (the aggregator
/// adds the clipped peers in the same order with the same roundings and divides the same way;
/// `check-codec` holds the two equal), without the host building
/// every kept entry's position and clipped value (0.09–0.35 s a window at `124m` with four
/// peers, docs/four-peers.md). `wire` holds the payloads' bytes as received, each of which
/// must have decoded (and so been validated) already: nothing is re-encoded.
///
/// `uploaded[i]`, when given, is payload `i`'s bytes already on θ's device ([`upload_payload`],
/// done while the miner waited for the window), so only the rest are copied now.
///
/// `Ok(Some(skipped))` when the step was taken (`skipped` as [`apply_payloads`] returns it).
/// `Ok(None)`, with θ unchanged, when the aggregator cannot take them: a payload whose tensors
/// or headers differ from `aggregator`'s layout, more peers than the kernels take, or a device
/// error; [`apply_payloads`] can then take the step on the same θ.
pub fn apply_payloads_on_gpu(
	names: &[String],
	theta: &[Tensor],
	wire: &[Vec<u8>],
	uploaded: &[Option<Tensor>],
	rule: AggregationRule,
	lr: f32,
	aggregator: &mut GpuAggregator,
) -> Result<Option<Vec<String>>, CodecError> {
	if !lr.is_finite() {
		return Err(CodecError::InvalidLearningRate(lr));
	}
	let Some(device) = theta.first().map(Tensor::device) else { return Ok(Some(Vec::new())) };
	if wire.is_empty() {
		return Ok(Some(Vec::new()));
	}
	let (offsets, total) = flat_offsets(theta);
	// At debug level, first wait for whatever the device still has queued, so that the upload's
	// time below is the copies' own.
	let mut busy_s = 0.0;
	if tracing::enabled!(tracing::Level::DEBUG) {
		if let tch::Device::Cuda(index) = device {
			let waiting = std::time::Instant::now();
			tch::Cuda::synchronize(index as i64);
			busy_s = waiting.elapsed().as_secs_f64();
		}
	}
	let started = std::time::Instant::now();
	let mut done_uploading = started;
	let staged = uploaded.iter().flatten().filter(|t| t.device() == device).count();
	let summed = tch::no_grad(|| -> Result<Tensor, crate::sparseloco::gpu::GpuCodecError> {
		let on_device = wire
			.iter()
			.enumerate()
			.map(|(i, bytes)| match uploaded.get(i) {
				Some(Some(t)) if t.device() == device => Ok(t.shallow_clone()),
				_ => upload_payload(bytes, device),
			})
			.collect::<Result<Vec<_>, _>>()?;
		done_uploading = std::time::Instant::now();
		let step = Tensor::f_zeros([total as i64], (Kind::Float, device))?;
		let out: Vec<Tensor> = theta
			.iter()
			.zip(&offsets)
			.map(|(t, &base)| {
				step.narrow(0, base as i64, t.numel() as i64).view(t.size().as_slice())
			})
			.collect();
		let headers: Vec<&[u8]> = wire.iter().map(Vec::as_slice).collect();
		aggregator.enqueue(&on_device, &headers, &out, rule)?;
		Ok(step)
	});
	match summed {
		Ok(step) => {
			let enqueued = std::time::Instant::now();
			let skipped = tch::no_grad(|| take_step(names, theta, &offsets, step, lr))?;
			// Where an outer step's time goes: the payloads' copies to the device not made ahead
			// (synchronous), the aggregator's launches, then the sum and θ's update (waited for
			// by the check).
			tracing::debug!(
				busy_s,
				staged,
				upload_s = (done_uploading - started).as_secs_f64(),
				enqueue_s = (enqueued - done_uploading).as_secs_f64(),
				step_s = enqueued.elapsed().as_secs_f64(),
				"outer step on the GPU"
			);
			Ok(Some(skipped))
		}
		Err(e) => {
			tracing::debug!(error = %e, "outer step on the host path");
			Ok(None)
		}
	}
}

/// A payload's wire bytes copied to `device`, as [`apply_payloads_on_gpu`] reads them.
pub fn upload_payload(
	wire: &[u8],
	device: tch::Device,
) -> Result<Tensor, crate::sparseloco::gpu::GpuCodecError> {
	Ok(tch::no_grad(|| Tensor::f_from_slice(wire)?.f_to_device(device))?)
}

/// The GPU aggregator for θ's tensors (`names`, on one CUDA device) and the run's codec.
pub fn gpu_aggregator(
	names: &[String],
	theta: &[Tensor],
	codec: &crate::sparseloco::CodecConfig,
) -> Result<GpuAggregator, crate::sparseloco::gpu::GpuCodecError> {
	let device = theta.first().map(Tensor::device).unwrap_or(tch::Device::Cpu);
	GpuAggregator::new(PayloadLayout::new(&named_shapes(names, theta), codec)?, device)
}

/// Where each of `theta`'s tensors starts in one flat buffer of all of them, and its length.
fn flat_offsets(theta: &[Tensor]) -> (Vec<usize>, usize) {
	let mut offsets = Vec::with_capacity(theta.len());
	let mut total = 0usize;
	for t in theta {
		offsets.push(total);
		total += t.numel();
	}
	(offsets, total)
}

/// `θ ← θ − lr·step` with `step` (the aggregate, θ's tensors laid end to end, on θ's device),
/// tensor by tensor: a tensor any of whose new weights would not be finite is left as it was and
/// named in the result.
fn take_step(
	names: &[String],
	theta: &[Tensor],
	offsets: &[usize],
	mut step: Tensor,
	lr: f32,
) -> Result<Vec<String>, CodecError> {
	// step ← θ − lr·agg, as −(lr·agg) + θ: negation is exact, so this is the codec's rounding.
	let _ = step.g_mul_scalar_(f64::from(lr));
	let _ = step.neg_();
	let mut finite = Vec::with_capacity(theta.len());
	for (t, &base) in theta.iter().zip(offsets) {
		let mut slice = step.narrow(0, base as i64, t.numel() as i64);
		let _ = slice.g_add_(&t.detach().reshape([-1]).to_kind(Kind::Float));
		finite.push(slice.isfinite().all());
	}
	// One transfer for every tensor's verdict.
	let finite = Tensor::stack(&finite, 0).to_kind(Kind::Uint8).to_device(tch::Device::Cpu);
	let finite: Vec<u8> = Vec::try_from(&finite).unwrap_or_default();
	let mut skipped = Vec::new();
	for (((name, t), &base), ok) in names.iter().zip(theta).zip(offsets).zip(finite) {
		if ok == 1 {
			let new = step.narrow(0, base as i64, t.numel() as i64).view(t.size().as_slice());
			t.shallow_clone().copy_(&new);
		} else {
			skipped.push(name.clone());
		}
	}
	Ok(skipped)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::{aggregate, outer_step, ClipTo, CodecConfig};
	use crate::tensor_io::to_tch;
	use tch::Device;

	/// Shapes with 64×64 tiles, irregular tiles, a 1-D norm, a prime length, a 3-D tensor.
	const SHAPES: [&[usize]; 5] = [&[128, 192], &[100, 96], &[64], &[67], &[2, 3, 64]];

	fn model(seed: i64) -> (Vec<String>, Vec<Tensor>) {
		tch::manual_seed(seed);
		SHAPES
			.iter()
			.enumerate()
			.map(|(i, s)| {
				let dims: Vec<i64> = s.iter().map(|&d| d as i64).collect();
				(format!("t{i}"), Tensor::randn(dims.as_slice(), (Kind::Float, Device::Cpu)))
			})
			.unzip()
	}

	/// One payload per peer, peers scaled apart so that clipping to the median matters; the last
	/// peer sends only some tensors.
	fn payloads(names: &[String], theta: &[Tensor], peers: usize, scale: f64) -> Vec<Payload> {
		(0..peers)
			.map(|p| {
				tch::manual_seed(100 + p as i64);
				let arrays: Vec<Array> = names
					.iter()
					.zip(theta)
					.take(if p + 1 == peers { 3 } else { names.len() })
					.map(|(n, t)| to_array(n, &(t.randn_like() * (scale * (1.0 + p as f64)))))
					.collect();
				Payload::compress(&arrays, &CodecConfig::default()).unwrap()
			})
			.collect()
	}

	fn on_host(
		names: &[String],
		theta: &[Tensor],
		payloads: &[Payload],
		how: &Aggregation<'_>,
		lr: f32,
	) -> (Vec<Array>, Vec<String>) {
		let mut arrays: Vec<Array> = names.iter().zip(theta).map(|(n, t)| to_array(n, t)).collect();
		let update = aggregate(&arrays, payloads, how).unwrap();
		let skipped = outer_step(&mut arrays, &update, lr).unwrap();
		(arrays, skipped)
	}

	#[test]
	fn the_device_step_equals_the_codecs_bit_for_bit() {
		let (names, theta) = model(1);
		let sent = payloads(&names, &theta, 5, 1e-3);
		let medians = crate::sparseloco::median_norms(
			&names.iter().map(String::as_str).zip(SHAPES).collect::<Vec<_>>(),
			&sent[..2],
		)
		.unwrap();
		let hows = [
			Aggregation::of_set(AggregationRule::Mean),
			Aggregation::of_set(AggregationRule::Sum),
			Aggregation { rule: AggregationRule::Mean, clip: ClipTo::Medians(&medians) },
		];
		for how in hows {
			for lr in [1.0, 0.65, 0.2] {
				let (want, _) = on_host(&names, &theta, &sent, &how, lr);
				let got: Vec<Tensor> = theta.iter().map(Tensor::copy).collect();
				assert!(apply_payloads(&names, &got, &sent, &how, lr).unwrap().is_empty());
				for (g, w) in got.iter().zip(&want) {
					let g = to_array(&w.name, g);
					let same = g.data.iter().zip(&w.data).all(|(a, b)| a.to_bits() == b.to_bits());
					assert!(same, "tensor {} differs at lr {lr} with {how:?}", w.name);
				}
			}
		}
	}

	#[test]
	fn a_non_finite_tensor_is_skipped_alike_on_host_and_device() {
		let (names, theta) = model(2);
		let loud = payloads(&names, &theta, 3, 1e3);
		// θ at the edge of f32 in tensor t1 only: the step overflows there and nowhere else.
		let _ = theta[1].shallow_clone().fill_(f64::from(f32::MAX));
		let how = Aggregation::of_set(AggregationRule::Mean);
		let (want, host_skipped) = on_host(&names, &theta, &loud, &how, -1e30);
		assert_eq!(host_skipped, vec!["t1".to_string()]);
		let got: Vec<Tensor> = theta.iter().map(Tensor::copy).collect();
		let skipped = apply_payloads(&names, &got, &loud, &how, -1e30).unwrap();
		assert_eq!(skipped, host_skipped);
		for (g, w) in got.iter().zip(&want) {
			let g = to_array(&w.name, g);
			assert!(
				g.data.iter().zip(&w.data).all(|(a, b)| a.to_bits() == b.to_bits()),
				"{}",
				w.name
			);
		}
		assert!(got[1].equal(&theta[1]), "the skipped tensor is unchanged");
		assert!(!got[0].equal(&theta[0]), "the others step");
	}

	#[test]
	fn a_refused_step_leaves_theta_as_it_was() {
		let (names, theta) = model(2);
		let sent = payloads(&names, &theta, 3, 1e-3);
		let before: Vec<Array> = names.iter().zip(&theta).map(|(n, t)| to_array(n, t)).collect();
		let how = Aggregation::default();
		let nan = apply_payloads(&names, &theta, &sent, &how, f32::NAN);
		assert!(matches!(nan, Err(CodecError::InvalidLearningRate(_))), "{nan:?}");
		let (other, _) = model(3);
		let renamed: Vec<String> = other.iter().map(|n| format!("x{n}")).collect();
		let foreign = apply_payloads(&renamed, &theta, &sent, &how, 1.0);
		assert!(matches!(foreign, Err(CodecError::Peer { peer: 0, .. })), "{foreign:?}");
		for (t, b) in theta.iter().zip(&before) {
			assert_eq!(to_array(&b.name, t).data, b.data);
		}
		// No payloads: nothing moves.
		apply_payloads::<Payload>(&names, &theta, &[], &how, 1.0).unwrap();
		for (t, b) in theta.iter().zip(&before) {
			assert!(to_tch(b, Device::Cpu).equal(t));
		}
	}
}
