//! Aggregation of many peers' payloads and the outer SGD step: Templar's rule
//! (`compress.py: batch_decompress`, `neurons.py: outer_step`), matched exactly.
//!
//! Clipping: each peer's contribution to a tensor is scaled by
//! `min(1, median / (‖ê_peer‖₂ + 1e-8))`, where `‖ê_peer‖₂` is the L2 norm of that peer's
//! reconstructed kept values for the tensor and `median` is the median of those norms over the
//! peers that sent the tensor (the lower middle one for an even count, as `torch.median`). A
//! peer at or below the median contributes exactly what it sent; a loud (or malicious) peer is
//! cut to the median norm, and more than half of the peers would have to be loud to move it;
//! quiet peers are never amplified (the factor is at most 1).
//!
//! Reduction ([`AggregationRule`]): Templar combines all peers' (index, value) pairs with
//! `scatter_reduce(reduce="mean", include_self=False)`, so **each position gets the mean over
//! the peers that kept it** ([`AggregationRule::Mean`], the default). The size of the step then
//! does not grow with the number of peers or with how much their kept positions overlap; a sum
//! ([`AggregationRule::Sum`], kept for comparison) does, and diverged at 20 peers with η = 1
//! (issue 23's measurement). Entries no peer sent stay zero.
//!
//! Bit-identical everywhere: every implementation (this one, the outer step on tch tensors and
//! the GPU aggregator) computes each kept entry's clipped value `factor · v` as one `f32`
//! product, adds the peers at a position in set order (one correctly rounded `f32` addition
//! each), counts them exactly, and takes the mean with one correctly rounded `f32` division.
//!
//! Non-finite results: a tensor whose new weights `θ − η·agg` would not all be finite is left
//! as it was for the round ([`outer_step`] names it), as Templar skips it; since every peer
//! computes the same bits, every peer skips the same tensors.

use std::borrow::Borrow;
use std::collections::HashMap;

use super::codec::{CompressedTensor, Payload};
use super::error::CodecError;
use super::tensor::Tensor;

/// Added to a peer's norm before dividing, as Templar does, so a zero-norm peer is harmless.
pub const NORM_EPS: f64 = 1e-8;

/// How the peers' clipped values at one position combine.
#[derive(
	Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AggregationRule {
	/// The mean over the peers that kept the position (Templar's `scatter_reduce` mean).
	#[default]
	Mean,
	/// The sum over the peers (this project's first rule; kept for comparison runs).
	Sum,
}

impl AggregationRule {
	/// The rule's name in configurations and tables.
	pub fn name(self) -> &'static str {
		match self {
			Self::Mean => "mean",
			Self::Sum => "sum",
		}
	}
}

impl std::fmt::Display for AggregationRule {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(self.name())
	}
}

impl std::str::FromStr for AggregationRule {
	type Err = CodecError;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"mean" => Ok(Self::Mean),
			"sum" => Ok(Self::Sum),
			other => Err(CodecError::UnknownAggregationRule(other.to_string())),
		}
	}
}

/// What each peer's contribution to a tensor is clipped to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum ClipTo<'a> {
	/// The median norm of the peers aggregated together (the outer step).
	#[default]
	SetMedian,
	/// Given medians, one per tensor of the model in its order (a validator's trial step: the
	/// median of the payloads it evaluated in the window, as the aggregate would clip them).
	Medians(&'a [f64]),
}

/// One aggregation's settings: the reduction and the clip.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Aggregation<'a> {
	/// How peers combine at a position.
	pub rule: AggregationRule,
	/// What peers are clipped to.
	pub clip: ClipTo<'a>,
}

impl Aggregation<'_> {
	/// The outer step's aggregation under `rule`: clipped to the set's median.
	pub fn of_set(rule: AggregationRule) -> Self {
		Self { rule, clip: ClipTo::SetMedian }
	}

	/// Each contribution's clip factor for tensor `tensor` of the model (`contributions` as
	/// [`contributions_by_tensor`] lists them).
	pub fn clip_factors(
		&self,
		tensor: usize,
		contributions: &[(usize, &CompressedTensor)],
	) -> Vec<f32> {
		let norms: Vec<f64> = contributions.iter().map(|(_, c)| c.norm()).collect();
		match self.clip {
			ClipTo::SetMedian => clip_factors(&norms),
			ClipTo::Medians(m) => {
				// A tensor no evaluated payload sent has no median: nothing to clip to, so the
				// contribution is clipped to zero rather than passed at any size.
				let median = m.get(tensor).copied().unwrap_or(0.0);
				norms.iter().map(|&n| clip_factor(median, n)).collect()
			}
		}
	}
}

