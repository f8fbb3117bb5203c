//! Writes the committed corpus seeds, `fuzz/corpus/<target>/<name>`, from the real encoders:
//! payloads from `Payload::compress` + `encode`, contributions from `Contribution::encode`,
//! requests and announcements from their `encode`, registrations from `Endpoint::to_chain`, and
//! checkpoint files from `Snapshot::write`. Deterministic: rerunning it rewrites the same bytes.
//!
//! `write_seeds [CORPUS_DIR]` (default `fuzz/corpus`); `scripts/fuzz.sh` runs it before fuzzing.

use std::path::{Path, PathBuf};

use gauntlet_fuzz::{contribution_model, join_checkpoint, join_fields, P2pMessage};
use offchain_trainer::gauntlet::sync::SAMPLE_LEN;
use offchain_trainer::gauntlet::Contribution;
use offchain_trainer::model::ModelConfig;
use offchain_trainer::p2p::announce::Announcement;
use offchain_trainer::p2p::wire::{Request, Status};
use offchain_trainer::p2p::{Commitment, Endpoint};
use offchain_trainer::sparseloco::{CodecConfig, Payload, Tensor};
use offchain_trainer::training::checkpoint::{snapshot_of_arrays, CHECKPOINT_VERSION};
use offchain_trainer::training::{CheckpointInfo, TrainConfig};

fn main() {
	let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
	payload_seeds(&root.join("payload_decode"));
	contribution_seeds(&root.join("contribution_decode"));
	p2p_seeds(&root.join("p2p_wire"));
	checkpoint_seeds(&root.join("checkpoint_load"));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
	std::fs::create_dir_all(dir).expect("create the corpus directory");
	std::fs::write(dir.join(name), bytes).expect("write a seed");
	println!("{:>6} bytes  {}", bytes.len(), dir.join(name).display());
}

/// A tensor of deterministic, varied values.
fn tensor(name: &str, shape: Vec<usize>, seed: usize) -> Tensor {
	let n: usize = shape.iter().product();
	let data = (0..n).map(|i| (((i + seed) * 7919 % 1013) as f32 - 506.0) / 100.0).collect();
	Tensor::new(name, shape, data).expect("a valid tensor")
}

fn payload_seeds(dir: &Path) {
	let default = CodecConfig::default();
	let cases: [(&str, Vec<Tensor>, CodecConfig); 5] = [
		// Two 64×64 tiles, a whole-chunk 1-D tensor (no index stream) and a scalar.
		(
			"matrix-vector-scalar",
			vec![tensor("w", vec![128, 64], 0), tensor("b", vec![67], 1), tensor("s", vec![], 2)],
			default,
		),
		// Few kept entries per chunk, two bins.
		(
			"topk4-bins2",
			vec![tensor("w", vec![8, 8], 3)],
			CodecConfig { topk: 4, bins: 2, ..default },
		),
		// A rank-3 tensor, tiles that do not fill 64×64, three bins.
		(
			"rank3-bins3",
			vec![tensor("conv.weight", vec![4, 6, 10], 4)],
			CodecConfig { topk: 6, chunk_target: 8, bins: 3, ..default },
		),
		// Longer names, several records.
		(
			"layer-names",
			vec![
				tensor("layers.0.attn.wq.weight", vec![16, 16], 5),
				tensor("layers.0.attn.wk.weight", vec![16, 8], 6),
				tensor("layers.0.norm.weight", vec![16], 7),
			],
			CodecConfig { topk: 8, chunk_target: 16, ..default },
		),
		("empty", vec![], default),
	];
	for (name, model, config) in cases {
		let payload = Payload::compress(&model, &config).expect("compress");
		write(dir, name, &payload.encode());
	}
}

fn contribution_seeds(dir: &Path) {
	let model = contribution_model();
	let sample: Vec<f32> = (0..SAMPLE_LEN).map(|i| (i as f32 * 0.37).sin()).collect();
	let full = Payload::compress(model, &CodecConfig::default()).expect("compress");
	write(dir, "full-sample", &Contribution::new(sample.clone(), full).encode());
	let part = Payload::compress(&model[2..], &CodecConfig { topk: 4, ..CodecConfig::default() })
		.expect("compress");
	write(dir, "short-sample-two-tensors", &Contribution::new(sample[..3].to_vec(), part).encode());
	let empty = Payload::new(vec![]).expect("an empty payload");
	write(dir, "no-sample-empty-payload", &Contribution::new(vec![], empty).encode());
}

