"""Wave comparison: batched permutations against refitting each permutation one by one,
and the full Monte Carlo of the permutation test's size and power.

    python bench/bench_comparison.py speed [--n 400] [--perm 1000]
    python bench/bench_comparison.py montecarlo [--reps 1000] [--perm 999] [--n 250]

The peer refits both permuted groups with ``PLSPM.fit_prepared`` per permutation, the
way seminr's and cSEM's permutation MGA do (one PLS fit per group and permutation); the
same permutations go through both paths and their statistics are compared.
The test suite runs a 200-replication version of the Monte Carlo.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from analysis import PLSPM  # noqa: E402
from analysis.bootstrap import _evaluate  # noqa: E402
from analysis.data import PreparedData, items_from_questionnaire  # noqa: E402
from analysis.groups import _permuted_masks, _shared_prepare, compare_groups  # noqa: E402
from analysis.simulate import population, simulate, simulate_responses  # noqa: E402
from models import load_questionnaire  # noqa: E402
from tests.analysis.test_groups import MODEL, PATHS, SCALES  # noqa: E402


def speed(args) -> None:
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    model = q.csi_model()
    a = simulate_responses(q, args.n, seed=1)
    b = simulate_responses(q, args.n, seed=2, shift=0.2)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        compare_groups(model, a, b, questionnaire=q, n_perm=args.perm, n_boot=0, seed=1)
        runs.append(time.perf_counter() - started)
    ours = statistics.median(runs)
    # The peer, on the same prepared data and the same permutations.
    prep_a, prep_b = _shared_prepare(model, [a, b], items_from_questionnaire(q), "listwise", None)
    X = np.vstack([prep_a.values, prep_b.values])
    n_a, n = prep_a.n_used, X.shape[0]
    masks = _permuted_masks(np.random.default_rng(5), n_a, n, args.peer_perm)
    estimator = PLSPM(model)
    fitted = estimator.fit_prepared(prep_a)
    layout, structure = fitted.layout, fitted.structure
    low = np.array([prep_a.scales[i][0] for i in structure.items])
    span = np.array([prep_a.scales[i][1] - prep_a.scales[i][0] for i in structure.items])
    started = time.perf_counter()
    peer_values = []
    for mask in masks:
        rows = mask.astype(bool)
        fits = [estimator.fit_prepared(PreparedData(X[r], prep_a.items, pd.RangeIndex(int(r.sum())), prep_a.scales,
                                                    int(r.sum()))) for r in (rows, ~rows)]
        peer_values.append(np.asarray(fits[0].estimates))
    peer = (time.perf_counter() - started) / args.peer_perm * args.perm
    batched, status = _evaluate(X, masks, layout, "path", True, 1e-7, 300, low, span)
    difference = np.nanmax(np.abs(batched[status == 0] - np.array(peer_values)[status == 0]))
    print(f"n = {args.n} + {args.n}, {len(structure.items)} items, {len(structure.constructs)} constructs, "
          f"{args.perm} permutations")
    print(f"batched compare_groups (fits, {args.perm} permutations x 2 groups, MICOM): median of 3 = {ours:.2f} s "
          f"(runs {', '.join(f'{r:.2f}' for r in runs)})")
    print(f"peer: one PLS fit per group and permutation: {peer:.2f} s for {args.perm} "
          f"(timed on {args.peer_perm}) -> {peer / ours:.0f}x slower")
    print(f"largest difference between batched and one-by-one statistics on the same permutations: {difference:.2e}")


def montecarlo(args) -> None:
    pop = population(MODEL, PATHS, 0.8)
    started = time.perf_counter()
    for label, center_b in (("no change (size)", 0.65), ("+0.03 on the 0-1 scale, about 2.8 index points (power)", 0.68)):
        rejections = {c: 0 for c in MODEL.construct_names}
        path_rejections = 0
        for rep in range(args.reps):
            a = simulate(pop, args.n, seed=50_000 + 2 * rep, center=0.65)
            b = simulate(pop, args.n, seed=50_001 + 2 * rep, center=center_b)
            result = compare_groups(MODEL, a, b, n_perm=args.perm, n_boot=0, seed=rep, scales=SCALES)
            change = result.index_change().set_index("construct")
            for c in rejections:
                rejections[c] += change.loc[c, "p_value"] < 0.05
            path_rejections += int((result.differences.query("kind == 'path'")["p_value"] < 0.05).sum())
        print(f"\n{label}: {args.reps} pairs of waves, n = {args.n} each, {args.perm} permutations, 5% level")
        for c, k in rejections.items():
            low, high = stats.binomtest(k, args.reps).proportion_ci(0.95)
            print(f"  index {c:<13} rejected {k / args.reps:6.3f}  (95% CI {low:.3f}-{high:.3f})")
        print(f"  paths (3 per replication, true difference 0) rejected {path_rejections / (3 * args.reps):.3f}")
    print(f"\n{time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["speed", "montecarlo"])
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--perm", type=int, default=None)
    parser.add_argument("--peer-perm", type=int, default=100)
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    if args.what == "speed":
        args.n, args.perm = args.n or 400, args.perm or 1000
        speed(args)
    else:
        args.n, args.perm = args.n or 250, args.perm or 999
        montecarlo(args)


if __name__ == "__main__":
    main()
