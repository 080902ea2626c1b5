"""Degenerate and bad input: a clear error naming the culprit, never a NaN table."""
import numpy as np
import pytest

from analysis import PLSPM, fit
from analysis.data import DataError, ItemInfo
from models import parse_model
from models.errors import CSIError

SMALL = "Sat =~ CUSA1 + CUSA2 + CUSA3\nLoy =~ CUSL1 + CUSL3\nLoy ~ Sat"


@pytest.fixture
def small():
    return parse_model(SMALL)


def test_constant_item(small, mobi):
    data = mobi.assign(CUSA2=7)
    with pytest.raises(DataError, match=r"item 'CUSA2' of construct 'Sat' has the same value \(7\) for every respondent"):
        fit(small, data)


def test_one_item_construct_is_fine(mobi):
    results = fit(parse_model("Sat =~ CUSA1 + CUSA2 + CUSA3\nCom =~ CUSCO\nCom ~ Sat"), mobi)
    assert results.loadings.set_index("item").loc["CUSCO", "estimate"] == pytest.approx(1.0)
    assert results.quality.loc["Com", ["alpha", "rho_c", "rho_a", "ave"]].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert results.quality.loc["Com", "flags"] == ""
    assert not results.to_frame().isna().any().any()


def test_perfectly_collinear_items(small, mobi):
    data = mobi.assign(CUSA3=mobi["CUSA1"] * 2 + 1)
    with pytest.raises(DataError, match=r"items 'CUSA1' and 'CUSA3' are perfectly collinear \(r = \+1.000000\)"):
        fit(small, data)


def test_formative_block_with_dependent_items(mobi):
    data = mobi.assign(PERV3=mobi["PERV1"] + mobi["PERV2"])
    model = parse_model("Val <~ PERV1 + PERV2 + PERV3\nSat =~ CUSA1 + CUSA2\nSat ~ Val")
    with pytest.raises(DataError, match="items of formative construct 'Val' are linearly dependent"):
        fit(model, data)


def test_fewer_respondents_than_items(small, mobi):
    with pytest.raises(DataError, match="4 usable respondents for 5 items; need at least 10"):
        fit(small, mobi.head(4))


def test_non_numeric_cells(small, mobi):
    data = mobi.astype({"CUSA2": object})
    data.loc[17, "CUSA2"] = "seven"
    with pytest.raises(DataError, match=r"column 'CUSA2', row 17 \(data row 18\): 'seven' is not a number"):
        fit(small, data)


def test_unknown_column(small, mobi):
    with pytest.raises(DataError, match=r"item column not in the data: 'CUSA3' \(construct 'Sat'; did you mean"):
        fit(small, mobi.drop(columns=["CUSA3"]))


def test_construct_without_path_is_refused_by_pls_only(mobi):
    model = parse_model(SMALL + "\nCom =~ CUSCO")
    with pytest.raises(CSIError, match="construct 'Com' has no structural path .* PLS path modeling needs every "
                                       "construct in the structural model; fit this model with method='cbsem'"):
        fit(model, mobi)
    assert fit(model, mobi, method="cbsem").fit["df"] > 0


@pytest.mark.parametrize("extra, message", [
    ("CUSA1 ~~ CUSL1", "the covariance CUSA1 ~~ CUSL1 cannot be estimated by PLS path modeling"),
    ("Sat =~ 1*CUSA1", "the modifier in Sat =~ 1.0*CUSA1 cannot be used by PLS path modeling"),
])
def test_pls_refuses_cbsem_only_statements(mobi, extra, message):
    with pytest.raises(CSIError, match=message.replace("*", r"\*")):
        fit(parse_model(SMALL + "\n" + extra), mobi)


def test_item_with_no_answers(small, mobi):
    with pytest.raises(DataError, match="item 'CUSL3' has no valid answers"):
        fit(small, mobi.assign(CUSL3=np.nan))


