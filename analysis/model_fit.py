"""Overall model fit for PLS: SRMR, d_ULS and d_G of the saturated and the estimated model,
and the bootstrap-based test of exact fit (Dijkstra & Henseler 2015, CSDA 81:10-23).

The model-implied indicator correlation matrix (Henseler et al. 2014, ORM 17(2):182-209;
as cSEM's ``fit()`` and ADANCO compute it):

    Sigma = Lambda' Phi Lambda + Theta,   Theta = diag(1 - lambda_i^2)

with Lambda the loadings (correlation of each item with its construct; under PLSc the
consistent loadings of reflective constructs) and Phi the construct correlation matrix;
within a composite block (``<~``) Sigma is the observed S (a composite leaves its
indicators' correlations unrestricted), so between blocks S_jj w_j phi_jk w_k' S_kk.
*Saturated*: Phi = the estimated construct correlations. *Estimated*: Phi implied by the
structural model, Phi_exo observed, Corr(exo, endo) = Phi Gamma' (I - B)^-T,
Corr(endo) = (I - B)^-1 (Gamma Phi Gamma' + Psi) (I - B)^-T with Psi = diag(1 - R^2) and
unit diagonal (cSEM's formula, which matches ADANCO to 8 digits).

    SRMR  = sqrt(mean over i <= j of (s_ij - sigma_ij)^2)
    d_ULS = 1/2 sum_ij (s_ij - sigma_ij)^2
    d_G   = 1/2 sum_k (log10 phi_k)^2,  phi_k the eigenvalues of S^-1 Sigma

(d_G with the base-10 logarithm, as ADANCO 2.2.1 and cSEM's ``calculateDG`` compute it, so
values compare with theirs; Dijkstra & Henseler write "log", and the natural logarithm
gives ln(10)^2 = 5.30 times more. The test of exact fit does not depend on the base.)

Test of exact fit: the data are transformed so that their correlation matrix is exactly
Sigma (Bollen & Stine 1992: X S^-1/2 Sigma^1/2 on standardized X); the model is refitted on
bootstrap resamples of the transformed data, and the discrepancy's 95 % and 99 % quantiles
(HI95, HI99) are the critical values: an observed value above HI95 rejects exact fit at 5 %.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import plsc
from . import statistics as st
from .pls_core import CoreResult, Structure, run

MEASURES = ("SRMR", "d_ULS", "d_G")
MODELS = ("saturated", "estimated")


def own_loadings(core: CoreResult, mom: st.Moments, structure: Structure, scaled: bool) -> np.ndarray:
    """(B, p) loading of every item on its own construct."""
    L = st.loadings(core, mom, scaled)
    return np.take_along_axis(L, structure.block_of[None, :, None], axis=2)[:, :, 0]


def implied_construct_correlations(core: CoreResult, structure: Structure) -> np.ndarray:
    """Construct correlations (B, J, J) implied by the structural model (cSEM's formula)."""
    C = core.lv_corr
    P = core.paths
    B, J, _ = C.shape
    endo = np.array([j for j in range(J) if structure.predecessors[j]])
    exo = np.array([j for j in range(J) if not structure.predecessors[j]])
    if not len(endo):
        return C.copy()
    Bm = P[:, endo[:, None], endo[None, :]]
    Gamma = P[:, endo[:, None], exo[None, :]]
    Phi = C[:, exo[:, None], exo[None, :]]
    psi = 1 - (P * C).sum(axis=2)[:, endo]
    inverse = np.linalg.inv(np.eye(len(endo)) - Bm)
    exo_endo = Phi @ np.swapaxes(Gamma, 1, 2) @ np.swapaxes(inverse, 1, 2)
    inner = Gamma @ Phi @ np.swapaxes(Gamma, 1, 2) + psi[:, :, None] * np.eye(len(endo))
    endo_endo = inverse @ inner @ np.swapaxes(inverse, 1, 2)
    endo_endo[:, np.arange(len(endo)), np.arange(len(endo))] = 1.0
    out = np.empty_like(C)
    out[:, exo[:, None], exo[None, :]] = Phi
    out[:, exo[:, None], endo[None, :]] = exo_endo
    out[:, endo[:, None], exo[None, :]] = np.swapaxes(exo_endo, 1, 2)
    out[:, endo[:, None], endo[None, :]] = endo_endo
    return out


def implied_correlations(core: CoreResult, mom: st.Moments, structure: Structure, scaled: bool,
                         saturated: bool) -> np.ndarray:
    """Model-implied indicator correlation matrix (B, p, p) (module docstring)."""
    R = mom.corr
    lam = own_loadings(core, mom, structure, scaled)
    Lambda = lam[:, :, None] * structure.mask[None]                      # (B, p, J)
    Phi = core.lv_corr if saturated else implied_construct_correlations(core, structure)
    Sigma = Lambda @ Phi @ np.swapaxes(Lambda, 1, 2)
    p = R.shape[1]
    Sigma[:, np.arange(p), np.arange(p)] = 1.0                           # + Theta
    for idx in structure.formative_items:
        Sigma[:, idx[:, None], idx[None, :]] = R[:, idx[:, None], idx[None, :]]
    return Sigma


def discrepancies(R: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """(B, 3) SRMR, d_ULS, d_G between observed R and implied Sigma (B, p, p)."""
    D = R - Sigma
    p = R.shape[1]
    i, j = np.tril_indices(p)
    srmr = np.sqrt((D[:, i, j] ** 2).mean(axis=1))
    duls = 0.5 * (D ** 2).sum(axis=(1, 2))
    with np.errstate(all="ignore"):
        eig = np.linalg.eigvals(np.linalg.solve(R, Sigma)).real
        dg = 0.5 * (np.log10(eig) ** 2).sum(axis=1)
    return np.stack([srmr, duls, dg], axis=1)


def fit_values(core: CoreResult, mom: st.Moments, structure: Structure, scaled: bool) -> np.ndarray:
    """(B, 2, 3): [saturated, estimated] x [SRMR, d_ULS, d_G]; NaN for members whose
    estimates are not finite (e.g. a PLSc fit with a non-positive rho_A)."""
    return np.stack([_measures(core, mom, structure, scaled, saturated) for saturated in (True, False)], axis=1)


def _measures(core: CoreResult, mom: st.Moments, structure: Structure, scaled: bool, saturated: bool) -> np.ndarray:
    import dataclasses
    loadings = st.loadings(core, mom, scaled)
    good = (np.isfinite(core.lv_corr).all(axis=(1, 2)) & np.isfinite(core.paths).all(axis=(1, 2))
            & np.isfinite(loadings).all(axis=(1, 2)) & np.isfinite(mom.corr).all(axis=(1, 2)))
    out = np.full((len(good), 3), np.nan)
    if good.any():
        sub = dataclasses.replace(core, lv_corr=core.lv_corr[good], paths=core.paths[good],
                                  cov_items_lv=core.cov_items_lv[good],
                                  loadings=None if core.loadings is None else core.loadings[good])
        sub_mom = st.Moments(mom.means[good], mom.cov[good])
        try:
            out[good] = discrepancies(sub_mom.corr, implied_correlations(sub, sub_mom, structure, scaled, saturated))
        except np.linalg.LinAlgError:  # a singular (I - B) or S in some member: one at a time
            for n, b in enumerate(np.flatnonzero(good)):
                one = dataclasses.replace(sub, lv_corr=sub.lv_corr[n:n + 1], paths=sub.paths[n:n + 1],
                                          cov_items_lv=sub.cov_items_lv[n:n + 1],
                                          loadings=None if sub.loadings is None else sub.loadings[n:n + 1])
                one_mom = st.Moments(sub_mom.means[n:n + 1], sub_mom.cov[n:n + 1])
                try:
                    out[b] = discrepancies(one_mom.corr, implied_correlations(one, one_mom, structure, scaled,
                                                                              saturated))[0]
                except np.linalg.LinAlgError:
                    pass
    return out


@dataclass(frozen=True)
class FitTest:
    """Observed fit values (2, 3) and, after the test of exact fit, the bootstrap quantiles."""

    values: np.ndarray
    hi95: np.ndarray | None = None
    hi99: np.ndarray | None = None
    p_values: np.ndarray | None = None
    n_boot: int = 0
    n_ok: np.ndarray | None = None       # (2,) usable resamples per model
    seed: int = 0
    samples: np.ndarray | None = field(default=None, repr=False)  # (2, n_ok, 3)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for m, model in enumerate(MODELS):
            for k, measure in enumerate(MEASURES):
                row = {"model": model, "measure": measure, "value": float(self.values[m, k])}
                if self.hi95 is not None:
                    row.update(hi95=float(self.hi95[m, k]), hi99=float(self.hi99[m, k]),
                               p_value=float(self.p_values[m, k]),
                               exact_fit="rejected at 5%" if self.values[m, k] > self.hi95[m, k] else "not rejected")
                rows.append(row)
        return pd.DataFrame(rows)


def bollen_stine(X: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """Standardized X (n, p) rotated so its correlation (ddof = 0) is exactly Sigma (p, p):
    Z S^-1/2 Sigma^1/2 (symmetric roots)."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    S = np.corrcoef(Z, rowvar=False)

    def root(A, power):
        values, vectors = np.linalg.eigh((A + A.T) / 2)
        return (vectors * values ** power) @ vectors.T

    return Z @ root(S, -0.5) @ root(Sigma, 0.5)


def exact_fit_test(X: np.ndarray, structure: Structure, values: np.ndarray, sigmas: tuple[np.ndarray, np.ndarray], *,
                   scheme: str, tol: float, max_iter: int, consistent: bool, n_boot: int, seed: int,
                   chunk: int = 250) -> FitTest:
    """The bootstrap test of exact fit for the saturated and the estimated model.

    ``X`` (n, p) the data, ``values`` (2, 3) the observed discrepancies, ``sigmas`` the two
    implied correlation matrices (p, p). Resamples whose fit fails (no convergence, an
    inadmissible PLSc solution) are dropped and counted. Seeded: resamples come from
    ``numpy.random.default_rng(seed)``, the same draws for both models.
    """
    from .bootstrap import single_blas_thread

    n = X.shape[0]
    hi95, hi99, p_values, kept, ok_counts = np.empty((2, 3)), np.empty((2, 3)), np.empty((2, 3)), [], []
    for m, Sigma in enumerate(sigmas):
        if not np.isfinite(Sigma).all():
            raise ValueError(f"the {MODELS[m]} model's implied correlation matrix is not finite (the estimates are not)")
        if not np.all(np.linalg.eigvalsh(Sigma) > 0):
            raise ValueError(f"the {MODELS[m]} model's implied correlation matrix is not positive definite")
        Xbs = bollen_stine(X, Sigma)
        rng = np.random.default_rng(seed)
        out = []
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            draws = rng.integers(0, n, size=(size, n))
            counts = np.bincount((draws + n * np.arange(size)[:, None]).ravel(),
                                 minlength=size * n).reshape(size, n).astype(float)
            with single_blas_thread(), np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mom = st.moments_from_counts(Xbs, counts)
                core = run(mom.corr, structure, scheme, tol, max_iter)
                if consistent:
                    core = plsc.correct(core, mom.corr, structure)
                good = core.ok & (~core.inadmissible.any(axis=1) if consistent else True)
                d = _measures(core, mom, structure, True, m == 0)
            good &= np.isfinite(d).all(axis=1)
            out.append(d[good])
        boot = np.concatenate(out)
        ok_counts.append(len(boot))
        kept.append(boot)
        hi95[m], hi99[m] = np.quantile(boot, [0.95, 0.99], axis=0)
        p_values[m] = (boot >= values[m]).mean(axis=0)
    size = min(ok_counts)
    return FitTest(values, hi95, hi99, p_values, n_boot, np.array(ok_counts), seed,
                   np.stack([k[:size] for k in kept]))


def htmt2(R: np.ndarray, structure: Structure) -> tuple[list[tuple[int, int]], np.ndarray]:
    """HTMT2 (Roemer, Schuberth & Henseler 2021, IMDS 121(12)): the HTMT with geometric
    instead of arithmetic means of the correlations; NaN where a mean involves a
    non-positive correlation (the geometric mean is undefined; cSEM warns likewise).
    Pairs of multi-item constructs; returns (pairs, values (B, n_pairs))."""
    J = structure.mask.shape[1]
    blocks = [np.flatnonzero(structure.mask[:, j]) for j in range(J)]

    def log_mean(values):
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.where(values > 0, np.log(np.abs(values)), np.nan)
        return logs.mean(axis=1)

    mono = {}
    for j, idx in enumerate(blocks):
        if len(idx) < 2:
            continue
        a, b = np.triu_indices(len(idx), 1)
        mono[j] = log_mean(R[:, idx[a], idx[b]])
    pairs = [(a, b) for a in range(J) for b in range(a + 1, J) if a in mono and b in mono]
    values = np.empty((R.shape[0], len(pairs)))
    for n, (a, b) in enumerate(pairs):
        hetero = R[:, blocks[a][:, None], blocks[b][None, :]].reshape(R.shape[0], -1)
        sign = np.where((hetero < 0).all(axis=1), -1.0, 1.0)  # all negative: |r|, sign kept (cSEM)
        values[:, n] = sign * np.exp(log_mean(np.abs(hetero) * np.where(sign[:, None] < 0, 1, np.sign(hetero)))
                                     - 0.5 * (mono[a] + mono[b]))
    return pairs, values
