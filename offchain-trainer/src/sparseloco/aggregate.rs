//! Aggregation of many peers' payloads and the outer SGD step.
//!
//! Normalisation: each peer's contribution to a tensor is scaled by
//! `min(1, median / (‖ê_peer‖₂ + 1e-8))`, where `‖ê_peer‖₂` is the L2 norm of that peer's
//! reconstructed kept values for the tensor and `median` is the median of those norms over the
//! peers that sent the tensor (the lower middle one for an even count, as `torch.median`). This is
//! Templar's default (`clip_norm=True`) and the spec's second option. It was chosen over per-chunk
//! L2 normalisation because:
//! - it keeps the pseudo-gradient's scale: a peer at or below the median contributes exactly what
//!   it sent, so the outer step with η = 1.0 moves the weights by the size of the real update;
//!   per-chunk normalisation makes every chunk a unit vector, which throws the magnitude away and
//!   would make η a per-chunk step length unrelated to training progress;
//! - one loud (or malicious) peer still cannot dominate: above the median it is scaled down to
//!   the median norm, and more than half of the peers would have to be loud to move the median;
//! - quiet peers are never amplified (the factor is at most 1).
//!
//! Reduction: the clipped contributions are **summed** (not averaged), as the spec says Templar
//! does: `Σ = Σ_peers factor_p · ê_p`, then `θ ← θ − η·Σ`. Entries no peer sent stay zero.

use std::collections::HashMap;

use super::codec::{CompressedTensor, Payload};
use super::error::CodecError;
use super::tensor::Tensor;

/// Added to a peer's norm before dividing, as Templar does, so a zero-norm peer is harmless.
pub const NORM_EPS: f64 = 1e-8;

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

/// Per-peer clip factors `min(1, median / (norm + 1e-8))` for one tensor's contributions.
pub fn clip_factors(norms: &[f64]) -> Vec<f32> {
	let median = median_norm(norms);
	norms.iter().map(|&n| (median / (n + NORM_EPS)).min(1.0) as f32).collect()
}

