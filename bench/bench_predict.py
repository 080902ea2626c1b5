"""Speed of PLSpredict (k-fold, repeated k-fold, leave-one-out; both techniques) and CVPAT on
mobi's ECSI model (250 x 24, 7 constructs, 12 paths; mobi.csv from ../shared/data).

    python bench/bench_predict.py [--repeats 20] [--code DIR]

``--code DIR`` imports ``analysis`` and ``models`` from DIR instead of this checkout (for
example an exported older commit: ``git archive COMMIT analysis models | tar -x -C DIR``),
so the same script times two versions. Medians of wall (perf_counter) and CPU
(process_time) seconds; the 1-minute load average before and after is printed, since the
2 cores are shared. Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(function, repeats: int) -> tuple[float, float]:
    function()  # warm-up: imports, caches
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per row (medians)")
    parser.add_argument("--code", type=Path, default=ROOT, help="directory holding the analysis package to time")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    import pandas as pd

    import analysis
    from analysis.cvpat import cvpat
    from analysis.predict import PLSPredict
    from models import parse_model
    sys.path.insert(1, str(ROOT))
    from bench.bench_pls import ecsi_model_text

    from tests.reference_data import reference_file
    data = pd.read_csv(reference_file("mobi.csv"))
    model = parse_model(ecsi_model_text(), name="ecsi_mobi")
    # CVPAT's rival: the ECSI model without Image -> Loyalty.
    rival = parse_model("\n".join(line for line in ecsi_model_text().splitlines()
                                  if line != "Loyalty ~ Image"), name="no_image_loyalty")
    rows = [
        ("PLSpredict 10 folds x 10 repeats, direct", lambda: PLSPredict(model, folds=10, repeats=10, seed=1,
                                                                         technique="direct").fit(data)),
        ("PLSpredict 10 folds x 10 repeats, earliest", lambda: PLSPredict(model, folds=10, repeats=10,
                                                                           seed=1).fit(data)),
        ("PLSpredict 10 folds x 1 repeat, earliest", lambda: PLSPredict(model, folds=10, seed=1).fit(data)),
        ("PLSpredict leave-one-out (250 fits), earliest", lambda: PLSPredict(model, loocv=True).fit(data)),
        ("CVPAT 10 folds x 10 repeats (two models)", lambda: cvpat(model, rival, data, folds=10, repeats=10, seed=1)),
    ]
    print(f"code: {Path(analysis.__file__).parent}; load average before: {os.getloadavg()}", file=sys.stderr)
    print("| measure | wall s | CPU s | load avg (1 min) |\n|---|---|---|---|")
    for name, function in rows:
        before = os.getloadavg()[0]
        wall, cpu = timed(function, args.repeats)
        print(f"| {name} | {wall:.4f} | {cpu:.4f} | {before:.1f}-{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
