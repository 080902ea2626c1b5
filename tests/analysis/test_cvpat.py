"""CVPAT against an independent fold-by-fold re-implementation on mobi (PLSpredict's
reference, which refits PLSPM per training DataFrame, and scipy's one-sample t test), and
against known truth in simulated data.

No seminr or cSEM CVPAT fixture on mobi could be found (seminr's repository snapshot has no
CVPAT code; cSEM's testCVPAT examples print no numbers on mobi), hence the re-implementation.
"""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.cvpat import cvpat, loss_test
from analysis.simulate import population, simulate
from models import parse_model
from models.errors import CSIError
from tests.analysis.test_plsc import frame_on_scale, model_text
from tests.analysis.test_predict import MOBI_MODEL, reference_predictions

NO_QUALITY = MOBI_MODEL.replace("Satisfaction ~ Image + Expectation + Quality", "Satisfaction ~ Image + Expectation")


@pytest.fixture(scope="module")
def models():
    return parse_model(MOBI_MODEL, name="full"), parse_model(NO_QUALITY, name="no_quality")


def construct_loss(model, actual, predicted):
    """seminrExtras' overall loss: squared errors averaged over each endogenous construct's
    items, then over the constructs (one value per respondent); and the per-construct losses."""
    endo = [c for c in model.constructs if model.predecessors(c.name)]
    per = pd.DataFrame({c.name: ((actual[list(c.items)] - predicted[list(c.items)]) ** 2).mean(axis=1) for c in endo})
    return per.mean(axis=1).to_numpy(), per


def test_losses_and_tests_match_reference_implementation(models, mobi):
    """Two repeats of 5 folds: predictions averaged over repeats, per-respondent losses
    (constructs' mean squared errors, averaged over the 4 endogenous constructs), D and the
    t tests, all by hand."""
    full, reduced = models
    results = cvpat(full, reduced, mobi, folds=5, repeats=2, seed=3)
    rng = np.random.default_rng(3)
    runs = []
    for _ in range(2):
        order = rng.permutation(len(mobi))
        folds = [np.sort(m) for m in np.array_split(order, 5)]
        runs.append(reference_predictions(full, mobi, folds, "earliest")
                    + reference_predictions(reduced, mobi, folds, "earliest")[:2])
    pls_a, lm_a, base, pls_b, lm_b = [(first + second) / 2 for first, second in zip(*runs)]
    items = list(pls_a.columns)
    actual = mobi[items]
    loss = {"full": construct_loss(full, actual, pls_a)[0], "reduced": construct_loss(full, actual, pls_b[items])[0],
            "ia": construct_loss(full, actual, base)[0], "lm_full": construct_loss(full, actual, lm_a)[0],
            "lm_reduced": construct_loss(full, actual, lm_b[items])[0]}
    assert len(results.items) == 16
    np.testing.assert_allclose(results.losses["full"], loss["full"], atol=1e-9)
    np.testing.assert_allclose(results.losses["no_quality"], loss["reduced"], atol=1e-9)
    np.testing.assert_allclose(results.losses["indicator average"], loss["ia"], atol=1e-9)
    np.testing.assert_allclose(results.losses["linear model (no_quality)"], loss["lm_reduced"], atol=1e-9)
    tests = results.tests.set_index(["model", "against"])
    expected = [(("full", "no_quality"), loss["reduced"] - loss["full"], "two-sided"),
                (("full", "indicator average"), loss["ia"] - loss["full"], "greater"),
                (("full", "linear model"), loss["lm_full"] - loss["full"], "greater"),
                (("no_quality", "linear model"), loss["lm_reduced"] - loss["reduced"], "greater")]
    for key, d, alternative in expected:
        reference = stats.ttest_1samp(d, 0.0, alternative=alternative)
        row = tests.loc[key]
        assert row["mean_d"] == pytest.approx(d.mean(), abs=1e-10), key
        assert row["t"] == pytest.approx(reference.statistic, rel=1e-8), key
        assert row["p"] == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12), key
        assert row["df"] == len(mobi) - 1
    # Per construct: the paired t test of R's t.test(loss_b, loss_a, paired = TRUE).
    per_a, per_b = construct_loss(full, actual, pls_a)[1], construct_loss(full, actual, pls_b[items])[1]
    by = results.by_construct.set_index("construct")
    assert list(by.index) == ["Expectation", "Quality", "Satisfaction", "Loyalty"]
    for construct in by.index:
        reference = stats.ttest_rel(per_b[construct], per_a[construct])
        assert by.loc[construct, "t"] == pytest.approx(reference.statistic, rel=1e-8)
        assert by.loc[construct, "p"] == pytest.approx(reference.pvalue, rel=1e-6)
        assert by.loc[construct, "loss_model"] == pytest.approx(per_a[construct].mean(), abs=1e-10)


def test_identical_models_have_zero_difference(models, mobi):
    full, _ = models
    results = cvpat(full, parse_model(MOBI_MODEL, name="again"), mobi, folds=5, repeats=2, seed=1)
    row = results.tests.iloc[0]
    assert (row["model"], row["against"]) == ("full", "again")
    assert row["mean_d"] == 0 and row["t"] == 0 and row["p"] == 1
    np.testing.assert_array_equal(results.losses["full"], results.losses["again"])
    assert (results.by_construct["mean_d"] == 0).all()


