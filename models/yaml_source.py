"""Read YAML/JSON into plain Python values while remembering each value's line.

PyYAML's safe loader silently keeps the last of two equal keys and forgets where
things were; researchers need "which line", so this walks the composed node tree.
"""
from __future__ import annotations

from typing import Any

import yaml

from .errors import Problem

Path = tuple  # of str keys and int indices
MAX_NODES = 200_000


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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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

    def build(node, path: Path, depth: int = 0, line: int | None = None):
        budget[0] -= 1
        if budget[0] < 0:
            if budget[0] == -1:
                problems.append(Problem(filename, node.start_mark.line + 1, format_path(path),
                                        f"the document expands to more than {MAX_NODES} values"))
            return None
        if depth > 64:
            problems.append(Problem(filename, node.start_mark.line + 1, format_path(path), "nested too deeply"))
            return None
        # A mapping value is reported at its key's line (where a reader looks for it).
        smap.lines[path] = line or node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(filename, key_node.start_mark.line + 1, format_path(path), "a key must be a plain value"))
                    continue
                key = constructor.construct_object(key_node)
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    problems.append(Problem(filename, key_node.start_mark.line + 1, format_path(path + (key,)),
                                            f"duplicate key {key!r} (first on line {smap.lines[path + (key,)]})"))
                    continue
                out[key] = build(value_node, path + (key,), depth + 1, key_node.start_mark.line + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        try:
            return constructor.construct_object(node)
        except yaml.YAMLError as exc:
            problems.append(Problem(filename, node.start_mark.line + 1, format_path(path), f"bad value: {exc}"))
            return None

    value = build(node, ())
    return value, smap, problems
