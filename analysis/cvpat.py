"""CVPAT, the cross-validated predictive ability test (Liengaard, Sharma, Hult, Jensen,
Sarstedt, Hair & Ringle 2021, Decision Sciences 52(2):362-392; against the indicator-average
and linear-model benchmarks: Sharma, Liengaard, Hair, Sarstedt & Ringle 2023, European
Journal of Marketing 57(6):1662-1677).

Both models predict the same endogenous indicators on the same k folds (PLSpredict's
engine, analysis/predict.py). With R repeats a respondent's prediction is averaged over the
repeats (seminr's ``predict_pls``). A respondent's loss is, as seminrExtras'
``assess_cvpat``/``assess_cvpat_compare``, the mean over the endogenous constructs of the
mean squared prediction error of each construct's indicators. The loss difference D_i = L_other,i - L_model,i (positive: the model predicts better) is
tested with t = mean(D) / (sd(D) / sqrt(n)), df = n - 1: two-sided for model A against
model B (H0: equal predictive ability), one-sided for a model against a benchmark
(H1: the model's loss is smaller; Sharma et al. 2023). seminrExtras reports the same
paired t ("Std. T value") beside bootstrap p values, which are not computed here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from models.csi_model import Model
from models.errors import CSIError

from .data import ItemInfo, items_from_questionnaire, prepare
from .pls_core import Structure
from .predict import PLSPredict, check_training_size, fold_orders, prediction_items


@dataclass(frozen=True)
class CVPATResults:
    """``tests``: one row per comparison (``model``, ``against``, ``loss_model``,
    ``loss_against`` (mean loss, data units squared), ``mean_d`` (= loss_against -
    loss_model), ``t``, ``df``, ``p``, ``alternative``): model A against B, then each
    model against the indicator average and its linear model. ``by_construct``: model A
    against B on each endogenous construct's loss (two-sided). ``losses``: the
    per-respondent overall losses (n_used x 5: both models, indicator average, both LMs)."""

    tests: pd.DataFrame
    by_construct: pd.DataFrame
    losses: pd.DataFrame = field(repr=False)
    items: tuple[str, ...]
    folds: int
    repeats: int
    seed: int
    technique: str
    n_used: int

    def as_dict(self) -> dict[str, Any]:
        records = [{k: (v if isinstance(v, str) else (int(v) if k == "df" else float(v))) for k, v in row.items()}
                   for row in self.tests.to_dict("records")]
        return {"method": "cvpat", "folds": self.folds, "repeats": self.repeats, "seed": self.seed,
                "technique": self.technique, "n_used": self.n_used, "items": list(self.items), "tests": records,
                "by_construct": [{k: (v if isinstance(v, str) else (int(v) if k == "df" else float(v)))
                                  for k, v in row.items()} for row in self.by_construct.to_dict("records")]}

    to_dict = as_dict

    def summary(self) -> str:
        title = (f"CVPAT ({self.folds}-fold, {self.repeats} repeat{'s' * (self.repeats > 1)}, "
                 f"{self.technique} antecedents, seed {self.seed}, n = {self.n_used})")
        lines = [title, "=" * len(title),
                 "Loss: squared prediction error, averaged over each endogenous construct's indicators, then "
                 "over the constructs; D = loss(against) - loss(model), t test with df = n - 1"]
        shown = self.tests.to_string(index=False, float_format=lambda v: f"{v:.4f}")
        lines += ["  " + line for line in shown.splitlines()]
        first, second = self.tests.iloc[0]["model"], self.tests.iloc[0]["against"]
        lines += ["", f"Per endogenous construct ({first} against {second}, two-sided)"]
        shown = self.by_construct.to_string(index=False, float_format=lambda v: f"{v:.4f}")
        lines += ["  " + line for line in shown.splitlines()]
        return "\n".join(lines) + "\n"


def loss_test(loss_model: np.ndarray, loss_against: np.ndarray, alternative: str) -> dict[str, float]:
    """The CVPAT t test of D = loss_against - loss_model (each an n-vector of respondents'
    losses). ``alternative``: "two-sided" or "greater" (the model's loss is smaller)."""
    d = np.asarray(loss_against, float) - np.asarray(loss_model, float)
    n = len(d)
    sd = d.std(ddof=1)
    mean = float(d.mean())
    if sd == 0:
        # Identical losses (e.g. the same model twice): no evidence either way.
        t = 0.0 if mean == 0 else np.sign(mean) * np.inf
    else:
        t = mean / (sd / np.sqrt(n))
    p = 2 * stats.t.sf(abs(t), n - 1) if alternative == "two-sided" else stats.t.sf(t, n - 1)
    return {"mean_d": mean, "t": float(t), "df": n - 1, "p": float(p)}


def cvpat(model_a: Model, model_b: Model, data: pd.DataFrame, folds: int = 10, repeats: int = 10, seed: int = 0,
          technique: str = "earliest", scheme: str = "path", missing: str = "listwise", questionnaire=None,
          item_info: Mapping[str, ItemInfo] | None = None, scales: Mapping[str, tuple[float, float]] | None = None,
          dont_know=()) -> CVPATResults:
    """Compare two PLS models' out-of-sample predictive accuracy on the same data, and each
    against the indicator-average (IA, training mean) and linear-model (LM) benchmarks.

    Both models must have the same endogenous indicators. The rows are those both models
    can use; the folds (one permutation per repeat from ``seed``, as PLSPredict) are shared.
    """
    engines = [PLSPredict(m, folds=folds, repeats=repeats, seed=seed, technique=technique, scheme=scheme,
                          missing=missing) for m in (model_a, model_b)]
    if model_a.name == model_b.name:
        names = ("model_a", "model_b")
    else:
        names = (model_a.name, model_b.name)
    structures = [Structure.from_model(m) for m in (model_a, model_b)]
    targets = []
    for structure in structures:
        endogenous = [j for j, preds in enumerate(structure.predecessors) if preds]
        targets.append([structure.items[i] for i in np.flatnonzero(np.isin(structure.block_of, endogenous))])
    if set(targets[0]) != set(targets[1]):
        only_a = sorted(set(targets[0]) - set(targets[1]))
        only_b = sorted(set(targets[1]) - set(targets[0]))
        raise CSIError("CVPAT compares models that predict the same endogenous indicators; "
                       + "; ".join(part for part in (
                           f"only {names[0]} has {', '.join(only_a)}" if only_a else "",
                           f"only {names[1]} has {', '.join(only_b)}" if only_b else "") if part))
    owners = [{item: s.constructs[s.block_of[list(s.items).index(item)]] for item in t} for s, t in zip(structures, targets)]
    moved = [item for item in targets[0] if owners[0][item] != owners[1][item]]
    if moved:
        item = moved[0]
        raise CSIError(f"CVPAT compares models with the same endogenous constructs and measures; {item} measures "
                       f"{owners[0][item]} in {names[0]} but {owners[1][item]} in {names[1]}")
    if questionnaire is not None and item_info is None:
        item_info = items_from_questionnaire(questionnaire)
    prep = [prepare(data, m, item_info, missing, scales, dont_know=dont_know) for m in (model_a, model_b)]
    common = prep[0].index.intersection(prep[1].index)
    if not (prep[0].index.equals(common) and prep[1].index.equals(common)):
        # Listwise deletion differs between the models: use the rows both can use.
        prep = [prepare(data.loc[common], m, item_info, missing, scales, dont_know=dont_know)
                for m in (model_a, model_b)]
    n = len(common)
    if folds > n:
        raise CSIError(f"{folds} folds need at least {folds} respondents; there are {n}")
    if n < 3:
        raise CSIError(f"CVPAT needs at least 3 respondents; there are {n}")
    shared = targets[0]
    setups = []
    for engine, structure, p in zip(engines, structures, prep):
        tgt, src = prediction_items(structure)
        check_training_size(n, folds, len(src))
        columns = [structure.items[i] for i in tgt]
        setups.append((engine, structure, p.values, tgt, src, [columns.index(item) for item in shared]))
    actual = prep[0].values[:, [list(structures[0].items).index(item) for item in shared]]
    # Which shared item belongs to which endogenous construct (the same in both models).
    construct_of = {item: structures[0].constructs[structures[0].block_of[list(structures[0].items).index(item)]]
                    for item in shared}
    constructs = list(dict.fromkeys(construct_of[item] for item in shared))
    members = [np.array([construct_of[item] == c for item in shared]) for c in constructs]
    orders = fold_orders(n, folds, repeats, loocv=False, seed=seed)
    averaged = {}  # predictions averaged over the repeats, by model and benchmark
    for tag, (engine, structure, X, tgt, src, cols) in zip("ab", setups):
        cv = engine.cross_validate(X, orders, folds, structure, tgt, src)
        averaged[tag], averaged[f"lm_{tag}"], averaged[f"ia_{tag}"] = cv.pls[:, cols], cv.lm[:, cols], cv.means[:, cols]
    averaged["ia"] = (averaged.pop("ia_a") + averaged.pop("ia_b")) / 2  # the same training means from both models
    # As seminr's predict_pls: a respondent's prediction is averaged over the repeats, then
    # the residual squared; as seminrExtras: mean over each construct's items, then over constructs.
    per_construct = {key: np.column_stack([((actual - predicted)[:, m] ** 2).mean(axis=1) for m in members])
                     for key, predicted in averaged.items()}
    loss = {key: value.mean(axis=1) for key, value in per_construct.items()}
    loss["ia_a"] = loss["ia_b"] = loss["ia"]
    rows = [(names[0], names[1], loss["a"], loss["b"], "two-sided")]
    for tag, name in zip("ab", names):
        rows.append((name, "indicator average", loss[tag], loss[f"ia_{tag}"], "greater"))
        rows.append((name, "linear model", loss[tag], loss[f"lm_{tag}"], "greater"))
    tests = pd.DataFrame([{"model": m, "against": other, "loss_model": float(lm_.mean()),
                           "loss_against": float(lo.mean()), **loss_test(lm_, lo, alt), "alternative": alt}
                          for m, other, lm_, lo, alt in rows])
    by_construct = pd.DataFrame([{"construct": c, "loss_model": float(per_construct["a"][:, j].mean()),
                                  "loss_against": float(per_construct["b"][:, j].mean()),
                                  **loss_test(per_construct["a"][:, j], per_construct["b"][:, j], "two-sided")}
                                 for j, c in enumerate(constructs)])
    losses = pd.DataFrame({names[0]: loss["a"], names[1]: loss["b"], "indicator average": loss["ia"],
                           f"linear model ({names[0]})": loss["lm_a"], f"linear model ({names[1]})": loss["lm_b"]},
                          index=common)
    return CVPATResults(tests=tests, by_construct=by_construct, losses=losses, items=tuple(shared), folds=folds,
                        repeats=repeats, seed=seed, technique=technique, n_used=n)
