import numpy as np
import pytest

from analysis import PLSPM
from analysis.bootstrap import _chunk_task
from analysis.layout import Layout
from analysis.pls_core import Structure


@pytest.fixture(scope="module")
def boot_pair(ecsi_mobi_model, mobi):
    one = PLSPM(ecsi_mobi_model, n_boot=600, seed=42, workers=1, progress=False).fit(mobi)
    two = PLSPM(ecsi_mobi_model, n_boot=600, seed=42, workers=2, progress=False).fit(mobi)
    return one, two


def test_same_seed_same_result_whatever_the_worker_count(boot_pair):
    one, two = boot_pair
    # Same resamples; only BLAS summation order may differ between processes (last-bit differences).
    np.testing.assert_allclose(one.bootstrap.samples, two.bootstrap.samples, rtol=1e-10, atol=1e-12)
    assert one.bootstrap.n_ok == 600 and not one.bootstrap.failures


def test_other_seed_other_resamples(ecsi_mobi_model, mobi, boot_pair):
    other = PLSPM(ecsi_mobi_model, n_boot=600, seed=43, workers=1, progress=False).fit(mobi)
    assert not np.array_equal(other.bootstrap.samples, boot_pair[0].bootstrap.samples)


def test_every_resample_is_distinct(ecsi_mobi_model, mobi, boot_pair):
    samples = boot_pair[0].bootstrap.samples
    assert len(np.unique(samples.round(12), axis=0)) == len(samples)


def test_chunks_draw_from_independent_streams(ecsi_mobi_model, mobi):
    structure = Structure.from_model(ecsi_mobi_model)
    layout = Layout.build(structure)
    X = mobi[list(ecsi_mobi_model.items)].to_numpy(float)
    children = np.random.SeedSequence(7).spawn(2)
    args = (X, layout, "path", True, 1e-7, 300, np.ones(24), np.full(24, 9.0))
    a, _ = _chunk_task(args + (children[0], 50))
    b, _ = _chunk_task(args + (children[1], 50))
    assert not np.intersect1d(a[:, 0].round(12), b[:, 0].round(12)).size


def test_undefined_index_resamples_are_reported(boot_pair):
    results = boot_pair[0]
    frame = results.bootstrap.to_frame().loc["index"]
    invalid = 600 - int(frame.loc[("Loyalty", ""), "n_valid"])
    assert 0 < invalid < 60  # CUSL2's small weight turns negative in a few resamples
    assert any(f"uses {600 - invalid} of 600 resamples" in note and "'Loyalty'" in note for note in results.notes)


def test_intervals_bracket_estimates_and_bca_is_computed(boot_pair):
    frame = boot_pair[0].bootstrap.to_frame()
    paths = frame.loc["path"]
    assert (paths["pct_low"] < paths["estimate"]).all() and (paths["estimate"] < paths["pct_high"]).all()
    assert paths["bca_low"].notna().all() and (paths["bca_low"] < paths["bca_high"]).all()
    # Percentile SEs near the published SmartPLS-style magnitude for mobi (0.03 to 0.1 for paths).
    assert paths["se"].between(0.02, 0.12).all()


def test_failed_resamples_are_counted_and_reported(ecsi_mobi_model, mobi):
    data = mobi.copy()
    # One respondent out of 250 carries all the variance of CUSCO: resamples without them have
    # a constant item; they must be counted, not silently dropped.
    data["CUSCO"] = 5
    data.loc[0, "CUSCO"] = 9
    results = PLSPM(ecsi_mobi_model, n_boot=400, seed=1, workers=1, progress=False).fit(data)
    boot = results.bootstrap
    expected = 400 * (1 - 1 / 250) ** 250  # P(row 0 not drawn) is about 0.367
    assert boot.failures["an item was constant in the resample"] == pytest.approx(expected, rel=0.2)
    assert boot.n_ok + boot.n_failed == 400
    assert any("resamples failed" in note for note in results.notes)


def test_progress_callback_sees_every_resample(ecsi_mobi_model, mobi):
    seen = []
    PLSPM(ecsi_mobi_model, n_boot=520, workers=1, progress=False, on_progress=lambda d, t: seen.append((d, t))).fit(mobi)
    assert seen[-1] == (520, 520) and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("n", [999, 1000, 1001, 2500])
