"""Consistent PLS (PLSc; Dijkstra & Henseler 2015, MIS Quarterly 39(2):297-316).

PLS Mode A composites are proxies of common factors measured with error, so PLS
attenuates the construct correlations and inflates the loadings. PLSc corrects both
with each reflective block's reliability

    rho_A,j = (w_j'w_j)^2 * w_j'(S_jj - diag S_jj) w_j / w_j'(w_j w_j' - diag(w_j w_j')) w_j

(w_j the block's weights scaled to a unit-variance composite, S_jj its item
correlations): the factor correlations are r_jk / sqrt(rho_A,j rho_A,k), the paths are
OLS on those, and the consistent loadings are lambda_j = w_j sqrt(rho_A,j) / (w_j'w_j).
Composites (Mode B blocks, single items) keep rho_A = 1, so their correlations are not
corrected ("composites left as PLS", as seminr's ``PLSc``).

Everything is batched over B correlation matrices, like :mod:`analysis.pls_core`, so the
bootstrap corrects each resample in the same numpy calls.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .pls_core import CoreResult, Structure, _regressions

# Inadmissible-solution checks (cSEM's verify(); Dijkstra & Henseler 2015, p. 304),
# in the order of the columns of ``CoreResult.inadmissible``.
INADMISSIBLE = (
    "a path coefficient beyond ±1",
    "a construct correlation matrix that is not positive definite",
    "rho_A above 1 (or not positive)",
    "a consistent loading beyond ±1",
)


def reflective_blocks(structure: Structure, composites: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Constructs PLSc treats as common factors: Mode A blocks of two or more items, except
    ``composites`` (interaction constructs: rho_A = 1, as seminr's PLSc)."""
    return tuple(j for j in range(structure.mask.shape[1])
                 if j not in structure.formative and j not in composites and structure.mask[:, j].sum() >= 2)


def rho_a(weights: np.ndarray, S: np.ndarray, structure: Structure, composites: tuple[int, ...] = ()) -> np.ndarray:
    """Dijkstra-Henseler rho_A (B, J) from unit-variance weights (B, p, J) and item
    correlations S (B, p, p); 1 for composites and single items."""
    B, p, J = weights.shape
    out = np.ones((B, J))
    for j in reflective_blocks(structure, composites):
        idx = np.flatnonzero(structure.mask[:, j])
        w = weights[:, idx, j]
        Sjj = S[:, idx[:, None], idx[None, :]]
        off = Sjj * (1 - np.eye(len(idx)))
        ww = (w * w).sum(axis=1)
        numerator = np.einsum("bi,bij,bj->b", w, off, w)
        # w'(ww' - diag ww')w = (w'w)^2 - sum w^4
        denominator = ww ** 2 - (w ** 4).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = ww ** 2 * numerator / denominator
    return out


def correct(core: CoreResult, S: np.ndarray, structure: Structure, composites: tuple[int, ...] = ()) -> CoreResult:
    """The PLSc version of a batch of PLS fits on correlation matrices ``S`` (B, p, p).

    Returns a new :class:`CoreResult` whose ``lv_corr``, ``paths`` and ``r_squared`` are the
    consistent ones, with ``rho_a`` (B, J), ``loadings`` (B, p, J: cross-loadings with each
    reflective block's own loadings replaced by the consistent ones) and ``inadmissible``
    (B, 4) bool, one column per entry of :data:`INADMISSIBLE`. Weights and scores stay
    those of PLS (the composites do not change; only what is inferred from them does).
    """
    S = np.asarray(S, dtype=float)
    if S.ndim == 2:
        S = S[None]
    rho = rho_a(core.weights, S, structure, composites)
    with np.errstate(invalid="ignore"):
        root = np.sqrt(np.where(rho > 0, rho, np.nan))
    scale = root[:, :, None] * root[:, None, :]
    J = scale.shape[1]
    eye = np.eye(J, dtype=bool)
    C = np.where(eye, core.lv_corr, core.lv_corr / np.where(eye, 1.0, scale))
    with np.errstate(invalid="ignore"):
        paths, r_squared = _regressions(C, structure)
    bad_rho = ~np.isfinite(rho) | (rho > 1) | (rho <= 0)
    loadings = core.cov_items_lv.copy()
    for j in reflective_blocks(structure, composites):
        idx = np.flatnonzero(structure.mask[:, j])
        w = core.weights[:, idx, j]
        loadings[:, idx, j] = w * (root[:, j] / (w * w).sum(axis=1))[:, None]
    with np.errstate(invalid="ignore"):
        finite_C = np.isfinite(C).all(axis=(1, 2))
        eigen = np.full(C.shape[0], -np.inf)
        if finite_C.any():
            eigen[finite_C] = np.linalg.eigvalsh(C[finite_C]).min(axis=1)
        own = (loadings * structure.mask)
        inadmissible = np.stack([
            (np.abs(np.nan_to_num(paths, nan=0.0)) > 1).any(axis=(1, 2)),
            ~(eigen > 0),
            bad_rho.any(axis=1),
            (np.abs(np.nan_to_num(own, nan=0.0)) > 1).any(axis=(1, 2)),
        ], axis=1)
    finite = np.isfinite(paths).all(axis=(1, 2)) & np.isfinite(r_squared).all(axis=1)
    return dataclasses.replace(core, lv_corr=C, paths=paths, r_squared=r_squared, rho_a=rho, loadings=loadings,
                               inadmissible=inadmissible, ok=core.ok & finite)


def describe(core: CoreResult, structure: Structure, b: int = 0) -> list[str]:
    """Sentences naming every inadmissibility of batch member ``b`` and where it is."""
    if core.inadmissible is None or not core.inadmissible[b].any():
        return []
    names = structure.constructs
    out = []
    flags = core.inadmissible[b]
    if flags[0]:
        where = [f"{names[s]} -> {names[t]} = {core.paths[b, t, s]:.3f}" for t in range(len(names))
                 for s in structure.predecessors[t] if abs(core.paths[b, t, s]) > 1]
        out.append(f"{INADMISSIBLE[0]}: {', '.join(where)}")
    if flags[1]:
        C = core.lv_corr[b]
        if np.isfinite(C).all():
            out.append(f"{INADMISSIBLE[1]} (smallest eigenvalue {np.linalg.eigvalsh(C).min():.3f})")
        else:
            out.append(f"{INADMISSIBLE[1]} (not computable: a rho_A is not positive)")
    if flags[2]:
        where = [f"{names[j]} = {core.rho_a[b, j]:.3f}" for j in range(len(names))
                 if not 0 < core.rho_a[b, j] <= 1]
        out.append(f"{INADMISSIBLE[2]}: {', '.join(where)}")
    if flags[3]:
        where = [f"{structure.items[i]} = {core.loadings[b, i, structure.block_of[i]]:.3f}"
                 for i in range(len(structure.items)) if abs(core.loadings[b, i, structure.block_of[i]]) > 1]
        out.append(f"{INADMISSIBLE[3]}: {', '.join(where)}")
    return out
