"""PLSpredict (Shmueli, Ray, Velasquez Estrada & Chatla 2016, J. Business Research 69(10);
Shmueli, Sarstedt, Hair, Cheah, Ting, Vaithilingam & Ringle 2019, European Journal of
Marketing 53(11):2322-2347): out-of-sample prediction of the endogenous constructs' items.

For each of K folds (or n folds: leave-one-out), PLS is estimated on the other rows and
predicts the held-out rows' endogenous items:

1. standardize the held-out items with the training means and SDs; scores of the
   exogenous constructs Y_x = Z W (training weights, unit-variance composites);
2. endogenous scores: ``"earliest"`` antecedents (default; Shmueli et al. 2019's EA):
   from the exogenous scores through the total effects, Y_e = Y_x T' (no endogenous
   score is ever computed from the held-out endogenous items); ``"direct"`` antecedents
   (DA): from the actual scores of each construct's direct predecessors, Y_j = sum_k b_jk Y_k;
3. item predictions x_i = mean_i + sd_i * lambda_i * Y_j(i) (training loadings).

Benchmarks: the training mean of the item (for Q²predict = 1 - SSE_PLS / SSE_mean) and a
linear model (LM), the OLS with intercept of each endogenous item on the items of every
exogenous construct (the EA benchmark of Shmueli et al. 2019 and SmartPLS; seminr 2.x
instead regresses on all items outside the target's block). RMSE and MAE are over all n
rows; with R repeats, each row's predictions are averaged over the repeats first
(as seminr's ``predict_pls``). All K folds of a repeat are estimated as one batch of
training correlation matrices (the bootstrap's machinery, with 0/1 row weights).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from . import statistics as st
from .data import ItemInfo, PreparedData, items_from_questionnaire, prepare
from .pls import check_pls_model
from .pls_core import SCHEMES, Structure, run, total_effects

TECHNIQUES = ("earliest", "direct")


@dataclass(frozen=True)
class PredictResults:
    """Out-of-sample (``items``) and in-sample (``in_sample``) prediction metrics per
    endogenous item, and the averaged out-of-sample predictions (n_used x items)."""

    items: pd.DataFrame = field(repr=False)
    in_sample: pd.DataFrame = field(repr=False)
    predictions: pd.DataFrame = field(repr=False)
    lm_predictions: pd.DataFrame = field(repr=False)
    folds: int
    repeats: int
    loocv: bool
    seed: int
    technique: str
    scheme: str
    n_used: int
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def records(frame):
            return [{k: (v if isinstance(v, str) else float(v)) for k, v in row.items()} for row in frame.to_dict("records")]
        return {"method": "plspredict", "technique": self.technique, "scheme": self.scheme,
                "folds": self.folds, "repeats": self.repeats, "loocv": self.loocv, "seed": self.seed,
                "n_used": self.n_used, "items": records(self.items), "in_sample": records(self.in_sample),
                "notes": list(self.notes)}

    def summary(self) -> str:
        cv = "leave-one-out" if self.loocv else f"{self.folds}-fold, {self.repeats} repeat{'s' * (self.repeats > 1)}"
        title = f"PLSpredict ({cv}, {self.technique} antecedents, seed {self.seed}, n = {self.n_used})"
        lines = [title, "=" * len(title), "Out of sample (Q²predict against the training mean; LM = linear-model benchmark)"]
        shown = self.items.copy()
        shown["pls_beats_lm"] = np.where(shown["pls_rmse"] < shown["lm_rmse"], "yes", "no")
        lines += ["  " + line for line in shown.to_string(index=False, float_format=lambda v: f"{v:.4f}").splitlines()]
        lines += ["", "In sample"]
        lines += ["  " + line for line in self.in_sample.to_string(index=False, float_format=lambda v: f"{v:.4f}").splitlines()]
        lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


class PLSPredict:
    """Cross-validated prediction of a PLS model's endogenous items.

    Parameters: ``folds`` K (2 <= K <= n; default 10), ``loocv`` (K = n), ``repeats``
    R (>= 1; 1 with ``loocv``), ``seed`` (fold assignment), ``technique`` ("earliest" or
    "direct"), and the PLS options ``scheme``, ``tol``, ``max_iter``, ``missing``.
    """

    def __init__(self, model: Model, folds: int = 10, repeats: int = 1, loocv: bool = False, seed: int = 0,
                 technique: str = "earliest", scheme: str = "path", tol: float = 1e-7, max_iter: int = 300,
                 missing: str = "listwise"):
        from .moderation import refuse_interactions
        refuse_interactions(model, "PLSpredict")
        if technique not in TECHNIQUES:
            raise CSIError(f"unknown prediction technique {technique!r}; choose one of {', '.join(TECHNIQUES)}")
        if scheme not in SCHEMES:
            raise CSIError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
        if repeats < 1:
            raise CSIError(f"repeats must be at least 1, got {repeats}")
        if loocv and repeats != 1:
            raise CSIError("leave-one-out cross-validation has one way to split the data: drop --repeats")
        if not loocv and folds < 2:
            raise CSIError(f"folds must be at least 2, got {folds}")
        check_pls_model(model)
        self.model = model
        self.folds = folds
        self.repeats = repeats
        self.loocv = loocv
        self.seed = seed
        self.technique = technique
        self.scheme = scheme
        self.tol = tol
        self.max_iter = max_iter
        self.missing = missing

    def fit(self, data: pd.DataFrame, questionnaire=None, item_info: Mapping[str, ItemInfo] | None = None,
            scales: Mapping[str, tuple[float, float]] | None = None, dont_know=()) -> PredictResults:
        if questionnaire is not None and item_info is None:
            item_info = items_from_questionnaire(questionnaire)
        prepared = prepare(data, self.model, item_info, self.missing, scales, dont_know=dont_know, strict_scales=False)
        return self.fit_prepared(prepared)

    def fit_prepared(self, prepared: PreparedData) -> PredictResults:
        structure = Structure.from_model(self.model)
        X = prepared.values
        n = X.shape[0]
        K = n if self.loocv else self.folds
        if K > n:
            raise CSIError(f"{K} folds need at least {K} respondents; there are {n}")
        endogenous = [j for j, preds in enumerate(structure.predecessors) if preds]
        exogenous = [j for j, preds in enumerate(structure.predecessors) if not preds]
        targets = np.flatnonzero(np.isin(structure.block_of, endogenous))
        sources = np.flatnonzero(np.isin(structure.block_of, exogenous))
        if n - int(np.ceil(n / K)) <= len(sources) + 1:
            raise CSIError(f"the training folds ({n - int(np.ceil(n / K))} respondents) are too small for the linear "
                           f"benchmark's {len(sources)} predictors; use fewer folds or more data")
        rng = np.random.default_rng(self.seed)
        pls_sum = np.zeros((n, len(targets)))
        lm_sum = np.zeros_like(pls_sum)
        mean_sum = np.zeros_like(pls_sum)
        for _ in range(self.repeats):
            order = np.arange(n) if self.loocv else rng.permutation(n)
            fold_of = np.empty(n, dtype=int)
            for k, members in enumerate(np.array_split(order, K)):
                fold_of[members] = k
            train = (fold_of[None, :] != np.arange(K)[:, None]).astype(float)  # (K, n)
            held = [np.flatnonzero(fold_of == k) for k in range(K)]
            pls, lm, means = self._predict_folds(X, train, structure, targets, sources, held)
            pls_sum += pls
            lm_sum += lm
            mean_sum += means
        pls_hat, lm_hat, mean_hat = pls_sum / self.repeats, lm_sum / self.repeats, mean_sum / self.repeats
        actual = X[:, targets]
        names = [structure.items[i] for i in targets]
        constructs = [structure.constructs[structure.block_of[i]] for i in targets]
        items = pd.DataFrame({
            "item": names, "construct": constructs,
            "pls_rmse": _rmse(actual - pls_hat), "pls_mae": _mae(actual - pls_hat),
            "lm_rmse": _rmse(actual - lm_hat), "lm_mae": _mae(actual - lm_hat),
            "q2_predict": 1 - ((actual - pls_hat) ** 2).sum(axis=0) / ((actual - mean_hat) ** 2).sum(axis=0),
        })
        pls_in, lm_in, _ = self._predict_folds(X, np.ones((1, n)), structure, targets, sources, [np.arange(n)])
        in_sample = pd.DataFrame({
            "item": names, "construct": constructs,
            "pls_rmse": _rmse(actual - pls_in), "pls_mae": _mae(actual - pls_in),
            "lm_rmse": _rmse(actual - lm_in), "lm_mae": _mae(actual - lm_in),
        })
        return PredictResults(
            items=items, in_sample=in_sample,
            predictions=pd.DataFrame(pls_hat, index=prepared.index, columns=names),
            lm_predictions=pd.DataFrame(lm_hat, index=prepared.index, columns=names),
            folds=K, repeats=self.repeats, loocv=self.loocv, seed=self.seed, technique=self.technique,
            scheme=self.scheme, n_used=n,
            # Answer scales only matter for 0-100 indices, which prediction does not compute.
            notes=tuple(note for note in prepared.notes if not note.startswith("answer scales inferred")))

    def _predict_folds(self, X, train, structure: Structure, targets, sources, rows):
        """Predictions of ``rows[k]`` (index arrays) by the model of fold k, whose training
        rows are where ``train[k]`` (K, n) is 1: PLS, LM and the training mean, each
        (n, targets) with the rows of every fold filled in. The K PLS estimations run as
        one batch; the predictions fold by fold (memory stays O(n p) even for LOOCV)."""
        mom = st.moments_from_counts(X, train)
        sd = mom.sd
        constant = ~(sd > 0)
        if constant.any():
            k, i = np.argwhere(constant)[0]
            raise CSIError(f"item {structure.items[i]!r} has one value in all training rows of fold {k + 1}: "
                           "it cannot be standardized; use fewer folds or drop the item")
        with np.errstate(all="ignore"):
            core = run(mom.corr, structure, self.scheme, self.tol, self.max_iter)
        bad = np.flatnonzero(~core.ok)
        if len(bad):
            raise CSIError(f"PLS did not converge (or was singular) on the training rows of fold {bad[0] + 1}; "
                           "try the factorial or path scheme, or fewer folds")
        J = len(structure.constructs)
        if self.technique == "earliest":
            exo = np.array([not preds for preds in structure.predecessors], dtype=float)
            # Y_e = T Y_x: only exogenous scores enter; exogenous constructs keep their own.
            inner = total_effects(core.paths) * exo[None, None, :] + np.eye(J) * exo
        else:
            inner = core.paths
        loadings = (core.cov_items_lv * structure.mask).sum(axis=2)  # (K, p)
        block = structure.block_of[targets]
        design = np.concatenate([np.ones((X.shape[0], 1)), X[:, sources]], axis=1)
        n = X.shape[0]
        pls = np.full((n, len(targets)), np.nan)
        lm = np.full_like(pls, np.nan)
        means = np.full_like(pls, np.nan)
        for k, held in enumerate(rows):
            Z = (X[held] - mom.means[k]) / sd[k]
            predicted = (Z @ core.weights[k]) @ inner[k].T
            pls[held] = mom.means[k, targets] + sd[k, targets] * loadings[k, targets] * predicted[:, block]
            # LM benchmark: OLS with intercept on the fold's training rows.
            fitted_on = train[k] > 0
            beta, *_ = np.linalg.lstsq(design[fitted_on], X[fitted_on][:, targets], rcond=None)
            lm[held] = design[held] @ beta
            means[held] = mom.means[k, targets]
        return pls, lm, means


def _rmse(residuals: np.ndarray) -> np.ndarray:
    return np.sqrt((residuals ** 2).mean(axis=0))


def _mae(residuals: np.ndarray) -> np.ndarray:
    return np.abs(residuals).mean(axis=0)
