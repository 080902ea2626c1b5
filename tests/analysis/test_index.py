"""The ACSI 0-100 index: checked against an independent computation from SmartPLS's
published weights, on mixed scales, and for refusing negative weights."""
import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM, fit
from analysis.data import DataError
from models import parse_model


def test_index_equals_hand_computation_from_published_weights(ecsi_mobi_model, mobi, mobi_reference):
    """Independent peer: ACSI's recipe applied with pandas to SmartPLS's standardized weights."""
    ref = mobi_reference["smartpls_2_0_M3"]["path"]["outer_weights_standardized"]
    results = fit(ecsi_mobi_model, mobi)
    for construct in ecsi_mobi_model.constructs:
        items = list(construct.items)
        unstandardized = pd.Series({i: ref[i] / mobi[i].std(ddof=0) for i in items})
        normalized = unstandardized / unstandardized.sum()
        expected = ((normalized * mobi[items].mean()).sum() - 1) / 9 * 100
        assert results.index[construct.name] == pytest.approx(expected, abs=1e-5), construct.name


def test_respondent_scores_average_to_the_index(ecsi_mobi_model, mobi):
    results = fit(ecsi_mobi_model, mobi)
    respondent = results.respondent_index
    assert respondent.shape == (250, 7)
    assert np.allclose(respondent.mean(), results.index[respondent.columns], atol=1e-9)
    assert respondent.min().min() >= -1e-9 and respondent.max().max() <= 100 + 1e-9


def test_mixed_scales_map_each_item_to_0_100():
    rng = np.random.default_rng(4)
    n = 400
    a, b = rng.normal(size=n), rng.normal(size=n)
    b = 0.6 * a + 0.8 * b
    data = pd.DataFrame({
        "a5": np.clip(np.rint(3 + a + rng.normal(0, .5, n)), 1, 5),      # 1-5
        "a7": np.clip(np.rint(4 + 1.3 * a + rng.normal(0, .6, n)), 1, 7),  # 1-7
        "a10": np.clip(np.rint(6 + 2 * a + rng.normal(0, .8, n)), 1, 10),  # 1-10
        "b1": np.clip(np.rint(6 + 2 * b + rng.normal(0, .8, n)), 1, 10),
        "b2": np.clip(np.rint(6 + 2 * b + rng.normal(0, .8, n)), 1, 10),
    })
    model = parse_model("A =~ a5 + a7 + a10\nB =~ b1 + b2\nB ~ A")
    scales = {"a5": (1, 5), "a7": (1, 7), "a10": (1, 10), "b1": (1, 10), "b2": (1, 10)}
    results = fit(model, data, scales=scales)
    w = results.index_weights.set_index("item")["weight"]
    rescaled = pd.DataFrame({i: (data[i] - lo) / (hi - lo) * 100 for i, (lo, hi) in scales.items()})
    assert w[["a5", "a7", "a10"]].sum() == pytest.approx(1.0)
    assert results.index["A"] == pytest.approx((w[["a5", "a7", "a10"]] * rescaled[["a5", "a7", "a10"]].mean()).sum(), abs=1e-9)
    # The same data on one common 1-10 metric gives the same index only if scales are right:
    wrong = fit(model, data, scales={i: (1, 10) for i in scales})
    assert abs(wrong.index["A"] - results.index["A"]) > 5


def test_scale_inferred_from_observed_values(ecsi_mobi_model, mobi):
    results = fit(ecsi_mobi_model, mobi)
    assert set(results.scales.values()) == {(1.0, 10.0)}


def test_values_outside_a_declared_scale_are_rejected(ecsi_mobi_model, mobi):
    with pytest.raises(DataError, match=r"column 'CUSA1', row \d+: value \d+ is outside the scale 1..5"):
        fit(ecsi_mobi_model, mobi, scales={"CUSA1": (1, 5)})


def test_negative_weight_is_refused_with_explanation(mobi):
    data = mobi.copy()
    data["CUSA2"] = 11 - data["CUSA2"]  # a reverse-worded item nobody flipped back
    model = parse_model("Sat =~ CUSA1 + CUSA2 + CUSA3\nLoy =~ CUSL1 + CUSL3\nLoy ~ Sat")
    results = PLSPM(model, scheme="path").fit(data)
    assert "Sat" not in results.index.index and "Loy" in results.index.index
    note = next(n for n in results.notes if "'Sat'" in n)
    assert "CUSA2 has a negative outer weight" in note and "needs every weight positive" in note
    assert results.respondent_index["Sat"].isna().all()
