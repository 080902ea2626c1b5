"""CB-SEM through semopy against lavaan (political_democracy_reference.json: lavaan 0.5-23
for the canonical model; lavaan 0.6 output in jeromyanglim/lavaan-examples for variants)."""
import json

import numpy as np
import pandas as pd
import pytest

from analysis import fit
from analysis.cbsem import CBSEMError, rmsea_interval
from models import parse_model
from tests.conftest import shared_file

# The jeromyanglim/lavaan-examples variants: three factors, two regressions, no residual covariances.
VARIANT_BASE = ("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; dem65 =~ y5 + y6 + y7 + y8; "
                "dem60 ~ ind60; dem65 ~ ind60 + dem60")


@pytest.fixture(scope="module")
def democracy():
    ref = json.loads(shared_file("political_democracy_reference.json").read_text())
    return pd.read_csv(shared_file("political_democracy.csv")), ref


@pytest.fixture(scope="module")
def canonical(democracy):
    data, ref = democracy
    return fit(parse_model(ref["model"]), data, method="cbsem"), ref["canonical_fit"]


def test_chi_square_matches_lavaan(canonical):
    results, ref = canonical
    assert results.fit["chi2"] == pytest.approx(ref["chisq"], abs=1e-3)
    assert results.fit["df"] == ref["df"]
    assert results.fit["p_value"] == pytest.approx(ref["pvalue"], abs=1e-3)


@pytest.mark.parametrize("group", ["loadings", "regressions", "residual_covariances", "variances"])
def test_estimates_and_standard_errors_match_lavaan(canonical, group):
    results, ref = canonical
    frame = results.to_frame()
    for key, (estimate, se) in ref[group].items():
        if group == "variances":
            a = b = key
            rows = frame[(frame.op == "~~") & (frame.lval == a) & (frame.rval == b)]
        elif "=~" in key:
            a, b = key.split("=~")
            rows = frame[(frame.op == "~") & (frame.lval == b) & (frame.rval == a)]
        elif "~~" in key:
            a, b = key.split("~~")
            rows = frame[(frame.op == "~~") & (((frame.lval == a) & (frame.rval == b)) | ((frame.lval == b) & (frame.rval == a)))]
        else:
            a, b = key.split("~")
            rows = frame[(frame.op == "~") & (frame.lval == a) & (frame.rval == b)]
        assert len(rows) == 1, key
        # lavaan prints three decimals.
        assert rows["estimate"].iloc[0] == pytest.approx(estimate, abs=1.5e-3), key
        assert rows["se"].iloc[0] == pytest.approx(se, abs=1.5e-3), key


def test_fit_indices_match_lavaan_variant(democracy):
    data, ref = democracy
    expected = ref["variants"]["m0_cfa_no_residual_covs"]
    model = parse_model(VARIANT_BASE)
    results = fit(model, data, method="cbsem")
    for key in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        ours = results.fit["chi2" if key == "chisq" else key]
        assert ours == pytest.approx(expected[key], abs=1.5e-3 if key not in ("aic", "bic") else 1e-2), key
    assert results.fit["loglik"] == pytest.approx(expected["logl"], abs=1e-2)
    low, high = results.fit["rmsea_ci_low"], results.fit["rmsea_ci_high"]
    assert low < results.fit["rmsea"] < high


def test_variant_with_four_residual_covariances(democracy):
    data, ref = democracy
    expected = ref["variants"]["m1_cfa_4_residual_covs(y1~~y5,y2~~y6,y3~~y7,y4~~y8)"]
    model = parse_model(VARIANT_BASE + "; y1 ~~ y5; y2 ~~ y6; y3 ~~ y7; y4 ~~ y8")
    results = fit(model, data, method="cbsem")
    for key in ("cfi", "tli", "rmsea", "srmr"):
        assert results.fit[key] == pytest.approx(expected[key], abs=1.5e-3), key
    assert results.fit["chi2"] == pytest.approx(expected["chisq"], abs=1.5e-3)
    r2 = ref["variants"]["m2_sem_same_4_residual_covs"]
    assert results.r_squared["dem65"] == pytest.approx(r2["r2_dem65"], abs=1.5e-3)


def test_rmsea_interval_brackets_and_handles_perfect_fit():
    low, high = rmsea_interval(72.462, 41, 75)
    assert 0 < low < 0.1012 < high < 0.2
    assert rmsea_interval(10.0, 41, 75)[0] == 0.0


def test_formative_blocks_are_refused_with_a_reason(democracy):
    data, _ = democracy
    model = parse_model("ind60 <~ x1 + x2 + x3; dem60 =~ y1 + y2 + y3 + y4; dem60 ~ ind60")
    with pytest.raises(CBSEMError, match="'ind60' is formative"):
        fit(model, data, method="cbsem")


def test_heywood_case_is_named(democracy):
    data, _ = democracy
    data = data.copy()
    data["y9"] = data["y1"] * 2 + np.random.default_rng(0).normal(0, 0.3, len(data))
    model = parse_model("ind60 =~ x1 + x2 + x3; dem60 =~ y1 + y9; dem60 ~ ind60")
    with pytest.raises(CBSEMError, match=r"improper solution \(Heywood case\): the variance of y1 \(0\) is at or below zero"):
        fit(model, data, method="cbsem")
    results = fit(model, data, method="cbsem", allow_negative_variance=True)
    assert any("Heywood" in note for note in results.notes)


def test_fiml_uses_incomplete_rows(democracy, canonical):
    data, ref = democracy
    complete, _ = canonical
    full = complete.path_coefficients.set_index(["from", "to"])["estimate"]
    # On complete data FIML is ML.
    same = fit(parse_model(ref["model"]), data, method="cbsem", missing="fiml")
    assert np.allclose(same.path_coefficients.set_index(["from", "to"])["estimate"], full, atol=1e-4)
    holes = data.copy()
    holes.loc[[3, 10, 20], "y2"] = np.nan
    listwise = fit(parse_model(ref["model"]), holes, method="cbsem")
    fiml = fit(parse_model(ref["model"]), holes, method="cbsem", missing="fiml")
    assert listwise.n_used == 72 and fiml.n_used == 75
    b = fiml.path_coefficients.set_index(["from", "to"])["estimate"]
    # FIML keeps the three rows' other answers and stays closer to the complete-data fit than listwise does.
    a = listwise.path_coefficients.set_index(["from", "to"])["estimate"]
    assert np.abs(b - full).max() < 0.02 < np.abs(a - full).max()
