"""Turn a table of answers into the numeric matrix an estimator needs.

Validation happens here, at the boundary, with messages that name the column, the
row or the construct: unknown columns, non-numeric cells, constant items, perfectly
collinear items, too few respondents. Don't-know codes become missing, reverse-coded
items are flipped, respondents missing too many items can be dropped, and missing values
are handled by listwise deletion, mean imputation or chained equations
(:mod:`analysis.imputation`); the result records what was dropped and imputed, and why.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .row_products import seal
from .statistics import Moments, moments

MISSING_METHODS = ("listwise", "mean", "chained", "keep")
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
    weights: np.ndarray | None = None  # (n_used,) respondent weights (weighted PLS), None = all 1
    # (values, their unweighted Moments) as prepare() computed them for its checks, so a fit
    # needs no second pass over a large matrix; read through moments(), which ignores it once
    # ``values`` was replaced (dataclasses.replace copies this field along).
    _moments: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def n_used(self) -> int:
        return self.values.shape[0]

    def moments(self) -> Moments:
        """Unweighted moments of ``values`` (:func:`analysis.statistics.moments`), computed once."""
        if self._moments is not None and self._moments[0] is self.values:
            return self._moments[1]
        return moments(self.values)


def items_from_questionnaire(questionnaire) -> dict[str, ItemInfo]:
    """ItemInfo for every rating item of a :class:`models.Questionnaire`."""
    return {q.id: ItemInfo(q.scale.minimum, q.scale.maximum, q.scale.dont_know_code, q.reverse)
            for q in questionnaire.rating_items}


DONT_KNOW_LOOKALIKES = (98.0, 99.0)  # codes survey tools write for "don't know" / "refused"


class AmbiguousScale(DataError):
    """An undeclared item's observed answers fit more than one standard scale."""


def infer_item_scale(item: str, values: np.ndarray, strict: bool = True) -> tuple[float, float]:
    """The answer scale of one undeclared item from its own answers (``values``, NaN = missing).

    Identified when the item's top answer is the top of the tightest standard scale holding
    its answers (5 -> 1-5, 7 -> 1-7, 10 -> 1-10 or 0-10 by whether a 0 occurs), or when only
    one standard scale fits (answers 1..9 -> 1-10). A 0-100 scale is considered only for
    answers above 10, and 0-10 only when a 0 occurs. Otherwise the range is ambiguous
    (answers 1..6: 1-7 or 1-10?): ``strict`` refuses, naming the item and what to pass;
    lenient takes the tightest scale. An undeclared 98 or 99 never becomes an answer on an
    inferred 0-100 scale (it is usually a don't-know code): refused whatever ``strict`` says.
    Integer answers fitting no standard scale are refused too (a code?); continuous answers
    (negative or fractional) on no standard scale get (nan, nan) when ``strict``: the model
    is estimated, and no 0-100 index is claimed for their constructs.
    """
    present = values[np.isfinite(values)]
    return _scale_from_range(item, float(present.min()), float(present.max()), values, strict)


