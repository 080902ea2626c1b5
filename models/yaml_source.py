"""Read YAML/JSON into plain Python values while remembering each value's line.

PyYAML's safe loader silently keeps the last of two equal keys and forgets where
things were; researchers need "which line", so this walks the composed node tree.

Hostile files fail with a problem, never an exception: nesting is cut at ``MAX_DEPTH``
while composing (PyYAML's composer recurses once per level and would hit Python's
recursion limit near 300), aliases may expand to at most ``MAX_NODES`` values, a number
has at most ``MAX_NUMBER_CHARS`` characters (Python refuses integers over 4,300 digits
with a ValueError) and must be finite with ``|x| <= MAX_ABS_NUMBER`` (``.nan`` and
``.inf`` cannot be stored as JSON on PostgreSQL), and text may hold neither NUL nor lone
surrogates (neither can be stored or encoded as UTF-8).
"""
from __future__ import annotations

import math
import re
from typing import Any

import yaml

from .errors import Problem

Path = tuple  # of str keys and int indices
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40
MAX_ABS_NUMBER = 1e15
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class _TooDeep(yaml.composer.ComposerError):
    pass


class _DepthLimitedLoader(yaml.SafeLoader):
    """SafeLoader whose composer stops at ``MAX_DEPTH`` levels instead of recursing on."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class SourceMap:
    """Line numbers (1-based) of every value, keyed by its path."""

    def __init__(self):
        self.lines: dict[Path, int] = {}

    def line(self, path: Path) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def load_with_lines(text: str, filename: str) -> tuple[Any, SourceMap, list[Problem]]:
    """Parse ``text``; return (value, source map, problems). Value is None on a syntax error."""
    smap = SourceMap()
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_DepthLimitedLoader)
    except _TooDeep as exc:
        return None, smap, [Problem(filename, exc.problem_mark.line + 1, "", exc.problem)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        message = f"{exc.problem or 'syntax error'}" + (f" ({exc.context})" if exc.context else "")
        return None, smap, [Problem(filename, line, "", f"YAML syntax error: {message}")]
    except yaml.YAMLError as exc:
        return None, smap, [Problem(filename, 0, "", f"YAML error: {exc}")]
    if node is None:
        return None, smap, [Problem(filename, 1, "", "the file is empty")]
    constructor = yaml.constructor.SafeConstructor()
    budget = [MAX_NODES]  # aliases can expand a small file exponentially

    def scalar(node, path: Path):
        """The node's value, or (problem recorded) None when it is a number or text we cannot keep."""
        line = node.start_mark.line + 1
        if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            problems.append(Problem(filename, line, format_path(path),
                                    f"number {node.value[:12]}... has more than {MAX_NUMBER_CHARS} characters"))
            return None
        try:
            value = constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # a bad date, base64, ...
            problems.append(Problem(filename, line, format_path(path), f"bad value: {exc}"))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(filename, line, format_path(path),
                                    f"{node.value} is not a finite number (.nan and .inf are not allowed)"))
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_ABS_NUMBER:
            problems.append(Problem(filename, line, format_path(path),
                                    f"number {node.value} is out of range (|x| <= {MAX_ABS_NUMBER:g})"))
            return None
        if isinstance(value, str) and (bad := _UNSTORABLE_TEXT.search(value)):
            what = "a NUL character" if bad.group() == "\x00" else "an unpaired surrogate (\\u%04x)" % ord(bad.group())
            problems.append(Problem(filename, line, format_path(path), f"text contains {what}"))
            return None
        return value

    def build(node, path: Path, depth: int = 0, line: int | None = None):
        budget[0] -= 1
        if budget[0] < 0:
            if budget[0] == -1:
                problems.append(Problem(filename, node.start_mark.line + 1, format_path(path),
                                        f"the document expands to more than {MAX_NODES} values"))
            return None
        if depth > MAX_DEPTH:  # aliases can nest what the composer saw shallow
            problems.append(Problem(filename, node.start_mark.line + 1, format_path(path),
                                    f"nested more than {MAX_DEPTH} levels deep"))
            return None
        # A mapping value is reported at its key's line (where a reader looks for it).
        smap.lines[path] = line or node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(filename, key_node.start_mark.line + 1, format_path(path), "a key must be a plain value"))
                    continue
                key = scalar(key_node, path)
                if key is None:
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    problems.append(Problem(filename, key_node.start_mark.line + 1, format_path(path + (key,)),
                                            f"duplicate key {key!r} (first on line {smap.lines[path + (key,)]})"))
                    continue
                out[key] = build(value_node, path + (key,), depth + 1, key_node.start_mark.line + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        return scalar(node, path)

    value = build(node, ())
    return value, smap, problems
