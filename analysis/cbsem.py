"""Covariance-based SEM by maximum likelihood, as lavaan 0.6 fits it (Rosseel 2012,
J. Stat. Softw. 48(2)), from the same Model object as PLS.

The model follows lavaan's ``sem()`` defaults: the first loading of each block is fixed
at 1 (``NA*x`` frees it), a single indicator's residual variance is fixed at 0 (lavaan's
``auto.fix.single``: the construct *is* the item), every residual and construct
(disturbance) variance is free, exogenous constructs covary freely, and fixed values and
equality labels in the model text mean what they mean in lavaan.

Estimators (``estimator``, ``missing``):

- ``ml`` with ``listwise`` or ``mean``: the ML discrepancy on the sample covariance
  (divisor N); standard errors from the expected information (lavaan's default).
- ``ml`` with ``fiml``: full-information ML on the rows as they are, item means and
  covariance structure estimated jointly (lavaan's ``missing="ml"``); chi-square against
  the saturated model fitted by EM; standard errors from the observed information.
- ``mlr``: the same point estimates with Huber-White sandwich standard errors and the
  Yuan-Bentler scaled chi-square in lavaan's "yuan.bentler.mplus" form, with or
  without missing data (Yuan & Bentler 2000, Sociol. Methodol. 30:165-200; Muthen &
  Muthen, Mplus technical appendices).

The estimator is written on numpy/scipy (``analysis/sem_core.py``, which says why
semopy was replaced). Every number is checked against lavaan fixtures in
``tests/data/lavaan/`` (``tests/analysis/test_cbsem.py``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import optimize, stats

from models.csi_model import Model
from models.errors import CSIError

from .data import items_from_questionnaire, prepare
from .sem_core import NotPositiveDefinite, Patterns, Ram, duplication_matrix, saturated_em, vech_indices

MISSING = ("listwise", "mean", "fiml")
ESTIMATORS = ("ml", "mlr")
EM_MAX_ITER = 20000
MAX_ITEMS_OBSERVED_INFORMATION = 60   # p^4 doubles: 60 items -> 104 MB per work array


class CBSEMError(CSIError):
    """Covariance-based estimation failed; the message says what and where."""


def semopy_description(model: Model) -> str:
    """The model in semopy's (lavaan-like) syntax: kept for peer checks against semopy."""
    _refuse_formative(model)
    lines = [f"{c.name} =~ {' + '.join(c.items)}" for c in model.constructs]
    for target in model.causal_order:
        sources = model.predecessors(target)
        if sources:
            lines.append(f"{target} ~ {' + '.join(sources)}")
    lines += [f"{a} ~~ {b}" for a, b in model.covariances]
    return "\n".join(lines)


def _refuse_formative(model: Model) -> None:
    formative = [c.name for c in model.constructs if c.is_formative]
    if formative:
        raise CBSEMError(f"construct{'s' if len(formative) > 1 else ''} {', '.join(map(repr, formative))} "
                         "is formative (<~); covariance-based SEM here estimates reflective blocks only: "
                         "use method='pls', or write the block with =~")


# ----------------------------------------------------------------------------- parameter table

@dataclass(frozen=True)
class Parameter:
    """One row of the parameter table (lavaan's partable): ``free`` is the index into the
    free-parameter vector, or -1 when fixed at ``value``."""

    lhs: str
    op: str
    rhs: str
    matrix: str          # "A" (directed), "S" (symmetric) or "nu" (intercept)
    row: int
    col: int
    free: int
    value: float
    label: str = ""


def parameter_table(model: Model) -> list[Parameter]:
    """The parameters of ``model`` in lavaan's order and with its defaults (see module docstring)."""
    _refuse_formative(model)
    items = list(model.items)
    names = list(model.construct_names)
    index = {n: i for i, n in enumerate(items)} | {n: len(items) + j for j, n in enumerate(names)}
    rows: list[tuple] = []          # (lhs, op, rhs, matrix, row, col, fixed value or None, label, free?)

    def add(lhs, op, rhs, matrix, r, c, default_fixed):
        m = model.modifier(op, lhs, rhs)
        value, label = default_fixed, ""
        if m is not None:
            if m.free:
                value = None
            elif m.value is not None:
                value = m.value
            if m.label:
                label = m.label
        rows.append((lhs, op, rhs, matrix, r, c, value, label))

    for c in model.constructs:
        for k, item in enumerate(c.items):
            add(c.name, "=~", item, "A", index[item], index[c.name], 1.0 if k == 0 else None)
    for target in model.causal_order:
        for source in model.predecessors(target):
            add(target, "~", source, "A", index[target], index[source], None)
    written = {frozenset((a, b)) for a, b in model.covariances}
    single = {c.items[0] for c in model.constructs if len(c.items) == 1}
    for a, b in model.covariances:
        add(a, "~~", b, "S", index[a], index[b], None)
    for item in items:
        if frozenset((item,)) not in written:
            rows.append((item, "~~", item, "S", index[item], index[item], 0.0 if item in single else None, ""))
    for name in names:
        if frozenset((name,)) not in written:
            rows.append((name, "~~", name, "S", index[name], index[name], None, ""))
    exogenous = list(model.exogenous)
    for i, a in enumerate(exogenous):
        for b in exogenous[i + 1:]:
            if frozenset((a, b)) not in written:
                rows.append((a, "~~", b, "S", index[a], index[b], None, ""))
    # Equality labels: one free parameter per label; a label on a fixed parameter fixes them all.
    fixed_label = {r[7]: r[6] for r in rows if r[7] and r[6] is not None}
    out, next_free, by_label = [], 0, {}
    for lhs, op, rhs, matrix, r, c, value, label in rows:
        if label in fixed_label:
            value = fixed_label[label]
        if value is not None:
            out.append(Parameter(lhs, op, rhs, matrix, r, c, -1, float(value), label))
            continue
        if label and label in by_label:
            free = by_label[label]
        else:
            free = next_free
            next_free += 1
            if label:
                by_label[label] = free
        out.append(Parameter(lhs, op, rhs, matrix, r, c, free, math.nan, label))
    return out


