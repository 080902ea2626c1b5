"""The omnibus permutation test across k groups (analysis/kgroups.py)."""
import numpy as np
import pandas as pd
import pytest

from analysis.groups import compare_groups
from analysis.kgroups import compare_k_groups
from analysis.simulate import default_paths, population, simulate
from models import parse_model
from models.errors import CSIError

MODEL = """\
Quality =~ q1 + q2 + q3
Value =~ v1 + v2 + v3
Satisfaction =~ s1 + s2 + s3
Value ~ Quality
Satisfaction ~ Quality + Value
"""


@pytest.fixture(scope="module")
def model():
    return parse_model(MODEL, name="kgroups")


def groups(model, sizes, seed, shift=None):
    """Groups drawn from one population; ``shift`` = (group, path, value) changes one
    group's population path."""
    out = {}
    for g, size in enumerate(sizes):
        paths = default_paths(model)
        if shift and shift[0] == g:
            paths[shift[1]] = shift[2]
        out[f"g{g}"] = simulate(population(model, paths, 0.8), size, seed=seed * 100 + g)
    return out


def test_two_groups_give_the_p_values_of_the_two_group_comparison(model):
    """For k = 2 the statistic is n_a n_b / n times the squared difference, so with the same
    permutations (same seed) the omnibus p-values are the permutation MGA's, exactly."""
    frames = groups(model, (150, 120), seed=3, shift=(1, ("Quality", "Satisfaction"), 0.2))
    omnibus = compare_k_groups(model, frames, n_perm=199, seed=11).omnibus
    pairwise = compare_groups(model, frames["g0"], frames["g1"], n_perm=199, n_boot=0, seed=11).differences
    merged = omnibus.merge(pairwise, on=["kind", "a", "b"], suffixes=("", "_pair"))
    assert len(merged) == len(omnibus) == len(pairwise)
    assert np.allclose(merged["p_value"], merged["p_value_pair"], equal_nan=True)
    n_a, n_b = 150, 120
    expected = n_a * n_b / (n_a + n_b) * merged["difference"] ** 2
    assert np.allclose(merged["statistic"], expected, rtol=1e-9)


def test_no_difference_rejects_near_the_nominal_rate(model):
    """Four groups from one population: the raw omnibus p-value of the Quality -> Satisfaction
    path is below 0.05 in about 5 % of samples (30 samples here: at most 5 rejections, a
    bound exceeded with probability < 1 % when the true rate is 5 %). The full-size run is
    bench/monte_carlo.py territory; this one fits CI."""
    rejections = 0
    p_values = []
    for rep in range(30):
        frames = groups(model, (80, 80, 80, 80), seed=1000 + rep)
        omnibus = compare_k_groups(model, frames, n_perm=79, seed=rep).omnibus
        row = omnibus[(omnibus["kind"] == "path") & (omnibus["a"] == "Quality") & (omnibus["b"] == "Satisfaction")]
        p = float(row["p_value"].iloc[0])
        p_values.append(p)
        rejections += p < 0.05
    assert rejections <= 5
    assert 0.35 < np.mean(p_values) < 0.65   # p-values are uniform under the null


def test_one_different_group_is_found_and_named_by_the_pairs(model):
    frames = groups(model, (200, 200, 200), seed=7, shift=(2, ("Quality", "Satisfaction"), 0.05))
    result = compare_k_groups(model, frames, n_perm=199, seed=2, pairwise=True)
    omnibus = result.omnibus.set_index(["kind", "a", "b"])
    assert omnibus.loc[("path", "Quality", "Satisfaction"), "p_adjusted"] < 0.05
    assert omnibus.loc[("path", "Quality", "Value"), "p_adjusted"] > 0.05
    pairs = result.pairwise_adjusted
    path = pairs[(pairs["kind"] == "path") & (pairs["a"] == "Quality") & (pairs["b"] == "Satisfaction")]
    by_pair = dict(zip(path["pair"], path["p_pairs_adjusted"]))
    assert by_pair["g0 vs g2"] < 0.05 and by_pair["g1 vs g2"] < 0.05 and by_pair["g0 vs g1"] > 0.05
    assert set(result.pairwise) == {("g0", "g1"), ("g0", "g2"), ("g1", "g2")}
    assert "3 groups" in result.summary() and "omnibus permutation test across 3 groups" in result.summary()


@pytest.mark.parametrize("frames, n_perm, message", [
    (lambda m: groups(m, (50,), 1), 99, "at least 2"),
    (lambda m: groups(m, (50, 50), 1), 10, "at least 19"),
    (lambda m: {**groups(m, (60, 60), 1), "empty": pd.DataFrame({c: [] for c in m.items})}, 99, "empty"),
])
def test_bad_input_names_the_problem(model, frames, n_perm, message):
    with pytest.raises(CSIError, match=message):
        compare_k_groups(model, frames(model), n_perm=n_perm)
