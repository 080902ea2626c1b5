"""The ACSI 0-100 index: checked against an independent computation from SmartPLS's
published weights, on mixed scales, and for refusing negative weights."""
import json

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


IMAGE = ["IMAG1", "IMAG2", "IMAG3", "IMAG4", "IMAG5"]


@pytest.fixture
def mixed_mobi(mobi):
    """mobi with the image items on a 1-5 scale (1-2 -> 1, ..., 9-10 -> 5), the rest on 1-10."""
    data = mobi.copy()
    data[IMAGE] = np.ceil(data[IMAGE] / 2).astype(int)
    return data


def test_undeclared_scales_are_inferred_per_item(ecsi_mobi_model, mixed_mobi):
    """A CSV mixing 1-5 and 1-10 items without a questionnaire: each item gets its own scale.
    The image index, recomputed by hand from the reported index weights and the item means
    on 1-5 -> 0-100, is 75.75 (the 1-10 original gives 73.53; halving the scale rounds answers
    up); stretched to 1-10 as joint inference did, it was 33.67."""
    results = fit(ecsi_mobi_model, mixed_mobi)
    assert {results.scales[i] for i in IMAGE} == {(1.0, 5.0)}
    assert {results.scales[i] for i in ecsi_mobi_model.items if i not in IMAGE} == {(1.0, 10.0)}
    assert any("1-5 for IMAG1, IMAG2, IMAG3, IMAG4, IMAG5" in note for note in results.notes)
    w = results.index_weights.set_index("item")["weight"]
    by_hand = float((w[IMAGE] * (mixed_mobi[IMAGE].mean() - 1) / 4 * 100).sum())
    assert results.index["Image"] == pytest.approx(by_hand, abs=1e-9)
    assert results.index["Image"] == pytest.approx(75.751, abs=1e-3)
    declared = fit(ecsi_mobi_model, mixed_mobi, scales={**{i: (1, 5) for i in IMAGE}})
    pd.testing.assert_series_equal(results.index, declared.index, atol=1e-12)
    stretched = fit(ecsi_mobi_model, mixed_mobi, scales={i: (1, 10) for i in ecsi_mobi_model.items})
    assert stretched.index["Image"] == pytest.approx(33.667, abs=1e-3)


@pytest.mark.parametrize("top, candidates", [(6, "1-7 or 1-10"), (4, "1-5 or 1-7 or 1-10")])
def test_an_item_whose_range_fits_several_scales_is_refused(ecsi_mobi_model, mobi, top, candidates):
    data = mobi.copy()
    data["CUSCO"] = data["CUSCO"].clip(upper=top)
    with pytest.raises(DataError, match=rf"item 'CUSCO': answers 1..{top} fit the {candidates} scale.*"
                                        r"--scales CUSCO=1-10"):
        fit(ecsi_mobi_model, data)
    # Declared, it is fine; an item reaching a scale's top (or fitting one scale) needs nothing.
    assert fit(ecsi_mobi_model, data, scales={"CUSCO": (1, 10)}).scales["CUSCO"] == (1.0, 10.0)
    data["CUSCO"] = data["CUSCO"].clip(lower=2) + 2  # 3..top+2, fits only 1-10 when top+2 > 7
    if top + 2 > 7:
        assert fit(ecsi_mobi_model, data).scales["CUSCO"] == (1.0, 10.0)


def test_undeclared_99_never_becomes_an_answer_on_a_0_100_scale(ecsi_mobi_model, mobi):
    data = mobi.copy()
    data.loc[[3, 17, 40], "CUSA2"] = 99
    with pytest.raises(DataError, match=r"item 'CUSA2' has answers 1..10 besides 99.*--dont-know 99"):
        fit(ecsi_mobi_model, data)
    coded = fit(ecsi_mobi_model, data, dont_know=(99,))
    assert coded.n_used == 247 and coded.scales["CUSA2"] == (1.0, 10.0)
    assert any("3 don't-know" in note for note in coded.notes)
    dropped = fit(ecsi_mobi_model, data.drop(index=[3, 17, 40]))
    pd.testing.assert_series_equal(coded.index, dropped.index, atol=1e-12)
    # A real 0-100 item that happens to hold a 99 must be declared.
    data["CUSA2"] = np.where(data.index % 2, 55, mobi["CUSA2"] * 10)
    data.loc[5, "CUSA2"] = 99
    with pytest.raises(DataError, match="item 'CUSA2' has answers 10..100 besides 99"):
        fit(ecsi_mobi_model, data)
    assert fit(ecsi_mobi_model, data, scales={"CUSA2": (0, 100)}).scales["CUSA2"] == (0.0, 100.0)


