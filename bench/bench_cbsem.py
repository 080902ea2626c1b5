"""Speed of CB-SEM on the issue's size: the ECSI model on mobi (250 rows x 24 items, one
single-item block) with about 10 % of cells missing, by FIML and by MLR, beside complete-data
ML; each fit checked against its lavaan fixture on the way (chi-square to 1e-3).

    python bench/bench_cbsem.py [--repeats 5]

Prints a Markdown table (medians over repeats, wall clock; the machine is 2 shared cores);
paste it into docs/benchmarks.md. lavaan 0.6-14 on the same data takes about 2 s (issue 15).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.cbsem import CBSEM  # noqa: E402
from models import parse_model  # noqa: E402
from tests.reference_data import reference_file  # noqa: E402

DATA = ROOT / "tests" / "data"
RUNS = ["mobi_ecsi_complete_ml_listwise", "mobi_ecsi_complete_mlr_listwise", "mobi_ecsi_mcar_ml_ml",
        "mobi_ecsi_mcar_mlr_ml", "mobi_ecsi_mar_ml_ml", "mobi_ecsi_mar_mlr_ml",
        "pd_sem_rescov_complete_ml_listwise", "pd_sem_rescov_mar_mlr_ml"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| fit | rows x items | missing cells | median time | iterations | chi2 (lavaan) |")
    print("|---|---|---|---|---|---|")
    for name in RUNS:
        ref = json.loads((DATA / "lavaan" / f"{name}.json").read_text())
        data = pd.read_csv(reference_file(ref["data"]))
        model = parse_model(ref["model"])
        times, stages = [], []
        for _ in range(args.repeats):
            stages.clear()
            estimator = CBSEM(model, missing="fiml" if ref["missing"] == "ml" else "listwise",
                              estimator=ref["estimator"].lower(), allow_negative_variance=True,
                              on_progress=lambda stage, _f: stages.append(stage))
            started = time.perf_counter()
            results = estimator.fit(data)
            times.append(time.perf_counter() - started)
        assert abs(results.fit["chi2"] - ref["fit"]["chisq"]) < 1e-3, name
        iterations = sum(stage.startswith("estimating (iteration") for stage in stages)
        items = data[list(model.items)]
        print(f"| {name} | {items.shape[0]} x {items.shape[1]} | {items.isna().to_numpy().mean():.1%} | "
              f"{statistics.median(times):.2f} s | {iterations} | {results.fit['chi2']:.3f} ({ref['fit']['chisq']:.3f}) |")


if __name__ == "__main__":
    main()
