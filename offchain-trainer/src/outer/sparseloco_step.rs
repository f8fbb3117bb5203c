//! SparseLoCo's outer step on tch models: pseudo-gradients out, aggregated payloads in.

use tch::Tensor;

use crate::sparseloco::{aggregate, outer_step, CodecError, Payload, Tensor as Array};
use crate::tensor_io::{to_array, to_tch};

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

/// Aggregates `payloads` with the codec ([`aggregate`]: per-peer clipping to the median norm,
/// then a sum) and applies `θ ← θ − lr·Σ` ([`outer_step`]) to `theta` (named `names`), in place.
/// Every peer that applies the same payloads in the same order gets bit-identical weights.
pub fn apply_payloads(
	names: &[String],
	theta: &[Tensor],
	payloads: &[Payload],
	lr: f32,
) -> Result<(), CodecError> {
	let mut arrays: Vec<Array> = names.iter().zip(theta).map(|(n, t)| to_array(n, t)).collect();
	let update = aggregate(&arrays, payloads)?;
	outer_step(&mut arrays, &update, lr)?;
	tch::no_grad(|| {
		for (t, a) in theta.iter().zip(&arrays) {
			t.shallow_clone().copy_(&to_tch(a, t.device()));
		}
	});
	Ok(())
}
