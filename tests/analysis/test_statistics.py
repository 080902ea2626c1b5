"""Item moments: the one-pass route for large matrices agrees with centring first."""
import numpy as np
import pytest

from analysis import statistics as st


def centred(X):
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / X.shape[0]


@pytest.mark.parametrize("offset", [0.0, 1e6])  # 1e6: too much cancellation, centred blocks instead
def test_one_pass_moments_equal_centred_ones(monkeypatch, offset):
    rng = np.random.default_rng(3)
    X = np.asfortranarray(rng.integers(1, 11, size=(40_000, 6)).astype(float) + offset)
    X[:, 2] += 0.5 * X[:, 0]
    X[:, 5] = 7.0 + offset  # constant: variance exactly 0 either way
    monkeypatch.setattr(st, "ONE_PASS_CELLS", 1000)
    mom = st.moments(X)
    np.testing.assert_allclose(mom.means[0], X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(mom.cov[0], centred(X), rtol=1e-12, atol=1e-12)
    assert mom.cov[0][5, 5] == 0.0


def test_small_matrices_keep_the_centred_route():
    X = np.random.default_rng(4).normal(5, 2, size=(250, 4))
    np.testing.assert_array_equal(st.moments(X).cov[0], centred(X))
