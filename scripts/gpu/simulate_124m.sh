#!/usr/bin/env bash
# SparseLoCo with Templar's mean rule at `124m` and 8 simulated peers on one GPU, against DDP and
# DiLoCo at equal tokens (issue 23, item 7): one `gauntlet-trainer simulate` per configuration,
# all at once on the same GPU, each cut off after LIMIT seconds. CSVs and the configuration land
# in OUT_DIR/<name>/; `python3 scripts/sweep_table.py OUT_DIR` makes the table.
#
#   bash scripts/gpu/simulate_124m.sh BIN DATA_DIR OUT_DIR
#
# DATA_DIR holds tokens/gpt2.bin (from `gauntlet-trainer prepare-data`). Environment: LRS
# ["0.4 0.7 1.0"] (η of the H = 10 runs), SUM_LR [1.0; empty: no sum-rule run], H5_LRS ["0.7"]
# (η of H = 5 runs, 60 rounds), BASE [1: run DDP and DiLoCo], LIMIT [530]. The trainer runs
# against the PyTorch that LD_LIBRARY_PATH reaches (see scripts/gpu/bench.sh).
set -u
BIN="$1" DATA="$2" OUTD="$3"
LRS="${LRS-0.4 0.7 1.0}" SUM_LR="${SUM_LR-1.0}" H5_LRS="${H5_LRS-0.7}" BASE="${BASE:-1}"
LIMIT="${LIMIT:-530}"
mkdir -p "$OUTD"
common=(simulate --model 124m --peers 8 --device cuda --threads 2 --seed 0 --data corpora
	--data-dir "$DATA" --seq-len 128 --batch-seqs 8)
run() {
	local name="$1" t0=$SECONDS
	shift
	mkdir -p "$OUTD/$name"
	timeout "$LIMIT" "$BIN" "${common[@]}" "$@" --out "$OUTD/$name" \
		>"$OUTD/$name/stdout.txt" 2>"$OUTD/$name/log.txt"
	echo "$name rc=$? $((SECONDS - t0)) s" >>"$OUTD/runs.txt"
}
h10=(--rounds 30 --inner-steps 10)
h5=(--rounds 60 --inner-steps 5)
((BASE)) && run p8-h10-base "${h10[@]}" --method ddp,diloco &
for lr in $LRS; do
	run "p8-h10-mean-lr$lr" "${h10[@]}" --method sparseloco --outer-lr "$lr" --aggregation mean &
done
[ -n "$SUM_LR" ] && run "p8-h10-sum-lr$SUM_LR" "${h10[@]}" --method sparseloco --outer-lr "$SUM_LR" --aggregation sum &
for lr in $H5_LRS; do
	run "p8-h5-mean-lr$lr" "${h5[@]}" --method sparseloco --outer-lr "$lr" --aggregation mean &
done
wait
cat "$OUTD/runs.txt"
