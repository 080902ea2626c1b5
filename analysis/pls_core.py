"""The PLS path modeling algorithm (Wold 1982; Lohmöller 1989), on covariance matrices.

Every quantity of the PLS-PM iteration depends on the data only through the
indicator covariance matrix S: with latent scores Y_j = X_j w_j,
cov(X_i, Y_k) = (S W)_ik and cov(Y_j, Y_k) = (W' S W)_jk. So the algorithm runs on
S, not on the n x p data, and it runs on a *batch* of B matrices at once
(shape (B, p, p)): a single fit is a batch of one, a bootstrap is thousands of
resampled S's iterated together in a few numpy calls per step.

Shapes: p indicators, J constructs, B batch members. Weights W are (B, p, J),
block-diagonal by the model's mask, scaled so every latent score has unit variance.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from models.csi_model import Model
from models.errors import CSIError

SCHEMES = ("path", "centroid", "factorial")


@dataclass(frozen=True)
class Structure:
    """The model's layout as index arrays (item order = ``model.items``)."""

    items: tuple[str, ...]
    constructs: tuple[str, ...]
    mask: np.ndarray          # (p, J) 1 where item i belongs to construct j
    block_of: np.ndarray      # (p,) construct index of each item
    adjacency: np.ndarray     # (J, J) 1 where j and k are linked by a path (either way)
    path_matrix: np.ndarray   # (J, J) 1 where k -> j  (row = target, column = source)
    predecessors: tuple[tuple[int, ...], ...]
    formative: tuple[int, ...]
    formative_items: tuple[np.ndarray, ...]

    @classmethod
    def from_model(cls, model: Model) -> "Structure":
        if model.interactions:
            # analysis.moderation expands interaction terms into constructs first (PLSPM does).
            raise CSIError(f"interaction terms ({', '.join(model.interaction_names)}) are estimated by "
                           "PLS path modeling (PLSPM / csi fit) only; remove them for this method")
        if model.higher_order:
            raise CSIError(f"higher-order construct {next(iter(model.higher_order))!r}: only PLSPM.fit (csi fit) "
                           "estimates higher-order constructs (two-stage or repeated indicators), not this method")
        items = model.items
        constructs = model.construct_names
        p, J = len(items), len(constructs)
        mask = np.zeros((p, J))
        block_of = np.zeros(p, dtype=int)
        for j, c in enumerate(model.constructs):
            for item in c.items:
                i = items.index(item)
                mask[i, j] = 1.0
                block_of[i] = j
        path_matrix = np.zeros((J, J))
        for source, target in model.paths:
            path_matrix[constructs.index(target), constructs.index(source)] = 1.0
        adjacency = np.clip(path_matrix + path_matrix.T, 0, 1)
        predecessors = tuple(tuple(np.flatnonzero(path_matrix[j])) for j in range(J))
        formative = tuple(j for j, c in enumerate(model.constructs) if c.is_formative)
        formative_items = tuple(np.flatnonzero(mask[:, j]) for j in formative)
        return cls(items, constructs, mask, block_of, adjacency, path_matrix, predecessors, formative, formative_items)


@dataclass
class CoreResult:
    """Raw arrays of a batch of PLS fits (see module docstring for shapes)."""

    weights: np.ndarray       # (B, p, J)
    lv_corr: np.ndarray       # (B, J, J)
    cov_items_lv: np.ndarray  # (B, p, J)  S W
    paths: np.ndarray         # (B, J, J)  [target, source]
    r_squared: np.ndarray     # (B, J)     0 for exogenous
    converged: np.ndarray     # (B,) bool
    iterations: np.ndarray    # (B,) int
    last_change: np.ndarray   # (B,) largest weight change of the last step
    ok: np.ndarray            # (B,) bool: converged and all numbers finite
    # Set by consistent PLS (analysis.plsc.correct) only:
    rho_a: np.ndarray | None = None         # (B, J) reliabilities used for the correction
    loadings: np.ndarray | None = None      # (B, p, J) cross-loadings, own blocks consistent
    inadmissible: np.ndarray | None = None  # (B, 4) bool, columns as analysis.plsc.INADMISSIBLE


