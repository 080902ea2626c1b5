"""Mediation: every specific indirect effect of a PLS (or PLSc) fit, with bootstrap
percentile intervals and the classification of Zhao, Lynch & Chen (2010).

A specific indirect effect is the product of the path coefficients along one directed
route source -> m_1 -> ... -> m_k -> target (k >= 1 mediators); the specific effects
of a pair add up to its indirect effect, (I - B)^-1 - I - B (Nitzl, Roldan & Cepeda 2016,
IMDS 116(9), for PLS; Preacher & Hayes 2008 for specific effects). Its interval is the
percentile interval of the products computed within each bootstrap resample, from the
resamples the fit's bootstrap kept.

Classification (Zhao, Lynch & Chen 2010, J. Consumer Research 37(2):197-206, Fig. 2),
of each specific indirect effect a*b against the direct effect c of its source on its
target, "significant" meaning the percentile interval excludes 0:

- a*b and c significant, a*b*c > 0: complementary;  a*b*c < 0: competitive;
- a*b significant, c not (or no direct path in the model, c = 0): indirect-only;
- a*b not significant, c significant: direct-only;
- neither: no effect.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TYPES = ("complementary", "competitive", "indirect-only", "direct-only", "no effect")
COLUMNS = ["from", "through", "to", "route", "estimate", "se", "ci_low", "ci_high", "direct", "direct_ci_low",
           "direct_ci_high", "direct_in_model", "type"]


def routes(path_matrix: np.ndarray) -> list[tuple[int, ...]]:
    """Every directed route with at least one mediator, as construct indices
    (source, m_1, ..., target); ``path_matrix[target, source]`` is 1 for a path."""
    J = path_matrix.shape[0]
    followers = [np.flatnonzero(path_matrix[:, j]).tolist() for j in range(J)]
    found = []

    def walk(route):
        for nxt in followers[route[-1]]:
            if nxt in route:  # a recursive model has no cycles; guard anyway
                continue
            extended = route + (nxt,)
            if len(extended) >= 3:
                found.append(extended)
            walk(extended)

    for source in range(J):
        walk((source,))
    return sorted(found, key=lambda r: (r[0], r[-1], len(r), r))


def route_products(paths: np.ndarray, chosen: list[tuple[int, ...]]) -> np.ndarray:
    """Specific indirect effects (B, R) from path matrices (B, J, J) [target, source]."""
    out = np.ones((paths.shape[0], len(chosen)))
    for r, route in enumerate(chosen):
        for a, b in zip(route[:-1], route[1:]):
            out[:, r] *= paths[:, b, a]
    return out


def classify(indirect_significant: bool, direct_significant: bool, sign_product: float) -> str:
    """Zhao, Lynch & Chen (2010) type from the two tests and the sign of a*b*c."""
    if indirect_significant and direct_significant:
        return "complementary" if sign_product > 0 else "competitive"
    if indirect_significant:
        return "indirect-only"
    if direct_significant:
        return "direct-only"
    return "no effect"


def _excludes_zero(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def mediation_table(results) -> pd.DataFrame:
    """One row per specific indirect effect of a :class:`~analysis.results.PLSResults`.

    Columns: from, through (mediators joined by " -> "), to, route, estimate, se, ci_low,
    ci_high (bootstrap percentile at the fit's level), direct (the source's direct path on
    the target, 0 when the model has none), its interval, direct_in_model, and type
    (one of :data:`TYPES`; None without a bootstrap, which the tests need).
    """
    structure = results.structure
    names = structure.constructs
    chosen = routes(structure.path_matrix)
    if not chosen:
        return pd.DataFrame(columns=COLUMNS)
    paths = np.array(results._paths)[None]
    estimate = route_products(paths, chosen)[0]
    boot = results.bootstrap
    R = len(chosen)
    se = np.full(R, np.nan)
    interval = np.full((R, 2), np.nan)
    direct_interval = np.full((R, 2), np.nan)
    if boot is not None and boot.n_ok >= 2:
        sampled = np.zeros((boot.n_ok, len(names), len(names)))
        for n in results.layout.positions("path"):
            _, a, b = results.layout.labels[n]
            sampled[:, names.index(b), names.index(a)] = boot.samples[:, n]
        products = route_products(sampled, chosen)
        alpha = (1 - boot.level) / 2
        with np.errstate(all="ignore"):
            se = np.nanstd(products, axis=0, ddof=1)
            interval = np.nanquantile(products, [alpha, 1 - alpha], axis=0).T
            direct = np.stack([sampled[:, r[-1], r[0]] for r in chosen], axis=1)
            direct_interval = np.nanquantile(direct, [alpha, 1 - alpha], axis=0).T
    rows = []
    for r, route in enumerate(chosen):
        source, target = route[0], route[-1]
        in_model = bool(structure.path_matrix[target, source])
        direct = float(results._paths[target, source]) if in_model else 0.0
        d_low, d_high = (direct_interval[r] if in_model else (0.0, 0.0)) if boot is not None else (np.nan, np.nan)
        kind = None
        if boot is not None and boot.n_ok >= 2:
            kind = classify(_excludes_zero(*interval[r]), in_model and _excludes_zero(d_low, d_high),
                            np.sign(estimate[r]) * np.sign(direct))
        rows.append({"from": names[source], "through": " -> ".join(names[m] for m in route[1:-1]),
                     "to": names[target], "route": " -> ".join(names[m] for m in route),
                     "estimate": float(estimate[r]), "se": float(se[r]), "ci_low": float(interval[r, 0]),
                     "ci_high": float(interval[r, 1]), "direct": direct, "direct_ci_low": float(d_low),
                     "direct_ci_high": float(d_high), "direct_in_model": in_model, "type": kind})
    return pd.DataFrame(rows, columns=COLUMNS)
