"""Comparing two groups of respondents (two waves, or a segment against the rest).

Each group is fitted on its own, with its own outer weights, as the ACSI publishes
every period with that period's weights; the answer scales are shared so 0-100
indices are on one metric. Differences (B minus A) get

- a permutation p-value (Chin & Dibbern 2010; the permutation MGA of Hair et al.
  2018): respondents are reshuffled between the groups, both groups are re-fitted,
  and the observed difference is compared with the reshuffled ones;
- a percentile interval from the two groups' independent bootstraps.

Before index levels are compared, MICOM (Henseler, Ringle & Sarstedt 2016) checks
that the constructs are measured alike in both groups: compositional invariance by
permutation (step 2), then equal composite means and variances (step 3).

Permutations reuse the bootstrap's batched PLS: a permuted group is a 0/1 row
multiplicity vector, so hundreds of permuted fits run as one numpy batch.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .bootstrap import CHUNK, _evaluate, _Progress
from . import statistics as st
from .data import DataError, PreparedData, items_from_questionnaire, prepare
from .weights import weight_column
from .pls import PLSPM
from .results import PLSResults

COMPARED_KINDS = ("index", "path", "total", "r_squared")
# What a permutation's statistics are read for: the compared kinds and MICOM's weights
# (loadings, HTMT and importance are not computed for the thousands of permuted groups).
PERMUTED_KINDS = frozenset(COMPARED_KINDS) | {"weight"}
ALPHA = 0.05
ADJUSTMENT = ("Holm-adjusted p (Holm 1979) within each family of one comparison: the 0-100 indices, the path "
              "coefficients, the total effects, the R² values; 'significant' means adjusted p < 0.05, so the "
              "chance of at least one false 'significant' change per family is at most 5%")
# How a change may be read (Henseler, Ringle & Sarstedt 2016, MICOM). Without compositional
# invariance (step 2, verdict "none") the two groups' composites are different weighted sums
# of the items, so their levels are not comparable: the permutation test of the difference
# is kept (``significant``) but the change is read as "not comparable", whatever its p. With
# full or partial invariance (step 2 holds; partial: step 3's means or variances differ) the
# Holm-adjusted test decides. Partial needs no caveat for a change of level: step 3a tests
# whether the composites' means are equal, so a real change fails it by being one.
READINGS = ("significant", "not significant", "not comparable")
READING_RULE = ("'reading': 'not comparable' when MICOM finds no compositional invariance (the levels are not "
                "comparable, whatever p); otherwise 'significant' when Holm-adjusted p < 0.05, else 'not significant'")


def change_reading(significant, invariance) -> str:
    """The reading of one change (see ``READINGS``): "not comparable" without compositional
    invariance, else "significant" or "not significant" by the Holm-adjusted test."""
    if invariance == "none":
        return "not comparable"
    tested = significant is not None and not (isinstance(significant, float) and np.isnan(significant))
    return "significant" if tested and bool(significant) else "not significant"


def with_reading(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (changes with significant and invariance) with its ``reading`` column, added
    when absent (changes stored before the column existed)."""
    if "reading" in frame.columns or "significant" not in frame.columns:
        return frame
    frame = frame.copy()
    invariance = frame["invariance"] if "invariance" in frame.columns else pd.Series(None, index=frame.index)
    frame["reading"] = [change_reading(s, i) for s, i in zip(frame["significant"], invariance)]
    return frame


def partial_note(constructs, comparisons) -> str:
    return (f"MICOM: partial invariance for {', '.join(constructs)} in {'; '.join(comparisons)} (composites differ "
            "in mean or variance, as a change of level does): changes can be compared; do not pool the groups")


def not_comparable_note(constructs, comparisons) -> str:
    return (f"MICOM: compositional invariance fails for {', '.join(constructs)} in {'; '.join(comparisons)}: the "
            "items weigh differently in the two groups, so these indices' levels are not comparable and their "
            "changes are not read as significant, whatever p")


# The MICOM notes (pattern, builder): the constructs and the comparisons ("B vs A; D vs C") they name.
_MICOM_NOTES = ((re.compile(r"MICOM: compositional invariance fails for (?P<constructs>.+?) in (?P<comparisons>.+?): "
                            r"the items weigh .*\Z"), not_comparable_note),
                (re.compile(r"MICOM: partial invariance for (?P<constructs>.+?) in (?P<comparisons>.+?) "
                            r"\(composites differ in mean or variance, as a change of level does\): .*\Z"), partial_note))


