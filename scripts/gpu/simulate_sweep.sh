#!/usr/bin/env bash
# SparseLoCo's outer learning rate and inner steps under Templar's aggregation rule, at 4 and 20
# simulated peers, against DDP and DiLoCo at equal tokens (issue 23, item 7). Every run is one
# `gauntlet-trainer simulate` on one GPU; runs go 16 at a time (the model is small, the GPU is
# mostly idle in one of them, and the codec runs on the host's cores).
#
#   bash scripts/gpu/simulate_sweep.sh BIN DATA_DIR OUT_DIR
#
# DATA_DIR holds tokens/ (from `gauntlet-trainer prepare-data`); OUT_DIR gets one folder per run
# (simulation.csv/json/png and the log). LD_LIBRARY_PATH must reach the PyTorch libtorch was
# built against (see scripts/gpu/bench.sh).
set -uo pipefail
BIN="$1" DATA="$2" OUT="$3"
ROUNDS="${ROUNDS:-30}"
mkdir -p "$OUT"
COMMON=(simulate --model small --rounds "$ROUNDS" --seq-len 64 --batch-seqs 4 --eval-seqs 32
	--lr 3e-3 --warmup-steps 5 --device cuda --threads 1 --seed 0 --data-dir "$DATA")
# name peers H methods outer_lr rule
runs() {
	for p in ${PEERS:-4 20}; do
		for h in 3 5 10; do
			echo "p${p}-h${h}-base $p $h ddp,diloco 1.0 mean"
			for lr in 0.4 0.7 1.0 1.4; do
				echo "p${p}-h${h}-mean-lr${lr} $p $h sparseloco $lr mean"
			done
		done
		echo "p${p}-h5-sum-lr1.0 $p 5 sparseloco 1.0 sum"
	done
}
one() {
	local name="$1" peers="$2" h="$3" methods="$4" lr="$5" rule="$6"
	local dir="$OUT/$name"
	mkdir -p "$dir"
	local t0=$SECONDS
	"$BIN" "${COMMON[@]}" --peers "$peers" --inner-steps "$h" --method "$methods" \
		--outer-lr "$lr" --aggregation "$rule" --out "$dir" >"$dir/stdout.txt" 2>"$dir/log.txt"
	echo "$name rc=$? $((SECONDS - t0)) s"
}
export -f one
export BIN DATA OUT
export COMMON_STR="${COMMON[*]}"
runs | while read -r line; do echo "$line"; done >"$OUT/runs.txt"
# Bash arrays do not cross xargs; re-split the common flags inside.
xargs -P "${JOBS:-16}" -L 1 bash -c 'COMMON=($COMMON_STR); one "$@"' _ <"$OUT/runs.txt"
