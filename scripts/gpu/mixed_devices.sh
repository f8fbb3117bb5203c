#!/usr/bin/env bash
# One θ on a mix of devices: `gauntlet-node --dev`, one miner on the CPU, one miner on the GPU and
# a validator on the GPU, exchanging payloads over libp2p on loopback for WINDOWS scored windows.
# Every peer journals the BLAKE3 hash of its global weights θ at the start of each window; the
# report (docs/mixed-devices.md) puts the three hashes side by side, window by window. They must
# be equal: θ₀ is drawn on the CPU and moved to the device, and the outer step (median clip, the
# per-position mean over the peers that kept a position, η) is bit-identical on CPU and GPU.
# Exit status 1 when any window's hashes differ.
#
#   bash scripts/gpu/mixed_devices.sh [bin-dir] [data-dir]
#
# bin-dir holds gauntlet-node and gauntlet-trainer (default $CARGO_TARGET_DIR/release); data-dir
# the tokenized corpora (default $GAUNTLET_HOME/data). The trainer runs against the PyTorch that
# `python3` imports. MODEL (small), SEQ (128), BATCH (8), WINDOWS (6), BLOCK_MS (2000),
# CPU_THREADS (8), OUT (docs/mixed-devices.md) change the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${1:-${CARGO_TARGET_DIR:-/var/cache/gauntlet/target}/release}"
DATA="${2:-${GAUNTLET_HOME:-/var/cache/gauntlet}/data}"
MODEL="${MODEL:-small}" SEQ="${SEQ:-128}" BATCH="${BATCH:-8}" WINDOWS="${WINDOWS:-6}"
BLOCK_MS="${BLOCK_MS:-2000}" CPU_THREADS="${CPU_THREADS:-8}" OUT="${OUT:-docs/mixed-devices.md}"
RUN="${RUN_DIR:-$(mktemp -d)}"
mkdir -p "$RUN"
chmod 700 "$RUN"
PY="${PYTHON:-python3}"
TORCH_LIB="$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say() { printf '[mixed-devices] %s\n' "$*" >&2; }

pids=()
stop() {
	trap - EXIT INT TERM
	((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	say "logs and journals: $RUN"
}
trap stop EXIT
trap 'exit 130' INT TERM

"$BIN/gauntlet-node" --dev --tmp --rpc-port 9944 --dev-block-time "$BLOCK_MS" >"$RUN/node.log" 2>&1 &
pids+=($!)
url=ws://127.0.0.1:9944
for _ in $(seq 120); do
	"$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 9944), 1)' 2>/dev/null && break
	sleep 0.5
done
alice=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
for _ in $(seq 20); do
	"$BIN/gauntlet-trainer" add-validator --node "$url" --suri //Alice --validator "$alice" \
		>>"$RUN/add-validator.log" 2>&1 && break
	sleep 1
done

common=(--node "$url" --model "$MODEL" --data corpora --data-dir "$DATA" --seq-len "$SEQ"
	--batch-seqs "$BATCH")
"$BIN/gauntlet-trainer" miner "${common[@]}" --suri //Bob --state-dir "$RUN/miner-cpu" \
	--device cpu --threads "$CPU_THREADS" --windows "$((WINDOWS + 2))" >"$RUN/miner-cpu.log" 2>&1 &
pids+=($!)
"$BIN/gauntlet-trainer" miner "${common[@]}" --suri //Charlie --state-dir "$RUN/miner-gpu" \
	--device cuda:0 --windows "$((WINDOWS + 2))" >"$RUN/miner-gpu.log" 2>&1 &
pids+=($!)
"$BIN/gauntlet-trainer" validator "${common[@]}" --suri //Alice --state-dir "$RUN/validator-gpu" \
	--device cuda:0 --windows "$WINDOWS" >"$RUN/validator-gpu.log" 2>&1 &
validator=$!
pids+=("$validator")
say "miner //Bob on cpu ($CPU_THREADS threads), miner //Charlie on cuda:0, validator //Alice on cuda:0"
wait "$validator" || { say "validator failed"; tail -30 "$RUN/validator-gpu.log" >&2; exit 1; }
sleep $((BLOCK_MS * 10 / 1000 + 2))

GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)"
CPU_NAME="$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
"$PY" - "$RUN" "$OUT" "$GPU_NAME" "$CPU_NAME" "$MODEL" "$SEQ" "$BATCH" "$BLOCK_MS" "$CPU_THREADS" <<'EOF'
import datetime, glob, json, os, sys
run, out, gpu, cpu, model, seq, batch, block_ms, threads = sys.argv[1:]
peers = ["miner-cpu", "miner-gpu", "validator-gpu"]
journals = {}
for p in peers:
    path = os.path.join(run, p, "journal.jsonl")
    journals[p] = {e["window"]: e for e in map(json.loads, open(path))} if os.path.exists(path) else {}
windows = sorted(set().union(*(j.keys() for j in journals.values())))
lines = [
    "# One θ on a CPU and a GPU",
    "",
    f"{datetime.date.today()}: one miner on the CPU ({cpu}, {threads} libtorch threads), one miner",
    f"and the validator on one {gpu}. Model `{model}`, sequence {seq}, {batch} sequences per",
    f"inner step, real corpora; `gauntlet-node --dev` (block time {block_ms} ms, 10 blocks a window).",
    "Command: `bash scripts/gpu/mixed_devices.sh` (on the GPU host).",
    "",
    "Each cell is the first 16 hex digits of the BLAKE3 hash of the peer's global weights θ at the",
    "start of the window (its journal's `global_weights`); `committed` says whether the miner's",
    "contribution for that window landed on chain, so the next window's θ includes it.",
    "",
    "| window | miner on CPU | committed | miner on GPU | committed | validator on GPU | scored | all equal |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
]
compared = mismatches = 0
for w in windows:
    row = [str(w)]
    hashes = []
    for p in peers:
        e = journals[p].get(w)
        h = e.get("global_weights") if e else None
        if h:
            hashes.append(h)
        row.append(f"`{h[:16]}`" if h else "—")
        if p.startswith("miner"):
            row.append("yes" if e and e.get("committed") else "no")
        else:
            row.append(str(e.get("scored", 0)) if e else "—")
    if len(hashes) == len(peers):
        compared += 1
        same = len(set(hashes)) == 1
        mismatches += not same
        row.append("yes" if same else "**no**")
    else:
        row.append("(not every peer journaled it)")
    lines.append("| " + " | ".join(row) + " |")
lines += ["", f"Windows where all three peers journaled θ: {compared}; windows where they differ: {mismatches}.", ""]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
sys.exit(0 if compared >= 2 and mismatches == 0 else 1)
EOF