fn p2p_seeds(dir: &Path) {
	let framed = |kind: P2pMessage, bytes: &[u8]| {
		let mut out = vec![kind as u8];
		out.extend_from_slice(bytes);
		out
	};
	let commitment = Commitment::of(b"a payload");
	let request = Request { window: 7, hash: commitment.hash, offset: 0, end: commitment.size };
	write(dir, "request", &framed(P2pMessage::Request, &request.encode()));
	let resume = Request { window: u64::MAX, hash: [0xAB; 32], offset: 1 << 20, end: 3 << 20 };
	write(dir, "request-resume", &framed(P2pMessage::Request, &resume.encode()));
	let statuses =
		[Status::Ok, Status::NotFound, Status::Busy, Status::BadRequest].map(|s| s as u8);
	write(dir, "statuses", &framed(P2pMessage::Status, &statuses));
	let announcement = Announcement { window: 42, commitment };
	write(dir, "announcement", &framed(P2pMessage::Announcement, &announcement.encode()));

	let keypair = libp2p::identity::Keypair::ed25519_from_bytes([7u8; 32]).expect("an ed25519 key");
	let peer_id = keypair.public().to_peer_id();
	let endpoint = Endpoint {
		peer_id,
		addrs: vec![
			"/ip4/127.0.0.1/tcp/30333".parse().expect("a multiaddr"),
			"/ip6/::1/udp/30333/quic-v1".parse().expect("a multiaddr"),
			"/dns4/miner.example/tcp/4001".parse().expect("a multiaddr"),
		],
	};
	let chain = endpoint.to_chain().expect("an endpoint within the chain's bounds");
	let mut fields: Vec<&[u8]> = vec![&chain.peer_id];
	fields.extend(chain.multiaddrs.iter().map(Vec::as_slice));
	write(dir, "endpoint-binary", &framed(P2pMessage::Endpoint, &join_fields(&fields)));
	// The text form with the peer's own `/p2p/` suffix, which the pallet also stores as given.
	let text = format!("/ip4/10.0.0.2/tcp/4001/p2p/{peer_id}");
	let fields: Vec<&[u8]> = vec![&chain.peer_id, text.as_bytes()];
	write(dir, "endpoint-text", &framed(P2pMessage::Endpoint, &join_fields(&fields)));
}

fn checkpoint_seeds(dir: &Path) {
	let info = CheckpointInfo {
		format_version: CHECKPOINT_VERSION,
		model: ModelConfig::builtin("tiny").expect("the tiny model config"),
		train: TrainConfig::default(),
		optimizer_steps: 0,
		rounds: 3,
		run_seed: 11,
		error_feedback_beta: None,
	};
	// A checkpoint of a two-tensor "model": its weights, then exp_avg and exp_avg_sq of each.
	let names = ["embed.weight", "norm.weight"];
	let shapes = [vec![4, 8], vec![8]];
	let mut state = Vec::new();
	for (prefix, seed) in [("", 0), ("exp_avg.", 10), ("exp_avg_sq.", 20)] {
		for (i, (name, shape)) in names.iter().zip(&shapes).enumerate() {
			state.push(tensor(&format!("{prefix}{name}"), shape.clone(), seed + i));
		}
	}
	let buffers: Vec<Tensor> =
		names.iter().zip(&shapes).map(|(n, s)| tensor(n, s.clone(), 30)).collect();
	let snapshot = snapshot_of_arrays(info, state, 25, Some((0.95, buffers)));
	let tmp = std::env::temp_dir().join(format!("gauntlet-fuzz-seeds-{}", std::process::id()));
	let ckpt = tmp.join("checkpoint");
	snapshot.write(&ckpt).expect("write a checkpoint");
	let config = std::fs::read(ckpt.join("config.json")).expect("config.json");
	for file in ["model", "optimizer", "error_feedback"] {
		let st = std::fs::read(ckpt.join(format!("{file}.safetensors"))).expect("a tensor file");
		write(dir, file, &join_checkpoint(&config, &st));
	}
	std::fs::remove_dir_all(&tmp).expect("remove the temporary checkpoint");
}
