//! `gauntlet-audit`: read-only views of a Gauntlet chain (CLI, PNG chart, web dashboard).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gauntlet_audit::{
	dashboard::{self, ServeOptions},
	output::{self, Format},
	png::{self, Metric},
	views,
};
use gauntlet_chain::{AccountId, GauntletClient, Window};
use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

#[derive(Debug, Parser)]
#[command(
	name = "gauntlet-audit",
	version,
	about = "Audit a Gauntlet chain: ratings, scores, windows, run configuration"
)]
struct Cli {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	node: String,
	/// Output format of the read commands.
	#[arg(long, global = true, value_enum, default_value_t = Format::Table)]
	format: Format,
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// Every registered miner's standing.
	Leaderboard,
	/// A miner's rating after each closed window.
	History {
		/// The miner's SS58 address.
		#[arg(long, value_parser = parse_account)]
		miner: AccountId,
		/// First window (default 0).
		#[arg(long, default_value_t = 0)]
		from: Window,
		/// Last window (default: the current window).
		#[arg(long)]
		to: Option<Window>,
	},
	/// Commitments, every validator's scores, the ranking and the aggregation set of a window.
	Window {
		/// The window.
		window: Window,
	},
	/// The run configuration in force.
	Config,
	/// Draw every miner's rating over windows as a PNG.
	Chart {
		/// Where to write the PNG.
		#[arg(long)]
		out: PathBuf,
		/// Which value to draw.
		#[arg(long, value_enum, default_value_t = Metric::Ordinal)]
		metric: Metric,
		/// First window (default: 50 windows before the last).
		#[arg(long)]
		from: Option<Window>,
		/// Last window (default: the current window).
		#[arg(long)]
		to: Option<Window>,
	},
	/// Serve the read-only web dashboard.
	Serve {
		/// Address to listen on (loopback unless you mean to expose it).
		#[arg(long, default_value = "127.0.0.1:8080")]
		listen: SocketAddr,
		/// How often to poll the node, in milliseconds.
		#[arg(long, default_value_t = 1000)]
		poll_ms: u64,
	},
}

fn parse_account(text: &str) -> Result<AccountId, String> {
	AccountId::from_str(text).map_err(|e| format!("not an SS58 address: {e}"))
}

#[tokio::main]
async fn main() -> Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	match cli.command {
		Command::Serve { listen, poll_ms } => {
			let poll = Duration::from_millis(poll_ms.max(100));
			let options = ServeOptions { node: cli.node, listen, poll };
			let shutdown = async {
				let _ = tokio::signal::ctrl_c().await;
			};
			dashboard::serve(options, shutdown).await
		}
		command => read(&cli.node, cli.format, command).await,
	}
}

/// Run one of the read commands against `node`, printing to stdout.
async fn read(node: &str, format: Format, command: Command) -> Result<()> {
	let client = GauntletClient::connect(node).await.context("connecting to the node")?;
	let mut out = std::io::stdout().lock();
	match command {
		Command::Leaderboard => {
			let view = views::leaderboard(&client).await?;
			output::print(&view, &output::leaderboard_tables(&view), format, &mut out)?;
		}
		Command::History { miner, from, to } => {
			let to = match to {
				Some(to) => to,
				None => client.head().await?.window,
			};
			let view = views::history(&client, &miner, from, to).await?;
			output::print(&view, &output::history_tables(&view), format, &mut out)?;
		}
		Command::Window { window } => {
			let view = views::window(&client, window)
				.await?
				.with_context(|| format!("window {window} is in the future or no longer stored"))?;
			output::print(&view, &output::window_tables(&view), format, &mut out)?;
		}
		Command::Config => {
			let view = views::config(&client).await?;
			output::print(&view, &output::config_tables(&view), format, &mut out)?;
		}
		Command::Chart { out: path, metric, from, to } => {
			let to = match to {
				Some(to) => to,
				None => client.head().await?.window,
			};
			let from = from.unwrap_or(to.saturating_sub(50));
			let mut histories = Vec::new();
			for entry in client.leaderboard().await? {
				let history = client.rating_history(&entry.miner, from, to).await?;
				histories.push((entry.miner, history));
			}
			png::ratings_png(&histories, metric, &path)
				.with_context(|| format!("drawing {}", path.display()))?;
			eprintln!(
				"wrote {} ({} miners, windows {from}..={to})",
				path.display(),
				histories.len()
			);
		}
		Command::Serve { .. } => anyhow::bail!("serve is not a read command"),
	}
	Ok(())
}
