"""Hostile input, generated: random and mutated inputs to the questionnaire loader, the
show_if language and the model parser fail only with the toolkit's own error types,
and quickly (each example is time-bounded by hypothesis' deadline)."""
import json
import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import questionnaires
from models import parse_expression, parse_model, parse_questionnaire
from models.errors import CSIError, ExpressionError, ModelSyntaxError, QuestionnaireError

FAST = settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.too_slow])
SHIPPED_TEXT = questionnaires.path("acsi_retail").read_text(encoding="utf-8")

TOKENS = ["sat", "q1", "channel", "and", "or", "not", "in", "(", ")", "[", "]", ",", "==", "!=", "<", "<=", ">",
          ">=", "'yes'", '"no"', "1", "-2", "3.5", "true", "false", "null", "__class__", ".", "=", "*", "lambda",
          "9" * 30, "'", "\\", "\x00", "中文", " "]


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.dictionaries(
    st.sampled_from(["sat", "q1", "channel"]),
    st.one_of(st.none(), st.integers(-10, 10), st.floats(allow_nan=True), st.text(max_size=5),
              st.lists(st.text(max_size=3), max_size=3))))
def test_expressions_parse_or_fail_cleanly_and_never_raise_when_evaluated(tokens, answers):
    source = " ".join(tokens)
    try:
        expression = parse_expression(source)
    except ExpressionError:
        return
    assert isinstance(expression.evaluate(answers), bool)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_as_expression(source):
    try:
        parse_expression(source)
    except ExpressionError:
        pass


MODEL_TOKENS = ["A", "B", "C", "x1", "x2", "y1", "=~", "<~", "~", "~~", "+", "\n", ";", "#", "0.5*x1", "中", " ", "=", "~~~"]


@FAST
@given(st.lists(st.sampled_from(MODEL_TOKENS), max_size=60))
def test_model_text_parses_or_fails_with_a_line(tokens):
    text = " ".join(tokens)
    try:
        model = parse_model(text, source="fuzz")
    except ModelSyntaxError as exc:
        assert str(exc).startswith("fuzz:")
        return
    assert parse_model(model.to_text()) == model


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


DOCUMENT = yaml.safe_load(SHIPPED_TEXT)
ALL_PATHS = [p for p in _paths(DOCUMENT) if p]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                 st.text(max_size=20), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


# Each example parses the whole shipped questionnaire (about 70 ms of CPU): hypothesis'
# default 100 examples here (each run draws new ones).
QUESTIONNAIRE = settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


@QUESTIONNAIRE
@given(st.lists(st.tuples(st.sampled_from(ALL_PATHS), JUNK), min_size=1, max_size=4))
def test_structurally_mutated_questionnaires_fail_with_problems(mutations):
    document = json.loads(json.dumps(DOCUMENT, default=str))
    for path, junk in mutations:
        target = document
        try:
            for key in path[:-1]:
                target = target[key if isinstance(target, list) else str(key)]
            last = path[-1]
            target[last if isinstance(target, list) else str(last)] = junk
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(document, ensure_ascii=False)
    try:
        parse_questionnaire(text, "mutated.json")
    except QuestionnaireError as exc:
        assert exc.problems and all(p.file == "mutated.json" for p in exc.problems)


@QUESTIONNAIRE
@given(st.lists(st.tuples(st.integers(0, len(SHIPPED_TEXT) - 1), st.integers(0, 20),
                          st.text(alphabet=":-[]{}&*!|>'\"#%@`\n \t?,aZ9中", max_size=6)), min_size=1, max_size=5))
def test_byte_mutated_yaml_fails_with_problems(edits):
    text = SHIPPED_TEXT
    for position, length, insert in edits:
        position = min(position, len(text))
        text = text[:position] + insert + text[position + length:]
    started = time.perf_counter()
    try:
        parse_questionnaire(text, "mutated.yaml")
    except QuestionnaireError as exc:
        assert exc.problems
    except CSIError as exc:  # pragma: no cover - would be a wrong error type
        raise AssertionError(f"unexpected error type {type(exc).__name__}: {exc}")
    assert time.perf_counter() - started < 2
