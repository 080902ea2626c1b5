"""A small, safe expression language for ``show_if`` and follow-up rules.

Grammar (keywords are lower case)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                          | "in" operand | "not" "in" operand ]
    operand    := NUMBER | STRING | NAME | "true" | "false" | "null"
                | "[" [literal ("," literal)*] "]" | "(" expr ")"

A NAME is an earlier question's id and evaluates to its answer (``None`` when
unanswered), or ``hidden.<id>``, a declared hidden field's value (text; ``None`` when the
link carried none; see ``models.hidden``). Nothing is ever handed to Python's ``eval``: the text is tokenized and
parsed here into a tree of tuples and interpreted, so the only operations that can run
are the ones listed above. Length, nesting depth and number size are bounded so
hostile text fails fast with an :class:`ExpressionError`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import ExpressionError

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 24
MAX_ABS_NUMBER = 1e15
MAX_LIST_ITEMS = 500

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>hidden\.[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position)
        kind = match.lastgroup
        text = match.group()
        if kind == "number" and len(text) > MAX_NUMBER_CHARS:
            raise ExpressionError(f"number {text[:12]}... is too long", position)
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "ws":
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, source: str):
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        if self.current.text != text or self.current.kind in ("string",):
            found = self.current.text or "end of expression"
            raise ExpressionError(f"expected {text!r} but found {found!r}", self.current.position)
        self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels", self.current.position)

    def parse(self):
        tree = self.or_expr()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {self.current.text!r}", self.current.position)
        return tree

    # "a or b or c" is one flat ("or", a, b, c) node, not a chain nested once per operator:
    # the tree's depth (and so every recursion over it) then grows only with parentheses
    # and "not", which MAX_DEPTH bounds, however many operators the text chains.
    def or_expr(self):
        terms = [self.and_expr()]
        while self.current.kind == "keyword" and self.current.text == "or":
            self.advance()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else ("or", *terms)

    def and_expr(self):
        terms = [self.not_expr()]
        while self.current.kind == "keyword" and self.current.text == "and":
            self.advance()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else ("and", *terms)

    def not_expr(self):
        if self.current.kind == "keyword" and self.current.text == "not":
            self.advance()
            self.enter()
            node = ("not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self):
        left = self.operand()
        token = self.current
        if token.kind == "op" and token.text in _COMPARISONS:
            self.advance()
            return ("cmp", token.text, left, self.operand())
        if token.kind == "keyword" and token.text == "in":
            self.advance()
            return ("in", left, self.operand())
        if token.kind == "keyword" and token.text == "not" and self.tokens[self.index + 1].text == "in":
            self.advance()
            self.advance()
            return ("not", ("in", left, self.operand()))
        return left

    def literal(self):
        token = self.advance()
        if token.kind == "number":
            return _number(token)
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.text]
        raise ExpressionError(f"expected a number or a quoted string in a list, found {token.text or 'end of expression'!r}", token.position)

    def operand(self):
        token = self.current
        if token.kind == "punct" and token.text == "(":
            self.advance()
            self.enter()
            node = self.or_expr()
            self.depth -= 1
            self.expect(")")
            return node
        if token.kind == "punct" and token.text == "[":
            self.advance()
            items = []
            if not (self.current.kind == "punct" and self.current.text == "]"):
                items.append(self.literal())
                while self.current.kind == "punct" and self.current.text == ",":
                    self.advance()
                    items.append(self.literal())
                    if len(items) > MAX_LIST_ITEMS:
                        raise ExpressionError(f"list longer than {MAX_LIST_ITEMS} items", token.position)
            self.expect("]")
            return ("const", tuple(items))
        if token.kind == "name":
            self.advance()
            if self.current.kind == "punct" and self.current.text == "(":
                raise ExpressionError(f"function calls are not allowed ({token.text!r})", token.position)
            return ("name", token.text, token.position)
        if token.kind in ("number", "string") or (token.kind == "keyword" and token.text in ("true", "false", "null")):
            return ("const", self.literal())
        found = token.text or "end of expression"
        raise ExpressionError(f"expected a value, a question id or '(' but found {found!r}", token.position)


def _number(token: _Token) -> float | int:
    value = float(token.text) if "." in token.text else int(token.text)
    if abs(value) > MAX_ABS_NUMBER:
        raise ExpressionError(f"number {token.text} is out of range (|x| <= {MAX_ABS_NUMBER:g})", token.position)
    return value


def _names(tree) -> list[tuple[str, int]]:
    kind = tree[0]
    if kind == "name":
        return [(tree[1], tree[2])]
    if kind == "const":
        return []
    if kind == "cmp":
        return _names(tree[2]) + _names(tree[3])
    return [name for child in tree[1:] for name in _names(child)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    # Ordering is defined only between two numbers or two strings; anything else
    # (an unanswered question, a list) makes the comparison false, not an error.
    if not ((_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _evaluate(tree, answers: Mapping[str, Any]):
    kind = tree[0]
    if kind == "const":
        return tree[1]
    if kind == "name":
        value = answers.get(tree[1])
        return tuple(value) if isinstance(value, list) else value
    if kind == "and":
        return all(_truthy(_evaluate(term, answers)) for term in tree[1:])
    if kind == "or":
        return any(_truthy(_evaluate(term, answers)) for term in tree[1:])
    if kind == "not":
        return not _truthy(_evaluate(tree[1], answers))
    if kind == "cmp":
        return _compare(tree[1], _evaluate(tree[2], answers), _evaluate(tree[3], answers))
    if kind == "in":
        needle = _evaluate(tree[1], answers)
        haystack = _evaluate(tree[2], answers)
        if not isinstance(haystack, (tuple, str)) or needle is None:
            return False
        if isinstance(haystack, str):
            return isinstance(needle, str) and needle in haystack
        return needle in haystack
    raise ExpressionError(f"internal: unknown node {kind!r}")


def _truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (tuple, str)):
        return len(value) > 0
    return bool(value)


@dataclass(frozen=True)
class Expression:
    """A parsed expression. ``names`` are the question ids it reads, in order."""

    source: str
    tree: tuple = field(repr=False)
    names: tuple[str, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> bool:
        """True when the condition holds for ``answers`` (question id -> value)."""
        return _truthy(_evaluate(self.tree, answers))


def parse_expression(source: str) -> Expression:
    """Parse ``source``; raise :class:`ExpressionError` naming the position on failure."""
    if not isinstance(source, str):
        raise ExpressionError(f"expression must be text, not {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    if not source.strip():
        raise ExpressionError("expression is empty")
    try:
        tree = _Parser(source).parse()
        names = tuple(dict.fromkeys(name for name, _ in _names(tree)))
    except RecursionError:  # belt and braces: MAX_DEPTH normally stops first
        raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels") from None
    return Expression(source, tree, names)
