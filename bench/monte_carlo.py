"""Full Monte Carlo of bootstrap interval coverage (the test suite runs a small version).

    python bench/monte_carlo.py [--reps 1000] [--boot 1000] [--n 250]

Population: the 5-construct ACSI-like model of tests/analysis/test_simulation.py with
loadings 0.8. Target of each interval: the PLS probability limit (PLS on the population
correlation matrix). Reports coverage per path for percentile and BCa intervals.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import PLSPM  # noqa: E402
from analysis.simulate import population, simulate  # noqa: E402
from tests.analysis.test_simulation import MODEL, TRUE_PATHS, pls_limit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--n", type=int, default=250)
    args = parser.parse_args()
    pop = population(MODEL, TRUE_PATHS, 0.8)
    limit = pls_limit(pop)
    keys = list(TRUE_PATHS)
    pct = np.zeros((args.reps, len(keys)), dtype=bool)
    bca = np.zeros_like(pct)
    start = time.perf_counter()
    for rep in range(args.reps):
        data = simulate(pop, args.n, seed=10_000 + rep, scale=None)
        results = PLSPM(MODEL, n_boot=args.boot, seed=rep, progress=False).fit(data)
        frame = results.bootstrap.to_frame().loc["path"]
        for k, (s, t) in enumerate(keys):
            row = frame.loc[(s, t)]
            pct[rep, k] = row["pct_low"] <= limit[(s, t)] <= row["pct_high"]
            bca[rep, k] = row["bca_low"] <= limit[(s, t)] <= row["bca_high"]
        if (rep + 1) % 100 == 0:
            print(f"{rep + 1}/{args.reps} replications, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    se = np.sqrt(0.95 * 0.05 / args.reps)
    print(f"n = {args.n}, {args.reps} samples x {args.boot} resamples; binomial SE of one coverage {se:.3f}\n")
    print("| path | percentile | BCa |\n|---|---|---|")
    for k, (s, t) in enumerate(keys):
        print(f"| {s} -> {t} | {pct[:, k].mean():.3f} | {bca[:, k].mean():.3f} |")
    print(f"| all paths | {pct.mean():.3f} | {bca.mean():.3f} |")


if __name__ == "__main__":
    main()