def _scale_from_range(item: str, low: float, high: float, values: np.ndarray, strict: bool) -> tuple[float, float]:
    """:func:`infer_item_scale` given the item's smallest and largest answer; ``values`` (the
    column, NaN = missing) is read only by the rare branches that look at single answers."""
    def observed() -> np.ndarray:
        return values[np.isfinite(values)]

    candidates = [s for s in STANDARD_SCALES if s[0] <= low and high <= s[1]]
    if high <= 10:
        candidates = [s for s in candidates if s != (0, 100)]
    if low > 0:
        candidates = [s for s in candidates if s != (0, 10)]

    def hint(scale: tuple[float, float]) -> str:
        return (f"pass its scale (csi fit --scales {item}={scale[0]:g}-{scale[1]:g}, or "
                f"scales={{{item!r}: ({scale[0]:g}, {scale[1]:g})}}) or a questionnaire")

    if not candidates:
        if not strict:  # CB-SEM has no index: the observed range is all anyone needs
            return (low, high)
        present = observed()
        if low < 0 or not np.array_equal(present, np.round(present)):
            # Continuous scores (standardized, sums, simulations) are on no rating scale: the
            # model is estimated, but no 0-100 index is claimed for their constructs.
            return (np.nan, np.nan)
        raise AmbiguousScale(f"item {item!r} has answers {low:g}..{high:g}, which fit no standard rating scale "
                             f"({', '.join(f'{a}-{b}' for a, b in STANDARD_SCALES)}): {hint((low, high))}, or --dont-know "
                             "with the codes that are not answers")
    codes = [c for c in DONT_KNOW_LOOKALIKES if low <= c <= high] if candidates[0] == (0, 100) else []
    if codes:
        present = observed()
        codes = [c for c in codes if (present == c).any()]
    if codes:
        listed = ",".join(f"{c:g}" for c in codes)
        rest = present[~np.isin(present, codes)]
        answers = f"answers {rest.min():g}..{rest.max():g} besides" if rest.size else "only the answers"
        what, them = ("don't-know codes", "them") if len(codes) > 1 else ("a don't-know code", "it")
        raise AmbiguousScale(
            f"item {item!r} has {answers} {' and '.join(f'{c:g}' for c in codes)}, which may be {what} rather than "
            f"an answer on a 0-100 scale: pass --dont-know {listed} (dont_know=[{listed}]) to treat {them} as "
            f"missing, or {hint((0, 100))} if it is a real answer")
    if high == candidates[0][1] or len(candidates) == 1 or not strict:
        return (float(candidates[0][0]), float(candidates[0][1]))
    raise AmbiguousScale(
        f"item {item!r}: answers {low:g}..{high:g} fit the {' or '.join(f'{a}-{b}' for a, b in candidates)} scale "
        f"and nobody chose the top of either, so its scale cannot be told from the data: {hint(candidates[-1])}")


