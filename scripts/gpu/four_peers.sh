#!/usr/bin/env bash
# Four peers on four GPUs: `gauntlet-node --dev` on the CPU, one miner per GPU and a validator
# (on GPU 0 beside a miner), exchanging payloads over libp2p on loopback with every peer's
# bandwidth capped at 110 Mb/s up and 500 Mb/s down (a home link). After `WINDOWS` scored
# windows it writes a markdown report: per window and miner the seconds spent syncing (fetching
# and applying the previous window's aggregate), checkpointing, computing (H inner steps +
# compression) and committing (serving, the on-chain commit), the round's compute utilisation
# compute / (sync + checkpoint + compute + commit), the GPU's share of the whole window, and
# whether all peers held the same θ.
#
#   bash scripts/gpu/four_peers.sh [bin-dir] [data-dir]
#
# bin-dir holds gauntlet-node and gauntlet-trainer (default $CARGO_TARGET_DIR/release); data-dir
# the tokenized corpora (default $GAUNTLET_HOME/data). The trainer runs against the PyTorch that
# `python3` imports. MODEL (124m), SEQ (2048), BATCH (32 sequences per inner step), WINDOWS (7),
# BLOCK_MS (2000; a window is 10 blocks), LOCAL_CKPT (1: windows between local checkpoints),
# GPUS (4), OUT (docs/four-peers.md) change the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${1:-${CARGO_TARGET_DIR:-/var/cache/gauntlet/target}/release}"
DATA="${2:-${GAUNTLET_HOME:-/var/cache/gauntlet}/data}"
MODEL="${MODEL:-124m}" SEQ="${SEQ:-2048}" BATCH="${BATCH:-32}" WINDOWS="${WINDOWS:-7}"
BLOCK_MS="${BLOCK_MS:-2000}" LOCAL_CKPT="${LOCAL_CKPT:-1}" GPUS="${GPUS:-4}"
OUT="${OUT:-docs/four-peers.md}"
RUN="$(mktemp -d)"
chmod 700 "$RUN"
PY="${PYTHON:-python3}"
TORCH_LIB="$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say() { printf '[four-peers] %s\n' "$*" >&2; }

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
	--max-upload-mbps 110 --max-download-mbps 500)
miners=(Bob Charlie Dave Eve Ferdie Dave//stash Eve//stash Ferdie//stash)
for ((g = 0; g < GPUS; g++)); do
	m="${miners[$g]}"
	d="$RUN/miner-${m//\//-}"
	"$BIN/gauntlet-trainer" miner "${common[@]}" --suri "//$m" --state-dir "$d" --device "cuda:$g" \
		--batch-seqs "$BATCH" --local-checkpoint-every "$LOCAL_CKPT" --windows "$((WINDOWS + 2))" \
		>"$d.log" 2>&1 &
	pids+=($!)
	say "miner //$m on cuda:$g"
done
"$BIN/gauntlet-trainer" validator "${common[@]}" --suri //Alice --state-dir "$RUN/validator" \
	--device cuda:0 --eval-batch-seqs 8 --windows "$WINDOWS" >"$RUN/validator.log" 2>&1 &
validator=$!
pids+=("$validator")
say "validator //Alice on cuda:0 for $WINDOWS windows; block time $BLOCK_MS ms"
wait "$validator" || { say "validator failed"; tail -30 "$RUN/validator.log" >&2; exit 1; }
sleep $((BLOCK_MS * 10 / 1000 + 2))

GPU_NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)"
"$PY" - "$RUN" "$OUT" "$GPU_NAME" "$MODEL" "$SEQ" "$BATCH" "$BLOCK_MS" "$GPUS" "$LOCAL_CKPT" <<'EOF'
import datetime, glob, json, os, sys
run, out, gpu, model, seq, batch, block_ms, gpus, local_ckpt = sys.argv[1:]
journals = {}
for path in sorted(glob.glob(os.path.join(run, "*", "journal.jsonl"))):
    name = os.path.basename(os.path.dirname(path))
    journals[name] = {e["window"]: e for e in map(json.loads, open(path))}
