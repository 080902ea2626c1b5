"""Missing answers the way national indices handle them.

EPSI and ACSI practice (EPSI Rating's technical notes; Fornell et al. 1996): "don't know"
becomes missing (analysis.data does that), respondents who left more than a set share of
the model's items unanswered are dropped (EPSI uses 30 %), and the remaining holes are
imputed before estimation, so one unanswered item does not cost the whole respondent.

Imputation by chained equations (van Buuren & Groothuis-Oudshoorn 2011, J. Stat. Softw.
45(3)) through scikit-learn's ``IterativeImputer``: each item with holes is regressed on all
the others (Bayesian ridge), in rounds until the imputations settle; imputed values stay
inside the item's answer scale. A single deterministic imputation (seeded, no posterior
draws): the estimates are what an analyst would get, but the bootstrap intervals do not
include the uncertainty of the imputation, which matters when much is missing; the notes
say how many values were imputed. Not written by hand: scikit-learn's imputer is
maintained and tested far beyond what this module could be.
"""
from __future__ import annotations

import warnings

import numpy as np

EPSI_MAX_MISSING = 0.30  # EPSI drops respondents with more than 30 % of the model's items missing


def sparse_rows(matrix: np.ndarray, max_share: float) -> np.ndarray:
    """Boolean mask (n,) of rows whose share of missing cells exceeds ``max_share`` (0..1)."""
    if not 0 <= max_share < 1:
        raise ValueError(f"the largest share of missing items must be at least 0 and below 1, got {max_share}")
    return np.isnan(matrix).mean(axis=1) > max_share


def impute_chained(matrix: np.ndarray, low: np.ndarray, high: np.ndarray, seed: int = 0,
                   max_iter: int = 10) -> np.ndarray:
    """``matrix`` (n, p, NaN = missing) with every hole imputed by chained equations, each
    imputed value clipped to its item's scale ``low[j]``..``high[j]`` (NaN bounds: none).
    Observed cells are returned unchanged."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (the API's opt-in)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.impute import IterativeImputer
    from sklearn.linear_model import BayesianRidge

    holes = np.isnan(matrix)
    if not holes.any():
        return matrix.copy()
    imputer = IterativeImputer(estimator=BayesianRidge(), max_iter=max_iter, random_state=seed,
                               sample_posterior=False, skip_complete=True,
                               min_value=np.where(np.isfinite(low), low, -np.inf),
                               max_value=np.where(np.isfinite(high), high, np.inf))
    with warnings.catch_warnings():
        # Stopping at max_iter rounds before the tolerance is met is normal for survey items
        # on integer scales; the imputations change by less than a scale point by then.
        warnings.simplefilter("ignore", ConvergenceWarning)
        filled = imputer.fit_transform(matrix)
    return np.where(holes, filled, matrix)
