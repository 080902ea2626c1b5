import pytest

from models.errors import ExpressionError
from models.expressions import MAX_DEPTH, parse_expression


@pytest.mark.parametrize("source, answers, expected", [
    ("sat <= 4", {"sat": 3}, True),
    ("sat <= 4", {"sat": 5}, False),
    ("sat <= 4", {}, False),                                  # unanswered: comparison is false
    ("complained == 'yes' and handling < 5", {"complained": "yes", "handling": 2}, True),
    ("complained == 'yes' and handling < 5", {"complained": "no", "handling": 2}, False),
    ("a == 1 or b == 2", {"a": 0, "b": 2}, True),
    ("not (a == 1)", {"a": 2}, True),
    ("channel in ['store', 'both']", {"channel": "both"}, True),
    ("channel not in ['store', 'both']", {"channel": "online"}, True),
    ("'tv' in categories", {"categories": ["tv", "home"]}, True),
    ("'tv' in categories", {"categories": ["home"]}, False),
    ("'tv' in categories", {}, False),
    ("x != null", {"x": 0}, True),
    ("x == null", {}, True),
    ("visits >= 2.5", {"visits": 3}, True),
    ("sat < 'abc'", {"sat": 3}, False),                       # mixed types never raise
    ("flag", {"flag": True}, True),
    ("-3 < x", {"x": -1}, True),
])
def test_evaluates(source, answers, expected):
    assert parse_expression(source).evaluate(answers) is expected


def test_names_in_order_without_duplicates():
    assert parse_expression("b > 1 and a < 2 or b == 3").names == ("b", "a")


@pytest.mark.parametrize("source, message", [
    ("sat <=", "expected a value, a question id or '(' but found 'end of expression' (at character 7)"),
    ("sat = 4", "unexpected character '=' (at character 5)"),
    ("(sat > 1", "expected ')' but found 'end of expression' (at character 9)"),
    ("sat > 1 sat", "unexpected 'sat' (at character 9)"),
    ("__import__('os')", "function calls are not allowed ('__import__') (at character 1)"),
    ("x.__class__", "unexpected character '.' (at character 2)"),
    ("a[0]", "unexpected '[' (at character 2)"),
    ("x in [y]", "expected a number or a quoted string in a list, found 'y' (at character 7)"),
    ("", "expression is empty"),
    ("1" * 30, "is too long"),
    ("x < 99999999999999999", "is out of range"),
    ("lambda: 1", "unexpected character ':' (at character 7)"),
])
def test_rejects_with_position(source, message):
    with pytest.raises(ExpressionError) as info:
        parse_expression(source)
    assert message in str(info.value)


@pytest.mark.parametrize("source", [
    "(" * 10_000 + "x" + ")" * 10_000,
    "not " * 10_000 + "x",
    "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
])
def test_deep_nesting_fails_fast(source):
    with pytest.raises(ExpressionError, match="nested deeper|longer than"):
        parse_expression(source)


def test_long_flat_chains_are_fine_within_length_limit():
    source = " or ".join(f"q{i} == {i}" for i in range(100))
    assert parse_expression(source).evaluate({"q57": 57})


def test_non_text_is_rejected():
    with pytest.raises(ExpressionError, match="must be text"):
        parse_expression(42)
