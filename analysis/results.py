"""Results of a PLS fit: immutable, ``summary()`` for people, frames and dicts for code."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from . import statistics as st
from .bootstrap import BootstrapResult
from .data import PreparedData
from .layout import Layout
from .pls_core import CoreResult, Structure
from .row_products import RowProduct, materialized, read_only

# Thresholds flagged in summaries; sources in docs/methods.md.
THRESHOLDS = MappingProxyType({
    "alpha": 0.7, "rho_c": 0.7, "rho_a": 0.7, "ave": 0.5, "loading": 0.708, "htmt": 0.85,
    "vif": 5.0, "rho_c_max": 0.95,
})


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class PLSResults:
    """Everything a PLS fit estimated. Frames returned by properties are fresh copies."""

    model: Model
    scheme: str
    scaled: bool
    tol: float
    max_iter: int
    iterations: int
    missing: str
    n_total: int
    n_used: int
    dropped: Mapping[str, int]
    notes: tuple[str, ...]
    structure: Structure = field(repr=False)
    layout: Layout = field(repr=False)
    estimates: np.ndarray = field(repr=False)
    _weights: np.ndarray = field(repr=False)
    _cross: np.ndarray = field(repr=False)
    _lv_corr: np.ndarray = field(repr=False)
    _paths: np.ndarray = field(repr=False)
    _r2: np.ndarray = field(repr=False)
    _scores: np.ndarray | RowProduct = field(repr=False)            # (n, J); read through materialized()
    _respondent_index: np.ndarray | RowProduct = field(repr=False)  # (n, J); read through materialized()
    _index_weights: np.ndarray = field(repr=False)
    _quality: Mapping[str, np.ndarray] = field(repr=False)
    _item_corr: np.ndarray = field(repr=False)
    row_index: pd.Index = field(repr=False)
    scales: Mapping[str, tuple[float, float]] = field(repr=False)
    bootstrap: BootstrapResult | None = None
    method: str = "pls"
    inadmissible: tuple[str, ...] = ()  # PLSc only: each inadmissibility, named (analysis.plsc)
    interaction: str | None = None      # moderation method when the model has interaction terms
    fit: Any = None                      # analysis.model_fit.FitTest (None with interaction terms or HOCs)
    weights: str | None = None  # weighted PLS: the data column of respondent weights
    first_stage: "PLSResults | None" = field(default=None, repr=False)  # two-stage HOC: stage 1 (LOCs)

    @classmethod
    def build(cls, estimator, prepared: PreparedData, structure: Structure, layout: Layout, core: CoreResult,
              mom: st.Moments, estimate: np.ndarray, low: np.ndarray, span: np.ndarray,
              boot: BootstrapResult | None, inadmissible: tuple[str, ...] = (), fit=None,
              model: Model | None = None) -> "PLSResults":
        X = read_only(prepared.values)  # the per-respondent values below read it later
        weights = core.weights[0]
        raw = st.raw_weights(core, mom, estimator.scaled)[0]
        low, span, unscaled = st.finite_scales(low, span, structure)
        w01 = st.index_weights(core, mom, structure, estimator.scaled, low, span)[0]
        notes = list(prepared.notes)
        consistent = getattr(estimator, "consistent", False)
        if consistent:
            notes.append("consistent PLS (PLSc): paths, R², construct correlations and loadings of reflective "
                         "constructs are corrected for measurement error by rho_A; weights, scores and the "
                         "0-100 index are those of the PLS composites")
        notes += [f"INADMISSIBLE PLSc solution: {reason}" for reason in inadmissible]
        weight_name = getattr(estimator, "weights", None)
        if prepared.weights is not None:
            from .weights import effective_n
            notes.append(f"weighted PLS (Becker & Ismail 2016): respondent weights from column {weight_name!r}; "
                         f"Kish effective sample size {effective_n(prepared.weights):.1f} of {X.shape[0]} respondents")
        no_index = np.array(unscaled, dtype=bool)  # the prepare() note names the items on no rating scale
        for j, name in enumerate(structure.constructs):
            idx = np.flatnonzero(structure.mask[:, j])
            if unscaled[j]:
                continue
            negative = [structure.items[i] for i in idx if w01[i] < 0]
            if negative:
                notes.append(
                    f"no 0-100 index for {name!r}: item{'s' if len(negative) > 1 else ''} {', '.join(negative)} "
                    f"{'have' if len(negative) > 1 else 'has'} a negative outer weight; the ACSI index is a weighted "
                    "mean of item scores and needs every weight positive (recode a reversed item, or drop it)")
                no_index[j] = True
        # Per respondent, computed when first read (analysis.row_products): scores (X - means) @ raw,
        # and the 0-100 index ((X - low) / span * 100) @ (w01 * mask), each as X @ matrix - offset.
        scores = RowProduct(X, raw, mom.means[0] @ raw, np.zeros(raw.shape[1], dtype=bool))
        to_index = w01[:, None] * structure.mask
        respondent_index = RowProduct(X, to_index * (100.0 / span)[:, None], (low / span * 100.0) @ to_index,
                                      no_index, bounds=(0.0, 100.0))
        if boot is not None and boot.n_failed:
            notes.append(f"bootstrap: {boot.n_failed} of {boot.n_requested} resamples failed "
                         f"({', '.join(f'{v} {k}' for k, v in boot.failures.items())}); intervals use the {boot.n_ok} others")
        if boot is not None and boot.n_ok:
            for n in layout.positions("index"):
                invalid = int(np.isnan(boot.samples[:, n]).sum())
                construct = layout.labels[n][1]
                if invalid and np.isfinite(estimate[n]):
                    notes.append(f"index interval for {construct!r} uses {boot.n_ok - invalid} of {boot.n_ok} resamples: "
                                 f"in {invalid} an outer weight turned negative, where the ACSI index is not defined")
        quality = {k: _frozen(v[0]) for k, v in st.reliability(core, mom, structure, estimator.scaled).items()}
        return cls(
            model=model if model is not None else estimator.model, scheme=estimator.scheme, scaled=estimator.scaled, tol=estimator.tol,
            max_iter=estimator.max_iter, iterations=int(core.iterations[0]), missing=prepared.missing,
            n_total=prepared.n_total, n_used=prepared.n_used, dropped=MappingProxyType(dict(prepared.dropped)),
            notes=tuple(notes), structure=structure, layout=layout, estimates=_frozen(estimate),
            _weights=_frozen(weights), _cross=_frozen(st.loadings(core, mom, estimator.scaled)[0]),
            _lv_corr=_frozen(core.lv_corr[0]), _paths=_frozen(core.paths[0]), _r2=_frozen(core.r_squared[0]),
            _scores=scores, _respondent_index=respondent_index, _index_weights=_frozen(w01),
            _quality=MappingProxyType(quality), _item_corr=_frozen(mom.corr[0]), row_index=prepared.index,
            scales=MappingProxyType(dict(prepared.scales)), bootstrap=boot,
            method="plsc" if consistent else "pls", inadmissible=tuple(inadmissible),
            interaction=estimator.interaction if getattr(estimator, "plan", None) is not None else None,
            fit=fit,
            weights=weight_name if prepared.weights is not None else None,
        )

    # ---- tidy frames -------------------------------------------------------------
    def _with_intervals(self, kind: str, rows: list[dict]) -> pd.DataFrame:
        frame = pd.DataFrame(rows)
        if self.bootstrap is None or frame.empty:
            return frame
        se, low, high, blow, bhigh = [], [], [], [], []
        for row in rows:
            key = row["_key"]
            n = self.layout.labels.index((kind,) + key)
            se.append(self.bootstrap.se[n])
            low.append(self.bootstrap.percentile[n, 0])
            high.append(self.bootstrap.percentile[n, 1])
            blow.append(self.bootstrap.bca[n, 0])
            bhigh.append(self.bootstrap.bca[n, 1])
        frame["se"] = se
        frame["ci_low"], frame["ci_high"] = low, high
        frame["bca_low"], frame["bca_high"] = blow, bhigh
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["t"] = frame["estimate"] / frame["se"]
        return frame

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.drop(columns=["_key"]) if "_key" in frame else frame

    @property
    def path_coefficients(self) -> pd.DataFrame:
        """One row per structural path: from, to, estimate (+ se, CIs when bootstrapped)."""
        names = self.structure.constructs
        rows = []
        for t, preds in enumerate(self.structure.predecessors):
            for s in preds:
                rows.append({"from": names[s], "to": names[t], "estimate": float(self._paths[t, s]),
                             "_key": (names[s], names[t])})
        return self._finish(self._with_intervals("path", rows))

    def _outer(self, kind: str, matrix: np.ndarray) -> pd.DataFrame:
        rows = []
        for i, item in enumerate(self.structure.items):
            j = self.structure.block_of[i]
            construct = self.structure.constructs[j]
            rows.append({"construct": construct, "item": item, "estimate": float(matrix[i, j]), "_key": (construct, item)})
        if self.first_stage is not None:  # two-stage HOC: the lower-order constructs' items, from stage 1
            lower = set(self.model.lower_order)
            first = self.first_stage._outer(kind, self.first_stage._weights if kind == "weight" else self.first_stage._cross)
            rows += [dict(row, _key=(row["construct"], row["item"])) for row in first.to_dict("records")
                     if row["construct"] in lower]
            rows = [{k: row[k] for k in ("construct", "item", "estimate", "_key")} for row in rows]
        return self._finish(self._with_intervals(kind, rows))

    @property
    def outer_weights(self) -> pd.DataFrame:
        """Outer weights: on standardized items scaled to unit-variance scores when
        ``scaled`` (SmartPLS convention), else on the centred items' own metric."""
        return self._outer("weight", self._weights)

    @property
    def loadings(self) -> pd.DataFrame:
        """Outer loadings: correlation of each item with its own construct's score."""
        return self._outer("loading", self._cross)

    @property
    def cross_loadings(self) -> pd.DataFrame:
        """Correlation of every item (rows) with every construct score (columns)."""
        return pd.DataFrame(np.array(self._cross), index=list(self.structure.items), columns=list(self.structure.constructs))

    @property
    def scores(self) -> pd.DataFrame:
        """Latent variable scores (n_used x constructs), mean 0 and variance 1 (ddof=0)."""
        frame = pd.DataFrame(np.array(materialized(self._scores)), index=self.row_index, columns=list(self.structure.constructs))
        return self._with_lower_order(frame, lambda first: first.scores)

    @property
    def construct_correlations(self) -> pd.DataFrame:
        names = list(self.structure.constructs)
        return pd.DataFrame(np.array(self._lv_corr), index=names, columns=names)

    @property
    def r_squared(self) -> pd.Series:
        """R² of every endogenous construct."""
        names = self.structure.constructs
        endo = [j for j, p in enumerate(self.structure.predecessors) if p]
        return pd.Series({names[j]: float(self._r2[j]) for j in endo}, name="r_squared")

    @property
    def adj_r_squared(self) -> pd.Series:
        names = self.structure.constructs
        n = self.n_used
        out = {}
        for j, preds in enumerate(self.structure.predecessors):
            if preds:
                k = len(preds)
                out[names[j]] = float(1 - (1 - self._r2[j]) * (n - 1) / (n - k - 1))
        return pd.Series(out, name="adj_r_squared")

    @property
    def effects(self) -> pd.DataFrame:
        """Direct, indirect and total effect for every pair connected by a directed path."""
        names = self.structure.constructs
        J = len(names)
        total = np.linalg.inv(np.eye(J) - self._paths) - np.eye(J)
        rows = []
        for s, t in self.layout.reachable:
            rows.append({"from": names[s], "to": names[t], "direct": float(self._paths[t, s]),
                         "indirect": float(total[t, s] - self._paths[t, s]), "estimate": float(total[t, s]),
                         "_key": (names[s], names[t])})
        frame = self._finish(self._with_intervals("total", rows))
        return frame.rename(columns={"estimate": "total"})

    @property
    def mediation(self) -> pd.DataFrame:
        """Every specific indirect effect (product of paths along one route) with its bootstrap
        percentile interval, the direct effect, and the Zhao, Lynch & Chen (2010) type
        (see :mod:`analysis.mediation`); ``type`` is None without a bootstrap."""
        from .mediation import mediation_table
        return mediation_table(self)

    @property
    def index(self) -> pd.Series:
        """The 0-100 CSI index per construct (ACSI method; see ``analysis.index``).

        Constructs whose index weights include a negative one are left out; ``notes`` says why.
        """
        out = {}
        for n in self.layout.positions("index"):
            construct = self.layout.labels[n][1]
            if np.isfinite(self.estimates[n]):
                out[construct] = float(self.estimates[n])
        return pd.Series(out, name="index")

    @property
    def index_table(self) -> pd.DataFrame:
        rows = [{"construct": c, "estimate": v, "_key": (c, "")} for c, v in self.index.items()]
        return self._finish(self._with_intervals("index", rows))

    @property
    def index_weights(self) -> pd.DataFrame:
        """The normalized ACSI weights (sum to 1 within each block) behind the index."""
        rows = [{"construct": self.structure.constructs[self.structure.block_of[i]], "item": item,
                 "weight": float(self._index_weights[i]), "scale_min": self.scales[item][0],
                 "scale_max": self.scales[item][1]} for i, item in enumerate(self.structure.items)]
        return pd.DataFrame(rows)

    @property
    def respondent_index(self) -> pd.DataFrame:
        """Each respondent's 0-100 score per construct (the index weights applied to their answers)."""
        frame = pd.DataFrame(np.array(materialized(self._respondent_index)), index=self.row_index, columns=list(self.structure.constructs))
        return self._with_lower_order(frame, lambda first: first.respondent_index)

    def _with_lower_order(self, frame: pd.DataFrame, part, rows: bool = False) -> pd.DataFrame:
        """Two-stage HOC: the lower-order constructs' columns (``rows``: rows) from stage 1 appended."""
        if self.first_stage is None:
            return frame
        lower = list(self.model.lower_order)
        extra = part(self.first_stage)
        return pd.concat([frame, extra.loc[lower]]) if rows else pd.concat([frame, extra[lower]], axis=1)

    @property
    def quality(self) -> pd.DataFrame:
        """Cronbach's alpha, rho_C, rho_A and AVE per construct, with threshold flags."""
        frame = pd.DataFrame({k: np.array(v) for k, v in self._quality.items()}, index=list(self.structure.constructs))
        frame["n_items"] = self.structure.mask.sum(axis=0).astype(int)
        frame["flags"] = [", ".join(self._quality_flags(j)) for j in range(len(frame))]
        return self._with_lower_order(frame, lambda first: first.quality, rows=True)

    def _quality_flags(self, j: int) -> list[str]:
        if self.structure.mask[:, j].sum() < 2 or j in self.structure.formative:
            return []
        flags = []
        for key in ("alpha", "rho_c", "rho_a", "ave"):
            if self._quality[key][j] < THRESHOLDS[key]:
                flags.append(f"{key} < {THRESHOLDS[key]}")
        if self._quality["rho_c"][j] > THRESHOLDS["rho_c_max"]:
            flags.append(f"rho_c > {THRESHOLDS['rho_c_max']} (redundant items?)")
        return flags

    @property
    def htmt(self) -> pd.DataFrame:
        """Heterotrait-monotrait ratios for pairs of multi-item constructs."""
        rows = []
        for n in self.layout.positions("htmt"):
            _, a, b = self.layout.labels[n]
            rows.append({"construct_a": a, "construct_b": b, "estimate": float(self.estimates[n]), "_key": (a, b)})
        frame = self._finish(self._with_intervals("htmt", rows))
        if not frame.empty:
            frame["flag"] = np.where(frame["estimate"] > THRESHOLDS["htmt"], f"> {THRESHOLDS['htmt']}", "")
        return frame

    @property
    def htmt2(self) -> pd.DataFrame:
        """HTMT2 (Roemer, Schuberth & Henseler 2021): the HTMT with geometric means, for
        pairs of multi-item constructs; NaN where a correlation involved is not positive."""
        from .model_fit import htmt2
        pairs, values = htmt2(np.array(self._item_corr)[None], self.structure)
        names = self.structure.constructs
        frame = pd.DataFrame([{"construct_a": names[a], "construct_b": names[b], "estimate": float(v)}
                              for (a, b), v in zip(pairs, values[0])],
                             columns=["construct_a", "construct_b", "estimate"])
        frame["flag"] = np.where(frame["estimate"] > THRESHOLDS["htmt"], f"> {THRESHOLDS['htmt']}", "")
        return frame

    def fit_indices(self) -> pd.DataFrame:
        """SRMR, d_ULS and d_G of the saturated and the estimated model (rows model, measure;
        column value), with the test of exact fit's hi95, hi99, p_value and verdict when it was
        run (``fit_test``). Empty for a model with interaction terms (not a linear model) or
        higher-order constructs (two stages; repeated indicators make the item correlations singular)."""
        if self.fit is None:
            return pd.DataFrame(columns=["model", "measure", "value"])
        return self.fit.to_frame()

    @property
    def fornell_larcker(self) -> pd.DataFrame:
        """sqrt(AVE) on the diagonal, construct correlations off it."""
        frame = self.construct_correlations
        values = frame.to_numpy().copy()
        np.fill_diagonal(values, np.sqrt(np.array(self._quality["ave"])))
        return pd.DataFrame(values, index=frame.index, columns=frame.columns)

    @property
    def vif_inner(self) -> pd.DataFrame:
        names = self.structure.constructs
        rows = [{"from": names[k], "to": names[j], "vif": v}
                for (k, j), v in st.inner_vif(np.array(self._lv_corr), self.structure).items()]
        return pd.DataFrame(rows)

    @property
    def vif_outer(self) -> pd.DataFrame:
        """VIF of the items of formative (Mode B) blocks."""
        rows = [{"construct": self.structure.constructs[self.structure.block_of[i]], "item": self.structure.items[i],
                 "vif": v} for i, v in st.outer_vif(np.array(self._item_corr), self.structure).items()]
        return pd.DataFrame(rows, columns=["construct", "item", "vif"])

    @property
    def f_squared(self) -> pd.DataFrame:
        names = self.structure.constructs
        rows = [{"from": names[k], "to": names[j], "f_squared": v}
                for (k, j), v in st.f_squared(np.array(self._lv_corr), self.structure, np.array(self._r2)).items()]
        return pd.DataFrame(rows)

    def interaction_slopes(self) -> pd.DataFrame:
        """Simple slopes of every (non-quadratic) interaction term on every construct it
        explains: columns term, target and those of :meth:`simple_slopes`."""
        from models.csi_model import interaction_name
        frames = []
        for iv, moderator in self.model.interactions:
            if iv == moderator:
                continue
            term = interaction_name(iv, moderator)
            for source, target in self.model.paths:
                if source == term:
                    frame = self.simple_slopes(term, target)
                    frame.insert(0, "target", target)
                    frame.insert(0, "term", term)
                    frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def simple_slopes(self, term: str, target: str, at: tuple[float, ...] = (-1.0, 0.0, 1.0)) -> pd.DataFrame:
        """Simple slopes of an interaction term ``iv:moderator`` on ``target``: the effect of iv
        at moderator = mean + k SD for k in ``at`` (default -1, 0, +1), on standardized
        scores, slope = b_iv + b_iv:moderator * k and intercept = b_moderator * k (the
        convention of SmartPLS's and seminr's slope plots: the interaction treated as the
        product of the standardized iv and moderator). Columns moderator_sd, slope, intercept,
        and with a bootstrap the slope's percentile interval (slope_low, slope_high)."""
        from models.csi_model import interaction_name
        terms = {interaction_name(a, b): (a, b) for a, b in self.model.interactions}
        if term not in terms:
            known = ", ".join(terms) or "none"
            raise CSIError(f"{term!r} is not an interaction term of the model (terms: {known})")
        iv, moderator = terms[term]
        if iv == moderator:
            raise CSIError(f"{term} is a quadratic term: its effect changes along {iv} itself, not with a moderator")
        labels = self.layout.labels
        needed = [("path", iv, target), ("path", moderator, target), ("path", term, target)]
        if needed[2] not in labels:
            raise CSIError(f"the model has no path {term} -> {target}")
        positions = [labels.index(label) for label in needed]
        b_iv, b_mod, b_int = (float(self.estimates[n]) for n in positions)
        k = np.asarray(at, dtype=float)
        frame = pd.DataFrame({"moderator_sd": k, "slope": b_iv + b_int * k, "intercept": b_mod * k})
        if self.bootstrap is not None and self.bootstrap.n_ok:
            samples = self.bootstrap.samples[:, positions]
            slopes = samples[:, [0]] + samples[:, [2]] * k[None, :]
            alpha = (1 - self.bootstrap.level) / 2
            frame["slope_low"], frame["slope_high"] = np.nanquantile(slopes, [alpha, 1 - alpha], axis=0)
        frame.attrs.update(iv=iv, moderator=moderator, target=target, term=term)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """All statistics in one long frame (kind, a, b) -> estimate (+ bootstrap columns)."""
        if self.bootstrap is not None:
            return self.bootstrap.to_frame()
        index = pd.MultiIndex.from_tuples(self.layout.labels, names=["kind", "a", "b"])
        return pd.DataFrame({"estimate": np.array(self.estimates)}, index=index)

    # ---- for code and the command line ------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``csi fit --json`` contract)."""
        def records(frame: pd.DataFrame) -> list[dict]:
            return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]

        return {
            "method": self.method,
            "admissible": not self.inadmissible,
            "inadmissible": list(self.inadmissible),
            "scheme": self.scheme,
            "scaled": self.scaled,
            "converged": True,
            "iterations": self.iterations,
            "tolerance": self.tol,
            "n_total": self.n_total,
            "n_used": self.n_used,
            "dropped": dict(self.dropped),
            "missing": self.missing,
            "respondent_weights": self.weights,
            "paths": records(self.path_coefficients),
            "r_squared": {k: float(v) for k, v in self.r_squared.items()},
            "adj_r_squared": {k: float(v) for k, v in self.adj_r_squared.items()},
            "effects": records(self.effects),
            "mediation": records(self.mediation),
            "loadings": records(self.loadings),
            "weights": records(self.outer_weights),
            "index": {k: float(v) for k, v in self.index.items()},
            "index_intervals": records(self.index_table) if self.bootstrap is not None else [],
            "quality": {name: {k: float(row[k]) for k in ("alpha", "rho_c", "rho_a", "ave")}
                        for name, row in self.quality.iterrows()},
            "htmt": records(self.htmt),
            "fornell_larcker": {r: {c: float(v) for c, v in row.items()} for r, row in self.fornell_larcker.iterrows()},
            "vif_inner": records(self.vif_inner),
            "f_squared": records(self.f_squared),
            "fit": self._fit_dict(),
            "htmt2": records(self.htmt2),
            "interaction": None if self.interaction is None else {
                "method": self.interaction, "terms": list(self.model.interaction_names),
                "simple_slopes": records(self.interaction_slopes())},
            "bootstrap": None if self.bootstrap is None else {
                "resamples": self.bootstrap.n_requested, "ok": self.bootstrap.n_ok,
                "failures": dict(self.bootstrap.failures), "seed": self.bootstrap.seed,
                "level": self.bootstrap.level, "seconds": round(self.bootstrap.seconds, 3)},
            "notes": list(self.notes),
        }

    def _fit_dict(self) -> dict:
        if self.fit is None:
            return {}
        frame = self.fit_indices()
        out: dict[str, Any] = {model: {r.measure: _json_value(r.value) for r in rows.itertuples()}
                               for model, rows in frame.groupby("model", sort=False)}
        out["exact_fit_test"] = None
        if self.fit.hi95 is not None:
            out["exact_fit_test"] = {
                "resamples": self.fit.n_boot, "ok": {m: int(k) for m, k in zip(("saturated", "estimated"), self.fit.n_ok)},
                "seed": self.fit.seed, "transform": "Bollen-Stine",
                **{model: {r.measure: {"hi95": _json_value(r.hi95), "hi99": _json_value(r.hi99),
                                       "p_value": _json_value(r.p_value), "exact_fit": r.exact_fit}
                           for r in rows.itertuples()} for model, rows in frame.groupby("model", sort=False)}}
        return out

    def summary(self) -> str:
        """A readable report of the fit."""
        from .summary import pls_summary
        return pls_summary(self)

    # ---- figures ------------------------------------------------------------------
    def plot_paths(self, ax=None):
        from .plots import path_diagram
        return path_diagram(self, ax=ax)

    def plot_loadings(self, ax=None):
        from .plots import loadings_chart
        return loadings_chart(self, ax=ax)

    def plot_simple_slopes(self, term: str, target: str, ax=None):
        from .plots import simple_slopes
        return simple_slopes(self, term, target, ax=ax)

    def plot_index(self, ax=None):
        from .plots import index_bars
        return index_bars(self, ax=ax)


def _json_value(value):
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value