/// Median used for clipping: the lower middle element for an even count (`torch.median`).
/// Returns 0 for an empty slice.
pub fn median_norm(norms: &[f64]) -> f64 {
	if norms.is_empty() {
		return 0.0;
	}
	let mut sorted = norms.to_vec();
	sorted.sort_by(f64::total_cmp);
	sorted[(sorted.len() - 1) / 2]
}

/// `min(1, median / (norm + 1e-8))`, in `f64`, rounded once to `f32`.
fn clip_factor(median: f64, norm: f64) -> f32 {
	(median / (norm + NORM_EPS)).min(1.0) as f32
}

/// Per-peer clip factors `min(1, median / (norm + 1e-8))` for one tensor's contributions.
pub fn clip_factors(norms: &[f64]) -> Vec<f32> {
	let median = median_norm(norms);
	norms.iter().map(|&n| clip_factor(median, n)).collect()
}

/// The median norm of each tensor of `model` over `peers` (0 where no peer sent it): what
/// [`ClipTo::Medians`] takes. Errors as [`contributions_by_tensor`].
pub fn median_norms<P: Borrow<Payload>>(
	model: &[(&str, &[usize])],
	peers: &[P],
) -> Result<Vec<f64>, CodecError> {
	Ok(contributions_by_tensor(model, peers)?
		.iter()
		.map(|cs| median_norm(&cs.iter().map(|(_, c)| c.norm()).collect::<Vec<_>>()))
		.collect())
}

/// The peers' compressed versions of each tensor of `model` (name and shape of each tensor),
/// in `model`'s order, each with the index of its peer in `peers`, in peer order. `peers` may
/// be payloads or references to them, so a caller aggregating a subset borrows, never clones.
///
/// Every tensor of every payload must exist in `model` with the same shape; otherwise the error
/// names the peer ([`CodecError::Peer`]) so the caller can drop it and aggregate again. A peer
/// may omit tensors: it then takes no part in that tensor's median or mean.
pub fn contributions_by_tensor<'p, P: Borrow<Payload>>(
	model: &[(&str, &[usize])],
	peers: &'p [P],
) -> Result<Vec<Vec<(usize, &'p CompressedTensor)>>, CodecError> {
	let mut index: HashMap<&str, usize> = HashMap::with_capacity(model.len());
	for (i, (name, _)) in model.iter().enumerate() {
		if index.insert(name, i).is_some() {
			return Err(CodecError::DuplicateName(name.to_string()));
		}
	}
	let mut contributions: Vec<Vec<(usize, &CompressedTensor)>> = vec![Vec::new(); model.len()];
	for (peer, payload) in peers.iter().enumerate() {
		for c in payload.borrow().tensors() {
			let wrap = |source| CodecError::Peer { peer, source: Box::new(source) };
			let &i = index
				.get(c.name())
				.ok_or_else(|| wrap(CodecError::UnknownTensor(c.name().into())))?;
			if model[i].1 != c.shape() {
				return Err(wrap(CodecError::ShapeMismatch {
					name: c.name().into(),
					expected: model[i].1.to_vec(),
					actual: c.shape().to_vec(),
				}));
			}
			contributions[i].push((peer, c));
		}
	}
	Ok(contributions)
}

/// `sum / count` at every position a peer kept (the mean rule's one division), in place; `count`
/// is exact (at most a few hundred peers, far below 2^24).
pub fn divide_by_counts(sum: &mut [f32], count: &[u32]) {
	for (s, &c) in sum.iter_mut().zip(count) {
		if c > 1 {
			*s /= c as f32;
		}
	}
}