def merge_micom_notes(notes) -> list[str]:
    """``notes`` without repeats, the MICOM notes of several comparisons with the same verdict
    for the same constructs merged into one that names every comparison (in the first's place)."""
    out: list = []
    slots: dict[tuple, int] = {}
    for note in dict.fromkeys(notes):
        found = next(((build, match) for pattern, build in _MICOM_NOTES if (match := pattern.match(note))), None)
        if found is None:
            out.append(note)
            continue
        build, match = found
        key = (build, match["constructs"])
        if key not in slots:
            slots[key] = len(out)
            out.append((build, match["constructs"], []))
        comparisons = out[slots[key]][2]
        comparisons += [c for c in match["comparisons"].split("; ") if c not in comparisons]
    return [item[0](item[1].split(", "), item[2]) if isinstance(item, tuple) else item for item in out]


PERMUTATION_METHOD = ("permutation test: respondents reshuffled between the two groups {n} times, both groups "
                      "re-estimated each time; two-sided p = share of reshuffled |differences| at least as large as "
                      "observed (Chin & Dibbern 2010)")


@dataclass(frozen=True)
class Micom:
    """MICOM steps 2 and 3 per construct (Henseler, Ringle & Sarstedt 2016).

    ``table`` columns: construct, c (correlation of the composite computed with either
    group's weights), c_quantile_5 (its 5% permutation quantile), compositional (c not
    below it), mean_diff, mean_low, mean_high, means_equal, log_var_ratio, var_low,
    var_high, variances_equal, invariance ("full", "partial" or "none").
    """

    table: pd.DataFrame
    n_permutations: int

    @property
    def not_comparable(self) -> list[str]:
        return list(self.table.loc[self.table["invariance"] == "none", "construct"])

    def notes(self, name_a: str, name_b: str) -> list[str]:
        """The MICOM findings of the comparison of ``name_b`` with ``name_a``, each naming it."""
        notes = []
        bad = self.not_comparable
        if bad:
            notes.append(not_comparable_note(bad, [f"{name_b} vs {name_a}"]))
        partial = list(self.table.loc[self.table["invariance"] == "partial", "construct"])
        if partial:
            notes.append(partial_note(partial, [f"{name_b} vs {name_a}"]))
        return notes


@dataclass(frozen=True)
class GroupComparison:
    """Two groups' fits and the differences between them (B minus A).

    ``differences`` columns: kind, a, b, estimate_a, estimate_b, difference, ci_low, ci_high,
    p_value (raw permutation p), p_adjusted (Holm within the kind, see ``ADJUSTMENT``),
    significant (p_adjusted < 0.05).
    """

    name_a: str
    name_b: str
    results_a: PLSResults = field(repr=False)
    results_b: PLSResults = field(repr=False)
    differences: pd.DataFrame = field(repr=False)
    micom: Micom = field(repr=False)
    n_permutations: int
    n_permutations_ok: int
    seed: int
    level: float
    notes: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        return PERMUTATION_METHOD.format(n=self.n_permutations_ok)

    def to_frame(self) -> pd.DataFrame:
        return self.differences.copy()

    def index_change(self) -> pd.DataFrame:
        """The 0-100 index rows of ``differences`` with the MICOM verdict per construct."""
        frame = self.differences[self.differences["kind"] == "index"].copy()
        verdicts = self.micom.table.set_index("construct")["invariance"]
        frame["invariance"] = frame["a"].map(verdicts)
        frame = with_reading(frame)
        return frame.rename(columns={"a": "construct"}).drop(columns=["kind", "b"]).reset_index(drop=True)

    def summary(self) -> str:
        from .summary import _table
        change = self.index_change()
        lines = [f"{self.name_b} vs {self.name_a}: n = {self.results_b.n_used} vs {self.results_a.n_used}",
                 f"method: {self.method}; {int(self.level * 100)}% intervals from independent bootstraps",
                 f"multiple testing: {ADJUSTMENT}", "",
                 "Index change (0-100)",
                 _table(change[["construct", "estimate_a", "estimate_b", "difference", "ci_low", "ci_high",
                                "p_value", "p_adjusted", "significant", "invariance"]], "{:.3f}")]
        paths = self.differences[self.differences["kind"] == "path"]
        lines += ["", "Path coefficients", _table(paths.drop(columns=["kind"]))]
        if self.notes:
            lines += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _shared_prepare(model: Model, frames: Sequence[pd.DataFrame], item_info, missing: str,
                    scales, weights: str | None = None) -> list[PreparedData]:
    """Prepare each group on one set of answer scales (declared, or inferred from all groups);
    ``weights`` names a column of respondent weights (weighted PLS)."""
    declared = set(item_info or {}) | set(scales or {})
    if not set(model.items) <= declared:
        # Some scale must be inferred: infer it once from all groups, so every group shares it.
        pooled = prepare(pd.concat(frames, ignore_index=True), model, item_info, "keep", scales, strict_scales=True)
        scales = pooled.scales
    out = []
    for frame in frames:
        row_weights = weight_column(frame, weights) if weights is not None else None
        out.append(prepare(frame, model, item_info, missing, scales, strict_scales=True, weights=row_weights))
    return out


