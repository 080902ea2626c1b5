"""Consistent PLS (PLSc; Dijkstra & Henseler 2015) against seminr's fixtures, an
exact-recovery oracle and a small Monte Carlo with known truth.

Reference: tests/data/seminr_plsc_mobi.json (seminr 3.6.0 fixtures; source inside).
"""
import json

import numpy as np
import pandas as pd
import pytest

from analysis import PLSPM, fit
from analysis import plsc
from analysis.bootstrap import _evaluate
from analysis.simulate import population, simulate
from models import parse_model
from models.errors import CSIError
from tests.conftest import shared_file


def model_text(blocks, paths):
    text = "\n".join(f"{name} =~ {' + '.join(items)}" for name, items in blocks.items())
    return text + "\n" + "\n".join(f"{t} ~ {s}" for s, t in paths)


def exact_sample(sigma: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n rows whose sample covariance (any ddof) is exactly ``sigma``: draw, centre,
    whiten by the sample Cholesky factor, recolour by the target's (cSEM's empirical=TRUE)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, sigma.shape[0]))
    z -= z.mean(axis=0)
    white = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return white @ np.linalg.cholesky(sigma).T


def frame_on_scale(values: np.ndarray, items) -> tuple[pd.DataFrame, dict]:
    """Continuous data shifted into 0-10 (declared) so the 0-100 index is defined."""
    frame = pd.DataFrame(5.0 + values, columns=list(items))
    return frame, {item: (-100.0, 100.0) for item in items}


@pytest.fixture(scope="module")
def seminr_plsc():
    return json.loads(shared_file("seminr_plsc_mobi.json").read_text())


@pytest.fixture(scope="module")
def seminr_fit(seminr_plsc, mobi):
    spec = seminr_plsc["model"]
    model = parse_model(model_text(spec["blocks"], spec["paths"]), name="seminr_plsc")
    return fit(model, mobi, "plsc", scheme=spec["scheme"])


def test_paths_r2_and_loadings_match_seminr(seminr_fit, seminr_plsc):
    paths = seminr_fit.path_coefficients.set_index(["from", "to"])["estimate"]
    for key, value in seminr_plsc["path_coefficients"].items():
        source, target = key.split(" -> ")
        assert paths[(source, target)] == pytest.approx(value, abs=1e-6), key
    for name, value in seminr_plsc["r_squared"].items():
        assert seminr_fit.r_squared[name] == pytest.approx(value, abs=1e-6)
    for name, value in seminr_plsc["adj_r_squared"].items():
        assert seminr_fit.adj_r_squared[name] == pytest.approx(value, abs=1e-6)
    loadings = seminr_fit.loadings.set_index("item")["estimate"]
    for item, value in seminr_plsc["loadings"].items():
        assert loadings[item] == pytest.approx(value, abs=1e-6), item
    quality = seminr_fit.quality
    for name, value in seminr_plsc["rho_a"].items():
        assert quality.loc[name, "rho_a"] == pytest.approx(value, abs=1e-6), name


def test_plsc_results_say_what_they_are(seminr_fit):
    assert seminr_fit.method == "plsc" and seminr_fit.inadmissible == ()
    payload = seminr_fit.to_dict()
    assert payload["method"] == "plsc" and payload["admissible"] is True and payload["inadmissible"] == []
    assert seminr_fit.summary().startswith("Consistent PLS (PLSc) path model")
    # PLS itself is untouched by the option: the same composites, attenuated paths.
    plain = fit(seminr_fit.model, pd.read_csv(shared_file("mobi.csv")), "pls", scheme="factorial")
    np.testing.assert_allclose(plain.outer_weights["estimate"], seminr_fit.outer_weights["estimate"], atol=1e-12)
    assert plain.path_coefficients["estimate"].abs().sum() < seminr_fit.path_coefficients["estimate"].abs().sum()
    assert plain.method == "pls" and plain.to_dict()["method"] == "pls"


