//! Running the `gauntlet-trainer` binary from the integration tests that use it as a user does.

use std::path::Path;
use std::process::{Command, Output};

/// `gauntlet-trainer <args>`, waited for, with its output.
pub fn trainer(args: &[&str]) -> Output {
	Command::new(env!("CARGO_BIN_EXE_gauntlet-trainer"))
		.args(args)
		.output()
		.expect("gauntlet-trainer runs (is LD_LIBRARY_PATH set by scripts/env.sh?)")
}

/// A temporary path as a command-line argument.
pub fn arg(p: &Path) -> &str {
	p.to_str().expect("utf-8 temp path")
}
