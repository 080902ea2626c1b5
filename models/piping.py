"""Piping: an earlier answer or a hidden value inside a question's text, help or option labels.

``{q_id}`` is replaced by the respondent's answer to question ``q_id`` as they saw it
(an option's label in their language, not its code; a rating as its number; a number
without a trailing ``.0``; several chosen options joined), ``{hidden.store}`` by a hidden
field's value. ``{q_id|fallback}`` gives the text shown when there is no answer (default:
nothing). The filled text is plain text: whoever renders it escapes it, so an attacker's
``<script>`` in a hidden value or a text answer shows as text.

The loader (``models.questionnaire``) refuses a reference to an unknown id, or to a
question on the same or a later page (its answer does not exist yet when the text shows).
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

# {name} or {name|fallback}; the fallback may not contain braces.
PIPE = re.compile(r"\{((?:hidden\.)?[A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")
_JOINERS = {"zh": "、", "ja": "、"}


def references(text: str) -> Iterator[str]:
    """The names ``text`` pipes in, in order."""
    for match in PIPE.finditer(text):
        yield match.group(1)


def has_pipes(text: str | None) -> bool:
    return bool(text) and PIPE.search(text) is not None


def answer_text(question, value: Any, language: str) -> str:
    """How the respondent saw their answer ``value`` to ``question``, in ``language``."""
    if value is None or value == "" or value == []:
        return ""
    if question.type == "rating":
        scale = question.scale
        if scale is not None and scale.dont_know_code is not None and value == scale.dont_know_code:
            return scale.dont_know_label.get(language) if scale.dont_know_label else ""
        return _number(value)
    if question.type in ("single_choice", "multiple_choice"):
        labels = {str(o.value): o.label.get(language) for o in question.options}
        chosen = value if isinstance(value, (list, tuple)) else [value]
        joiner = _JOINERS.get(language.split("-")[0], ", ")
        return joiner.join(labels.get(str(v), str(v)) for v in chosen)
    if question.type == "number":
        return _number(value)
    return str(value)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fill(text: str, questionnaire, answers: Mapping[str, Any], language: str) -> str:
    """``text`` with each ``{name}`` replaced (``answers``: question id -> value, and
    ``hidden.<id>`` -> value as :func:`models.hidden.with_hidden` gives them)."""
    def replace(match: re.Match) -> str:
        name, fallback = match.group(1), match.group(2) or ""
        value = answers.get(name)
        if name.startswith("hidden."):
            shown = "" if value is None else str(value)
        else:
            try:
                shown = answer_text(questionnaire.question(name), value, language)
            except KeyError:  # the loader refuses unknown ids; a text is never broken by one
                shown = ""
        return shown if shown != "" else fallback
    return PIPE.sub(replace, text)
