"""Speed of PLSc, its bootstrap, mediation, PLSpredict and the test of exact fit on mobi's
ECSI model (250 x 24), and of the interaction (moderation) bootstrap on seminr's moderation
model (Image, Expectation, Value -> Satisfaction with Image:Expectation and Image:Value).

    python bench/bench_methods.py [--quick]

Medians over repeats on this machine (2 shared cores); prints a Markdown table for
docs/benchmarks.md. No peer runs here (seminr-py is GPL and belongs in a separate
benchmark environment: bench/bench_seminr_py.py, issue 19).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import PLSPM  # noqa: E402
from analysis.predict import PLSPredict  # noqa: E402
from bench.bench_pls import ecsi_model_text, median_time  # noqa: E402
from models import parse_model  # noqa: E402
from tests.reference_data import reference_file  # noqa: E402


MODERATION = """
Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation =~ CUEX1 + CUEX2 + CUEX3
Value =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Satisfaction ~ Image + Expectation + Value + Image:Expectation + Image:Value
"""


def main(quick: bool) -> None:
    data = pd.read_csv(reference_file("mobi.csv"))
    model = parse_model(ecsi_model_text(), name="ecsi_mobi")
    n_boot = 1000 if quick else 5000
    repeats = 3 if quick else 5
    rows = [
        ("PLS fit", median_time(lambda: PLSPM(model).fit(data), repeats)),
        ("PLSc fit", median_time(lambda: PLSPM(model, consistent=True).fit(data), repeats)),
        (f"PLS bootstrap, {n_boot} resamples, 2 workers",
         median_time(lambda: PLSPM(model, n_boot=n_boot, workers=2, progress=False).fit(data), 1 if quick else 3)),
        (f"PLSc bootstrap, {n_boot} resamples, 2 workers",
         median_time(lambda: PLSPM(model, consistent=True, n_boot=n_boot, workers=2, progress=False).fit(data),
                     1 if quick else 3)),
    ]
    boot = PLSPM(model, n_boot=n_boot, workers=2, progress=False).fit(data)
    rows.append((f"mediation table ({len(boot.mediation)} routes, {n_boot} resamples)",
                 median_time(lambda: boot.mediation, repeats)))
    rows.append(("PLSpredict 10 folds x 10 repeats",
                 median_time(lambda: PLSPredict(model, folds=10, repeats=10, seed=1).fit(data), repeats)))
    rows.append(("PLSpredict leave-one-out (250 fits)",
                 median_time(lambda: PLSPredict(model, loocv=True).fit(data), repeats)))
    fit_boot = 1000 if quick else 5000
    rows.append((f"test of exact fit, {fit_boot} Bollen-Stine resamples x 2 models",
                 median_time(lambda: PLSPM(model, fit_test=fit_boot).fit(data), 1 if quick else 3)))
    moderation = parse_model(MODERATION, name="moderation")
    for method in ("two-stage", "product", "orthogonal"):
        rows.append((f"interaction fit, {method} (2 terms)",
                     median_time(lambda: PLSPM(moderation, interaction=method).fit(data), repeats)))
        rows.append((f"interaction bootstrap, {method}, {n_boot} resamples, 2 workers",
                     median_time(lambda: PLSPM(moderation, interaction=method, n_boot=n_boot, workers=2,
                                               progress=False).fit(data), 1 if quick else 3)))
    print("| measure | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main("--quick" in sys.argv)
