#!/usr/bin/env python3
"""Generate tests/fixtures/golden.json from the reference openskill.py 6.2.0 implementation.

The Rust crate must reproduce PlackettLuce.rate(teams, scores=...) for one-player teams, so
this script records random games (and multi-window sequences) together with openskill's float
results. Run it from the crate root:

    python3 -m venv .venv && .venv/bin/pip install openskill==6.2.0
    .venv/bin/python scripts/gen_golden.py > tests/fixtures/golden.json

The seed is fixed, so the output only changes when this script or openskill changes.
"""

import json
import random
import sys

import openskill
from openskill.models import PlackettLuce

SEED = 20250611
REQUIRED_VERSION = "6.2.0"

# (beta, tau, kappa, limit_sigma). Templar's model first; it gets most of the games.
TEMPLAR = (7.0, 0.1, 0.0001, False)
OTHER_PARAMS = [
    (25.0 / 6.0, 25.0 / 300.0, 0.0001, False),  # openskill defaults
    (1.0, 0.1, 0.0001, False),
    (15.0, 1.0, 0.0001, False),
    (7.0, 0.0, 0.0001, False),
    (0.5, 0.1, 0.0001, False),  # tiny beta: huge spread of mu/c, exercises the softmax shift
    (7.0, 0.1, 0.0001, True),  # limit_sigma
    (4.0, 0.5, 0.01, True),
]


def rate(params, ratings, scores):
    beta, tau, kappa, limit_sigma = params
    model = PlackettLuce(beta=beta, tau=tau, kappa=kappa, limit_sigma=limit_sigma)
    teams = [[model.rating(mu=mu, sigma=sigma)] for mu, sigma in ratings]
    out = model.rate(teams, scores=list(scores))
    return [[team[0].mu, team[0].sigma] for team in out]


def params_obj(params):
    beta, tau, kappa, limit_sigma = params
    return {"beta": beta, "tau": tau, "kappa": kappa, "limit_sigma": limit_sigma}


def rnd(x, digits=6):
    # Inputs are rounded to keep the file small; the Rust test reads the same rounded values.
    return round(x, digits)


def random_scores(rng, n):
    kind = rng.random()
    if kind < 0.35:
        # Continuous losses: distinct scores, mostly negative like Templar's loss deltas.
        return [rnd(rng.uniform(-3.0, 1.0), 9) for _ in range(n)]
    if kind < 0.75:
        # Few distinct values: many ties of every size.
        levels = rng.randint(1, max(1, n // 2))
        return [float(rng.randint(0, levels)) for _ in range(n)]
    if kind < 0.85:
        return [0.0] * n  # everyone tied
    if kind < 0.95:
        # Mostly tied with one or two outliers.
        s = [1.0] * n
        for _ in range(rng.randint(1, 2)):
            s[rng.randrange(n)] = rng.choice([-5.0, 5.0])
        return s
    return [float(i) for i in rng.sample(range(-1000, 1000), n)]


def random_game(rng, params):
    n = rng.choice([2, 2, 3, 4, 5, 8, 10, 16, 24, 32, 48, 64, rng.randint(2, 64)])
    kind = rng.random()
    ratings = []
    for _ in range(n):
        if kind < 0.5:
            mu = rng.uniform(-50.0, 100.0)
            sigma = rng.uniform(0.01, 20.0)
        elif kind < 0.8:
            mu = rng.gauss(25.0, 5.0)
            sigma = rng.uniform(0.5, 25.0 / 3.0)
        else:
            # Extremes: either end of both ranges.
            mu = rng.choice([-50.0, 100.0, rng.uniform(-50.0, 100.0)])
            sigma = rng.choice([0.01, 20.0, rng.uniform(0.01, 20.0)])
        ratings.append([rnd(mu), rnd(sigma)])
    scores = random_scores(rng, n)
    return {
        "params": params_obj(params),
        "ratings": ratings,
        "scores": scores,
        "expected": rate(params, ratings, scores),
    }


def special_games():
    """Hand-picked corner cases."""
    games = []
    d = [25.0, 25.0 / 3.0]
    games.append((TEMPLAR, [d, d], [1.0, 0.0]))
    games.append((TEMPLAR, [d, d], [0.0, 0.0]))
    games.append((TEMPLAR, [d] * 64, [float(i) for i in range(64)]))
    games.append((TEMPLAR, [d] * 64, [0.0] * 64))
    # Upset: the weakest player wins by a mile.
    games.append((TEMPLAR, [[100.0, 0.01], [-50.0, 0.01]], [0.0, 1.0]))
    games.append((TEMPLAR, [[100.0, 20.0], [-50.0, 20.0]], [0.0, 1.0]))
    # mu/c spread of ~200: a single global softmax shift would underflow.
    games.append(((0.5, 0.0, 0.0001, False), [[100.0, 0.01], [-50.0, 0.01], [40.0, 0.01]], [3.0, 2.0, 1.0]))
    games.append(((0.5, 0.0, 0.0001, False), [[100.0, 0.01], [-50.0, 0.01], [40.0, 0.01]], [1.0, 2.0, 3.0]))
    # delta > 1: the kappa floor binds.
    games.append(((0.1, 0.0, 0.0001, False), [[25.0, 0.01]] * 63 + [[25.0, 20.0]], [-float(i) for i in range(64)]))
    # Strictly increasing skill ranked in reverse.
    games.append((TEMPLAR, [[-50.0 + 2.3 * i, 0.01 + 0.3 * i] for i in range(64)], [float(i) for i in range(64)]))
    games.append((TEMPLAR, [[-50.0 + 2.3 * i, 0.01 + 0.3 * i] for i in range(64)], [-float(i) for i in range(64)]))
    out = []
    for params, ratings, scores in games:
        out.append(
            {
                "params": params_obj(params),
                "ratings": [[rnd(mu), rnd(sigma)] for mu, sigma in ratings],
                "scores": scores,
            }
        )
        out[-1]["expected"] = rate(params, out[-1]["ratings"], scores)
    return out


def sequence(rng, params, pool, windows):
    """Same players rated window after window; each side feeds back its own output."""
    initial = [[rnd(rng.gauss(25.0, 3.0)), rnd(25.0 / 3.0)] for _ in range(pool)]
    state = [list(r) for r in initial]
    steps = []
    for _ in range(windows):
        k = rng.randint(2, min(pool, 40))
        players = sorted(rng.sample(range(pool), k))
        scores = random_scores(rng, k)
        new = rate(params, [state[p] for p in players], scores)
        for p, r in zip(players, new):
            state[p] = r
        steps.append({"players": players, "scores": scores, "expected": new})
    return {"params": params_obj(params), "initial": initial, "windows": steps}


def main():
    if openskill.__version__ != REQUIRED_VERSION:
        sys.exit(f"need openskill {REQUIRED_VERSION}, found {openskill.__version__}")
    rng = random.Random(SEED)
    games = special_games()
    for i in range(300):
        params = TEMPLAR if i % 2 == 0 else OTHER_PARAMS[(i // 2) % len(OTHER_PARAMS)]
        games.append(random_game(rng, params))
    sequences = [
        sequence(rng, TEMPLAR, 40, 20),
        sequence(rng, TEMPLAR, 12, 20),
        sequence(rng, OTHER_PARAMS[0], 30, 20),
        sequence(rng, (7.0, 0.1, 0.0001, True), 20, 20),
    ]
    doc = {
        "generator": "scripts/gen_golden.py",
        "openskill": openskill.__version__,
        "seed": SEED,
        "games": games,
        "sequences": sequences,
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