def _ram(table: list[Parameter], p: int, v: int) -> Ram:
    a_fixed, s_fixed = np.zeros((v, v)), np.zeros((v, v))
    a_entries, s_entries = [], []
    for t in table:
        if t.matrix == "A":
            if t.free < 0:
                a_fixed[t.row, t.col] = t.value
            else:
                a_entries.append((t.row, t.col, t.free))
        elif t.matrix == "S":
            if t.free < 0:
                s_fixed[t.row, t.col] = s_fixed[t.col, t.row] = t.value
            else:
                s_entries.append((t.row, t.col, t.free))
    q = 1 + max([t.free for t in table], default=-1)
    return Ram(p, a_fixed, s_fixed, np.array(a_entries, dtype=int).reshape(-1, 3),
               np.array(s_entries, dtype=int).reshape(-1, 3), q)


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class CBSEMResults:
    """ML estimates with standard errors, the standardized solution and fit indices.

    ``estimates`` holds lavaan's parameter table: lhs, op (=~, ~, ~~, ~1), rhs, estimate,
    se, z, p_value, ci_low, ci_high, std_estimate (lavaan's std.all), free (bool), label.
    """

    model: Model
    n_total: int
    n_used: int
    dropped: Mapping[str, int]
    missing: str
    estimates: pd.DataFrame = field(repr=False)
    fit_indices: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    estimator: str = "ml"
    residual_correlations: pd.DataFrame | None = field(default=None, repr=False)
    method: str = "cbsem"

    def _rows(self, op: str) -> pd.DataFrame:
        frame = self.estimates
        return frame[frame["op"] == op].copy()

    @property
    def path_coefficients(self) -> pd.DataFrame:
        rows = self._rows("~")
        out = rows.rename(columns={"rhs": "from", "lhs": "to"})[
            ["from", "to", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "std_estimate"]]
        return out.reset_index(drop=True)

    @property
    def loadings(self) -> pd.DataFrame:
        """Unstandardized loadings (first item of each block fixed to 1) and standardized ones."""
        rows = self._rows("=~")
        out = rows.rename(columns={"lhs": "construct", "rhs": "item"})[
            ["construct", "item", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "std_estimate"]]
        return out.reset_index(drop=True)

    @property
    def covariances(self) -> pd.DataFrame:
        """Variances and covariances; std_estimate of a covariance is the (residual) correlation."""
        rows = self._rows("~~")
        return rows.rename(columns={"lhs": "a", "rhs": "b"})[
            ["a", "b", "estimate", "se", "z", "p_value", "std_estimate"]].reset_index(drop=True)

    @property
    def r_squared(self) -> pd.Series:
        rows = self._rows("~~")
        out = {}
        for name in self.model.endogenous:
            own = rows[(rows["lhs"] == name) & (rows["rhs"] == name)]
            if len(own):
                out[name] = float(1 - own["std_estimate"].iloc[0])
        return pd.Series(out, name="r_squared", dtype=float)

    @property
    def fit(self) -> dict[str, float]:
        return dict(self.fit_indices)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every non-finite number is None, with a note saying where and why."""
        notes = list(self.notes)
        undefined: list[str] = []

        def clean(value, where):
            if isinstance(value, (float, np.floating)):
                if not np.isfinite(value):
                    undefined.append(where)
                    return None
                return float(value)
            if isinstance(value, (np.integer,)):
                return int(value)
            if isinstance(value, (np.bool_,)):
                return bool(value)
            return value

        def records(frame, name):
            return [{k: clean(v, f"{name}[{i}].{k}") for k, v in row.items()}
                    for i, row in enumerate(frame.to_dict("records"))]

        out = {
            "method": "cbsem", "estimator": self.estimator.upper(), "n_total": self.n_total, "n_used": self.n_used,
            "dropped": dict(self.dropped), "missing": self.missing,
            "paths": records(self.path_coefficients, "paths"),
            "r_squared": {k: clean(v, f"r_squared.{k}") for k, v in self.r_squared.items()},
            "loadings": records(self.loadings, "loadings"), "weights": [], "index": {}, "quality": {}, "htmt": [],
            "covariances": records(self.covariances, "covariances"),
            "fit": {k: clean(v, f"fit.{k}") for k, v in self.fit_indices.items()},
        }
        if undefined:
            shown = ", ".join(undefined[:8]) + (f" and {len(undefined) - 8} more" if len(undefined) > 8 else "")
            notes.append(f"null marks a value that is undefined here ({shown}): e.g. a standard error of a fixed "
                         "parameter, a correlation with a variance fixed at 0, or an index with 0 degrees of freedom")
        out["notes"] = notes
        return out

    def summary(self) -> str:
        from .summary import _table

        def num(key, fmt=".3f"):
            value = self.fit_indices.get(key, math.nan)
            return "n/a" if value is None or not np.isfinite(value) else format(value, fmt)

        est = {"ml": "ML", "mlr": "MLR (robust SEs, Yuan-Bentler scaled chi2)"}[self.estimator]
        miss = {"fiml": "full-information ML", "listwise": "listwise deletion", "mean": "item-mean imputation"}[self.missing]
        f = self.fit_indices
        lines = [f"Covariance-based SEM ({est}; {miss}): {self.model.name}", "=" * 50,
                 f"respondents used: {self.n_used} of {self.n_total}"
                 + "".join(f"; {n} dropped: {why}" for why, n in self.dropped.items()),
                 f"chi2 = {num('chi2')}, df = {num('df', '.0f')}, p = {num('p_value')}; CFI = {num('cfi')}, "
                 f"TLI = {num('tli')}; RMSEA = {num('rmsea')} (90% CI {num('rmsea_ci_low')}-{num('rmsea_ci_high')}); "
                 f"SRMR = {num('srmr')}",
                 f"log-likelihood = {num('loglik')} ({f.get('n_parameters', 0):.0f} parameters); "
                 f"AIC = {num('aic', '.1f')}, BIC = {num('bic', '.1f')}"]
        if self.estimator == "mlr":
            lines.append(f"scaled chi2 = {num('chi2_scaled')} (scaling factor {num('scaling_factor')}), "
                         f"p = {num('p_value_scaled')}; scaled CFI = {num('cfi_scaled')}, TLI = {num('tli_scaled')}, "
                         f"RMSEA = {num('rmsea_scaled')}")
        lines += ["", "Structural paths", _table(self.path_coefficients),
                  "", "R²", _table(self.r_squared.rename_axis("construct").reset_index()),
                  "", "Loadings", _table(self.loadings)]
        covariances = self.covariances[self.covariances["a"] != self.covariances["b"]]
        if len(covariances):
            lines += ["", "Covariances (std_estimate: the correlation, of residuals for items)", _table(covariances)]
        if self.notes:
            lines += ["", "Notes"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- estimator

Progress = Callable[[str, float], None]


class CBSEM:
    """Maximum-likelihood SEM (lavaan's ``sem()``).

    ``missing``: "listwise" (default), "mean" (item-mean imputation) or "fiml"
    (full-information ML with a mean structure, lavaan's ``missing="ml"``).
    ``estimator``: "ml" or "mlr" (robust: sandwich SEs, Yuan-Bentler scaled chi2).
    ``tol``: convergence tolerance on the gradient of the per-row deviance.
    ``allow_negative_variance``: return improper (Heywood) solutions with a note
    instead of raising, as lavaan does with a warning.
    ``on_progress(stage, fraction)``: called as the fit proceeds (fraction in [0, 1]).
    """

    def __init__(self, model: Model, missing: str = "listwise", estimator: str = "ml", tol: float = 1e-9,
                 max_iter: int = 10000, allow_negative_variance: bool = False,
                 on_progress: Progress | None = None):
        if missing not in MISSING:
            raise CBSEMError(f"unknown missing-data method {missing!r} for CB-SEM; choose one of {', '.join(MISSING)}")
        estimator = str(estimator).lower()
        if estimator not in ESTIMATORS:
            raise CBSEMError(f"unknown estimator {estimator!r} for CB-SEM; choose one of {', '.join(ESTIMATORS)}")
        if model.interactions:
            raise CBSEMError(f"interaction terms ({', '.join(model.interaction_names)}) are estimated by PLS only "
                             "(--method pls with --interaction two-stage|product|orthogonal)")
        if model.higher_order:
            raise CBSEMError(f"higher-order construct {next(iter(model.higher_order))!r}: CB-SEM of second-order "
                             "factors is not supported yet; fit it with method='pls' (csi fit --method pls)")
        self.model = model
        self.missing = missing
        self.estimator = estimator
        self.tol = tol
        self.max_iter = max_iter
        self.allow_negative_variance = allow_negative_variance
        self.on_progress = on_progress
        self.table = parameter_table(model)

    def _progress(self, stage: str, fraction: float) -> None:
        # Never backwards: the gradient can grow for an iteration, the bar should not shrink.
        self._fraction = max(getattr(self, "_fraction", 0.0), float(min(max(fraction, 0.0), 1.0)))
        if self.on_progress is not None:
            self.on_progress(stage, self._fraction)

    def fit(self, data: pd.DataFrame, questionnaire=None, item_info=None) -> CBSEMResults:
        """Estimate the model on ``data`` (rows = respondents, columns include every item)."""
        from threadpoolctl import threadpool_limits

        # The matrices are small (p <= ~50): one BLAS thread is fastest, and on a busy host
        # multi-threaded BLAS spins waiting for cores (3x slower measured on 2 shared cores).
        with threadpool_limits(1, user_api="blas"):
            return self._fit(data, questionnaire, item_info)

    def _fit(self, data: pd.DataFrame, questionnaire=None, item_info=None) -> CBSEMResults:
        if questionnaire is not None and item_info is None:
            item_info = items_from_questionnaire(questionnaire)
        prepared = prepare(data, self.model, item_info, "keep" if self.missing == "fiml" else self.missing)
        values = prepared.values
        notes = list(prepared.notes)
        items = list(self.model.items)
        p, m = len(items), len(self.model.constructs)
        ram = _ram(self.table, p, p + m)
        fiml = self.missing == "fiml"
        if (fiml or self.estimator == "mlr") and p > MAX_ITEMS_OBSERVED_INFORMATION:
            raise CBSEMError(f"the model has {p} items; full-information and robust (MLR) estimation here are limited "
                             f"to {MAX_ITEMS_OBSERVED_INFORMATION} items, because their observed information takes "
                             "memory growing as items^4: use --missing listwise and --estimator ml, or fewer items")
        patterns = Patterns(values)
        n = patterns.n
        moments = p * (p + 1) // 2
        if ram.q > moments:
            raise CBSEMError(f"the model is not identified: {ram.q} free parameters but only {moments} "
                             f"variances and covariances of {p} items (fix parameters or add items)")
        # Saturated (h1) model: sample moments, or EM under missing data.
        self._fraction = 0.0
        self._progress("saturated model", 0.0)
        if patterns.complete:
            h1_mu = values.mean(axis=0)
            h1_sigma = np.cov(values, rowvar=False, ddof=0)
        else:
            h1_mu, h1_sigma, em_iter = saturated_em(patterns, max_iter=EM_MAX_ITER)
            if em_iter >= EM_MAX_ITER:
                notes.append(f"EM for the saturated model stopped after {EM_MAX_ITER} iterations before converging; "
                             "chi-square and SRMR may be slightly off (many holes in few rows?)")
        _check_positive_definite(h1_sigma, items)
        h1_dev = patterns.deviance(h1_mu, h1_sigma, gradient=False)[0]
        self._progress("estimating", 0.05)

        theta0 = _start_values(self.table, ram, h1_sigma, p)
        state = _Objective(ram, patterns, h1_mu, fiml, n)
        x = self._optimize(state, np.concatenate([theta0, h1_mu]) if fiml else theta0)
        self._progress("standard errors", 0.8)
        theta = x[:ram.q]
        mu = x[ram.q:] if fiml else h1_mu
        sigma, dsigma = ram.jacobian(theta)
        model_dev = patterns.deviance(mu, sigma, gradient=False)[0]
        n_par = ram.q + (p if fiml else 0)

        # Information matrices (totals over rows).
        if fiml or self.estimator == "mlr":
            hessian = state.observed_information(x)
        else:
            hessian = state.expected_information(x)
        try:
            information_inv = np.linalg.inv(hessian)
            if not np.all(np.isfinite(information_inv)) or np.linalg.eigvalsh((hessian + hessian.T) / 2).min() <= 0:
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            raise CBSEMError("the information matrix is singular at the estimates: the model is not identified "
                             "(a construct needs a fixed loading or variance, or a label ties too few parameters)") from None
        if self.estimator == "mlr":
            scores = state.scores(x, dsigma)             # (N, q[+p])
            meat = scores.T @ scores
            vcov = information_inv @ meat @ information_inv
        else:
            vcov = information_inv
        se = np.sqrt(np.clip(np.diag(vcov), 0, None))

        fit = _fit_indices(patterns, h1_mu, h1_sigma, h1_dev, mu, sigma, model_dev, ram.q, n_par, fiml, moments)
        if self.estimator == "mlr":
            self._progress("robust test statistic", 0.9)
            fit.update(_scaled_test(self, patterns, h1_mu, h1_sigma, fit, hessian, state, x, dsigma, fiml))
        estimates, residuals = self._tables(theta, mu, se, sigma, h1_mu, h1_sigma, ram, items, fiml)
        variances = estimates[(estimates.op == "~~") & (estimates.lhs == estimates.rhs) & estimates.free]
        negative = variances[variances.estimate < 0]
        if len(negative):
            where = ", ".join(f"{r.lhs} ({r.estimate:.3g})" for r in negative.itertuples())
            message = (f"improper solution (Heywood case): the estimated variance of {where} is negative; "
                       "typical causes are a construct with one or two items, an item that nearly duplicates "
                       "another, or a path model that explains a construct completely")
            if not self.allow_negative_variance:
                raise CBSEMError(message + " (allow_negative_variance=True, or --allow-improper, reports it anyway)")
            notes.append(message)
        if not patterns.complete and not fiml:
            notes.append("internal: holes left after preparation")  # pragma: no cover - prepare() removes them
        self._progress("done", 1.0)
        return CBSEMResults(self.model, prepared.n_total, n, MappingProxyType(dict(prepared.dropped)), self.missing,
                            estimates, MappingProxyType(fit), tuple(notes), self.estimator, residuals)

    def _optimize(self, state: "_Objective", x0: np.ndarray) -> np.ndarray:
        """Fisher scoring (the expected information of complete data as the curvature),
        then Newton steps on the observed information once the gradient is small, each
        with a backtracking line search; the gradient is of -loglik / N."""
        x = x0
        value, gradient = state.value_and_gradient(x)
        if not np.isfinite(value):
            raise CBSEMError("ML estimation failed: the model-implied covariance matrix is not positive definite "
                             "at the starting values; check for constructs with one or two weak items")
        for iteration in range(1, self.max_iter + 1):
            largest = float(np.abs(gradient).max())
            if largest < self.tol:
                break
            self._progress(f"estimating (iteration {iteration}, largest gradient {largest:.1e})",
                           0.05 + 0.7 * min(1.0, max(0.0, -math.log10(largest + 1e-300) / -math.log10(self.tol))))
            step = None
            if largest < 1e-4:
                try:
                    step = np.linalg.solve(state.observed_information(x) / state.n, gradient)
                    if not gradient @ step > 0:
                        step = None
                except np.linalg.LinAlgError:
                    step = None
            if step is None:
                try:
                    step = np.linalg.solve(state.expected_information(x) / state.n, gradient)
                except np.linalg.LinAlgError:
                    step = np.linalg.lstsq(state.expected_information(x) / state.n, gradient, rcond=None)[0]
                if not gradient @ step > 0:
                    step = gradient
            if largest < 1e-5:
                # Near the optimum the objective changes by less than its rounding error, so a
                # Newton step is judged by the gradient it leaves, not by the objective.
                trial = x - step
                trial_value, trial_gradient = state.value_and_gradient(trial)
                if np.isfinite(trial_value) and np.abs(trial_gradient).max() < largest:
                    x, value, gradient = trial, trial_value, trial_gradient
                    if np.abs(step).max() < 1e-12 * (1 + np.abs(x).max()):
                        break
                    continue
                break
            scale, slope = 1.0, float(gradient @ step)
            while scale > 1e-10:
                trial = x - scale * step
                trial_value, trial_gradient = state.value_and_gradient(trial)
                if trial_value <= value - 1e-4 * scale * slope:
                    break
                scale /= 2
            else:
                break
            x, value, gradient = trial, trial_value, trial_gradient
        largest = float(np.abs(gradient).max())
        if not np.isfinite(value) or largest > max(1e-5, 1e3 * self.tol):
            raise CBSEMError(f"ML estimation did not converge (largest gradient {largest:.2e}); "
                             "check for weak loadings or an unidentified part of the model, or fix a residual variance")
        return x

    def _tables(self, theta, mu, se, sigma, h1_mu, h1_sigma, ram, items, fiml):
        p = len(items)
        a, s = ram.matrices(theta)
        omega = np.linalg.inv(np.eye(a.shape[0]) - a)
        full = omega @ s @ omega.T
        total_sd = np.sqrt(np.clip(np.diag(full), 0, None))
        z_crit = stats.norm.ppf(0.975)
        rows = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for t in self.table:
                est = float(theta[t.free]) if t.free >= 0 else t.value
                err = float(se[t.free]) if t.free >= 0 else math.nan
                if t.matrix == "A":
                    # =~ : item (row) on construct (col); ~ : target (row) on source (col)
                    std = est * total_sd[t.col] / total_sd[t.row]
                elif t.row == t.col:
                    std = est / full[t.row, t.row]
                else:
                    std = est / math.sqrt(s[t.row, t.row] * s[t.col, t.col]) if s[t.row, t.row] * s[t.col, t.col] > 0 else math.nan
                rows.append((t.lhs, t.op, t.rhs, est, err, std, t.free >= 0, t.label))
            if fiml:
                for j, item in enumerate(items):
                    k = ram.q + j
                    rows.append((item, "~1", "", float(mu[j]), float(se[k]), float(mu[j] / total_sd[j]), True, ""))
        frame = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate", "se", "std_estimate", "free", "label"])
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["z"] = np.where(frame["free"], frame["estimate"] / frame["se"], np.nan)
        frame["p_value"] = np.where(frame["free"], 2 * stats.norm.sf(np.abs(frame["z"])), np.nan)
        frame["ci_low"] = np.where(frame["free"], frame["estimate"] - z_crit * frame["se"], np.nan)
        frame["ci_high"] = np.where(frame["free"], frame["estimate"] + z_crit * frame["se"], np.nan)
        frame = frame[["lhs", "op", "rhs", "estimate", "se", "z", "p_value", "ci_low", "ci_high", "std_estimate",
                       "free", "label"]]
        sd = np.sqrt(np.diag(h1_sigma))
        residual = (h1_sigma - sigma) / np.outer(sd, sd)
        return frame, pd.DataFrame(residual, index=items, columns=items)


def _check_positive_definite(cov: np.ndarray, items: list[str]) -> None:
    eigen, vectors = np.linalg.eigh(cov)
    if eigen.min() <= 1e-10 * max(eigen.max(), 1e-300):
        vector = vectors[:, 0]
        involved = [items[i] for i in np.argsort(-np.abs(vector))[:3] if abs(vector[i]) > 0.1]
        raise CBSEMError(f"the item covariance matrix is not positive definite (smallest eigenvalue {eigen.min():.2e}); "
                         f"the items {', '.join(involved)} are (nearly) linearly dependent")


def _start_values(table: list[Parameter], ram: Ram, cov: np.ndarray, p: int) -> np.ndarray:
    """lavaan-like starts: loadings by ratios of covariances with a third item of the
    block, half the item variance for residual variances, construct variances from the
    first item's covariance with the second, 0 for paths and covariances."""
    starts: dict[int, list[float]] = {}
    blocks: dict[int, list[int]] = {}
    for t in table:
        if t.op == "=~":
            blocks.setdefault(t.col, []).append(t.row)
    for t in table:
        if t.free < 0:
            continue
        guess = 0.0
        if t.op == "=~":
            block = blocks[t.col]
            ref = block[0]
            other = [r for r in block if r not in (ref, t.row)]
            guess = 1.0
            if other and abs(cov[ref, other[0]]) > 1e-12:
                ratio = cov[t.row, other[0]] / cov[ref, other[0]]
                if np.isfinite(ratio) and 0.05 < abs(ratio) < 20:
                    guess = float(ratio)
        elif t.matrix == "S" and t.row == t.col:
            if t.row < p:
                guess = 0.5 * cov[t.row, t.row]
            else:
                block = blocks.get(t.row, [])
                if len(block) >= 2 and cov[block[0], block[1]] > 0:
                    guess = 0.5 * cov[block[0], block[1]]
                elif block:
                    guess = 0.5 * cov[block[0], block[0]]
                else:
                    guess = 0.05
        starts.setdefault(t.free, []).append(guess)
    return np.array([np.mean(starts[k]) for k in range(ram.q)])


class _Objective:
    """-loglik / N of the model as a function of x = (theta) or (theta, mu)."""

    def __init__(self, ram: Ram, patterns: Patterns, fixed_mu: np.ndarray, fiml: bool, n: int):
        self.ram, self.patterns, self.fixed_mu, self.fiml, self.n = ram, patterns, fixed_mu, fiml, n
        self._dup = None

    def split(self, x):
        return x[:self.ram.q], (x[self.ram.q:] if self.fiml else self.fixed_mu)

    def value_and_gradient(self, x):
        theta, mu = self.split(x)
        try:
            sigma, dsigma = self.ram.jacobian(theta)
            value, g_mu, g_sigma = self.patterns.deviance(mu, sigma)
        except (NotPositiveDefinite, np.linalg.LinAlgError):
            return np.inf, np.zeros_like(x)
        grad = dsigma.reshape(len(dsigma), -1) @ g_sigma.ravel()
        if self.fiml:
            grad = np.concatenate([grad, g_mu])
        return value / self.n, grad / self.n

    def _delta(self, dsigma):
        """Jacobian of (mu, vech Sigma) with respect to x: ((p + p*), q[+p])."""
        p = self.patterns.p
        rows, cols = vech_indices(p)
        d_sigma = dsigma[:, rows, cols].T                                  # (p*, q)
        if not self.fiml:
            return np.vstack([np.zeros((p, d_sigma.shape[1])), d_sigma])
        top = np.hstack([np.zeros((p, d_sigma.shape[1])), np.eye(p)])
        return np.vstack([top, np.hstack([d_sigma, np.zeros((len(rows), p))])])

    def expected_information(self, x):
        """Complete-data expected information (total): N/2 tr(S^-1 S_k S^-1 S_l), N S^-1 for means."""
        theta, _ = self.split(x)
        sigma, dsigma = self.ram.jacobian(theta)
        inv = np.linalg.inv(sigma)
        left = inv @ dsigma @ inv
        info = 0.5 * self.n * left.reshape(len(dsigma), -1) @ dsigma.reshape(len(dsigma), -1).T
        if not self.fiml:
            return info
        q, p = len(dsigma), self.patterns.p
        out = np.zeros((q + p, q + p))
        out[:q, :q] = info
        out[q:, q:] = self.n * inv
        return out

    def observed_information(self, x):
        """Hessian of the total -loglik: Delta' A Delta (A the saturated model's observed
        information at the implied moments, analytic) plus the curvature of Sigma(theta)
        weighted by d(-loglik)/dSigma (differences of the analytic Jacobian)."""
        theta, mu = self.split(x)
        p = self.patterns.p
        sigma, dsigma = self.ram.jacobian(theta)
        _, _, g_sigma = self.patterns.deviance(mu, sigma)
        if self._dup is None:
            self._dup = duplication_matrix(p)
        a = self.patterns.h1_information(mu, sigma, self._dup)
        delta = self._delta(dsigma)
        out = delta.T @ a @ delta
        q = self.ram.q
        flat = g_sigma.ravel()
        for i in range(q):
            h = 1e-5 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            second = (self.ram.jacobian(up)[1] - self.ram.jacobian(down)[1]) / (2 * h)
            out[i, :q] += second.reshape(q, -1) @ flat
        return (out + out.T) / 2

    def scores(self, x, dsigma):
        """Casewise gradients of loglik_i (N, q[+p])."""
        theta, mu = self.split(x)
        sigma = self.ram.implied(theta)[0]
        g_mu, g_sigma = self.patterns.case_scores(mu, sigma)
        out = np.einsum("nab,kab->nk", g_sigma, dsigma)
        return np.hstack([out, g_mu]) if self.fiml else out


# ----------------------------------------------------------------------------- fit indices

def _fit_indices(patterns, h1_mu, h1_sigma, h1_dev, mu, sigma, model_dev, q, n_par, fiml, moments):
    """lavaan's fitMeasures: chi2 = 2 (loglik_h1 - loglik_h0) (N F_ML with complete data),
    the independence baseline (means and variances free, fitted by FIML when there are
    holes: its likelihood factors over items, so each item's ML mean and variance come
    from its own answers), CFI, TLI, RMSEA (N in the denominator), Bentler's SRMR."""
    n, p = patterns.n, patterns.p
    chi2 = max(2 * (model_dev - h1_dev), 0.0) if abs(model_dev - h1_dev) < 1e-9 * abs(h1_dev) else 2 * (model_dev - h1_dev)
    df = float(moments - q)
    obs = patterns.observed
    base_mu = np.where(obs, patterns.values, 0).sum(axis=0) / obs.sum(axis=0)
    base_var = (np.where(obs, patterns.values - base_mu, 0) ** 2).sum(axis=0) / obs.sum(axis=0)
    base_dev = patterns.deviance(base_mu, np.diag(base_var), gradient=False)[0]
    chi2_base = 2 * (base_dev - h1_dev)
    df_base = p * (p - 1) / 2
    loglik = -model_dev
    out = {"chi2": chi2, "df": df, "p_value": float(stats.chi2.sf(chi2, df)) if df > 0 else math.nan,
           "baseline_chi2": chi2_base, "baseline_df": df_base}
    out.update(_relative_indices(chi2, df, chi2_base, df_base))
    out.update({"loglik": loglik, "loglik_h1": -h1_dev, "aic": -2 * loglik + 2 * n_par,
                "bic": -2 * loglik + n_par * math.log(n),
                "rmsea": math.sqrt(max(0.0, (chi2 - df) / (df * n))) if df > 0 else math.nan})
    out["rmsea_ci_low"], out["rmsea_ci_high"] = rmsea_interval(chi2, df, n)
    out["srmr"] = srmr(h1_sigma, sigma, h1_mu if fiml else None, mu if fiml else None)
    out["n"] = n
    out["n_parameters"] = n_par
    return out


def _relative_indices(chi2, df, chi2_base, df_base, suffix=""):
    worst = max(chi2_base - df_base, chi2 - df, 0.0)
    cfi = 1.0 - max(chi2 - df, 0.0) / worst if worst > 0 else 1.0
    if df > 0 and df_base > 0 and chi2_base / df_base != 1:
        tli = ((chi2_base / df_base) - (chi2 / df)) / ((chi2_base / df_base) - 1)
    else:
        tli = math.nan
    return {f"cfi{suffix}": cfi, f"tli{suffix}": tli}


def _scaled_test(est: CBSEM, patterns, h1_mu, h1_sigma, fit, hessian, state, x, dsigma, fiml):
    """Yuan-Bentler scaled chi-square as lavaan's "yuan.bentler.mplus": scaling factor
    c = (tr(A1^-1 B1) - tr(E^-1 B0)) / df, with A1, B1 the observed and first-order
    information of the saturated model at its estimates, E the model's observed
    information and B0 the model's first-order information (outer product of casewise
    scores); the baseline model gets its own E and B0 against the same A1, B1."""
    p = patterns.p
    rows, cols = vech_indices(p)
    dup = duplication_matrix(p)
    g_mu, g_sigma = patterns.case_scores(h1_mu, h1_sigma)
    # vech coordinates: an off-diagonal sigma_ab moves two entries of Sigma
    weight = np.where(rows == cols, 1.0, 2.0)
    s_sigma = g_sigma[:, rows, cols] * weight
    a1 = patterns.h1_information(h1_mu, h1_sigma, dup)
    if fiml:
        s1 = np.hstack([g_mu, s_sigma])
    else:
        s1 = s_sigma
        a1 = a1[p:, p:]
    b1 = s1.T @ s1
    trace_h1 = float(np.trace(np.linalg.solve(a1, b1)))
    scores = state.scores(x, dsigma)
    trace_h0 = float(np.trace(np.linalg.solve(hessian, scores.T @ scores)))
    df = fit["df"]
    out: dict[str, float] = {}
    c = (trace_h1 - trace_h0) / df if df > 0 else math.nan
    if not (c > 0):
        c = math.nan
    chi2_s = fit["chi2"] / c
    # Baseline: item means (when modelled) and variances, diagonal Sigma.
    obs = patterns.observed
    base_mu = np.where(obs, patterns.values, 0).sum(axis=0) / obs.sum(axis=0)
    base_var = (np.where(obs, patterns.values - base_mu, 0) ** 2).sum(axis=0) / obs.sum(axis=0)
    bg_mu, bg_sigma = patterns.case_scores(base_mu, np.diag(base_var))
    diag_scores = bg_sigma[:, np.arange(p), np.arange(p)]
    base_scores = np.hstack([diag_scores, bg_mu]) if fiml else diag_scores

    # The independence model's likelihood factors over items; at its estimates the
    # information of (sigma_jj, mu_j) is diagonal: n_j / (2 sigma_jj^2) and n_j / sigma_jj.
    n_j = obs.sum(axis=0)
    base_hess = np.diag(np.concatenate([n_j / (2 * base_var ** 2), n_j / base_var]) if fiml else n_j / (2 * base_var ** 2))
    trace_b = float(np.trace(np.linalg.solve(base_hess, base_scores.T @ base_scores)))
    df_b = fit["baseline_df"]
    c_b = (trace_h1 - trace_b) / df_b if df_b > 0 else math.nan
    chi2_bs = fit["baseline_chi2"] / c_b
    out.update({"chi2_scaled": chi2_s, "scaling_factor": c,
                "p_value_scaled": float(stats.chi2.sf(chi2_s, df)) if df > 0 and np.isfinite(chi2_s) else math.nan,
                "baseline_chi2_scaled": chi2_bs, "baseline_scaling_factor": c_b})
    rel = _relative_indices(chi2_s, df, chi2_bs, df_b, "_scaled")
    out.update(rel)
    out["rmsea_scaled"] = math.sqrt(max(0.0, (chi2_s - df) / (df * patterns.n))) if df > 0 and np.isfinite(chi2_s) else math.nan
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


def srmr(sample_cov: np.ndarray, implied_cov: np.ndarray, sample_mean: np.ndarray | None = None,
         implied_mean: np.ndarray | None = None) -> float:
    """Standardized root mean square residual as lavaan reports it (Bentler's): both
    matrices scaled by the *observed* standard deviations, RMS over the lower triangle
    with the diagonal; with a mean structure the standardized mean residuals join the
    average (lavaan's "total")."""
    sd = np.sqrt(np.diag(sample_cov))
    residual = (sample_cov - implied_cov) / np.outer(sd, sd)
    rows, cols = np.tril_indices_from(residual)
    squares = list(residual[rows, cols] ** 2)
    if sample_mean is not None and implied_mean is not None:
        squares += list(((sample_mean - implied_mean) / sd) ** 2)
    return float(np.sqrt(np.mean(squares)))
