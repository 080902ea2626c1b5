"""Questionnaires: the file format researchers write, loaded into immutable objects.

``load_questionnaire(path)`` returns a :class:`Questionnaire` or raises
:class:`QuestionnaireError` listing *every* problem with file, line and field path.
The structural rules live in ``models/schema/questionnaire.schema.json`` (shipped for
editors); the semantic rules (unknown scales, forward references in ``show_if``,
missing translations, constructs too small for the model) live here.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import jsonschema

from .answers import ANSWER_TYPES
from .csi_model import FORMATIVE, Model, get_template, parse_model
from .email_templates import EmailTemplates, parse_email_section
from .errors import CSIError, ExpressionError, ModelSpecError, Problem, QuestionnaireError
from .expressions import Expression, parse_expression
from .hidden import HiddenField
from .piping import references as pipe_references
from .quotas import Quota, parse_quotas
from .yaml_source import SourceMap, format_path, load_with_lines

DEFAULT_MIN_ITEMS = 3
MAX_FILE_BYTES = 2_000_000


@lru_cache(maxsize=1)
def questionnaire_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the questionnaire format."""
    text = resources.files("models.schema").joinpath("questionnaire.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Text:
    """A text in several languages; ``get(lang)`` falls back to the default language."""

    values: Mapping[str, str]
    default_language: str

    def get(self, language: str | None = None) -> str:
        if language and language in self.values:
            return self.values[language]
        if self.default_language in self.values:
            return self.values[self.default_language]
        return next(iter(self.values.values()))

    def __str__(self) -> str:
        return self.get()


# End labels that rate quality, in the questionnaire languages (English, Chinese).
_QUALITY_ANCHOR = re.compile(r"\b(poor|excellent|good|bad|terrible|great)\b|差|好|优秀", re.IGNORECASE)


def is_cost_construct(name: str | None) -> bool:
    """A construct that measures what the customer gives up (total_customer_cost, ...)."""
    return bool(name) and "cost" in name.lower()


@dataclass(frozen=True)
class Scale:
    """A rating scale from ``minimum`` to ``maximum`` (integers, inclusive)."""

    name: str
    minimum: int
    maximum: int
    labels: Mapping[int, Text]
    dont_know_code: int | None = None
    dont_know_label: Text | None = None
    kind: str = "rating"

    @property
    def points(self) -> tuple[int, ...]:
        return tuple(range(self.minimum, self.maximum + 1))

    def accepts(self, value: int) -> bool:
        """A point of the scale or its don't-know code."""
        return self.minimum <= value <= self.maximum or value == self.dont_know_code

    @property
    def quality_anchors(self) -> bool:
        """True when an end label (in any language) rates quality: "Very poor" ... "Excellent",
        非常差 ... 非常好. Such a scale has no direction for a cost item ("how high is the cost")."""
        ends = [self.labels.get(point) for point in (self.minimum, self.maximum)]
        return any(_QUALITY_ANCHOR.search(text) for label in ends if label is not None
                   for text in label.values.values())


@dataclass(frozen=True)
class Option:
    value: str | int
    label: Text


@dataclass(frozen=True)
class Group:
    """Rows asked together as one grid (a ``type: matrix`` entry of the file): its id, text,
    help and scale as the page shows them, and the ids of its row questions in file order.
    Each row is an ordinary :class:`Question` whose ``group`` is this."""

    id: str
    type: str
    text: Text
    help: Text | None
    scale: Scale | None
    rows: tuple[str, ...]
    randomize: bool = False  # rows shown in an order of each response's own (models/randomization.py)


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Text
    page_id: str
    required: bool = True
    help: Text | None = None
    show_if: Expression | None = None
    scale: Scale | None = None
    construct: str | None = None
    reverse: bool = False
    options: tuple[Option, ...] = ()
    max_selected: int | None = None
    max_length: int = 2000
    multiline: bool = False
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    segment: bool = False  # analysed per answer (``Questionnaire.segment_ids``)
    group: Group | None = None  # the matrix this question is a row of (None: asked on its own)
    randomize: bool = False  # options shown in an order of each response's own (models/randomization.py)


# Question types whose answers split respondents into groups: one answer each, few levels.
SEGMENT_TYPES = ("single_choice", "rating", "number")


@dataclass(frozen=True)
class Page:
    id: str
    title: Text | None
    questions: tuple[Question, ...]
    show_if: Expression | None = None
    randomize: bool = False  # questions (a matrix as one) in an order of each response's own


@dataclass(frozen=True)
class PageBlock:
    """Consecutive pages (their ids, in file order) shown in an order of each response's own
    (``models.randomization.page_sequence``)."""

    id: str
    pages: tuple[str, ...]


@dataclass(frozen=True)
class FollowUpRule:
    id: str
    when: Expression
    reason: Text | None


@dataclass(frozen=True)
class ModelSpec:
    template: str | None
    text: str | None
    formative: tuple[str, ...]
    min_items: int
    single_item: tuple[str, ...]
    # Reader-facing construct names (report, console), e.g. {"complaints": "Complaint handling"}:
    # a template's construct measured by what this questionnaire asks may deserve a plainer name.
    names: Mapping[str, Text] = field(default_factory=dict)


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire. ``content_hash`` identifies its exact content."""

    id: str
    version: str
    languages: tuple[str, ...]
    default_language: str
    title: Text
    intro: Text | None
    privacy_notice: Text | None
    thank_you: Text | None
    scales: Mapping[str, Scale]
    pages: tuple[Page, ...]
    follow_up: tuple[FollowUpRule, ...]
    model_spec: ModelSpec | None
    content_hash: str
    source: str = field(default="<questionnaire>", compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)  # valid, but worth a second look
    # The e-mail invitation and reminder wording; what the file leaves out is the built-in wording.
    email: EmailTemplates = field(default_factory=EmailTemplates, compare=False)
    # Values that come with the link (models.hidden); read as ``hidden.<id>``.
    hidden: tuple[HiddenField, ...] = ()
    # Caps on completions by kind of respondent (models/quotas.py).
    quotas: tuple[Quota, ...] = ()
    # Runs of pages shown in an order of each response's own (models/randomization.py).
    blocks: tuple[PageBlock, ...] = ()
    # Open-answer analysis: words kept whole (product, store names) and extra stop words.
    user_words: tuple[str, ...] = ()
    stop_words: tuple[str, ...] = ()

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for page in self.pages for q in page.questions)

    @cached_property
    def _by_id(self) -> Mapping[str, Question]:
        # The web app looks questions up for every stored answer of every request.
        return MappingProxyType({q.id: q for q in self.questions})

    def question(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]
        except KeyError:
            raise KeyError(f"questionnaire {self.id!r} has no question {question_id!r}") from None

    @property
    def rating_items(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if ANSWER_TYPES[q.type].model_item)

    def constructs(self) -> dict[str, tuple[str, ...]]:
        """Construct name -> ids of the rating items tagged with it, in file order."""
        out: dict[str, list[str]] = {}
        for q in self.rating_items:
            if q.construct:
                out.setdefault(q.construct, []).append(q.id)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def segment_ids(self) -> tuple[str, ...]:
        """Ids of the questions declared ``segment: true``, in file order, then the hidden
        fields so declared as ``hidden.<id>`` (the analysis' segments; empty when none is
        declared, and the analysis falls back to names)."""
        return tuple(q.id for q in self.questions if q.segment) + \
            tuple(h.name for h in self.hidden if h.segment)

    def csi_model(self) -> Model:
        """The CSI model the questionnaire declares (template bound to its construct tags)."""
        spec = self.model_spec
        if spec is None:
            raise ModelSpecError(f"questionnaire {self.id!r} declares no model (add a 'model:' section)")
        if spec.text:
            return parse_model(spec.text, source=f"{self.source}: model.text", name=self.id)
        modes = {c: FORMATIVE for c in spec.formative}
        return get_template(spec.template).bind(self.constructs(), modes)

    def summary_line(self) -> str:
        constructs = self.constructs()
        return (f"{self.id} v{self.version}: {len(self.questions)} questions "
                f"({len(self.rating_items)} rating items), {len(constructs)} constructs, "
                f"{len(self.pages)} pages, languages {', '.join(self.languages)}")


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Load and validate a questionnaire file (YAML or JSON)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise QuestionnaireError([Problem(str(path), 0, "", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")])
        data = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError([Problem(str(path), 0, "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise QuestionnaireError([Problem(str(path), line, "", "file is not valid UTF-8")]) from None
    return parse_questionnaire(text, str(path))


def parse_questionnaire(text: str, filename: str = "<questionnaire>") -> Questionnaire:
    raw, smap, problems = load_with_lines(text, filename)
    if raw is None or problems:
        raise QuestionnaireError(problems)
    if not isinstance(raw, dict):
        raise QuestionnaireError([Problem(filename, 1, "", "the top level must be a mapping of fields (id, title, scales, pages, ...)")])
    problems.extend(_schema_problems(raw, smap, filename))
    if problems:
        # Semantic checks assume the structure is right; stop here so messages stay precise.
        raise QuestionnaireError(problems)
    checker = _SemanticChecker(raw, smap, filename)
    questionnaire = checker.build()
    if checker.problems:
        raise QuestionnaireError(checker.problems)
    return questionnaire


def _answer_ids(spec: dict) -> list[str]:
    """Ids of the answers a question entry of the file stands for: its rows for a matrix."""
    return [row["id"] for row in spec["rows"]] if "rows" in spec else [spec["id"]]


def _expression_names(source: str) -> set[str]:
    """The names a ``show_if`` reads (none when it does not parse: reported elsewhere)."""
    try:
        return set(parse_expression(source).names)
    except ExpressionError:
        return set()


def _texts_of(spec: dict) -> list[tuple[tuple, str]]:
    """(path within ``spec``, text) of every text of a question entry that may pipe an answer:
    its text and help, its options' and its rows' texts, in every language."""
    out: list[tuple[tuple, str]] = []

    def add(place: tuple, value) -> None:
        if isinstance(value, str):
            out.append((place, value))
        elif isinstance(value, dict):
            out.extend((place + (lang,), text) for lang, text in value.items() if isinstance(text, str))
    for key in ("text", "help"):
        add((key,), spec.get(key))
    for o_index, option in enumerate(spec.get("options", ())):
        add(("options", o_index, "label"), option.get("label"))
    for r_index, row in enumerate(spec.get("rows", ())):
        add(("rows", r_index, "text"), row.get("text"))
    return out


def _schema_problems(raw: dict, smap: SourceMap, filename: str) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(questionnaire_schema())
    out = []
    for error in validator.iter_errors(raw):
        for leaf in _leaves(error):
            path = tuple(leaf.absolute_path)
            if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
                extra = sorted(set(leaf.instance) - set(leaf.schema.get("properties", {})))
                path = path + (extra[0],) if len(extra) == 1 else path
            out.append(Problem(filename, smap.line(path), format_path(path), _schema_message(leaf)))
    return sorted(set(out))


def _leaves(error):
    # For allOf/if-then the useful message is on the innermost error; a oneOf of bare
    # "required" alternatives (hidden fields: values or pattern) is one message of its own.
    if error.validator == "oneOf" and all(set(alt) == {"required"} for alt in error.validator_value):
        yield error
    elif error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def _schema_message(error) -> str:
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required field '{missing}'"
    if kind == "oneOf":
        return f"give exactly one of {' or '.join(repr(alt['required'][0]) for alt in error.validator_value)}"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(repr(e) for e in extra)} (allowed: {allowed})"
    if kind == "enum":
        return f"{error.instance!r} is not one of: {', '.join(map(str, error.validator_value))}"
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        expected = expected.replace("object", "mapping").replace("array", "list")
        return f"expected {expected}, got {_describe(error.instance)}"
    if kind == "pattern":
        return f"{error.instance!r} is not a valid name here (must match {error.validator_value})"
    if kind == "propertyNames":
        return f"{error.instance!r} is not a valid key here"
    if kind in ("minItems", "minProperties"):
        return "must not be empty" if error.validator_value <= 1 else f"needs at least {error.validator_value} entries"
    if kind == "minLength":
        return "must not be empty text"
    return error.message


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


class _SemanticChecker:
    def __init__(self, raw: dict, smap: SourceMap, filename: str):
        self.raw = raw
        self.smap = smap
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.default_language = raw["default_language"]
        self.languages = tuple(raw.get("languages") or [self.default_language])

    def problem(self, path: tuple, message: str) -> None:
        self.problems.append(Problem(self.filename, self.smap.line(path), format_path(path), message))

    def warn(self, path: tuple, message: str) -> None:
        self.warnings.append(Problem(self.filename, self.smap.line(path), format_path(path), f"warning: {message}"))

    def text(self, value, path: tuple) -> Text:
        if isinstance(value, str):
            return Text({lang: value for lang in self.languages}, self.default_language)
        for lang in self.languages:
            if lang not in value:
                self.problem(path, f"missing translation for '{lang}'")
        for lang in value:
            if lang not in self.languages:
                self.problem(path + (lang,), f"language '{lang}' is not listed in languages ({', '.join(self.languages)})")
        return Text(dict(value), self.default_language)

    def optional_text(self, value, path):
        return None if value is None else self.text(value, path)

    def expression(self, source: str, path: tuple, earlier: set[str], known: set[str], what: str) -> Expression | None:
        try:
            expression = parse_expression(source)
        except ExpressionError as exc:
            self.problem(path, f"{what}: {exc}")
            return None
        for name in expression.names:
            if name in earlier:
                continue
            if name.startswith("hidden."):
                self.problem(path, f"{what} refers to undeclared hidden field {name!r}"
                                   f" (declared: {', '.join(sorted(self.hidden_names)) or 'none'})")
                continue
            if name in known:
                self.problem(path, f"{what} refers to {name!r}, which is asked later or in the same place; it can only use earlier answers")
            else:
                self.problem(path, f"{what} refers to unknown question {name!r}")
        return expression

    def build(self) -> Questionnaire:
        raw = self.raw
        if self.default_language not in self.languages:
            self.problem(("default_language",), f"default language '{self.default_language}' is not in languages ({', '.join(self.languages)})")
        scales = {name: self.scale(name, spec) for name, spec in raw["scales"].items()}
        hidden = self.hidden_fields(raw.get("hidden", []))
        self.hidden_names = {f.name for f in hidden}
        all_ids = {qid for page in raw["pages"] for q in page["questions"] for qid in _answer_ids(q)}
        seen_questions: dict[str, tuple] = {}
        seen_pages: dict[str, int] = {}
        earlier: set[str] = set(self.hidden_names)  # hidden values are known from the first page
        pages = []
        for p_index, page in enumerate(raw["pages"]):
            p_path = ("pages", p_index)
            if page["id"] in seen_pages:
                self.problem(p_path + ("id",), f"duplicate page id {page['id']!r} (also pages[{seen_pages[page['id']]}])")
            seen_pages.setdefault(page["id"], p_index)
            page_condition = None
            if "show_if" in page:
                page_condition = self.expression(page["show_if"], p_path + ("show_if",), set(earlier), all_ids, "show_if")
            questions = []
            for q_index, spec in enumerate(page["questions"]):
                q_path = p_path + ("questions", q_index)
                # A matrix's own id and its rows' ids share the questions' name space: a row is a question.
                ids = [(spec["id"], q_path)] + [(row["id"], q_path + ("rows", r_index))
                                                 for r_index, row in enumerate(spec.get("rows", ()))]
                for qid, id_path in ids:
                    if qid in seen_questions:
                        self.problem(id_path + ("id",), f"duplicate question id {qid!r} (also {format_path(seen_questions[qid])})")
                    seen_questions.setdefault(qid, id_path)
                if ANSWER_TYPES[spec["type"]].row_type:
                    asked = self.group(spec, q_path, page["id"], scales, set(earlier), all_ids)
                else:
                    asked = [self.question(spec, q_path, page["id"], scales, set(earlier), all_ids)]
                questions.extend(asked)
                for question in asked:
                    if question.scale is not None and is_cost_construct(question.construct) and question.scale.quality_anchors:
                        low, high = (question.scale.labels.get(k) for k in (question.scale.minimum, question.scale.maximum))
                        self.warn(q_path + ("scale",),
                                  f"{question.id!r} measures cost ({question.construct}) on scale {question.scale.name!r}, whose "
                                  f"anchors rate quality ({low.get() if low else question.scale.minimum!r} ... "
                                  f"{high.get() if high else question.scale.maximum!r}), so a high answer has no direction "
                                  "for delivered value (value - cost); give cost items a scale such as "
                                  "1 = very low cost ... 10 = very high cost")
            # Questions on one page are shown together, so a page's conditions may use only earlier pages.
            earlier.update(qid for q in page["questions"] for qid in _answer_ids(q))
            pages.append(Page(page["id"], self.optional_text(page.get("title"), p_path + ("title",)), tuple(questions),
                              page_condition, bool(page.get("randomize", False))))
        rules = []
        for r_index, rule in enumerate(raw.get("follow_up", [])):
            r_path = ("follow_up", r_index)
            expression = self.expression(rule["when"], r_path + ("when",), all_ids | self.hidden_names, all_ids,
                                         "follow-up rule")
            if expression is not None:
                rules.append(FollowUpRule(rule.get("id", f"rule{r_index + 1}"), expression,
                                          self.optional_text(rule.get("reason"), r_path + ("reason",))))
        model_spec = self.model(raw.get("model"), pages)
        email = parse_email_section(raw.get("email"), self.text, self.problem) or EmailTemplates()
        # Quotas count by answers and by hidden fields (hidden.region), as the completions read them.
        quotas = parse_quotas(raw.get("quotas"), all_ids | self.hidden_names, self.text, self.expression, self.problem)
        blocks = self.page_blocks(raw.get("blocks", []), raw["pages"])
        canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return Questionnaire(
            id=raw["id"], version=str(raw["version"]), languages=self.languages,
            default_language=self.default_language,
            title=self.text(raw["title"], ("title",)),
            intro=self.optional_text(raw.get("intro"), ("intro",)),
            privacy_notice=self.optional_text(raw.get("privacy_notice"), ("privacy_notice",)),
            thank_you=self.optional_text(raw.get("thank_you"), ("thank_you",)),
            scales=scales, pages=tuple(pages), follow_up=tuple(rules), model_spec=model_spec,
            content_hash=hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            source=self.filename, raw=raw, warnings=tuple(self.warnings), email=email, hidden=hidden, quotas=quotas,
            blocks=blocks,
            user_words=tuple((raw.get("text_analysis") or {}).get("user_words", ())),
            stop_words=tuple((raw.get("text_analysis") or {}).get("stop_words", ())),
        )

    def hidden_fields(self, specs: list) -> tuple[HiddenField, ...]:
        """The ``hidden:`` list (the schema checked its shape): unique ids, patterns that compile."""
        out, seen = [], set()
        for index, spec in enumerate(specs):
            path = ("hidden", index)
            if spec["id"] in seen:
                self.problem(path + ("id",), f"duplicate hidden field id {spec['id']!r}")
                continue
            seen.add(spec["id"])
            if spec["id"] in ("sig", "lang"):  # the link's own parameters: the signature, the language
                self.problem(path + ("id",), f"{spec['id']!r} is a parameter of the survey link itself; choose another id")
                continue
            pattern = None
            if "pattern" in spec:
                try:
                    pattern = re.compile(spec["pattern"])
                except re.error as exc:
                    self.problem(path + ("pattern",), f"not a valid regular expression: {exc}")
                    continue
            values = tuple(str(v) for v in spec["values"]) if "values" in spec else None
            out.append(HiddenField(spec["id"], values, pattern, bool(spec.get("signed")), bool(spec.get("segment"))))
        return tuple(out)

    def page_blocks(self, specs: list, raw_pages: list) -> tuple[PageBlock, ...]:
        """The ``blocks:`` list (the schema checked its shape): unique ids, known pages, each
        page in one block at most, a block's pages a run of consecutive pages; and, since
        the pages of a block may come in any order, no page of a block reads (``show_if``,
        piping) an answer given on another page of the same block."""
        index_of: dict[str, int] = {}
        for i, page in enumerate(raw_pages):
            index_of.setdefault(page["id"], i)  # a duplicate page id is reported with the pages
        out, seen, owner = [], set(), {}
        for b_index, spec in enumerate(specs):
            path = ("blocks", b_index)
            if spec["id"] in seen:
                self.problem(path + ("id",), f"duplicate block id {spec['id']!r}")
                continue
            seen.add(spec["id"])
            indexes, fine = [], True
            for k, page_id in enumerate(spec["pages"]):
                where = path + ("pages", k)
                if page_id not in index_of:
                    self.problem(where, f"unknown page {page_id!r} (pages: {', '.join(index_of)})")
                    fine = False
                elif index_of[page_id] in indexes:
                    self.problem(where, f"page {page_id!r} is listed twice")
                    fine = False
                elif page_id in owner:
                    self.problem(where, f"page {page_id!r} is already in block {owner[page_id]!r}; "
                                        "blocks cannot overlap")
                    fine = False
                else:
                    indexes.append(index_of[page_id])
            if not fine:
                continue
            ordered = sorted(indexes)
            if ordered != list(range(ordered[0], ordered[0] + len(ordered))):
                gap = next(i for i in range(ordered[0], ordered[-1]) if i not in ordered)
                self.problem(path + ("pages",), f"the pages of a block must follow one another, but page "
                                                f"{raw_pages[gap]['id']!r} comes between them and is not in the block")
                continue
            for page_id in spec["pages"]:
                owner[page_id] = spec["id"]
            block = PageBlock(spec["id"], tuple(raw_pages[i]["id"] for i in ordered))
            self.block_reads(block, ordered, raw_pages)
            out.append(block)
        return tuple(out)

    def block_reads(self, block: PageBlock, indexes: list[int], raw_pages: list) -> None:
        """Refuse a page of ``block`` whose conditions or piping read an answer given on another
        page of the block: shuffled, that page may come first."""
        asked_on = {qid: i for i in indexes for q in raw_pages[i]["questions"] for qid in _answer_ids(q)}
        for i in indexes:
            page = raw_pages[i]
            reads: list[tuple[tuple, set[str]]] = []
            if "show_if" in page:
                reads.append((("pages", i, "show_if"), _expression_names(page["show_if"])))
            for q_index, spec in enumerate(page["questions"]):
                q_path = ("pages", i, "questions", q_index)
                if "show_if" in spec:
                    reads.append((q_path + ("show_if",), _expression_names(spec["show_if"])))
                for place, text in _texts_of(spec):
                    reads.append((q_path + place, set(pipe_references(text))))
            for path, names in reads:
                for name in sorted(names):
                    # Only an earlier page of the block: a later one is refused as any later page is.
                    if asked_on.get(name, i) < i:
                        self.problem(path, f"reads {name!r}, asked on page {raw_pages[asked_on[name]]['id']!r} of "
                                           f"the same block {block.id!r}, whose pages come in an order of each "
                                           "response's own; move one of the two pages out of the block")

    def pipes(self, spec: dict, path: tuple, earlier: set[str], all_ids: set[str]) -> None:
        """Refuse piping (``{q_id}``, ``{hidden.x}``) of an unknown name or of a question
        on the same or a later page: its answer does not exist yet when the text shows."""
        places = [("text",), ("help",)] + [("options", i, "label") for i in range(len(spec.get("options", ())))]
        for place in places:
            value = spec
            for key in place:
                value = value.get(key) if isinstance(value, dict) else value[key]
                if value is None:
                    break
            if value is None:
                continue
            texts = [value] if isinstance(value, str) else list(value.values())
            for name in dict.fromkeys(n for text in texts if isinstance(text, str) for n in pipe_references(text)):
                if name in earlier:
                    continue
                if name.startswith("hidden."):
                    message = f"pipes undeclared hidden field {{{name}}}"
                elif name in all_ids:
                    message = f"pipes {{{name}}}, which is asked on the same or a later page; only earlier answers can be piped"
                else:
                    message = f"pipes unknown question {{{name}}}"
                self.problem(path + place, message)

    def scale(self, name: str, spec: dict) -> Scale:
        path = ("scales", name)
        low, high = spec["min"], spec["max"]
        if low >= high:
            self.problem(path + ("max",), f"max ({high}) must be greater than min ({low})")
        if high - low > 100:
            self.problem(path + ("max",), f"a rating scale may have at most 101 points (got {low}..{high})")
        labels = {}
        for key, label in (spec.get("labels") or {}).items():
            point = int(key)
            if not low <= point <= high:
                self.problem(path + ("labels", key), f"label for {point}, which is outside the scale {low}..{high}")
            labels[point] = self.text(label, path + ("labels", key))
        code = label = None
        if "dont_know" in spec:
            code = spec["dont_know"]["code"]
            if low <= code <= high:
                self.problem(path + ("dont_know", "code"), f"don't-know code {code} is inside the scale {low}..{high}; use a value outside it (e.g. 99)")
            label = self.text(spec["dont_know"]["label"], path + ("dont_know", "label"))
        kind = spec.get("kind", "rating")
        if kind == "nps" and (low, high) != (0, 10):
            self.problem(path + ("kind",), f"an nps scale runs 0..10, not {low}..{high}")
        return Scale(name, low, high, labels, code, label, kind)

    def question(self, spec: dict, path: tuple, page_id: str, scales: dict, earlier: set, all_ids: set) -> Question:
        qtype = spec["type"]
        type_specific = frozenset().union(*(entry.fields for entry in ANSWER_TYPES.values()))
        for key in sorted(type_specific & set(spec) - ANSWER_TYPES[qtype].fields):
            self.problem(path + (key,), f"field '{key}' does not apply to a {qtype} question")
        scale = None
        if "scale" in ANSWER_TYPES[qtype].fields:  # the schema requires it where it applies
            scale = scales.get(spec["scale"])
            if scale is None:
                self.problem(path + ("scale",), f"unknown scale {spec['scale']!r} (defined scales: {', '.join(scales)})")
        options = []
        if "options" in spec:
            seen = set()
            for o_index, option in enumerate(spec["options"]):
                if option["value"] in seen:
                    self.problem(path + ("options", o_index, "value"), f"duplicate option value {option['value']!r}")
                seen.add(option["value"])
                options.append(Option(option["value"], self.text(option["label"], path + ("options", o_index, "label"))))
        if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
            self.problem(path + ("max",), f"max ({spec['max']}) is less than min ({spec['min']})")
        show_if = None
        if "show_if" in spec:
            show_if = self.expression(spec["show_if"], path + ("show_if",), earlier, all_ids, "show_if")
        self.pipes(spec, path, earlier, all_ids)
        if spec.get("segment") and qtype not in SEGMENT_TYPES:
            why = {"text": "free-text answers are not groups",
                   "matrix": "a matrix is several items; its rows are analysed as items"}.get(
                qtype, "a respondent may choose several options, so the groups would overlap")
            self.problem(path + ("segment",), f"a {qtype} question cannot be a segment ({why}); "
                                              f"declare segment: true on a {', '.join(SEGMENT_TYPES)} question")
        return Question(
            id=spec["id"], type=qtype, text=self.text(spec["text"], path + ("text",)), page_id=page_id,
            required=spec.get("required", True), help=self.optional_text(spec.get("help"), path + ("help",)),
            show_if=show_if, scale=scale, construct=spec.get("construct"), reverse=spec.get("reverse", False),
            options=tuple(options), max_selected=spec.get("max_selected"), max_length=spec.get("max_length", 2000),
            multiline=spec.get("multiline", False), minimum=spec.get("min"), maximum=spec.get("max"),
            integer=spec.get("integer", False), segment=bool(spec.get("segment", False)),
            randomize=bool(spec.get("randomize", False)),
        )

    def group(self, spec: dict, path: tuple, page_id: str, scales: dict, earlier: set, all_ids: set) -> list[Question]:
        """The rows of a matrix as ordinary questions of the entry's ``row_type``: each row's
        own id, text, help, construct and reverse; the matrix's scale, required and show_if."""
        shared = {key: value for key, value in spec.items() if key not in ("rows", "text", "help", "id", "type")}
        head = self.question({**shared, "id": spec["id"], "type": spec["type"], "text": spec["text"],
                              **({"help": spec["help"]} if "help" in spec else {})},
                             path, page_id, scales, earlier, all_ids)
        if "scale" in shared and head.scale is None:
            return []  # the unknown scale is reported once, at the matrix
        row_type = ANSWER_TYPES[spec["type"]].row_type
        for key in ("segment", "show_if", "randomize"):  # refused, parsed or applying once, at the matrix
            shared.pop(key, None)
        group = Group(spec["id"], spec["type"], head.text, head.help, head.scale, tuple(row["id"] for row in spec["rows"]),
                      head.randomize)
        rows = []
        for r_index, row in enumerate(spec["rows"]):
            # The row's own fields report problems at the row's line.
            question = self.question({**shared, **row, "type": row_type}, path + ("rows", r_index),
                                     page_id, scales, earlier, all_ids)
            rows.append(replace(question, show_if=head.show_if, group=group))
        return rows

    def model(self, spec: dict | None, pages: list[Page]) -> ModelSpec | None:
        if spec is None:
            return None
        path = ("model",)
        if ("template" in spec) == ("text" in spec):
            self.problem(path, "give exactly one of 'template' (acsi, ecsi, ecsi_hoc, ccsi, scsb) or 'text' (a custom model)")
            return None
        names = {name: self.text(text, path + ("names", name)) for name, text in (spec.get("names") or {}).items()}
        result = ModelSpec(spec.get("template"), spec.get("text"), tuple(spec.get("formative", ())),
                           spec.get("min_items", DEFAULT_MIN_ITEMS), tuple(spec.get("single_item", ())), names)
        ratings = {q.id: q for page in pages for q in page.questions if ANSWER_TYPES[q.type].model_item}
        items: dict[str, list[str]] = {}
        for q in ratings.values():
            if q.construct:
                items.setdefault(q.construct, []).append(q.id)
        if result.text:
            try:
                model = parse_model(result.text, source="model.text")
            except CSIError as exc:
                self.problem(path + ("text",), str(exc))
                return result
            hocs = model.higher_order  # measured by constructs, not by questions
            for construct in model.constructs:
                for item in construct.items:
                    if item not in ratings and construct.name not in hocs:
                        self.problem(path + ("text",), f"model item {item!r} of {construct.name!r} is not a rating question")
            needed = {c.name: len(c.items) for c in model.constructs if c.name not in hocs}
            in_model = set(model.construct_names)
        else:
            template = get_template(result.template)
            hocs = dict(template.higher_order)
            for name in hocs:
                if name in items:
                    self.problem(path + ("template",), f"the {template.title} model measures {name!r} by "
                                 f"{' and '.join(hocs[name])}: tag its questions with those constructs instead")
            for name in template.constructs:
                if name not in items and name not in template.optional and name not in hocs:
                    self.problem(path + ("template",), f"the {template.title} model needs construct {name!r}, but no rating question is tagged with it")
            needed = {name: len(items.get(name, ())) for name in template.constructs if name in items and name not in hocs}
            in_model = set(needed) | set(hocs)
        for name in result.formative:
            if name not in in_model:
                self.problem(path + ("formative",), f"formative construct {name!r} is not in the model")
        for name in result.names:
            if name not in in_model:
                self.problem(path + ("names", name), f"construct {name!r} is not in the model; "
                                                    f"its constructs: {', '.join(sorted(in_model))}")
        for name, count in needed.items():
            if count < result.min_items and name not in result.single_item:
                self.problem(path, f"construct {name!r} has {count} item{'s' if count != 1 else ''}; the model needs at least "
                                   f"{result.min_items} (or list it under model.single_item)")
        return result
