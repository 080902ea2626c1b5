"""Data from a known population model, for recovery tests, Monte Carlo studies and demos.

The population is a reflective SEM with standardized latent variables:
eta = B eta + zeta (recursive), x_i = lambda_i * eta_j(i) + e_i with var(x_i) = 1.
Exogenous constructs are uncorrelated unless ``exogenous_corr`` says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from models import navigation
from models.csi_model import Model
from models.errors import ModelSpecError


@dataclass(frozen=True)
class Population:
    model: Model
    paths: Mapping[tuple[str, str], float]       # (source, target) -> standardized coefficient
    loadings: Mapping[str, float]                # item -> standardized loading
    lv_cov: np.ndarray                           # (J, J) implied construct correlations
    item_cov: np.ndarray                         # (p, p) implied item correlations

    def r_squared(self) -> dict[str, float]:
        names = self.model.construct_names
        out = {}
        for target in self.model.endogenous:
            sources = self.model.predecessors(target)
            idx = [names.index(s) for s in sources]
            beta = np.array([self.paths[(s, target)] for s in sources])
            out[target] = float(beta @ self.lv_cov[np.ix_(idx, idx)] @ beta)
        return out


def population(model: Model, paths: Mapping[tuple[str, str], float], loadings: Mapping[str, float] | float,
               exogenous_corr: float = 0.0) -> Population:
    names = model.construct_names
    J = len(names)
    if isinstance(loadings, (int, float)):
        loadings = {item: float(loadings) for item in model.items}
    missing = [p for p in model.paths if p not in paths]
    if missing:
        raise ModelSpecError(f"no population coefficient for path(s): {', '.join(f'{s} -> {t}' for s, t in missing)}")
    phi = np.eye(J)
    exogenous = [names.index(n) for n in model.exogenous]
    for a in exogenous:
        for b in exogenous:
            if a != b:
                phi[a, b] = exogenous_corr
    for target in model.causal_order:
        sources = model.predecessors(target)
        if not sources:
            continue
        j = names.index(target)
        idx = [names.index(s) for s in sources]
        beta = np.array([paths[(s, target)] for s in sources])
        explained = beta @ phi[np.ix_(idx, idx)] @ beta
        if explained >= 1:
            raise ModelSpecError(f"paths into {target!r} explain {explained:.2f} of its variance; must be below 1")
        for k in range(J):
            if k != j:
                phi[j, k] = phi[k, j] = beta @ phi[idx, k]
    items = model.items
    lam = np.zeros((len(items), J))
    for c in model.constructs:
        for item in c.items:
            value = loadings[item]
            if not -1 < value < 1:
                raise ModelSpecError(f"loading of {item!r} must be strictly between -1 and 1, got {value}")
            lam[items.index(item), names.index(c.name)] = value
    sigma = lam @ phi @ lam.T
    np.fill_diagonal(sigma, 1.0)
    return Population(model, dict(paths), dict(loadings), phi, sigma)


def simulate(pop: Population, n: int, seed: int | None = None, scale: tuple[int, int] | None = (1, 10),
             center: float = 0.72, spread: float = 0.2, reverse: tuple[str, ...] = ()) -> pd.DataFrame:
    """Draw ``n`` respondents. With ``scale``, items become integers on that scale:
    ``round(min + (max - min) * (center + spread * z))``, clipped; ``reverse`` items are
    then mirrored (as a reverse-worded question would be answered)."""
    rng = np.random.default_rng(seed)
    items = pop.model.items
    chol = np.linalg.cholesky(pop.item_cov)
    z = rng.standard_normal((n, len(items))) @ chol.T
    if scale is None:
        return pd.DataFrame(z, columns=list(items))
    low, high = scale
    values = np.clip(np.rint(low + (high - low) * (center + spread * z)), low, high)
    frame = pd.DataFrame(values.astype(int), columns=list(items))
    for item in reverse:
        frame[item] = low + high - frame[item]
    return frame


def default_paths(model: Model) -> dict[tuple[str, str], float]:
    """Plausible standardized coefficients for demos: 0.6 for a construct's only
    predecessor, 0.9 / k each when it has k predecessors (R² stays below 1)."""
    out = {}
    for target in model.endogenous:
        sources = model.predecessors(target)
        coefficient = 0.6 if len(sources) == 1 else round(0.9 / len(sources), 3)
        out.update({(s, target): coefficient for s in sources})
    return out


def simulate_responses(questionnaire, n: int, seed: int | None = None, shift: float = 0.0,
                       loading: float = 0.82) -> pd.DataFrame:
    """Plausible answers to every question of a questionnaire (ids as columns).

    Construct items follow the questionnaire's CSI model with :func:`default_paths`;
    ``shift`` moves every rating up (+) or down (-) by that many scale points' worth
    of standard deviations, to mimic a change between waves. Items of constructs
    outside the model, the labelled satisfaction level and the 0-10 recommend item
    are driven by satisfaction and loyalty so the demo's curves look like real data.
    """
    from models.csi_model import Construct, Model as _Model

    rng = np.random.default_rng(seed)
    model = questionnaire.csi_model()
    constructs = questionnaire.constructs()
    extra = [c for c in constructs if c not in model.construct_names]
    full = _Model(model.constructs + tuple(Construct(c, constructs[c]) for c in extra),
                  model.paths + tuple(("satisfaction", c) for c in extra if "satisfaction" in model.construct_names),
                  name=model.name)
    paths = default_paths(model)
    # Blocks outside the model follow satisfaction; perceived costs (money, time, effort) fall as it rises.
    paths.update({("satisfaction", c): -0.4 if "cost" in c else 0.5 for c in extra})
    pop = population(full, paths, loading)
    chol = np.linalg.cholesky(pop.item_cov)
    z = rng.standard_normal((n, len(full.items))) @ chol.T + shift
    frame = pd.DataFrame(index=range(n))
    names = list(full.items)
    for k, item in enumerate(names):
        q = questionnaire.question(item)
        low, high = q.scale.minimum, q.scale.maximum
        values = np.clip(np.rint(low + (high - low) * (0.72 + 0.19 * z[:, k])), low, high)
        frame[item] = low + high - values if q.reverse else values
    sat_items = [names.index(i) for i in constructs.get("satisfaction", ())]
    loy_items = [names.index(i) for i in constructs.get("loyalty", ()) if not questionnaire.question(i).reverse]
    satisfaction = z[:, sat_items].mean(axis=1) if sat_items else rng.standard_normal(n)
    loyalty = z[:, loy_items].mean(axis=1) if loy_items else satisfaction
    for q in questionnaire.questions:
        if q.id in frame:
            continue
        if q.type == "rating":
            driver = loyalty if q.scale.kind == "nps" else satisfaction
            low, high = q.scale.minimum, q.scale.maximum
            noisy = driver + 0.35 * rng.standard_normal(n)
            frame[q.id] = np.clip(np.rint(low + (high - low) * (0.7 + 0.22 * noisy)), low, high)
        elif q.type == "single_choice":
            values = [o.value for o in q.options]
            if set(values) == {"yes", "no"}:
                frame[q.id] = np.where(satisfaction + 0.8 * rng.standard_normal(n) < -1.3, "yes", "no")
            else:
                frame[q.id] = rng.choice(np.array(values, dtype=object), size=n)
        elif q.type == "multiple_choice":
            values = [o.value for o in q.options]
            frame[q.id] = [list(rng.choice(values, size=rng.integers(1, len(values) + 1), replace=False)) for _ in range(n)]
        elif q.type == "number":
            high = q.maximum if q.maximum is not None else 30
            frame[q.id] = np.minimum(rng.poisson(min(high, 30) / 4 + 1, size=n), high).astype(float)
    # Questions hidden by show_if stay unanswered, as the survey would leave them.
    for page in questionnaire.pages:
        for q in page.questions:
            if (page.show_if is not None or q.show_if is not None) and q.id in frame:
                rows = frame.to_dict("records")
                visible = np.array([navigation.question_shown(page, q, r) for r in rows])
                frame.loc[~visible, q.id] = None
    return frame
