//! A named, shaped, dense `f32` tensor: the codec's input and output on the host.

use super::error::CodecError;

/// Largest rank the codec accepts (and the wire format can describe with its `u8` rank field).
pub const MAX_RANK: usize = 8;

/// A dense row-major `f32` tensor with the name it has in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
	/// Parameter name, unique within a model (e.g. `h.0.attn.c_attn.weight`).
	pub name: String,
	/// Dimensions, outermost first. Empty means a scalar.
	pub shape: Vec<usize>,
	/// Row-major values, `shape.iter().product()` of them.
	pub data: Vec<f32>,
}

impl Tensor {
	/// Builds a tensor, checking that `data` has exactly as many values as `shape` describes
	/// and that the name and shape can travel on the wire.
	pub fn new(
		name: impl Into<String>,
		shape: Vec<usize>,
		data: Vec<f32>,
	) -> Result<Self, CodecError> {
		let name = name.into();
		let expected = checked_numel(&name, &shape)?;
		if data.len() != expected {
			return Err(CodecError::LengthMismatch { name, shape, expected, actual: data.len() });
		}
		Ok(Self { name, shape, data })
	}

	/// A tensor of zeros with the given name and shape.
	pub fn zeros(name: impl Into<String>, shape: Vec<usize>) -> Result<Self, CodecError> {
		let name = name.into();
		let n = checked_numel(&name, &shape)?;
		Ok(Self { name, shape, data: vec![0.0; n] })
	}

	/// Number of elements (product of the shape).
	pub fn numel(&self) -> usize {
		self.data.len()
	}

	/// Checks the invariants `new` establishes (fields are public, so they may have been
	/// changed since): valid name and shape, matching length, and every value finite.
	pub fn validate(&self) -> Result<(), CodecError> {
		let expected = checked_numel(&self.name, &self.shape)?;
		if self.data.len() != expected {
			return Err(CodecError::LengthMismatch {
				name: self.name.clone(),
				shape: self.shape.clone(),
				expected,
				actual: self.data.len(),
			});
		}
		check_finite(&self.name, &self.data)
	}
}

/// Refuses NaN and ±Inf: one such value would reach every peer's weights after aggregation.
pub(crate) fn check_finite(name: &str, data: &[f32]) -> Result<(), CodecError> {
	match data.iter().position(|v| !v.is_finite()) {
		Some(index) => Err(CodecError::NonFinite { name: name.to_owned(), index }),
		None => Ok(()),
	}
}

/// Checks a name and shape against what the wire format can carry and returns the element count.
///
/// Zero-sized dimensions are refused: Templar's split `s(n)` is undefined for `n = 0` and no
/// trainable parameter is empty.
pub(crate) fn checked_numel(name: &str, shape: &[usize]) -> Result<usize, CodecError> {
	if name.is_empty() || name.len() > usize::from(u16::MAX) {
		return Err(CodecError::InvalidName {
			name: name.to_owned(),
			reason: "must be 1..=65535 bytes",
		});
	}
	let bad =
		|reason| CodecError::InvalidShape { name: name.to_owned(), shape: shape.to_vec(), reason };
	if shape.len() > MAX_RANK {
		return Err(bad("rank above 8"));
	}
	let mut n: usize = 1;
	for &d in shape {
		if d == 0 {
			return Err(bad("zero-sized dimension"));
		}
		if u32::try_from(d).is_err() {
			return Err(bad("dimension above u32::MAX"));
		}
		n = n.checked_mul(d).ok_or_else(|| bad("element count overflows usize"))?;
	}
	Ok(n)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn new_checks_length_and_shape() {
		assert!(Tensor::new("w", vec![2, 3], vec![0.0; 6]).is_ok());
		assert!(Tensor::new("s", vec![], vec![1.0]).is_ok());
		assert!(matches!(
			Tensor::new("w", vec![2, 3], vec![0.0; 5]),
			Err(CodecError::LengthMismatch { expected: 6, actual: 5, .. })
		));
		assert!(matches!(
			Tensor::new("w", vec![2, 0], vec![]),
			Err(CodecError::InvalidShape { .. })
		));
		assert!(matches!(Tensor::new("", vec![1], vec![0.0]), Err(CodecError::InvalidName { .. })));
		assert!(matches!(
			Tensor::new("w", vec![1; 9], vec![0.0]),
			Err(CodecError::InvalidShape { .. })
		));
	}

	#[test]
	fn validate_refuses_non_finite() {
		let t = Tensor::new("w", vec![3], vec![1.0, f32::NAN, 2.0]).unwrap();
		assert_eq!(t.validate(), Err(CodecError::NonFinite { name: "w".into(), index: 1 }));
		let t = Tensor::new("w", vec![2], vec![f32::NEG_INFINITY, 2.0]).unwrap();
		assert_eq!(t.validate(), Err(CodecError::NonFinite { name: "w".into(), index: 0 }));
	}
}
