#!/usr/bin/env bash
# Fuzzes every decoder that reads untrusted bytes for SECONDS_PER_TARGET seconds each (default
# 300), one process per target, and writes the measured table to docs/fuzz.md: executions,
# exec/s, crashes, coverage. A benchmark-style run, not part of CI (issue 18 item 6; goal: ≥ 10⁶
# executions per target, 0 crashes). The targets and what each asserts: fuzz/fuzz_targets/*.rs.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Environment: GAUNTLET_FUZZ_TARGETS (default: all four), GAUNTLET_FUZZ_SANITIZER (address, the
# default, or none), GAUNTLET_FUZZ_NICE (default 19: the machine is shared with timing-sensitive
# tests). Builds with one job unless CARGO_BUILD_JOBS says otherwise.
#
# Seeds: fuzz/corpus/<target>/ (committed; rewritten from the real encoders by the write_seeds
# binary). What libFuzzer adds goes to $GAUNTLET_HOME/fuzz-corpus/<target>/, outside the clone,
# and is reused by the next run; crashing inputs go to fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET="${1:-300}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\033[1;34m[fuzz]\033[0m %s\n' "$*"; }

# cargo-fuzz and the nightly toolchain it needs, installed only when fuzzing is asked for.
GAUNTLET_SETUP_FUZZ=1 bash "$ROOT/scripts/setup.sh"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

# A target directory of its own: the fuzz build instruments every crate (sanitizer coverage,
# AddressSanitizer), so it shares nothing with the main build and must not evict it.
export CARGO_TARGET_DIR="$GAUNTLET_HOME/fuzz-target"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
NICE="${GAUNTLET_FUZZ_NICE:-19}"
SANITIZER="${GAUNTLET_FUZZ_SANITIZER:-address}"
read -r -a TARGETS <<<"${GAUNTLET_FUZZ_TARGETS:-payload_decode contribution_decode p2p_wire checkpoint_load}"
BIN="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
WORK="$GAUNTLET_HOME/fuzz-corpus"
LOGS="$GAUNTLET_HOME/fuzz-logs"
mkdir -p "$WORK" "$LOGS"

step "cargo +nightly fuzz build --sanitizer $SANITIZER (jobs: $CARGO_BUILD_JOBS, nice $NICE)"
build_started=$SECONDS
nice -n "$NICE" cargo +nightly fuzz build --sanitizer "$SANITIZER"
build_seconds=$((SECONDS - build_started))

step "writing seeds from the real encoders into fuzz/corpus"
nice -n "$NICE" "$BIN/write_seeds" "$ROOT/fuzz/corpus" >/dev/null

