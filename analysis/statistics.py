"""Statistics derived from a batch of PLS fits: effects, loadings, CSI indices,
reliability, discriminant validity, collinearity.

Functions take batched arrays (leading axis B) so the bootstrap can call the same
code as the point estimate. Formulas and sources are in ``docs/methods.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pls_core import CoreResult, Structure, total_effects


@dataclass(frozen=True)
class Moments:
    """Batched item moments on the items' original metric (population variance, ddof=0).

    means (B, p), cov (B, p, p).
    """

    means: np.ndarray
    cov: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        # A constant item in a resample can give a variance of -1e-17 from rounding.
        return np.sqrt(np.clip(np.einsum("bii->bi", self.cov), 0.0, None))

    @property
    def corr(self) -> np.ndarray:
        sd = self.sd
        return self.cov / (sd[:, :, None] * sd[:, None, :])


def moments_from_counts(X: np.ndarray, counts: np.ndarray) -> Moments:
    """Moments of resamples of X (n, p) given multiplicities ``counts`` (B, n)."""
    n = counts.sum(axis=1, keepdims=True)
    center = X.mean(axis=0)
    Xc = X - center  # centring first keeps the one-pass covariance accurate
    means = counts @ Xc / n
    second = _weighted_cross_products(counts, Xc) / n[:, :, None]
    cov = second - means[:, :, None] * means[:, None, :]
    return Moments(means + center, cov)


# Rows of the products table per block: keeps it near 32 MB whatever the sample size.
_PRODUCT_BLOCK = 4_000_000


def _weighted_cross_products(counts: np.ndarray, Xc: np.ndarray) -> np.ndarray:
    """sum_n counts[b, n] Xc[n, p] Xc[n, q] for every b (B, p, p), as one BLAS matrix product.

    Each row's products Xc[n, p] Xc[n, q] (upper triangle, p(p+1)/2 columns) form a table
    Z (n, p(p+1)/2); the resampled second moments are then counts @ Z, a single GEMM
    instead of the B*n*p*p loop of ``einsum("bn,np,nq->bpq")``, which numpy cannot hand
    to BLAS. Blocks of rows bound Z's memory for large n.
    """
    B, n = counts.shape
    p = Xc.shape[1]
    i, j = np.triu_indices(p)
    out = np.zeros((B, len(i)))
    rows = max(1, _PRODUCT_BLOCK // len(i))
    for start in range(0, n, rows):
        block = Xc[start:start + rows]
        out += counts[:, start:start + rows] @ (block[:, i] * block[:, j])
    second = np.empty((B, p, p))
    second[:, i, j] = out
    second[:, j, i] = out
    return second


# moments() of a matrix with at least this many cells takes the one-pass route (below, the
# centred copy costs nothing worth saving and results stay bit-for-bit those of earlier releases).
ONE_PASS_CELLS = 1 << 20
# ... as long as no item's mean^2 exceeds this many times its variance: the one-pass
# variance G/n - mean^2 then loses under 2 of float64's 16 digits to cancellation (none on
# integer answers, whose cross products are exact).
ONE_PASS_MAX_CANCELLATION = 100.0


def moments(X: np.ndarray) -> Moments:
    """Moments of the rows of X (n, p): means (1, p) and population covariance (1, p, p).

    Small matrices: centre, then X_c'X_c. Large ones: the cross products X'X in one BLAS
    pass (no centred n x p copy, which costs more than the product), covariance X'X/n -
    mean mean'; where that would cancel too many digits (an item far from 0 relative to its
    spread, or constant) the centred products are accumulated over row blocks instead.
    """
    n = X.shape[0]
    if X.size < ONE_PASS_CELLS:
        center = X.mean(axis=0)
        Xc = X - center
        cov = (Xc.T @ Xc) / n
        return Moments(center[None], cov[None])
    center = X.mean(axis=0)
    cov = (X.T @ X) / n - np.outer(center, center)
    variance = np.diagonal(cov)
    if not np.all((variance > 0) & (center ** 2 <= ONE_PASS_MAX_CANCELLATION * variance)):
        cov = _centred_cross_products(X, center) / n
    return Moments(center[None], cov[None])


def _centred_cross_products(X: np.ndarray, center: np.ndarray, rows: int = 16_384) -> np.ndarray:
    """(X - center)'(X - center) (p, p), centring one block of rows at a time (a few MB, not n x p)."""
    out = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, X.shape[0], rows):
        block = X[start:start + rows] - center
        out += block.T @ block
    return out


