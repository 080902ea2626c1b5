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
(as seminr's ``predict_pls``).

Speed: the R*K training sets and the full data are one batch of PLS estimations
(``pls_core.run``). A training set's moments are the full data's minus its held-out fold's,
so the data are read once per repeat, in blocks of equally sized folds; each fitted model
(PLS, LM, training mean) is one affine map of the raw items, applied to its held-out rows
by one batched matrix product per fold size. Equal, to rounding, to refitting PLS on each
training set (tests/analysis/test_predict.py checks 1e-10).
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
        targets, sources = prediction_items(structure)
        check_training_size(n, K, len(sources))
        cv = self.cross_validate(X, fold_orders(n, K, self.repeats, self.loocv, self.seed), K, structure,
                                 targets, sources)
        actual = X[:, targets]
        names = [structure.items[i] for i in targets]
        constructs = [structure.constructs[structure.block_of[i]] for i in targets]
        pls_hat, lm_hat = cv.pls, cv.lm
        items = pd.DataFrame({
            "item": names, "construct": constructs,
            "pls_rmse": _rmse(actual - pls_hat), "pls_mae": _mae(actual - pls_hat),
            "lm_rmse": _rmse(actual - lm_hat), "lm_mae": _mae(actual - lm_hat),
            "q2_predict": 1 - ((actual - pls_hat) ** 2).sum(axis=0) / ((actual - cv.means) ** 2).sum(axis=0),
        })
        in_sample = pd.DataFrame({
            "item": names, "construct": constructs,
            "pls_rmse": _rmse(actual - cv.pls_in_sample), "pls_mae": _mae(actual - cv.pls_in_sample),
            "lm_rmse": _rmse(actual - cv.lm_in_sample), "lm_mae": _mae(actual - cv.lm_in_sample),
        })
        return PredictResults(
            items=items, in_sample=in_sample,
            predictions=pd.DataFrame(pls_hat, index=prepared.index, columns=names),
            lm_predictions=pd.DataFrame(lm_hat, index=prepared.index, columns=names),
            folds=K, repeats=self.repeats, loocv=self.loocv, seed=self.seed, technique=self.technique,
            scheme=self.scheme, n_used=n,
            # Answer scales only matter for 0-100 indices, which prediction does not compute.
            notes=tuple(note for note in prepared.notes if not note.startswith("answer scales inferred")))

    def cross_validate(self, X: np.ndarray, orders: np.ndarray, folds: int, structure: Structure,
                       targets: np.ndarray, sources: np.ndarray) -> FoldPredictions:
        """Out-of-sample predictions of the items ``targets`` for every row of X (n, p),
        averaged over the repeats, and the in-sample ones of the fit on all rows.

        ``orders`` (R, n): one permutation of the rows per repeat, split into ``folds``
        consecutive parts as ``np.array_split`` does. All R*K training sets and the full data
        are estimated as one batch: each training set's moments are the full data's minus
        its held-out fold's (one small matrix product per fold size), and each fitted model
        (PLS, LM, training mean) is an affine map of the items, so predicting is one batched
        matrix product per fold size.
        """
        R, n = orders.shape
        K = folds
        p = X.shape[1]
        center = X.mean(axis=0)
        Xc = X - center  # centring first keeps the subtracted cross products accurate
        # Member b < R*K: the training rows of fold b % K in repeat b // K; member R*K: all rows.
        # First each member's held-out sums, cross products and size, then all rows' minus them.
        sums = np.zeros((R * K + 1, p))
        cov = np.zeros((R * K + 1, p, p))
        held = np.zeros(R * K + 1)
        held_sums, held_cross, held_sizes = (sums[:-1].reshape(R, K, p), cov[:-1].reshape(R, K, p, p),
                                             held[:-1].reshape(R, K))
        for repeats, fold_range, _, block in _fold_blocks(Xc, orders, K):  # block (repeats, folds, size, p)
            held_sums[repeats, fold_range] = block.sum(axis=2)
            held_cross[repeats, fold_range] = np.swapaxes(block, 2, 3) @ block
            held_sizes[repeats, fold_range] = block.shape[2]
        count = n - held
        means = np.subtract(Xc.sum(axis=0), sums, out=sums)
        means /= count[:, None]
        np.subtract(Xc.T @ Xc, cov, out=cov)
        cov /= count[:, None, None]
        cov -= means[:, :, None] * means[:, None, :]
        mom = st.Moments(means + center, cov)
        sd = mom.sd
        constant = ~(sd > 0)
        if constant.any():
            b, i = np.argwhere(constant)[0]
            raise CSIError(f"item {structure.items[i]!r} has one value in {_member(b, R, K)}: "
                           "it cannot be standardized; use fewer folds or drop the item")
        with np.errstate(all="ignore"):
            core = run(mom.corr, structure, self.scheme, self.tol, self.max_iter)
        bad = np.flatnonzero(~core.ok)
        if len(bad):
            raise CSIError(f"PLS did not converge (or was singular) on {_member(bad[0], R, K)}; "
                           "try the factorial or path scheme, or fewer folds")
        maps = self._linear_maps(mom, core, structure, targets, sources, center)
        T = len(targets)
        augmented = np.hstack([Xc, np.ones((n, 1))])
        totals = np.zeros((n, 3 * T))  # per row, summed over the repeats: PLS, LM, training mean
        member_maps = maps[:-1].reshape(R, K, p + 1, 3 * T)
        for repeats, fold_range, rows, block in _fold_blocks(augmented, orders, K):
            predicted = (block @ member_maps[repeats, fold_range]).reshape(rows.shape + (3 * T,))
            for repeat_rows, values in zip(rows, predicted):
                totals[repeat_rows] += values  # a repeat holds each row once
        totals /= R
        in_sample = augmented @ maps[-1]
        return FoldPredictions(pls=totals[:, :T], lm=totals[:, T:2 * T], means=totals[:, 2 * T:],
                               pls_in_sample=in_sample[:, :T], lm_in_sample=in_sample[:, T:2 * T])

    def _linear_maps(self, mom: st.Moments, core, structure: Structure, targets, sources, center) -> np.ndarray:
        """Each batch member's predictions of the targets as one affine map of the items:
        [x - center, 1] A with A (B, p + 1, 3T), PLS in the first T columns, LM in the next T,
        the training mean in the last T.

        PLS: z = (x - mean) / sd, construct scores z W, predicted scores through ``inner``,
        item = mean_t + sd_t lambda_t score: slopes diag(1/sd) W inner' [:, block] sd_t lambda_t.
        LM: the OLS with intercept of each target on the source items, from the training
        covariances (``_regression_slopes``).
        The last row holds the intercepts, mean_t - (mean - center)' slopes.
        """
        J = len(structure.constructs)
        if self.technique == "earliest":
            exo = np.array([not preds for preds in structure.predecessors], dtype=float)
            # Y_e = T Y_x: only exogenous scores enter; exogenous constructs keep their own.
            inner = total_effects(core.paths) * exo[None, None, :] + np.eye(J) * exo
        else:
            inner = core.paths
        sd = mom.sd
        block = structure.block_of[targets]
        loadings = core.cov_items_lv[:, targets, block]  # (B, T): each target's correlation with its construct
        B, p = sd.shape
        T = len(targets)
        maps = np.zeros((B, p + 1, 3 * T))
        # (B, p, J) @ (B, J, T): item -> predicted score of each target's construct, then to the item.
        maps[:, :p, :T] = (core.weights / sd[:, :, None]) @ np.swapaxes(
            inner[:, block] * (sd[:, targets] * loadings)[:, :, None], 1, 2)
        cov = mom.cov
        s_ss = cov[:, sources[:, None], sources[None, :]]
        s_st = cov[:, sources[:, None], targets[None, :]]
        maps[:, sources, T:2 * T] = _regression_slopes(s_ss, s_st)
        centred_means = (mom.means - center)[:, None, :]  # (B, 1, p)
        maps[:, p] = np.tile(mom.means[:, targets], 3) - (centred_means @ maps[:, :p])[:, 0]
        return maps


def _regression_slopes(s_ss: np.ndarray, s_st: np.ndarray) -> np.ndarray:
    """OLS slopes S_ss^-1 S_st (B, s, t) from covariances, as lstsq gives them: the
    minimum-norm solution (pseudo-inverse) where S_ss is singular. An item that is an exact
    combination of others (prepare() allows it in a reflective block) makes it so, and then
    inv() fails or returns entries near 1e15; a variance inflation factor S_ii (S^-1)_ii =
    1 / (1 - R_i^2) above 1e10 marks those members. The pseudo-inverse drops eigenvalues
    below 1e-12 of the largest (rounding noise is near 1e-16 of it)."""
    try:
        inverse = np.linalg.inv(s_ss)
        # Rounding can make a singular S_ss indefinite: then the huge factors are negative.
        inflation = np.abs(np.einsum("bii,bii->bi", inverse, s_ss))
        singular = ~(inflation.max(axis=1) < 1e10)  # NaN counts as singular
    except np.linalg.LinAlgError:
        inverse, singular = np.zeros_like(s_ss), np.ones(len(s_ss), dtype=bool)
    slopes = inverse @ s_st
    if singular.any():
        slopes[singular] = np.linalg.pinv(s_ss[singular], rtol=1e-12, hermitian=True) @ s_st[singular]
    return slopes


@dataclass(frozen=True)
class FoldPredictions:
    """Predictions (n, targets) of the endogenous items: out of sample by PLS, the linear
    model and the training mean (each averaged over the repeats), and in sample (PLS, LM)."""

    pls: np.ndarray
    lm: np.ndarray
    means: np.ndarray
    pls_in_sample: np.ndarray
    lm_in_sample: np.ndarray


def prediction_items(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Item indices of the endogenous constructs (predicted) and of the exogenous ones
    (the linear benchmark's predictors)."""
    exogenous = np.array([not preds for preds in structure.predecessors])
    return (np.flatnonzero(~exogenous[structure.block_of]), np.flatnonzero(exogenous[structure.block_of]))


def check_training_size(n: int, folds: int, predictors: int) -> None:
    smallest = n - int(np.ceil(n / folds))
    if smallest <= predictors + 1:
        raise CSIError(f"the training folds ({smallest} respondents) are too small for the linear "
                       f"benchmark's {predictors} predictors; use fewer folds or more data")


def fold_orders(n: int, folds: int, repeats: int, loocv: bool, seed: int) -> np.ndarray:
    """(repeats, n): the row order of each repeat, split into ``folds`` consecutive parts
    (``np.array_split``); one permutation per repeat from one generator, the identity for LOOCV."""
    if loocv:
        return np.arange(n)[None]
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(repeats)])


# Values gathered at once when grouping rows by fold: bounds the (repeats, n, p) blocks near 32 MB.
_VALUES_PER_CHUNK = 4_000_000


def _fold_blocks(values: np.ndarray, orders: np.ndarray, folds: int):
    """Yield (repeats, fold_range, rows, block) for the held-out rows of ``values`` (n, c):
    ``block`` (len(repeats), len(fold_range), size, c) the rows of folds ``fold_range`` (a
    slice) in repeats ``repeats`` (a slice), their indices ``rows`` (len(repeats), folds *
    size). Folds of one size go together (``np.array_split`` makes the first n % K folds one
    row longer), and as many repeats as keep the block small."""
    R, n = orders.shape
    size, longer = divmod(n, folds)
    split = longer * (size + 1)
    segments = [(0, split, slice(0, longer), size + 1)] if longer else []
    segments.append((split, n, slice(longer, folds), size))
    per_chunk = max(1, _VALUES_PER_CHUNK // values.size)
    for r0 in range(0, R, per_chunk):
        repeats = slice(r0, min(R, r0 + per_chunk))
        ordered = values[orders[repeats]]  # (repeats, n, c), rows in fold order
        for start, stop, fold_range, rows_each in segments:
            block = ordered[:, start:stop].reshape(len(ordered), -1, rows_each, values.shape[1])
            yield repeats, fold_range, orders[repeats, start:stop], block


def _member(b: int, repeats: int, folds: int) -> str:
    """Batch member b's rows in words: the training rows of fold k (of repeat r), or all rows
    (the in-sample fit)."""
    if b == repeats * folds:
        return "all rows"
    return f"all training rows of fold {b % folds + 1}" + (f" (repeat {b // folds + 1})" if repeats > 1 else "")


def _rmse(residuals: np.ndarray) -> np.ndarray:
    return np.sqrt((residuals ** 2).mean(axis=0))


def _mae(residuals: np.ndarray) -> np.ndarray:
    return np.abs(residuals).mean(axis=0)
