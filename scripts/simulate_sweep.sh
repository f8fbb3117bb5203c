#!/usr/bin/env bash
# SparseLoCo's outer learning rate under Templar's aggregation rule (and the old sum, for
# comparison), at 4 and 20 simulated peers, against DDP and DiLoCo at equal tokens (issue 23,
# item 7). Every run is one `gauntlet-trainer simulate`; JOBS of them run at once, each with one
# libtorch thread. `python3 scripts/sweep_table.py OUT_DIR` makes the table.
#
#   bash scripts/simulate_sweep.sh BIN OUT_DIR
#
# Environment (defaults in brackets): DEVICE [cpu], JOBS [2], MODEL [tiny], ROUNDS [12],
# DATA [synthetic, or a directory holding tokens/ from `gauntlet-trainer prepare-data`],
# PEERS ["4 20"], HS ["10"], LRS ["0.4 1.0"], SUM_LR [1.0: one sum-rule run per peer count at
# this η, none if empty], EXTRA [more simulate flags]. On the GPU machine LD_LIBRARY_PATH must
# reach the PyTorch libtorch was built against (see scripts/gpu/bench.sh).
set -uo pipefail
BIN="$1" OUT="$2"
DEVICE="${DEVICE:-cpu}" JOBS="${JOBS:-2}" MODEL="${MODEL:-tiny}" ROUNDS="${ROUNDS:-12}"
DATA="${DATA:-synthetic}" PEERS="${PEERS:-4 20}" HS="${HS:-10}" LRS="${LRS:-0.4 1.0}"
SUM_LR="${SUM_LR-1.0}" EXTRA="${EXTRA:-}"
mkdir -p "$OUT"
if [ "$DATA" = synthetic ]; then data_flags="--data synthetic"; else data_flags="--data-dir $DATA"; fi
common="simulate --model $MODEL --rounds $ROUNDS --device $DEVICE --threads 1 --seed 0 $data_flags $EXTRA"
# One line per run: name peers H methods η rule.
for p in $PEERS; do
	for h in $HS; do
		echo "p${p}-h${h}-base $p $h ddp,diloco 1.0 mean"
		for lr in $LRS; do echo "p${p}-h${h}-mean-lr${lr} $p $h sparseloco $lr mean"; done
		[ -n "$SUM_LR" ] && echo "p${p}-h${h}-sum-lr${SUM_LR} $p $h sparseloco $SUM_LR sum"
	done
done >"$OUT/runs.txt"
run_one() {
	local name="$1" peers="$2" h="$3" methods="$4" lr="$5" rule="$6"
	local dir="$OUT/$name" t0=$SECONDS
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # $common is a list of flags
	"$BIN" $common --peers "$peers" --inner-steps "$h" --method "$methods" --outer-lr "$lr" \
		--aggregation "$rule" --out "$dir" >"$dir/stdout.txt" 2>"$dir/log.txt"
	echo "$name rc=$? $((SECONDS - t0)) s"
}
export -f run_one
export BIN OUT common
xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _ <"$OUT/runs.txt"