def holm(p_values) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: sorted p_(k) times (m - k + 1), made
    monotone, capped at 1; NaN entries stay NaN and are not counted in the family.

    The same numbers as ``statsmodels.stats.multitest.multipletests(p, method="holm")``
    (checked in tests/analysis/test_groups.py), written out because that function runs a
    full ``gc.collect()`` per call and imports scipy.stats: a report adjusts 44 families,
    which cost seconds of collection alone."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size:
        order = finite[np.argsort(p[finite], kind="stable")]
        steps = np.arange(order.size, 0, -1)
        out[order] = np.minimum(np.maximum.accumulate(p[order] * steps), 1.0)
    return out


def adjust_by_family(frame: pd.DataFrame, family: str = "kind") -> pd.DataFrame:
    """Add ``p_adjusted`` (Holm within each ``family`` group) and set ``significant`` from it."""
    frame = frame.copy()
    frame["p_adjusted"] = np.nan
    if not frame.empty:
        for _, rows in frame.groupby(family, sort=False).groups.items():
            frame.loc[rows, "p_adjusted"] = holm(frame.loc[rows, "p_value"].to_numpy(dtype=float))
    frame["significant"] = frame["p_adjusted"] < ALPHA
    return frame


def _permuted_masks(rng: np.random.Generator, n_a: int, n: int, size: int) -> np.ndarray:
    labels = np.tile(np.arange(n) < n_a, (size, 1))
    return rng.permuted(labels, axis=1).astype(float)


