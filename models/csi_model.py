"""CSI structural-equation model definitions and the lavaan-style model language.

Syntax, one statement per line (or separated by ``;``), ``#`` starts a comment::

    satisfaction =~ sat1 + sat2 + sat3           # reflective block (Mode A)
    value        <~ val_money + val_time          # formative block (Mode B)
    satisfaction ~ expectations + quality + value # structural paths into satisfaction
    sat1 ~~ sat2                                  # residual covariance (CB-SEM only)
    F =~ 1*x1 + a*x2 + a*x3                       # fixed value, equality label (CB-SEM only)
    y1 ~~ 0*y1                                    # fixed (residual) variance (CB-SEM only)
    loyalty ~ satisfaction + price + satisfaction:price  # interaction (moderation; PLS only)

Modifiers ``value*name`` and ``label*name`` mean what they mean in lavaan: a number fixes
the parameter, a label makes every parameter with that label one free parameter, and
``NA*x1`` frees the first loading lavaan would fix at 1.

The same syntax serves questionnaire item ids and CSV column names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .errors import ModelSpecError, ModelSyntaxError

REFLECTIVE = "reflective"
FORMATIVE = "formative"

_NAME = re.compile(r"[^\W\d][\w.]*", re.UNICODE)
_OPERATORS = ("=~", "<~", "~~", "~")


@dataclass(frozen=True)
class Construct:
    """A latent construct measured by ``items`` (column or question ids)."""

    name: str
    items: tuple[str, ...]
    mode: str = REFLECTIVE

    @property
    def is_formative(self) -> bool:
        return self.mode == FORMATIVE


@dataclass(frozen=True, order=True)
class Modifier:
    """A fixed value or an equality label on one parameter (CB-SEM only).

    ``op`` is "=~" (lhs = construct, rhs = item), "~" (lhs = target, rhs = source) or
    "~~" (lhs, rhs as written). ``value`` fixes the parameter; ``label`` ties together
    every parameter with the same label; ``free`` (``NA*x``) frees a parameter that is
    fixed by default (the first loading of a block).
    """

    op: str
    lhs: str
    rhs: str
    value: float | None = None
    label: str | None = None
    free: bool = False

    @property
    def prefix(self) -> str:
        if self.free:
            return "NA*"
        if self.value is not None:
            return f"{self.value!r}*"
        return f"{self.label}*" if self.label else ""


@dataclass(frozen=True)
class Model:
    """A measurement model plus a recursive structural model.

    ``paths`` are ``(source, target)`` pairs: ``source`` explains ``target``.
    ``covariances`` are (residual) covariances and variances (``a ~~ b``, ``a ~~ a``) of
    items or constructs, and ``modifiers`` fixed values and equality labels; both are
    used only by covariance-based SEM (PLS refuses them).
    """

    constructs: tuple[Construct, ...]
    paths: tuple[tuple[str, str], ...]
    covariances: tuple[tuple[str, str], ...] = ()
    name: str = "custom"
    citation: str = ""
    modifiers: tuple[Modifier, ...] = ()
    # Interaction terms (moderation, PLS only): (iv, moderator) pairs; the term's name,
    # interaction_name(iv, moderator) = "iv:moderator", is a path source in ``paths``.
    interactions: tuple[tuple[str, str], ...] = ()
    _order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "modifiers", tuple(sorted(self.modifiers)))
        object.__setattr__(self, "interactions", tuple(sorted(self.interactions)))  # to_text() round-trips
        _check_model(self)
        object.__setattr__(self, "_order", _topological_order(self))

    @property
    def construct_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.constructs)

    @property
    def items(self) -> tuple[str, ...]:
        """The manifest items (data columns); a higher-order construct's constructs are not items."""
        names = set(self.construct_names)
        return tuple(item for c in self.constructs for item in c.items if item not in names)

    @property
    def higher_order(self) -> dict[str, tuple[str, ...]]:
        """Higher-order construct -> its lower-order constructs (dimensions), in model order."""
        names = set(self.construct_names)
        return {c.name: c.items for c in self.constructs if c.items and c.items[0] in names}

    @property
    def lower_order(self) -> tuple[str, ...]:
        """Constructs that are dimensions of a higher-order construct."""
        return tuple(d for dims in self.higher_order.values() for d in dims)

    @property
    def interaction_names(self) -> tuple[str, ...]:
        return tuple(interaction_name(a, b) for a, b in self.interactions)

    def construct(self, name: str) -> Construct:
        for c in self.constructs:
            if c.name == name:
                return c
        raise KeyError(f"no construct named {name!r} (model has: {', '.join(self.construct_names)})")

    def predecessors(self, name: str) -> tuple[str, ...]:
        return tuple(s for s, t in self.paths if t == name)

    def successors(self, name: str) -> tuple[str, ...]:
        return tuple(t for s, t in self.paths if s == name)

    @property
    def endogenous(self) -> tuple[str, ...]:
        return tuple(n for n in self._order if self.predecessors(n))

    @property
    def exogenous(self) -> tuple[str, ...]:
        return tuple(n for n in self._order if not self.predecessors(n))

    @property
    def causal_order(self) -> tuple[str, ...]:
        """Construct names so that every path goes from an earlier to a later one."""
        return self._order

    def modifier(self, op: str, lhs: str, rhs: str) -> Modifier | None:
        """The fixed value or label written on one parameter, if any."""
        for m in self.modifiers:
            if (m.op, m.lhs, m.rhs) == (op, lhs, rhs):
                return m
        return None

    @property
    def unconnected(self) -> tuple[str, ...]:
        """Constructs with no structural path (a measurement-only part; CB-SEM only)."""
        if len(self.constructs) < 2:
            return ()
        lower = set(self.lower_order)  # connected through their higher-order construct
        return tuple(c.name for c in self.constructs
                     if c.name not in lower and not any(c.name in p for p in self.paths))

    def _term(self, op: str, lhs: str, rhs: str) -> str:
        m = self.modifier(op, lhs, rhs)
        return f"{m.prefix}{rhs}" if m else rhs

    def to_text(self) -> str:
        """The model in the model language (parses back to an equal model)."""
        lines = []
        if self.citation:
            lines.append(f"# {self.name}: {self.citation}")
        for c in self.constructs:
            op = "<~" if c.is_formative else "=~"
            lines.append(f"{c.name} {op} {' + '.join(self._term('=~', c.name, i) for i in c.items)}")
        for target in self._order:
            sources = self.predecessors(target)
            if sources:
                lines.append(f"{target} ~ {' + '.join(self._term('~', target, s) for s in sources)}")
        for a, b in self.covariances:
            lines.append(f"{a} ~~ {self._term('~~', a, b)}")
        return "\n".join(lines) + "\n"


