#!/usr/bin/env bash
# Regenerates pallets/gauntlet/src/weights.rs from the pallet's benchmarks (benchmarking.rs):
# builds the runtime with `runtime-benchmarks` (its own cache, so the main build's feature set is
# untouched), installs frame-omni-bencher once (the version of our polkadot-sdk release), and runs
# every benchmark against the wasm runtime. The node never links frame-benchmarking-cli.
#
#   bash scripts/benchmark-weights.sh            # steps 50, repeat 20 (the committed weights)
#   STEPS=2 REPEAT=1 bash scripts/benchmark-weights.sh   # quick smoke run
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

OMNI_BENCHER_VERSION=0.11.0 # polkadot-sdk stable2503, like every Substrate crate here
TOOLS="$GAUNTLET_HOME/tools"
BENCH_TARGET="$GAUNTLET_HOME/target-bench"
STEPS="${STEPS:-50}"
REPEAT="${REPEAT:-20}"
step() { printf '\033[1;34m[bench]\033[0m %s\n' "$*"; }

if ! "$TOOLS/bin/frame-omni-bencher" --version 2>/dev/null | grep -q "$OMNI_BENCHER_VERSION"; then
	step "cargo install frame-omni-bencher@$OMNI_BENCHER_VERSION (once; about 30 min on 2 cores)"
	cargo install --locked "frame-omni-bencher@$OMNI_BENCHER_VERSION" --root "$TOOLS" \
		--target-dir "$GAUNTLET_HOME/target-omni"
fi

step "build gauntlet-runtime --features runtime-benchmarks (target dir $BENCH_TARGET)"
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build --release --locked -p gauntlet-runtime \
	--features runtime-benchmarks
WASM="$BENCH_TARGET/release/wbuild/gauntlet-runtime/gauntlet_runtime.compact.compressed.wasm"

step "frame-omni-bencher: pallet_gauntlet, steps $STEPS, repeat $REPEAT"
"$TOOLS/bin/frame-omni-bencher" v1 benchmark pallet \
	--runtime "$WASM" \
	--genesis-builder-preset development \
	--pallet pallet_gauntlet --extrinsic '*' \
	--steps "$STEPS" --repeat "$REPEAT" \
	--heap-pages 4096 \
	--template scripts/templates/pallet-weights.hbs \
	--output pallets/gauntlet/src/weights.rs
step "wrote pallets/gauntlet/src/weights.rs"
