//! `gauntlet-trainer`: the miner/validator process. Parses arguments, calls the library.

use anyhow::Result;
use clap::{Parser, Subcommand};
use offchain_trainer::device::DeviceChoice;

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
}

fn main() -> Result<()> {
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
		},
	}
	Ok(())
}