def _check_model(model: Model) -> None:
    names = [c.name for c in model.constructs]
    seen: dict[str, str] = {}
    for c in model.constructs:
        if names.count(c.name) > 1:
            raise ModelSpecError(f"construct {c.name!r} is defined more than once")
        if not c.items:
            raise ModelSpecError(f"construct {c.name!r} has no items")
        if c.mode not in (REFLECTIVE, FORMATIVE):
            raise ModelSpecError(f"construct {c.name!r}: unknown mode {c.mode!r}")
        for item in c.items:
            if item in names:
                continue  # a higher-order construct's dimension: checked by _check_higher_order
            if item in seen:
                raise ModelSpecError(f"item {item!r} is in two blocks: {seen[item]!r} and {c.name!r}")
            seen[item] = c.name
    _check_interactions(model, names)
    _check_higher_order(model)
    terms = set(model.interaction_names)
    for source, target in model.paths:
        for end in (source, target):
            if end in terms and end == source:
                continue
            if end in terms:
                raise ModelSpecError(f"path {source} -> {target}: an interaction term cannot be explained; "
                                     f"write it on the right of '~'")
            if end not in names:
                raise ModelSpecError(f"path {source} -> {target}: {end!r} is not a construct of the model")
        if source == target:
            raise ModelSpecError(f"path {source} -> {target} points to itself")
    if len(set(model.paths)) != len(model.paths):
        raise ModelSpecError("a structural path is listed twice")
    known = set(names) | set(seen)
    for a, b in model.covariances:
        for end in (a, b):
            if end not in known:
                raise ModelSpecError(f"covariance {a} ~~ {b}: {end!r} is neither a construct nor an item")
        if (a in names) != (b in names):
            raise ModelSpecError(f"covariance {a} ~~ {b} joins a construct and an item; "
                                 "write covariances between two items or two constructs")
    pairs = [frozenset(c) for c in model.covariances]
    if len(set(pairs)) != len(pairs):
        raise ModelSpecError("a covariance is listed twice (a ~~ b and b ~~ a are the same)")
    blocks = {c.name: c for c in model.constructs}
    for m in model.modifiers:
        if m.op == "=~":
            ok = m.lhs in blocks and m.rhs in blocks[m.lhs].items
        elif m.op == "~":
            ok = (m.rhs, m.lhs) in model.paths
        else:
            ok = (m.lhs, m.rhs) in model.covariances
        if not ok:
            raise ModelSpecError(f"modifier on {m.lhs} {m.op} {m.rhs}: the model has no such parameter")
        if m.op == "=~" and blocks[m.lhs].is_formative:
            raise ModelSpecError(f"{m.lhs!r} is formative (<~): fixed values and labels apply to =~, ~ and ~~ only")
        if m.label is not None and m.label in known:
            raise ModelSpecError(f"label {m.label!r} is also a construct or item name; choose another label")


