"""Higher-order constructs (HOCs) in PLS path modeling: the two-stage approach as
seminr estimates it by default, and the repeated-indicators approach.

Two-stage (seminr's ``higher_composite(method = two_stage)``; R/feature_higher_order.R),
the *disjoint* two-stage approach of Sarstedt, Hair, Cheah, Becker & Ringle (2019,
Australasian Marketing Journal 27(3):197-211):

1. Stage 1 drops each HOC and links its lower-order constructs (LOCs) directly to the
   HOC's antecedents and outcomes (antecedent -> every LOC, every LOC -> outcome), and
   estimates that model: the LOCs' weights, loadings and scores.
2. Stage 2 drops the LOCs and measures each HOC by its LOCs' stage-1 scores (Mode A for
   ``=~``, Mode B for ``<~``), with the model's own structural paths.

Both stages run on covariance matrices, so a batch of resampled moments goes through both
at once: the stage-2 moments follow from stage 1's without building scores
(cov(x, Y) = S w, cov(Y, Y) = w' S w), which keeps the bootstrap batched.

The HOC's 0-100 index weights its LOCs' 0-100 indices: a LOC's 0-100 score I_d is an
increasing affine function of its unit-variance PLS score Y_d (I_d = m_d + s_d Y_d, with m_d
the LOC's index and s_d the sd of I_d), so the HOC score sum_d w_d Y_d is, up to a constant,
sum_d (w_d / s_d) I_d; normalizing those weights to sum to 1 gives a 0-100 index exactly as
the ACSI method gives one for items.

Repeated indicators (Lohmöller 1989; Becker, Klein & Wetzels 2012, LRP 45): the HOC is
measured by all its LOCs' items again, and linked to its LOCs by paths (HOC -> LOC for a
reflective ``=~`` HOC, LOC -> HOC for a formative ``<~`` one): one ordinary PLS model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.csi_model import Construct, Model
from models.errors import CSIError

from . import statistics as st
from .layout import Layout
from .pls_core import Structure, run

HOC_METHODS = ("two-stage", "repeated")


def stage_models(model: Model) -> tuple[Model, Model]:
    """(stage 1, stage 2) models of the two-stage approach (see module docstring)."""
    hocs = model.higher_order
    lower = set(model.lower_order)
    first = tuple(c for c in model.constructs if c.name not in hocs)
    paths1: list[tuple[str, str]] = []
    for source, target in model.paths:
        for a in hocs.get(source, (source,)):
            for b in hocs.get(target, (target,)):
                paths1.append((a, b))
    stage1 = Model(first, tuple(dict.fromkeys(paths1)), name=f"{model.name} (stage 1)")
    second = tuple(c for c in model.constructs if c.name not in lower)
    stage2 = Model(second, model.paths, name=f"{model.name} (stage 2)")
    return stage1, stage2


def repeated_model(model: Model) -> Model:
    """The repeated-indicators model: each HOC measured by its LOCs' items again (copies named
    ``HOC.item``, so every block keeps its own columns), with HOC -> LOC paths for a
    reflective HOC and LOC -> HOC paths for a formative one."""
    hocs = model.higher_order
    blocks = {c.name: c for c in model.constructs}
    constructs, paths = [], list(model.paths)
    for c in model.constructs:
        if c.name in hocs:
            copies = tuple(f"{c.name}.{item}" for d in hocs[c.name] for item in blocks[d].items)
            constructs.append(Construct(c.name, copies, c.mode))
            paths += [(d, c.name) if c.is_formative else (c.name, d) for d in hocs[c.name]]
        else:
            constructs.append(c)
    return Model(tuple(constructs), tuple(paths), name=model.name, citation=model.citation)


def repeated_columns(model: Model) -> dict[str, str]:
    """Copy column -> original item for :func:`repeated_model`."""
    blocks = {c.name: c for c in model.constructs}
    return {f"{hoc}.{item}": item for hoc, dims in model.higher_order.items() for d in dims for item in blocks[d].items}


@dataclass
class StagedCore:
    """Both stages of a batch of two-stage fits (B members)."""

    first: object   # CoreResult of stage 1
    second: object  # CoreResult of stage 2
    moments2: st.Moments
    failed: np.ndarray | None = None  # (B,) with interaction terms: their own first stage failed

    @property
    def converged(self) -> np.ndarray:
        return self.first.converged & self.second.converged

    @property
    def ok(self) -> np.ndarray:
        ok = self.first.ok & self.second.ok & np.isfinite(self.moments2.cov).all(axis=(1, 2))
        return ok if self.failed is None else ok & ~self.failed


@dataclass(frozen=True)
class TwoStageLayout:
    """The statistics of a two-stage fit: stage 2's (paths, HOC weights on its LOCs, ...)
    followed by each LOC's item weights, loadings and 0-100 index from stage 1.

    Same interface as :class:`analysis.layout.Layout` for the results object, plus
    :meth:`run_batch`, which the bootstrap calls instead of one PLS run."""

    labels: tuple[tuple[str, str, str], ...]
    structure: Structure            # stage 2 (what paths, R² and the HOC's block refer to)
    reachable: tuple[tuple[int, int], ...]
    htmt_pairs: tuple[tuple[int, int], ...]
    first: Layout
    second: Layout
    source: np.ndarray              # (p2,) stage-2 indicator -> column of [items, stage-1 LOC scores]
    loc_positions: tuple[int, ...]  # positions in first.labels of the LOC weights, loadings, indices
    hoc_blocks: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (stage-2 construct, its indicator rows, LOC indices in stage 1)
    consistent: bool = False
    interactions: object = None     # as Layout's: always None here (the plan below runs inside run_batch)
    # Interaction terms beside the HOCs (analysis.moderation, over the stage-2 model): the data
    # are then [items, raw products] and the plan maps stage 2's [indicators, products]
    # moments to the expanded stage 2's; n_rows for its path rescaling.
    plan: object = None
    n_rows: int = 0

    @classmethod
    def build(cls, model: Model, stage1: Model, stage2: Model, plan=None, n_rows: int = 0) -> "TwoStageLayout":
        """``plan``: an InteractionPlan over stage 2 (``plan.base`` is stage 2 without its
        interaction terms), its ``center`` set; stage 2 is then ``plan.model``."""
        s1 = Structure.from_model(stage1)
        s2 = Structure.from_model(plan.model if plan is not None else stage2)
        first, second = Layout.build(s1), Layout.build(s2)
        p = len(s1.items)
        items2 = plan.base.items if plan is not None else s2.items
        source = np.array([s1.items.index(i) if i in s1.items else p + s1.constructs.index(i) for i in items2])
        lower = set(model.lower_order)
        loc_positions = tuple(n for n, (kind, a, _) in enumerate(first.labels)
                              if kind in ("weight", "loading", "index") and a in lower)
        hoc_blocks = []
        for hoc, dims in model.higher_order.items():
            j = s2.constructs.index(hoc)
            rows = np.array([s2.items.index(d) for d in dims])
            hoc_blocks.append((j, rows, np.array([s1.constructs.index(d) for d in dims])))
        labels = second.labels + tuple(first.labels[n] for n in loc_positions)
        return cls(labels, s2, second.reachable, second.htmt_pairs, first, second, source, loc_positions,
                   tuple(hoc_blocks), plan=plan, n_rows=n_rows)

    def item_moments(self, mom: st.Moments) -> st.Moments:
        """The items' moments out of those of [items, raw products] (unchanged without a plan)."""
        p = len(self.first.structure.items)
        if mom.means.shape[1] == p:
            return mom
        return st.Moments(mom.means[:, :p], mom.cov[:, :p, :p])

    def positions(self, kind: str) -> list[int]:
        return [n for n, label in enumerate(self.labels) if label[0] == kind]

    def second_moments(self, core1, mom: st.Moments, scaled: bool) -> st.Moments:
        """Moments (B, p2) of the stage-2 indicators: items on their own metric, LOC scores
        with mean 0 and variance 1. With a plan, ``mom`` is of [items, raw products] (p + q)
        and the result of [stage-2 indicators, raw products] (p2 + q)."""
        raw = st.raw_weights(core1, self.item_moments(mom), scaled)  # (B, p, J1)
        B, p, J1 = raw.shape
        m = mom.cov.shape[1]                                     # p + q
        cross = mom.cov[:, :, :p] @ raw                          # cov(every column, scores)
        full = np.empty((B, m + J1, m + J1))
        full[:, :m, :m] = mom.cov
        full[:, :m, m:] = cross
        full[:, m:, :m] = np.swapaxes(cross, 1, 2)
        full[:, m:, m:] = core1.lv_corr
        means = np.concatenate([mom.means, np.zeros((B, J1))], axis=1)
        idx = np.where(self.source < p, self.source, self.source + (m - p))
        idx = np.concatenate([idx, np.arange(p, m)])             # the raw products last
        return st.Moments(means[:, idx], full[:, idx[:, None], idx[None, :]])

    def run_batch(self, S: np.ndarray, mom: st.Moments, scheme: str, scaled: bool, tol: float,
                  max_iter: int) -> StagedCore:
        """Both stages on a batch of item moments (S: the correlations or covariances used)."""
        p = len(self.first.structure.items)
        core1 = run(S[:, :p, :p], self.first.structure, scheme, tol, max_iter)
        failed = None
        with np.errstate(all="ignore"):
            mom2 = self.second_moments(core1, mom, scaled)
            if self.plan is not None:
                from .moderation import apply
                T, failed = self.plan.matrix(mom2)
                mom2 = apply(T, mom2)
            S2 = mom2.corr if scaled else mom2.cov
            S2 = np.where(np.isfinite(S2), S2, 0.0)  # a failed stage 1 is reported by ok, not raised here
        core2 = run(S2, self.structure, scheme, tol, max_iter)
        if self.plan is not None:
            from .moderation import rescale_paths
            with np.errstate(all="ignore"):
                core2 = rescale_paths(self.plan, core2, mom2, self.n_rows)
        return StagedCore(core1, core2, mom2, failed)

    def compute(self, core: StagedCore, mom: st.Moments, scaled: bool, low: np.ndarray, span: np.ndarray,
                needed: frozenset[str] | None = None) -> np.ndarray:  # every kind, whatever is needed
        """(B, K) statistics in ``labels`` order; ``low``/``span`` are the items' scales (p,)."""
        low2, span2 = self.second_scales(low, span)
        values2 = self.second.compute(core.second, core.moments2, scaled, low2, span2)
        mom = self.item_moments(mom)
        values1 = self.first.compute(core.first, mom, scaled, low, span)
        hoc_index, sd2, _ = self.hoc_index(core, mom, scaled, low, span, low2, span2)
        index_pos = self.second.positions("index")
        for j, _, _ in self.hoc_blocks:
            values2[:, index_pos[j]] = hoc_index[:, j]
        importance_pos = self.second.positions("importance")
        if importance_pos:
            _, _, total = st.effects(core.second)
            values2[:, importance_pos] = st.importance(total, sd2, self.reachable)
        return np.concatenate([values2, values1[:, list(self.loc_positions)]], axis=1)

    def second_scales(self, low: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = len(low)
        inside = self.source < p
        low2 = np.where(inside, low[np.minimum(self.source, p - 1)], np.nan)
        span2 = np.where(inside, span[np.minimum(self.source, p - 1)], np.nan)
        extra = len(self.structure.items) - len(self.source)  # interaction indicators: no scale
        return np.append(low2, np.full(extra, np.nan)), np.append(span2, np.full(extra, np.nan))

    def hoc_index(self, core: StagedCore, mom: st.Moments, scaled: bool, low: np.ndarray, span: np.ndarray,
                  low2: np.ndarray, span2: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """0-100 index (B, J2) of every stage-2 construct, the sd (B, J2) of its 0-100 score,
        the HOCs' from their LOCs (module docstring), NaN where undefined; and per HOC the
        weights (B, k) of its LOCs' 0-100 scores (NaN where its index is undefined)."""
        vs = []
        s1, s2 = self.first.structure, self.structure
        c1, c2 = core.first, core.second
        mom = self.item_moments(mom)
        lo1, sp1, unscaled1 = st.finite_scales(low, span, s1)
        w1 = st.index_weights(c1, mom, s1, scaled, lo1, sp1)
        index1 = st.csi_index(w1, mom, s1, lo1, sp1)
        bad1 = (np.einsum("bp,pj->bj", (w1 < 0).astype(float), s1.mask) > 0) | unscaled1[None]
        index1 = np.where(bad1, np.nan, index1)
        sd1 = st.index_sd(w1, mom, s1, sp1)
        lo2, sp2, unscaled2 = st.finite_scales(low2, span2, s2)
        w2 = st.index_weights(c2, core.moments2, s2, scaled, lo2, sp2)
        index2 = st.csi_index(w2, core.moments2, s2, lo2, sp2)
        bad2 = (np.einsum("bp,pj->bj", (w2 < 0).astype(float), s2.mask) > 0) | unscaled2[None]
        index2 = np.where(bad2, np.nan, index2)
        sd2 = np.where(bad2, np.nan, st.index_sd(w2, core.moments2, s2, sp2))
        raw2 = st.raw_weights(c2, core.moments2, scaled)
        for j, rows, locs in self.hoc_blocks:
            with np.errstate(all="ignore"):
                v = raw2[:, rows, j] / sd1[:, locs]                  # weights on the LOCs' 0-100 scores
                v = v / v.sum(axis=1, keepdims=True)
                m = index1[:, locs]
                value = (v * m).sum(axis=1)
                undefined = (v < 0).any(axis=1) | ~np.isfinite(m).all(axis=1)
                index2[:, j] = np.where(undefined, np.nan, value)
                a = v * sd1[:, locs]
                C = c1.lv_corr[:, locs[:, None], locs[None, :]]
                var = np.einsum("bi,bij,bj->b", a, C, a)
                sd2[:, j] = np.where(undefined, np.nan, np.sqrt(np.clip(var, 0, None)))
                vs.append(np.where(undefined[:, None], np.nan, v))
        return index2, sd2, vs

    def loc_scores(self, core: StagedCore, mom: st.Moments, scaled: bool, X: np.ndarray) -> np.ndarray:
        """Stage-1 scores (n, J1) of one fit (batch member 0) on data X (n, p)."""
        mom = self.item_moments(mom)
        raw = st.raw_weights(core.first, mom, scaled)[0]
        return (X[:, :mom.means.shape[1]] - mom.means[0]) @ raw


def check_two_stage(model: Model, consistent: bool) -> None:
    if consistent:
        raise CSIError("consistent PLS (PLSc) with higher-order constructs is not supported; "
                       "use method='pls' (csi fit --method pls)")
