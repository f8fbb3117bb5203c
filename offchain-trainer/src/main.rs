//! `gauntlet-trainer`: the miner/validator process. Parses arguments, calls the library.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use gauntlet_chain::{AccountId, GauntletClient, SignerArgs};
use offchain_trainer::bench as gpu_bench;
use offchain_trainer::data::{prepare, DataSource, Dataset, TokenizerKind};
use offchain_trainer::device::DeviceChoice;
use offchain_trainer::eval::{evaluate_checkpoint, EvalOptions};
use offchain_trainer::export::{export_checkpoint, ExportDtype};
use offchain_trainer::gauntlet::cli::parse_account;
use offchain_trainer::gauntlet::miner::{self, MinerArgs};
use offchain_trainer::gauntlet::validator::{self, ValidatorArgs};
use offchain_trainer::gauntlet::verify::{self, VerifyArgs};
use offchain_trainer::model::{ModelConfig, Precision};
use offchain_trainer::payload_file::{aggregate_files, compress_file, decompress_file};
use offchain_trainer::simulate::{self, report, Method, SimConfig};
use offchain_trainer::sparseloco::{AggregationRule, CodecConfig};
use offchain_trainer::training::Backward;

#[derive(Debug, Parser)]
#[command(name = "gauntlet-trainer", version, about = "SparseLoCo trainer for the Gauntlet chain")]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Print the libtorch build and the devices this machine offers.
	Info {
		/// Device to check: auto, cpu, cuda or cuda:N.
		#[arg(long, default_value = "auto")]
		device: DeviceChoice,
	},
	/// Tokenize the fetched corpora once into a token shard (scripts/fetch_corpora.sh runs it).
	PrepareData {
		/// Directory holding raw/ (from scripts/fetch_corpora.sh); the shard goes to tokens/.
		#[arg(long, default_value_os_t = default_data_dir())]
		data_dir: PathBuf,
		/// Tokenizer of the shard.
		#[arg(long, value_enum, default_value = "gpt2")]
		tokenizer: TokenizerKind,
	},
	/// Compress every tensor of a safetensors file into a SparseLoCo payload file.
	Compress {
		/// Dense tensors (F32, F16, BF16 or F64).
		#[arg(long)]
		input: PathBuf,
		/// Payload file to write (only written if compression succeeds).
		#[arg(long)]
		output: PathBuf,
		#[command(flatten)]
		codec: CodecArgs,
	},
	/// Decode a payload file into its dense f32 reconstruction (same names and shapes).
	Decompress {
		/// Payload file.
		#[arg(long)]
		input: PathBuf,
		/// Safetensors file to write.
		#[arg(long)]
		output: PathBuf,
	},
	/// Aggregate payload files as the outer step would (median-norm clip, then the rule) and write
	/// the dense aggregate, before η, as safetensors.
	Aggregate {
		/// Payload files, in the aggregation set's order (repeat the flag).
		#[arg(long = "input", required = true)]
		inputs: Vec<PathBuf>,
		/// Safetensors file to write.
		#[arg(long)]
		output: PathBuf,
		/// How peers combine at a position: mean (Templar's) or sum.
		#[arg(long, default_value = "mean")]
		rule: AggregationRule,
	},
	/// Simulate N peers in one process and compare SparseLoCo, DiLoCo and DDP.
	Simulate(Box<SimulateArgs>),
	/// Export a checkpoint as a Hugging Face LLaMA directory (safetensors, config.json,
	/// tokenizer) that `transformers` loads with `AutoModelForCausalLM.from_pretrained`.
	Export {
		/// Checkpoint directory (a miner's `<state-dir>/checkpoint`).
		#[arg(long)]
		checkpoint: PathBuf,
		/// Directory to write (created if missing).
		#[arg(long)]
		out: PathBuf,
		/// Storage of the weights: f32 (the checkpoint's values, bit for bit) or bf16.
		#[arg(long, value_enum, default_value = "f32")]
		dtype: ExportDtype,
	},
	/// Report a checkpoint's loss and perplexity on the held-out split.
	Eval(EvalArgs),
	/// Measure payload transfer between two p2p hosts over loopback and write a markdown table.
	BenchP2p {
		/// Markdown file to write.
		#[arg(long, default_value = "docs/p2p-bench.md")]
		out: PathBuf,
		/// Skip the 1 GB cases.
		#[arg(long)]
		quick: bool,
	},
	/// Benchmark the GPU codec (error-feedback round, aggregation); JSON lines on stdout.
	BenchCodec(BenchCodecArgs),
	/// Check the GPU codec against the CPU codec on the same input; JSON lines on stdout, exit
	/// status 1 on any disagreement.
	CheckCodec(CheckCodecArgs),
	/// Check the fused training pass against autograd on the GPU (each kernel, then a model's
	/// gradients); JSON lines on stdout, exit status 1 on any disagreement.
	CheckFused(CheckFusedArgs),
	/// Benchmark training steps (tokens/s, MFU); a JSON line on stdout.
	BenchTrain(BenchTrainArgs),
	/// Mine: register, train every window, serve and commit contributions.
	Miner(Box<MinerArgs>),
	/// Validate: fetch, verify and evaluate each window's contributions, commit and reveal scores.
	Validator(Box<ValidatorArgs>),
	/// Recompute a window's revealed scores from chain state and peers, one row per (validator,
	/// miner); exit 0 when every row agrees, 1 when any disagrees, 2 on bad input.
	Verify(Box<VerifyArgs>),
	/// Add a validator through `Sudo.sudo` (dev and test chains, where sudo is the admin).
	AddValidator {
		/// WebSocket RPC of the node.
		#[arg(long, default_value = "ws://127.0.0.1:9944")]
		node: String,
		/// The sudo key.
		#[command(flatten)]
		sudo: SignerArgs,
		/// The account to make a validator (SS58).
		#[arg(long, value_parser = parse_account)]
		validator: AccountId,
	},
}

