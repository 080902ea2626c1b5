"""Covariance-based SEM (maximum likelihood) through semopy, from the same Model object.

semopy's default SLSQP tolerance can stop short of the ML optimum on ill-conditioned
data, so the objective tolerance is tightened (``tol``, default 1e-12); with it the
Political Democracy chi-square matches lavaan's 38.125 (tests/analysis/test_cbsem.py).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import optimize, stats

from models.csi_model import Model
from models.errors import CSIError

from .data import items_from_questionnaire, prepare

MISSING = ("listwise", "mean", "fiml")


class CBSEMError(CSIError):
    """Covariance-based estimation failed; the message says what and where."""


def semopy_description(model: Model) -> str:
    """The model in semopy's (lavaan-like) syntax."""
    formative = [c.name for c in model.constructs if c.is_formative]
    if formative:
        raise CBSEMError(f"construct{'s' if len(formative) > 1 else ''} {', '.join(map(repr, formative))} "
                         "is formative (<~); covariance-based SEM here estimates reflective blocks only: "
                         "use method='pls', or write the block with =~")
    lines = [f"{c.name} =~ {' + '.join(c.items)}" for c in model.constructs]
    for target in model.causal_order:
        sources = model.predecessors(target)
        if sources:
            lines.append(f"{target} ~ {' + '.join(sources)}")
    lines += [f"{a} ~~ {b}" for a, b in model.covariances]
    return "\n".join(lines)


@dataclass(frozen=True)
class CBSEMResults:
    """ML estimates with standard errors, standardized solution and fit indices."""

    model: Model
    n_total: int
    n_used: int
    dropped: Mapping[str, int]
    missing: str
    estimates: pd.DataFrame = field(repr=False)
    fit_indices: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    method: str = "cbsem"

    def _rows(self, op: str) -> pd.DataFrame:
        frame = self.estimates
        return frame[frame["op"] == op].copy()

    @property
    def path_coefficients(self) -> pd.DataFrame:
        constructs = set(self.model.construct_names)
        rows = self._rows("~")
        rows = rows[rows["lval"].isin(constructs) & rows["rval"].isin(constructs)]
        out = rows.rename(columns={"rval": "from", "lval": "to"})[
            ["from", "to", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "std_estimate"]]
        return out.reset_index(drop=True)

    @property
    def loadings(self) -> pd.DataFrame:
        """Unstandardized loadings (first item of each block fixed to 1) and standardized ones."""
        constructs = set(self.model.construct_names)
        rows = self._rows("~")
        rows = rows[rows["rval"].isin(constructs) & ~rows["lval"].isin(constructs)]
        out = rows.rename(columns={"rval": "construct", "lval": "item"})[
            ["construct", "item", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "std_estimate"]]
        return out.reset_index(drop=True)

    @property
    def covariances(self) -> pd.DataFrame:
        rows = self._rows("~~")
        return rows.rename(columns={"lval": "a", "rval": "b"})[
            ["a", "b", "estimate", "se", "z", "p_value", "std_estimate"]].reset_index(drop=True)

    @property
    def r_squared(self) -> pd.Series:
        rows = self._rows("~~")
        out = {}
        for name in self.model.endogenous:
            own = rows[(rows["lval"] == name) & (rows["rval"] == name)]
            if len(own):
                out[name] = float(1 - own["std_estimate"].iloc[0])
        return pd.Series(out, name="r_squared")

    @property
    def fit(self) -> dict[str, float]:
        return dict(self.fit_indices)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def to_dict(self) -> dict[str, Any]:
        def records(frame):
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else
                         (float(v) if isinstance(v, (float, np.floating)) else v)) for k, v in row.items()}
                    for row in frame.to_dict("records")]
        return {
            "method": "cbsem", "estimator": "ML", "n_total": self.n_total, "n_used": self.n_used,
            "dropped": dict(self.dropped), "missing": self.missing,
            "paths": records(self.path_coefficients), "r_squared": {k: float(v) for k, v in self.r_squared.items()},
            "loadings": records(self.loadings), "weights": [], "index": {}, "quality": {}, "htmt": [],
            "covariances": records(self.covariances), "fit": dict(self.fit_indices), "notes": list(self.notes),
        }

    def summary(self) -> str:
        from .summary import _table
        f = self.fit_indices
        lines = [f"Covariance-based SEM (ML, semopy): {self.model.name}", "=" * 50,
                 f"respondents used: {self.n_used} of {self.n_total}"
                 + "".join(f"; {n} dropped: {why}" for why, n in self.dropped.items()),
                 f"chi2 = {f['chi2']:.3f}, df = {f['df']:.0f}, p = {f['p_value']:.3f}; CFI = {f['cfi']:.3f}, "
                 f"TLI = {f['tli']:.3f}; RMSEA = {f['rmsea']:.3f} (90% CI {f['rmsea_ci_low']:.3f}-{f['rmsea_ci_high']:.3f}); "
                 f"SRMR = {f['srmr']:.3f}; AIC = {f['aic']:.1f}, BIC = {f['bic']:.1f}",
                 "", "Structural paths", _table(self.path_coefficients),
                 "", "R²", _table(self.r_squared.rename_axis("construct").reset_index()),
                 "", "Loadings", _table(self.loadings)]
        if self.notes:
            lines += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


