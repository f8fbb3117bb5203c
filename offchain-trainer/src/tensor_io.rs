//! Moving named dense tensors between safetensors files, tch tensors and the codec's `f32`
//! arrays ([`crate::sparseloco::Tensor`]).

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::sparseloco::Tensor as Array;

/// A safetensors file that cannot be read or written as `f32` tensors.
#[derive(Debug, thiserror::Error)]
pub enum TensorIoError {
	/// The file could not be opened, read or written.
	#[error("{path}: {source}")]
	Io {
		/// The file.
		path: String,
		/// What went wrong.
		source: std::io::Error,
	},
	/// The bytes are not a valid safetensors file.
	#[error("{path}: not a valid safetensors file: {source}")]
	Format {
		/// The file.
		path: String,
		/// What the parser said.
		source: safetensors::SafeTensorError,
	},
	/// A tensor has a dtype that is not a float.
	#[error("{path}: tensor {name:?} has dtype {dtype:?}; only F16, BF16, F32 and F64 are read")]
	Dtype {
		/// The file.
		path: String,
		/// The tensor.
		name: String,
		/// Its dtype.
		dtype: Dtype,
	},
	/// A tensor's name or shape is not one the codec accepts.
	#[error("{path}: {source}")]
	Tensor {
		/// The file.
		path: String,
		/// Why the codec refused it.
		source: crate::sparseloco::CodecError,
	},
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TensorIoError + '_ {
	move |source| TensorIoError::Io { path: path.display().to_string(), source }
}

/// Every tensor of a safetensors file as `f32` (F16, BF16 and F64 converted), sorted by name,
/// with the file's metadata.
pub fn read_safetensors(
	path: &Path,
) -> Result<(Vec<Array>, HashMap<String, String>), TensorIoError> {
	let file = std::fs::File::open(path).map_err(io(path))?;
	// SAFETY: read-only mapping of a file we only read; a concurrent writer could change the
	// bytes under us, which at worst yields wrong values or a parse error, never UB in safe code
	// that copies the bytes out before use.
	let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io(path))?;
	parse_safetensors(&map, &path.display().to_string())
}

/// Every tensor of safetensors `bytes` (named `what` in errors) as `f32`, sorted by name, with
/// the metadata.
pub fn parse_safetensors(
	bytes: &[u8],
	what: &str,
) -> Result<(Vec<Array>, HashMap<String, String>), TensorIoError> {
	let fmt = |source| TensorIoError::Format { path: what.to_string(), source };
	let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(fmt)?;
	let st = SafeTensors::deserialize(bytes).map_err(fmt)?;
	let mut out = Vec::new();
	for (name, view) in st.tensors() {
		let bytes = view.data();
		let data: Vec<f32> = match view.dtype() {
			Dtype::F32 => bytes
				.chunks_exact(4)
				.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
				.collect(),
			Dtype::F64 => bytes
				.chunks_exact(8)
				.map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
				.collect(),
			Dtype::F16 => bytes
				.chunks_exact(2)
				.map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
				.collect(),
			Dtype::BF16 => bytes
				.chunks_exact(2)
				.map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
				.collect(),
			dtype => return Err(TensorIoError::Dtype { path: what.to_string(), name, dtype }),
		};
		let array = Array::new(name, view.shape().to_vec(), data)
			.map_err(|source| TensorIoError::Tensor { path: what.to_string(), source })?;
		out.push(array);
	}
	out.sort_by(|a, b| a.name.cmp(&b.name));
	Ok((out, metadata.metadata().clone().unwrap_or_default()))
}

/// `tensors` as F32 safetensors bytes with `metadata` (`what` names the result in errors).
pub fn serialize_safetensors(
	tensors: &[Array],
	metadata: HashMap<String, String>,
	what: &str,
) -> Result<Vec<u8>, TensorIoError> {
	let bytes: Vec<Vec<u8>> =
		tensors.iter().map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
	let fmt = |source| TensorIoError::Format { path: what.to_string(), source };
	let views = tensors
		.iter()
		.zip(&bytes)
		.map(|(t, b)| {
			safetensors::tensor::TensorView::new(Dtype::F32, t.shape.clone(), b)
				.map(|v| (t.name.clone(), v))
		})
		.collect::<Result<Vec<_>, _>>()
		.map_err(fmt)?;
	let metadata = (!metadata.is_empty()).then_some(metadata);
	safetensors::serialize(views, &metadata).map_err(fmt)
}

/// Writes `tensors` as F32 to `path` with `metadata`, through a temporary file in the same
/// directory renamed into place only once complete: on any error no file appears at `path`.
pub fn write_safetensors(
	path: &Path,
	tensors: &[Array],
	metadata: HashMap<String, String>,
) -> Result<(), TensorIoError> {
	let buffer = serialize_safetensors(tensors, metadata, &path.display().to_string())?;
	crate::atomic_file::write(path, &buffer).map_err(io(path))
}

/// A tch tensor's values as a codec array named `name` (copied to the CPU as `f32`).
pub fn to_array(name: &str, tensor: &tch::Tensor) -> Array {
	let flat = tensor.detach().to_device(tch::Device::Cpu).to_kind(tch::Kind::Float).contiguous();
	let n = flat.numel();
	let mut data = vec![0f32; n];
	flat.view([-1]).copy_data(&mut data, n);
	let shape = tensor.size().iter().map(|&d| d as usize).collect();
	Array { name: name.to_string(), shape, data }
}

/// `(name, shape)` of each of `tensors`, named by `names` in order: the layout the GPU codec's
/// compressor and aggregator are built for.
pub fn named_shapes(names: &[String], tensors: &[tch::Tensor]) -> Vec<(String, Vec<usize>)> {
	names
		.iter()
		.zip(tensors)
		.map(|(n, t)| (n.clone(), t.size().iter().map(|&d| d as usize).collect()))
		.collect()
}

/// A codec array as an `f32` tch tensor of the same shape on `device`.
pub fn to_tch(array: &Array, device: tch::Device) -> tch::Tensor {
	let shape: Vec<i64> = array.shape.iter().map(|&d| d as i64).collect();
	tch::Tensor::from_slice(&array.data).view(shape.as_slice()).to_device(device)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn safetensors_round_trip_is_exact_and_sorted() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("x.safetensors");
		let a =
			Array::new("b.weight", vec![2, 3], vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE, 0.0, -0.0])
				.unwrap();
		let b = Array::new("a.bias", vec![1], vec![7.0]).unwrap();
		let meta = HashMap::from([("k".to_string(), "v".to_string())]);
		write_safetensors(&path, &[a.clone(), b.clone()], meta.clone()).unwrap();
		let (back, back_meta) = read_safetensors(&path).unwrap();
		assert_eq!(back, vec![b, a]);
		assert_eq!(back_meta, meta);
	}

	#[test]
	fn tch_round_trip_keeps_shape_and_bits() {
		let t = tch::Tensor::randn([3, 4, 5], (tch::Kind::Float, tch::Device::Cpu));
		let back = to_tch(&to_array("t", &t), tch::Device::Cpu);
		assert_eq!(back.size(), vec![3, 4, 5]);
		assert!(back.equal(&t));
	}
}
