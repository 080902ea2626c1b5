"""Turn a table of answers into the numeric matrix an estimator needs.

Validation happens here, at the boundary, with messages that name the column, the
row or the construct: unknown columns, non-numeric cells, constant items, perfectly
collinear items, too few respondents. Don't-know codes become missing, reverse-coded
items are flipped, and missing values are handled by listwise deletion or mean
imputation; the result records what was dropped and why.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

MISSING_METHODS = ("listwise", "mean", "keep")
STANDARD_SCALES = ((1, 5), (1, 7), (1, 10), (0, 10), (0, 100))  # tightest first


class DataError(CSIError):
    """The data cannot be estimated as given; the message names the culprit."""


@dataclass(frozen=True)
class ItemInfo:
    """Per-item facts from a questionnaire: scale range, don't-know code, reverse flag."""

    minimum: float
    maximum: float
    dont_know: float | None = None
    reverse: bool = False


@dataclass(frozen=True)
class PreparedData:
    """Numeric item matrix ready for estimation.

    ``values``: float64 array (n_used, p), columns in ``items`` order; no missing values
    except with ``missing="keep"``, where NaN marks an unanswered item (for FIML).
    ``scales``: item -> (minimum, maximum) of its answer scale (for 0-100 indices).
    """

    values: np.ndarray
    items: tuple[str, ...]
    index: pd.Index
    scales: Mapping[str, tuple[float, float]]
    n_total: int
    dropped: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    missing: str = "listwise"

    @property
    def n_used(self) -> int:
        return self.values.shape[0]


def items_from_questionnaire(questionnaire) -> dict[str, ItemInfo]:
    """ItemInfo for every rating item of a :class:`models.Questionnaire`."""
    return {q.id: ItemInfo(q.scale.minimum, q.scale.maximum, q.scale.dont_know_code, q.reverse)
            for q in questionnaire.rating_items}


def infer_scale(observed_min: float, observed_max: float) -> tuple[float, float]:
    """The smallest standard rating scale containing the observed range."""
    for low, high in STANDARD_SCALES:
        if low <= observed_min and observed_max <= high:
            return (low, high)
    return (observed_min, observed_max)


