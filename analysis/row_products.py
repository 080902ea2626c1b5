"""Per-respondent values of a fit (construct scores, 0-100 indices), computed when first asked.

A fit on a million respondents needs only the item moments; its per-respondent scores are
one matrix product over the data, worth paying for only when someone reads them. A
:class:`RowProduct` holds the read-only data and the small matrices, and computes
``X @ matrix - offset`` once, on first use; pickled, it is stored as that result (what a
stored fit held before), so unpickling needs no data.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np


def read_only(X: np.ndarray) -> np.ndarray:
    """``X`` itself when no one can change its values (it and every array it views are
    read-only), else a read-only copy: a lazily computed result must see the data as fitted."""
    array = X
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            break
        if array.base is None:
            return X
        array = array.base
    copy = np.array(X)
    copy.flags.writeable = False
    return copy


def seal(X: np.ndarray) -> np.ndarray:
    """Mark ``X`` and every array it views read-only (for arrays this package created and owns)."""
    array = X
    while isinstance(array, np.ndarray):
        array.flags.writeable = False
        array = array.base
    return X


def _restored(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class RowProduct:
    """``X @ matrix - offset`` (n, k), columns ``blank`` NaN, computed on first use.

    ``X`` (n, p) data; ``matrix`` (p, k); ``offset`` (k,); ``blank`` (k,) bool. ``bounds``
    (low, high): the range the values cannot leave in exact arithmetic, clipped to it (the
    0-100 index, a weighted mean of answers rescaled to 0-100, computed as X @ matrix - offset,
    can round to 100.00000000000001 for a respondent who gave every top answer).
    """

    def __init__(self, X: np.ndarray, matrix: np.ndarray, offset: np.ndarray, blank: np.ndarray,
                 bounds: tuple[float, float] | None = None):
        self._X = read_only(X)
        self._bounds = bounds
        self._matrix = np.array(matrix, dtype=float)
        self._offset = np.array(offset, dtype=float)
        self._blank = np.array(blank, dtype=bool)

    @cached_property
    def array(self) -> np.ndarray:
        """The product (n, k), read-only."""
        # (k, p) @ (p, n) and a transpose, not X @ matrix: OpenBLAS writes the tall, narrow
        # (n, k) output of the latter several times slower (250 vs 60 ms for 1,000,000 x 24 @ 24 x 14).
        out = (self._matrix.T @ self._X.T).T
        out -= self._offset
        if self._bounds is not None:
            np.clip(out, *self._bounds, out=out)
        out[:, self._blank] = np.nan
        out.flags.writeable = False
        return out

    def __reduce__(self):
        return (_restored, (np.array(self.array),))


def materialized(value: "RowProduct | np.ndarray") -> np.ndarray:
    """The array behind a PLSResults per-respondent field (computed on first use)."""
    return value.array if isinstance(value, RowProduct) else value