BLOCKS = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"], "Y": ["y1", "y2", "y3"]}


def simulated(n, seed):
    true_model = parse_model(model_text(BLOCKS, [("A", "Y"), ("B", "Y")]), name="true")
    pop = population(true_model, {("A", "Y"): 0.5, ("B", "Y"): 0.5}, 0.8)
    data, scales = frame_on_scale(simulate(pop, n, seed=seed, scale=None).to_numpy(), true_model.items)
    return true_model, data, scales


def test_correct_model_beats_model_missing_a_true_path():
    """Y = 0.5 A + 0.5 B (loadings 0.8): the model without B predicts Y's items worse,
    significantly; each model's loss is near its population value, the residual variance
    of y_i given the items it uses, 1 - s' S^-1 s (the best linear predictor's)."""
    true_model, data, scales = simulated(400, seed=5)
    missing_b = parse_model(model_text({"A": BLOCKS["A"], "Y": BLOCKS["Y"]}, [("A", "Y")]), name="without_B")
    results = cvpat(true_model, missing_b, data, folds=10, repeats=5, seed=2, scales=scales)
    tests = results.tests.set_index(["model", "against"])
    versus = tests.loc[("true", "without_B")]
    assert versus["mean_d"] > 0 and versus["p"] < 1e-4
    assert tests.loc[("true", "indicator average"), "p"] < 1e-6
    sigma = population(true_model, {("A", "Y"): 0.5, ("B", "Y"): 0.5}, 0.8).item_cov

    def residual(sources):
        return np.mean([sigma[i, i] - sigma[sources, i] @ np.linalg.solve(sigma[np.ix_(sources, sources)],
                                                                            sigma[sources, i]) for i in (6, 7, 8)])
    truth_true, truth_without = residual([0, 1, 2, 3, 4, 5]), residual([0, 1, 2])
    assert versus["loss_model"] == pytest.approx(truth_true, abs=0.06)
    assert versus["loss_against"] == pytest.approx(truth_without, abs=0.06)
    assert versus["mean_d"] == pytest.approx(truth_without - truth_true, abs=0.03)


def test_summary_and_dict(models, mobi):
    full, reduced = models
    results = cvpat(full, reduced, mobi, folds=5, repeats=1, seed=1)
    text = results.summary()
    assert "CVPAT (5-fold, 1 repeat, earliest antecedents, seed 1, n = 250)" in text
    assert "no_quality" in text and "indicator average" in text
    assert "Per endogenous construct (full against no_quality, two-sided)" in text
    out = results.as_dict()
    assert out["method"] == "cvpat" and len(out["tests"]) == 5 and len(out["by_construct"]) == 4
    assert out["tests"][0]["alternative"] == "two-sided" and isinstance(out["tests"][0]["df"], int)


def test_loss_test_signs():
    worse = np.array([2.0, 3.0, 2.5, 3.5])
    better = np.array([1.0, 1.0, 1.5, 1.0])
    assert loss_test(better, worse, "greater")["p"] < 0.05
    assert loss_test(worse, better, "greater")["p"] > 0.95


def test_different_endogenous_indicators_are_refused(models, mobi):
    full, _ = models
    shorter = parse_model(MOBI_MODEL.replace("CUSL1 + CUSL2 + CUSL3", "CUSL1 + CUSL2"), name="short")
    with pytest.raises(CSIError, match="same endogenous indicators; only full has CUSL3"):
        cvpat(full, shorter, mobi, folds=5, repeats=1)


def test_items_of_other_constructs_are_refused(mobi):
    two = parse_model("Image =~ IMAG1 + IMAG2 + IMAG3\nA =~ CUSA1 + CUSA2\nB =~ CUSA3\nA ~ Image\nB ~ Image", name="two")
    one = parse_model("Image =~ IMAG1 + IMAG2 + IMAG3\nA =~ CUSA1\nB =~ CUSA2 + CUSA3\nA ~ Image\nB ~ Image", name="one")
    with pytest.raises(CSIError, match="CUSA2 measures A in two but B in one"):
        cvpat(two, one, mobi, folds=5, repeats=1)


def test_too_few_rows_for_the_folds_are_refused(models, mobi):
    full, reduced = models
    with pytest.raises(CSIError, match="300 folds need at least 300 respondents; there are 250"):
        cvpat(full, reduced, mobi, folds=300, repeats=1)
    with pytest.raises(CSIError, match="8 usable respondents for 21 items; need at least 22"):
        cvpat(full, reduced, mobi.iloc[:8], folds=4, repeats=1)


def test_rows_are_those_both_models_can_use(models, mobi):
    """A missing answer in an item only one model uses drops the row for both."""
    full, _ = models
    image_only = parse_model("Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5\n"
                             "Expectation =~ CUEX1 + CUEX2 + CUEX3\nExpectation ~ Image", name="small")
    full_sub = parse_model("Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5\n"
                           "Expectation =~ CUEX1 + CUEX2 + CUEX3\nQuality =~ PERQ1 + PERQ2\n"
                           "Expectation ~ Image + Quality", name="with_quality")
    data = mobi.copy()
    data.loc[[3, 7], "PERQ1"] = np.nan
    results = cvpat(full_sub, image_only, data, folds=5, repeats=1)
    assert results.n_used == 248 and 3 not in results.losses.index