KNOWN = {
    "blocks": {"Image": ["i1", "i2", "i3"], "Expectation": ["e1", "e2", "e3"],
               "Value": ["v1", "v2", "v3", "v4"], "Satisfaction": ["s1", "s2", "s3"]},
    "paths": {("Image", "Expectation"): 0.5, ("Image", "Value"): 0.3, ("Expectation", "Value"): 0.4,
              ("Image", "Satisfaction"): 0.35, ("Value", "Satisfaction"): 0.45},
    "loadings": {"i1": 0.8, "i2": 0.7, "i3": 0.6, "e1": 0.9, "e2": 0.75, "e3": 0.55, "v1": 0.85, "v2": 0.8,
                 "v3": 0.7, "v4": 0.65, "s1": 0.9, "s2": 0.8, "s3": 0.7},
}


@pytest.fixture(scope="module")
def known_population():
    model = parse_model(model_text(KNOWN["blocks"], list(KNOWN["paths"])), name="known")
    return population(model, KNOWN["paths"], KNOWN["loadings"])


@pytest.mark.parametrize("scheme", ["path", "centroid", "factorial"])
def test_exact_recovery_of_population_loadings_and_paths(known_population, scheme):
    pop = known_population
    values = exact_sample(pop.item_cov, 400, seed=11)
    data, scales = frame_on_scale(values, pop.model.items)
    results = PLSPM(pop.model, scheme=scheme, consistent=True, tol=1e-12, max_iter=1000).fit(data, scales=scales)
    paths = results.path_coefficients.set_index(["from", "to"])["estimate"]
    for (source, target), value in KNOWN["paths"].items():
        assert paths[(source, target)] == pytest.approx(value, abs=1e-8), (source, target)
    loadings = results.loadings.set_index("item")["estimate"]
    for item, value in KNOWN["loadings"].items():
        assert loadings[item] == pytest.approx(value, abs=1e-8), item
    for name, value in pop.r_squared().items():
        assert results.r_squared[name] == pytest.approx(value, abs=1e-8), name
    np.testing.assert_allclose(results.construct_correlations.to_numpy(), pop.lv_cov, atol=1e-8)
    # rho_A is the squared correlation of composite and factor: (w'lambda)^2.
    w = results.outer_weights.set_index("item")["estimate"]
    for name, items in KNOWN["blocks"].items():
        expected = sum(w[i] * KNOWN["loadings"][i] for i in items) ** 2
        assert results.quality.loc[name, "rho_a"] == pytest.approx(expected, abs=1e-8), name


def test_composites_are_left_as_pls(known_population):
    """A Mode B block keeps rho_A = 1: its correlations, and its items' loadings, stay PLS's."""
    pop = known_population
    values = exact_sample(pop.item_cov, 400, seed=3)
    data, scales = frame_on_scale(values, pop.model.items)
    text = model_text(KNOWN["blocks"], list(KNOWN["paths"])).replace("Image =~", "Image <~")
    model = parse_model(text, name="mixed")
    pls = PLSPM(model, tol=1e-12).fit(data, scales=scales)
    con = PLSPM(model, tol=1e-12, consistent=True).fit(data, scales=scales)
    pl, cl = (r.loadings.set_index("item")["estimate"] for r in (pls, con))
    for item in KNOWN["blocks"]["Image"]:
        assert cl[item] == pytest.approx(pl[item], abs=1e-12)
    # The composite Image's correlation with the factor Expectation is r / sqrt(1 * rho_A(Expectation)).
    rho_e = con.quality.loc["Expectation", "rho_a"]
    r = pls.construct_correlations.loc["Image", "Expectation"]
    assert con.construct_correlations.loc["Image", "Expectation"] == pytest.approx(r / np.sqrt(rho_e), abs=1e-12)
    for item in KNOWN["blocks"]["Satisfaction"]:
        assert cl[item] == pytest.approx(KNOWN["loadings"][item], abs=1e-8)


def test_monte_carlo_plsc_is_unbiased_where_pls_is_not(known_population):
    """200 samples of n = 300 from the population: PLSc's mean paths lie within 0.02 of
    the truth (Dijkstra & Henseler's consistency), PLS's are attenuated by more than that."""
    pop = known_population
    structure_paths = list(KNOWN["paths"])
    plsc_means, pls_means = [], []
    for replication in range(200):
        data = simulate(pop, 300, seed=1000 + replication, scale=None)
        data, scales = frame_on_scale(data.to_numpy(), pop.model.items)
        for consistent, sink in ((True, plsc_means), (False, pls_means)):
            r = PLSPM(pop.model, consistent=consistent).fit(data, scales=scales)
            est = r.path_coefficients.set_index(["from", "to"])["estimate"]
            sink.append([est[key] for key in structure_paths])
    truth = np.array([KNOWN["paths"][key] for key in structure_paths])
    plsc_bias = np.mean(plsc_means, axis=0) - truth
    pls_bias = np.mean(pls_means, axis=0) - truth
    assert np.abs(plsc_bias).max() < 0.02, plsc_bias
    assert np.abs(pls_bias).max() > 0.05, pls_bias