def _normalize(W: np.ndarray, S: np.ndarray) -> np.ndarray:
    # diag(W' S W) per batch member, through S @ W on BLAS (a three-operand einsum is not).
    variance = (W * (S @ W)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return W / np.sqrt(variance)[:, None, :]


def _normalized(W: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_normalize`'s W and S W with it: the iteration's next step starts from S W, so
    it is scaled here rather than multiplied again (the batch's costliest product)."""
    SW = S @ W
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = 1.0 / np.sqrt((W * SW).sum(axis=1))[:, None, :]
    return W * scale, SW * scale


def _regressions(C: np.ndarray, structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """OLS of each endogenous LV on its predecessors, from LV correlations C (B, J, J).
    The LVs with the same number of predecessors are regressed together (one solve for
    all their batch members): the step runs every iteration of every resample."""
    B, J, _ = C.shape
    coefficients = np.zeros((B, J, J))
    r_squared = np.zeros((B, J))
    for targets, preds in _regression_groups(structure.predecessors):
        m, k = preds.shape
        Cpp = C[:, preds[:, :, None], preds[:, None, :]]  # (B, m, k, k)
        cpj = C[:, preds, targets[:, None]]                # (B, m, k)
        b = _small_solve(Cpp.reshape(B * m, k, k), cpj.reshape(B * m, k)).reshape(B, m, k)
        coefficients[:, targets[:, None], preds] = b
        r_squared[:, targets] = (b * cpj).sum(axis=2)
    return coefficients, r_squared


@functools.lru_cache(maxsize=256)
def _regression_groups(predecessors: tuple[tuple[int, ...], ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The endogenous LVs grouped by their number of predecessors k: (targets (m,),
    their predecessors (m, k)) per k."""
    by_count: dict[int, list[int]] = {}
    for j, preds in enumerate(predecessors):
        if preds:
            by_count.setdefault(len(preds), []).append(j)
    return tuple((np.array(targets), np.array([predecessors[j] for j in targets]))
                 for _, targets in sorted(by_count.items()))


def _small_solve(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Solve A x = y for a batch (A (B, k, k), y (B, k)). One or two predecessors, the
    common case (an ACSI model's five regressions have 1, 2, 3, 1 and 2), in closed form:
    numpy's batched solve calls LAPACK once per member, which cost more than the rest of
    the regression step. A singular member gives non-finite values (flagged as failed
    downstream), as :func:`_safe_solve` gives NaN."""
    k = A.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            return y / A[:, 0, :]
        if k == 2:
            a, b, c, d = A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1]
            det = a * d - b * c
            return np.stack([(d * y[:, 0] - b * y[:, 1]) / det, (a * y[:, 1] - c * y[:, 0]) / det], axis=1)
    try:
        return np.linalg.solve(A, y[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return _safe_solve(A, y)


def _safe_solve(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched solve that yields NaN (not an exception) for singular members."""
    out = np.full(y.shape, np.nan)
    for b in range(A.shape[0]):
        try:
            out[b] = np.linalg.solve(A[b], y[b])
        except np.linalg.LinAlgError:
            pass
    return out


def _inner_weights(C: np.ndarray, structure: Structure, scheme: str) -> np.ndarray:
    """E[b, j, k]: weight of LV k in the inner proxy of LV j."""
    adjacency = structure.adjacency
    if scheme == "centroid":
        return np.sign(C) * adjacency
    if scheme == "factorial":
        return C * adjacency
    # Path weighting (Lohmöller 1989): followers (j -> k) enter with their correlation,
    # predecessors (k -> j) with their coefficient in the regression of Y_j on all predecessors.
    followers = structure.path_matrix.T
    E = C * followers
    coefficients, _ = _regressions(C, structure)
    return E + coefficients


def run(S: np.ndarray, structure: Structure, scheme: str = "path", tol: float = 1e-7,
        max_iter: int = 300) -> CoreResult:
    """Iterate PLS-PM on a batch of covariance (or correlation) matrices ``S`` (B, p, p).

    Convergence: the largest absolute change of any outer weight between two steps
    is below ``tol``. Members that converge stop updating; the rest go on to ``max_iter``.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown inner weighting scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    S = np.asarray(S, dtype=float)
    if S.ndim == 2:
        S = S[None]
    B = S.shape[0]
    mask = structure.mask
    W, SW = _normalized(np.broadcast_to(mask, (B,) + mask.shape).copy(), S)
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=int)
    change = np.full(B, np.inf)
    for step in range(1, max_iter + 1):
        C = np.swapaxes(W, 1, 2) @ SW
        E = _inner_weights(C, structure, scheme)
        # cov(X_i, Z_j) where Z_j = sum_k E[j, k] Y_k is the inner proxy.
        target = SW @ np.swapaxes(E, 1, 2)
        W_new = target * mask
        for j, idx in zip(structure.formative, structure.formative_items):
            # Mode B: w_j = S_jj^-1 cov(X_j, Z_j), the OLS of the proxy on the block.
            S_jj = S[:, idx[:, None], idx[None, :]]
            W_new[:, idx, j] = np.linalg.solve(S_jj, target[:, idx, j][..., None])[..., 0]
        W_new, SW_new = _normalized(W_new, S)
        active = ~converged
        change = np.where(active, np.nanmax(np.abs(W_new - W), axis=(1, 2)), change)
        change = np.where(np.isnan(change), np.inf, change)
        W = np.where(active[:, None, None], W_new, W)
        SW = np.where(active[:, None, None], SW_new, SW)
        iterations = np.where(active, step, iterations)
        converged = converged | (change < tol)
        if converged.all():
            break
    # Sign convention: each LV correlates positively with the majority of its items.
    SW = S @ W
    orientation = np.sign(np.einsum("bpj,pj->bj", SW, mask))
    orientation[orientation == 0] = 1.0
    W = W * orientation[:, None, :]
    SW = S @ W
    C = np.swapaxes(W, 1, 2) @ SW
    paths, r_squared = _regressions(C, structure)
    finite = (np.isfinite(W).all(axis=(1, 2)) & np.isfinite(paths).all(axis=(1, 2)) & np.isfinite(r_squared).all(axis=1))
    return CoreResult(W, C, SW, paths, r_squared, converged, iterations, change, converged & finite)


def total_effects(paths: np.ndarray) -> np.ndarray:
    """Total effects T[b, target, source] = (I - P)^-1 - I for a recursive path matrix P."""
    B, J, _ = paths.shape
    identity = np.eye(J)
    return np.linalg.inv(identity - paths) - identity
