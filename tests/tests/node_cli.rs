//! Bad input to `gauntlet-node` gives a clear error and a non-zero exit.

use anyhow::Result;
use gauntlet_e2e::{binary, free_port, Node};
use std::{net::TcpListener, process::Command, time::Duration};

#[test]
fn unknown_flag_is_rejected() -> Result<()> {
	let out = Command::new(binary("gauntlet-node")?).arg("--no-such-flag").output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success());
	assert!(stderr.contains("--no-such-flag"), "stderr: {stderr}");
	Ok(())
}

#[test]
fn dev_block_time_out_of_range_is_rejected() -> Result<()> {
	let out =
		Command::new(binary("gauntlet-node")?).args(["--dev", "--dev-block-time", "0"]).output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success());
	assert!(stderr.contains("--dev-block-time"), "stderr: {stderr}");
	Ok(())
}

#[test]
fn unreadable_chain_spec_is_reported() -> Result<()> {
	let out = Command::new(binary("gauntlet-node")?)
		.args(["--chain", "/nonexistent/gauntlet-spec.json", "--tmp"])
		.output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success());
	assert!(stderr.contains("/nonexistent/gauntlet-spec.json"), "stderr: {stderr}");
	Ok(())
}

#[test]
fn rpc_port_in_use_is_reported() -> Result<()> {
	let taken = TcpListener::bind(("127.0.0.1", free_port()?))?;
	let port = taken.local_addr()?.port().to_string();
	let out = Command::new(binary("gauntlet-node")?)
		.args(["--dev", "--tmp", "--no-prometheus", "--no-mdns", "--rpc-port", &port])
		.args(["--port", &free_port()?.to_string()])
		.output()?;
	let stderr = String::from_utf8_lossy(&out.stderr);
	assert!(!out.status.success(), "node started although RPC port {port} is taken");
	assert!(stderr.to_lowercase().contains("address already in use"), "stderr: {stderr}");
	Ok(())
}

#[test]
fn node_helper_reports_early_exit() -> Result<()> {
	// The harness itself: a node that cannot start is reported, not waited on forever.
	let mut node = Node::start("bad", &["--chain", "/nonexistent.json"])?;
	let status = node.wait_exit(Duration::from_secs(30))?;
	assert!(!status.success());
	Ok(())
}
