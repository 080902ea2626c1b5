"""Hostile questionnaire files: every recursion and every number the loader and the
expression parser meet is bounded, so each file below is a QuestionnaireError naming
FILE:LINE: path: message, never a RecursionError, ValueError or UnicodeEncodeError.
``HOSTILE`` is shared with the admin-upload test (tests/survey_app/test_hostile.py)."""
import pytest

from models.errors import QuestionnaireError
from models.expressions import MAX_DEPTH, parse_expression
from models.questionnaire import parse_questionnaire

from .test_questionnaire import BASE


def _number_question(bound: str) -> str:
    return (BASE.replace("        required: false\n", f"        required: false\n        min: {bound}\n", 1)
            .replace("type: text", "type: number", 1))


# name -> (file text, the start of the one expected problem line)
HOSTILE = {
    "yaml nested 500 deep (1 KB)": ("a: " + "[" * 500 + "]" * 500 + "\n", "q.yaml:1: nested more than 64 levels deep"),
    "flow mapping nested 500 deep": ("a: " + "{a: " * 500 + "1" + "}" * 500 + "\n", "q.yaml:1: nested more than 64 levels deep"),
    "block mapping nested 100 deep": ("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "x\n",
                                      "q.yaml:64: nested more than 64 levels deep"),
    "integer over 4,300 digits": (BASE.replace("version: 1", "version: " + "9" * 5000, 1),
                                  "q.yaml:2: version: number 999999999999... has more than 40 characters"),
    "huge hexadecimal integer": (BASE.replace("code: 99", "code: 0x" + "f" * 30, 1),
                                 "q.yaml:10: scales.ten.dont_know.code: number 0x" + "f" * 30 + " is out of range"),
    ".nan scale bound": (BASE.replace("min: 1", "min: .nan", 1),
                         "q.yaml:8: scales.ten.min: .nan is not a finite number (.nan and .inf are not allowed)"),
    ".inf scale bound": (BASE.replace("max: 10", "max: .inf", 1),
                         "q.yaml:9: scales.ten.max: .inf is not a finite number"),
    "-.inf number bound": (_number_question("-.inf"), "q.yaml:35: pages[1].questions[1].min: -.inf is not a finite number"),
    ".NaN number bound": (_number_question(".NaN"), "q.yaml:35: pages[1].questions[1].min: .NaN is not a finite number"),
    "impossible date": (BASE.replace("version: 1", "version: 2026-02-30", 1),
                        "q.yaml:2: version: bad value: day is out of range for month"),
    "NUL in a text": (BASE.replace("title: {en: Mini", 'title: {en: "Mi\\0ni"', 1),
                      "q.yaml:5: title.en: text contains a NUL character"),
    "lone surrogate in a text": (BASE.replace("title: {en: Mini", 'title: {en: "Mi\\ud800ni"', 1),
                                 "q.yaml:5: title.en: text contains an unpaired surrogate (\\ud800)"),
    "show_if nested 400 deep": (BASE.replace('show_if: "sat1 <= 4"', 'show_if: "' + "(" * 400 + "1" + ")" * 400 + '"', 1),
                                f"q.yaml:35: pages[1].questions[1].show_if: show_if: expression nested deeper than {MAX_DEPTH} levels"),
    "400 chained not": (BASE.replace('show_if: "sat1 <= 4"', 'show_if: "' + "not " * 400 + '1"', 1),
                        f"q.yaml:35: pages[1].questions[1].show_if: show_if: expression nested deeper than {MAX_DEPTH} levels"),
    "scale label key over 15 digits": (BASE.replace("    max: 10\n", "    max: 10\n    labels:\n      '" + "9" * 999 + "': x\n", 1),
                                       "q.yaml:10: scales.ten.labels: '999"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_one_clear_problem(name):
    text, expected = HOSTILE[name]
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, "q.yaml")
    problems = [str(p) for p in info.value.problems]
    assert any(p.startswith(expected) for p in problems), problems


def test_alias_cycle_is_cut_at_the_depth_limit():
    with pytest.raises(QuestionnaireError, match="nested more than 64 levels deep"):
        parse_questionnaire("a: &x [*x]\n", "q.yaml")


def test_499_chained_or_parses_and_evaluates():
    # Was a RecursionError: each "or" nested the tree one level deeper. Now one flat node.
    source = "1or " * 499 + "1"
    assert len(source) < 2000
    expression = parse_expression(source)
    assert expression.evaluate({}) is True
    assert expression.tree[0] == "or" and len(expression.tree) == 501
    chained = parse_expression(" or ".join(f"q == {i}" for i in range(150)))
    assert chained.evaluate({"q": 149}) and chained.evaluate({"q": 0}) and not chained.evaluate({"q": 150})


def test_499_chained_or_in_a_questionnaire_loads():
    text = BASE.replace('show_if: "sat1 <= 4"', 'show_if: "' + " or ".join(["sat1 == 1"] * 150) + '"', 1)
    question = parse_questionnaire(text, "q.yaml").question("why")
    assert question.show_if.evaluate({"sat1": 1}) and not question.show_if.evaluate({"sat1": 2})


@pytest.mark.parametrize("source, answers, expected", [
    ("a == 1 and b == 2 and c == 3", {"a": 1, "b": 2, "c": 3}, True),
    ("a == 1 and b == 2 and c == 3", {"a": 1, "b": 2, "c": 4}, False),
    ("a == 1 or b == 2 and c == 3", {"a": 0, "b": 2, "c": 3}, True),
    ("a == 1 or b == 2 and c == 3", {"a": 0, "b": 2, "c": 4}, False),
    ("not a == 1 or b == 2", {"a": 1, "b": 0}, False),
    ("(a == 1 or b == 2) and c == 3", {"a": 1, "b": 0, "c": 4}, False),
])
def test_flat_and_or_keep_precedence(source, answers, expected):
    assert parse_expression(source).evaluate(answers) is expected
