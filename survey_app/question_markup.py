"""The markup of a question on a survey page, built once per questionnaire version and
language and cached.

A page view's largest cost was turning the same question texts, help, scale points and
options into escaped HTML again for every respondent. All of it depends only on the
questionnaire version (its content hash), the question, the language and the error shown;
per respondent only the answer changes: which options are ``checked``, or the text in a box.
So each question is cached as pieces with gaps for exactly those.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from models.questionnaire import Question, Questionnaire

from .i18n import translate

CHOICE_TYPES = ("rating", "single_choice", "multiple_choice")


def question_html(questionnaire: Questionnaire, question: Question, language: str, data: Any,
                  error: str | None) -> Markup:
    """``<div class="question">`` for ``question`` showing ``data`` (a string, a list of
    strings for multiple choice, or None) and ``error`` (a message, or None)."""
    key = (questionnaire.content_hash, question.id, language, error)
    pieces = _CACHE.get(key)
    if pieces is None:
        if len(_CACHE) > 4096:  # bounded: a server fields a handful of questionnaire versions
            _CACHE.clear()
        pieces = _CACHE[key] = _pieces(question, language, error)
    head, options, tail = pieces
    if question.type in CHOICE_TYPES:
        picked = _picked(data)
        middle = "".join(start + (" checked" if value in picked else "") + end for value, start, end in options)
    else:
        middle = str(escape("" if data is None else data))
    return Markup(head + middle + tail)


# (content hash, question id, language, error) -> (head, options, tail); the content hash pins
# the exact questionnaire version. Dict reads and writes are atomic: safe across threads.
_CACHE: dict[tuple[str, str, str, str | None], tuple[str, tuple[tuple[str, str, str], ...], str]] = {}


def _picked(data: Any) -> set[str]:
    if data is None:
        return set()
    if isinstance(data, (list, tuple, set)):
        return {str(v) for v in data}
    return {str(data)}


def _pieces(question: Question, language: str, error: str | None) -> tuple[str, tuple, str]:
    qid = escape(question.id)
    invalid = "true" if error else "false"
    marker = f'<span class="marker">{escape(translate(language, "required" if question.required else "optional"))}</span>'
    described = " ".join(([f"{qid}-help"] if question.help else []) + ([f"{qid}-error"] if error else []))
    notes = ""
    if question.help:
        notes += f'\n  <p class="help" id="{qid}-help">{escape(question.help.get(language))}</p>'
    if error:
        notes += f'\n  <p class="error" id="{qid}-error">{escape(error)}</p>'
    head = f'\n  <div class="question{" has-error" if error else ""}" id="q-{qid}">'
    text = escape(question.text.get(language))
    if question.type in CHOICE_TYPES:
        head += f'\n    <fieldset aria-describedby="{described}">\n      <legend>{text} {marker}</legend>{notes}'
        if question.type == "rating":
            scale = question.scale
            labelled = len(scale.labels) == len(scale.points)
            wide = " wide" if len(scale.points) > 10 else ""
            head += f'\n        <div class="scale {"labelled" if labelled else "row"}{wide}">'
            points = _options(question, language, invalid, "points")
            tail = "\n        </div>"
            low, high = scale.labels.get(scale.minimum), scale.labels.get(scale.maximum)
            if not labelled and (low or high):
                tail += (f'\n        <div class="ends" aria-hidden="true">\n          <span>{scale.minimum} = '
                         f'{escape(low.get(language)) if low else ""}</span>\n          <span>{scale.maximum} = '
                         f'{escape(high.get(language)) if high else ""}</span>\n        </div>')
            # The don't-know option sits after the scale: its pieces go into the tail's place in
            # the option list, so one join fills in ``checked`` for both.
            dont_know = _options(question, language, invalid, "dont_know")
            if dont_know:
                first, *rest = dont_know
                value, start, end = first
                dont_know = ((value, tail + start, end), *rest)
                tail = ""
            options = points + dont_know
            tail += "\n    </fieldset>\n  </div>"
        else:
            head += '\n        <div class="choices">'
            options = _options(question, language, invalid, "choices")
            tail = "\n        </div>\n    </fieldset>\n  </div>"
        return head, options, tail
    head += f'\n    <label class="text-label" for="{qid}">{text} {marker}</label>{notes}'
    aria = f'aria-invalid="{invalid}" aria-describedby="{described}"'
    if question.type == "text" and question.multiline:
        head += f'\n    <textarea id="{qid}" name="{qid}" rows="5" maxlength="{question.max_length}" {aria}>'
        tail = "</textarea>\n  </div>"
    elif question.type == "text":
        head += f'\n    <input type="text" id="{qid}" name="{qid}" maxlength="{question.max_length}" value="'
        tail = f'" {aria}>\n  </div>'
    else:
        mode = "numeric" if question.integer else "decimal"
        head += f'\n    <input type="text" inputmode="{mode}" id="{qid}" name="{qid}" value="'
        tail = f'" class="number" {aria} autocomplete="off">\n  </div>'
    return head, (), tail


def _options(question: Question, language: str, invalid: str, part: str) -> tuple[tuple[str, str, str], ...]:
    """Each option as (value, markup before ``checked``, markup after). ``part``: "points"
    (a rating's scale points), "dont_know" (its don't-know option) or "choices"."""
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