class CBSEM:
    """Maximum-likelihood SEM through semopy.

    ``missing``: "listwise" (default), "mean" (item-mean imputation) or "fiml"
    (semopy's full-information ML on the incomplete data). ``tol``: the optimizer's
    objective tolerance. ``allow_negative_variance``: return Heywood solutions
    (with a note) instead of raising.
    """

    def __init__(self, model: Model, missing: str = "listwise", tol: float = 1e-12, max_iter: int = 10000,
                 allow_negative_variance: bool = False):
        if missing not in MISSING:
            raise CBSEMError(f"unknown missing-data method {missing!r} for CB-SEM; choose one of {', '.join(MISSING)}")
        self.model = model
        self.missing = missing
        self.tol = tol
        self.max_iter = max_iter
        self.allow_negative_variance = allow_negative_variance
        self.description = semopy_description(model)

    def fit(self, data: pd.DataFrame, questionnaire=None, item_info=None) -> CBSEMResults:
        import semopy

        if questionnaire is not None and item_info is None:
            item_info = items_from_questionnaire(questionnaire)
        if self.missing == "fiml":
            prepared = prepare(data, self.model, item_info, "keep")
            # semopy's FIML objective has no mean structure (it treats the data as mean zero), so the
            # items are centred at their available-case means first: exact for complete data (then
            # FIML = ML), and consistent under MCAR. See docs/methods.md.
            values = prepared.values - np.nanmean(prepared.values, axis=0)
            frame = pd.DataFrame(values, columns=list(self.model.items))
            n_used, dropped = prepared.n_used, dict(prepared.dropped)
            notes = list(prepared.notes) + ["items centred at their available-case means (semopy's FIML has no mean structure)"]
        else:
            prepared = prepare(data, self.model, item_info, self.missing)
            frame = pd.DataFrame(prepared.values, columns=list(self.model.items))
            n_used, dropped, notes = prepared.n_used, dict(prepared.dropped), list(prepared.notes)
        complete = prepared.values[~np.isnan(prepared.values).any(axis=1)]
        cov = np.cov(complete if len(complete) > len(self.model.items) else
                     np.where(np.isnan(prepared.values), np.nanmean(prepared.values, axis=0), prepared.values), rowvar=False)
        eigen = np.linalg.eigvalsh(cov)
        if eigen.min() <= 1e-10 * max(eigen.max(), 1e-300):
            vector = np.linalg.eigh(cov)[1][:, 0]
            involved = [self.model.items[i] for i in np.argsort(-np.abs(vector))[:3] if abs(vector[i]) > 0.1]
            raise CBSEMError(f"the item covariance matrix is not positive definite (smallest eigenvalue {eigen.min():.2e}); "
                             f"the items {', '.join(involved)} are (nearly) linearly dependent")
        sem = semopy.Model(self.description)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = sem.fit(frame, obj="FIML" if self.missing == "fiml" else "MLW",
                                 options={"ftol": self.tol, "maxiter": self.max_iter})
            except np.linalg.LinAlgError as exc:
                raise CBSEMError(f"semopy failed: the model-implied covariance matrix became singular ({exc}); "
                                 "check for constructs with one or two weak items") from None
        if not result.success:
            raise CBSEMError(f"ML estimation did not converge after {result.n_it} iterations ({result.message}); "
                             "check starting values, weak loadings, or fix a residual variance")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inspected = sem.inspect(std_est=True)
        estimates = _tidy(inspected)
        variances = estimates[(estimates["op"] == "~~") & (estimates["lval"] == estimates["rval"])]
        # semopy bounds variances below at 0, so a Heywood case shows up as a variance at the bound.
        scale = float(np.median(np.diag(cov)))
        negative = variances[variances["estimate"] <= 1e-6 * scale]
        if len(negative):
            # Estimates at semopy's bound differ from 0 by rounding noise only (1e-16): say 0.
            where = ", ".join(f"{r.lval} ({(r.estimate if abs(r.estimate) > 1e-9 * scale else 0.0):.3g})"
                              for r in negative.itertuples())
            message = (f"improper solution (Heywood case): the variance of {where} is at or below zero, "
                       "so the unconstrained ML estimate would be negative; typical causes are a construct with "
                       "one or two items, or an item that nearly duplicates another")
            if not self.allow_negative_variance:
                raise CBSEMError(message)
            notes.append(message)
        observed = sem.vars["observed"]  # semopy orders variables its own way (alphabetically)
        fit = _fit_indices(sem, n_used, frame[observed].to_numpy() if self.missing != "fiml" else None)
        return CBSEMResults(self.model, prepared.n_total, n_used, MappingProxyType(dropped), self.missing,
                            estimates, MappingProxyType(fit), tuple(notes))


