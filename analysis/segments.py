"""Segments (customer tier, region, channel): the index per segment and a multi-group
comparison of path coefficients (permutation MGA), each segment against the rest.

A segment below ``min_size`` respondents is reported with a warning; one below
``min_estimable`` is listed but not estimated (too few to fit the model at all).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .data import PreparedData, items_from_questionnaire, prepare
from .groups import GroupComparison, compare_groups

MIN_SIZE = 100  # a common floor for stable PLS estimates per group (Hair et al. 2022, ch. 1)


@dataclass(frozen=True)
class SegmentAnalysis:
    """``index_table``: segment, n, construct, estimate, ci_low, ci_high, small.
    ``mga``: segment, from, to, estimate_segment, estimate_rest, difference, p_value (raw),
    p_adjusted (Holm across the paths of that segment's comparison), significant (p_adjusted < 0.05).
    """

    variable: str
    index_table: pd.DataFrame = field(repr=False)
    mga: pd.DataFrame = field(repr=False)
    comparisons: Mapping[str, GroupComparison] = field(repr=False)
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        from .summary import _table
        wide = self.index_table.pivot_table(index=["segment", "n"], columns="construct", values="estimate").reset_index()
        lines = [f"Index by {self.variable}", _table(wide, "{:.1f}")]
        significant = self.mga[self.mga["significant"]] if not self.mga.empty else self.mga
        lines += ["", "Paths that differ (permutation MGA, segment vs rest, Holm-adjusted p < 0.05 across the "
                  "paths of each segment)", _table(significant)]
        if self.warnings:
            lines += ["", "Warnings"] + [f"  - {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def _subset(prep: PreparedData, rows: np.ndarray) -> PreparedData:
    return PreparedData(prep.values[rows], prep.items, prep.index[rows], prep.scales, int(rows.sum()),
                        {}, prep.notes, prep.missing)


def analyse_segments(model: Model, data: pd.DataFrame, variable: str, *, questionnaire=None, scheme: str = "path",
                     missing: str = "listwise", n_boot: int = 500, n_perm: int = 500, seed: int = 0,
                     min_size: int = MIN_SIZE, min_estimable: int = 30, max_segments: int = 12,
                     scales: Mapping[str, tuple[float, float]] | None = None) -> SegmentAnalysis:
    """Index per level of ``data[variable]`` and permutation MGA of each level against the rest."""
    from .moderation import refuse_interactions
    refuse_interactions(model, "segment analysis")
    if variable not in data.columns:
        raise KeyError(f"no segment variable {variable!r} in the data; columns with few distinct values: "
                       f"{', '.join(c for c in data.columns if data[c].nunique() <= max_segments)}")
    item_info = items_from_questionnaire(questionnaire) if questionnaire is not None else None
    prep = prepare(data, model, item_info, missing, scales, strict_scales=True)
    labels = data.loc[prep.index, variable].astype("string").fillna("(none)").to_numpy(dtype=object)
    levels = [str(v) for v in pd.Series(labels).value_counts().index]
    warnings = []
    if len(levels) > max_segments:
        warnings.append(f"{variable}: {len(levels)} levels; only the {max_segments} largest are analysed")
        levels = levels[:max_segments]
    rows, mga_rows, comparisons = [], [], {}
    seeds = np.random.SeedSequence(seed).spawn(max(1, len(levels)))
    for k, level in enumerate(levels):
        inside = labels == level
        n_in, n_out = int(inside.sum()), int((~inside).sum())
        if n_in < min_estimable or n_out < min_estimable:
            warnings.append(f"{variable} = {level}: n = {n_in}, too few to estimate the model (need {min_estimable}); left out")
            rows.append({"segment": level, "n": n_in, "construct": None, "estimate": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "small": True})
            continue
        if n_in < min_size:
            warnings.append(f"{variable} = {level}: n = {n_in} (< {min_size}): estimates are unstable and tests "
                            "have little power; read with caution")
        try:
            comparison = compare_groups(model, None, None, names=("rest", level), scheme=scheme, n_boot=n_boot,
                                        n_perm=n_perm, seed=int(seeds[k].generate_state(1)[0]),
                                        prepared=(_subset(prep, ~inside), _subset(prep, inside)))
        except (CSIError, np.linalg.LinAlgError) as exc:  # one degenerate segment must not sink the others
            warnings.append(f"{variable} = {level}: could not be estimated ({exc})")
            continue
        comparisons[level] = comparison
        for record in comparison.results_b.index_table.to_dict("records"):
            rows.append({"segment": level, "n": n_in, "construct": record["construct"], "estimate": record["estimate"],
                         "ci_low": record.get("ci_low", np.nan), "ci_high": record.get("ci_high", np.nan),
                         "small": n_in < min_size})
        paths = comparison.differences[comparison.differences["kind"] == "path"]
        for record in paths.to_dict("records"):
            mga_rows.append({"segment": level, "from": record["a"], "to": record["b"],
                             "estimate_segment": record["estimate_b"], "estimate_rest": record["estimate_a"],
                             "difference": record["difference"], "p_value": record["p_value"],
                             "p_adjusted": record["p_adjusted"], "significant": bool(record["significant"])})
        bad = comparison.micom.not_comparable
        if bad:
            warnings.append(f"{variable} = {level}: MICOM compositional invariance fails for {', '.join(bad)}; "
                            "its index is not comparable with the rest")
    index_table = pd.DataFrame(rows, columns=["segment", "n", "construct", "estimate", "ci_low", "ci_high", "small"])
    mga = pd.DataFrame(mga_rows, columns=["segment", "from", "to", "estimate_segment", "estimate_rest", "difference",
                                          "p_value", "p_adjusted", "significant"])
    if len(comparisons) > 2 and not mga.empty:
        warnings.append(f"{variable}: p-values are Holm-adjusted across the paths of each segment, not across the "
                        f"{len(comparisons)} segments; across all of them up to {0.05 * len(comparisons):.2f} "
                        "falsely 'significant' segments are expected by chance")
    return SegmentAnalysis(variable, index_table, mga, comparisons, tuple(warnings))


def segment_changes(model: Model, previous: pd.DataFrame, current: pd.DataFrame, variable: str, *,
                    names: tuple[str, str] = ("previous", "current"), questionnaire=None, n_perm: int = 500,
                    seed: int = 0, min_estimable: int = 30,
                    scales: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Each segment's index change between two waves (its own fits in each wave, permutation test).

    Columns: segment, n_previous, n, construct, previous, estimate, change, p_value (raw),
    p_adjusted (Holm across the indices of that segment), significant (p_adjusted < 0.05),
    invariance, reading (``analysis.groups.change_reading``). Segments too small in either wave are left out.
    """
    rows = []
    if variable not in previous.columns or variable not in current.columns:
        return pd.DataFrame(rows, columns=["segment", "n_previous", "n", "construct", "previous", "estimate",
                                           "change", "p_value", "p_adjusted", "significant", "invariance", "reading"])
    levels = sorted(set(current[variable].dropna().astype(str)) & set(previous[variable].dropna().astype(str)))
    seeds = np.random.SeedSequence(seed).spawn(max(1, len(levels)))
    for k, level in enumerate(levels):
        before = previous[previous[variable].astype("string") == level]
        after = current[current[variable].astype("string") == level]
        if min(len(before), len(after)) < min_estimable:
            continue
        try:
            comparison = compare_groups(model, before, after, names=(names[0], names[1]), questionnaire=questionnaire,
                                        n_perm=n_perm, n_boot=0, seed=int(seeds[k].generate_state(1)[0]),
                                        scales=scales)
        except (CSIError, np.linalg.LinAlgError):
            # A segment that cannot be estimated in one wave is not compared (its index row
            # says why); any other error is a fault and surfaces rather than drop a segment.
            continue
        for record in comparison.index_change().to_dict("records"):
            rows.append({"segment": level, "n_previous": comparison.results_a.n_used, "n": comparison.results_b.n_used,
                         "construct": record["construct"], "previous": record["estimate_a"],
                         "estimate": record["estimate_b"], "change": record["difference"],
                         "p_value": record["p_value"], "p_adjusted": record["p_adjusted"],
                         "significant": bool(record["significant"]), "invariance": record["invariance"],
                         "reading": record["reading"]})
    return pd.DataFrame(rows, columns=["segment", "n_previous", "n", "construct", "previous", "estimate", "change",
                                       "p_value", "p_adjusted", "significant", "invariance", "reading"])
