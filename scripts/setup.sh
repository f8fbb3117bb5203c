#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine (root, rustup present): system packages,
# the Rust target/components the runtime's wasm build needs, a Python venv with PyTorch for tch,
# and the environment the build reads (scripts/env.sh). Quick when everything is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

step() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------------------------
# g++: torch-sys and the trainer's cuDNN-attention shim (offchain-trainer/build.rs) compile C++.
APT_PACKAGES=(clang libclang-dev protobuf-compiler g++ python3-venv fonts-dejavu-core chromium chromium-driver)
# npm (scripts/fetch_corpora.sh uses `npm pack`) often comes with Node.js itself; only ask apt if absent.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	step "apt-get install ${missing[*]}"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	step "apt packages present (${APT_PACKAGES[*]})"
fi

# --- Rust toolchain pieces (rust-toolchain.toml pins the version) ------------------------------
# Also for rustup's default toolchain: the runtime's wasm builder runs cargo from inside the build
# cache, outside this checkout, where rust-toolchain.toml does not apply.
cd "$ROOT"
pinned="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
default="$(rustup default 2>/dev/null | awk '{print $1}')"
for toolchain in $(printf '%s\n' "$pinned" "$default" | sort -u); do
	if ! rustup toolchain list | grep -q "^$toolchain"; then
		step "rustup toolchain install $toolchain"
		rustup toolchain install --profile minimal "$toolchain"
	fi
	if ! rustup target list --toolchain "$toolchain" --installed | grep -q '^wasm32v1-none$'; then
		step "rustup target add wasm32v1-none ($toolchain)"
		rustup target add --toolchain "$toolchain" wasm32v1-none
	fi
	for c in rust-src clippy rustfmt; do
		if ! rustup component list --toolchain "$toolchain" --installed | grep -q "^$c"; then
			step "rustup component add $c ($toolchain)"
			rustup component add --toolchain "$toolchain" "$c"
		fi
	done
done
step "rust $pinned (default: ${default:-none}) with wasm32v1-none, rust-src, clippy, rustfmt"

# --- cargo-nextest (preinstalled on the project's machines; installed from crates.io if not) ----
if ! command -v cargo-nextest >/dev/null 2>&1; then
	step "cargo install cargo-nextest"
	cargo install --locked cargo-nextest
fi

# --- cargo-fuzz and nightly, only when fuzzing is asked for (scripts/fuzz.sh sets
# GAUNTLET_SETUP_FUZZ=1; `setup.sh --fuzz` does the same), so CI's cold setup does not pay for it.
if [ "${GAUNTLET_SETUP_FUZZ:-0}" = 1 ] || [[ " $* " == *" --fuzz "* ]]; then
	if ! rustup toolchain list | grep -q '^nightly'; then
		step "rustup toolchain install nightly (cargo fuzz needs -Zsanitizer)"
		rustup toolchain install --profile minimal nightly
	fi
	if ! command -v cargo-fuzz >/dev/null 2>&1; then
		step "cargo install cargo-fuzz"
		cargo install --locked cargo-fuzz
	fi
	step "$(cargo fuzz --version 2>/dev/null), $(rustc +nightly --version)"
fi

# --- Python venv with PyTorch: tch builds and links against it (LIBTORCH_USE_PYTORCH=1) ---------
if ! "$GAUNTLET_VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
	step "python venv $GAUNTLET_VENV with torch==$TORCH_VERSION (about 1 min, 4.6 GB)"
	python3 -m venv "$GAUNTLET_VENV"
	"$GAUNTLET_VENV/bin/pip" install -q --upgrade pip
	"$GAUNTLET_VENV/bin/pip" install -q "torch==$TORCH_VERSION" numpy safetensors
fi
# A generic Substrate client, used by the tests to prove the chain needs no custom types.
if ! "$GAUNTLET_VENV/bin/python" -c "import substrateinterface" 2>/dev/null; then
	step "pip install substrate-interface==$SUBSTRATE_INTERFACE_VERSION"
	"$GAUNTLET_VENV/bin/pip" install -q "substrate-interface==$SUBSTRATE_INTERFACE_VERSION"
fi
# Hugging Face transformers: the export test loads `gauntlet-trainer export`'s output with it
# (4.57.6 is the last 4.x; the test also passed with 5.25.0).
if ! "$GAUNTLET_VENV/bin/python" -c "import transformers, sys; sys.exit(transformers.__version__ != '$TRANSFORMERS_VERSION')" 2>/dev/null; then
	step "pip install transformers==$TRANSFORMERS_VERSION"
	"$GAUNTLET_VENV/bin/pip" install -q "transformers==$TRANSFORMERS_VERSION"
fi
step "torch $("$GAUNTLET_VENV/bin/python" -c 'import torch; print(torch.__version__)') in $GAUNTLET_VENV"

# --- Training corpora (Brown, Shakespeare) into $GAUNTLET_HOME/data, outside the clone -------
bash "$ROOT/scripts/fetch_corpora.sh"

step "build cache: CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
step "done"