/// Decompresses and combines the payloads of `peers` into one dense aggregate per tensor of
/// `model` (only names and shapes of `model` are used), in `model`'s order: what the outer step
/// multiplies by η.
///
/// Errors as [`contributions_by_tensor`]. Protocol conformance (tiling, k, bins) is the caller's
/// to check with [`Payload::check_against`].
pub fn aggregate<P: Borrow<Payload>>(
	model: &[Tensor],
	peers: &[P],
	how: &Aggregation<'_>,
) -> Result<Vec<Tensor>, CodecError> {
	let names: Vec<(&str, &[usize])> =
		model.iter().map(|t| (t.name.as_str(), t.shape.as_slice())).collect();
	let contributions = contributions_by_tensor(&names, peers)?;
	model
		.iter()
		.zip(&contributions)
		.enumerate()
		.map(|(i, (m, cs))| {
			let mut data = vec![0.0f32; m.numel()];
			let mut count =
				vec![0u32; if how.rule == AggregationRule::Mean { m.numel() } else { 0 }];
			for ((_, c), factor) in cs.iter().zip(how.clip_factors(i, cs)) {
				if count.is_empty() {
					c.add_scaled_into(&mut data, factor)?;
				} else {
					c.for_each_entry(|p, v| {
						data[p] += factor * v;
						count[p] += 1;
					});
				}
			}
			divide_by_counts(&mut data, &count);
			Ok(Tensor { name: m.name.clone(), shape: m.shape.clone(), data })
		})
		.collect()
}

