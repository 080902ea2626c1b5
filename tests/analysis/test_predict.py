"""PLSpredict against an independent, fold-by-fold re-implementation on mobi (through the
public PLSPM API and numpy's lstsq), and against known truth in simulated data.

No seminr predict_pls fixture exists (its tests only check that it runs), hence the
re-implementation: it refits PLSPM on each training DataFrame, so it shares no code with
the batched engine but the PLS iteration itself.
"""
import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM
from analysis.predict import PLSPredict
from analysis.simulate import population, simulate
from models import parse_model
from models.errors import CSIError
from tests.analysis.test_plsc import frame_on_scale, model_text

MOBI_MODEL = """\
Image =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation =~ CUEX1 + CUEX2 + CUEX3
Quality =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Loyalty =~ CUSL1 + CUSL2 + CUSL3
Expectation ~ Image
Quality ~ Expectation
Satisfaction ~ Image + Expectation + Quality
Loyalty ~ Satisfaction + Image
"""


def reference_predictions(model, data, folds_of_rows, technique):
    """Straightforward PLSpredict: per fold, fit PLSPM on the training rows, then predict."""
    items = list(model.items)
    constructs = list(model.construct_names)
    endo = [c.name for c in model.constructs if model.predecessors(c.name)]
    exo = [c for c in constructs if c not in endo]
    targets = [i for c in model.constructs if c.name in endo for i in c.items]
    exo_items = [i for c in model.constructs if c.name in exo for i in c.items]
    pls = pd.DataFrame(np.nan, index=data.index, columns=targets)
    lm = pls.copy()
    base = pls.copy()
    for held in folds_of_rows:
        train = data.drop(index=held)
        fitted = PLSPM(model).fit(train, scales={item: (1, 10) for item in items})
        mean, sd = train[items].mean(), train[items].std(ddof=0)
        z = (data.loc[held, items] - mean) / sd
        weights = fitted.outer_weights.set_index("item")["estimate"]
        loadings = fitted.loadings.set_index("item")["estimate"]
        paths = fitted.path_coefficients
        scores = pd.DataFrame({c.name: z[list(c.items)] @ weights[list(c.items)] for c in model.constructs})
        predicted = scores.copy()
        order = [c for c in model.causal_order]
        for target in order:
            incoming = paths[paths["to"] == target]
            if incoming.empty:
                continue
            source_scores = predicted if technique == "earliest" else scores
            predicted[target] = sum(row.estimate * source_scores[row._1] for row in incoming.itertuples())
        for item in targets:
            construct = next(c.name for c in model.constructs if item in c.items)
            pls.loc[held, item] = mean[item] + sd[item] * loadings[item] * predicted[construct]
            design = np.column_stack([np.ones(len(train)), train[exo_items].to_numpy()])
            beta = np.linalg.lstsq(design, train[item].to_numpy(), rcond=None)[0]
            lm.loc[held, item] = np.column_stack([np.ones(len(held)), data.loc[held, exo_items].to_numpy()]) @ beta
            base.loc[held, item] = mean[item]
    return pls, lm, base


def folds_like(n, K, seed):
    """The fold assignment PLSPredict draws: one permutation per repeat, split in K."""
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(members) for members in np.array_split(order, K)]


@pytest.fixture(scope="module")
def mobi_model():
    return parse_model(MOBI_MODEL, name="mobi_predict")


@pytest.mark.parametrize("technique", ["earliest", "direct"])
def test_kfold_matches_reference_implementation(mobi_model, mobi, technique):
    results = PLSPredict(mobi_model, folds=5, seed=4, technique=technique).fit(mobi)
    pls, lm, base = reference_predictions(mobi_model, mobi, folds_like(len(mobi), 5, 4), technique)
    np.testing.assert_allclose(results.predictions[pls.columns].to_numpy(), pls.to_numpy(), atol=1e-10)
    np.testing.assert_allclose(results.lm_predictions[lm.columns].to_numpy(), lm.to_numpy(), atol=1e-10)
    items = results.items.set_index("item")
    actual = mobi[pls.columns]
    for item in pls.columns:
        res = actual[item] - pls[item]
        assert items.loc[item, "pls_rmse"] == pytest.approx(np.sqrt((res ** 2).mean()), abs=1e-10)
        assert items.loc[item, "pls_mae"] == pytest.approx(res.abs().mean(), abs=1e-10)
        lres = actual[item] - lm[item]
        assert items.loc[item, "lm_rmse"] == pytest.approx(np.sqrt((lres ** 2).mean()), abs=1e-10)
        assert items.loc[item, "lm_mae"] == pytest.approx(lres.abs().mean(), abs=1e-10)
        q2 = 1 - (res ** 2).sum() / ((actual[item] - base[item]) ** 2).sum()
        assert items.loc[item, "q2_predict"] == pytest.approx(q2, abs=1e-10)
    assert list(items.index) == list(pls.columns)  # only endogenous items


