"""Estimation for CSI models: PLS path modeling, covariance-based SEM, 0-100 indices,
measurement quality and bootstrap inference. Never imports Flask.

    >>> from analysis import fit
    >>> results = fit(model, data, method="pls", n_boot=5000, seed=1)
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from models.csi_model import Model

from .data import DataError, ItemInfo, prepare
from .pls import PLSPM, ConvergenceError
from .results import PLSResults

METHODS = ("pls", "plsc", "cbsem")


def fit(model: Model, data: pd.DataFrame, method: str = "pls", *, questionnaire=None, **options: Any):
    """Fit ``model`` on ``data`` by PLS path modeling (``"pls"``), consistent PLS (``"plsc"``)
    or ML SEM (``"cbsem"``).

    PLS options: scheme, scaled, tol, max_iter, missing ("mean", "chained", ...), max_missing, n_boot, seed, level, workers,
    progress, scales, weights (a column of respondent weights), hoc ("two-stage" or
    "repeated", for higher-order constructs), interaction ("two-stage", "product", "orthogonal"),
    fit_test (resamples of the test of exact fit). CB-SEM options: missing ("listwise", "mean", "fiml"), estimator
    ("ml", "mlr"), allow_negative_variance, on_progress(stage, fraction), tol. Both:
    dont_know (codes treated as missing in every item, e.g. (99, 98)).
    """
    dont_know = tuple(options.pop("dont_know", None) or ())
    if method in ("pls", "plsc"):
        scales = options.pop("scales", None)
        return PLSPM(model, consistent=method == "plsc", **options).fit(data, questionnaire=questionnaire, scales=scales, dont_know=dont_know)
    if method == "cbsem":
        from .cbsem import CBSEM
        if dont_know:  # CB-SEM has no 0-100 index: the codes only need to become missing
            data = data.copy()
            present = [item for item in model.items if item in data.columns]
            data[present] = data[present].mask(data[present].isin(dont_know))
        return CBSEM(model, **options).fit(data, questionnaire=questionnaire)
    raise DataError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


__all__ = ["ConvergenceError", "DataError", "ItemInfo", "PLSPM", "PLSResults", "fit", "prepare"]
