"""Numerical core of covariance-based SEM: the model-implied moments of a RAM-form model,
the normal log-likelihood of data with holes (FIML), its derivatives, and EM for the
saturated model. Shapes: p observed items, v = p + m variables (items first, then
constructs), q free parameters, K missing-data patterns, N rows.

Written on numpy rather than through semopy because semopy's FIML has no mean structure
(it treats the data as mean zero), so it cannot give lavaan's ``missing="ml"`` estimates,
log-likelihood or chi-square under missing data, and its per-row Python loop took minutes
on a 24-item model. Here every missing-data pattern is handled at once: a pattern's
covariance matrix is Sigma with the rows and columns of its unanswered items replaced by
those of the identity, so one batched Cholesky factorisation gives every pattern's inverse
and log-determinant (the identity part adds nothing to either).

References: McArdle & McDonald (1984), Brit. J. Math. Stat. Psych. 37:234-251 (RAM);
Arbuckle (1996), in Marcoulides & Schumacker (eds.), Advanced Structural Equation
Modeling, 243-277 (casewise FIML); Dempster, Laird & Rubin (1977), JRSS-B 39:1-38, and
Little & Rubin (2002), Statistical Analysis with Missing Data, ch. 11 (EM for the
saturated normal model).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2 * np.pi))


class NotPositiveDefinite(ArithmeticError):
    """The implied covariance matrix of some pattern is not positive definite."""


@dataclass
class Ram:
    """A RAM model: Sigma = F (I - A)^-1 S (I - A)^-T F', mu = nu (free item intercepts).

    ``a_fixed``/``s_fixed`` (v, v) hold the fixed values; ``a_entries``/``s_entries`` are
    int arrays (k, 3) of (row, col, parameter index) for the free entries (a label shared
    by several entries gives them one index; ``s_entries`` lists each symmetric pair once).
    """

    p: int
    a_fixed: np.ndarray
    s_fixed: np.ndarray
    a_entries: np.ndarray
    s_entries: np.ndarray
    q: int

    def matrices(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.a_fixed.copy()
        s = self.s_fixed.copy()
        if len(self.a_entries):
            a[self.a_entries[:, 0], self.a_entries[:, 1]] = theta[self.a_entries[:, 2]]
        if len(self.s_entries):
            r, c, k = self.s_entries.T
            s[r, c] = theta[k]
            s[c, r] = theta[k]
        return a, s

    def implied(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Sigma (p, p), Omega = (I - A)^-1 (v, v), C = full implied covariance (v, v))."""
        a, s = self.matrices(theta)
        omega = np.linalg.inv(np.eye(a.shape[0]) - a)
        full = omega @ s @ omega.T
        return full[:self.p, :self.p], omega, full

    def jacobian(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Sigma (p, p), dSigma/dtheta (q, p, p)).

        dSigma/dA_ij = u v' + v u' with u = Omega[:p, i], v = C[:p, j];
        dSigma/dS_ij = Omega[:p, i] Omega[:p, j]' (+ its transpose when i != j).
        """
        sigma, omega, full = self.implied(theta)
        p = self.p
        out = np.zeros((self.q, p, p))
        if len(self.a_entries):
            r, c, k = self.a_entries.T
            d = omega[:p, r].T[:, :, None] * full[:p, c].T[:, None, :]
            _accumulate(out, k, d + d.transpose(0, 2, 1))
        if len(self.s_entries):
            r, c, k = self.s_entries.T
            d = omega[:p, r].T[:, :, None] * omega[:p, c].T[:, None, :]
            d = d + d.transpose(0, 2, 1)
            d[r == c] /= 2
            _accumulate(out, k, d)
        return sigma, out


def _accumulate(out: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """out[index] += values, summing repeated indices (equality labels)."""
    if len(np.unique(index)) == len(index):
        out[index] += values
    else:
        np.add.at(out, index, values)


class Patterns:
    """Data (N, p) with NaN holes grouped by missing-data pattern, with per-pattern sums."""

    def __init__(self, values: np.ndarray):
        observed = ~np.isnan(values)
        keys, inverse, counts = np.unique(observed, axis=0, return_inverse=True, return_counts=True)
        self.values = np.where(observed, values, 0.0)
        self.observed = observed
        self.masks = keys.astype(float)                       # (K, p)
        self.which = inverse.reshape(-1)                      # (N,) pattern of each row
        self.counts = counts.astype(float)                    # (K,)
        K, p = keys.shape
        self.sums = np.zeros((K, p))
        np.add.at(self.sums, self.which, self.values)
        self.cross = np.zeros((K, p, p))
        np.add.at(self.cross, self.which, self.values[:, :, None] * self.values[:, None, :])
        self.outer_masks = self.masks[:, :, None] * self.masks[:, None, :]
        self.n_observed = self.masks.sum(axis=1)
        self.n = values.shape[0]
        self.p = p

    @property
    def complete(self) -> bool:
        return len(self.counts) == 1 and bool(self.masks[0].all())

    def inverses(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pattern: Sigma_oo^-1 embedded in (p, p) with zeros elsewhere (K, p, p), log|Sigma_oo| (K,)."""
        m = self.masks
        stacked = sigma[None] * self.outer_masks + np.eye(self.p)[None] * (1 - m)[:, None, :]
        try:
            chol = np.linalg.cholesky(stacked)
        except np.linalg.LinAlgError:
            raise NotPositiveDefinite from None
        logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        inv = np.linalg.inv(stacked) * self.outer_masks
        return inv, logdet

    def centred_cross(self, mu: np.ndarray) -> np.ndarray:
        """Per pattern: sum over rows of (x - mu)(x - mu)' on the observed items, / n_k (K, p, p)."""
        s1mu = self.sums[:, :, None] * mu[None, None, :]
        w = (self.cross - s1mu - s1mu.transpose(0, 2, 1)) / self.counts[:, None, None] + np.outer(mu, mu)[None]
        return w * self.outer_masks

    def deviance(self, mu: np.ndarray, sigma: np.ndarray, gradient: bool = True):
        """-loglik and its derivatives: (value, d/dmu (p,), d/dSigma (p, p)) with
        d(-loglik) = g_mu' dmu + tr(G_Sigma dSigma) for symmetric dSigma."""
        inv, logdet = self.inverses(sigma)
        w = self.centred_cross(mu)
        n = self.counts
        trace = (inv * w).sum(axis=(1, 2))                     # tr(P W), both symmetric
        value = 0.5 * float(n @ (self.n_observed * LOG_2PI + logdet + trace))
        if not gradient:
            return value, None, None
        d = (self.sums / n[:, None] - mu[None]) * self.masks
        g_mu = -(n[:, None] * (inv @ d[:, :, None])[:, :, 0]).sum(axis=0)
        g_sigma = 0.5 * np.tensordot(n, inv - inv @ w @ inv, axes=1)
        return value, g_mu, g_sigma

    def case_scores(self, mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Casewise derivatives of loglik_i: (d/dmu (N, p), d/dSigma (N, p, p)), as matrices."""
        inv, _ = self.inverses(sigma)
        e = (self.values - mu[None]) * self.observed
        pi = inv[self.which]
        pe = np.einsum("nab,nb->na", pi, e)
        return pe, 0.5 * (pe[:, :, None] * pe[:, None, :] - pi)

    def h1_information(self, mu: np.ndarray, sigma: np.ndarray, duplication: np.ndarray) -> np.ndarray:
        """Observed information (minus the Hessian of loglik) of the saturated model in
        (mu, vech Sigma) coordinates, summed over rows; ``duplication`` is D (p*p, p(p+1)/2)."""
        inv, _ = self.inverses(sigma)
        w = self.centred_cross(mu)
        n = self.counts
        p = self.p
        q = inv @ w @ inv
        d = (self.sums / n[:, None] - mu[None]) * self.masks

        def pair(x, y):
            # sum_k n_k x_k[a, d] y_k[b, c], arranged as [a, b, c, d]
            t = (n[:, None] * x.reshape(len(n), -1)).T @ y.reshape(len(n), -1)
            return t.reshape(p, p, p, p).transpose(0, 2, 3, 1)

        # Hessian of loglik as a bilinear form in symmetric dSigma:
        # n_k [1/2 tr(P X P Y) - 1/2 tr(P X P Y P W) - 1/2 tr(P Y P X P W)], W the pattern's
        # cross-products about mu; D' M D turns it into vech coordinates.
        m = 0.5 * pair(inv, inv) - 0.5 * pair(q, inv) - 0.5 * pair(inv, q)
        h_ss = duplication.T @ m.reshape(p * p, p * p) @ duplication
        # d2 loglik / dmu_a dSigma_cd = -n_k P_ac (P d)_d
        pd = np.einsum("kab,kb->ka", inv, d)
        h_ms = np.einsum("k,kac,kd->acd", -n, inv, pd).reshape(p, p * p) @ duplication
        h_mm = -np.einsum("k,kab->ab", n, inv)
        top = np.hstack([h_mm, h_ms])
        bottom = np.hstack([h_ms.T, h_ss])
        return -np.vstack([top, bottom])


def duplication_matrix(p: int) -> np.ndarray:
    """D with vec(S) = D vech(S), vech running down the columns of the lower triangle."""
    rows, cols = np.tril_indices(p)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    d = np.zeros((p * p, len(rows)))
    for k, (i, j) in enumerate(zip(rows, cols)):
        d[i * p + j, k] = 1.0
        d[j * p + i, k] = 1.0
    return d


def vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.tril_indices(p)
    order = np.lexsort((rows, cols))
    return rows[order], cols[order]


def saturated_em(patterns: Patterns, tol: float = 1e-11, max_iter: int = 20000) -> tuple[np.ndarray, np.ndarray, int]:
    """ML means (p,) and covariance (p, p) of incomplete normal data by EM; returns the
    iteration count too. Each E-step regresses a pattern's unanswered items on its
    answered ones for every pattern at once (R = Sigma P_k, conditional covariance
    Sigma - Sigma P_k Sigma)."""
    x, obs = patterns.values, patterns.observed
    count = obs.sum(axis=0)
    mu = x.sum(axis=0) / count
    centred = np.where(obs, x - mu, 0.0)
    sigma = np.diag((centred ** 2).sum(axis=0) / count)
    pair = obs.T.astype(float) @ obs
    with np.errstate(invalid="ignore", divide="ignore"):
        pairwise = (centred.T @ centred) / np.maximum(pair, 1)
    sd = np.sqrt(np.diag(sigma))
    corr = np.clip(pairwise / np.outer(sd, sd), -0.95, 0.95)
    np.fill_diagonal(corr, 1.0)
    if np.linalg.eigvalsh(corr).min() > 1e-3:
        sigma = corr * np.outer(sd, sd)
    n, K, p = patterns.n, len(patterns.counts), patterns.p
    eye = np.eye(p)
    for iteration in range(1, max_iter + 1):
        inv, _ = patterns.inverses(sigma)
        r = sigma[None] @ inv                                    # (K, p, p)
        a = (eye[None] - r) @ mu                                 # (K, p)
        rs1 = (r @ patterns.sums[:, :, None])[:, :, 0]
        t1 = (patterns.counts[:, None] * a + rs1).sum(axis=0)
        conditional = sigma[None] - r @ sigma[None]
        a_rs1 = a.T @ rs1
        t2 = ((patterns.counts[:, None] * a).T @ a + a_rs1 + a_rs1.T
              + (r @ patterns.cross @ r.transpose(0, 2, 1)).sum(axis=0)
              + np.tensordot(patterns.counts, conditional, axes=1))
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        new_sigma = (new_sigma + new_sigma.T) / 2
        change = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max())
        mu, sigma = new_mu, new_sigma
        if change < tol * max(1.0, np.abs(sigma).max()):
            return mu, sigma, iteration
    return mu, sigma, max_iter