#[derive(Debug, Args)]
struct EvalArgs {
	/// Checkpoint directory (a miner's `<state-dir>/checkpoint`).
	#[arg(long)]
	checkpoint: PathBuf,
	/// Held-out text: the fetched corpora, or the synthetic text of the checkpoint's run seed.
	#[arg(long, value_enum, default_value = "corpora")]
	data: DataSource,
	/// Data directory (for --data corpora).
	#[arg(long, default_value_os_t = default_data_dir())]
	data_dir: PathBuf,
	/// Tokens per sequence; the held-out pages depend on it, so give the run's --seq-len.
	#[arg(long, default_value_t = 64)]
	seq_len: usize,
	/// Held-out pages per thousand (the peers hold out 50).
	#[arg(long, default_value_t = 50)]
	heldout_permille: u32,
	/// Held-out sequences to evaluate, spread over the shard (0: all of them).
	#[arg(long, default_value_t = 0)]
	eval_seqs: usize,
	/// Sequences per forward pass.
	#[arg(long, default_value_t = 8)]
	batch_seqs: usize,
	/// Bytes of generated text (for --data synthetic; the peers use 4 MiB).
	#[arg(long, default_value_t = 4 << 20)]
	synthetic_bytes: usize,
	/// Device: auto (CUDA when present), cpu, cuda or cuda:N.
	#[arg(long, default_value = "auto")]
	device: DeviceChoice,
	/// Precision of matrix products.
	#[arg(long, value_enum, default_value = "auto")]
	precision: PrecisionArg,
}

#[derive(Debug, Args)]
struct BenchCodecArgs {
	/// CUDA device (cuda or cuda:N).
	#[arg(long, default_value = "cuda")]
	device: DeviceChoice,
	/// Synthetic model sizes, comma-separated: 124m, 1b, 4b or a parameter count.
	#[arg(long, value_delimiter = ',', default_value = "124m,1b,4b", value_parser = gpu_bench::parse_params)]
	params: Vec<usize>,
	/// Timed rounds per size.
	#[arg(long, default_value_t = 20)]
	rounds: usize,
	/// Untimed rounds first.
	#[arg(long, default_value_t = 3)]
	warmup: usize,
	/// Model size of the aggregation benchmark; 0 skips it.
	#[arg(long, default_value = "1b", value_parser = gpu_bench::parse_params)]
	aggregate_params: usize,
	/// Peers aggregated.
	#[arg(long, default_value_t = 20)]
	peers: usize,
	/// Model size for rounds of the CPU codec (the path before the GPU codec); 0 skips them.
	#[arg(long, default_value = "124m", value_parser = gpu_bench::parse_params)]
	cpu_params: usize,
}