/// The peers' compressed versions of each tensor of `model` (name and shape of each tensor),
/// in `model`'s order, each with the index of its peer in `peers`, in peer order.
///
/// Every tensor of every payload must exist in `model` with the same shape; otherwise the error
/// names the peer ([`CodecError::Peer`]) so the caller can drop it and aggregate again. A peer
/// may omit tensors: it then takes no part in that tensor's median or sum.
pub fn contributions_by_tensor<'p>(
	model: &[(&str, &[usize])],
	peers: &'p [Payload],
) -> Result<Vec<Vec<(usize, &'p CompressedTensor)>>, CodecError> {
	let mut index: HashMap<&str, usize> = HashMap::with_capacity(model.len());
	for (i, (name, _)) in model.iter().enumerate() {
		if index.insert(name, i).is_some() {
			return Err(CodecError::DuplicateName(name.to_string()));
		}
	}
	let mut contributions: Vec<Vec<(usize, &CompressedTensor)>> = vec![Vec::new(); model.len()];
	for (peer, payload) in peers.iter().enumerate() {
		for c in payload.tensors() {
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

/// Each contribution's clip factor (see the module doc), in the order of `contributions` (one
/// tensor's, as [`contributions_by_tensor`] lists them).
pub fn tensor_clip_factors(contributions: &[(usize, &CompressedTensor)]) -> Vec<f32> {
	let norms: Vec<f64> = contributions.iter().map(|(_, c)| c.norm()).collect();
	clip_factors(&norms)
}

/// Decompresses and combines the payloads of `peers` into one dense update `Σ` per tensor of
/// `model` (only names and shapes of `model` are used), in `model`'s order.
///
/// Errors as [`contributions_by_tensor`]. Protocol conformance (tiling, k, bins) is the caller's
/// to check with [`Payload::check_against`].
pub fn aggregate(model: &[Tensor], peers: &[Payload]) -> Result<Vec<Tensor>, CodecError> {
	let names: Vec<(&str, &[usize])> =
		model.iter().map(|t| (t.name.as_str(), t.shape.as_slice())).collect();
	let contributions = contributions_by_tensor(&names, peers)?;
	model
		.iter()
		.zip(&contributions)
		.map(|(m, cs)| {
			let mut data = vec![0.0f32; m.numel()];
			for ((_, c), factor) in cs.iter().zip(tensor_clip_factors(cs)) {
				c.add_scaled_into(&mut data, factor)?;
			}
			Ok(Tensor { name: m.name.clone(), shape: m.shape.clone(), data })
		})
		.collect()
}

/// The outer SGD step `θ ← θ − η·Σ`, tensor by tensor (`theta` and `update` in the same order
/// with the same names and shapes, as [`aggregate`] returns them).
///
/// All-or-nothing: every new value is checked to be finite before any weight changes, so a
/// refused step leaves `theta` as it was.
pub fn outer_step(theta: &mut [Tensor], update: &[Tensor], lr: f32) -> Result<(), CodecError> {
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
		if let Some(index) =
			t.data.iter().zip(&u.data).position(|(&w, &s)| !(w - lr * s).is_finite())
		{
			return Err(CodecError::NonFinite { name: t.name.clone(), index });
		}
	}
	for (t, u) in theta.iter_mut().zip(update) {
		for (w, &s) in t.data.iter_mut().zip(&u.data) {
			*w -= lr * s;
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

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
	fn three_peers_loud_one_is_clipped_to_median() {
		// Norms 5, 10, 20 -> median 10: A and B pass unchanged, C is halved.
		let a = peer([3.0, 4.0, 0.0, 0.0]);
		let b = peer([0.0, 6.0, 8.0, 0.0]);
		let c = peer([0.0, 0.0, 12.0, 16.0]);
		let sum = aggregate(&model(), &[a, b, c]).unwrap();
		let want = [3.0, 10.0, 14.0, 8.0];
		for (got, want) in sum[0].data.iter().zip(want) {
			assert!((got - want).abs() < 1e-5, "{:?}", sum[0].data);
		}
	}

	#[test]
	fn even_peer_count_uses_lower_median_and_sums() {
		// Norms 5 and 10 -> median 5: the second peer is scaled by 1/2.
		let sum =
			aggregate(&model(), &[peer([3.0, 4.0, 0.0, 0.0]), peer([0.0, 0.0, 6.0, 8.0])]).unwrap();
		let want = [3.0, 4.0, 3.0, 4.0];
		for (got, want) in sum[0].data.iter().zip(want) {
			assert!((got - want).abs() < 1e-5, "{:?}", sum[0].data);
		}
		// Identical peers: nothing is clipped and the contributions add up.
		let p = peer([1.0, -2.0, 0.5, 0.0]);
		let sum = aggregate(&model(), &[p.clone(), p.clone(), p]).unwrap();
		assert_eq!(sum[0].data, vec![3.0, -6.0, 1.5, 0.0]);
	}

	#[test]
	fn outer_step_moves_against_the_aggregate() {
		let mut theta = model();
		let sum = aggregate(&theta, &[peer([3.0, 4.0, 0.0, 0.0])]).unwrap();
		outer_step(&mut theta, &sum, 0.5).unwrap();
		assert_eq!(theta[0].data, vec![-0.5, -1.0, 1.0, 1.0]);
	}

	#[test]
	fn outer_step_is_all_or_nothing() {
		let mut theta = model();
		let before = theta.clone();
		let update = vec![Tensor::new("w", vec![4], vec![0.0, f32::MAX, 0.0, 0.0]).unwrap()];
		theta[0].data[1] = -f32::MAX;
		let before_nan = theta.clone();
		assert!(matches!(outer_step(&mut theta, &update, 1.0), Err(CodecError::NonFinite { .. })));
		assert_eq!(theta, before_nan);
		let mut theta = before;
		assert!(matches!(
			outer_step(&mut theta, &update, f32::NAN),
			Err(CodecError::InvalidLearningRate(_))
		));
		assert!(outer_step(&mut theta, &[], 1.0).is_err());
	}

	#[test]
	fn missing_tensor_contributes_nothing_and_bad_peers_are_named() {
		let m = vec![Tensor::zeros("w", vec![4]).unwrap(), Tensor::zeros("v", vec![2]).unwrap()];
		let sum = aggregate(&m, &[peer([1.0, 0.0, 0.0, 0.0])]).unwrap();
		assert_eq!(sum[1].data, vec![0.0, 0.0]);
		let wrong = vec![Tensor::zeros("w", vec![2, 2]).unwrap()];
		let err = aggregate(&wrong, &[peer([1.0; 4])]).unwrap_err();
		assert!(matches!(err, CodecError::Peer { peer: 0, .. }));
		let err = aggregate(&m[1..], &[peer([1.0; 4])]).unwrap_err();
		assert!(
			matches!(err, CodecError::Peer { peer: 0, ref source } if matches!(**source, CodecError::UnknownTensor(_)))
		);
	}
}
