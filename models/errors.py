"""Error types shared by the loaders and parsers of the domain model.

Every user-facing problem carries where it happened (file, line, field path) so the
command line can print ``FILE:LINE: path: message`` and never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a user's file.

    ``line`` is 1-based (0 when unknown); ``path`` is the field path in the
    questionnaire, e.g. ``pages[2].questions[4].scale``.
    """

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        return f"{location}: {self.path}: {self.message}" if self.path else f"{location}: {self.message}"


class CSIError(Exception):
    """Base class of every error the toolkit raises for bad user input."""


class QuestionnaireError(CSIError):
    """A questionnaire file is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(CSIError):
    """A ``show_if`` or follow-up expression cannot be parsed or evaluated.

    ``position`` is the 0-based character offset of the offending token.
    """

    def __init__(self, message: str, position: int | None = None):
        self.position = position
        where = f" (at character {position + 1})" if position is not None else ""
        super().__init__(message + where)


class ModelSyntaxError(CSIError):
    """A model text has a syntax or consistency error, at ``line`` (1-based)."""

    def __init__(self, message: str, line: int = 0, token: str | None = None, source: str = "<model>"):
        self.line = line
        self.token = token
        self.source = source
        self.bare_message = message
        location = f"{source}:{line}: " if line else f"{source}: "
        super().__init__(location + message)


class ModelSpecError(CSIError):
    """A model is syntactically fine but does not fit the data or questionnaire."""