def loadings(core: CoreResult, mom: Moments, scaled: bool) -> np.ndarray:
    """Correlations of every item with every LV (B, p, J): the cross-loadings; under
    consistent PLS each reflective block's own entries are its consistent loadings."""
    if core.loadings is not None:
        return core.loadings
    if scaled:
        return core.cov_items_lv
    return core.cov_items_lv / mom.sd[:, :, None]


def raw_weights(core: CoreResult, mom: Moments, scaled: bool) -> np.ndarray:
    """Outer weights on the items' original metric (B, p, J): Y = X_raw w (centred)."""
    if scaled:
        return core.weights / mom.sd[:, :, None]
    return core.weights


def finite_scales(low: np.ndarray, span: np.ndarray, structure: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items on no rating scale (NaN low/span: continuous scores) get a placeholder 0..1 so the
    arithmetic of the other blocks stays finite (NaN x 0 would spread NaN across blocks), and
    ``unscaled`` (J,) marks the constructs whose index is therefore undefined."""
    missing = ~(np.isfinite(low) & np.isfinite(span))
    unscaled = (structure.mask[missing].sum(axis=0) > 0) if missing.any() else np.zeros(structure.mask.shape[1], bool)
    return np.where(missing, 0.0, low), np.where(missing, 1.0, span), unscaled


def index_weights(core: CoreResult, mom: Moments, structure: Structure, scaled: bool,
                  low: np.ndarray, span: np.ndarray) -> np.ndarray:
    """ACSI index weights (B, p): unstandardized weights of the items rescaled to 0-100,
    normalized to sum to 1 within each block."""
    w = (raw_weights(core, mom, scaled) * structure.mask).sum(axis=2) * span / 100.0
    block_sum = np.einsum("bp,pj->bj", w, structure.mask)
    return w / block_sum[:, structure.block_of]


def csi_index(weights01: np.ndarray, mom: Moments, structure: Structure, low: np.ndarray,
              span: np.ndarray) -> np.ndarray:
    """0-100 index per construct (B, J): normalized index weights applied to item means
    rescaled so the scale minimum is 0 and the maximum 100."""
    means100 = (mom.means - low) / span * 100.0
    return np.einsum("bp,bp,pj->bj", weights01, means100, structure.mask)


def index_sd(weights01: np.ndarray, mom: Moments, structure: Structure, span: np.ndarray) -> np.ndarray:
    """Standard deviation (B, J) of the respondents' 0-100 scores (ddof=0): sqrt(a' S a) with
    a = the block's index weights times 100 / scale span (S: the items' covariance)."""
    a = (weights01 * 100.0 / span)[:, :, None] * structure.mask[None]
    # S a as one batched matrix product, then the sum over p: the three-operand einsum this
    # replaces looped without BLAS (0.7 s of a report's 5 waves x 1,000 resamples).
    variance = (a * (mom.cov @ a)).sum(axis=1)
    return np.sqrt(np.clip(variance, 0.0, None))


def importance(total: np.ndarray, sd: np.ndarray, pairs) -> np.ndarray:
    """IPMA importance (B, R) of each (source, target) pair: the total effect unstandardized
    to 0-100 scores, total * sd(target) / sd(source) (Ringle & Sarstedt 2016)."""
    if not pairs:
        return np.empty((total.shape[0], 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([total[:, t, s] * sd[:, t] / sd[:, s] for s, t in pairs], axis=1)


def reliability(core: CoreResult, mom: Moments, structure: Structure, scaled: bool) -> dict[str, np.ndarray]:
    """Cronbach's alpha, rho_C, rho_A and AVE per construct (each (B, J)).

    Computed on standardized items (as SmartPLS and seminr). Single-item constructs
    get 1 for all four (perfect reliability by definition of a single indicator).
    """
    R = mom.corr
    L = (loadings(core, mom, scaled) * structure.mask)
    # rho_A needs weights for standardized items scaled to a unit-variance LV.
    w_std = raw_weights(core, mom, scaled) * mom.sd[:, :, None] * structure.mask
    B, p, J = L.shape
    out = {name: np.ones((B, J)) for name in ("alpha", "rho_c", "rho_a", "ave")}
    for j in range(J):
        idx = np.flatnonzero(structure.mask[:, j])
        k = len(idx)
        if k < 2:
            continue
        Rj = R[:, idx[:, None], idx[None, :]]
        out["alpha"][:, j] = k / (k - 1) * (1 - k / Rj.sum(axis=(1, 2)))
        lam = L[:, idx, j]
        s = lam.sum(axis=1) ** 2
        out["rho_c"][:, j] = s / (s + (1 - lam ** 2).sum(axis=1))
        out["ave"][:, j] = (lam ** 2).mean(axis=1)
        w = w_std[:, idx, j]
        off = Rj - np.einsum("bii->bi", Rj)[:, :, None] * np.eye(k)
        outer = w[:, :, None] * w[:, None, :]
        outer_off = outer - np.einsum("bii->bi", outer)[:, :, None] * np.eye(k)
        ww = (w * w).sum(axis=1)
        out["rho_a"][:, j] = ww ** 2 * np.einsum("bi,bij,bj->b", w, off, w) / np.einsum("bi,bij,bj->b", w, outer_off, w)
    return out


def htmt(R: np.ndarray, structure: Structure) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Heterotrait-monotrait ratio (Henseler, Ringle & Sarstedt 2015) for every pair of
    multi-item constructs; returns (pairs, values (B, n_pairs))."""
    J = structure.mask.shape[1]
    blocks = [np.flatnonzero(structure.mask[:, j]) for j in range(J)]
    mono = {}
    for j, idx in enumerate(blocks):
        if len(idx) < 2:
            continue
        sub = R[:, idx[:, None], idx[None, :]]
        k = len(idx)
        mono[j] = (sub.sum(axis=(1, 2)) - np.einsum("bii->b", sub)) / (k * (k - 1))
    pairs = [(a, b) for a in range(J) for b in range(a + 1, J) if a in mono and b in mono]
    values = np.empty((R.shape[0], len(pairs)))
    for n, (a, b) in enumerate(pairs):
        hetero = R[:, blocks[a][:, None], blocks[b][None, :]].mean(axis=(1, 2))
        with np.errstate(invalid="ignore"):
            values[:, n] = hetero / np.sqrt(mono[a] * mono[b])
    return pairs, values


