#!/usr/bin/env python3
"""Measure the fixed-point error itself, free of the f64 reference's rounding noise.

Re-evaluates every golden game with <= MAX_PLAYERS players in 50-digit decimal arithmetic
(the same formulas as openskill 6.2.0's PlackettLuce, one-player teams) and compares both
openskill's f64 results and the crate's exact I64F64 output against it:

    GAUNTLET_GOLDEN_DUMP=/tmp/ours.json cargo test --test golden
    python3 scripts/check_exact.py /tmp/ours.json

Needs only the standard library. Error metric as in tests/golden.rs:
|x - exact| / max(|exact|, 1e-3).
"""

import json
import sys
from decimal import Decimal as D
from decimal import getcontext
from pathlib import Path

getcontext().prec = 50
MAX_PLAYERS = 24  # the O(n^3) direct evaluation below gets slow beyond this
FLOOR = D("1e-3")


def rate(params, ratings, scores):
    beta, tau, kappa = D(params["beta"]), D(params["tau"]), D(params["kappa"])
    n = len(ratings)
    mu = [D(r[0]) for r in ratings]
    sigma0 = [D(r[1]) for r in ratings]
    sigma = [(s * s + tau * tau).sqrt() for s in sigma0]
    c = sum(s * s + beta * beta for s in sigma).sqrt()
    rank = [sum(1 for t in scores if t > s) for s in scores]
    e = [(m / c).exp() for m in mu]
    out = []
    for i in range(n):
        omega = D(0)
        delta = D(0)
        for q in range(n):
            if rank[q] <= rank[i]:
                total = sum(e[j] for j in range(n) if rank[j] >= rank[q])
                a = sum(1 for j in range(n) if rank[j] == rank[q])
                p = e[i] / total
                delta += p * (1 - p) / a
                omega += (1 - p) / a if q == i else -p / a
        omega *= sigma[i] ** 2 / c
        delta *= sigma[i] ** 2 / c**2 * sigma[i] / c
        new_sigma = sigma[i] * max(1 - delta, kappa).sqrt()
        if params["limit_sigma"]:
            new_sigma = min(new_sigma, sigma0[i])
        out.append((mu[i] + omega, new_sigma))
    return out


def rel(x, exact):
    return abs(float((x - exact) / max(abs(exact), FLOOR)))


def main():
    root = Path(__file__).resolve().parent.parent
    golden = json.loads((root / "tests/fixtures/golden.json").read_text())
    ours = json.loads(Path(sys.argv[1]).read_text())
    worst = {"f64 mu": 0.0, "f64 sigma": 0.0, "fixed mu": 0.0, "fixed sigma": 0.0}
    games = 0
    for game, mine in zip(golden["games"], ours):
        if len(game["ratings"]) > MAX_PLAYERS:
            continue
        games += 1
        exact = rate(game["params"], game["ratings"], game["scores"])
        for (m, s), (fm, fs), (bm, bs) in zip(exact, game["expected"], mine):
            worst["f64 mu"] = max(worst["f64 mu"], rel(D(fm), m))
            worst["f64 sigma"] = max(worst["f64 sigma"], rel(D(fs), s))
            worst["fixed mu"] = max(worst["fixed mu"], rel(D(int(bm)) / D(2**64), m))
            worst["fixed sigma"] = max(worst["fixed sigma"], rel(D(int(bs)) / D(2**64), s))
    print(f"{games} games with <= {MAX_PLAYERS} players vs 50-digit evaluation:")
    for k, v in worst.items():
        print(f"  {k:12} worst relative error {v:.3e}")


if __name__ == "__main__":
    main()