def test_bad_options_are_named(small, mobi):
    with pytest.raises(CSIError, match="unknown scheme 'pathway'"):
        PLSPM(small, scheme="pathway")
    with pytest.raises(DataError, match="unknown missing-data method 'pairwise'"):
        fit(small, mobi, missing="pairwise")
    with pytest.raises(DataError, match="unknown method 'gsca'"):
        fit(small, mobi, method="gsca")


def test_non_convergence_is_a_clear_error(small, mobi):
    from analysis import ConvergenceError
    with pytest.raises(ConvergenceError, match=r"PLS did not converge in 1 iterations"):
        PLSPM(small, max_iter=1).fit(mobi)


def test_missing_values_listwise_and_mean(small, mobi):
    data = mobi.copy()
    data.loc[[1, 2, 3], "CUSA1"] = np.nan
    data.loc[[3, 4], "CUSL1"] = np.nan
    listwise = fit(small, data)
    assert listwise.n_used == 246 and listwise.n_total == 250  # rows 1, 2, 3, 4
    assert listwise.dropped == {"missing values (listwise deletion)": 4}
    assert "4 dropped: missing values (listwise deletion)" in listwise.summary()
    mean = fit(small, data, missing="mean")
    assert mean.n_used == 250 and any("5 missing values in 4 rows replaced by item means" in n for n in mean.notes)


def test_dont_know_codes_become_missing_and_reverse_items_flip(small, mobi):
    data = mobi.copy()
    data.loc[[5, 6], "CUSA2"] = 99
    data["CUSL3"] = 11 - data["CUSL3"]
    info = {i: ItemInfo(1, 10, 99, reverse=(i == "CUSL3")) for i in small.items}
    results = PLSPM(small).fit(data, item_info=info)
    reference = PLSPM(small).fit(mobi.drop(index=[5, 6]))
    assert results.n_used == 248
    assert np.allclose(results.path_coefficients["estimate"], reference.path_coefficients["estimate"])
    assert any("2 don't-know" in n for n in results.notes) and any("CUSL3" in n for n in results.notes)


def test_results_are_immutable(small, mobi):
    results = fit(small, mobi)
    with pytest.raises(AttributeError):
        results.scheme = "centroid"
    frame = results.path_coefficients
    frame.loc[0, "estimate"] = 99.0
    assert results.path_coefficients.loc[0, "estimate"] != 99.0
    with pytest.raises(ValueError):
        results.estimates[0] = 1.0


def test_summary_and_json_have_no_nan(ecsi_mobi_model, mobi):
    import json
    results = fit(ecsi_mobi_model, mobi, n_boot=100, workers=1, progress=False)
    text = results.summary()
    assert "nan" not in text.lower() and "Path coefficients" in text and "CSI index" in text
    json.dumps(results.to_dict(), allow_nan=False)


def test_keep_mode_leaves_holes_for_fiml_and_drops_only_empty_rows(small, mobi):
    from analysis.data import prepare
    data = mobi.copy()
    data.loc[[1, 2], "CUSA1"] = np.nan
    data.loc[3, list(small.items)] = np.nan
    kept = prepare(data, small, missing="keep")
    assert kept.n_used == 249 and kept.dropped == {"no answer to any model item": 1}
    assert int(np.isnan(kept.values).sum()) == 2
    assert any("2 missing values in 2 rows kept" in n for n in kept.notes)
    with pytest.raises(DataError, match="has the same value"):
        prepare(data.assign(CUSL1=4), small, missing="keep")


def test_infinite_cells_are_missing_and_the_callers_frame_is_untouched(small, mobi):
    from analysis.data import prepare
    data = mobi.astype(float)
    data.loc[[4, 9], "CUSA2"] = [np.inf, -np.inf]
    before = data.copy()
    prepared = prepare(data, small)
    assert prepared.n_used == 248 and prepared.dropped == {"missing values (listwise deletion)": 2}
    assert not np.shares_memory(prepared.values, data["CUSA1"].to_numpy())
    assert data.equals(before)
