"""How a cell of an imported file reads, for every question type alike: a label's matching
key, a number written as text, a code's text, and the cell as a message quotes it.

Used by the entries of :mod:`models.answers` (each type's :meth:`~models.answers.AnswerType.read_cell`)
and by :mod:`models.importing`. Free of numpy so that :mod:`models.answers` stays light:
numpy's scalar types register with :mod:`numbers`, so the checks below take them too.
"""
from __future__ import annotations

import math
import numbers
import re
from typing import Any

MISSING = object()  # an answer that becomes "unanswered" (a don't-know code or label, an empty cell)
_SPACE = re.compile(r"\s+")


def label_key(text: str) -> str:
    """The text by which a label is matched: spaces collapsed, case folded ("Very  satisfied"
    matches "very satisfied")."""
    return _SPACE.sub(" ", text.strip()).casefold()


def unquote(text: str) -> str:
    """Undo the export's CSV-injection guard: "'=x" was written for "=x"."""
    from .exports import FORMULA_TRIGGERS  # exports imports answers, which imports this module
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text


def _is_float(value: Any) -> bool:
    """A float of any width (Python's, numpy's), not an integer."""
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)


def cell_number(value: Any) -> float | None:
    """A cell as a finite number (a decimal comma read as a point), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ".") if value.count(",") == 1 and "." not in value else value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def number_text(value: float) -> str:
    """1.0 as "1", 1.5 as "1.5"."""
    return str(int(value)) if float(value).is_integer() else str(value)


def code_text(value: Any) -> str:
    """A cell as the text of a code: a spreadsheet's 2.0 is option "2"."""
    return number_text(value) if _is_float(value) else str(value)


def shown(value: Any) -> str:
    """A cell as a message quotes it (at most 60 characters)."""
    text = code_text(value)
    return repr(text[:60] + ("..." if len(text) > 60 else ""))