def test_jackknife_groups_are_balanced_random_and_fixed(n):
    from analysis.bootstrap import jackknife_groups
    labels = jackknife_groups(n)
    np.testing.assert_array_equal(labels, jackknife_groups(n))  # fixed seed: the same groups every run
    sizes = np.bincount(labels)
    assert len(sizes) == min(n, 1000) and sizes.min() >= n // 1000 and sizes.max() <= max(1, -(-n // 1000))
    if n <= 1000:
        np.testing.assert_array_equal(labels, np.arange(n))  # delete-one
    elif n >= 2000:
        # Not contiguous blocks: the rows of a group are spread over the file.
        spread = np.array([np.ptp(np.flatnonzero(labels == g)) for g in range(1000)])
        assert np.median(spread) > n / 4


def test_grouped_jackknife_acceleration_on_sorted_data_is_close_to_delete_one():
    """2000 respondents sorted by their satisfaction score (as an export sorted by a column
    would be). The BCa acceleration a = sum(d^3) / (6 (sum d^2)^1.5) of the value ->
    satisfaction path from the delete-one jackknife is -0.000389; the 1000 random groups
    give -0.000201 (within 1e-3). The scores have 1701 ties, so the sort must be stable: an
    unstable sort orders ties by the CPU's sorting network (numpy's SIMD quicksort), and one
    such order put the grouped value 1.7e-3 off. Contiguous groups were 2.9e-3 off."""
    from analysis.bootstrap import _evaluate, _jackknife
    from analysis.data import prepare
    from tests.analysis.test_groups import MODEL, SCALES, draw

    data = draw(2000, 5)
    order = PLSPM(MODEL).fit(data, scales=SCALES).respondent_index["satisfaction"].sort_values(kind="stable").index
    prep = prepare(data.loc[order], MODEL, None, "listwise", SCALES)
    layout = Layout.build(Structure.from_model(MODEL))
    low, span = np.ones(len(MODEL.items)), np.full(len(MODEL.items), 9.0)
    jack = _jackknife(prep.values, layout, "path", True, 1e-7, 300, low, span)
    assert jack.shape[0] == 1000
    k = layout.labels.index(("path", "value", "satisfaction"))

    def acceleration(values):
        d = values.mean() - values
        return (d ** 3).sum() / (6 * (d ** 2).sum() ** 1.5)
    n = prep.values.shape[0]
    delete_one = []
    for start in range(0, n, 250):
        left_out = np.arange(start, min(n, start + 250))
        counts = (np.arange(n)[None, :] != left_out[:, None]).astype(float)
        values, status = _evaluate(prep.values, counts, layout, "path", True, 1e-7, 300, low, span)
        assert (status == 0).all()
        delete_one.append(values[:, k])
    exact = acceleration(np.concatenate(delete_one))
    assert exact == pytest.approx(-0.000389, abs=1e-6)
    assert acceleration(jack[:, k]) == pytest.approx(exact, abs=1e-3)
    assert acceleration(jack[:, k]) == pytest.approx(-0.000201, abs=1e-6)


def _moments_by_einsum(X, counts):
    """The resampled moments as computed before they went through BLAS (the reference)."""
    from analysis.statistics import Moments
    n = counts.sum(axis=1, keepdims=True)
    center = X.mean(axis=0)
    Xc = X - center
    means = counts @ Xc / n
    second = np.einsum("bn,np,nq->bpq", counts, Xc, Xc, optimize=True) / n[:, :, None]
    return Moments(means + center, second - means[:, :, None] * means[:, None, :])


def _normalize_by_einsum(W, S):
    variance = np.einsum("bpj,bpq,bqj->bj", W, S, W)
    with np.errstate(invalid="ignore", divide="ignore"):
        return W / np.sqrt(variance)[:, None, :]


@pytest.mark.parametrize("n_rows", [250, 7])
def test_blas_moments_equal_the_einsum_reference(ecsi_mobi_model, mobi, n_rows):
    X = mobi[list(ecsi_mobi_model.items)].iloc[:n_rows].to_numpy(float)
    counts = np.random.default_rng(3).poisson(1.0, size=(40, n_rows)).astype(float)
    from analysis import statistics as st
    np.testing.assert_allclose(st.moments_from_counts(X, counts).cov, _moments_by_einsum(X, counts).cov,
                               rtol=0, atol=1e-12)


