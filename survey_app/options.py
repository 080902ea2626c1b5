"""The markup of a question's answer options, escaped once and cached.

A rating page has about a hundred options, and escaping their labels on every render
was the largest part of a page view's CPU. The options depend only on the questionnaire
version, the question, the language and whether the field shows an error; only
``checked`` changes per respondent, so each option is cached as (value, head, tail)
and ``checked`` is put between them.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from models.questionnaire import Question, Questionnaire


def options_html(questionnaire: Questionnaire, question: Question, language: str, invalid: str, picked: set[str],
                 part: str) -> Markup:
    """``part``: "points" (a rating's scale points), "dont_know" (its don't-know option) or "choices"."""
    key = (questionnaire.content_hash, question.id, language, invalid, part)
    pieces = _CACHE.get(key)
    if pieces is None:
        if len(_CACHE) > 4096:  # bounded: a server fields a handful of questionnaire versions
            _CACHE.clear()
        pieces = _CACHE[key] = _pieces(question, language, invalid, part)
    return Markup("".join(head + (" checked" if value in picked else "") + tail for value, head, tail in pieces))


# (questionnaire content hash, question id, language, aria-invalid, part) -> option pieces.
# The content hash pins the exact questionnaire version; a dict lookup is thread-safe.
_CACHE: dict[tuple[str, str, str, str, str], tuple[tuple[str, str, str], ...]] = {}


def _pieces(question: Question, language: str, invalid: str, part: str) -> tuple[tuple[str, str, str], ...]:
    name = escape(question.id)
    out = []
    if question.type == "rating":
        scale = question.scale
        dont_know = str(scale.dont_know_code) if scale.dont_know_code is not None else None
        labelled = len(scale.labels) == len(scale.points)
        choices = [(str(p), scale.labels[p].get(language) if p in scale.labels else "") for p in scale.points]
        if dont_know is not None:
            choices.append((dont_know, scale.dont_know_label.get(language)))
        for index, (value, label) in enumerate(choices):
            option_id = f"{name}-{index}"
            if part == "points" and value != dont_know:
                face = f'<span class="num">{escape(value)}</span> {escape(label)}' if labelled else escape(value)
                required = " required" if question.required else ""
                out.append((value,
                            f'\n            <label class="point" for="{option_id}">\n              <input type="radio" '
                            f'id="{option_id}" name="{name}" value="{escape(value)}"',
                            f'{required} aria-invalid="{invalid}">\n              <span class="face">{face}</span>\n'
                            f'            </label>\n'))
            elif part == "dont_know" and value == dont_know:
                out.append((value,
                            f'\n          <label class="dont-know" for="{option_id}">\n            <input type="radio" '
                            f'id="{option_id}" name="{name}" value="{escape(value)}"',
                            f'>\n            <span>{escape(label)}</span>\n          </label>\n'))
    elif part == "choices":
        kind = "checkbox" if question.type == "multiple_choice" else "radio"
        for index, option in enumerate(question.options):
            option_id = f"{name}-{index}"
            value = str(option.value)
            out.append((value,
                        f'\n          <label class="choice" for="{option_id}">\n            <input type="{kind}" '
                        f'id="{option_id}" name="{name}" value="{escape(value)}"',
                        f' aria-invalid="{invalid}">\n            <span>{escape(option.label.get(language))}</span>\n'
                        f'          </label>\n'))
    return tuple(out)
