//! The pseudo-gradient `Δ = θ − θ_local` of one outer round.

use std::collections::{HashMap, HashSet};

use super::error::CodecError;
use super::tensor::{check_finite, Tensor};

/// `Δ = θ − θ_local` per tensor: how far `H` inner steps moved this peer's weights from the
/// global ones (pointing *against* the direction of travel, like a gradient). Every value is
/// finite and names are unique; that is checked on construction.
#[derive(Debug, Clone, PartialEq)]
pub struct PseudoGradient {
	tensors: Vec<Tensor>,
}

impl PseudoGradient {
	/// `Δ = global − local`, matched by name, in `global`'s order. Both sides must hold the
	/// same names with the same shapes, and every difference must be finite.
	pub fn from_weights(global: &[Tensor], local: &[Tensor]) -> Result<Self, CodecError> {
		let mut by_name: HashMap<&str, &Tensor> = HashMap::with_capacity(local.len());
		for l in local {
			if by_name.insert(l.name.as_str(), l).is_some() {
				return Err(CodecError::DuplicateName(l.name.clone()));
			}
		}
		let global_names: HashSet<&str> = global.iter().map(|g| g.name.as_str()).collect();
		if let Some(extra) = local.iter().find(|l| !global_names.contains(l.name.as_str())) {
			return Err(CodecError::UnknownTensor(extra.name.clone()));
		}
		let tensors = global
			.iter()
			.map(|g| {
				g.validate()?;
				let l = by_name
					.get(g.name.as_str())
					.ok_or_else(|| CodecError::MissingTensor(g.name.clone()))?;
				if l.shape != g.shape {
					return Err(CodecError::ShapeMismatch {
						name: g.name.clone(),
						expected: g.shape.clone(),
						actual: l.shape.clone(),
					});
				}
				l.validate()?;
				let data: Vec<f32> = g.data.iter().zip(&l.data).map(|(a, b)| a - b).collect();
				check_finite(&g.name, &data)?;
				Ok(Tensor { name: g.name.clone(), shape: g.shape.clone(), data })
			})
			.collect::<Result<Vec<_>, _>>()?;
		Self::from_tensors(tensors)
	}

	/// Wraps already computed differences (e.g. from the GPU), checking shapes, unique names
	/// and that every value is finite.
	pub fn from_tensors(tensors: Vec<Tensor>) -> Result<Self, CodecError> {
		let mut seen = HashSet::with_capacity(tensors.len());
		for t in &tensors {
			t.validate()?;
			if !seen.insert(t.name.as_str()) {
				return Err(CodecError::DuplicateName(t.name.clone()));
			}
		}
		Ok(Self { tensors })
	}

	/// The per-tensor differences.
	pub fn tensors(&self) -> &[Tensor] {
		&self.tensors
	}

	/// Takes the tensors out.
	pub fn into_tensors(self) -> Vec<Tensor> {
		self.tensors
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn difference_is_global_minus_local() {
		let g = vec![
			Tensor::new("a", vec![2], vec![1.0, 2.0]).unwrap(),
			Tensor::new("b", vec![1], vec![0.5]).unwrap(),
		];
		let l = vec![
			Tensor::new("b", vec![1], vec![1.5]).unwrap(),
			Tensor::new("a", vec![2], vec![0.75, 3.0]).unwrap(),
		];
		let d = PseudoGradient::from_weights(&g, &l).unwrap();
		assert_eq!(d.tensors()[0].data, vec![0.25, -1.0]);
		assert_eq!(d.tensors()[1].data, vec![-1.0]);
	}

	#[test]
	fn mismatches_and_non_finite_are_refused() {
		let a = Tensor::new("a", vec![2], vec![1.0, 2.0]).unwrap();
		let a3 = Tensor::new("a", vec![2, 1], vec![1.0, 2.0]).unwrap();
		let b = Tensor::new("b", vec![2], vec![1.0, 2.0]).unwrap();
		let nan = Tensor::new("a", vec![2], vec![1.0, f32::NAN]).unwrap();
		let big = Tensor::new("a", vec![2], vec![f32::MAX, 0.0]).unwrap();
		let neg = Tensor::new("a", vec![2], vec![-f32::MAX, 0.0]).unwrap();
		let run = |g: &Tensor, l: &Tensor| {
			PseudoGradient::from_weights(std::slice::from_ref(g), std::slice::from_ref(l))
		};
		assert!(matches!(run(&a, &b), Err(CodecError::UnknownTensor(n)) if n == "b"));
		assert!(matches!(run(&a, &a3), Err(CodecError::ShapeMismatch { .. })));
		assert!(matches!(run(&a, &nan), Err(CodecError::NonFinite { index: 1, .. })));
		assert!(matches!(run(&big, &neg), Err(CodecError::NonFinite { index: 0, .. })));
		assert!(matches!(
			PseudoGradient::from_weights(std::slice::from_ref(&a), &[]),
			Err(CodecError::MissingTensor(_))
		));
		assert!(matches!(
			PseudoGradient::from_tensors(vec![a.clone(), a]),
			Err(CodecError::DuplicateName(_))
		));
	}
}