def test_seeded_bootstrap_identical_to_the_einsum_implementation(ecsi_mobi_model, mobi, boot_pair, monkeypatch):
    """The BLAS products change no result: the same seeded run through the einsum formulas
    agrees to 1e-10 in every resample, interval and standard error."""
    from analysis import pls_core, statistics as st
    monkeypatch.setattr(st, "moments_from_counts", _moments_by_einsum)
    monkeypatch.setattr(pls_core, "_normalize", _normalize_by_einsum)
    reference = PLSPM(ecsi_mobi_model, n_boot=600, seed=42, workers=1, progress=False).fit(mobi).bootstrap
    ours = boot_pair[0].bootstrap
    for name in ("samples", "percentile", "bca", "se"):
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=0, atol=1e-10, err_msg=name)


def test_bca_matches_scipy_normal_quantiles(ecsi_mobi_model, mobi, boot_pair):
    """BCa through the standard library's NormalDist equals the textbook formula on scipy.stats.norm."""
    from scipy import stats

    from analysis.bootstrap import _jackknife
    results = boot_pair[0]
    boot = results.bootstrap
    X = mobi[list(ecsi_mobi_model.items)].to_numpy(float)
    low = np.array([results.scales[i][0] for i in results.structure.items])
    span = np.array([results.scales[i][1] - results.scales[i][0] for i in results.structure.items])
    jack = _jackknife(X, results.layout, "path", True, results.tol, results.max_iter, low, span)
    for k in results.layout.positions("path"):
        column, estimate, jk = boot.samples[:, k], boot.estimate[k], jack[:, k]
        z0 = stats.norm.ppf((np.sum(column < estimate) + 0.5 * np.sum(column == estimate)) / len(column))
        d = jk.mean() - jk
        a = np.sum(d ** 3) / (6 * np.sum(d ** 2) ** 1.5)
        z = stats.norm.ppf([0.025, 0.975])
        expected = np.quantile(column, stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z))))
        np.testing.assert_allclose(boot.bca[k], expected, rtol=0, atol=1e-12)


def _bca_column_by_column(samples, estimate, level, jack):
    """BCa intervals one column at a time, as the textbook (and this module before it was
    vectorized) computes them: the reference for the vectorized version."""
    from statistics import NormalDist
    normal, alpha = NormalDist(), (1 - level) / 2
    out = np.full((samples.shape[1], 2), np.nan)
    for k in range(samples.shape[1]):
        column = samples[:, k][np.isfinite(samples[:, k])]
        jk = jack[:, k][np.isfinite(jack[:, k])]
        if len(column) < 2 or not np.isfinite(estimate[k]) or len(jk) < 3:
            continue
        below = (np.sum(column < estimate[k]) + 0.5 * np.sum(column == estimate[k])) / len(column)
        if not 0 < below < 1:
            continue
        z0, d = normal.inv_cdf(below), jk.mean() - jk
        denominator = 6 * np.sum(d ** 2) ** 1.5
        a = np.sum(d ** 3) / denominator if denominator > 0 else 0.0
        z = np.array([normal.inv_cdf(alpha), normal.inv_cdf(1 - alpha)])
        out[k] = np.quantile(column, [normal.cdf(v) for v in z0 + (z0 + z) / (1 - a * (z0 + z))])
    return out


def test_bca_of_every_column_at_once_equals_column_by_column():
    """Missing resamples, an undefined estimate, constant columns and jackknives, ties at the
    estimate, a column wholly missing: the vectorized BCa gives the per-column numbers."""
    from analysis.bootstrap import _intervals
    rng = np.random.default_rng(7)
    samples, estimate, jack = rng.normal(size=(999, 40)), rng.normal(size=40) * 0.05, rng.normal(size=(300, 40))
    samples[rng.random(samples.shape) < 0.02] = np.nan
    samples[:, 1] = np.nan                                 # never estimable
    samples[:, 2], estimate[2] = 1.0, 1.0                  # constant: below = 0.5 but no spread
    samples[:, 3], estimate[3] = np.round(samples[:, 3]), 0.0  # ties at the estimate
    jack[:, 4] = 0.0                                        # no acceleration (denominator 0)
    jack[:, 5] = np.nan                                     # no jackknife
    estimate[6] = np.nan
    samples[:, 7] = samples[:, 7] + 50                     # estimate below every resample
    bca = _intervals(samples, estimate, 0.95, jack)[1]
    expected = _bca_column_by_column(samples, estimate, 0.95, jack)
    np.testing.assert_array_equal(np.isnan(bca), np.isnan(expected))
    np.testing.assert_allclose(bca, expected, rtol=0, atol=1e-14)
    assert np.isfinite(bca[[0, 2, 3, 4]]).all() and np.isnan(bca[[1, 5, 6, 7]]).all()