rows=()
for target in "${TARGETS[@]}"; do
	mkdir -p "$WORK/$target" "$ROOT/fuzz/artifacts/$target"
	log="$LOGS/$target.log"
	step "$target for ${SECONDS_PER_TARGET}s (log: $log)"
	# One process, no -jobs/-workers: a single core's worth of fuzzing. The first corpus
	# directory receives new inputs, the committed seeds are only read.
	set +e
	nice -n "$NICE" "$BIN/$target" "$WORK/$target" "$ROOT/fuzz/corpus/$target" \
		-max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -timeout=25 \
		-artifact_prefix="$ROOT/fuzz/artifacts/$target/" >"$log" 2>&1
	status=$?
	set -e
	stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$log" | tail -n1; }
	execs="$(stat number_of_executed_units)"
	rate="$(stat average_exec_per_sec)"
	rss="$(stat peak_rss_mb)"
	# The last status line (`#N ... cov: C ft: F corp: U/Sb ...`) carries the final coverage.
	last="$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1 || true)"
	cov="$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")"
	ft="$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")"
	corp="$(sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")"
	crashes="$(grep -c '^artifact_prefix=.*Test unit written to' "$log" || true)"
	artifacts="$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | sed "s|^$ROOT/||" | paste -sd ' ' -)"
	[ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="exit $status"
	step "$target: ${execs:-?} executions, ${rate:-?}/s, crashes ${crashes}, cov ${cov:-?}, ft ${ft:-?}"
	rows+=("| \`$target\` | $SECONDS_PER_TARGET | ${execs:-?} | ${rate:-?} | ${crashes}${artifacts:+ ($artifacts)} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${rss:-?} |")
done

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] && commit="$commit (with uncommitted changes)"
model="$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
toolchain="$(rustc +nightly --version)"
fuzz_version="$(cargo fuzz --version 2>/dev/null || echo cargo-fuzz)"
{
	echo "# Fuzzing, measured"
	echo
	echo "The decoders that read bytes from other peers, the chain or disk, each fuzzed by libFuzzer"
	echo "through \`cargo fuzz\` (issue 18 item 6; goal: at least 10⁶ executions per target and no"
	echo "crash). Every target asserts a property of what it decodes, not only the absence of a"
	echo "panic; \`fuzz/fuzz_targets/<target>.rs\` says which. Regenerate this file with the command below."
	echo
	echo "| target | seconds | executions | exec/s | crashes | cov | ft | corpus (units/bytes) | peak RSS (MB) |"
	echo "|---|---:|---:|---:|---|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $commit."
	echo "- Machine: $(nproc) cores ($model); one fuzzing process per target, under \`nice -n $NICE\`."
	echo "- Command: \`bash scripts/fuzz.sh $SECONDS_PER_TARGET\` ($fuzz_version, $toolchain, sanitizer: $SANITIZER; build step ${build_seconds} s with one job, incremental)."
	echo "- Columns: executions and exec/s are libFuzzer's final \`stat::number_of_executed_units\` and"
	echo "  \`stat::average_exec_per_sec\` (\`-print_final_stats=1\`); cov (coverage points) and ft"
	echo "  (features) are from its last status line; crashes counts the inputs it wrote to"
	echo "  \`fuzz/artifacts/<target>/\` (libFuzzer stops at the first one)."
	echo "- Each run starts from the committed seeds (\`fuzz/corpus/<target>/\`) plus what earlier runs"
	echo "  on this machine added (\`\$GAUNTLET_HOME/fuzz-corpus/<target>/\`)."
	echo
	cat <<'EOF_NOTES'
## What each target reads, and what it leaves out

- `payload_decode`: `Payload::decode` (the SparseLoCo wire format) under fixed limits of 64 tensors
  and 2¹⁶ elements per tensor (`fuzz/src/lib.rs` says why); accepted bytes must re-encode to
  themselves, pass the checked constructors and decompress to finite values at kept positions.
- `contribution_decode`: `Contribution::decode` with the validator's bounds (`SAMPLE_LEN`,
  `DecodeLimits::for_model`); also checks the fetch-budget bound `max_encoded_len` for
  contributions that conform to the run's codec.
- `p2p_wire`: `Request::read` (the server side of `/gauntlet/payload/3`), the response status
  byte, gossipsub announcements and on-chain registrations (`Endpoint::from_chain`). The
  fetcher's body loop (`Fetcher::receive`: read at most the piece, then EOF) needs a live
  stream and is not fuzzed here.
- `checkpoint_load`: `checkpoint::parse_info` (`config.json`), `tensor_io::parse_safetensors`
  and `ErrorBuffers::from_arrays`, the loader's parsing of a checkpoint directory's bytes. It
  stops before `TrainableModel::new`, which builds the model the config names in libtorch. Found
  outside the fuzzer while writing it: `read_info` did not call `ModelConfig::validate`, so a
  `config.json` with `"n_heads": 0` made `load_model` and `export_checkpoint` panic with
  "attempt to divide by zero" (`ModelConfig::head_dim`) instead of returning an error (checked
  with `gauntlet-trainer eval` and `export`, exit status 101); the input is
  `fuzz/artifacts/checkpoint_load/n-heads-zero.config.json`. Fixed after the table's run:
  `parse_info` now validates the model configuration (unit test
  `a_config_the_model_cannot_have_is_a_typed_error` reads that input), and the target asserts
  that an accepted config validates.
- Sanitizer: AddressSanitizer for all four. The binaries link libtorch (`libtorch_cpu.so`,
  `libc10.so`) through offchain-trainer; its static initialisers run under ASan without a report,
  and the targets never call into it, so `--sanitizer none` was not needed.
  `GAUNTLET_FUZZ_SANITIZER=none` selects it should a libtorch upgrade change that (not tried
  here; it rebuilds every crate).
- A cold build of the fuzz crate instruments every dependency (about 640 crates): 21 min with one
  job under `nice -n 19` on this 2-core machine, 2026-12-07.
EOF_NOTES
} >"$ROOT/docs/fuzz.md"
step "wrote docs/fuzz.md"