def interaction_name(iv: str, moderator: str) -> str:
    """The name of an interaction term in the model language and in results: ``iv:moderator``."""
    return f"{iv}:{moderator}"


def _check_interactions(model: Model, names: list[str]) -> None:
    seen = set()
    for iv, moderator in model.interactions:
        term = interaction_name(iv, moderator)
        for part in (iv, moderator):
            if part not in names:
                raise ModelSpecError(f"interaction {term}: {part!r} is not a construct of the model "
                                     f"(declare it with =~ or <~)")
        key = frozenset((iv, moderator))
        if key in seen:
            raise ModelSpecError(f"interaction {term} is listed twice ({moderator}:{iv} is the same term)")
        seen.add(key)
        if not any(s == term for s, _ in model.paths):
            raise ModelSpecError(f"interaction {term} explains no construct; use it on the right of '~'")


def _parents(model: Model, name: str) -> tuple[str, ...]:
    """Predecessors with each interaction term replaced by its two constructs (for ordering)."""
    parts = {interaction_name(a, b): (a, b) for a, b in model.interactions}
    return tuple(dict.fromkeys(p for s in model.predecessors(name) for p in parts.get(s, (s,))))


def _check_higher_order(model: Model) -> None:
    """What the two-stage and repeated-indicator approaches support: a higher-order
    construct (HOC) measured by two or more lower-order constructs (LOCs) only; each LOC in
    one HOC and in no structural path (its paths are its HOC's); second order only."""
    names = {c.name for c in model.constructs}
    owner: dict[str, str] = {}
    for c in model.constructs:
        dims = [i for i in c.items if i in names]
        if not dims:
            continue
        if c.name in dims:
            raise ModelSpecError(f"higher-order construct {c.name!r} lists itself as one of its dimensions (a cycle)")
        if len(dims) != len(c.items):
            items = [i for i in c.items if i not in names]
            raise ModelSpecError(f"construct {c.name!r} mixes constructs ({', '.join(dims)}) and items "
                                 f"({', '.join(items)}): a higher-order construct is measured by constructs only")
        if len(dims) < 2:
            raise ModelSpecError(f"higher-order construct {c.name!r} has a single lower-order construct ({dims[0]!r}): "
                                 "it needs two or more (a single one is the same construct; use it directly)")
        for d in dims:
            if d in owner:
                raise ModelSpecError(f"construct {d!r} is a dimension of two higher-order constructs ({owner[d]!r} and "
                                     f"{c.name!r}); each lower-order construct can belong to one only")
            owner[d] = c.name
    blocks = {c.name: c for c in model.constructs}
    for d, hoc in owner.items():
        if any(i in names for i in blocks[d].items):
            if hoc in blocks[d].items or owner.get(hoc) == d:
                raise ModelSpecError(f"higher-order constructs {hoc!r} and {d!r} measure each other (a cycle)")
            raise ModelSpecError(f"{d!r} is itself a higher-order construct and a dimension of {hoc!r}: only "
                                 "second-order constructs are supported (a third order is not)")
        for source, target in model.paths:
            if d in (source, target):
                raise ModelSpecError(
                    f"{d!r} is a dimension of higher-order construct {hoc!r} and also in the structural path "
                    f"{source} -> {target}: a dimension's relations are its higher-order construct's; write the path "
                    f"from or to {hoc!r}, or take {d!r} out of {hoc!r}")
        for iv, moderator in model.interactions:
            if d in (iv, moderator):
                raise ModelSpecError(
                    f"{d!r} is a dimension of higher-order construct {hoc!r} and also in the interaction term "
                    f"{iv}:{moderator}: a dimension's relations are its higher-order construct's")
    if owner and model.covariances:
        a, b = model.covariances[0]
        raise ModelSpecError(f"the covariance {a} ~~ {b} cannot be combined with higher-order constructs")


