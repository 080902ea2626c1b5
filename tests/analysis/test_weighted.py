"""Weighted PLS (Becker & Ismail 2016): the exact oracle (integer weights = repeated
rows), the bootstrap carrying weights, and every bad-weight message."""
import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM
from analysis.data import DataError

COMPARED = ("path", "total", "weight", "loading", "r_squared", "index", "htmt", "importance")


def integer_weights(n: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 5, size=n).astype(float)


def repeated(data: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    return data.loc[data.index.repeat(weights.astype(int))].reset_index(drop=True)


@pytest.mark.parametrize("scaled", [True, False])
def test_integer_weights_equal_repeated_rows(mobi, ecsi_mobi_model, scaled):
    w = integer_weights(len(mobi))
    assert (w == 0).any() and (w > 1).any()  # zero weights drop a row, larger ones repeat it
    weighted = PLSPM(ecsi_mobi_model, scaled=scaled, weights="w").fit(mobi.assign(w=w))
    plain = PLSPM(ecsi_mobi_model, scaled=scaled).fit(repeated(mobi, w))
    labels = weighted.layout.labels
    assert labels == plain.layout.labels
    keep = [n for n, label in enumerate(labels) if label[0] in COMPARED]
    np.testing.assert_allclose(weighted.estimates[keep], plain.estimates[keep], rtol=0, atol=1e-10)
    pd.testing.assert_frame_equal(weighted.quality, plain.quality, rtol=0, atol=1e-10)
    assert weighted.index.notna().all() and len(weighted.index) == 7
    assert weighted.to_dict()["respondent_weights"] == "w"
    assert any("Kish effective sample size" in note for note in weighted.notes)


def test_weights_change_the_estimates_and_scale_does_not_matter(mobi, ecsi_mobi_model):
    w = np.linspace(0.2, 3.0, len(mobi))
    a = PLSPM(ecsi_mobi_model, weights="w").fit(mobi.assign(w=w))
    b = PLSPM(ecsi_mobi_model, weights="w").fit(mobi.assign(w=7.5 * w))
    plain = PLSPM(ecsi_mobi_model).fit(mobi)
    np.testing.assert_allclose(a.estimates, b.estimates, rtol=0, atol=1e-10)
    assert np.abs(a.estimates - plain.estimates).max() > 1e-3


def test_bootstrap_carries_weights(mobi, ecsi_mobi_model):
    """The bootstrap resamples weighted rows: each resample's statistics are weighted, so
    the bootstrap distribution centres on the weighted estimate, not the unweighted one,
    wherever the two differ clearly."""
    w = np.where(np.arange(len(mobi)) % 2 == 0, 3.0, 0.5)
    res = PLSPM(ecsi_mobi_model, weights="w", n_boot=300, seed=5, workers=1).fit(mobi.assign(w=w))
    plain = PLSPM(ecsi_mobi_model).fit(mobi)
    frame = res.bootstrap.to_frame()
    index = frame.xs("index", level="kind")
    gap = (res.estimates - plain.estimates)[res.layout.positions("index")]
    boot_mean = index["boot_mean"].to_numpy()
    assert res.bootstrap.n_ok == 300
    # Each index's bootstrap mean is closer to the weighted estimate than to the unweighted one.
    clear = np.abs(gap) > 0.3
    assert clear.any()
    weighted_est = res.estimates[res.layout.positions("index")]
    plain_est = plain.estimates[res.layout.positions("index")]
    assert (np.abs(boot_mean - weighted_est)[clear] < np.abs(boot_mean - plain_est)[clear]).all()


def test_bootstrap_with_equal_weights_is_the_unweighted_bootstrap(mobi, ecsi_mobi_model):
    """Rows are resampled with equal probability and keep their weight (Becker & Ismail 2016):
    a respondent of weight 4 is one respondent drawn, not four, so equal weights give the
    unweighted bootstrap resample for resample (and the same jackknife for BCa)."""
    w = np.full(len(mobi), 4.0)
    weighted = PLSPM(ecsi_mobi_model, weights="w", n_boot=200, seed=2, workers=1).fit(mobi.assign(w=w))
    plain = PLSPM(ecsi_mobi_model, n_boot=200, seed=2, workers=1).fit(mobi)
    np.testing.assert_allclose(weighted.bootstrap.samples, plain.bootstrap.samples, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.bootstrap.se, plain.bootstrap.se, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.bootstrap.percentile, plain.bootstrap.percentile, rtol=0, atol=1e-10)
    # BCa counts resamples below the estimate: a 1e-14 difference can move one across a tie.
    np.testing.assert_allclose(weighted.bootstrap.bca, plain.bootstrap.bca, rtol=0, atol=0.05)


def test_listwise_deletion_keeps_weights_aligned(mobi, ecsi_mobi_model):
    w = integer_weights(len(mobi), seed=9)
    holed = mobi.assign(w=w).astype(float)
    holed.loc[[3, 10, 77], "CUEX1"] = np.nan
    weighted = PLSPM(ecsi_mobi_model, weights="w").fit(holed)
    plain = PLSPM(ecsi_mobi_model).fit(repeated(mobi.drop(index=[3, 10, 77]), np.delete(w, [3, 10, 77])))
    keep = weighted.layout.positions("path") + weighted.layout.positions("index")
    np.testing.assert_allclose(weighted.estimates[keep], plain.estimates[keep], rtol=0, atol=1e-10)


@pytest.mark.parametrize("value, row, why", [
    (-1.0, 7, "is negative"), (np.nan, 12, "is not a finite number"), (np.inf, 0, "is not a finite number"),
])
def test_bad_weight_names_column_and_first_row(mobi, ecsi_mobi_model, value, row, why):
    w = np.ones(len(mobi))
    w[row] = value
    w[row + 20] = value
    with pytest.raises(DataError) as info:
        PLSPM(ecsi_mobi_model, weights="wt").fit(mobi.assign(wt=w))
    message = str(info.value)
    assert f"weight column 'wt', row {row} (data row {row + 1})" in message
    assert why in message and "(2 such rows)" in message


def test_text_weight_and_all_zero_and_missing_column(mobi, ecsi_mobi_model):
    w = pd.Series(["1"] * len(mobi), dtype=object)
    w[4] = "heavy"
    with pytest.raises(DataError, match=r"weight column 'wt', row 4 \(data row 5\): 'heavy' is not a finite number"):
        PLSPM(ecsi_mobi_model, weights="wt").fit(mobi.assign(wt=w))
    with pytest.raises(DataError, match=r"weight column 'wt' is zero in every row \(first row 0"):
        PLSPM(ecsi_mobi_model, weights="wt").fit(mobi.assign(wt=0.0))
    with pytest.raises(DataError, match=r"weight column 'weigth' is not in the data; did you mean 'weight'\?"):
        PLSPM(ecsi_mobi_model, weights="weigth").fit(mobi.assign(weight=1.0))


def test_group_comparison_honours_weights(mobi, ecsi_mobi_model):
    from analysis.groups import compare_groups

    a, b = mobi.iloc[:120].reset_index(drop=True), mobi.iloc[120:].reset_index(drop=True)
    options = dict(n_perm=49, n_boot=0, seed=3)
    plain = compare_groups(ecsi_mobi_model, a, b, **options)
    # Equal weights are no weights: every estimate, p-value and MICOM figure is the same.
    doubled = compare_groups(ecsi_mobi_model, a.assign(w=2.0), b.assign(w=2.0), weights="w", **options)
    pd.testing.assert_frame_equal(plain.differences, doubled.differences, rtol=0, atol=1e-10)
    pd.testing.assert_frame_equal(plain.micom.table, doubled.micom.table, rtol=0, atol=1e-10)
    # Integer weights: each group's estimates are those of its repeated rows.
    wa, wb = integer_weights(len(a), seed=1) + 1, integer_weights(len(b), seed=2) + 1
    weighted = compare_groups(ecsi_mobi_model, a.assign(w=wa), b.assign(w=wb), weights="w", **options)
    repeated_fit = compare_groups(ecsi_mobi_model, repeated(a, wa), repeated(b, wb), **options)
    for column in ("estimate_a", "estimate_b", "difference"):
        np.testing.assert_allclose(weighted.differences[column], repeated_fit.differences[column], rtol=0, atol=1e-10)
    assert weighted.differences["p_value"].between(0, 1).all()


def test_plsc_integer_weights_equal_repeated_rows(mobi):
    from models import parse_model

    model = parse_model("Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5\nExpectation =~ CUEX1 + CUEX2 + CUEX3\n"
                        "Value =~ PERV1 + PERV2\nSatisfaction =~ CUSA1 + CUSA2 + CUSA3\n"
                        "Satisfaction ~ Image + Expectation + Value\n")
    w = integer_weights(len(mobi), seed=4)
    weighted = PLSPM(model, consistent=True, weights="w").fit(mobi.assign(w=w))
    plain = PLSPM(model, consistent=True).fit(repeated(mobi, w))
    keep = [n for n, label in enumerate(weighted.layout.labels) if label[0] in COMPARED]
    np.testing.assert_allclose(weighted.estimates[keep], plain.estimates[keep], rtol=0, atol=1e-10)
