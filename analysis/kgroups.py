"""More than two groups (regions, tiers, brands): one omnibus permutation test across all k
groups before any pairwise test.

Comparing k segments pair by pair makes k(k-1)/2 comparisons per parameter, and some will
look "significant" by chance. The omnibus test asks first whether the parameter differs
anywhere among the k groups (Chin & Dibbern 2010's permutation MGA, extended to k groups as
in Sarstedt, Henseler & Ringle 2011's omnibus test of group differences):

- statistic per parameter (each 0-100 index, path, total effect and R²): the between-group
  sum of squares of the group estimates, ``T = sum_g n_g (theta_g - theta_bar)^2`` with
  ``theta_bar = sum_g n_g theta_g / n``: a one-way ANOVA's numerator, applied to estimates;
- its null distribution by permutation: respondents reshuffled among the k groups (group
  sizes kept), every group re-estimated on the batched PLS engine;
- p = (1 + #{T* >= T}) / (1 + valid permutations); Holm-adjusted within each family (indices,
  paths, total effects, R²), as the two-group comparison does.

For k = 2, T = n_a n_b / n (theta_b - theta_a)^2 is monotone in the absolute difference, so
with the same permutations the p-values equal :func:`analysis.groups.compare_groups`'s
(tested). Pairwise comparisons follow on request (each with its MICOM), their p-values
Holm-adjusted across the pairs of each parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .bootstrap import CHUNK, _evaluate, _Progress
from .data import DataError, items_from_questionnaire
from .groups import COMPARED_KINDS, GroupComparison, _shared_prepare, adjust_by_family, compare_groups, holm
from .pls import PLSPM
from .results import PLSResults

OMNIBUS_METHOD = ("omnibus permutation test across {k} groups: respondents reshuffled among the groups {n} times, "
                  "every group re-estimated each time; statistic = between-group sum of squares of the estimates; "
                  "Holm-adjusted within each family")


@dataclass(frozen=True)
class KGroupComparison:
    """What :func:`compare_k_groups` returns.

    ``omnibus``: one row per compared parameter (kind, a, b), its estimate in each group
    (columns ``estimate:<group>``), ``statistic``, ``p_value``, ``p_adjusted`` (Holm within
    the kind) and ``significant``. ``pairwise``: (name_a, name_b) -> GroupComparison, with
    ``pairwise_adjusted`` holding each parameter's p-value Holm-adjusted across the pairs.
    """
    names: tuple[str, ...]
    fits: tuple[PLSResults, ...]
    omnibus: pd.DataFrame
    pairwise: Mapping[tuple[str, str], GroupComparison]
    pairwise_adjusted: pd.DataFrame | None
    n_perm: int
    n_ok: int
    seed: int
    notes: tuple[str, ...]

    @property
    def method(self) -> str:
        return OMNIBUS_METHOD.format(k=len(self.names), n=self.n_ok)

    def summary(self) -> str:
        lines = [f"{len(self.names)} groups: " + ", ".join(f"{name} (n={fit.n_used})"
                                                           for name, fit in zip(self.names, self.fits)),
                 self.method]
        for _, row in self.omnibus.iterrows():
            estimates = ", ".join(f"{row[f'estimate:{name}']:.3f}" for name in self.names)
            label = row["a"] if not row["b"] else f"{row['a']} -> {row['b']}"
            flag = " *" if row["significant"] else ""
            lines.append(f"  {row['kind']:<9} {label:<40} {estimates}  p={row['p_value']:.3f} "
                         f"(Holm {row['p_adjusted']:.3f}){flag}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


def compare_k_groups(model: Model, frames: Mapping[str, pd.DataFrame], *, questionnaire=None,
                     scheme: str = "path", scaled: bool = True, missing: str = "listwise", n_perm: int = 1000,
                     seed: int = 0, pairwise: bool = False, n_boot: int = 0,
                     scales: Mapping[str, tuple[float, float]] | None = None, progress: bool | None = None,
                     on_progress: Callable[[int, int], None] | None = None) -> KGroupComparison:
    """Fit ``model`` in each of the k groups (``frames``: name -> answers, k >= 2) and test
    every index, path, total effect and R² for any difference among them (``n_perm``
    permutations, at least 19). With ``pairwise``, every pair is then compared as
    :func:`analysis.groups.compare_groups` does (``n_boot`` resamples for intervals)."""
    names = tuple(frames)
    if len(names) < 2:
        raise CSIError(f"comparing groups needs at least 2, got {len(names)}")
    if n_perm < 19:
        raise CSIError(f"n_perm must be at least 19 for a test at the 5% level, got {n_perm}")
    item_info = items_from_questionnaire(questionnaire) if questionnaire is not None else None
    try:
        prepared = _shared_prepare(model, [frames[name] for name in names], item_info, missing, scales)
    except DataError as exc:
        raise DataError(f"{' / '.join(names)}: {exc}") from None
    fits = []
    for name, prep in zip(names, prepared):
        try:
            fits.append(PLSPM(model, scheme=scheme, scaled=scaled, progress=False).fit_prepared(prep))
        except CSIError as exc:
            raise CSIError(f"{name}: {exc}") from None
    first = fits[0]
    layout = first.layout
    structure = first.first_stage.structure if first.first_stage is not None else first.structure
    low = np.array([prepared[0].scales[i][0] for i in structure.items])
    span = np.array([prepared[0].scales[i][1] - prepared[0].scales[i][0] for i in structure.items])
    X = np.vstack([prep.values for prep in prepared])
    sizes = np.array([prep.n_used for prep in prepared])
    n = X.shape[0]
    codes = np.repeat(np.arange(len(names)), sizes)

    observed = np.vstack([np.asarray(fit.estimates) for fit in fits])   # (k, parameters)
    statistic = _between_groups(observed, sizes)
    # The same stream of permutations as compare_groups for the same seed (so k = 2 agrees).
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    chunk = max(1, min(CHUNK, int(2.5e7 // max(1, n * X.shape[1]))))
    bar = _Progress(n_perm, "permutations", on_progress, progress)
    permuted_stats = []
    done = 0
    while done < n_perm:
        size = min(chunk, n_perm - done)
        labels = rng.permuted(np.tile(codes, (size, 1)), axis=1)
        values, ok = [], np.ones(size, dtype=bool)
        for g in range(len(names)):
            v, status = _evaluate(X, (labels == g).astype(float), layout, scheme, scaled, first.tol, first.max_iter,
                                  low, span)
            values.append(v)
            ok &= status == 0
        stacked = np.stack(values, axis=1)[ok]          # (ok, k, parameters)
        permuted_stats.append(_between_groups(stacked, sizes))
        done += size
        bar.advance(size)
    perm = np.concatenate(permuted_stats)
    n_ok = perm.shape[0]
    if n_ok < 19:
        raise CSIError(f"only {n_ok} of {n_perm} permutations could be estimated; the groups are too small or degenerate")
    valid = np.isfinite(perm)
    with np.errstate(invalid="ignore"):
        exceed = perm >= statistic[None, :] * (1 - 1e-9) - 1e-12
    p_values = (1 + (exceed & valid).sum(axis=0)) / (1 + valid.sum(axis=0))
    rows = []
    for k, (kind, a, b) in enumerate(layout.labels):
        if kind not in COMPARED_KINDS:
            continue
        row = {"kind": kind, "a": a, "b": b}
        row.update({f"estimate:{name}": float(observed[g, k]) for g, name in enumerate(names)})
        finite = np.isfinite(observed[:, k]).all()
        row.update({"statistic": float(statistic[k]) if finite else np.nan,
                    "p_value": float(p_values[k]) if finite else np.nan})
        rows.append(row)
    omnibus = adjust_by_family(pd.DataFrame(rows))
    notes = [f"{name}: {note}" for name, fit in zip(names, fits) for note in fit.notes]
    if n_ok < n_perm:
        notes.append(f"{n_perm - n_ok} of {n_perm} permutations could not be estimated and were left out")
    pairs, adjusted = {}, None
    if pairwise:
        pairs = {(a, b): compare_groups(model, frames[a], frames[b], names=(a, b), questionnaire=questionnaire,
                                        scheme=scheme, scaled=scaled, missing=missing, n_perm=n_perm, n_boot=n_boot,
                                        seed=seed, scales=scales, progress=False)
                 for a, b in combinations(names, 2)}
        adjusted = _adjust_across_pairs(pairs)
    return KGroupComparison(names, tuple(fits), omnibus, pairs, adjusted, n_perm, n_ok, seed, tuple(notes))


def _between_groups(estimates: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """sum_g n_g (theta_g - theta_bar)^2 over the group axis (-2) of ``estimates``
    (..., k, parameters), theta_bar the size-weighted mean."""
    w = sizes / sizes.sum()
    mean = np.tensordot(w, estimates, axes=([0], [-2]))  # (..., parameters)
    return np.tensordot(sizes, (estimates - np.expand_dims(mean, -2)) ** 2, axes=([0], [-2]))


def _adjust_across_pairs(pairs: Mapping[tuple[str, str], GroupComparison]) -> pd.DataFrame:
    """One row per (parameter, pair): the pair's p-value and the p-value Holm-adjusted over
    the pairs of that parameter."""
    frames = []
    for (a, b), comparison in pairs.items():
        frame = comparison.differences[["kind", "a", "b", "difference", "p_value"]].copy()
        frame["pair"] = f"{a} vs {b}"
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["p_pairs_adjusted"] = np.nan
    for _, rows in table.groupby(["kind", "a", "b"], sort=False).groups.items():
        table.loc[rows, "p_pairs_adjusted"] = holm(table.loc[rows, "p_value"].to_numpy(dtype=float))
    return table