#[derive(Debug, Args)]
struct CheckCodecArgs {
	/// CUDA device (cuda or cuda:N).
	#[arg(long, default_value = "cuda")]
	device: DeviceChoice,
	/// Built-in model whose tensor shapes are checked (plus a few unusual shapes).
	#[arg(long, default_value = "124m")]
	model: String,
	/// Error-feedback rounds.
	#[arg(long, default_value_t = 3)]
	rounds: usize,
	/// Peers in the aggregation check.
	#[arg(long, default_value_t = 5)]
	peers: usize,
}

#[derive(Debug, Args)]
struct CheckFusedArgs {
	/// CUDA device (cuda or cuda:N).
	#[arg(long, default_value = "cuda")]
	device: DeviceChoice,
	/// Built-in model.
	#[arg(long, default_value = "124m")]
	config: String,
	/// Tokens per sequence.
	#[arg(long, default_value_t = 1024)]
	seq: i64,
	/// Sequences.
	#[arg(long, default_value_t = 2)]
	batch: i64,
}

#[derive(Debug, Args)]
struct BenchTrainArgs {
	/// CUDA device (cuda or cuda:N).
	#[arg(long, default_value = "cuda")]
	device: DeviceChoice,
	/// Built-in model.
	#[arg(long, default_value = "124m")]
	config: String,
	/// Tokens per sequence.
	#[arg(long, default_value_t = 2048)]
	seq: i64,
	/// Sequences per step.
	#[arg(long, default_value_t = 8)]
	batch: i64,
	/// Timed steps.
	#[arg(long, default_value_t = 10)]
	steps: usize,
	/// Untimed steps first.
	#[arg(long, default_value_t = 3)]
	warmup: usize,
	/// Dense bf16 peak of the GPU in TFLOP/s (H100/H200 SXM: 989).
	#[arg(long, default_value_t = 989.0)]
	peak_tflops: f64,
	/// How gradients are computed: the fused pass (the trainer's default on CUDA) or autograd.
	#[arg(long, value_enum, default_value = "fused")]
	backward: Backward,
}

#[derive(Debug, Args)]
struct CodecArgs {
	/// Entries kept per chunk.
	#[arg(long, default_value_t = 64)]
	topk: usize,
	/// Largest tile side (chunks are up to chunk_target² entries).
	#[arg(long, default_value_t = 64)]
	chunk_target: usize,
	/// Quantization bins (2..=4).
	#[arg(long, default_value_t = 4)]
	bins: u8,
	/// Quantization range in standard deviations.
	#[arg(long, default_value_t = 6.0)]
	range: f32,
}

impl CodecArgs {
	fn config(&self) -> CodecConfig {
		CodecConfig {
			topk: self.topk,
			chunk_target: self.chunk_target,
			bins: self.bins,
			range: self.range,
		}
	}
}

