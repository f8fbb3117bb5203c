#!/usr/bin/env bash
# The main job: a whole Gauntlet network on this machine. Sets up and builds, starts
# `gauntlet-node --dev`, makes //Alice a validator, starts three miners (//Bob, //Charlie, //Dave)
# and the validator, shows each window as the validator scores it, and after --windows windows
# prints the on-chain leaderboard. Ctrl-C stops everything cleanly at any time.
#
#   scripts/devnet.sh [--windows N] [--device cpu|cuda] [--model tiny|small|124m|1b]
#                     [--block-time MS] [--data corpora|synthetic] [--keep-running]
#                     [--rpc-port P] [--p2p-port P] [--no-build]
#
# Everything a run writes (node and trainer logs, journals, checkpoints) goes under
# $GAUNTLET_HOME/devnet/<time>/. The node's RPC is ws://127.0.0.1:9944 (--rpc-port). --no-build
# skips setup and the build, for callers that just did both (the test command's devnet test).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
windows=6 device=cpu model=tiny block_time=2000 data=corpora keep=0 rpc_port=9944 p2p_port=30333
build=1
while (($#)); do
	case "$1" in
		--windows) windows="$2"; shift 2 ;;
		--device) device="$2"; shift 2 ;;
		--model) model="$2"; shift 2 ;;
		--block-time) block_time="$2"; shift 2 ;;
		--data) data="$2"; shift 2 ;;
		--keep-running) keep=1; shift ;;
		--rpc-port) rpc_port="$2"; shift 2 ;;
		--p2p-port) p2p_port="$2"; shift 2 ;;
		--no-build) build=0; shift ;;
		-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
		*) echo "devnet.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$windows" =~ ^[1-9][0-9]*$ ]] || { echo "devnet.sh: --windows must be a positive integer" >&2; exit 2; }

if ((build)); then bash "$ROOT/scripts/setup.sh"; fi
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"
# The same command as the tests use: one feature set, one compile of the tree.
if ((build)); then cargo build --release --locked --workspace --all-targets; fi

bin="${DEVNET_BIN_DIR:-$CARGO_TARGET_DIR/release}"
run_dir="${GAUNTLET_DEVNET_DIR:-$GAUNTLET_HOME/devnet}/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir"
chmod 700 "$run_dir"
url="ws://127.0.0.1:$rpc_port"
say() { printf '\033[1;32m[devnet]\033[0m %s\n' "$*"; }

pids=()
stop() {
	trap - EXIT INT TERM
	if ((${#pids[@]})); then
		say "stopping ${#pids[@]} processes"
		# SIGTERM: background jobs of a non-interactive shell ignore SIGINT.
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	say "logs, journals and checkpoints: $run_dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

"$bin/gauntlet-node" --dev --tmp --rpc-port "$rpc_port" --port "$p2p_port" --dev-block-time "$block_time" \
	>"$run_dir/node.log" 2>&1 &
pids+=($!)
say "gauntlet-node --dev (block time ${block_time} ms, log $run_dir/node.log)"
for _ in $(seq 120); do
	"$bin/gauntlet-audit" --node "$url" config >/dev/null 2>&1 && break
	kill -0 "${pids[0]}" 2>/dev/null || { tail -20 "$run_dir/node.log"; exit 1; }
	sleep 0.5
done

alice=5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
"$bin/gauntlet-trainer" add-validator --node "$url" --suri //Alice --validator "$alice"
common=(--node "$url" --model "$model" --device "$device" --data "$data" --threads 1)
for miner in Bob Charlie Dave; do
	"$bin/gauntlet-trainer" miner "${common[@]}" --suri "//$miner" \
		--state-dir "$run_dir/$miner" >"$run_dir/miner-$miner.log" 2>&1 &
	pids+=($!)
	say "miner //$miner (log $run_dir/miner-$miner.log)"
done
"$bin/gauntlet-trainer" validator "${common[@]}" --suri //Alice --state-dir "$run_dir/Alice" \
	--windows "$windows" >"$run_dir/validator-Alice.log" 2>&1 &
validator=$!
pids+=("$validator")
say "validator //Alice for $windows windows (log $run_dir/validator-Alice.log)"

# Progress: one line per window the validator scores (its journal), until it is done.
journal="$run_dir/Alice/journal.jsonl"
shown=0
while kill -0 "$validator" 2>/dev/null; do
	if [[ -f "$journal" ]]; then
		lines=$(wc -l <"$journal")
		if ((lines > shown)); then
			tail -n "+$((shown + 1))" "$journal" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    text = "[devnet] window %s: scored %s miners, global weights %s..." % (
        e["window"], e.get("scored", 0), e["global_weights"][:12])
    if e.get("copies"):
        text += ", copies flagged: %s" % e["copies"]
    if e.get("note"):
        text += " (%s)" % e["note"]
    print(text)'
			shown=$lines
		fi
	fi
	for pid in "${pids[@]:0:4}"; do
		kill -0 "$pid" 2>/dev/null || { say "a process exited early; see the logs in $run_dir"; exit 1; }
	done
	sleep 1
done
wait "$validator" || { say "the validator failed:"; tail -20 "$run_dir/validator-Alice.log"; exit 1; }

# Ratings of a window are final two windows after it: let the last scored window close.
sleep $((2 * 10 * block_time / 1000))
say "on-chain leaderboard:"
"$bin/gauntlet-audit" --node "$url" leaderboard
if ((keep)); then
	say "still running (Ctrl-C stops): dashboard with $bin/gauntlet-audit serve"
	wait
fi