def _compositional_c(wa: np.ndarray, wb: np.ndarray, R: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """corr(X wa_j, X wb_j) per construct for batches of weight vectors (B, p) -> (B, J);
    ``R`` is the pooled items' correlation (standardized weights) or covariance (raw-metric weights)."""
    Ma = wa[:, :, None] * mask[None]
    Mb = wb[:, :, None] * mask[None]
    # x' R y per (b, j) as one matrix product R @ M (a BLAS call over all b and j) and a
    # sum over p: a three-operand einsum here looped in C without BLAS.
    RMa = R @ Ma
    RMb = R @ Mb
    cross = (Ma * RMb).sum(axis=1)
    va = (Ma * RMa).sum(axis=1)
    vb = (Mb * RMb).sum(axis=1)
    with np.errstate(all="ignore"):
        return cross / np.sqrt(va * vb)


def compare_groups(model: Model, data_a: pd.DataFrame, data_b: pd.DataFrame, *, names: tuple[str, str] = ("A", "B"),
                   questionnaire=None, scheme: str = "path", scaled: bool = True, missing: str = "listwise",
                   n_perm: int = 1000, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                   scales: Mapping[str, tuple[float, float]] | None = None, progress: bool | None = None,
                   on_progress: Callable[[int, int], None] | None = None, workers: int | None = 1,
                   prepared: Sequence[PreparedData] | None = None,
                   fitted: Sequence[PLSResults] | None = None, weights: str | None = None) -> GroupComparison:
    """Fit ``model`` on two groups and test every index, path, total effect and R² difference.

    ``n_perm`` permutations (at least 19 for a 5% test); ``n_boot`` bootstrap resamples
    per group for intervals (0 = none). Results depend only on ``seed``. ``prepared`` and
    ``fitted`` let a caller that already prepared and fitted the groups (a wave series)
    reuse them, so every table shows the same estimates and intervals.

    ``weights`` (a column of respondent weights) is honoured throughout: each group's fit and
    bootstrap, the permutations (a respondent moves between groups with its weight) and
    MICOM (weighted pooled fit, weighted composite means and variances).
    """
    from .moderation import refuse_interactions
    refuse_interactions(model, "group comparison")
    if n_perm < 19:
        raise CSIError(f"n_perm must be at least 19 for a test at the 5% level, got {n_perm}")
    item_info = items_from_questionnaire(questionnaire) if questionnaire is not None else None
    if prepared is None:
        try:
            prep_a, prep_b = _shared_prepare(model, [data_a, data_b], item_info, missing, scales, weights)
        except DataError as exc:
            raise DataError(f"{names[0]} / {names[1]}: {exc}") from None
    else:
        prep_a, prep_b = prepared
    seeds = np.random.SeedSequence(seed).spawn(3)
    boot_seeds = [int(s.generate_state(1)[0]) for s in seeds[:2]]
    fits = list(fitted) if fitted is not None else []
    for prep, name, boot_seed in zip((prep_a, prep_b) if not fits else (), names, boot_seeds):
        estimator = PLSPM(model, scheme=scheme, scaled=scaled, n_boot=n_boot, seed=boot_seed, level=level,
                          workers=workers, progress=False, weights=weights if prep.weights is not None else None)
        try:
            fits.append(estimator.fit_prepared(prep))
        except CSIError as exc:
            raise CSIError(f"{name}: {exc}") from None
    res_a, res_b = fits
    layout = res_a.layout
    # MICOM and the scales are about the constructs built from items: with higher-order
    # constructs (two-stage), stage 1's (the lower-order constructs and the rest), whose
    # weights are the reported ones (analysis.hoc); the HOC itself is not MICOM-tested.
    structure = res_a.first_stage.structure if res_a.first_stage is not None else res_a.structure
    low = np.array([prep_a.scales[i][0] for i in structure.items])
    span = np.array([prep_a.scales[i][1] - prep_a.scales[i][0] for i in structure.items])
    X = np.vstack([prep_a.values, prep_b.values])
    n_a, n = prep_a.n_used, X.shape[0]
    weighted = prep_a.weights is not None and prep_b.weights is not None
    w = np.concatenate([prep_a.weights, prep_b.weights]) if weighted else np.ones(n)
    # Pooled estimation for MICOM step 3: composite scores on the pooled, standardized data.
    pooled = PLSPM(model, scheme=scheme, scaled=True).fit_prepared(
        PreparedData(X, prep_a.items, pd.RangeIndex(n), prep_a.scales, n, weights=w if weighted else None))
    scores = pooled.scores[list(structure.constructs)].to_numpy()
    # MICOM step 2 builds both groups' composites on the pooled data. Outer weights are on the
    # metric the model was fitted in: standardized items (correlation matrix) or, with
    # centred-only data, the items' raw metric (covariance matrix).
    if weighted:
        pooled_moments = st.moments_from_counts(X, w[None])
        R = (pooled_moments.corr if scaled else pooled_moments.cov * n / (n - 1))[0]
    else:
        R = np.corrcoef(X, rowvar=False) if scaled else np.cov(X, rowvar=False)
    weight_pos = [layout.labels.index(("weight", structure.constructs[structure.block_of[i]], item))
                  for i, item in enumerate(structure.items)]

    rng = np.random.default_rng(seeds[2])
    chunk = max(1, min(CHUNK, int(2.5e7 // max(1, n * X.shape[1]))))
    bar = _Progress(n_perm, "permutations", on_progress, progress)
    diffs, cs, mean_d, logvar_d = [], [], [], []
    done = 0
    while done < n_perm:
        size = min(chunk, n_perm - done)
        mask_a = _permuted_masks(rng, n_a, n, size)
        mask_b = (1.0 - mask_a) * w
        mask_a = mask_a * w
        va, sa = _evaluate(X, mask_a, layout, scheme, scaled, res_a.tol, res_a.max_iter, low, span, PERMUTED_KINDS)
        vb, sb = _evaluate(X, mask_b, layout, scheme, scaled, res_a.tol, res_a.max_iter, low, span, PERMUTED_KINDS)
        ok = (sa == 0) & (sb == 0)
        diffs.append((vb - va)[ok])
        cs.append(_compositional_c(va[ok][:, weight_pos], vb[ok][:, weight_pos], R, structure.mask))
        size_a, size_b = mask_a[ok].sum(axis=1, keepdims=True), mask_b[ok].sum(axis=1, keepdims=True)
        ma, mb = mask_a[ok] @ scores / size_a, mask_b[ok] @ scores / size_b
        qa = mask_a[ok] @ scores ** 2 / size_a - ma ** 2
        qb = mask_b[ok] @ scores ** 2 / size_b - mb ** 2
        mean_d.append(ma - mb)
        with np.errstate(all="ignore"):
            logvar_d.append(np.log(qa) - np.log(qb))
        done += size
        bar.advance(size)
    perm = np.concatenate(diffs)
    perm_c = np.concatenate(cs)
    perm_mean = np.concatenate(mean_d)
    perm_logvar = np.concatenate(logvar_d)
    n_ok = perm.shape[0]
    if n_ok < 19:
        raise CSIError(f"only {n_ok} of {n_perm} permutations could be estimated; the groups are too small or degenerate")

    observed = np.asarray(res_b.estimates) - np.asarray(res_a.estimates)
    with np.errstate(invalid="ignore"):
        exceed = np.abs(perm) >= np.abs(observed)[None, :] - 1e-12
    valid = np.isfinite(perm)
    p_values = (1 + (exceed & valid).sum(axis=0)) / (1 + valid.sum(axis=0))
    alpha = (1 - level) / 2
    ci = np.full((len(observed), 2), np.nan)
    if res_a.bootstrap is not None and res_b.bootstrap is not None and res_a.bootstrap.n_ok and res_b.bootstrap.n_ok:
        m = min(res_a.bootstrap.n_ok, res_b.bootstrap.n_ok)
        boot_diff = res_b.bootstrap.samples[:m] - res_a.bootstrap.samples[:m]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (undefined index) stays NaN
            ci = np.nanquantile(boot_diff, [alpha, 1 - alpha], axis=0).T
    rows = []
    for k, (kind, a, b) in enumerate(layout.labels):
        if kind not in COMPARED_KINDS:
            continue
        rows.append({"kind": kind, "a": a, "b": b, "estimate_a": float(res_a.estimates[k]),
                     "estimate_b": float(res_b.estimates[k]), "difference": float(observed[k]),
                     "ci_low": float(ci[k, 0]), "ci_high": float(ci[k, 1]),
                     "p_value": float(p_values[k]) if np.isfinite(observed[k]) else np.nan})
    differences = adjust_by_family(pd.DataFrame(rows))

    # MICOM.
    wa = np.asarray(res_a.estimates)[weight_pos][None]
    wb = np.asarray(res_b.estimates)[weight_pos][None]
    c_obs = _compositional_c(wa, wb, R, structure.mask)[0]
    c_q5 = np.nanquantile(perm_c, 0.05, axis=0)
    group_a, group_b = scores[:n_a], scores[n_a:]
    wa_rows, wb_rows = w[:n_a], w[n_a:]
    mean_a, mean_b = np.average(group_a, axis=0, weights=wa_rows), np.average(group_b, axis=0, weights=wb_rows)
    mean_obs = mean_a - mean_b
    logvar_obs = (np.log(np.average((group_a - mean_a) ** 2, axis=0, weights=wa_rows))
                  - np.log(np.average((group_b - mean_b) ** 2, axis=0, weights=wb_rows)))
    mean_q = np.nanquantile(perm_mean, [0.025, 0.975], axis=0)
    var_q = np.nanquantile(perm_logvar, [0.025, 0.975], axis=0)
    micom_rows = []
    for j, construct in enumerate(structure.constructs):
        single = structure.mask[:, j].sum() < 2
        compositional = bool(single or c_obs[j] >= c_q5[j] - 1e-12)
        means_equal = bool(mean_q[0, j] <= mean_obs[j] <= mean_q[1, j])
        variances_equal = bool(var_q[0, j] <= logvar_obs[j] <= var_q[1, j])
        verdict = "none" if not compositional else ("full" if means_equal and variances_equal else "partial")
        micom_rows.append({"construct": construct, "c": 1.0 if single else float(c_obs[j]),
                           "c_quantile_5": 1.0 if single else float(c_q5[j]), "compositional": compositional,
                           "mean_diff": float(mean_obs[j]), "mean_low": float(mean_q[0, j]),
                           "mean_high": float(mean_q[1, j]), "means_equal": means_equal,
                           "log_var_ratio": float(logvar_obs[j]), "var_low": float(var_q[0, j]),
                           "var_high": float(var_q[1, j]), "variances_equal": variances_equal, "invariance": verdict})
    micom = Micom(pd.DataFrame(micom_rows), n_ok)
    notes = [f"{names[0]}: {note}" for note in res_a.notes] + [f"{names[1]}: {note}" for note in res_b.notes]
    notes += micom.notes(*names)
    if model.higher_order:
        notes.append(f"MICOM covers the constructs measured by items; higher-order construct"
                     f"{'s' if len(model.higher_order) > 1 else ''} {', '.join(model.higher_order)} "
                     "(measured by constructs) not tested")
    if n_ok < n_perm:
        notes.append(f"{n_perm - n_ok} of {n_perm} permutations could not be estimated and were left out")
    return GroupComparison(names[0], names[1], res_a, res_b, differences, micom, n_perm, n_ok, seed, level,
                           tuple(notes))
