#!/usr/bin/env bash
# The main job: set up, build, and run a local Gauntlet dev chain on ws://127.0.0.1:9944.
# Extra arguments go to gauntlet-node (e.g. --dev-block-time 2000). Ctrl-C stops it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

# The same command as the tests use: one feature set, one compile of the tree.
cargo build --release --locked --workspace --all-targets
exec "$CARGO_TARGET_DIR/release/gauntlet-node" --dev --rpc-port 9944 "$@"
