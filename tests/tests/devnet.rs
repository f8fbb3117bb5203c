//! The main job under test: `scripts/devnet.sh`, as a user runs it (real corpora, which the setup
//! script fetches; the `tiny` model on the CPU), for two windows. The script's own output must
//! show a scored window and end with the on-chain leaderboard of its three miners, whose final
//! weights sum to one. Setup and the build are skipped (`--no-build`): the test command has just
//! done both, and a build here could replace binaries that other tests are running.

use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};
use gauntlet_chain::Signer;
use gauntlet_e2e::{binary, free_port, TestDir};

#[test]
fn the_devnet_script_scores_its_miners_and_prints_their_leaderboard() -> Result<()> {
	let mut dir = TestDir::new("devnet")?;
	let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
	let bin_dir = binary("gauntlet-node")?.parent().context("binary directory")?.to_path_buf();
	let (rpc, p2p) = (free_port()?, free_port()?);
	let output = Command::new("bash")
		.arg(root.join("scripts/devnet.sh"))
		.args(["--windows", "2", "--no-build"])
		.args(["--rpc-port", &rpc.to_string(), "--p2p-port", &p2p.to_string()])
		.env("DEVNET_BIN_DIR", &bin_dir)
		// The run's logs and journals go under the test's directory, kept if the test fails.
		.env("GAUNTLET_DEVNET_DIR", dir.path())
		.stdin(Stdio::null())
		.output()
		.context("running scripts/devnet.sh")?;
	let stdout = String::from_utf8_lossy(&output.stdout);
	let stderr = String::from_utf8_lossy(&output.stderr);
	std::fs::write(dir.path().join("devnet.out"), format!("{stdout}\n--- stderr\n{stderr}"))?;
	ensure!(output.status.success(), "devnet.sh failed ({}):\n{stdout}\n{stderr}", output.status);

	ensure!(
		stdout.lines().any(|l| l.contains("window 0: scored 3 miners")),
		"devnet.sh showed no scored window:\n{stdout}"
	);
	let table: Vec<&str> =
		stdout.lines().skip_while(|l| !l.contains("on-chain leaderboard:")).skip(1).collect();
	let header = table.first().context("no leaderboard after its heading")?;
	let columns: Vec<&str> = header.split_whitespace().collect();
	let col = |name: &str| columns.iter().position(|c| *c == name).context(format!("no {name}"));
	let (miner_col, weight_col) = (col("miner")?, col("final_weight")?);
	let mut weights = Vec::new();
	for miner in ["//Bob", "//Charlie", "//Dave"] {
		let account = Signer::from_uri(miner)?.account_id().to_string();
		let row = table[1..]
			.iter()
			.map(|l| l.split_whitespace().collect::<Vec<_>>())
			.find(|r| r.get(miner_col) == Some(&account.as_str()))
			.with_context(|| format!("{miner} ({account}) is not on the leaderboard:\n{stdout}"))?;
		let weight: f64 = row.get(weight_col).context("short row")?.parse()?;
		weights.push(weight);
	}
	let total: f64 = weights.iter().sum();
	ensure!((total - 1.0).abs() < 1e-3, "final weights {weights:?} do not sum to one");
	dir.pass();
	Ok(())
}
