"""PLS path modeling estimator (the ACSI/ECSI method), scikit-learn style.

    >>> from analysis import PLSPM
    >>> results = PLSPM(model, scheme="path").fit(data)
    >>> print(results.summary())
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from . import model_fit, moderation, plsc
from . import statistics as st
from .bootstrap import bootstrap
from .data import ItemInfo, PreparedData, items_from_questionnaire, prepare
from .layout import Layout
from .hoc import HOC_METHODS, TwoStageLayout, check_two_stage, repeated_columns, repeated_model, stage_models
from .pls_core import SCHEMES, Structure, run
from .weights import weight_column
from .results import PLSResults, _frozen


class ConvergenceError(CSIError):
    """The PLS iteration did not converge within ``max_iter`` steps."""


def check_pls_model(model: Model) -> None:
    """Refuse what PLS path modeling cannot use, naming it: constructs outside the inner
    model (PLS needs a path to build each construct's inner proxy), covariances (``~~``),
    and fixed values or labels (``1*x``, ``a*x``), which belong to covariance-based SEM."""
    cbsem = "; fit this model with method='cbsem' (csi fit --method cbsem), or remove it"
    if model.unconnected:
        names = ", ".join(map(repr, model.unconnected))
        raise CSIError(f"construct {names} has no structural path to or from any other construct: "
                       f"PLS path modeling needs every construct in the structural model{cbsem}")
    if model.covariances:
        a, b = model.covariances[0]
        raise CSIError(f"the covariance {a} ~~ {b} cannot be estimated by PLS path modeling "
                       f"(composites have no residual covariances){cbsem}")
    if model.modifiers:
        m = model.modifiers[0]
        raise CSIError(f"the modifier in {m.lhs} {m.op} {m.prefix}{m.rhs} cannot be used by PLS path modeling "
                       f"(it estimates weights, not constrained parameters){cbsem}")


def _without_interactions(model: Model) -> Model:
    terms = set(model.interaction_names)
    return Model(model.constructs, tuple((s, t) for s, t in model.paths if s not in terms), model.covariances,
                 name=model.name, citation=model.citation, modifiers=model.modifiers)


def _check_combinations(model: Model, weights: str | None, fit_test: int, hoc: str = "two-stage") -> None:
    """Refuse, naming both, the option pairs whose estimators do not compose (yet): the
    two-stage HOC and the interaction plan each own the moments of a fit and its bootstrap;
    product indicators and the exact-fit test resample unweighted rows."""
    if model.higher_order and model.interactions:
        hocs = set(model.higher_order) | set(model.lower_order)
        for iv, moderator in model.interactions:
            inside = [c for c in (iv, moderator) if c in hocs]
            if inside:
                raise CSIError(f"interaction term {iv}:{moderator} involves {inside[0]!r}, part of a higher-order "
                               "construct: interactions with higher-order constructs are not supported")
        if hoc != "two-stage":
            raise CSIError(f"interaction term{'s' if len(model.interactions) > 1 else ''} "
                           f"{', '.join(model.interaction_names)} with higher-order construct "
                           f"{', '.join(map(repr, model.higher_order))} by repeated indicators: not supported; "
                           "use the two-stage approach (hoc='two-stage', --hoc two-stage)")
    if weights is not None and model.interactions:
        raise CSIError(f"respondent weights ({weights!r}) with interaction terms "
                       f"({', '.join(model.interaction_names)}) are not supported: the interaction's indicators "
                       "are built from unweighted moments")
    if fit_test and weights is not None:
        raise CSIError(f"the test of exact fit with respondent weights ({weights!r}) is not supported: its "
                       "Bollen-Stine resamples are unweighted; drop fit_test (--fit-test) or the weights")
    if fit_test and model.higher_order:
        raise CSIError(f"the test of exact fit with higher-order construct {next(iter(model.higher_order))!r} is not "
                       "supported: model fit (SRMR, d_ULS, d_G) is computed for first-order models only")


class PLSPM:
    """Partial least squares path modeling (Wold; Lohmöller 1989).

    Parameters
    ----------
    model : Model
        Measurement blocks (Mode A for ``=~``, Mode B for ``<~``) and structural paths.
    scheme : {"path", "centroid", "factorial"}
        Inner weighting scheme.
    scaled : bool
        True (default, as SmartPLS): standardize the indicators. False (as R plspm's
        ``scaled=FALSE``): only centre them, so weights are on the items' own metric.
    tol : float
        Stop when the largest change of any outer weight is below this (default 1e-7).
    max_iter : int
        Iteration cap; reaching it without convergence raises :class:`ConvergenceError`.
    missing : {"listwise", "mean", "chained"}
        Missing-data handling (see ``docs/methods.md``); "chained": imputation by chained
        equations (:mod:`analysis.imputation`), seeded by ``seed``.
    max_missing : float or None
        Drop respondents with more than this share (0..1) of the model's items missing
        before handling the rest (EPSI: 0.3).
    n_boot : int
        Bootstrap resamples (0 = none). ``seed``, ``level``, ``workers`` control it.
        Under PLSc, inadmissible resamples are dropped and counted in ``bootstrap.failures``.
    consistent : bool
        Consistent PLS (PLSc; Dijkstra & Henseler 2015): reflective (Mode A, 2+ items)
        constructs' correlations, paths and loadings are corrected for attenuation by
        rho_A; composites stay PLS. Needs standardized indicators. Inadmissible results
        (|path| > 1, non-positive-definite construct correlations, rho_A > 1, |loading| > 1)
        are named in ``results.inadmissible`` and ``notes``; see :mod:`analysis.plsc`.
    fit_test : int
        Resamples of the bootstrap test of exact fit (Dijkstra & Henseler 2015; Bollen-Stine
        transformed data), 0 = none; SRMR, d_ULS and d_G are always computed. Seeded by
        ``seed``. See :mod:`analysis.model_fit`.
    interaction : {"two-stage", "product", "orthogonal"}
        How interaction terms (``Y ~ A + B + A:B``, quadratic ``A:A``) are built; see
        :mod:`analysis.moderation`. Their constructs are named ``A:B``.
    hoc : {"two-stage", "repeated"}
        How higher-order constructs (a construct measured by constructs) are estimated:
        seminr's default two-stage approach (the disjoint variant) or repeated indicators;
        see :mod:`analysis.hoc`.
    weights : str, optional
        Name of a data column of respondent weights (weighted PLS, Becker & Ismail 2016):
        the estimator, the 0-100 index and the bootstrap (rows resampled, each keeping its
        weight) use weighted moments; see :mod:`analysis.weights`.
    """

    def __init__(self, model: Model, scheme: str = "path", scaled: bool = True, tol: float = 1e-7,
                 max_iter: int = 300, missing: str = "listwise", n_boot: int = 0, seed: int = 0,
                 level: float = 0.95, workers: int | None = None, progress: bool | None = None,
                 on_progress: Callable[[int, int], None] | None = None, consistent: bool = False,
                 max_missing: float | None = None, weights: str | None = None, hoc: str = "two-stage",
                 interaction: str = "two-stage", fit_test: int = 0):
        if scheme not in SCHEMES:
            raise CSIError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
        if not 0 < level < 1:
            raise CSIError(f"confidence level must be between 0 and 1, got {level}")
        if n_boot < 0:
            raise CSIError(f"n_boot must be 0 or more, got {n_boot}")
        if not (tol > 0 and max_iter >= 1):
            raise CSIError("tol must be positive and max_iter at least 1")
        if consistent and not scaled:
            raise CSIError("consistent PLS (PLSc) corrects correlations and needs standardized indicators; "
                           "drop scaled=False (--unscaled)")
        if fit_test < 0:
            raise CSIError(f"fit_test must be 0 or more resamples, got {fit_test}")
        if fit_test and not scaled:
            raise CSIError("the test of exact fit compares correlation matrices and refits on standardized data; "
                           "drop scaled=False (--unscaled)")
        if fit_test and model.interactions:
            raise CSIError("model fit (SRMR, d_ULS, d_G) and its test are defined for linear models; "
                           "the model has interaction terms")
        if interaction not in moderation.METHODS:
            raise CSIError(f"unknown interaction method {interaction!r}; choose one of {', '.join(moderation.METHODS)}")
        if hoc not in HOC_METHODS:
            raise CSIError(f"unknown higher-order method {hoc!r}; choose one of {', '.join(HOC_METHODS)}")
        _check_combinations(model, weights, fit_test, hoc)
        if model.interactions:  # first: a missing main effect also leaves a construct unconnected
            moderation.check_interactions(model, interaction)
        check_pls_model(model)
        if model.higher_order:
            check_two_stage(model, consistent)
        self.plan = None
        self._data_model = model  # the model whose items prepare() reads
        if model.interactions:
            if not scaled:
                raise CSIError("interaction terms are products of standardized indicators or scores; "
                               "drop scaled=False (--unscaled)")
            if model.higher_order:
                # Interaction terms beside HOCs: seminr's way (test-hoc.R, hoc_2si): the HOC's stage 1
                # without the terms, then the terms in stage 2, where the plan works.
                self._data_model = _without_interactions(model)
                self._stages = stage_models(self._data_model)
                stage2 = Model(self._stages[1].constructs, model.paths, name=self._stages[1].name,
                               interactions=model.interactions)
                self.plan = moderation.InteractionPlan.build(stage2, interaction, scheme, tol, max_iter)
            else:
                self.plan = moderation.InteractionPlan.build(model, interaction, scheme, tol, max_iter)
                self._data_model = self.plan.base
        self.interaction = interaction
        self.fit_test = fit_test
        self.hoc = hoc
        self.consistent = consistent
        self.weights = weights
        self.model = model
        self.scheme = scheme
        self.scaled = scaled
        self.tol = tol
        self.max_iter = max_iter
        self.missing = missing
        self.max_missing = max_missing
        self.n_boot = n_boot
        self.seed = seed
        self.level = level
        self.workers = workers
        self.progress = progress
        self.on_progress = on_progress

    def fit(self, data: pd.DataFrame, questionnaire=None, item_info: Mapping[str, ItemInfo] | None = None,
            scales: Mapping[str, tuple[float, float]] | None = None,
            dont_know: tuple[float, ...] | list[float] = ()) -> PLSResults:
        """Estimate the model on ``data`` (rows = respondents, columns include every item).

        ``questionnaire`` (or ``item_info``) supplies scales, don't-know codes and
        reverse-coded items; ``scales`` overrides item scale ranges for the 0-100 index;
        ``dont_know`` codes are missing in every item. An undeclared item whose scale its
        answers cannot identify is refused (see :func:`analysis.data.infer_item_scale`).
        """
        if questionnaire is not None and item_info is None:
            item_info = items_from_questionnaire(questionnaire)
        row_weights = None
        if self.weights is not None:
            if self.weights in self.model.items:
                raise CSIError(f"weight column {self.weights!r} is also an item of the model")
            row_weights = weight_column(data, self.weights)
        prepared = prepare(data, self._data_model, item_info, self.missing, scales, dont_know=dont_know, strict_scales=True,
                           weights=row_weights, max_missing=self.max_missing, seed=self.seed)
        return self.fit_prepared(prepared)

    def fit_prepared(self, prepared: PreparedData) -> PLSResults:
        model = self.model
        if model.higher_order:  # no interaction terms here (refused in __init__)
            if self.hoc == "two-stage":
                return self._fit_two_stage(prepared)
            model = repeated_model(model)
            prepared = _repeat_columns(prepared, model, repeated_columns(self.model))
        plan = None
        weights = prepared.weights  # None with interaction terms (refused in __init__)
        if self.plan is not None:
            plan = self.plan.with_center(prepared.values)
            X = plan.augment(prepared.values)  # the bootstrap resamples [items, raw products]
            augmented = st.moments(X)
            T, failed = plan.matrix(augmented)
            if failed[0]:
                raise CSIError("the first stage of the two-stage interaction (the model without interaction "
                               "terms) did not converge or gave non-finite scores")
            mom = moderation.apply(T, augmented)
            indicators = X @ T[0].T
            prepared = moderation.expanded_data(prepared, plan, indicators, self.consistent)
            structure = Structure.from_model(plan.model)
        else:
            structure = Structure.from_model(model)
            X = prepared.values
            mom = prepared.moments() if weights is None else st.moments_from_counts(X, weights[None])
        S = mom.corr if self.scaled else mom.cov
        core = run(S, structure, self.scheme, self.tol, self.max_iter)
        if not core.converged[0]:
            worst = structure.constructs[int(np.argmax(np.abs(core.weights[0]).sum(axis=0)))]
            raise ConvergenceError(
                f"PLS did not converge in {self.max_iter} iterations (last largest weight change "
                f"{core.last_change[0]:.2e} > tol {self.tol:g}); try the factorial or path scheme, more "
                f"iterations, or check block {worst!r} for items that measure different things")
        if not core.ok[0]:
            raise CSIError("PLS produced non-finite estimates: the latent variables are collinear "
                           "(two constructs' scores are identical or one is a combination of others)")
        inadmissible: list[str] = []
        if self.consistent:
            core = plsc.correct(core, S, structure, composites=plan.constructs if plan is not None else ())
            inadmissible = plsc.describe(core, structure)
        if plan is not None:  # after PLSc, which re-derives the paths from corrected correlations
            core = moderation.rescale_paths(plan, core, mom, prepared.n_used)
        fit = None
        if plan is None and not self.model.higher_order:
            # Not for repeated indicators either: their copied columns make the empirical
            # correlation matrix singular, where d_G is not defined.
            fit = self._model_fit(X, core, mom, structure)
        low = np.array([prepared.scales[i][0] for i in structure.items])
        span = np.array([prepared.scales[i][1] - prepared.scales[i][0] for i in structure.items])
        layout = Layout.build(structure, consistent=self.consistent, interactions=plan)
        estimate = layout.compute(core, mom, self.scaled, low, span)[0]
        boot = None
        if self.n_boot:
            boot = bootstrap(X, layout, estimate, scheme=self.scheme, scaled=self.scaled, tol=self.tol,
                             max_iter=self.max_iter, low=low, span=span, n_boot=self.n_boot, seed=self.seed,
                             level=self.level, workers=self.workers, progress=self.progress,
                             on_progress=self.on_progress, weights=weights)
        return PLSResults.build(self, prepared, structure, layout, core, mom, estimate, low, span, boot,
                                inadmissible=tuple(inadmissible), fit=fit, model=model)

    def _model_fit(self, X, core, mom, structure) -> model_fit.FitTest:
        values = model_fit.fit_values(core, mom, structure, self.scaled)[0]
        if not self.fit_test:
            return model_fit.FitTest(values)
        sigmas = tuple(model_fit.implied_correlations(core, mom, structure, self.scaled, saturated)[0]
                       for saturated in (True, False))
        try:
            return model_fit.exact_fit_test(X, structure, values, sigmas, scheme=self.scheme, tol=self.tol,
                                            max_iter=self.max_iter, consistent=self.consistent,
                                            n_boot=self.fit_test, seed=self.seed)
        except ValueError as exc:
            raise CSIError(f"test of exact fit: {exc}") from None

    def _fit_two_stage(self, prepared: PreparedData) -> PLSResults:
        """seminr's two-stage approach (analysis.hoc): both stages on the same moments, and in
        each bootstrap resample."""
        X, weights = prepared.values, prepared.weights
        plan = self.plan
        if plan is None:
            stage1, stage2 = stage_models(self.model)
            layout = TwoStageLayout.build(self.model, stage1, stage2)
            data = X
        else:
            # Interaction terms in stage 2 (weights refused): the data are [items, raw products]
            # of stage 2's item columns, centred at their means (LOC scores have mean 0).
            stage1, stage2 = self._stages
            layout = TwoStageLayout.build(self.model, stage1, stage2, plan, n_rows=X.shape[0])
            J1 = len(layout.first.structure.constructs)
            stub = np.concatenate([X, np.zeros((X.shape[0], J1))], axis=1)[:, layout.source]  # products use items only
            plan = plan.with_center(stub)
            layout = replace(layout, plan=plan)
            data = np.concatenate([X, plan.augment(stub)[:, plan.p:]], axis=1)
        mom = st.moments(data) if weights is None else st.moments_from_counts(data, weights[None])
        S = mom.corr if self.scaled else mom.cov
        core = layout.run_batch(S, mom, self.scheme, self.scaled, self.tol, self.max_iter)
        if core.failed is not None and core.failed[0]:
            raise CSIError("the first stage of the two-stage interaction (stage 2 without interaction terms) did "
                           "not converge or gave non-finite scores")
        for stage, part in ((1, core.first), (2, core.second)):
            if not part.converged[0]:
                raise ConvergenceError(
                    f"PLS did not converge in {self.max_iter} iterations in stage {stage} of the two-stage "
                    f"higher-order estimation (last largest weight change {part.last_change[0]:.2e} > tol "
                    f"{self.tol:g}); try more iterations or another scheme")
            if not part.ok[0]:
                raise CSIError(f"PLS produced non-finite estimates in stage {stage} of the two-stage higher-order "
                               "estimation: the latent variables are collinear")
        low = np.array([prepared.scales[i][0] for i in stage1.items])
        span = np.array([prepared.scales[i][1] - prepared.scales[i][0] for i in stage1.items])
        estimate = layout.compute(core, mom, self.scaled, low, span)[0]
        boot = None
        if self.n_boot:
            boot = bootstrap(data, layout, estimate, scheme=self.scheme, scaled=self.scaled, tol=self.tol,
                             max_iter=self.max_iter, low=low, span=span, n_boot=self.n_boot, seed=self.seed,
                             level=self.level, workers=self.workers, progress=self.progress,
                             on_progress=self.on_progress, weights=weights)
        items_mom = layout.item_moments(mom)
        first_estimate = layout.first.compute(core.first, items_mom, self.scaled, low, span)[0]
        first = PLSResults.build(self, prepared, layout.first.structure, layout.first, core.first, items_mom,
                                 first_estimate, low, span, None, model=stage1)
        first = replace(first, interaction=None)  # stage 1 has no interaction terms
        scores = layout.loc_scores(core, mom, self.scaled, X)
        X2 = np.concatenate([X, scores], axis=1)[:, layout.source]
        low2, span2 = layout.second_scales(low, span)
        items2 = stage2.items if plan is None else plan.base.items
        scales2 = {item: (prepared.scales[item] if item in prepared.scales else (np.nan, np.nan)) for item in items2}
        prepared2 = replace(prepared, values=X2, items=items2, scales=scales2)
        if plan is not None:  # the interaction indicators of member 0, as in the moments
            T, _ = plan.matrix(layout.second_moments(core.first, mom, self.scaled))
            augmented = np.concatenate([X2, data[:, X.shape[1]:]], axis=1)
            prepared2 = moderation.expanded_data(prepared2, plan, augmented @ T[0].T)
        results = PLSResults.build(self, prepared2, layout.structure, layout, core.second, core.moments2, estimate,
                                   low2, span2, boot, model=self.model)
        _, _, vs = layout.hoc_index(core, mom, self.scaled, low, span, low2, span2)
        loc_index = np.array(first.respondent_index)
        respondent = np.array(results.respondent_index)
        for (j, _, locs), v in zip(layout.hoc_blocks, vs):
            respondent[:, j] = loc_index[:, locs] @ v[0]
        notes = results.notes + (f"higher-order construct{'s' if len(layout.hoc_blocks) > 1 else ''} "
                                 f"{', '.join(repr(h) for h in self.model.higher_order)} estimated by the disjoint "
                                 "two-stage approach (seminr's default): stage 1 links the lower-order constructs "
                                 "directly to the higher-order construct's antecedents and outcomes, stage 2 "
                                 "measures it by their stage-1 scores",)
        return replace(results, first_stage=first, _respondent_index=_frozen(respondent), notes=notes)


def _repeat_columns(prepared: PreparedData, model: Model, copies: Mapping[str, str]) -> PreparedData:
    """The prepared items plus each repeated indicator's copy column, in ``model.items`` order."""
    source = [prepared.items.index(copies.get(item, item)) for item in model.items]
    scales = {item: prepared.scales[copies.get(item, item)] for item in model.items}
    return replace(prepared, values=prepared.values[:, source], items=model.items, scales=scales)