def inner_vif(C: np.ndarray, structure: Structure) -> dict[tuple[int, int], float]:
    """VIF of each predictor in each structural regression, from LV correlations C (J, J)."""
    out = {}
    for j, preds in enumerate(structure.predecessors):
        if len(preds) < 2:
            for k in preds:
                out[(k, j)] = 1.0
            continue
        idx = np.array(preds)
        inv = np.linalg.inv(C[np.ix_(idx, idx)])
        for n, k in enumerate(preds):
            out[(k, j)] = float(inv[n, n])
    return out


def outer_vif(R: np.ndarray, structure: Structure) -> dict[int, float]:
    """VIF of every item of a formative block, from the item correlations R (p, p)."""
    out = {}
    for j, idx in zip(structure.formative, structure.formative_items):
        if len(idx) < 2:
            out[int(idx[0])] = 1.0
            continue
        inv = np.linalg.inv(R[np.ix_(idx, idx)])
        for n, i in enumerate(idx):
            out[int(i)] = float(inv[n, n])
    return out


def f_squared(C: np.ndarray, structure: Structure, r_squared: np.ndarray) -> dict[tuple[int, int], float]:
    """Cohen's f² of every path k -> j: (R²_incl - R²_excl) / (1 - R²_incl)."""
    out = {}
    for j, preds in enumerate(structure.predecessors):
        for k in preds:
            rest = np.array([q for q in preds if q != k], dtype=int)
            if len(rest):
                b = np.linalg.solve(C[np.ix_(rest, rest)], C[rest, j])
                excluded = float(b @ C[rest, j])
            else:
                excluded = 0.0
            out[(k, j)] = (r_squared[j] - excluded) / (1 - r_squared[j])
    return out


def effects(core: CoreResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Direct, indirect and total effects (each (B, J, J), [target, source])."""
    direct = core.paths
    total = total_effects(direct)
    return direct, total - direct, total
