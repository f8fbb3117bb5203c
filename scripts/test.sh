#!/usr/bin/env bash
# The project's test command (README, .ci/run): setup, format check, build, lints, every test.
# Each step prints its wall time, so cold and warm figures can be read off one run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

timed() {
	local label="$1"; shift
	local start=$SECONDS
	printf '\033[1;34m[test]\033[0m %s: %s\n' "$label" "$*"
	"$@"
	printf '\033[1;34m[test]\033[0m %s took %ss\n' "$label" "$((SECONDS - start))"
}

timed fmt cargo fmt --all --check
# One profile (release) and one feature set (--all-targets: dev-dependencies included, as the
# test and clippy steps see them) for binaries, tests and clippy, so the
# Substrate tree is compiled once; see README "Build figures".
timed build cargo build --release --locked --workspace --all-targets
timed clippy cargo clippy --release --locked --workspace --all-targets -- -D warnings
timed test cargo nextest run --release --locked --workspace --profile ci
# nextest does not run doctests. Over the whole workspace, so a new one runs without editing this
# line, and with the feature set of the steps above (cargo activates dev-dependencies for doctests
# as --all-targets does), so they reuse that build; asking for single crates (-p) would resolve
# their features alone and compile parts of their trees a second time.
timed doctests cargo test --release --locked --workspace --doc
# The `gauntlet-rate` binary and its tests (pallets/gauntlet/rating/tests/cli.rs) need the rating
# crate's `cli` feature. Not passed to the workspace steps above: unified there, it would change
# the rating crate's features and so rebuild everything that depends on it (pallet, runtime,
# node, trainer) in a second copy. Asked for this package alone, cargo resolves features over
# its own small tree (codec, scale-info, substrate-fixed, serde), which it builds once more
# beside the main cache, leaving that untouched. nextest builds the binary for the tests.
timed rating-cli-clippy cargo clippy --release --locked -p gauntlet-rating --features cli \
	--all-targets -- -D warnings
timed rating-cli-test cargo nextest run --release --locked -p gauntlet-rating --features cli \
	--profile ci
# The pallet's benchmarks, run as tests in its mock runtime. `runtime-benchmarks` is another
# feature set, so it builds in its own cache (shared with scripts/benchmark-weights.sh) and leaves
# the main one untouched.
timed benchmarks env CARGO_TARGET_DIR="$GAUNTLET_HOME/target-bench" \
	cargo nextest run --release --locked -p pallet-gauntlet --features runtime-benchmarks --profile ci