def test_loocv_matches_reference_on_a_subsample(mobi_model, mobi):
    data = mobi.iloc[:60].reset_index(drop=True)
    results = PLSPredict(mobi_model, loocv=True).fit(data)
    pls, _, _ = reference_predictions(mobi_model, data, [np.array([i]) for i in range(len(data))], "earliest")
    np.testing.assert_allclose(results.predictions[pls.columns].to_numpy(), pls.to_numpy(), atol=1e-10)
    assert results.folds == 60 and results.loocv


def test_repeats_average_predictions(mobi_model, mobi):
    """R repeats = the mean of R single runs' predictions (the generator continues across repeats)."""
    both = PLSPredict(mobi_model, folds=4, repeats=2, seed=9).fit(mobi)
    rng = np.random.default_rng(9)
    runs = []
    for _ in range(2):
        order = rng.permutation(len(mobi))
        folds = [np.sort(m) for m in np.array_split(order, 4)]
        runs.append(reference_predictions(mobi_model, mobi, folds, "earliest")[0])
    expected = (runs[0] + runs[1]) / 2
    np.testing.assert_allclose(both.predictions[expected.columns].to_numpy(), expected.to_numpy(), atol=1e-10)


@pytest.mark.parametrize("folds, technique", [(10, "direct"), (7, "earliest")])
def test_batched_folds_equal_per_fold_refits_on_ecsi(ecsi_mobi_model, mobi, folds, technique):
    """The benchmark's setting (ECSI, 7 constructs, two repeats): the batch of training sets
    (full-data moments minus each held-out fold's) gives the per-fold PLSPM refits'
    predictions; 250 rows in 7 folds also exercises folds of unequal size (36 and 35)."""
    results = PLSPredict(ecsi_mobi_model, folds=folds, repeats=2, seed=11, technique=technique).fit(mobi)
    rng = np.random.default_rng(11)
    runs = []
    for _ in range(2):
        order = rng.permutation(len(mobi))
        runs.append(reference_predictions(ecsi_mobi_model, mobi, [np.sort(m) for m in np.array_split(order, folds)],
                                          technique))
    for produced, column in ((results.predictions, 0), (results.lm_predictions, 1)):
        expected = (runs[0][column] + runs[1][column]) / 2
        np.testing.assert_allclose(produced[expected.columns].to_numpy(), expected.to_numpy(), atol=1e-10)


def test_repeats_read_in_chunks_give_the_same_predictions(mobi_model, mobi, monkeypatch):
    """Large data are grouped into folds a few repeats at a time: one repeat per chunk
    gives the predictions of all repeats at once (7 folds: two fold sizes)."""
    import analysis.predict as predict_module

    whole = PLSPredict(mobi_model, folds=7, repeats=3, seed=5).fit(mobi)
    monkeypatch.setattr(predict_module, "_VALUES_PER_CHUNK", 1)
    chunked = PLSPredict(mobi_model, folds=7, repeats=3, seed=5).fit(mobi)
    for name in ("predictions", "lm_predictions"):
        np.testing.assert_allclose(getattr(chunked, name).to_numpy(), getattr(whole, name).to_numpy(), atol=1e-12)
    pd.testing.assert_frame_equal(chunked.items, whole.items, atol=1e-12)


@pytest.mark.parametrize("weights", [(0.3, 0.7, 0.0), (1 / 3, 1 / 3, 1 / 3)])
def test_linear_benchmark_with_a_dependent_predictor_item_is_lstsq(mobi_model, mobi, weights):
    """IMAG5 an exact combination of IMAG1-IMAG3 (allowed in a reflective block) in every
    row but the first: the training sets without that row have a singular LM predictor
    covariance, and the benchmark still gives lstsq's predictions. With the first weights
    inv() raises; with the second it returns entries near 1e15 (the variance inflation
    check must catch it)."""
    data = mobi.copy()
    data["IMAG5"] = sum(w * data[f"IMAG{k}"] for k, w in enumerate(weights, start=1))
    data.loc[0, "IMAG5"] += 1  # inside the 1-10 scale (5.6 and 5.67 before)
    results = PLSPredict(mobi_model, folds=5, seed=4).fit(data)
    _, lm, _ = reference_predictions(mobi_model, data, folds_like(len(data), 5, 4), "earliest")
    np.testing.assert_allclose(results.lm_predictions[lm.columns].to_numpy(), lm.to_numpy(), atol=1e-10)


