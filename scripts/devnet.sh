#!/usr/bin/env bash
# The main job: set up, build, and run a local Gauntlet dev chain on ws://127.0.0.1:9944.
# Extra arguments go to gauntlet-node (e.g. --dev-block-time 2000). Ctrl-C stops it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

cargo build --release --locked -p gauntlet-node
exec "$CARGO_TARGET_DIR/release/gauntlet-node" --dev --rpc-port 9944 "$@"