miners = [n for n in journals if n.startswith("miner-")]
validator = journals.get("validator", {})
windows = sorted(set().union(*(j.keys() for j in journals.values())))
lines = [
    "# Four peers on four GPUs",
    "",
    f"{datetime.date.today()}, {gpus} x {gpu}. Model `{model}`, sequence {seq}, {batch} sequences",
    f"per inner step, H from the dev run config; `gauntlet-node --dev` (block time {block_ms} ms,",
    f"10 blocks a window) on the CPU; every peer capped at 110 Mb/s up, 500 Mb/s down; local",
    f"checkpoint every {local_ckpt} windows, θ announced every 5.",
    "Command: `bash scripts/gpu/four_peers.sh` (on the GPU host).",
    "",
    "Round utilisation = compute / (sync + hash + checkpoint + compute + commit): the share of a",
    "miner's round spent on GPU work. Window share = compute / the whole window, `wait` for the",
    "chain's window clock included (the window length is a setting). Sync is getting the",
    "previous window's aggregation set (read: the window record from the node; fetch: from the",
    "cache the miner filled while it waited, or over the capped links) and applying it to θ",
    "(apply); hash is starting θ's host copy for the journal's BLAKE3 of θ; checkpoint is",
    "starting the local checkpoint's host copy (both copies land on other threads); compute is",
    "the H inner steps and the compression (of it compress: pseudo-gradient, error feedback,",
    "codec, payload to the host); commit is serving the payload and submitting the on-chain",
    "commit (its inclusion is awaited off the loop; drain, in the totals only, is the wait for",
    "the last commits' block once the miner stops, which no round pays).",
    "",
    "| window | miner | sync s | read s | fetch s | apply s | hash s | checkpoint s | compute s | compress s | commit s | wait s | round utilisation | window share | payload MB | loss | θ = validator's |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
]
BUSY = ("sync", "hash", "checkpoint", "compute", "commit")
totals = {"sync": 0.0, "read": 0.0, "fetch": 0.0, "apply": 0.0, "hash": 0.0,
          "checkpoint": 0.0, "compute": 0.0, "compress": 0.0, "commit": 0.0, "wait": 0.0, "drain": 0.0}
for w in windows:
    theta = validator.get(w, {}).get("global_weights")
    for m in miners:
        e = journals[m].get(w)
        if not e or "seconds" not in e:
            continue
        s = e["seconds"]
        busy = sum(s.get(k, 0) for k in BUSY)
        if e.get("committed") and w > min(journals[m]):
            for k in totals:
                totals[k] += s.get(k, 0)
        util = s.get("compute", 0) / busy if busy else 0
        share = s.get("compute", 0) / (busy + s.get("wait", 0)) if busy else 0
        same = "" if theta is None else ("yes" if e["global_weights"] == theta else "**no**")
        mb = e.get("committed_bytes", 0) / 1e6
        loss = e.get("train_loss")
        lines.append(
            f"| {w} | {m[6:]} | {s.get('sync', 0):.2f} | {s.get('read', 0):.2f} | "
            f"{s.get('fetch', 0):.2f} | {s.get('apply', 0):.2f} | {s.get('hash', 0):.2f} | "
            f"{s.get('checkpoint', 0):.2f} | {s.get('compute', 0):.2f} | "
            f"{s.get('compress', 0):.2f} | {s.get('commit', 0):.2f} | {s.get('wait', 0):.2f} | "
            f"{100 * util:.1f}% | {100 * share:.1f}% | {mb:.2f} | "
            f"{'' if loss is None else f'{loss:.3f}'} | {same} |"
        )
busy = sum(totals[k] for k in BUSY)
lines += [
    "",
    (
        "Over the committed windows after each miner's first: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in totals.items())
        + f"; round utilisation {100 * totals['compute'] / busy:.1f}%, window share "
        f"{100 * totals['compute'] / (busy + totals['wait']):.1f}%."
    )
    if busy
    else "No committed windows.",
    "",
]
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
EOF
