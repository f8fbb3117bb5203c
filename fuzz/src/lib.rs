//! What the fuzz targets and the seed writer share: the decode limits each target runs under and
//! the small framings that let one fuzz input carry several byte strings (a checkpoint's
//! `config.json` and a safetensors file; a registration's peer id and multiaddrs). The seeds
//! (`src/bin/write_seeds.rs`) are built with the same framings, from the real encoders.

use offchain_trainer::sparseloco::DecodeLimits;

/// The limits `payload_decode` decodes under. The target decompresses what it accepts, 4 bytes
/// per element, and one kept entry (under 2 bytes) can stand for a 4096-entry tile: under
/// `DecodeLimits::new`'s 2³⁴ elements per tensor a 7 MB input would allocate 64 GB. These keep
/// one execution within a few MB while leaving every check of the decoder reachable.
pub fn payload_limits() -> DecodeLimits {
	DecodeLimits {
		max_payload_bytes: 1 << 20,
		max_tensors: 64,
		max_name_len: 64,
		max_rank: 8,
		max_tensor_elements: 1 << 16,
		max_total_elements: 1 << 18,
	}
}

/// The model a `contribution_decode` input is decoded for: the validator decodes with
/// `DecodeLimits::for_model` of its model (`gauntlet::global_model`), so the target does too.
/// Built once: the target checks accepted contributions against it.
pub fn contribution_model() -> &'static [offchain_trainer::sparseloco::Tensor] {
	use offchain_trainer::sparseloco::Tensor;
	static MODEL: std::sync::OnceLock<Vec<Tensor>> = std::sync::OnceLock::new();
	MODEL.get_or_init(|| {
		let mk = |name: &str, shape: Vec<usize>| {
			let n: usize = shape.iter().product();
			let data = (0..n).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 100.0).collect();
			Tensor::new(name, shape, data).expect("a valid tensor")
		};
		vec![
			mk("embed.weight", vec![128, 64]),
			mk("layers.0.attn.wq.weight", vec![64, 64]),
			mk("layers.0.norm.weight", vec![64]),
			mk("scale", vec![]),
		]
	})
}

/// The limits `contribution_decode` decodes under: those of [`contribution_model`].
pub fn contribution_limits() -> DecodeLimits {
	DecodeLimits::for_model(contribution_model(), 1 << 20)
}

/// `checkpoint_load`'s input: `config.json`'s length (u32 LE), its bytes, then a safetensors
/// file. A length past the end takes what is there.
pub fn split_checkpoint(data: &[u8]) -> (&[u8], &[u8]) {
	let Some((len, rest)) = data.split_first_chunk::<4>() else { return (data, &[]) };
	let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
	rest.split_at(len)
}

/// The inverse of [`split_checkpoint`].
pub fn join_checkpoint(config: &[u8], safetensors: &[u8]) -> Vec<u8> {
	let mut out = (config.len() as u32).to_le_bytes().to_vec();
	out.extend_from_slice(config);
	out.extend_from_slice(safetensors);
	out
}

/// Which message a `p2p_wire` input holds: its first byte, modulo 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum P2pMessage {
	/// A payload request as the server reads it from a stream (`p2p::wire::Request::read`).
	Request = 0,
	/// Response status bytes as the fetcher reads them (`p2p::wire::Status::from_byte`).
	Status = 1,
	/// A gossipsub "payload ready" message (`p2p::Announcement::decode`).
	Announcement = 2,
	/// A miner's registration read from chain (`p2p::Endpoint::from_chain`).
	Endpoint = 3,
}

/// The message kind and its bytes.
pub fn split_p2p(data: &[u8]) -> Option<(P2pMessage, &[u8])> {
	let (&kind, rest) = data.split_first()?;
	let kind = match kind % 4 {
		0 => P2pMessage::Request,
		1 => P2pMessage::Status,
		2 => P2pMessage::Announcement,
		_ => P2pMessage::Endpoint,
	};
	Some((kind, rest))
}

/// A registration's fields: length-prefixed (u8) byte strings, the peer id first, then each
/// multiaddr; a prefix past the end takes what is there.
pub fn split_fields(mut data: &[u8]) -> Vec<&[u8]> {
	let mut fields = Vec::new();
	while let Some((&len, rest)) = data.split_first() {
		let (field, rest) = rest.split_at(usize::from(len).min(rest.len()));
		fields.push(field);
		data = rest;
	}
	fields
}

/// The inverse of [`split_fields`] for fields of at most 255 bytes.
pub fn join_fields(fields: &[&[u8]]) -> Vec<u8> {
	let mut out = Vec::new();
	for f in fields {
		out.push(u8::try_from(f.len()).expect("a field of at most 255 bytes"));
		out.extend_from_slice(f);
	}
	out
}
