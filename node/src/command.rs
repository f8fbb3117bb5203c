//! Parses the command line and runs the chosen subcommand or the node.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use gauntlet_runtime::opaque::Block;
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Gauntlet Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/gauntlet/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			path => Box::new(
				chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))
					.map_err(|e| format!("cannot load chain spec {path:?}: {e}"))?,
			),
		})
	}
}

/// Parse and run command line arguments.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		}
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let dev_block_time = cli.dev_block_time;
			runner.run_node_until_exit(|mut config| async move {
				// Upstream silently moves RPC to a random port when the requested one is taken;
				// clients (and our trainer) are configured with a fixed URL, so fail instead.
				for endpoint in config.rpc.addr.iter_mut().flatten() {
					endpoint.retry_random_port = false;
				}
				type Libp2p =
					sc_network::NetworkWorker<Block, <Block as sp_runtime::traits::Block>::Hash>;
				let dev = config.chain_spec.chain_type() == sc_service::ChainType::Development;
				let backend = config.network.network_backend.unwrap_or_default();
				let task_manager = match (dev, backend) {
					(true, sc_network::config::NetworkBackendType::Libp2p) => {
						service::new_dev::<Libp2p>(config, dev_block_time)
					}
					(true, sc_network::config::NetworkBackendType::Litep2p) => {
						service::new_dev::<sc_network::Litep2pNetworkBackend>(
							config,
							dev_block_time,
						)
					}
					(false, sc_network::config::NetworkBackendType::Libp2p) => {
						service::new_full::<Libp2p>(config)
					}
					(false, sc_network::config::NetworkBackendType::Litep2p) => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(config)
					}
				};
				task_manager.map_err(sc_cli::Error::Service)
			})
		}
	}
}