def test_in_sample_is_the_full_data_fit(mobi_model, mobi):
    """In-sample: the model fitted on all rows predicts them (CUSL1 by hand, through the
    total effect of Image, Loyalty's only earliest antecedent)."""
    results = PLSPredict(mobi_model, folds=5, seed=1).fit(mobi)
    fitted = PLSPM(mobi_model).fit(mobi)
    items = list(mobi_model.items)
    mean, sd = mobi[items].mean(), mobi[items].std(ddof=0)
    weights = fitted.outer_weights.set_index("item")["estimate"]
    loadings = fitted.loadings.set_index("item")["estimate"]
    total = fitted.effects.set_index(["from", "to"])["total"]
    z = (mobi[items] - mean) / sd
    image = z[[f"IMAG{k}" for k in range(1, 6)]] @ weights[[f"IMAG{k}" for k in range(1, 6)]]
    predicted = mean["CUSL1"] + sd["CUSL1"] * loadings["CUSL1"] * total[("Image", "Loyalty")] * image
    expected = np.sqrt(((mobi["CUSL1"] - predicted) ** 2).mean())
    assert results.in_sample.set_index("item").loc["CUSL1", "pls_rmse"] == pytest.approx(expected, abs=1e-10)


KNOWN = {"X": ["x1", "x2", "x3"], "Y": ["y1", "y2", "y3"]}


@pytest.mark.parametrize("path, n", [(0.6, 2000), (0.0, 2000)])
def test_known_truth_q2_predict(path, n):
    """X -> Y with equal loadings 0.8: the best linear predictor of y_i from X's items is the
    equally weighted composite, so PLS and LM both reach the population R² of y_i on the
    x items, sigma' Sigma^-1 sigma (0 when the path is 0), within sampling error."""
    model = parse_model(model_text(KNOWN, [("X", "Y")]), name="xy")
    pop = population(model, {("X", "Y"): path}, 0.8)
    raw = simulate(pop, n, seed=21, scale=None)
    data, scales = frame_on_scale(raw.to_numpy(), model.items)
    results = PLSPredict(model, folds=10, seed=2).fit(data, scales=scales)
    sigma = pop.item_cov
    x, y = [0, 1, 2], [3, 4, 5]
    for i, item in zip(y, ["y1", "y2", "y3"]):
        cov = sigma[x, i]
        truth = cov @ np.linalg.solve(sigma[np.ix_(x, x)], cov)
        row = results.items.set_index("item").loc[item]
        lm_q2 = 1 - row["lm_rmse"] ** 2 / data[item].var(ddof=0)
        assert row["q2_predict"] == pytest.approx(truth, abs=0.03), item
        assert lm_q2 == pytest.approx(truth, abs=0.03), item
    if path == 0:
        assert (results.items["q2_predict"] < 0.01).all()


@pytest.mark.parametrize("options, message", [
    ({"folds": 1}, "folds must be at least 2"),
    ({"loocv": True, "repeats": 3}, "leave-one-out cross-validation has one way to split the data"),
    ({"repeats": 0}, "repeats must be at least 1"),
    ({"technique": "sideways"}, "unknown prediction technique 'sideways'"),
])
def test_bad_options_are_refused(mobi_model, options, message):
    with pytest.raises(CSIError, match=message):
        PLSPredict(mobi_model, **options)


def test_more_folds_than_rows_is_refused(mobi_model, mobi):
    with pytest.raises(CSIError, match="300 folds need at least 300 respondents; there are 250"):
        PLSPredict(mobi_model, folds=300).fit(mobi)


def test_constant_item_in_a_training_fold_is_named(mobi_model, mobi):
    data = mobi.copy()
    data["CUEX3"] = 5
    data.loc[0, "CUEX3"] = 6
    with pytest.raises(CSIError, match=r"item 'CUEX3' has one value in all training rows of fold \d+"):
        PLSPredict(mobi_model, loocv=True).fit(data.iloc[:40])


def test_non_convergence_names_the_fold_and_repeat(mobi_model, mobi):
    with pytest.raises(CSIError, match=r"PLS did not converge \(or was singular\) on all training rows of fold 1 "
                                       r"\(repeat 1\); try the factorial"):
        PLSPredict(mobi_model, folds=5, repeats=2, max_iter=1).fit(mobi)