def _topological_order(model: Model) -> tuple[str, ...]:
    remaining = [c.name for c in model.constructs]
    order: list[str] = []
    while remaining:
        ready = [n for n in remaining if all(s in order for s in _parents(model, n))]
        if not ready:
            cycle = " -> ".join(_find_cycle(model, remaining))
            raise ModelSpecError(f"the structural model has a cycle ({cycle}); PLS path modeling needs a recursive model")
        order.extend(ready)
        remaining = [n for n in remaining if n not in ready]
    return tuple(order)


def _find_cycle(model: Model, nodes: list[str]) -> list[str]:
    start = nodes[0]
    path = [start]
    while True:
        nxt = next(s for s in _parents(model, path[-1]) if s in nodes)
        if nxt in path:
            cycle = path[path.index(nxt):] + [nxt]
            return list(reversed(cycle))
        path.append(nxt)


def _split_statements(text: str):
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        for part in line.split(";"):
            if part.strip():
                yield line_number, part.strip()


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _parse_modifier(text: str, term: str, line: int, source: str) -> tuple[float | None, str | None, bool]:
    """``0.5`` (fixed value), ``NA`` (free), or a label name."""
    if _NUMBER.fullmatch(text):
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ModelSyntaxError(f"fixed value {text!r} in {term!r} is not a finite number", line, text, source)
        return value, None, False
    if text == "NA":
        return None, None, True
    if _NAME.fullmatch(text):
        return None, text, False
    raise ModelSyntaxError(f"{text!r} in {term!r} is neither a number nor a label (write 0.5*x or a*x)",
                           line, text or "*", source)


def _parse_terms(rhs: str, line: int, source: str, op: str) -> list[tuple[str, tuple | None]]:
    """Terms of a right-hand side: (name, (value, label, free) or None)."""
    if not rhs.strip():
        raise ModelSyntaxError(f"nothing after {op!r}", line, op, source)
    terms: list[tuple[str, tuple | None]] = []
    for raw in rhs.split("+"):
        term = raw.strip()
        if not term:
            raise ModelSyntaxError(f"empty term between '+' signs in {rhs.strip()!r}", line, "+", source)
        modifier = None
        name = term
        if "*" in term:
            head, _, name = term.rpartition("*")
            head, name = head.strip(), name.strip()
            if "*" in head:
                raise ModelSyntaxError(f"more than one modifier in {term!r}; write one value or label per term",
                                       line, term, source)
            modifier = _parse_modifier(head, term, line, source)
        if op == "~" and ":" in name:
            name = _parse_interaction(name, term, modifier, line, source)
        elif not _NAME.fullmatch(name):
            bad = name.split()[1] if len(name.split()) > 1 else name
            if len(name.split()) > 1:
                raise ModelSyntaxError(f"unexpected token {bad!r}: separate terms with '+'", line, bad, source)
            raise ModelSyntaxError(f"{name!r} is not a valid name", line, name or term, source)
        if name in [t for t, _ in terms]:
            raise ModelSyntaxError(f"{name!r} is listed twice", line, name, source)
        terms.append((name, modifier))
    return terms


def _parse_interaction(name: str, term: str, modifier, line: int, source: str) -> str:
    """``Image:Expectation`` (or ``Image:Image``, a quadratic term) on the right of ``~``."""
    parts = [part.strip() for part in name.split(":")]
    if len(parts) != 2 or not all(_NAME.fullmatch(part) for part in parts):
        raise ModelSyntaxError(f"{term!r} is not an interaction of two constructs (write A:B, or A:A for a "
                               "quadratic term)", line, term, source)
    if modifier is not None:
        raise ModelSyntaxError(f"fixed values and labels do not apply to the interaction term {term!r}",
                               line, term, source)
    return interaction_name(*parts)