/// The outer SGD step `θ ← θ − η·agg`, tensor by tensor (`theta` and `update` in the same order
/// with the same names and shapes, as [`aggregate`] returns them). Returns the names of the
/// tensors left as they were because some new value would not be finite (Templar skips such a
/// tensor for the round; every peer computes the same bits, so every peer skips the same ones).
///
/// Mismatched names or shapes, or a non-finite η, are refused before any weight changes.
pub fn outer_step(
	theta: &mut [Tensor],
	update: &[Tensor],
	lr: f32,
) -> Result<Vec<String>, CodecError> {
	if !lr.is_finite() {
		return Err(CodecError::InvalidLearningRate(lr));
	}
	if theta.len() != update.len() {
		let missing = theta.get(update.len()).or(update.get(theta.len()));
		return Err(CodecError::MissingTensor(missing.map(|t| t.name.clone()).unwrap_or_default()));
	}
	for (t, u) in theta.iter().zip(update) {
		if t.name != u.name {
			return Err(CodecError::MissingTensor(t.name.clone()));
		}
		if t.shape != u.shape || t.data.len() != u.data.len() {
			return Err(CodecError::ShapeMismatch {
				name: t.name.clone(),
				expected: t.shape.clone(),
				actual: u.shape.clone(),
			});
		}
	}
	let mut skipped = Vec::new();
	for (t, u) in theta.iter_mut().zip(update) {
		if t.data.iter().zip(&u.data).all(|(&w, &s)| (w - lr * s).is_finite()) {
			for (w, &s) in t.data.iter_mut().zip(&u.data) {
				*w -= lr * s;
			}
		} else {
			skipped.push(t.name.clone());
		}
	}
	Ok(skipped)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::sparseloco::CodecConfig;

	const SUM: Aggregation<'static> =
		Aggregation { rule: AggregationRule::Sum, clip: ClipTo::SetMedian };
	const MEAN: Aggregation<'static> =
		Aggregation { rule: AggregationRule::Mean, clip: ClipTo::SetMedian };

	/// A 1-D tensor of 4 entries, sent whole, where entry `i` reconstructs to `values[i]`
	/// exactly (codes index a LUT holding the values, shift 0).
	fn peer(values: [f32; 4]) -> Payload {
		let mut lut: Vec<f32> = vec![];
		let codes: Vec<u8> = values
			.iter()
			.map(|v| match lut.iter().position(|l| l == v) {
				Some(i) => i as u8,
				None => {
					lut.push(*v);
					(lut.len() - 1) as u8
				}
			})
			.collect();
		lut.resize(4, 0.0);
		let t =
			CompressedTensor::from_parts("w", vec![4], 1, 4, 4, lut, 0.0, vec![0, 1, 2, 3], codes)
				.unwrap();
		Payload::new(vec![t]).unwrap()
	}

	fn model() -> Vec<Tensor> {
		vec![Tensor::new("w", vec![4], vec![1.0, 1.0, 1.0, 1.0]).unwrap()]
	}

	#[test]
	fn median_is_lower_middle() {
		assert_eq!(median_norm(&[3.0, 1.0, 2.0]), 2.0);
		assert_eq!(median_norm(&[4.0, 1.0, 3.0, 2.0]), 2.0);
		assert_eq!(median_norm(&[]), 0.0);
	}

	#[test]
	fn rules_parse_and_print() {
		for rule in [AggregationRule::Mean, AggregationRule::Sum] {
			assert_eq!(rule.name().parse::<AggregationRule>().unwrap(), rule);
		}
		assert_eq!(AggregationRule::default(), AggregationRule::Mean);
		assert!(matches!(
			"median".parse::<AggregationRule>(),
			Err(CodecError::UnknownAggregationRule(_))
		));
	}

	#[test]
	fn three_peers_loud_one_is_clipped_to_median() {
		// Norms 5, 10, 20 -> median 10: A and B pass unchanged, C is halved.
		let (a, b, c) =
			(peer([3.0, 4.0, 0.0, 0.0]), peer([0.0, 6.0, 8.0, 0.0]), peer([0.0, 0.0, 12.0, 16.0]));
		let peers = [a, b, c];
		let sum = aggregate(&model(), &peers, &SUM).unwrap();
		assert_close(&sum[0].data, &[3.0, 10.0, 14.0, 8.0]);
		// Every peer "kept" every entry (whole chunks), zeros included: the mean divides by 3.
		let mean = aggregate(&model(), &peers, &MEAN).unwrap();
		assert_close(&mean[0].data, &[1.0, 10.0 / 3.0, 14.0 / 3.0, 8.0 / 3.0]);
	}

	fn assert_close(got: &[f32], want: &[f32]) {
		for (g, w) in got.iter().zip(want) {
			assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
		}
	}

	#[test]
	fn even_peer_count_uses_lower_median() {
		// Norms 5 and 10 -> median 5: the second peer is scaled by 1/2.
		let peers = [peer([3.0, 4.0, 0.0, 0.0]), peer([0.0, 0.0, 6.0, 8.0])];
		assert_close(&aggregate(&model(), &peers, &SUM).unwrap()[0].data, &[3.0, 4.0, 3.0, 4.0]);
		assert_close(&aggregate(&model(), &peers, &MEAN).unwrap()[0].data, &[1.5, 2.0, 1.5, 2.0]);
		// Identical peers: nothing is clipped; the sum grows with their number, the mean does not.
		let p = peer([1.0, -2.0, 0.5, 0.0]);
		let three = [p.clone(), p.clone(), p.clone()];
		assert_eq!(aggregate(&model(), &three, &SUM).unwrap()[0].data, vec![3.0, -6.0, 1.5, 0.0]);
		assert_eq!(aggregate(&model(), &three, &MEAN).unwrap()[0].data, vec![1.0, -2.0, 0.5, 0.0]);
	}

	#[test]
	fn the_mean_divides_each_position_by_the_peers_that_kept_it() {
		// 64 entries in one chunk, k = 2: peer A keeps 0 and 5, peer B keeps 5 and 9.
		let sparse = |idx: [u16; 2], v: [f32; 2]| {
			let t = CompressedTensor::from_parts(
				"w",
				vec![64],
				1,
				64,
				2,
				vec![v[0], v[1], 0.0, 0.0],
				0.0,
				idx.to_vec(),
				vec![0, 1],
			)
			.unwrap();
			Payload::new(vec![t]).unwrap()
		};
		let m = vec![Tensor::zeros("w", vec![64]).unwrap()];
		let peers = [sparse([0, 5], [3.0, 4.0]), sparse([5, 9], [4.0, 3.0])];
		let mean = aggregate(&m, &peers, &MEAN).unwrap();
		let mut want = vec![0.0f32; 64];
		(want[0], want[5], want[9]) = (3.0, 4.0, 3.0);
		assert_eq!(mean[0].data, want);
		want[5] = 8.0;
		assert_eq!(aggregate(&m, &peers, &SUM).unwrap()[0].data, want);
	}

	#[test]
	fn a_given_median_clips_a_single_payload() {
		// The trial step: one payload of norm 10 against a window median of 5 is halved.
		let medians = [5.0];
		let how = Aggregation { rule: AggregationRule::Mean, clip: ClipTo::Medians(&medians) };
		let got = aggregate(&model(), &[peer([0.0, 6.0, 8.0, 0.0])], &how).unwrap();
		assert_close(&got[0].data, &[0.0, 3.0, 4.0, 0.0]);
		// No median for the tensor: clipped to nothing.
		let how = Aggregation { rule: AggregationRule::Mean, clip: ClipTo::Medians(&[]) };
		let got = aggregate(&model(), &[peer([0.0, 6.0, 8.0, 0.0])], &how).unwrap();
		assert_eq!(got[0].data, vec![0.0; 4]);
	}

	#[test]
	fn outer_step_moves_against_the_aggregate() {
		let mut theta = model();
		let sum = aggregate(&theta, &[peer([3.0, 4.0, 0.0, 0.0])], &MEAN).unwrap();
		assert!(outer_step(&mut theta, &sum, 0.5).unwrap().is_empty());
		assert_eq!(theta[0].data, vec![-0.5, -1.0, 1.0, 1.0]);
	}

	#[test]
	fn a_non_finite_tensor_is_skipped_and_the_others_step() {
		let mut theta = vec![
			Tensor::new("a", vec![2], vec![1.0, -f32::MAX]).unwrap(),
			Tensor::new("b", vec![2], vec![1.0, 1.0]).unwrap(),
		];
		let update = vec![
			Tensor::new("a", vec![2], vec![0.0, f32::MAX]).unwrap(),
			Tensor::new("b", vec![2], vec![1.0, 2.0]).unwrap(),
		];
		let skipped = outer_step(&mut theta, &update, 1.0).unwrap();
		assert_eq!(skipped, vec!["a".to_string()]);
		assert_eq!(theta[0].data, vec![1.0, -f32::MAX], "the skipped tensor is unchanged");
		assert_eq!(theta[1].data, vec![0.0, -1.0], "the finite tensor steps");
	}

	#[test]
	fn outer_step_refuses_bad_input_unchanged() {
		let mut theta = model();
		let before = theta.clone();
		let update = vec![Tensor::new("w", vec![4], vec![0.0; 4]).unwrap()];
		assert!(matches!(
			outer_step(&mut theta, &update, f32::NAN),
			Err(CodecError::InvalidLearningRate(_))
		));
		assert!(outer_step(&mut theta, &[], 1.0).is_err());
		let renamed = vec![Tensor::new("v", vec![4], vec![1.0; 4]).unwrap()];
		assert!(outer_step(&mut theta, &renamed, 1.0).is_err());
		assert_eq!(theta, before);
	}

	#[test]
	fn missing_tensor_contributes_nothing_and_bad_peers_are_named() {
		let m = vec![Tensor::zeros("w", vec![4]).unwrap(), Tensor::zeros("v", vec![2]).unwrap()];
		let sum = aggregate(&m, &[peer([1.0, 0.0, 0.0, 0.0])], &MEAN).unwrap();
		assert_eq!(sum[1].data, vec![0.0, 0.0]);
		let wrong = vec![Tensor::zeros("w", vec![2, 2]).unwrap()];
		let err = aggregate(&wrong, &[peer([1.0; 4])], &MEAN).unwrap_err();
		assert!(matches!(err, CodecError::Peer { peer: 0, .. }));
		let err = aggregate(&m[1..], &[peer([1.0; 4])], &MEAN).unwrap_err();
		assert!(
			matches!(err, CodecError::Peer { peer: 0, ref source } if matches!(**source, CodecError::UnknownTensor(_)))
		);
	}

	/// A literal port of Templar's aggregation, written the way its Python reads (not the way
	/// this module computes it), to check the module against: `compress.py: batch_decompress`
	/// (dequantize each peer's values, `norms = [‖vals_p‖]`, `median = torch.median(norms)`,
	/// `vals_p *= clamp(median / (norm_p + 1e-8), max=1)`, concatenate every peer's indices and
	/// values, `scatter_reduce_(index, src, reduce="mean", include_self=False)` into zeros).
	/// `torch.median` of an even count is the lower middle; `scatter_reduce`'s mean is the sum at
	/// an index over the count at it. Norms are `f64` here, as in the module (torch: `f32`), so
	/// the two agree to rounding.
	fn templar_batch_decompress(numel: usize, peers: &[&CompressedTensor]) -> Vec<f32> {
		let mut idx: Vec<Vec<usize>> = Vec::new();
		let mut vals: Vec<Vec<f32>> = Vec::new();
		for c in peers {
			let (mut i, mut v) = (Vec::new(), Vec::new());
			c.for_each_entry(|p, x| {
				i.push(p);
				v.push(x);
			});
			idx.push(i);
			vals.push(v);
		}
		let norms: Vec<f64> = vals
			.iter()
			.map(|v| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt())
			.collect();
		let mut sorted = norms.clone();
		sorted.sort_by(f64::total_cmp);
		let median = sorted[(sorted.len() - 1) / 2];
		for (v, n) in vals.iter_mut().zip(&norms) {
			let factor = (median / (n + 1e-8)).min(1.0) as f32;
			v.iter_mut().for_each(|x| *x *= factor);
		}
		let idx: Vec<usize> = idx.concat();
		let src: Vec<f32> = vals.concat();
		let (mut x, mut count) = (vec![0.0f32; numel], vec![0u32; numel]);
		for (&i, &s) in idx.iter().zip(&src) {
			x[i] += s;
			count[i] += 1;
		}
		x.iter().zip(&count).map(|(&s, &c)| if c > 0 { s / c as f32 } else { 0.0 }).collect()
	}

	/// Random sets of 4 and 5 peers on a 2-D tensor with 64×64 tiles and a 1-D gain, one peer
	/// ten times louder than the rest: the module equals the Templar port.
	#[test]
	fn aggregate_equals_a_literal_port_of_templar() {
		let mut state = 0x9e37_79b9_7f4a_7c15u64;
		let mut gauss = move || {
			// Box-Muller over a 64-bit LCG: enough for test data, no extra dependency.
			let mut u = || {
				state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
				((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
			};
			let (a, b) = (u(), u());
			((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
		};
		let shapes: [(&str, Vec<usize>); 2] = [("w", vec![128, 192]), ("g", vec![96])];
		let model: Vec<Tensor> =
			shapes.iter().map(|(n, s)| Tensor::zeros(*n, s.clone()).unwrap()).collect();
		for peers in [4usize, 5] {
			let payloads: Vec<Payload> = (0..peers)
				.map(|p| {
					let loud = if p == 1 { 10.0 } else { 1.0 };
					let tensors: Vec<Tensor> = shapes
						.iter()
						.map(|(n, s)| {
							let data = (0..s.iter().product()).map(|_| loud * gauss()).collect();
							Tensor::new(*n, s.clone(), data).unwrap()
						})
						.collect();
					Payload::compress(&tensors, &CodecConfig::default()).unwrap()
				})
				.collect();
			let got = aggregate(&model, &payloads, &MEAN).unwrap();
			// And through `gauntlet-trainer aggregate`'s path: payload files in, safetensors out.
			let dir = tempfile::tempdir().unwrap();
			let inputs: Vec<_> = payloads
				.iter()
				.enumerate()
				.map(|(i, p)| {
					let path = dir.path().join(format!("{i}.bin"));
					std::fs::write(&path, p.encode()).unwrap();
					path
				})
				.collect();
			let output = dir.path().join("agg.safetensors");
			crate::payload_file::aggregate_files(&inputs, &output, AggregationRule::Mean).unwrap();
			let (written, _) = crate::tensor_io::read_safetensors(&output).unwrap();
			for (i, m) in model.iter().enumerate() {
				let cs: Vec<&CompressedTensor> =
					payloads.iter().map(|p| p.get(&m.name).unwrap()).collect();
				let want = templar_batch_decompress(m.numel(), &cs);
				let file = written.iter().find(|t| t.name == m.name).unwrap();
				assert_eq!(file.shape, m.shape);
				for (got, from) in [(&got[i].data, "aggregate"), (&file.data, "the file")] {
					for (g, w) in got.iter().zip(&want) {
						assert!(
							(g - w).abs() <= 1e-6 * w.abs().max(1e-3),
							"{peers} peers, {} from {from}: {g} vs {w}",
							m.name
						);
					}
				}
			}
		}
	}
}
