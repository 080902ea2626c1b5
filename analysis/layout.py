"""One flat vector of every statistic a PLS fit reports, so a bootstrap can keep
B x K numbers and the results object can read estimates and intervals by label."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pls_core import CoreResult, Structure
from . import statistics as st


@dataclass(frozen=True)
class Layout:
    """Labels (kind, a, b) of the K statistics; a/b are construct or item names."""

    labels: tuple[tuple[str, str, str], ...]
    structure: Structure
    reachable: tuple[tuple[int, int], ...]  # (source, target) pairs with a total effect
    htmt_pairs: tuple[tuple[int, int], ...]
    consistent: bool = False  # PLSc: every fit of this layout is corrected by analysis.plsc
    # Moderation: the data are [items, raw products]; this maps their moments to the indicators'.
    interactions: object = None  # analysis.moderation.InteractionPlan | None

    @classmethod
    def build(cls, structure: Structure, consistent: bool = False, interactions=None) -> "Layout":
        names = structure.constructs
        J = len(names)
        reach = np.linalg.matrix_power(np.eye(J) + structure.path_matrix, J) > 0
        reachable = tuple((s, t) for t in range(J) for s in range(J) if s != t and reach[t, s])
        multi = [j for j in range(J) if structure.mask[:, j].sum() >= 2]
        htmt_pairs = tuple((a, b) for a in range(J) for b in range(a + 1, J) if a in multi and b in multi)
        labels = []
        labels += [("path", names[s], names[t]) for t in range(J) for s in structure.predecessors[t]]
        labels += [("total", names[s], names[t]) for s, t in reachable]
        labels += [("weight", names[structure.block_of[i]], item) for i, item in enumerate(structure.items)]
        labels += [("loading", names[structure.block_of[i]], item) for i, item in enumerate(structure.items)]
        labels += [("r_squared", names[j], "") for j in range(J) if structure.predecessors[j]]
        labels += [("index", names[j], "") for j in range(J)]
        labels += [("htmt", names[a], names[b]) for a, b in htmt_pairs]
        labels += [("importance", names[s], names[t]) for s, t in reachable]
        return cls(tuple(labels), structure, reachable, htmt_pairs, consistent, interactions)

    def positions(self, kind: str) -> list[int]:
        return [n for n, label in enumerate(self.labels) if label[0] == kind]

    def compute(self, core: CoreResult, mom: st.Moments, scaled: bool, low: np.ndarray, span: np.ndarray,
                needed: frozenset[str] | None = None) -> np.ndarray:
        """(B, K) statistics; an index whose weights include a negative one, or whose items are
        on no rating scale, is NaN, and so is the IPMA importance of a pair with such a
        construct at either end. ``needed``: the kinds the caller reads (a permutation test
        reads the compared kinds and the weights); loadings, HTMT and importance outside it
        are left NaN instead of computed (their columns stay, so positions do not move)."""
        s = self.structure
        J = len(s.constructs)
        B = core.paths.shape[0]

        def wanted(kind: str) -> bool:
            return needed is None or kind in needed
        parts = [core.paths[:, t, list(s.predecessors[t])] for t in range(J) if s.predecessors[t]]
        _, _, total = st.effects(core)
        parts.append(np.stack([total[:, t, src] for src, t in self.reachable], axis=1) if self.reachable else np.empty((B, 0)))
        parts.append((core.weights * s.mask).sum(axis=2))
        parts.append((st.loadings(core, mom, scaled) * s.mask).sum(axis=2) if wanted("loading")
                     else np.full((B, len(s.items)), np.nan))
        parts.append(core.r_squared[:, [j for j in range(J) if s.predecessors[j]]])
        low, span, unscaled = st.finite_scales(low, span, s)
        w01 = st.index_weights(core, mom, s, scaled, low, span)
        index = st.csi_index(w01, mom, s, low, span)
        negative = (np.einsum("bp,pj->bj", (w01 < 0).astype(float), s.mask) > 0) | unscaled[None]
        parts.append(np.where(negative, np.nan, index))
        if self.htmt_pairs:
            parts.append(st.htmt(mom.corr, s)[1] if wanted("htmt") else np.full((B, len(self.htmt_pairs)), np.nan))
        if wanted("importance"):
            # IPMA importance needs both ends' 0-100 scores, so it is undefined where either index is.
            sd = np.where(negative, np.nan, st.index_sd(w01, mom, s, span))
            parts.append(st.importance(total, sd, self.reachable))
        else:
            parts.append(np.full((B, len(self.reachable)), np.nan))
        return np.concatenate([np.atleast_2d(p) if p.ndim == 2 else p for p in parts], axis=1)