def parse_model(text: str, source: str = "<model>", name: str = "custom") -> Model:
    """Parse model text; errors name ``source``, the line and the offending token."""
    blocks: dict[str, tuple[list[str], str, int]] = {}
    regressions: list[tuple[str, str, int]] = []
    covariances: list[tuple[str, str]] = []
    modifiers: dict[tuple[str, str, str], tuple[Modifier, int]] = {}
    for line, statement in _split_statements(text):
        op = next((o for o in _OPERATORS if o in statement), None)
        if op is None:
            token = statement.split()[0] if statement.split() else statement
            raise ModelSyntaxError(
                f"no operator in {statement!r}: expected one of =~ (reflective), <~ (formative), ~ (path), ~~ (covariance)",
                line, token, source)
        lhs, rhs = statement.split(op, 1)
        lhs = lhs.strip()
        if not lhs:
            raise ModelSyntaxError(f"nothing before {op!r}", line, op, source)
        if not _NAME.fullmatch(lhs):
            bad = lhs.split()[-1] if lhs.split() else lhs
            raise ModelSyntaxError(f"{lhs!r} is not a valid name on the left of {op!r}", line, bad, source)
        for other in _OPERATORS:
            if other in rhs:
                raise ModelSyntaxError(f"a second operator {other!r} in one statement", line, other, source)
        parsed = _parse_terms(rhs, line, source, op)
        terms = [t for t, _ in parsed]
        for term, mod in parsed:
            if mod is None:
                continue
            if op == "<~":
                raise ModelSyntaxError(f"fixed values and labels apply to =~, ~ and ~~, not to formative blocks (<~)",
                                       line, term, source)
            key = (op, lhs, term)
            if key in modifiers:
                raise ModelSyntaxError(f"{lhs} {op} {term} has a second modifier (first on line {modifiers[key][1]})",
                                       line, term, source)
            modifiers[key] = (Modifier(op, lhs, term, *mod), line)
        if op in ("=~", "<~"):
            mode = REFLECTIVE if op == "=~" else FORMATIVE
            if lhs in blocks:
                items, old_mode, first = blocks[lhs]
                if old_mode != mode:
                    raise ModelSyntaxError(f"{lhs!r} is defined as {old_mode} on line {first} and {mode} here", line, op, source)
                items.extend(t for t in terms if t not in items)
            else:
                blocks[lhs] = (terms, mode, line)
        elif op == "~":
            regressions.extend((t, lhs, line) for t in terms)
        else:
            covariances.extend((lhs, t) for t in terms)
    if not blocks:
        raise ModelSyntaxError("no construct defined (use 'Construct =~ item1 + item2')", 0, None, source)
    for a, b in covariances:
        if (b, a) in covariances and a != b:
            raise ModelSyntaxError(f"the covariance {a} ~~ {b} is written twice", 0, None, source)
    interactions = list(dict.fromkeys(tuple(s.split(":")) for s, _, _ in regressions if ":" in s))
    for s, t, line in regressions:
        for end in (t, *s.split(":")):
            if end not in blocks:
                raise ModelSyntaxError(
                    f"{end!r} in a structural path is not a construct defined with =~ or <~", line, end, source)
    constructs = tuple(Construct(n, tuple(items), mode) for n, (items, mode, _) in blocks.items())
    paths = tuple(dict.fromkeys((s, t) for s, t, _ in regressions))
    try:
        return Model(constructs, paths, tuple(dict.fromkeys(covariances)), name=name,
                     modifiers=tuple(m for m, _ in modifiers.values()), interactions=tuple(interactions))
    except ModelSpecError as exc:
        raise ModelSyntaxError(str(exc), 0, None, source) from None


@dataclass(frozen=True)
class Template:
    """The structural part of a published CSI model: constructs and paths, no items."""

    name: str
    title: str
    constructs: tuple[str, ...]
    paths: tuple[tuple[str, str], ...]
    citation: str
    optional: tuple[str, ...] = ()
    higher_order: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (HOC, its lower-order constructs)

    def bind(self, items: Mapping[str, Iterable[str]], modes: Mapping[str, str] | None = None) -> Model:
        """A full model: the template's paths with ``items`` (construct -> item ids).

        Optional constructs without items are dropped with their paths; a required
        construct without items is an error naming it.
        """
        modes = modes or {}
        hocs = dict(self.higher_order)
        tagged = [c for c in hocs if list(items.get(c, ()))]
        if tagged:
            raise ModelSpecError(f"the {self.title} template measures {tagged[0]!r} by {' and '.join(hocs[tagged[0]])} "
                                 f"(a higher-order construct): tag its items with those constructs instead")
        items = {**items, **hocs}
        missing = [c for c in self.constructs if not list(items.get(c, ())) and c not in self.optional]
        if missing:
            raise ModelSpecError(
                f"the {self.title} template needs items for: {', '.join(missing)} "
                f"(tag rating questions with construct: <name>)")
        present = [c for c in self.constructs if list(items.get(c, ()))]
        constructs = tuple(Construct(c, tuple(items[c]), modes.get(c, REFLECTIVE)) for c in present)
        paths = tuple((s, t) for s, t in self.paths if s in present and t in present)
        return Model(constructs, paths, name=self.name, citation=self.citation)


