"""Our PLS engine beside seminr-py (the Python port of R's seminr, PyPI ``seminr`` 0.2.1) in one script.

seminr-py is GPL: it must never be a dependency of this package or of its tests. It lives in a
separate benchmark environment (``.peer-venv`` at the repository root, git-ignored) that holds
both it and this package, so one process imports both and times them the same way:

    python3 -m venv .peer-venv
    .peer-venv/bin/pip install seminr==0.2.1
    .peer-venv/bin/pip install -e .
    .peer-venv/bin/python bench/bench_seminr_py.py [--quick] [--peer-repeats 2] [--only predict ...]

(about 10 minutes on 2 shared cores; --quick runs small sizes in under a minute)

What it measures on mobi's ECSI model (250 x 24, 7 constructs, 12 paths; mobi.csv from ../shared/data):
1. that both give the same path coefficients (PLS, and PLSc with every construct reflective)
   to 1e-6, so the timings compare equal work;
2. one PLS fit; 5,000 bootstrap resamples (ours ``workers=2`` vs ``bootstrap_model(cores=2)``);
3. one PLSc fit and its 5,000 bootstrap resamples, likewise;
4. one fit on 1,000,000 respondents simulated from the mobi model (analysis/simulate.py,
   paths 0.3, loadings 0.8, 1-10 scale; the same frame to both);
5. PLSpredict, 10 folds x 10 repeats, direct-antecedent technique (seminr's default
   ``predict_DA``; ours ``technique="direct"``), sequential on both sides (ours has no workers
   option for PLSpredict; the peer's ``cores=2`` is timed too).

Times are medians of repeats: wall (perf_counter) and CPU (process_time plus getrusage of reaped
child processes, so process-pool workers count). Ratios are peer / ours, computed here. The
host's 2 cores are shared; the 1-minute load average is printed before and after each row.
Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reference_data import reference_file  # noqa: E402

DATA = ROOT / "tests" / "data"

import seminr  # noqa: E402  (GPL peer: present only in the separate .peer-venv)

from analysis import PLSPM  # noqa: E402
from analysis.predict import PLSPredict  # noqa: E402
from analysis.simulate import population, simulate  # noqa: E402
from models import parse_model  # noqa: E402


def spec() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    ref = json.loads((DATA / "mobi_reference.json").read_text())["model_ECSImobi"]
    return ref["blocks"], [tuple(p) for p in ref["paths"]]


def our_model():
    blocks, paths = spec()
    text = "\n".join(f"{b} =~ {' + '.join(i)}" for b, i in blocks.items())
    return parse_model(text + "\n" + "\n".join(f"{t} ~ {s}" for s, t in paths), name="ecsi_mobi")


def peer_model(reflective: bool):
    """seminr's measurement and structural model; ``reflective`` makes every construct a
    common factor (seminr then estimates PLSc), else Mode A composites (PLS)."""
    blocks, paths = spec()
    make = seminr.reflective if reflective else seminr.composite
    mm = seminr.constructs(*[make(b, items) for b, items in blocks.items()])
    sm = seminr.relationships(*[seminr.paths(from_=s, to=t) for s, t in paths])
    return mm, sm


def peer_paths(fitted) -> dict[tuple[str, str], float]:
    matrix = fitted.path_coef
    _, paths = spec()
    return {(s, t): float(matrix.values[matrix.rows.index(s), matrix.cols.index(t)]) for s, t in paths}


def our_paths(results) -> dict[tuple[str, str], float]:
    return {(r["from"], r["to"]): r["estimate"] for r in results.path_coefficients.to_dict("records")}


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) plus its reaped children (pool workers are
    reaped when the pool shuts down, which both engines do before returning)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(function, repeats: int) -> dict:
    """Median wall and CPU seconds over ``repeats`` calls, and the load around them."""
    load_before = os.getloadavg()[0]
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), cpu_seconds()
        function()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - c0)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus), "n": repeats,
            "load": (load_before, os.getloadavg()[0])}


def agreement(ours: dict, peer: dict) -> float:
    return max(abs(ours[k] - peer[k]) for k in peer)


# Row groups of the table, for --only.
ROWS = ("fit", "bootstrap", "plsc", "plsc-bootstrap", "large", "predict", "predict-cores2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of our measurements (fits)")
    parser.add_argument("--peer-repeats", type=int, default=2, help="repeats of the peer's slow measurements")
    parser.add_argument("--n-boot", type=int, default=5000)
    parser.add_argument("--big", type=int, default=1_000_000, help="respondents in the large fit")
    parser.add_argument("--only", nargs="+", choices=ROWS, default=list(ROWS),
                        help="measure only these rows (the agreement check always runs)")
    args = parser.parse_args()
    if args.quick:
        args.n_boot, args.big, args.repeats, args.peer_repeats = 200, 50_000, 2, 1
    data = pd.read_csv(reference_file("mobi.csv"))
    model = our_model()
    pls_mm, pls_sm = peer_model(reflective=False)
    plsc_mm, plsc_sm = peer_model(reflective=True)
    print(f"seminr-py {seminr.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{os.cpu_count()} cores; load average before: {os.getloadavg()}", file=sys.stderr)

    # 1. Same work: path coefficients agree.
    ours_pls = our_paths(PLSPM(model).fit(data))
    peer_pls = peer_paths(seminr.estimate_pls(data, pls_mm, pls_sm))
    ours_plsc = our_paths(PLSPM(model, consistent=True).fit(data))
    peer_plsc = peer_paths(seminr.estimate_pls(data, plsc_mm, plsc_sm))
    diffs = {"PLS": agreement(ours_pls, peer_pls), "PLSc": agreement(ours_plsc, peer_plsc)}
    print("largest |path difference| ours vs seminr-py: "
          + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()), file=sys.stderr)
    for name, ours, peer in (("PLS", ours_pls, peer_pls), ("PLSc", ours_plsc, peer_plsc)):
        if diffs[name] > 1e-6:
            for key in peer:
                print(f"  {name} {key[0]} -> {key[1]}: ours {ours[key]:.9f}, seminr-py {peer[key]:.9f}",
                      file=sys.stderr)

    rows: list[tuple[str, dict, dict]] = []

    def row(key, name, ours, peer, peer_repeats):
        if key not in args.only:
            return
        o = timed(ours, args.repeats)
        p = timed(peer, args.repeats if peer_repeats is None else peer_repeats)
        rows.append((name, o, p))
        print(f"{name}: ours {o['wall']:.3f} s, seminr-py {p['wall']:.3f} s, "
              f"x{p['wall'] / o['wall']:.1f}", file=sys.stderr)

    n_boot = args.n_boot
    row("fit", "PLS fit",
        lambda: PLSPM(model).fit(data),
        lambda: seminr.estimate_pls(data, pls_mm, pls_sm), None)
    peer_fit = seminr.estimate_pls(data, pls_mm, pls_sm)
    row("bootstrap", f"PLS bootstrap, {n_boot:,} resamples, 2 processes",
        lambda: PLSPM(model, n_boot=n_boot, workers=2, progress=False).fit(data),
        lambda: seminr.bootstrap_model(peer_fit, nboot=n_boot, seed=1, cores=2), args.peer_repeats)
    row("plsc", "PLSc fit (all reflective)",
        lambda: PLSPM(model, consistent=True).fit(data),
        lambda: seminr.estimate_pls(data, plsc_mm, plsc_sm), None)
    peer_fit_c = seminr.estimate_pls(data, plsc_mm, plsc_sm)
    row("plsc-bootstrap", f"PLSc bootstrap, {n_boot:,} resamples, 2 processes",
        lambda: PLSPM(model, consistent=True, n_boot=n_boot, workers=2, progress=False).fit(data),
        lambda: seminr.bootstrap_model(peer_fit_c, nboot=n_boot, seed=1, cores=2), args.peer_repeats)

    if "large" in args.only:
        pop = population(model, {p: 0.3 for p in model.paths}, 0.8)
        big = simulate(pop, args.big, seed=1, scale=(1, 10))
        ours_big = our_paths(PLSPM(model).fit(big))
        peer_big = peer_paths(seminr.estimate_pls(big, pls_mm, pls_sm))
        diffs["PLS, large"] = agreement(ours_big, peer_big)
        print(f"large fit largest |path difference|: {diffs['PLS, large']:.2e}", file=sys.stderr)
    row("large", f"PLS fit, {args.big:,} simulated respondents",
        lambda: PLSPM(model).fit(big),
        lambda: seminr.estimate_pls(big, pls_mm, pls_sm), args.peer_repeats)

    folds, repeats = (10, 10) if not args.quick else (10, 2)
    row("predict", f"PLSpredict {folds} folds x {repeats} repeats (direct antecedents)",
        lambda: PLSPredict(model, folds=folds, repeats=repeats, technique="direct", seed=1).fit(data),
        lambda: [seminr.predict_pls(peer_fit, technique=seminr.predict_DA, no_folds=folds, seed=r)
                 for r in range(repeats)], args.peer_repeats)
    row("predict-cores2", f"PLSpredict {folds} folds x {repeats} repeats, peer cores=2",
        lambda: PLSPredict(model, folds=folds, repeats=repeats, technique="direct", seed=1).fit(data),
        lambda: [seminr.predict_pls(peer_fit, technique=seminr.predict_DA, no_folds=folds, seed=r, cores=2)
                 for r in range(repeats)], 1)  # a process pool per call: slow, timed once

    print("\nlargest |path coefficient difference|, ours vs seminr-py: "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) + "\n")
    print("| measure | ours wall s | ours CPU s | seminr-py wall s | seminr-py CPU s | wall ratio (peer/ours) "
          "| runs ours/peer | load avg (1 min) during |")
    print("|---|---|---|---|---|---|---|---|")
    for name, o, p in rows:
        load = f"{min(o['load'] + p['load']):.1f}-{max(o['load'] + p['load']):.1f}"
        print(f"| {name} | {o['wall']:.3f} | {o['cpu']:.3f} | {p['wall']:.3f} | {p['cpu']:.3f} "
              f"| {p['wall'] / o['wall']:.1f}x | {o['n']}/{p['n']} | {load} |")


if __name__ == "__main__":
    main()
