//! The global weights θ_W every peer holds at the start of window W. They change only through
//! [`GlobalModel::advance`]: the chain-selected contributions of the window, applied in account
//! order on θ's own device ([`apply_payloads_on_gpu`] on a GPU, else [`apply_payloads`]; both
//! bit-identical to the codec on the host), so every peer that applies the same bytes gets the
//! same bits, whatever its device.

use tch::Tensor;

use crate::outer::{apply_payloads, apply_payloads_on_gpu, gpu_aggregator, upload_payload};
use crate::sparseloco::gpu::GpuAggregator;
use crate::sparseloco::{
	Aggregation, AggregationRule, CodecConfig, CodecError, DecodeLimits, Payload, Tensor as Array,
};
use crate::tensor_io::to_array;
use crate::training::TrainableModel;

use super::sync::{SamplePositions, SAMPLE_LEN};
use super::Window;

/// Values hashed at a time by [`weights_hash_of`].
const HASH_BLOCK: usize = 1 << 16;

/// θ of one window, with what is needed to check and apply contributions to it.
pub struct GlobalModel {
	model: TrainableModel,
	window: Window,
	limits: DecodeLimits,
	shapes: Vec<crate::sparseloco::Tensor>,
	positions: SamplePositions,
	/// The GPU codec's aggregator for θ's layout, once θ is on a CUDA device and it loaded.
	aggregator: Aggregator,
}

/// Whether the outer step's sum can be built by the GPU codec.
enum Aggregator {
	/// Not tried yet (θ on the CPU, or no step taken yet).
	Untried,
	Ready(Box<GpuAggregator>),
	Unavailable,
}

impl GlobalModel {
	/// `model`'s weights as θ_`window`; `run_seed` fixes the sync sample positions and
	/// `max_payload_bytes` bounds what a contribution may decode to.
	pub fn new(
		model: TrainableModel,
		window: Window,
		run_seed: u64,
		max_payload_bytes: usize,
	) -> Self {
		let shapes: Vec<_> = model
			.names()
			.iter()
			.zip(model.params())
			.map(|(n, p)| to_array(n, &p.zeros_like()))
			.collect();
		let limits = DecodeLimits::for_model(&shapes, max_payload_bytes);
		let numels: Vec<i64> = model.params().iter().map(|p| p.numel() as i64).collect();
		let positions = SamplePositions::new(run_seed, &numels);
		Self { model, window, limits, shapes, positions, aggregator: Aggregator::Untried }
	}

	/// The window whose θ this holds.
	pub fn window(&self) -> Window {
		self.window
	}

	/// The model (its parameters are θ between training phases).
	pub fn model(&self) -> &TrainableModel {
		&self.model
	}

	/// What a contribution's payload may decode to.
	pub fn limits(&self) -> &DecodeLimits {
		&self.limits
	}

	/// Length of a valid weight sample.
	pub fn sample_len(&self) -> usize {
		self.positions.len().min(SAMPLE_LEN)
	}

	/// θ at the run's sample positions (see [`super::sync`]).
	pub fn sample(&self) -> Vec<f32> {
		self.positions.sample(self.model.params())
	}

	/// The most bytes a valid contribution for this model under `codec` can take: what a fetch
	/// budget counts at most for one commitment, whatever size the miner committed to.
	pub fn max_contribution_bytes(&self, codec: &CodecConfig) -> u64 {
		let payload = Payload::max_encoded_len(&self.shapes, codec);
		super::contribution::Contribution::max_encoded_len(self.sample_len(), payload) as u64
	}

	/// Whether `payload` fits this model and the run's codec settings (names, shapes, k, bins):
	/// a contribution that does not is left out of the aggregate by every peer alike.
	pub fn check(&self, payload: &Payload, codec: &CodecConfig) -> Result<(), CodecError> {
		payload.check_against(&self.shapes, codec)
	}

	/// The median norm, per tensor of θ, of `payloads` (already [`check`]ed): what a validator
	/// clips each trial step to, as the aggregate would clip it.
	///
	/// [`check`]: Self::check
	pub fn median_norms(&self, payloads: &[&Payload]) -> Result<Vec<f64>, CodecError> {
		let model: Vec<(&str, &[usize])> =
			self.shapes.iter().map(|t| (t.name.as_str(), t.shape.as_slice())).collect();
		crate::sparseloco::median_norms(&model, payloads)
	}

