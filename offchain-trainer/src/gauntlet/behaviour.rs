//! How a miner produces its contribution. `honest` is the product; the other behaviours are the
//! adversaries of the Gauntlet spec, kept here so the adversarial end-to-end test runs them
//! through the same binary, chain and network as honest miners (`--behaviour`, hidden from help).

use crate::sparseloco::{CodecConfig, CodecError, Payload, Tensor as Array};
use crate::tensor_io::to_array;

use super::global_model::GlobalModel;

/// What a miner does each window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Behaviour {
	/// Train H steps on the assigned pages, compress with error feedback.
	#[default]
	Honest,
	/// Commit random values in a valid payload.
	Noise,
	/// Commit an all-zero update.
	Zero,
	/// Commit a byte copy of another miner's contribution (`--copy-from`).
	Copy,
	/// Train once, then keep committing that first contribution.
	Stale,
	/// Train honestly, but on pages assigned to nobody in particular instead of its own.
	WrongData,
}

impl Behaviour {
	/// Whether the miner trains this window (the others need no inner loop).
	pub fn trains(self, has_stale: bool) -> bool {
		match self {
			Self::Honest | Self::WrongData => true,
			Self::Stale => !has_stale,
			Self::Noise | Self::Zero | Self::Copy => false,
		}
	}

	/// The identity whose pages this miner trains on: its own, or for `wrong-data` a made-up one.
	pub fn data_identity(self, account: &[u8]) -> Vec<u8> {
		match self {
			Self::WrongData => [b"not-assigned:".as_slice(), account].concat(),
			_ => account.to_vec(),
		}
	}
}

fn zeros_like(global: &GlobalModel) -> Vec<Array> {
	let model = global.model();
	model.names().iter().zip(model.params()).map(|(n, p)| to_array(n, &p.zeros_like())).collect()
}

/// A well-formed payload of Gaussian noise with standard deviation `std`, seeded.
pub fn noise_payload(
	global: &GlobalModel,
	codec: &CodecConfig,
	std: f32,
	seed: u64,
) -> Result<Payload, CodecError> {
	let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	let mut next = move || {
		// xorshift64*: a few lines of reproducible noise; no statistical quality is needed.
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		(state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
	};
	let tensors: Vec<Array> = zeros_like(global)
		.into_iter()
		.map(|mut a| {
			for v in &mut a.data {
				// Sum of uniforms ≈ Gaussian (Irwin–Hall, 4 terms), scaled to `std`.
				let u: f32 = (0..4).map(|_| next()).sum::<f32>() - 2.0;
				*v = u * std * 3f32.sqrt();
			}
			a
		})
		.collect();
	Payload::compress(&tensors, codec)
}

/// A well-formed payload that changes nothing.
pub fn zero_payload(global: &GlobalModel, codec: &CodecConfig) -> Result<Payload, CodecError> {
	Payload::compress(&zeros_like(global), codec)
}
