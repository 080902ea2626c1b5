"""Model fit for PLS (SRMR, d_ULS, d_G, test of exact fit) and HTMT2.

References: ADANCO 2.2.1's output on cSEM's `satisfaction` data (= satisfaction_bank.csv, read from ../shared/data),
for a composite model (PLS, Mode B) and a common-factor model (PLSc), as cSEM's comparison
scripts read it (tests/data/adanco_fit_satisfaction.json, source in tests/data/README.md).
cSEM matches these to the 8th significant digit; we assert 1e-7 absolute on the fit values
(fits iterated to tol 1e-10). The bootstrap quantiles HI95/HI99 are random in both programs:
ours (999 Bollen-Stine resamples, fixed seed) must lie within 8 % of ADANCO's.
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import geometric_mean

import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM
from analysis.simulate import population, simulate
from models.csi_model import parse_model
from models.errors import CSIError
from tests.conftest import shared_file

DATA = Path(__file__).resolve().parents[1] / "data"
ADANCO = json.loads((DATA / "adanco_fit_satisfaction.json").read_text())
STRUCTURE = """
EXPE ~ IMAG
QUAL ~ EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL
LOY  ~ IMAG + SAT
"""
BLOCKS = {"IMAG": "imag", "EXPE": "expe", "QUAL": "qual", "VAL": "val", "SAT": "sat", "LOY": "loy"}
SIZES = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}


def satisfaction_model(op: str):
    blocks = "\n".join(f"{c} {op} {' + '.join(f'{p}{k}' for k in range(1, SIZES[c] + 1))}" for c, p in BLOCKS.items())
    return parse_model(STRUCTURE + blocks)


@pytest.fixture(scope="module")
def satisfaction() -> pd.DataFrame:
    return pd.read_csv(shared_file("satisfaction_bank.csv"))


@pytest.mark.parametrize("key, op, consistent", [("composite", "<~", False), ("common_factor", "=~", True)])
def test_fit_values_match_adanco(satisfaction, key, op, consistent):
    results = PLSPM(satisfaction_model(op), scheme="centroid", tol=1e-10, max_iter=1000,
                    consistent=consistent).fit(satisfaction)
    frame = results.fit_indices().set_index(["model", "measure"])
    for model in ("saturated", "estimated"):
        for measure, expected in ADANCO[key][model]["value"].items():
            assert frame.loc[(model, measure), "value"] == pytest.approx(expected, abs=1e-7), (model, measure)


def test_exact_fit_quantiles_near_adanco(satisfaction):
    results = PLSPM(satisfaction_model("<~"), scheme="centroid", fit_test=999, seed=3).fit(satisfaction)
    frame = results.fit_indices().set_index(["model", "measure"])
    for model in ("saturated", "estimated"):
        for quantile in ("hi95", "hi99"):
            for measure, expected in ADANCO["composite"][model][quantile].items():
                assert frame.loc[(model, measure), quantile] == pytest.approx(expected, rel=0.08), (model, measure, quantile)
    # ADANCO's verdict too: every discrepancy exceeds its HI99
    assert (frame["value"] > frame["hi99"]).all() and (frame["exact_fit"] == "rejected at 5%").all()
    assert results.fit.n_ok.tolist() == [999, 999]


def test_srmr_by_hand_henseler_2014(satisfaction):
    """Saturated SRMR from the scores and the data alone: within a composite block the
    observed correlations, within a reflective block lambda_i lambda_j, between blocks
    lambda_i r_jk lambda_l (lambda = correlation of an item with its construct's score)."""
    text = STRUCTURE + "\n".join(
        f"{c} {'<~' if c in ('VAL', 'LOY') else '=~'} {' + '.join(f'{p}{k}' for k in range(1, SIZES[c] + 1))}"
        for c, p in BLOCKS.items())
    model = parse_model(text)
    results = PLSPM(model, tol=1e-10, max_iter=1000).fit(satisfaction)
    items = list(model.items)
    X = satisfaction[items].to_numpy(float)
    scores = results.scores
    R = np.corrcoef(X, rowvar=False)
    block = {i: c.name for c in model.constructs for i in c.items}
    lam = {i: np.corrcoef(X[:, n], scores[block[i]])[0, 1] for n, i in enumerate(items)}
    r = scores.corr()
    squares = []
    for a in range(len(items)):
        for b in range(a + 1):
            i, j = items[a], items[b]
            if a == b:
                implied = 1.0
            elif block[i] == block[j]:
                implied = R[a, b] if model.construct(block[i]).is_formative else lam[i] * lam[j]
            else:
                implied = lam[i] * r.loc[block[i], block[j]] * lam[j]
            squares.append((R[a, b] - implied) ** 2)
    frame = results.fit_indices().set_index(["model", "measure"])
    assert frame.loc[("saturated", "SRMR"), "value"] == pytest.approx(np.sqrt(np.mean(squares)), abs=1e-9)
    payload = results.to_dict()["fit"]
    assert payload["saturated"]["SRMR"] == pytest.approx(np.sqrt(np.mean(squares)), abs=1e-9)
    assert payload["exact_fit_test"] is None


CHAIN = """
A =~ a1 + a2 + a3
B =~ b1 + b2 + b3
C =~ c1 + c2 + c3
B ~ A
C ~ B
"""


def _rejections(paths, n, reps, seed):
    model = parse_model(CHAIN)
    truth = parse_model(CHAIN.replace("C ~ B", "C ~ B + A"))
    pop = population(truth, paths, 0.8)
    rejected = np.zeros(2, dtype=int)
    for rep in range(reps):
        data = simulate(pop, n, seed=seed + rep, scale=None)
        frame = PLSPM(model, consistent=True, fit_test=99, seed=rep).fit(data).fit_indices()
        d_uls = frame[frame["measure"] == "d_ULS"].set_index("model")
        rejected += (d_uls["value"] > d_uls["hi95"]).to_numpy()[[0, 1]]
    return rejected


def test_exact_fit_test_size_and_power():
    """Common-factor data fitted by PLSc. Correct model (A -> C is 0): the estimated model's
    d_ULS test rejects near 5 % (60 replications: binomial 95 % range 0-7). Omitted
    A -> C = 0.4: the estimated model is rejected in nearly every sample, the saturated
    model (no structural restriction) is not."""
    correct = _rejections({("A", "B"): 0.5, ("B", "C"): 0.5, ("A", "C"): 0.0}, n=300, reps=60, seed=100)
    assert correct[1] <= 7 and correct[0] <= 7
    wrong = _rejections({("A", "B"): 0.5, ("B", "C"): 0.3, ("A", "C"): 0.5}, n=300, reps=10, seed=500)
    assert wrong[1] >= 9 and wrong[0] <= 3


def test_htmt2_by_hand_and_exact_for_congeneric_population(satisfaction):
    model = satisfaction_model("=~")
    results = PLSPM(model).fit(satisfaction)
    frame = results.htmt2.set_index(["construct_a", "construct_b"])["estimate"]
    R = satisfaction[list(model.items)].corr()
    items = {c.name: list(c.items) for c in model.constructs}

    def mono(c):
        k = items[c]
        return geometric_mean([R.loc[k[i], k[j]] for i in range(len(k)) for j in range(i + 1, len(k))])

    for a, b in [("IMAG", "EXPE"), ("QUAL", "LOY"), ("SAT", "LOY")]:
        hetero = geometric_mean([R.loc[i, j] for i in items[a] for j in items[b]])
        assert frame[(a, b)] == pytest.approx(hetero / np.sqrt(mono(a) * mono(b)), abs=1e-12)
    # Congeneric population correlations: HTMT2 recovers the factor correlation exactly
    # (Roemer et al. 2021), the arithmetic HTMT does not.
    two = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F")
    pop = population(two, {("F", "G"): 0.6}, {"x1": 0.9, "x2": 0.5, "x3": 0.7, "y1": 0.6, "y2": 0.95, "y3": 0.4})
    from analysis.model_fit import htmt2
    from analysis.pls_core import Structure
    from analysis import statistics as st
    structure = Structure.from_model(two)
    assert htmt2(pop.item_cov[None], structure)[1][0, 0] == pytest.approx(0.6, abs=1e-12)
    assert abs(st.htmt(pop.item_cov[None], structure)[1][0, 0] - 0.6) > 0.005


def test_fit_refusals(satisfaction):
    model = satisfaction_model("=~")
    with pytest.raises(CSIError, match="drop scaled=False"):
        PLSPM(model, scaled=False, fit_test=10)
    with pytest.raises(CSIError, match="fit_test must be 0 or more"):
        PLSPM(model, fit_test=-1)
    moderated = parse_model(STRUCTURE.replace("LOY  ~ IMAG + SAT", "LOY  ~ IMAG + SAT + IMAG:SAT") + "\n".join(
        f"{c} =~ {' + '.join(f'{p}{k}' for k in range(1, SIZES[c] + 1))}" for c, p in BLOCKS.items()))
    with pytest.raises(CSIError, match="defined for linear models"):
        PLSPM(moderated, fit_test=10)
    assert PLSPM(moderated).fit(satisfaction).fit_indices().empty