def _tidy(inspected: pd.DataFrame) -> pd.DataFrame:
    frame = inspected.rename(columns={"Estimate": "estimate", "Std. Err": "se", "z-value": "z",
                                      "p-value": "p_value", "Est. Std": "std_estimate"})
    for column in ("estimate", "se", "z", "p_value", "std_estimate"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    z = stats.norm.ppf(0.975)
    frame["ci_low"] = frame["estimate"] - z * frame["se"]
    frame["ci_high"] = frame["estimate"] + z * frame["se"]
    return frame.reset_index(drop=True)


def _fit_indices(sem, n: int, values: np.ndarray | None) -> dict[str, float]:
    """Fit indices as lavaan reports them (ML, no mean structure, N in the formulas).
    ``values`` (n, p) must have its columns in semopy's order, ``sem.vars["observed"]``.

    With complete data every index has a closed form in the sample covariance S (ddof=0)
    and the model-implied Sigma: chi2 = N * F_ML with F_ML = log|Sigma| + tr(S Sigma^-1)
    - log|S| - p; the independence baseline has chi2_b = N * (sum log s_ii - log|S|) on
    p(p-1)/2 df. That avoids semopy refitting a baseline model. Under FIML (no S) the
    chi-square family comes from semopy's ``calc_stats``.
    """
    q = int(len(sem.param_vals))
    if values is None:
        import semopy

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = semopy.calc_stats(sem).iloc[0]
        chi2, df = float(table["chi2"]), float(table["DoF"])
        out = {"chi2": chi2, "df": df, "p_value": float(table["chi2 p-value"]), "cfi": float(table["CFI"]),
               "tli": float(table["TLI"]), "loglik": float("nan"), "aic": float("nan"), "bic": float("nan"),
               "srmr": float("nan")}
    else:
        sample = np.cov(values, rowvar=False, ddof=0)
        implied = sem.calc_sigma()[0]
        p = sample.shape[0]
        _, logdet_implied = np.linalg.slogdet(implied)
        _, logdet_sample = np.linalg.slogdet(sample)
        trace = float(np.trace(sample @ np.linalg.inv(implied)))
        chi2 = float(n * (logdet_implied + trace - logdet_sample - p))
        df = float(p * (p + 1) / 2 - q)
        chi2_base = float(n * (np.log(np.diag(sample)).sum() - logdet_sample))
        df_base = p * (p - 1) / 2
        worst = max(chi2_base - df_base, chi2 - df, 0.0)
        loglik = -n / 2 * (p * np.log(2 * np.pi) + logdet_implied + trace)
        out = {"chi2": chi2, "df": df, "p_value": float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
               "cfi": 1.0 - max(chi2 - df, 0.0) / worst if worst > 0 else 1.0,
               "tli": ((chi2_base / df_base) - (chi2 / df)) / ((chi2_base / df_base) - 1) if df > 0 else float("nan"),
               "loglik": float(loglik), "aic": float(-2 * loglik + 2 * q), "bic": float(-2 * loglik + q * np.log(n)),
               "srmr": srmr(sample, implied)}
    chi2, df = out["chi2"], out["df"]
    out["rmsea"] = float(np.sqrt(max(0.0, (chi2 - df) / (df * n)))) if df > 0 else float("nan")
    out["rmsea_ci_low"], out["rmsea_ci_high"] = rmsea_interval(chi2, df, n)
    out["n"] = n
    out["n_parameters"] = q
    return out


def rmsea_interval(chi2: float, df: float, n: int, level: float = 0.90) -> tuple[float, float]:
    """Confidence interval of RMSEA by inverting the noncentral chi-square (Steiger 1990),
    with N in the denominator as lavaan does."""
    if df <= 0:
        return (float("nan"), float("nan"))

    def noncentrality(target: float) -> float:
        # Find lambda with P(X <= chi2 | df, lambda) = target; zero if even lambda = 0 is below.
        if stats.chi2.cdf(chi2, df) < target:
            return 0.0
        high = max(10.0, chi2 * 4)
        while stats.ncx2.cdf(chi2, df, high) > target:
            high *= 2
        return optimize.brentq(lambda lam: stats.ncx2.cdf(chi2, df, lam) - target, 0.0, high, xtol=1e-10)

    upper_tail = (1 + level) / 2
    lam_low = noncentrality(upper_tail)
    lam_high = noncentrality(1 - upper_tail)
    return (float(np.sqrt(lam_low / (df * n))), float(np.sqrt(lam_high / (df * n))))


def srmr(sample_cov: np.ndarray, implied_cov: np.ndarray) -> float:
    """Standardized root mean square residual (Bentler's definition, as lavaan's ``srmr``):
    the RMS of residual correlations over the lower triangle including the diagonal."""
    s_sd = np.sqrt(np.diag(sample_cov))
    m_sd = np.sqrt(np.diag(implied_cov))
    residual = sample_cov / np.outer(s_sd, s_sd) - implied_cov / np.outer(m_sd, m_sd)
    rows, cols = np.tril_indices_from(residual)
    return float(np.sqrt(np.mean(residual[rows, cols] ** 2)))
