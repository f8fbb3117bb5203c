#!/usr/bin/env bash
# The whole GPU benchmark set in one go, on one CUDA machine: the GPU codec checked against the CPU
# codec, the fused training pass checked against autograd, the codec round and the 20-peer aggregation (Rust GPU codec vs Templar-style eager
# PyTorch), and training throughput (Rust/tch, fused pass and autograd, vs PyTorch eager and torch.compile), all on the same
# GPU in the same run. Writes docs/gpu-bench.md (GPU, date, versions, command, tables).
#
#   bash scripts/gpu/bench.sh [path/to/gauntlet-trainer]
#
# The binary defaults to $CARGO_TARGET_DIR/release/gauntlet-trainer (build it with
# `cargo build --release -p offchain-trainer`); it is run against the PyTorch that `python3`
# imports (LD_LIBRARY_PATH is set to its libraries and to NVIDIA's libnvrtc next to it).
# QUICK=1 runs small sizes only (a smoke test); BENCH_OUT and BENCH_LOG_DIR move the outputs.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${1:-${CARGO_TARGET_DIR:-/var/cache/gauntlet/target}/release/gauntlet-trainer}"
PY="${PYTHON:-python3}"
OUT="${BENCH_OUT:-docs/gpu-bench.md}"
LOGS="${BENCH_LOG_DIR:-$(mktemp -d)}"
QUICK="${QUICK:-0}"
mkdir -p "$LOGS"
RESULTS="$LOGS/results.jsonl"
: >"$RESULTS"

TORCH_LIB="$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
NV_LIBS="$("$PY" - <<'EOF'
import glob, os, site
dirs = []
for sp in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib")))
print(":".join(d for d in dirs if glob.glob(os.path.join(d, "libnvrtc.so*"))))
EOF
)"
export LD_LIBRARY_PATH="$TORCH_LIB${NV_LIBS:+:$NV_LIBS}:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

FAILED=0
# Runs one benchmark; its JSON lines go to $RESULTS, its log to $LOGS. A failure is recorded in
# the table instead of stopping the set.
step() {
	local name="$1"
	shift
	echo "== $name: $*" >&2
	local t0=$SECONDS
	"$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err"
	local rc=$?
	cat "$LOGS/$name.out" >>"$RESULTS"
	echo "   rc=$rc in $((SECONDS - t0)) s" >&2
	if [ $rc -ne 0 ]; then
		FAILED=1
		tail -n 20 "$LOGS/$name.err" >&2
		printf '{"bench": "failure", "step": "%s", "rc": %d}\n' "$name" "$rc" >>"$RESULTS"
	fi
}

if [ "$QUICK" = 1 ]; then
	SIZES=124m AGG=124m PEERS=4 ROUNDS=5 CPU=0 CHECK_MODEL=small MODELS="124m" STEPS=3
else
	SIZES=124m,1b,4b AGG=1b PEERS=20 ROUNDS=20 CPU=124m CHECK_MODEL=124m MODELS="124m 1b" STEPS=10
fi
declare -A BATCH=([124m]=8 [1b]=4)

step check_codec "$BIN" check-codec --model "$CHECK_MODEL" --rounds 3 --peers 5
step check_fused "$BIN" check-fused --config "$CHECK_MODEL"
# `1b` has grouped-query heads (32 query on 8 key/value), which reach the attention kernels as
# they are.
[ "$QUICK" = 1 ] || step check_fused_gqa "$BIN" check-fused --config 1b
step rust_codec "$BIN" bench-codec --params "$SIZES" --rounds "$ROUNDS" --warmup 3 \
	--aggregate-params "$AGG" --peers "$PEERS" --cpu-params "$CPU"
step torch_codec "$PY" scripts/gpu/reference_codec.py --params "$SIZES" --rounds "$ROUNDS" \
	--warmup 3 --aggregate-params "$AGG" --peers "$PEERS"
# Templar's own per-tensor loop (host checks of every tensor's scale), at the smallest size only.
step torch_codec_loop "$PY" scripts/gpu/reference_codec.py --layout per-tensor --params 124m \
	--rounds 5 --warmup 2 --aggregate-params ""
for m in $MODELS; do
	b="${BATCH[$m]}"
	step "rust_fused_train_$m" "$BIN" bench-train --config "$m" --seq 2048 --batch "$b" \
		--steps "$STEPS" --warmup 3 --backward fused
	step "rust_train_$m" "$BIN" bench-train --config "$m" --seq 2048 --batch "$b" \
		--steps "$STEPS" --warmup 3 --backward autograd
	step "torch_eager_$m" "$PY" scripts/gpu/reference_model.py --config "$m" --mode eager \
		--seq 2048 --batch "$b" --steps "$STEPS" --warmup 3
	step "torch_compile_$m" "$PY" scripts/gpu/reference_model.py --config "$m" --mode compile \
		--seq 2048 --batch "$b" --steps "$STEPS" --warmup 3
done

COMMAND="bash scripts/gpu/bench.sh${1:+ $1}"
[ "$QUICK" = 1 ] && COMMAND="QUICK=1 $COMMAND"
"$PY" scripts/gpu/make_table.py "$RESULTS" --command "$COMMAND" >"$OUT"
echo "wrote $OUT (logs in $LOGS)" >&2
exit $FAILED