def prepare(data: pd.DataFrame, model: Model, item_info: Mapping[str, ItemInfo] | None = None,
            missing: str = "listwise", scales: Mapping[str, tuple[float, float]] | None = None,
            min_rows: int | None = None) -> PreparedData:
    """Validate ``data`` against ``model`` and return the estimation matrix.

    ``item_info`` (from a questionnaire) supplies scales, don't-know codes and reverse
    flags; ``scales`` overrides scale ranges per item; otherwise the scale is the
    smallest standard scale (1-5, 1-7, 0-10, 1-10, ...) that holds the observed values.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if missing not in MISSING_METHODS:
        raise DataError(f"unknown missing-data method {missing!r}; choose one of {', '.join(MISSING_METHODS)}")
    item_info = dict(item_info or {})
    items = model.items
    absent = [item for item in items if item not in data.columns]
    if absent:
        hints = []
        for item in absent:
            close = difflib.get_close_matches(str(item), [str(c) for c in data.columns], n=1, cutoff=0.5)
            construct = next(c.name for c in model.constructs if item in c.items)
            hints.append(f"{item!r} (construct {construct!r}{'; did you mean ' + repr(close[0]) + '?' if close else ''})")
        raise DataError(f"item column{'s' if len(absent) > 1 else ''} not in the data: {', '.join(hints)}")
    if data.columns.duplicated().any():
        dup = data.columns[data.columns.duplicated()][0]
        raise DataError(f"column {dup!r} appears twice in the data")
    frame = data.loc[:, list(items)]
    numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes]
    if all(numeric):
        matrix = frame.to_numpy(dtype=float, na_value=np.nan)  # one block copy: the common, fast case
    else:
        matrix = np.column_stack([frame[item].to_numpy(dtype=float, na_value=np.nan) if is_numeric
                                  else _numeric_column(frame[item], item) for item, is_numeric in zip(items, numeric)])
    matrix = np.where(np.isfinite(matrix), matrix, np.nan)
    notes = []
    dont_know_counts = 0
    for j, item in enumerate(items):
        info = item_info.get(item)
        if info and info.dont_know is not None:
            hits = matrix[:, j] == info.dont_know
            dont_know_counts += int(hits.sum())
            matrix[hits, j] = np.nan
    if dont_know_counts:
        notes.append(f"{dont_know_counts} don't-know/not-applicable answers treated as missing")
    resolved_scales = {}
    undeclared = [j for j, item in enumerate(items) if not (scales and item in scales) and item not in item_info]
    common = None
    if undeclared and np.isfinite(matrix[:, undeclared]).any():
        # One scale for every undeclared item: an item nobody rated above 7 is still on the 1-10 scale.
        common = infer_scale(np.nanmin(matrix[:, undeclared]), np.nanmax(matrix[:, undeclared]))
        notes.append(f"answer scale {common[0]:g}-{common[1]:g} inferred from the data for "
                     f"{len(undeclared)} item{'s' if len(undeclared) > 1 else ''}; pass scales or a questionnaire to set it")
    for j, item in enumerate(items):
        column = matrix[:, j]
        if scales and item in scales:
            low, high = scales[item]
        elif item in item_info:
            low, high = item_info[item].minimum, item_info[item].maximum
        elif common is not None:
            low, high = common
        else:
            low, high = (np.nan, np.nan)
        resolved_scales[item] = (float(low), float(high))
        present = column[np.isfinite(column)]
        if item in item_info or (scales and item in scales):
            outside = (present < low) | (present > high)
            if outside.any():
                row = frame.index[np.flatnonzero(np.isfinite(column))[np.argmax(outside)]]
                raise DataError(f"column {item!r}, row {row!r}: value {present[outside][0]:g} is outside the scale {low:g}..{high:g}")
        if item_info.get(item) and item_info[item].reverse:
            matrix[:, j] = low + high - column
    if any(info.reverse for item, info in item_info.items() if item in items):
        flipped = [item for item in items if item_info.get(item) and item_info[item].reverse]
        notes.append(f"reverse-coded items flipped: {', '.join(flipped)}")
    n_total = matrix.shape[0]
    row_missing = np.isnan(matrix).any(axis=1)
    dropped = {}
    index = frame.index
    all_missing = [item for j, item in enumerate(items) if np.isnan(matrix[:, j]).all()]
    if all_missing:
        raise DataError(f"item{'s' if len(all_missing) > 1 else ''} {', '.join(map(repr, all_missing))} "
                        f"{'have' if len(all_missing) > 1 else 'has'} no valid answers")
    if missing == "listwise":
        if row_missing.any():
            dropped["missing values (listwise deletion)"] = int(row_missing.sum())
            matrix = matrix[~row_missing]
            index = index[~row_missing]
    elif missing == "mean":
        means = np.nanmean(matrix, axis=0)
        holes = np.isnan(matrix)
        if holes.any():
            notes.append(f"{int(holes.sum())} missing values in {int(row_missing.sum())} rows replaced by item means")
            matrix = np.where(holes, means, matrix)
    else:  # "keep": the holes stay for estimators that model them (FIML); only empty rows go
        empty = np.isnan(matrix).all(axis=1)
        if empty.any():
            dropped["no answer to any model item"] = int(empty.sum())
            matrix, index = matrix[~empty], index[~empty]
        if row_missing.any():
            notes.append(f"{int(np.isnan(matrix).sum())} missing values in {int(np.isnan(matrix).any(axis=1).sum())} rows "
                         "kept for full-information estimation")
    n_used = matrix.shape[0]
    required = min_rows if min_rows is not None else max(10, len(items) + 1)
    if n_used < required:
        raise DataError(f"{n_used} usable respondents for {len(items)} items; need at least {required}"
                        + (f" ({n_total - n_used} dropped for missing values)" if n_total > n_used else ""))
    # The checks need a complete matrix; with holes kept, they look at the item-mean-filled one.
    checked = np.where(np.isnan(matrix), np.nanmean(matrix, axis=0), matrix) if missing == "keep" else matrix
    sd = checked.std(axis=0, ddof=1)
    constant = [item for item, s in zip(items, sd) if not s > 0]
    if constant:
        item = constant[0]
        construct = next(c.name for c in model.constructs if item in c.items)
        value = checked[0, items.index(item)]
        raise DataError(f"item {item!r} of construct {construct!r} has the same value ({value:g}) for every respondent; "
                        "it carries no information: drop it from the model")
    _check_collinear(checked, items, model)
    return PreparedData(matrix, tuple(items), index, resolved_scales, n_total, dropped, tuple(notes), missing)


def _numeric_column(column: pd.Series, item: str) -> np.ndarray:
    """Convert a text-like column, naming the first cell that is not a number."""
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna() & (column.astype(str).str.strip() != "")
    if bad.any():
        row = bad.idxmax()
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"column {item!r}, row {row!r} (data row {position + 1}): {column.loc[row]!r} is not a number"
                        + (f" ({int(bad.sum())} such cells in this column)" if bad.sum() > 1 else ""))
    return converted.to_numpy(dtype=float, na_value=np.nan)


def _check_collinear(matrix: np.ndarray, items: tuple[str, ...], model: Model) -> None:
    corr = np.corrcoef(matrix, rowvar=False)
    p = len(items)
    upper = np.triu(np.abs(corr), k=1)
    a, b = np.unravel_index(np.argmax(upper), upper.shape) if p > 1 else (0, 0)
    if p > 1 and upper[a, b] > 1 - 1e-10:
        raise DataError(f"items {items[a]!r} and {items[b]!r} are perfectly collinear (r = {corr[a, b]:+.6f}); "
                        "one of them duplicates the other: drop one")
    for construct in model.constructs:
        if construct.is_formative and len(construct.items) > 1:
            idx = [items.index(i) for i in construct.items]
            sub = corr[np.ix_(idx, idx)]
            if np.linalg.matrix_rank(sub, tol=1e-10) < len(idx):
                raise DataError(f"the items of formative construct {construct.name!r} are linearly dependent "
                                "(one is a combination of the others); Mode B weights are not defined")