def _paths(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for statement in text.strip().splitlines():
        target, sources = statement.split("~")
        out.extend((s.strip(), target.strip()) for s in sources.split("+"))
    return tuple(out)


TEMPLATES: dict[str, Template] = {
    "acsi": Template(
        "acsi", "ACSI",
        ("expectations", "perceived_quality", "perceived_value", "satisfaction", "complaints", "loyalty"),
        _paths("""
            perceived_quality ~ expectations
            perceived_value ~ expectations + perceived_quality
            satisfaction ~ expectations + perceived_quality + perceived_value
            complaints ~ satisfaction
            loyalty ~ satisfaction + complaints
        """),
        "Fornell, Johnson, Anderson, Cha & Bryant (1996), The American Customer Satisfaction "
        "Index: Nature, Purpose, and Findings. Journal of Marketing 60(4):7-18, Figure 1.",
    ),
    "ecsi": Template(
        "ecsi", "ECSI",
        ("image", "expectations", "perceived_quality", "perceived_value", "satisfaction", "loyalty"),
        _paths("""
            expectations ~ image
            perceived_quality ~ expectations
            perceived_value ~ expectations + perceived_quality
            satisfaction ~ image + expectations + perceived_quality + perceived_value
            loyalty ~ image + satisfaction
        """),
        "ECSI Technical Committee (1998), European Customer Satisfaction Index: Foundation "
        "and Structure for Harmonized National Pilot Projects; as estimated in Tenenhaus, "
        "Esposito Vinzi, Chatelin & Lauro (2005), PLS path modeling, CSDA 48:159-205, Fig. 2 "
        "(whose mobile-phone study also keeps a complaints construct: write that as a custom model).",
    ),
    # ECSI's perceived quality of the product ("hardware") and of the service ("humanware")
    # as two constructs, here the dimensions of one higher-order perceived quality.
    "ecsi_hoc": Template(
        "ecsi_hoc", "ECSI (product and service quality)",
        ("image", "expectations", "product_quality", "service_quality", "perceived_quality", "perceived_value",
         "satisfaction", "loyalty"),
        _paths("""
            expectations ~ image
            perceived_quality ~ expectations
            perceived_value ~ expectations + perceived_quality
            satisfaction ~ image + expectations + perceived_quality + perceived_value
            loyalty ~ image + satisfaction
        """),
        "ECSI Technical Committee (1998), European Customer Satisfaction Index: Foundation and Structure for "
        "Harmonized National Pilot Projects, whose perceived quality has a product ('hardware') and a service "
        "('humanware') part (Cassel & Eklöf 2001, Total Quality Management 12(7-8):834-841); here both are "
        "dimensions of a higher-order perceived_quality (two-stage approach: Sarstedt, Hair, Cheah, Becker & "
        "Ringle 2019, Australasian Marketing Journal 27(3):197-211).",
        higher_order=(("perceived_quality", ("product_quality", "service_quality")),),
    ),
    "ccsi": Template(
        "ccsi", "CCSI",
        ("brand_image", "expected_quality", "perceived_quality", "perceived_value", "satisfaction", "loyalty"),
        _paths("""
            expected_quality ~ brand_image
            perceived_quality ~ brand_image + expected_quality
            perceived_value ~ expected_quality + perceived_quality
            satisfaction ~ brand_image + expected_quality + perceived_quality + perceived_value
            loyalty ~ brand_image + satisfaction
        """),
        "China Customer Satisfaction Index model of Tsinghua University's China Business "
        "Research Center and the China Quality Association (CCSI, 2002-2003): ACSI's core "
        "chain with brand image (品牌形象) as an antecedent of expected quality, perceived "
        "quality, satisfaction and loyalty, and no complaints construct.",
    ),
    "scsb": Template(
        "scsb", "SCSB",
        ("expectations", "perceived_value", "satisfaction", "complaints", "loyalty"),
        _paths("""
            perceived_value ~ expectations
            satisfaction ~ expectations + perceived_value
            complaints ~ satisfaction
            loyalty ~ satisfaction + complaints
        """),
        "Fornell (1992), A National Customer Satisfaction Barometer: The Swedish Experience. "
        "Journal of Marketing 56(1):6-21, Figure 1 (perceived performance = perceived_value, "
        "voice = complaints).",
    ),
}

def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name.lower()]
    except KeyError:
        raise ModelSpecError(f"unknown model template {name!r}; built-in templates: {', '.join(TEMPLATES)}") from None