	/// θ_{W+1} = θ_W − lr · aggregate(`payloads`) under `rule`, and the window moves on.
	/// `payloads` must be in the shared order (the aggregation set's account order) and already
	/// [`check`]ed. A tensor whose new weights would not be finite keeps θ_W's (every peer
	/// computes the same bits, so every peer skips it alike); it is logged and named in the result.
	///
	/// [`check`]: Self::check
	/// On a CUDA device the sum is built by the GPU codec's aggregator from `wire`, the same
	/// payloads' bytes as received, when they have the layout of the run's `codec` (the same
	/// bits as the host path, faster); `uploaded` holds those of them already on the device
	/// ([`Self::upload_payload`]).
	pub fn advance(
		&mut self,
		payloads: &[Payload],
		wire: &[Vec<u8>],
		uploaded: &[Option<Tensor>],
		rule: AggregationRule,
		lr: f32,
		codec: &CodecConfig,
	) -> Result<Vec<String>, CodecError> {
		let mut skipped = Vec::new();
		if !payloads.is_empty() {
			let (names, theta) = (self.model.names(), self.model.params());
			if matches!(self.aggregator, Aggregator::Untried) && self.model.device().is_cuda() {
				self.aggregator = match gpu_aggregator(names, theta, codec) {
					Ok(a) => Aggregator::Ready(Box::new(a)),
					Err(e) => {
						tracing::warn!(error = %e, "outer step without the GPU aggregator");
						Aggregator::Unavailable
					}
				};
			}
			let on_gpu = match &mut self.aggregator {
				Aggregator::Ready(a) if wire.len() == payloads.len() => {
					apply_payloads_on_gpu(names, theta, wire, uploaded, rule, lr, a)?
				}
				_ => None,
			};
			skipped = match on_gpu {
				Some(skipped) => skipped,
				None => apply_payloads(names, theta, payloads, &Aggregation::of_set(rule), lr)?,
			};
			if !skipped.is_empty() {
				tracing::warn!(
					window = self.window,
					?skipped,
					"aggregate not finite: these tensors keep their weights this round"
				);
			}
		}
		self.window += 1;
		Ok(skipped)
	}

	/// A contribution's payload bytes copied to θ's GPU ahead of the outer step that reads them
	/// (the copy is synchronous: made while waiting for the window, it leaves the step); `None`
	/// on the host, when the GPU aggregator is known not to work, or if the copy fails.
	pub fn upload_payload(&self, wire: &[u8]) -> Option<Tensor> {
		let device = self.model.device();
		if !device.is_cuda() || matches!(self.aggregator, Aggregator::Unavailable) {
			return None;
		}
		upload_payload(wire, device)
			.map_err(|e| tracing::debug!(error = %e, "payload not uploaded ahead"))
			.ok()
	}

	/// Moves to `window` without changing θ (windows whose aggregate was empty).
	pub fn set_window(&mut self, window: Window) {
		self.window = window;
	}

	/// θ copied to the host as codec arrays (names in parameter order).
	pub fn host_weights(&self) -> Vec<Array> {
		self.model.names().iter().zip(self.model.params()).map(|(n, p)| to_array(n, p)).collect()
	}
}

/// BLAKE3 of θ given as host arrays (every tensor's name, then its f32 bytes, in parameter
/// order): equal across peers iff their global weights are bit-identical.
pub fn weights_hash_of(theta: &[Array]) -> [u8; 32] {
	weights_hash_in_order(theta)
}

/// [`weights_hash_of`] over tensors given one by one in parameter order (a parsed checkpoint's,
/// checked before they are loaded).
pub fn weights_hash_in_order<'a>(theta: impl IntoIterator<Item = &'a Array>) -> [u8; 32] {
	let mut state = blake3::Hasher::new();
	// Block by block: no second copy of θ as bytes.
	let mut bytes = Vec::with_capacity(4 * HASH_BLOCK);
	for a in theta {
		state.update(a.name.as_bytes());
		for block in a.data.chunks(HASH_BLOCK) {
			bytes.clear();
			bytes.extend(block.iter().flat_map(|v| v.to_le_bytes()));
			state.update(&bytes);
		}
	}
	*state.finalize().as_bytes()
}
