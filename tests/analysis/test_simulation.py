"""Recovering a known population model, and bootstrap coverage on a small Monte Carlo.

PLS path modeling estimates composites, so on reflective data its probability limit is
not the structural coefficient but "PLS applied to the population covariance matrix"
(consistency at large: Wold 1982; Dijkstra 2010). The tests check both halves:
sample estimates scatter around that limit within sampling error, and the limit itself
approaches the structural coefficients as measurement becomes reliable. CB-SEM (ML) is
consistent for the structural coefficients themselves.
"""
import numpy as np
import pytest

from analysis import PLSPM, fit
from analysis.pls_core import Structure, run
from analysis.simulate import population, simulate
from models import parse_model

MODEL = parse_model("""
expectations =~ e1 + e2 + e3
quality =~ q1 + q2 + q3 + q4
value =~ v1 + v2 + v3
satisfaction =~ s1 + s2 + s3
loyalty =~ l1 + l2 + l3
quality ~ expectations
value ~ expectations + quality
satisfaction ~ expectations + quality + value
loyalty ~ satisfaction
""")
TRUE_PATHS = {("expectations", "quality"): 0.5, ("expectations", "value"): 0.15, ("quality", "value"): 0.55,
              ("expectations", "satisfaction"): 0.1, ("quality", "satisfaction"): 0.45, ("value", "satisfaction"): 0.3,
              ("satisfaction", "loyalty"): 0.6}


def pls_limit(pop, scheme="path"):
    """PLS on the population correlation matrix: what the estimator converges to."""
    structure = Structure.from_model(pop.model)
    core = run(pop.item_cov, structure, scheme, 1e-12, 1000)
    names = structure.constructs
    return {(s, t): core.paths[0, names.index(t), names.index(s)] for s, t in pop.model.paths}


def paths_of(results):
    frame = results.path_coefficients
    return {(r["from"], r["to"]): r["estimate"] for r in frame.to_dict("records")}


def test_population_model_is_consistent():
    pop = population(MODEL, TRUE_PATHS, 0.8)
    assert np.allclose(np.diag(pop.lv_cov), 1) and np.allclose(np.diag(pop.item_cov), 1)
    assert np.linalg.eigvalsh(pop.item_cov).min() > 0
    assert 0 < pop.r_squared()["satisfaction"] < 1


def test_pls_limit_approaches_structural_coefficients_as_reliability_grows():
    errors = []
    for loading in (0.7, 0.85, 0.97):
        limit = pls_limit(population(MODEL, TRUE_PATHS, loading))
        errors.append(max(abs(limit[k] - v) for k, v in TRUE_PATHS.items()))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.02


@pytest.mark.parametrize("n, seed", [(200, 1), (500, 2), (2000, 3), (2000, 4)])
def test_pls_estimates_scatter_around_their_limit(n, seed):
    pop = population(MODEL, TRUE_PATHS, 0.8)
    limit = pls_limit(pop)
    data = simulate(pop, n, seed=seed, scale=None)
    results = PLSPM(MODEL, n_boot=300, seed=seed, workers=1, progress=False).fit(data)
    frame = results.path_coefficients.set_index(["from", "to"])
    z = [(frame.loc[k, "estimate"] - limit[k]) / frame.loc[k, "se"] for k in TRUE_PATHS]
    # Seven correlated paths, |z| < 3.5 each: a failure means bias, not bad luck (p < 0.005 overall).
    assert max(abs(v) for v in z) < 3.5, dict(zip(TRUE_PATHS, np.round(z, 2)))


@pytest.mark.parametrize("n, seed", [(300, 5), (1000, 6)])
def test_discretized_1_to_10_answers_stay_close_to_the_continuous_limit(n, seed):
    """Items rounded to a 1-10 scale (as survey answers are) lose a little correlation;
    estimates stay within sampling error plus that small attenuation."""
    pop = population(MODEL, TRUE_PATHS, 0.8)
    limit = pls_limit(pop)
    data = simulate(pop, n, seed=seed, scale=(1, 10))
    assert set(np.unique(data.to_numpy())) <= set(range(1, 11))
    results = PLSPM(MODEL, n_boot=300, seed=seed, workers=1, progress=False).fit(data)
    frame = results.path_coefficients.set_index(["from", "to"])
    for k in TRUE_PATHS:
        assert abs(frame.loc[k, "estimate"] - limit[k]) < 3.5 * frame.loc[k, "se"] + 0.03, k


@pytest.mark.parametrize("seed", [11, 12])
def test_cbsem_recovers_structural_coefficients(seed):
    pop = population(MODEL, TRUE_PATHS, 0.8)
    data = simulate(pop, 1500, seed=seed, scale=None)
    results = fit(MODEL, data, method="cbsem")
    frame = results.path_coefficients.set_index(["from", "to"])
    for k, value in TRUE_PATHS.items():
        # Items have unit variance and first loadings are fixed to 1, so std_estimate is the structural beta.
        assert abs(frame.loc[k, "std_estimate"] - value) < 4 * frame.loc[k, "se"] / 0.8 + 0.01, k
    assert results.fit["rmsea"] < 0.03 and results.fit["cfi"] > 0.99


def test_closed_form_fit_indices_agree_with_semopy():
    """Peer check on a model whose item order differs from semopy's alphabetical one."""
    import warnings

    import semopy

    from analysis.cbsem import semopy_description
    warnings.simplefilter("ignore")
    pop = population(MODEL, {**TRUE_PATHS, ("satisfaction", "loyalty"): 0.4}, 0.75)
    data = simulate(pop, 600, seed=21, scale=(1, 10))
    ours = fit(MODEL, data, method="cbsem").fit
    peer = semopy.Model(semopy_description(MODEL))
    peer.fit(data, obj="MLW", options={"ftol": 1e-12, "maxiter": 10000})
    table = semopy.calc_stats(peer).iloc[0]
    assert ours["chi2"] == pytest.approx(table["chi2"], rel=1e-4)
    assert ours["df"] == table["DoF"]
    assert ours["cfi"] == pytest.approx(table["CFI"], abs=1e-4)
    assert ours["tli"] == pytest.approx(table["TLI"], abs=1e-4)


@pytest.mark.slow
def test_bootstrap_interval_coverage_is_near_nominal():
    """Small Monte Carlo (sized for CI: 150 samples x 300 resamples); bench/monte_carlo.py
    runs the full version. Coverage of the PLS limit by the 95% percentile interval,
    pooled over the seven paths: binomial SE about 0.7% for 1,050 intervals, but paths
    in one sample are correlated, so the band is wider."""
    pop = population(MODEL, TRUE_PATHS, 0.8)
    limit = pls_limit(pop)
    hits = []
    for rep in range(150):
        data = simulate(pop, 250, seed=1000 + rep, scale=None)
        results = PLSPM(MODEL, n_boot=300, seed=rep, workers=1, progress=False).fit(data)
        frame = results.path_coefficients.set_index(["from", "to"])
        hits += [frame.loc[k, "ci_low"] <= limit[k] <= frame.loc[k, "ci_high"] for k in TRUE_PATHS]
    coverage = np.mean(hits)
    assert 0.91 <= coverage <= 0.98, coverage
