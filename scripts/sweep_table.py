#!/usr/bin/env python3
"""Summarises a `scripts/gpu/simulate_sweep.sh` output directory as a markdown table.

One row per (peers, H): DDP's and DiLoCo's final held-out loss, and SparseLoCo's for every outer
learning rate and rule that ran, with its gap to DDP at equal tokens; the best η is marked. Also
DiLoCo's loss after the bytes SparseLoCo's whole run sent (equal bytes).

    python3 scripts/sweep_table.py SWEEP_DIR > table.md
"""
import csv
import os
import re
import sys
from collections import defaultdict


def final(rows, method):
    rs = [r for r in rows if r["method"] == method]
    return rs[-1] if rs else None


def main(root):
    runs = defaultdict(dict)  # (peers, h) -> {label: rows}
    for name in sorted(os.listdir(root)):
        m = re.match(r"p(\d+)-h(\d+)-(.*)", name)
        path = os.path.join(root, name, "simulation.csv")
        if not m or not os.path.exists(path):
            continue
        with open(path) as f:
            rows = list(csv.DictReader(f))
        runs[(int(m[1]), int(m[2]))][m[3]] = rows
    print("| peers | H | tokens | DDP | DiLoCo | SparseLoCo (rule, η): held-out loss, vs DDP | best | DiLoCo at SparseLoCo's bytes |")
    print("|---:|---:|---:|---:|---:|---|---|---:|")
    for (peers, h), labels in sorted(runs.items()):
        base = labels.get("base", [])
        ddp, diloco = final(base, "ddp"), final(base, "diloco")
        cells, best = [], None
        for label, rows in sorted(labels.items()):
            if label == "base":
                continue
            r = final(rows, "sparseloco")
            if r is None:
                continue
            loss = float(r["heldout_loss"])
            gap = (loss / float(ddp["heldout_loss"]) - 1) * 100 if ddp else float("nan")
            rule, lr = re.match(r"(mean|sum)-lr(.*)", label).groups()
            cells.append(f"{rule} {lr}: {loss:.3f} ({gap:+.1f}%)")
            if rule == "mean" and (best is None or loss < best[0]):
                best = (loss, lr, gap, int(r["bytes_per_peer_total"]), r["tokens"])
        at_bytes = ""
        if best and diloco:
            d_rows = [x for x in base if x["method"] == "diloco" and int(x["bytes_per_peer_total"]) <= best[3]]
            at_bytes = f"{float(d_rows[-1]['heldout_loss']):.3f}" if d_rows else "(more than one round)"
        tokens = best[4] if best else (ddp["tokens"] if ddp else "")
        print(
            f"| {peers} | {h} | {tokens} | {float(ddp['heldout_loss']):.3f} | "
            f"{float(diloco['heldout_loss']):.3f} | {'; '.join(cells)} | "
            f"{'η = ' + best[1] + f' ({best[2]:+.1f}%)' if best else ''} | {at_bytes} |"
            if ddp and diloco
            else f"| {peers} | {h} | {tokens} | | | {'; '.join(cells)} | | |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