def parse_scales(spec: str, items: tuple[str, ...] | list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Item scales from ``IMAG1-IMAG5=1-10,CUSCO=1-5`` (a range of items shares a prefix and
    numbers) or from YAML text mapping the same keys to ``1-10``, ``[1, 10]`` or ``{min: 1, max: 10}``.
    ``items`` (the model's) checks every named item exists."""
    import yaml

    text = spec.strip()
    if not text:
        raise DataError("--scales is empty: give ITEM=MIN-MAX pairs separated by commas, or a YAML file")
    entries: list[tuple[str, object]] = []
    if ":" in text or "=" not in text:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise DataError("scales file is not valid YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
        if not isinstance(loaded, dict):
            raise DataError("scales must map items to MIN-MAX (IMAG1-IMAG5=1-10,CUSCO=1-5, or YAML lines such as "
                            f"'IMAG1-IMAG5: 1-10'), not {text[:40]!r}")
        entries = [(str(k), v) for k, v in loaded.items()]
    else:
        for part in re.split(r"[,\n]", text):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(f"--scales entry {part.strip()!r} is not ITEM=MIN-MAX (e.g. CUSCO=1-5)")
            key, value = part.split("=", 1)
            entries.append((key.strip(), value.strip()))
    out: dict[str, tuple[float, float]] = {}
    for key, value in entries:
        bounds = _scale_bounds(key, value)
        for item in _expand_items(key):
            if items is not None and item not in items:
                close = difflib.get_close_matches(item, list(items), n=1, cutoff=0.5)
                raise DataError(f"--scales names item {item!r}, which the model does not have"
                                + (f"; did you mean {close[0]!r}?" if close else ""))
            out[item] = bounds
    return out


_NUMBER = r"-?\d+(?:\.\d+)?"


def _scale_bounds(key: str, value) -> tuple[float, float]:
    if isinstance(value, dict) and set(value) >= {"min", "max"}:
        low, high = value["min"], value["max"]
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = value
    else:
        match = re.fullmatch(rf"\s*({_NUMBER})\s*(?:-|\.\.|–)\s*({_NUMBER})\s*", str(value))
        if not match:
            raise DataError(f"scale of {key!r} is {value!r}; write MIN-MAX, e.g. 1-10")
        low, high = match.groups()
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise DataError(f"scale of {key!r} is {value!r}; its ends must be numbers") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise DataError(f"scale of {key!r} runs from {low:g} to {high:g}; the minimum must be below the maximum")
    return (low, high)


def _expand_items(key: str) -> list[str]:
    """``IMAG1-IMAG5`` -> IMAG1..IMAG5; anything else is one item name."""
    match = re.fullmatch(r"(.*?)(\d+)-(.*?)(\d+)", key)
    if match and match[1] == match[3] and int(match[2]) <= int(match[4]):
        first, last = int(match[2]), int(match[4])
        if last - first > 1000:
            raise DataError(f"item range {key!r} spans more than 1000 items")
        return [f"{match[1]}{k}" for k in range(first, last + 1)]
    return [key]


def parse_codes(spec: str) -> tuple[float, ...]:
    """Don't-know codes from ``99,98``."""
    try:
        codes = tuple(float(part) for part in spec.split(",") if part.strip())
    except ValueError:
        raise DataError(f"--dont-know {spec!r}: give numbers separated by commas, e.g. 99,98") from None
    if not codes:
        raise DataError("--dont-know is empty: give codes such as 99,98")
    if not all(np.isfinite(codes)):
        raise DataError(f"--dont-know {spec!r}: codes must be finite numbers, e.g. 99,98")
    return codes


def prepare(data: pd.DataFrame, model: Model, item_info: Mapping[str, ItemInfo] | None = None,
            missing: str = "listwise", scales: Mapping[str, tuple[float, float]] | None = None,
            min_rows: int | None = None, dont_know: tuple[float, ...] | list[float] = (),
            strict_scales: bool = False, max_missing: float | None = None, seed: int = 0,
            weights: np.ndarray | None = None) -> PreparedData:
    """Validate ``data`` against ``model`` and return the estimation matrix.

    ``item_info`` (from a questionnaire) supplies scales, don't-know codes and reverse
    flags; ``scales`` overrides scale ranges per item; ``dont_know`` codes are missing in
    every item. An undeclared item's scale is inferred from its own answers
    (:func:`infer_item_scale`); ``strict_scales`` (what a 0-100 index needs) refuses an item
    whose range fits several scales, else the tightest is taken and the notes say so.

    ``max_missing`` (0..1, e.g. 0.3 as EPSI): respondents with a larger share of the model's
    items missing are dropped first. ``missing="chained"`` imputes the remaining holes by
    chained equations, seeded by ``seed`` (see :mod:`analysis.imputation`).
    ``weights`` (n,) respondent weights (:func:`analysis.weights.weight_column`) follow the rows kept.
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
    matrix = _item_matrix(frame, items, numeric)
    # Each item's smallest and largest answer in one pass per column. min/max propagate NaN
    # and inf, so a finite range proves a column complete and finite: the per-cell passes
    # below (non-finite to missing, missing rows) then touch only the columns that need them.
    seen_low, seen_high = _column_ranges(matrix)
    holes = ~(np.isfinite(seen_low) & np.isfinite(seen_high))  # columns that may hold NaN
    for j in np.flatnonzero(holes):
        column = matrix[:, j]
        column[~np.isfinite(column)] = np.nan
    notes = []
    dont_know_counts = 0
    for j, item in enumerate(items):
        info = item_info.get(item)
        if info and info.dont_know is not None:
            hits = matrix[:, j] == info.dont_know
            if hits.any():
                dont_know_counts += int(hits.sum())
                matrix[hits, j] = np.nan
                holes[j] = True
    if len(dont_know):
        hits = np.isin(matrix, np.asarray(dont_know, dtype=float))
        dont_know_counts += int(hits.sum())
        matrix[hits] = np.nan
        holes |= hits.any(axis=0)
    for j in np.flatnonzero(holes):
        present = matrix[:, j][~np.isnan(matrix[:, j])]
        seen_low[j], seen_high[j] = (present.min(), present.max()) if present.size else (np.nan, np.nan)
    if dont_know_counts:
        notes.append(f"{dont_know_counts} don't-know/not-applicable answers treated as missing")
    resolved_scales = {}
    # Each undeclared item's scale from its own answers: one item on 1-5 among 1-10 items
    # is not stretched to 1-10 (which would put its answers near the bottom of the index).
    inferred: dict[tuple[float, float], list[str]] = {}
    continuous: list[str] = []
    for j, item in enumerate(items):
        column = matrix[:, j]
        if scales and item in scales:
            low, high = scales[item]
        elif item in item_info:
            low, high = item_info[item].minimum, item_info[item].maximum
        elif np.isfinite(seen_low[j]):
            low, high = _scale_from_range(item, float(seen_low[j]), float(seen_high[j]), column, strict_scales)
            if np.isfinite(low):
                inferred.setdefault((low, high), []).append(item)
            else:
                continuous.append(item)
        else:
            low, high = (np.nan, np.nan)
        resolved_scales[item] = (float(low), float(high))
        if (item in item_info or (scales and item in scales)) and (seen_low[j] < low or seen_high[j] > high):
            present = column[np.isfinite(column)]
            outside = (present < low) | (present > high)
            row = frame.index[np.flatnonzero(np.isfinite(column))[np.argmax(outside)]]
            raise DataError(f"column {item!r}, row {row!r}: value {present[outside][0]:g} is outside the scale {low:g}..{high:g}")
        if item_info.get(item) and item_info[item].reverse:
            matrix[:, j] = low + high - column
    if continuous:
        notes.append(f"{_item_list(continuous)} {'hold' if len(continuous) > 1 else 'holds'} continuous scores on no "
                     "rating scale: no 0-100 index for their constructs (pass scales to get one)")
    if inferred:
        described = "; ".join(f"{low:g}-{high:g} for {_item_list(names)}" for (low, high), names in inferred.items())
        notes.append(f"answer scales inferred from each item's answers: {described}; pass scales or a questionnaire "
                     "to set them")
    if any(info.reverse for item, info in item_info.items() if item in items):
        flipped = [item for item in items if item_info.get(item) and item_info[item].reverse]
        notes.append(f"reverse-coded items flipped: {', '.join(flipped)}")
    n_total = matrix.shape[0]
    row_missing = (np.isnan(matrix[:, holes]).any(axis=1) if holes.any() else np.zeros(n_total, dtype=bool))
    dropped = {}
    index = frame.index
    all_missing = [item for j, item in enumerate(items) if np.isnan(seen_low[j])]
    if all_missing:
        raise DataError(f"item{'s' if len(all_missing) > 1 else ''} {', '.join(map(repr, all_missing))} "
                        f"{'have' if len(all_missing) > 1 else 'has'} no valid answers")
    if max_missing is not None:
        from .imputation import sparse_rows
        try:  # complete data: an empty slice, so only max_missing itself is checked
            sparse = sparse_rows(matrix if holes.any() else matrix[:0], max_missing)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        if sparse.any():
            dropped[f"more than {max_missing:.0%} of the model's items missing"] = int(sparse.sum())
            matrix, index = matrix[~sparse], index[~sparse]
            weights = None if weights is None else weights[~sparse]
            row_missing = np.isnan(matrix).any(axis=1)
    if missing == "listwise":
        if row_missing.any():
            dropped["missing values (listwise deletion)"] = int(row_missing.sum())
            matrix = matrix[~row_missing]
            index = index[~row_missing]
            weights = None if weights is None else weights[~row_missing]
    elif missing == "mean":
        means = np.nanmean(matrix, axis=0)
        holes = np.isnan(matrix)
        if holes.any():
            notes.append(f"{int(holes.sum())} missing values in {int(row_missing.sum())} rows replaced by item means")
            matrix = np.where(holes, means, matrix)
    elif missing == "chained":
        holes = np.isnan(matrix)
        if holes.any():
            from .imputation import impute_chained
            bounds = np.array([resolved_scales[item] for item in items], dtype=float)
            matrix = impute_chained(matrix, bounds[:, 0], bounds[:, 1], seed=seed)
            notes.append(f"{int(holes.sum())} missing values in {int(holes.any(axis=1).sum())} rows imputed by chained "
                         "equations (scikit-learn IterativeImputer, Bayesian ridge, within each item's scale; "
                         "one imputation: intervals leave its uncertainty out)")
    else:  # "keep": the holes stay for estimators that model them (FIML); only empty rows go
        empty = np.isnan(matrix).all(axis=1)
        if empty.any():
            dropped["no answer to any model item"] = int(empty.sum())
            matrix, index = matrix[~empty], index[~empty]
            weights = None if weights is None else weights[~empty]
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
    mom = moments(checked)
    sd = np.sqrt(np.diagonal(mom.cov[0]) * (n_used / max(n_used - 1, 1)))  # ddof=1, as the old std(ddof=1)
    constant = [item for item, s in zip(items, sd) if not s > 0]
    if constant:
        item = constant[0]
        construct = next(c.name for c in model.constructs if item in c.items)
        value = checked[0, items.index(item)]
        raise DataError(f"item {item!r} of construct {construct!r} has the same value ({value:g}) for every respondent; "
                        "it carries no information: drop it from the model")
    _check_collinear(mom.corr[0], items, model)
    if weights is not None and not (weights > 0).any():
        raise DataError("every respondent left after removing missing values has weight 0")
    seal(matrix)  # results computed from it later (scores, analysis.row_products) must see these values
    return PreparedData(matrix, tuple(items), index, resolved_scales, n_total, dropped, tuple(notes), missing,
                        weights, _moments=None if missing == "keep" else (matrix, mom))


def _item_matrix(frame: pd.DataFrame, items: tuple[str, ...], numeric: list[bool]) -> np.ndarray:
    """The items as a new, writable float64 matrix (n, p), column-major (each item's answers
    contiguous, as pandas holds them), never sharing memory with ``frame``."""
    if all(numeric):
        matrix = frame.to_numpy(dtype=float, na_value=np.nan)  # one block copy: the common, fast case
        if not matrix.flags.writeable or np.may_share_memory(matrix, frame.iloc[:, 0].to_numpy()):
            matrix = np.array(matrix, order="F")  # a float frame hands out a view of its own data
        return matrix
    matrix = np.empty((len(frame), len(items)), order="F")
    for j, (item, is_numeric) in enumerate(zip(items, numeric)):
        matrix[:, j] = frame[item].to_numpy(dtype=float, na_value=np.nan) if is_numeric else _numeric_column(frame[item], item)
    return matrix


def _column_ranges(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column min and max (p,), NaN where a column holds NaN (or there are no rows)."""
    if matrix.shape[0] == 0:
        return np.full(matrix.shape[1], np.nan), np.full(matrix.shape[1], np.nan)
    return matrix.min(axis=0), matrix.max(axis=0)


def _item_list(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


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


def _check_collinear(corr: np.ndarray, items: tuple[str, ...], model: Model) -> None:
    """Refuse duplicated items and linearly dependent formative blocks, from the item correlations (p, p)."""
    p = len(items)
    upper = np.triu(np.abs(corr), k=1)
    a, b = np.unravel_index(np.argmax(upper), upper.shape) if p > 1 else (0, 0)
    if p > 1 and upper[a, b] > 1 - 1e-10:
        raise DataError(f"items {items[a]!r} and {items[b]!r} are perfectly collinear (r = {corr[a, b]:+.6f}); "
                        "one of them duplicates the other: drop one")
    for construct in model.constructs:
        if construct.is_formative and len(construct.items) > 1 and construct.name not in model.higher_order:
            idx = [items.index(i) for i in construct.items]
            sub = corr[np.ix_(idx, idx)]
            if np.linalg.matrix_rank(sub, tol=1e-10) < len(idx):
                raise DataError(f"the items of formative construct {construct.name!r} are linearly dependent "
                                "(one is a combination of the others); Mode B weights are not defined")