def test_answers_that_fit_no_standard_scale_are_refused(ecsi_mobi_model, mobi):
    data = mobi.copy()
    data.loc[0, "PERV1"] = 999
    with pytest.raises(DataError, match=r"item 'PERV1' has answers 1..999, which fit no standard rating scale"):
        fit(ecsi_mobi_model, data)


@pytest.mark.parametrize("spec, expected", [
    ("IMAG1-IMAG3=1-5,CUSCO=1-10", {"IMAG1": (1, 5), "IMAG2": (1, 5), "IMAG3": (1, 5), "CUSCO": (1, 10)}),
    ("IMAG1-IMAG2: 1-5\nCUSCO: [0, 10]\nCUSA1: {min: 1, max: 7}\n",
     {"IMAG1": (1, 5), "IMAG2": (1, 5), "CUSCO": (0, 10), "CUSA1": (1, 7)}),
    ("IMAG4=1-5\nIMAG5=1-5\n", {"IMAG4": (1, 5), "IMAG5": (1, 5)}),
])
def test_scales_spec_and_yaml(ecsi_mobi_model, spec, expected):
    from analysis.data import parse_scales
    assert parse_scales(spec, ecsi_mobi_model.items) == expected


@pytest.mark.parametrize("spec, message", [
    ("IMAG9=1-5", "--scales names item 'IMAG9', which the model does not have; did you mean 'IMAG5'?"),
    ("IMAG1=5-1", "scale of 'IMAG1' runs from 5 to 1; the minimum must be below the maximum"),
    ("IMAG1=one-ten", "scale of 'IMAG1' is 'one-ten'; write MIN-MAX, e.g. 1-10"),
    ("IMAG1", "scales must map items to MIN-MAX (IMAG1-IMAG5=1-10,CUSCO=1-5, or YAML lines"),
    ("IMAG1=1-5,CUSCO", "--scales entry 'CUSCO' is not ITEM=MIN-MAX (e.g. CUSCO=1-5)"),
    ("- a\n- b", "scales must map items to MIN-MAX"),
    ("a: [1, 2", "scales file is not valid YAML (line 1)"),
])
def test_bad_scales_spec_is_named(ecsi_mobi_model, spec, message):
    from analysis.data import parse_scales
    with pytest.raises(DataError) as info:
        parse_scales(spec, ecsi_mobi_model.items)
    assert message in str(info.value)


@pytest.mark.parametrize("spec, expected", [("99,98", (99.0, 98.0)), ("-1", (-1.0,)), ("nan", "finite numbers"),
                                            ("", "is empty"), ("99;98", "give numbers separated by commas")])
def test_dont_know_codes(spec, expected):
    from analysis.data import parse_codes
    if isinstance(expected, tuple):
        assert parse_codes(spec) == expected
    else:
        with pytest.raises(DataError, match=expected):
            parse_codes(spec)


def test_continuous_scores_get_paths_but_no_index(ecsi_mobi_model, mobi):
    data = mobi.copy()
    for item in IMAGE:
        data[item] = (mobi[item] - mobi[item].mean()) / mobi[item].std()  # standardized: no rating scale
    results = PLSPM(ecsi_mobi_model, n_boot=30, seed=1, workers=1).fit(data)
    reference = fit(ecsi_mobi_model, mobi)
    # Standardizing items does not change a standardized PLS fit; only the Image index is withheld.
    pd.testing.assert_frame_equal(results.path_coefficients[["from", "to", "estimate"]],
                                  reference.path_coefficients, atol=1e-10)
    assert "Image" not in results.index and results.index["Loyalty"] == pytest.approx(reference.index["Loyalty"], abs=1e-9)
    assert any("IMAG1, IMAG2, IMAG3, IMAG4, IMAG5 hold continuous scores" in note for note in results.notes)
    assert results.respondent_index["Image"].isna().all()
    assert results.summary() and json.dumps(results.to_dict(), allow_nan=False)