#[derive(Debug, Args)]
struct SimulateArgs {
	/// Simulated peers.
	#[arg(long, default_value_t = 4)]
	peers: usize,
	/// Outer rounds.
	#[arg(long, default_value_t = 10)]
	rounds: usize,
	/// Methods to run, comma-separated, each from the same initial weights.
	#[arg(long, value_enum, value_delimiter = ',', default_value = "sparseloco")]
	method: Vec<Method>,
	/// Model name in the config file.
	#[arg(long, default_value = "tiny")]
	model: String,
	/// JSON file of named model configs (default: the built-in configs/models.json).
	#[arg(long)]
	model_config: Option<PathBuf>,
	/// Inner steps per round (H).
	#[arg(long, default_value_t = 10)]
	inner_steps: usize,
	/// Output directory for simulation.csv / .png / .json.
	#[arg(long, default_value = "simulation-out")]
	out: PathBuf,
	/// Device: auto (CUDA when present), cpu, cuda or cuda:N.
	#[arg(long, default_value = "auto")]
	device: DeviceChoice,
	/// Precision of matrix products.
	#[arg(long, value_enum, default_value = "auto")]
	precision: PrecisionArg,
	/// Training data.
	#[arg(long, value_enum, default_value = "corpora")]
	data: DataSource,
	/// Data directory (for --data corpora).
	#[arg(long, default_value_os_t = default_data_dir())]
	data_dir: PathBuf,
	/// Bytes of generated text (for --data synthetic).
	#[arg(long, default_value_t = 2_000_000)]
	synthetic_bytes: usize,
	/// Tokens per training sequence.
	#[arg(long, default_value_t = 128)]
	seq_len: usize,
	/// Sequences per inner step per peer.
	#[arg(long, default_value_t = 8)]
	batch_seqs: usize,
	/// Sequences per forward pass (gradient accumulation when below --batch-seqs).
	#[arg(long)]
	micro_batch_seqs: Option<usize>,
	/// Peak inner learning rate.
	#[arg(long, default_value_t = 2e-3)]
	lr: f64,
	/// Inner warmup steps.
	#[arg(long, default_value_t = 10)]
	warmup_steps: u64,
	/// Inner AdamW weight decay.
	#[arg(long, default_value_t = 0.1)]
	weight_decay: f64,
	/// SparseLoCo outer learning rate (on the aggregate of the peers).
	#[arg(long, default_value_t = 1.0)]
	outer_lr: f32,
	/// How SparseLoCo combines the peers' clipped payloads: mean (Templar's) or sum.
	#[arg(long, default_value = "mean")]
	aggregation: AggregationRule,
	/// SparseLoCo error-feedback decay.
	#[arg(long, default_value_t = 0.95)]
	ef_beta: f32,
	/// DiLoCo outer learning rate.
	#[arg(long, default_value_t = 0.7)]
	diloco_lr: f64,
	/// DiLoCo outer Nesterov momentum.
	#[arg(long, default_value_t = 0.9)]
	diloco_momentum: f64,
	/// Held-out sequences evaluated after each round.
	#[arg(long, default_value_t = 64)]
	eval_seqs: usize,
	/// Held-out pages per thousand.
	#[arg(long, default_value_t = 50)]
	heldout_permille: u32,
	/// CPU threads for libtorch (0: its default, one per core). On a machine shared with other
	/// busy processes, 1 avoids OpenMP threads spinning against each other.
	#[arg(long, default_value_t = 0)]
	threads: i32,
	/// Run seed (data assignment and initial weights).
	#[arg(long, default_value_t = 0)]
	seed: u64,
	#[command(flatten)]
	codec: CodecArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PrecisionArg {
	Auto,
	Fp32,
	Bf16,
}

impl From<PrecisionArg> for Precision {
	fn from(p: PrecisionArg) -> Self {
		match p {
			PrecisionArg::Auto => Precision::Auto,
			PrecisionArg::Fp32 => Precision::Fp32,
			PrecisionArg::Bf16 => Precision::Bf16,
		}
	}
}

/// `$GAUNTLET_DATA`, else `$GAUNTLET_HOME/data`, else `/var/cache/gauntlet/data`.
fn default_data_dir() -> PathBuf {
	if let Some(dir) = std::env::var_os("GAUNTLET_DATA") {
		return dir.into();
	}
	let home = std::env::var_os("GAUNTLET_HOME").unwrap_or_else(|| "/var/cache/gauntlet".into());
	PathBuf::from(home).join("data")
}

fn run_simulate(args: SimulateArgs) -> Result<()> {
	if args.threads > 0 {
		tch::set_num_threads(args.threads);
	}
	let device = args.device.resolve()?;
	let model = match &args.model_config {
		Some(path) => ModelConfig::from_file(path, &args.model)?,
		None => ModelConfig::builtin(&args.model)?,
	};
	anyhow::ensure!(
		args.seq_len as i64 <= model.max_seq_len,
		"--seq-len {} exceeds the model's max_seq_len {}",
		args.seq_len,
		model.max_seq_len
	);
	let dataset = Dataset::open(
		args.data,
		&args.data_dir,
		model.tokenizer,
		args.seq_len,
		args.heldout_permille,
		args.seed,
		args.synthetic_bytes,
	)
	.with_context(|| format!("--data {:?} for model {}", args.data, args.model))?;
	let mut config = SimConfig {
		peers: args.peers,
		rounds: args.rounds,
		inner_steps: args.inner_steps,
		ef_beta: args.ef_beta,
		sparseloco_outer_lr: args.outer_lr,
		aggregation: args.aggregation,
		diloco_outer_lr: args.diloco_lr,
		diloco_momentum: args.diloco_momentum,
		eval_seqs: args.eval_seqs,
		run_seed: args.seed,
		model_seed: args.seed as i64,
		precision: args.precision.into(),
		..SimConfig::default()
	};
	let c = args.codec.config();
	config.codec = simulate::CodecConfigSer {
		topk: c.topk,
		chunk_target: c.chunk_target,
		bins: c.bins,
		range: c.range,
	};
	config.train.lr = args.lr;
	config.train.warmup_steps = args.warmup_steps;
	config.train.adamw.weight_decay = args.weight_decay;
	config.train.batch_seqs = args.batch_seqs;
	config.train.micro_batch_seqs = args.micro_batch_seqs.unwrap_or(args.batch_seqs);
	tracing::info!(
		model = args.model,
		params = model.param_count(),
		tokens = dataset.shard.len(),
		device = ?device,
		"simulating"
	);
	let started = std::time::Instant::now();
	let records =
		simulate::run_and_report(&model, &dataset, &args.method, &config, device, &args.out)?;
	println!("{}", report::summary_table(&records, 4 * model.param_count() as u64));
	println!(
		"wall time {:.1} s; results in {}",
		started.elapsed().as_secs_f64(),
		args.out.display()
	);
	Ok(())
}

fn run_eval(args: EvalArgs) -> Result<()> {
	let options = EvalOptions {
		data: args.data,
		data_dir: args.data_dir,
		seq_len: args.seq_len,
		heldout_permille: args.heldout_permille,
		max_sequences: (args.eval_seqs > 0).then_some(args.eval_seqs),
		micro_batch: args.batch_seqs,
		synthetic_bytes: args.synthetic_bytes,
	};
	let device = args.device.resolve()?;
	let (info, held_out) =
		evaluate_checkpoint(&args.checkpoint, &options, device, args.precision.into())
			.with_context(|| format!("evaluating {}", args.checkpoint.display()))?;
	println!(
		"held-out loss {:.4} nats/token, perplexity {:.3} ({} sequences of {} tokens, {} tokens; \
		 {} data, {} tokenizer; checkpoint after {} rounds, {} optimizer steps; {device:?})",
		held_out.loss,
		held_out.perplexity,
		held_out.sequences,
		args.seq_len,
		held_out.tokens,
		match args.data {
			DataSource::Corpora => "corpora",
			DataSource::Synthetic => "synthetic",
		},
		info.model.tokenizer.name(),
		info.rounds,
		info.optimizer_steps,
	);
	Ok(())
}

fn run_bench_p2p(out: &std::path::Path, quick: bool) -> Result<()> {
	use offchain_trainer::p2p::bench;
	let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
	let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
	let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
	let load_before = load();
	let mut rows = Vec::new();
	for case in bench::default_cases().into_iter().filter(|c| !quick || c.size < 1_000_000_000) {
		let row = runtime.block_on(bench::run_case(case)).with_context(|| format!("{case:?}"))?;
		tracing::info!(?case, seconds = row.seconds, mb_per_s = row.mb_per_s(), "measured");
		rows.push(row);
	}
	let context = format!(
		"`gauntlet-trainer bench-p2p` on this machine: {cores} cores shared with other builds \
		 (load average before: {}, after: {}). Two hosts in one process over 127.0.0.1; each row \
		 is one fetch on open connections (uncapped: the second fetch of the payload, the first \
		 opened a connection per lane), timed from `fetch` to the verified payload. Lanes: the \
		 payload in that many pieces (none under 8 MiB), each on its own stream, fetched at once \
		 over as many connections (libp2p-stream puts each stream on one of them at random), \
		 then hashed on all cores. CPU s per GB: CPU time of both hosts during the fetch \
		 (includes time lost to contention on a shared machine). The last column is hashing the \
		 payload once on one core when serving it. MB = 10^6 bytes, Mb = 10^6 bits.",
		load_before.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
		load().split_whitespace().take(3).collect::<Vec<_>>().join(" "),
	);
	let table = bench::markdown(&rows, &context);
	offchain_trainer::atomic_file::write(out, table.as_bytes())
		.with_context(|| format!("writing {}", out.display()))?;
	println!("{table}");
	Ok(())
}

fn main() -> Result<()> {
	offchain_trainer::malloc::keep_freed_memory();
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();
	match Cli::parse().command {
		Command::Info { device } => {
			let resolved = device.resolve()?;
			println!("gauntlet-trainer {}", env!("CARGO_PKG_VERSION"));
			println!("cuda devices: {}", tch::Cuda::device_count());
			println!("cudnn: {}", tch::Cuda::cudnn_is_available());
			println!("device: {resolved:?}");
		}
		Command::PrepareData { data_dir, tokenizer } => {
			let path = prepare::ensure_shard(&data_dir, tokenizer)?;
			println!("{}", path.display());
		}
		Command::Compress { input, output, codec } => {
			let s = compress_file(&input, &output, &codec.config())
				.with_context(|| format!("compressing {}", input.display()))?;
			println!(
				"{} tensors, {} elements, {} kept, {} bytes ({:.1}x smaller than dense fp32)",
				s.tensors,
				s.elements,
				s.kept,
				s.payload_bytes,
				s.ratio_vs_fp32()
			);
		}
		Command::Decompress { input, output } => {
			let n = decompress_file(&input, &output)
				.with_context(|| format!("decompressing {}", input.display()))?;
			println!("{n} tensors written to {}", output.display());
		}
		Command::Aggregate { inputs, output, rule } => {
			let n = aggregate_files(&inputs, &output, rule)
				.with_context(|| format!("aggregating {} payloads", inputs.len()))?;
			println!(
				"{n} tensors ({rule} of {} payloads) written to {}",
				inputs.len(),
				output.display()
			);
		}
		Command::Simulate(args) => run_simulate(*args)?,
		Command::Export { checkpoint, out, dtype } => {
			let s = export_checkpoint(&checkpoint, &out, dtype)
				.with_context(|| format!("exporting {}", checkpoint.display()))?;
			println!(
				"{} tensors, {} parameters ({} bytes, {}) written to {} as a Hugging Face \
				 LlamaForCausalLM with the {} tokenizer",
				s.tensors,
				s.parameters,
				s.bytes,
				dtype.torch_name(),
				out.display(),
				s.model.tokenizer.name()
			);
		}
		Command::Eval(args) => run_eval(args)?,
		Command::BenchP2p { out, quick } => run_bench_p2p(&out, quick)?,
		Command::BenchCodec(a) => gpu_bench::codec::run(&gpu_bench::codec::CodecBenchArgs {
			device: a.device.resolve()?,
			params: a.params,
			rounds: a.rounds,
			warmup: a.warmup,
			aggregate_params: (a.aggregate_params > 0).then_some(a.aggregate_params),
			peers: a.peers,
			cpu_params: (a.cpu_params > 0).then_some(a.cpu_params),
		})?,
		Command::CheckCodec(a) => {
			let ok = gpu_bench::check::run(&gpu_bench::check::CheckArgs {
				device: a.device.resolve()?,
				model: a.model,
				rounds: a.rounds,
				peers: a.peers,
			})?;
			anyhow::ensure!(ok, "the GPU codec disagrees with the CPU codec (see the JSON lines)");
		}
		Command::BenchTrain(a) => gpu_bench::train::run(&gpu_bench::train::TrainBenchArgs {
			device: a.device.resolve()?,
			model: a.config,
			seq: a.seq,
			batch: a.batch,
			steps: a.steps,
			warmup: a.warmup,
			peak_tflops: a.peak_tflops,
			backward: a.backward,
		})?,
		Command::CheckFused(a) => {
			let ok = gpu_bench::fused::run(&gpu_bench::fused::FusedCheckArgs {
				device: a.device.resolve()?,
				model: a.config,
				seq: a.seq,
				batch: a.batch,
			})?;
			anyhow::ensure!(
				ok,
				"the fused training pass disagrees with autograd (see the JSON lines)"
			);
		}
		Command::Miner(args) => runtime()?.block_on(miner::run(*args))?,
		Command::Validator(args) => runtime()?.block_on(validator::run(*args))?,
		Command::Verify(args) => match runtime()?.block_on(verify::run(*args)) {
			Ok(true) => {}
			Ok(false) => std::process::exit(1),
			Err(e) => {
				eprintln!("Error: {e:#}");
				std::process::exit(2);
			}
		},
		Command::AddValidator { node, sudo, validator } => runtime()?.block_on(async {
			let client = GauntletClient::connect(&node).await?;
			let included = client.sudo_add_validator(&sudo.signer()?, &validator).await?;
			println!("{validator} is a validator (block {})", included.block_hash);
			anyhow::Ok(())
		})?,
	}
	Ok(())
}

/// The async runtime of the chain-facing commands (multi-threaded: training runs inside
/// `block_in_place` while the p2p host keeps serving).
fn runtime() -> Result<tokio::runtime::Runtime> {
	tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")
}