def blocks_matrix(within, between):
    """Item correlations of two 3-item blocks A, B: ``within`` inside a block, ``between`` across."""
    sigma = np.full((6, 6), between)
    sigma[:3, :3] = within
    sigma[3:, 3:] = within
    np.fill_diagonal(sigma, 1.0)
    return sigma


def test_inadmissible_solution_is_reported_by_name():
    """Items correlating more across blocks (0.32) than within (0.3): the corrected factor
    correlation is about 1.07, a path beyond 1 and a non-positive-definite matrix."""
    items = ["a1", "a2", "a3", "b1", "b2", "b3"]
    data, scales = frame_on_scale(exact_sample(blocks_matrix(0.3, 0.32), 300, seed=5), items)
    model = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A", name="bad")
    results = PLSPM(model, consistent=True).fit(data, scales=scales)
    reasons = results.inadmissible
    assert any(r.startswith("a path coefficient beyond ±1: A -> B = 1.06") for r in reasons), reasons
    assert any(r.startswith("a construct correlation matrix that is not positive definite") for r in reasons), reasons
    assert sum("INADMISSIBLE PLSc solution" in note for note in results.notes) == len(reasons) == 2
    assert "WARNING: inadmissible PLSc solution: a path coefficient beyond ±1" in results.summary()
    payload = results.to_dict()
    assert payload["admissible"] is False and payload["inadmissible"] == list(reasons)


def test_rho_a_above_one_is_reported_by_name():
    """Two items of A whose correlations with B differ tenfold get very unequal Mode A weights,
    and rho_A = (w'w)^2 r / (w1 w2) exceeds 1."""
    sigma = np.array([[1.0, 0.3, 0.5, 0.5],
                      [0.3, 1.0, 0.05, 0.05],
                      [0.5, 0.05, 1.0, 0.6],
                      [0.5, 0.05, 0.6, 1.0]])
    items = ["a1", "a2", "b1", "b2"]
    data, scales = frame_on_scale(exact_sample(sigma, 300, seed=9), items)
    model = parse_model("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", name="rho")
    results = PLSPM(model, consistent=True).fit(data, scales=scales)
    assert results.quality.loc["A", "rho_a"] > 1
    assert any(r.startswith("rho_A above 1 (or not positive): A = ") for r in results.inadmissible), results.inadmissible


def test_bootstrap_resample_equals_refit_on_the_resample(seminr_fit, mobi):
    """The batched bootstrap corrects each resample exactly as a PLSc fit of that resample."""
    layout = seminr_fit.layout
    assert layout.consistent
    X = mobi[list(seminr_fit.structure.items)].to_numpy(float)
    rng = np.random.default_rng(4)
    rows = rng.integers(0, len(X), size=len(X))
    counts = np.bincount(rows, minlength=len(X)).astype(float)[None]
    low = np.ones(X.shape[1])
    span = np.full(X.shape[1], 9.0)
    values, status = _evaluate(X, counts, layout, "factorial", True, 1e-7, 300, low, span)
    refit = PLSPM(seminr_fit.model, scheme="factorial", consistent=True).fit(mobi.iloc[rows].reset_index(drop=True))
    # This resample happens to be inadmissible (Satisfaction's R² is 0.89 on the full data):
    # the bootstrap drops it (status 4) exactly when the refit names a reason.
    assert status[0] == (4 if refit.inadmissible else 0)
    for n, (kind, a, b) in enumerate(layout.labels):
        if kind == "path":
            expected = refit.path_coefficients.set_index(["from", "to"]).loc[(a, b), "estimate"]
        elif kind == "loading":
            expected = refit.loadings.set_index("item").loc[b, "estimate"]
        elif kind == "r_squared":
            expected = refit.r_squared[a]
        else:
            continue
        assert values[0, n] == pytest.approx(expected, abs=1e-9), (kind, a, b)


