"""Moderation in PLS path modeling: interaction terms ``A:B`` (and quadratic ``A:A``).

Three ways to build the interaction construct (Henseler & Chin 2010, SEM 17(1):82-109;
the same three as seminr's ``interaction_term``):

``two-stage`` (default)
    Stage 1 estimates the model without interaction terms; the product of the two
    standardized construct scores is the single item of the interaction construct in
    stage 2 (Chin, Marcolin & Newsted 2003; seminr ``two_stage``).
``product``
    Every product of a standardized item of A with a standardized item of B is an item of
    a Mode A interaction construct (Chin et al. 2003; seminr ``product_indicator``). For a
    quadratic term the distinct products x_a x_b, a <= b, are used once each.
``orthogonal``
    The product indicators, each replaced by its residual from the OLS regression (with
    intercept) on all items of A and B (Little, Bovaird & Widaman 2006; seminr ``orthogonal``).

Batched like the rest of the engine. Every interaction indicator is a linear combination of
the items and of the raw item products P_ab = (x_a - c_a)(x_b - c_b) (c = full-sample means):
with resample means m and d = c - m, the resample-centred product is
(x_a - m_a)(x_b - m_b) = P_ab + d_b x_a + d_a x_b + const. So the fit and every bootstrap
resample take the moments of the *augmented* data [X, P] (one BLAS pass, as for the items)
and map them by a resample-specific matrix T (indicators = T [X, P]): the standardization,
the orthogonalizing regression and the two-stage scores are all recomputed in each resample,
as re-running the procedure on resampled data would.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.csi_model import Construct, Model, REFLECTIVE, interaction_name
from models.errors import CSIError

from . import statistics as st
from .pls_core import Structure, run

METHODS = ("two-stage", "product", "orthogonal")


@dataclass(frozen=True)
class Term:
    """One interaction term; ``a``, ``b`` index the items (original order) of each raw product."""

    name: str
    iv: str
    moderator: str
    items: tuple[str, ...]    # its indicators in the expanded model
    a: np.ndarray             # (k,) item index of the iv factor of each product
    b: np.ndarray             # (k,) item index of the moderator factor
    multiplicity: np.ndarray  # (k,) 2 for x_a x_b (a < b) of a quadratic term (it stands for two products)
    products: np.ndarray      # (k,) column of each product in the augmented data
    main: np.ndarray          # items of iv and moderator (the orthogonalizing regressors)


@dataclass(frozen=True)
class InteractionPlan:
    """How to turn the moments of the augmented data [X, P] into those of the indicators of
    the expanded ``model`` (its items = the original ``p`` items, then the terms' indicators)."""

    method: str
    model: Model              # interaction terms as ordinary constructs (for the PLS core)
    base: Model               # the model without interaction terms (data, stage 1)
    terms: tuple[Term, ...]
    p: int
    q: int
    center: np.ndarray        # (p,) full-sample item means the raw products are centred at
    stage1: Structure | None
    scheme: str
    tol: float
    max_iter: int

    @property
    def constructs(self) -> tuple[int, ...]:
        """Indices of the interaction constructs in the expanded model (composites under PLSc)."""
        base = len(self.base.constructs)
        return tuple(range(base, base + len(self.terms)))

    @property
    def generated_items(self) -> tuple[str, ...]:
        return tuple(item for t in self.terms for item in t.items)

    @classmethod
    def build(cls, model: Model, method: str, scheme: str, tol: float, max_iter: int) -> "InteractionPlan":
        if method not in METHODS:
            raise CSIError(f"unknown interaction method {method!r}; choose one of {', '.join(METHODS)}")
        check_interactions(model, method)
        names = set(model.interaction_names)
        base = Model(model.constructs, tuple((s, t) for s, t in model.paths if s not in names),
                     model.covariances, name=model.name, citation=model.citation, modifiers=model.modifiers)
        items = base.items
        p = len(items)
        terms, constructs, column = [], [], p
        for iv, moderator in model.interactions:
            name = interaction_name(iv, moderator)
            iv_items, mod_items = model.construct(iv).items, model.construct(moderator).items
            if iv == moderator:
                pairs = [(x, y) for n, x in enumerate(iv_items) for y in iv_items[n:]]
            else:
                pairs = [(x, y) for x in iv_items for y in mod_items]
            a = np.array([items.index(x) for x, _ in pairs])
            b = np.array([items.index(y) for _, y in pairs])
            multiplicity = np.where(a == b, 1.0, 2.0) if iv == moderator else np.ones(len(pairs))
            products = np.arange(column, column + len(pairs))
            column += len(pairs)
            generated = ((f"{iv}*{moderator}",) if method == "two-stage"
                         else tuple(f"{x}*{y}" for x, y in pairs))
            main = np.array(sorted({items.index(x) for x in iv_items + mod_items}))
            terms.append(Term(name, iv, moderator, generated, a, b, multiplicity, products, main))
            constructs.append(Construct(name, generated, REFLECTIVE))
        expanded = Model(base.constructs + tuple(constructs), model.paths, name=model.name, citation=model.citation)
        # interaction_name() construct names stand for the terms in the expanded model; no
        # "interactions" there, so the PLS core sees ordinary constructs.
        stage1 = Structure.from_model(base) if method == "two-stage" else None
        return cls(method, expanded, base, tuple(terms), p, column - p, np.zeros(p), stage1, scheme, tol, max_iter)

    def with_center(self, X: np.ndarray) -> "InteractionPlan":
        from dataclasses import replace
        return replace(self, center=X.mean(axis=0))

    def augment(self, X: np.ndarray) -> np.ndarray:
        """[X, P] (n, p + q): the items and the raw products, centred at ``center``."""
        Xc = X - self.center
        products = [Xc[:, t.a] * Xc[:, t.b] for t in self.terms]
        return np.concatenate([X] + products, axis=1)

    def transform(self, mom: st.Moments) -> tuple[st.Moments, np.ndarray]:
        """Moments of the indicators (B, p + g) from those of the augmented data (B, p + q),
        and a (B,) bool array marking members whose stage 1 failed (two-stage only)."""
        T, failed = self.matrix(mom)
        return apply(T, mom), failed

    def matrix(self, mom: st.Moments) -> tuple[np.ndarray, np.ndarray]:
        """T (B, p + g, p + q) with indicators = T [X, P] (up to constants), and stage-1 failures."""
        p, q = self.p, self.q
        B = mom.cov.shape[0]
        d = self.center[None, :] - mom.means[:, :p]
        # R: the products centred at each resample's own means (rows = products).
        R = np.zeros((B, q, p + q))
        k = np.arange(q)
        a = np.concatenate([t.a for t in self.terms])
        b = np.concatenate([t.b for t in self.terms])
        R[:, k, p + k] = 1.0
        R[:, k, a] += d[:, b]
        R[:, k, b] += d[:, a]   # a separate statement: for a == b (quadratic) both add up
        failed = np.zeros(B, dtype=bool)
        if self.method == "product":
            G = R
        elif self.method == "orthogonal":
            G = R.copy()
            RS = R @ mom.cov          # cov(product, every column)
            for t in self.terms:
                rows = t.products - p
                M = t.main
                S_mm = mom.cov[:, M[:, None], M[None, :]]
                target = np.swapaxes(RS[:, rows][:, :, M], 1, 2)
                try:
                    beta = np.linalg.solve(S_mm, target)  # (B, |M|, k)
                except np.linalg.LinAlgError:  # a resample with a constant item: reported as failed later
                    beta = np.linalg.pinv(S_mm) @ target
                G[:, rows[:, None], M[None, :]] -= np.swapaxes(beta, 1, 2)
        else:
            G, failed = self._two_stage(R, mom)
        top = np.broadcast_to(np.eye(p, p + q), (B, p, p + q))
        return np.concatenate([top, G], axis=1), failed

    def _two_stage(self, R: np.ndarray, mom: st.Moments) -> tuple[np.ndarray, np.ndarray]:
        p = self.p
        items = st.Moments(mom.means[:, :p], mom.cov[:, :p, :p])
        sd = items.sd
        with np.errstate(all="ignore"):
            core = run(items.corr, self.stage1, self.scheme, self.tol, self.max_iter)
        names = self.stage1.constructs
        G = np.zeros((R.shape[0], len(self.terms), R.shape[2]))
        for n, t in enumerate(self.terms):
            w_iv = core.weights[:, :, names.index(t.iv)]
            w_mod = core.weights[:, :, names.index(t.moderator)]
            # score_iv * score_mod = sum_ab w_a w_b z_a z_b, z = standardized items
            with np.errstate(all="ignore"):
                coef = t.multiplicity * w_iv[:, t.a] * w_mod[:, t.b] / (sd[:, t.a] * sd[:, t.b])
            G[:, n] = np.einsum("bk,bkc->bc", coef, R[:, t.products - p])
        failed = ~core.ok | ~np.isfinite(G).all(axis=(1, 2))
        return np.nan_to_num(G), failed


def apply(T: np.ndarray, mom: st.Moments) -> st.Moments:
    """Moments of T [X, P] from those of [X, P]: T S T' and T m."""
    return st.Moments(np.einsum("bip,bp->bi", T, mom.means), T @ mom.cov @ np.swapaxes(T, 1, 2))


def rescale_paths(plan: InteractionPlan, core, mom: st.Moments, n: np.ndarray | float):
    """``core`` with each interaction construct's paths put on the metric of the product of
    the standardized iv and moderator, as seminr reports them (``adjust_interaction``,
    after Henseler & Chin 2010): the standardized coefficient divided by the |loading|-weighted
    mean SD of the term's indicators taken as products of standardized items (two-stage:
    of standardized scores). Then slope of iv = b_iv + b_term * k at moderator = k SD.
    Standardizing and the SDs use ddof = 1 as R's ``scale()`` and ``sd()`` do, hence the
    factor sqrt((n - 1) / n) on our ddof = 0 moments. ``n``: rows (B,) or a number."""
    import dataclasses
    p = plan.p
    sd = mom.sd
    base = len(plan.base.constructs)
    paths = core.paths.copy()
    factor = np.sqrt((np.asarray(n, dtype=float) - 1) / np.asarray(n, dtype=float))
    column = p
    for t, term in enumerate(plan.terms):
        cols = np.arange(column, column + len(term.items))
        column += len(term.items)
        j = base + t
        scale = 1.0 if plan.method == "two-stage" else 1.0 / (sd[:, term.a] * sd[:, term.b])
        lam = np.abs(core.cov_items_lv[:, cols, j])
        with np.errstate(all="ignore"):
            adjustment = factor * (sd[:, cols] * scale * lam).sum(axis=1) / lam.sum(axis=1)
            paths[:, :, j] = paths[:, :, j] / adjustment[:, None]
    return dataclasses.replace(core, paths=paths)


def expanded_data(prepared, plan: InteractionPlan, indicators: np.ndarray, consistent: bool = False):
    """``prepared`` with the interaction indicators as extra columns (on no rating scale:
    an interaction construct has no 0-100 index)."""
    from dataclasses import replace
    scales = dict(prepared.scales)
    scales.update({item: (float("nan"), float("nan")) for item in plan.generated_items})
    notes = prepared.notes + (f"interaction terms ({', '.join(t.name for t in plan.terms)}) by the {plan.method} "
                              "method; their constructs have no 0-100 index, and the model no SRMR, d_ULS or d_G (defined for "
                              "linear models)",)
    if consistent:
        notes += ("PLSc with interaction terms: the interaction constructs are composites (rho_A = 1, as seminr); "
                  "moderated PLSc estimates are biased (Becker, Ringle & Sarstedt 2018, J. Appl. Struct. Equ. "
                  "Model. 2(2):1-21)",)
    return replace(prepared, values=indicators, items=plan.model.items, scales=scales, notes=notes)


def refuse_interactions(model: Model, method: str) -> None:
    """For the methods that do not handle interaction terms: a clear refusal naming them."""
    if model.interactions:
        raise CSIError(f"{method} does not support interaction terms ({', '.join(model.interaction_names)}); "
                       "fit the moderation model with csi fit (PLSPM), or remove the terms")


def check_interactions(model: Model, method: str) -> None:
    """Refuse, naming them, the combinations this module cannot estimate."""
    for iv, moderator in model.interactions:
        term = interaction_name(iv, moderator)
        targets = [t for s, t in model.paths if s == term]
        for target in targets:
            missing = [part for part in dict.fromkeys((iv, moderator)) if (part, target) not in model.paths]
            if missing:
                raise CSIError(
                    f"interaction {term} -> {target} needs the main effect{'s' if len(missing) > 1 else ''} "
                    f"{' and '.join(f'{m} -> {target}' for m in missing)} in the model too (without it the "
                    f"interaction's path is confounded with the omitted main effect); add "
                    f"'{target} ~ {' + '.join(missing)}'")
        if method in ("product", "orthogonal"):
            for part in dict.fromkeys((iv, moderator)):
                if model.construct(part).is_formative:
                    raise CSIError(
                        f"interaction {term}: {part!r} is formative (<~), and the {method} method builds "
                        f"products of reflective indicators; use --interaction two-stage (interaction='two-stage')")
