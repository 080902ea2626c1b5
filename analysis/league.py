"""Brands and roll-ups: several entities (brands, stores, the company and its competitors)
rated in one wave, as ACSI and EPSI publish industry tables.

- Each entity's 0-100 index of a construct (satisfaction by default) from the model fitted
  on that entity's respondents alone, with a percentile bootstrap interval (entities are
  independent samples, so each is resampled on its own).
- The industry index: the weighted mean of the entity indices, weights such as revenue or
  market share (ACSI weights companies by sales, EPSI by market share), or equal weights;
  its interval from the same bootstrap draws combined (draw b of the industry = the weighted
  mean of every entity's draw b), which is valid because the entities' draws are
  independent.
- A league table: each entity against the best and against the industry, the difference
  with its bootstrap interval and a two-sided bootstrap p-value (twice the smaller tail share
  of the difference's draws beyond 0), Holm-adjusted within each family (vs best, vs
  industry). The best entity is not compared with itself. Against the industry the
  entity's own draws are part of the industry's, as they are in the published figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from models.csi_model import Model
from models.errors import CSIError

from .data import items_from_questionnaire
from .groups import _shared_prepare, holm
from .pls import PLSPM


@dataclass(frozen=True)
class LeagueTable:
    """``table``: one row per entity, best first: entity, n, weight, index, ci_low, ci_high,
    vs_best, vs_best_low, vs_best_high, p_best, p_best_adjusted, vs_industry,
    vs_industry_low, vs_industry_high, p_industry, p_industry_adjusted."""
    construct: str
    table: pd.DataFrame
    industry: float
    industry_ci: tuple[float, float]
    n_boot: int
    level: float
    weights_from: str

    def summary(self) -> str:
        lines = [f"{self.construct} index by entity ({self.n_boot} bootstrap resamples each, "
                 f"{self.level:.0%} intervals; industry weighted by {self.weights_from})",
                 f"  industry: {self.industry:.1f} [{self.industry_ci[0]:.1f}, {self.industry_ci[1]:.1f}]"]
        for _, row in self.table.iterrows():
            best = "best" if np.isnan(row["vs_best"]) else (f"{row['vs_best']:+.1f} vs best "
                                                             f"(Holm p {row['p_best_adjusted']:.3f})")
            lines.append(f"  {row['entity']:<20} {row['index']:5.1f} [{row['ci_low']:.1f}, {row['ci_high']:.1f}]  "
                         f"n={row['n']:<5} {best}; {row['vs_industry']:+.1f} vs industry "
                         f"(Holm p {row['p_industry_adjusted']:.3f})")
        return "\n".join(lines)


def _p_two_sided(draws: np.ndarray) -> float:
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return float("nan")
    below, above = (draws <= 0).mean(), (draws >= 0).mean()
    return float(min(1.0, 2 * min(below, above)))


def league_table(model: Model, data: pd.DataFrame, entity: str, *, construct: str = "satisfaction",
                 weights: Mapping[str, float] | None = None, questionnaire=None, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95, min_n: int = 30) -> LeagueTable:
    """The league table of ``construct``'s index across the values of column ``entity``.

    ``weights``: entity -> weight (revenue, market share; need not sum to 1); default equal.
    Entities with fewer than ``min_n`` respondents are refused by name (their index would
    be too uncertain to rank)."""
    if entity not in data.columns:
        raise CSIError(f"no column {entity!r} naming the entity (brand, store) of each respondent")
    if construct not in model.construct_names:
        raise CSIError(f"no construct {construct!r} in the model; its constructs: {', '.join(model.construct_names)}")
    if n_boot < 100:
        raise CSIError(f"a league table needs at least 100 bootstrap resamples for its intervals, got {n_boot}")
    groups = {str(k): g.drop(columns=[entity]) for k, g in data.groupby(data[entity].astype(str), sort=True)}
    if len(groups) < 2:
        raise CSIError(f"column {entity!r} has {len(groups)} entity; a league table needs at least 2")
    small = {k: len(g) for k, g in groups.items() if len(g) < min_n}
    if small:
        raise CSIError("too few respondents for a reliable index: " + ", ".join(f"{k} ({n})" for k, n in small.items())
                       + f"; at least {min_n} each")
    names = list(groups)
    if weights is None:
        w = np.ones(len(names))
        weights_from = "equal weights"
    else:
        missing = [k for k in names if k not in weights]
        if missing:
            raise CSIError(f"no weight for entit{'ies' if len(missing) > 1 else 'y'} {', '.join(missing)}")
        w = np.array([float(weights[k]) for k in names])
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise CSIError("entity weights must be non-negative numbers, not all zero")
        weights_from = "the given weights (revenue or market share)"
    w = w / w.sum()
    item_info = items_from_questionnaire(questionnaire) if questionnaire is not None else None
    prepared = _shared_prepare(model, [groups[k] for k in names], item_info, "listwise", None)
    seeds = np.random.SeedSequence(seed).spawn(len(names))
    estimates, draws, sizes = [], [], []
    for name, prep, entity_seed in zip(names, prepared, seeds):
        try:
            fit = PLSPM(model, n_boot=n_boot, seed=int(entity_seed.generate_state(1)[0]), level=level,
                        progress=False).fit_prepared(prep)
        except CSIError as exc:
            raise CSIError(f"{entity} {name}: {exc}") from None
        k = fit.layout.labels.index(("index", construct, ""))
        samples = fit.bootstrap.samples[:, k]
        estimates.append(float(fit.estimates[k]))
        # Resamples are paired by position across entities (independent draws either way);
        # the shortest run of successful resamples sets how many pairs there are.
        draws.append(samples)
        sizes.append(fit.n_used)
    m = min(len(d) for d in draws)
    D = np.vstack([d[:m] for d in draws])           # (entities, resamples)
    est = np.array(estimates)
    alpha = (1 - level) / 2
    industry_draws = w @ D
    industry = float(w @ est)
    best = int(np.nanargmax(est))
    rows = []
    for i, name in enumerate(names):
        ci = np.nanquantile(D[i], [alpha, 1 - alpha])
        to_industry = D[i] - industry_draws
        row = {"entity": name, "n": sizes[i], "weight": float(w[i]), "index": est[i],
               "ci_low": float(ci[0]), "ci_high": float(ci[1]),
               "vs_industry": est[i] - industry,
               "vs_industry_low": float(np.nanquantile(to_industry, alpha)),
               "vs_industry_high": float(np.nanquantile(to_industry, 1 - alpha)),
               "p_industry": _p_two_sided(to_industry)}
        if i == best:
            row.update(vs_best=np.nan, vs_best_low=np.nan, vs_best_high=np.nan, p_best=np.nan)
        else:
            to_best = D[i] - D[best]
            row.update(vs_best=est[i] - est[best], vs_best_low=float(np.nanquantile(to_best, alpha)),
                       vs_best_high=float(np.nanquantile(to_best, 1 - alpha)), p_best=_p_two_sided(to_best))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_best_adjusted"] = holm(table["p_best"].to_numpy(dtype=float))
    table["p_industry_adjusted"] = holm(table["p_industry"].to_numpy(dtype=float))
    table = table.sort_values("index", ascending=False, kind="stable").reset_index(drop=True)
    industry_ci = tuple(float(v) for v in np.nanquantile(industry_draws, [alpha, 1 - alpha]))
    return LeagueTable(construct, table, industry, industry_ci, m, level, weights_from)
