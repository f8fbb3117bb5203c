#!/usr/bin/env bash
# Rewrite offchain-trainer/chain/metadata/gauntlet.scale, the runtime metadata (V15) that the typed
# chain client (crate gauntlet-chain) is generated from. Run it after every runtime change that
# touches calls, storage, events or runtime APIs; the e2e test `metadata_drift` fails until you do.
#
# Starts the already built `gauntlet-node --dev` on a free loopback port, asks it for
# `Metadata_metadata_at_version(15)` over JSON-RPC (`state_call`), strips the SCALE
# `Option<Vec<u8>>` wrapper and writes the raw metadata bytes. Needs curl and python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

NODE="${GAUNTLET_NODE_BIN:-$CARGO_TARGET_DIR/release/gauntlet-node}"
OUT="$ROOT/offchain-trainer/chain/metadata/gauntlet.scale"
# Metadata version 15 carries the runtime APIs (GauntletApi) that the client calls.
METADATA_VERSION=15

if [ ! -x "$NODE" ]; then
	echo "gauntlet-node not found at $NODE: build it (cargo build --release -p gauntlet-node)" >&2
	exit 1
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

RPC_PORT="$(free_port)"
P2P_PORT="$(free_port)"
LOG="$(mktemp -t gauntlet-metadata-node.XXXXXX.log)"
"$NODE" --dev --tmp --rpc-port "$RPC_PORT" --port "$P2P_PORT" \
	--no-prometheus --no-mdns --no-telemetry >"$LOG" 2>&1 &
NODE_PID=$!
cleanup() {
	kill -INT "$NODE_PID" 2>/dev/null || true
	wait "$NODE_PID" 2>/dev/null || true
	rm -f "$LOG"
}
trap cleanup EXIT

rpc() { # method params-json
	curl -sf -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":$2}" \
		"http://127.0.0.1:$RPC_PORT"
}

for _ in $(seq 1 120); do
	if rpc system_health '[]' >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$NODE_PID" 2>/dev/null; then
		echo "gauntlet-node exited early:" >&2
		cat "$LOG" >&2
		exit 1
	fi
	sleep 0.5
done

# The argument is the SCALE encoding of the u32 version (little endian).
ARG="0x$(printf '%02x000000' "$METADATA_VERSION")"
# Through a file: the hex response is larger than one command-line argument may be.
RESPONSE="$(mktemp)"
rpc state_call "[\"Metadata_metadata_at_version\", \"$ARG\"]" >"$RESPONSE"

mkdir -p "$(dirname "$OUT")"
python3 - "$OUT" "$RESPONSE" <<'PY'
import json, sys

out = sys.argv[1]
with open(sys.argv[2]) as f:
    response = json.load(f)
if "result" not in response:
    sys.exit(f"state_call failed: {response.get('error')}")
data = bytes.fromhex(response["result"][2:])
# Option<OpaqueMetadata>: 0x01, then a compact length, then the metadata bytes.
if not data or data[0] != 1:
    sys.exit("the node does not provide this metadata version")
mode = data[1] & 0b11
if mode == 0:
    length, start = data[1] >> 2, 2
elif mode == 1:
    length, start = int.from_bytes(data[1:3], "little") >> 2, 3
elif mode == 2:
    length, start = int.from_bytes(data[1:5], "little") >> 2, 5
else:
    n = (data[1] >> 2) + 4
    length, start = int.from_bytes(data[2:2 + n], "little"), 2 + n
metadata = data[start:start + length]
if len(metadata) != length or metadata[:4] != b"meta":
    sys.exit("malformed metadata response")
with open(out, "wb") as f:
    f.write(metadata)
print(f"wrote {len(metadata)} bytes of metadata V{metadata[4]} to {out}")
PY
rm -f "$RESPONSE"
