"""Respondent weights for weighted PLS (Becker & Ismail 2016, Accounting for sampling
weights in PLS path modeling: Simulations and empirical examples, European Management
Journal 34(6):606-617).

A weight is a row's multiplicity: every moment PLS uses (item means, covariances,
correlations) is the weighted one, sum_n w_n x_n / sum_n w_n, so integer weights give
exactly the fit on rows repeated that many times. Only the ratio of weights matters.
"""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from .data import DataError


def weight_column(data: pd.DataFrame, column: str) -> np.ndarray:
    """The weights in ``data[column]`` as a float array (n,), validated.

    Refused, naming the column and the first bad row (label and 1-based data row): a
    missing column, a non-number, NaN or infinity, a negative weight, all weights zero.
    """
    if column not in data.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in data.columns], n=1, cutoff=0.5)
        raise DataError(f"weight column {column!r} is not in the data"
                        + (f"; did you mean {close[0]!r}?" if close else ""))
    raw = data[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        value = raw.iloc[position]
        shown = f"{float(value):g}" if isinstance(value, (int, float, np.number)) else repr(value)
        why = "is negative" if np.isfinite(values[position]) else "is not a finite number"
        raise DataError(f"weight column {column!r}, row {data.index[position]!r} (data row {position + 1}): "
                        f"{shown} {why}; weights must be finite numbers >= 0"
                        + (f" ({int(bad.sum())} such rows)" if bad.sum() > 1 else ""))
    if not (values > 0).any():
        raise DataError(f"weight column {column!r} is zero in every row (first row {data.index[0]!r}, data row 1): "
                        "at least one respondent needs a positive weight")
    return values


def effective_n(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    return float(weights.sum() ** 2 / (weights ** 2).sum())