def test_bootstrap_counts_inadmissible_resamples():
    items = ["a1", "a2", "a3", "b1", "b2", "b3"]
    # Close to the boundary (corrected correlation about 0.97): some resamples cross it.
    data, scales = frame_on_scale(exact_sample(blocks_matrix(0.3, 0.29), 150, seed=5), items)
    model = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A", name="edge")
    results = PLSPM(model, consistent=True, n_boot=300, seed=2, workers=1, progress=False).fit(data, scales=scales)
    boot = results.bootstrap
    dropped = boot.failures.get("inadmissible PLSc solution", 0)
    assert 0 < dropped < 300 and boot.n_ok + boot.n_failed == 300
    assert np.all(np.abs(boot.samples[:, results.layout.positions("path")]) <= 1)
    assert any("inadmissible PLSc solution" in note for note in results.notes)


def test_bootstrap_of_plsc_intervals(seminr_fit, mobi):
    results = PLSPM(seminr_fit.model, scheme="factorial", consistent=True, n_boot=200, seed=1, workers=1,
                    progress=False).fit(mobi)
    paths = results.path_coefficients
    assert {"se", "ci_low", "ci_high"} <= set(paths.columns)
    assert (paths["ci_low"] < paths["estimate"]).all() and (paths["estimate"] < paths["ci_high"]).all()
    assert results.bootstrap.n_ok + results.bootstrap.n_failed == 200


def test_plsc_needs_standardized_indicators(seminr_fit):
    with pytest.raises(CSIError, match="needs standardized indicators"):
        PLSPM(seminr_fit.model, consistent=True, scaled=False)


def test_correct_is_batched(seminr_fit, mobi):
    """plsc.correct on a batch of two identical matrices gives the single fit twice."""
    from analysis.pls_core import run
    R = np.corrcoef(mobi[list(seminr_fit.structure.items)].to_numpy(float), rowvar=False)
    core = plsc.correct(run(np.stack([R, R]), seminr_fit.structure, "factorial"), np.stack([R, R]), seminr_fit.structure)
    np.testing.assert_allclose(core.paths[0], core.paths[1])
    np.testing.assert_allclose(core.paths[0], np.array(seminr_fit._paths), atol=1e-10)


def test_non_positive_rho_a_is_named_and_leaves_no_numbers():
    """Two items correlating -0.3 with each other but positively with B: both weights are
    positive, w'(S - diag S)w < 0, so rho_A < 0 and no factor correlation exists."""
    sigma = np.array([[1.0, -0.3, 0.4, 0.4],
                      [-0.3, 1.0, 0.3, 0.3],
                      [0.4, 0.3, 1.0, 0.6],
                      [0.4, 0.3, 0.6, 1.0]])
    items = ["a1", "a2", "b1", "b2"]
    data, scales = frame_on_scale(exact_sample(sigma, 300, seed=1), items)
    model = parse_model("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A", name="negative")
    results = PLSPM(model, consistent=True).fit(data, scales=scales)
    assert results.quality.loc["A", "rho_a"] < 0
    assert any(r.startswith("rho_A above 1 (or not positive): A = -") for r in results.inadmissible)
    assert ("a construct correlation matrix that is not positive definite (not computable: a rho_A is not positive)"
            in results.inadmissible)
    assert results.path_coefficients["estimate"].isna().all()
    from analysis.json_safe import json_ready  # what csi fit --json prints
    payload = json.loads(json.dumps(json_ready(results.to_dict()), allow_nan=False))
    assert payload["paths"][0]["estimate"] is None and payload["admissible"] is False
    assert "WARNING: inadmissible PLSc solution" in results.summary()


def test_plsc_bootstrap_same_whatever_the_worker_count(seminr_fit, mobi):
    runs = [PLSPM(seminr_fit.model, scheme="factorial", consistent=True, n_boot=500, seed=8, workers=w,
                  progress=False).fit(mobi).bootstrap for w in (1, 2)]
    assert runs[0].failures == runs[1].failures
    np.testing.assert_allclose(runs[0].samples, runs[1].samples, rtol=1e-10, atol=1e-12)
