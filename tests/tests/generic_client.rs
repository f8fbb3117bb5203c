//! A generic client that knows nothing of this chain (py-substrate-interface, from metadata alone)
//! reads `gauntlet-node --dev` blocks and storage and gets a signed extrinsic included.

use anyhow::{Context, Result};
use gauntlet_e2e::{wait_for, Node};
use std::{path::Path, process::Command, time::Duration};

#[tokio::test(flavor = "multi_thread")]
async fn py_substrate_interface_reads_the_chain_from_metadata_alone() -> Result<()> {
	let mut node = Node::start("generic", &["--dev", "--tmp", "--dev-block-time", "500"])?;
	let client = node.client(Duration::from_secs(90)).await?;
	// The RPC server answers before the first block is authored; the generic client reads the
	// head, so give it one to read (measured: a run read block 0 and failed).
	wait_for("block 1", Duration::from_secs(60), || async {
		Ok((client.at_current_block().await?.block_number() >= 1).then_some(()))
	})
	.await?;
	// The runner's CARGO_MANIFEST_DIR first: a test binary reused from a shared target directory
	// may have been compiled in another checkout (measured: CI's clone, since deleted).
	let manifest_dir =
		std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
	let script = Path::new(&manifest_dir).join("clients/generic_client.py");
	// The project's venv (scripts/setup.sh) has substrate-interface.
	let python = std::env::var("GAUNTLET_VENV")
		.map(|venv| format!("{venv}/bin/python"))
		.unwrap_or_else(|_| "python3".into());
	let out = Command::new(python).arg(&script).arg(node.ws_url()).output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(out.status.success(), "generic client failed: {stderr}\n{}", node.log());
	let report: serde_json::Value =
		serde_json::from_slice(&out.stdout).context("generic client output is not JSON")?;
	assert!(report["system_number"].as_u64().context("System.Number")? >= 1);
	let pallets = report["pallets"].as_array().context("pallets")?;
	assert!(pallets.iter().any(|p| p == "Gauntlet"), "pallets: {pallets:?}");
	assert!(
		report["gauntlet_storage"].as_array().is_some_and(|s| !s.is_empty()),
		"Gauntlet storage not visible: {report}"
	);
	assert_eq!(report["remark_included"], true, "{report}");
	node.shutdown(Duration::from_secs(30))?;
	Ok(())
}
