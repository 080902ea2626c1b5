"""Speed of higher-order constructs (two-stage, repeated indicators) and weighted PLS on
mobi, beside the plain ECSI fit (250 respondents).

    python bench/bench_hoc.py [--quick]

Medians over repeats on this machine (2 shared cores); prints a Markdown table for
docs/benchmarks.md. The two-stage bootstrap runs both stages on each batch of resampled
moments (analysis/hoc.py), so it should cost about two plain bootstraps.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import PLSPM  # noqa: E402
from bench.bench_pls import ecsi_model_text, median_time  # noqa: E402
from models import parse_model  # noqa: E402
from tests.reference_data import reference_file  # noqa: E402


def main(quick: bool) -> None:
    data = pd.read_csv(reference_file("mobi.csv"))
    data["w"] = np.random.default_rng(0).uniform(0.5, 2.0, len(data))
    plain = parse_model(ecsi_model_text(), name="ecsi_mobi")
    hoc = parse_model(json.loads((ROOT / "tests" / "data" / "seminr_hoc_mobi.json").read_text())["model_text"])
    n_boot = 1000 if quick else 5000
    repeats = 3 if quick else 5
    boot_repeats = 1 if quick else 3

    def boot(model, **options):
        return lambda: PLSPM(model, n_boot=n_boot, workers=2, progress=False, **options).fit(data)

    rows = [
        ("ECSI fit", median_time(lambda: PLSPM(plain).fit(data), repeats)),
        ("ECSI fit, weighted", median_time(lambda: PLSPM(plain, weights="w").fit(data), repeats)),
        ("HOC fit, two-stage", median_time(lambda: PLSPM(hoc).fit(data), repeats)),
        ("HOC fit, repeated indicators", median_time(lambda: PLSPM(hoc, hoc="repeated").fit(data), repeats)),
        (f"ECSI bootstrap, {n_boot} resamples, 2 workers", median_time(boot(plain), boot_repeats)),
        (f"ECSI bootstrap, weighted, {n_boot} resamples, 2 workers", median_time(boot(plain, weights="w"), boot_repeats)),
        (f"HOC bootstrap, two-stage, {n_boot} resamples, 2 workers", median_time(boot(hoc), boot_repeats)),
    ]
    print("| measure | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main("--quick" in sys.argv)
