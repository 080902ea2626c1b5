"""The markup of a question on a survey page, built once per questionnaire version and
language and cached.

A page view's largest cost was turning the same question texts, help, scale points and
options into escaped HTML again for every respondent. All of it depends only on the
questionnaire version (its content hash), the question, the language and the error shown;
per respondent only the answer changes: which options are ``checked``, or the text in a box.
So each question is cached as pieces with gaps for exactly those.

A question that pipes an earlier answer or a hidden value into its texts (``{q_id}``,
``{hidden.store}``, models.piping) differs per respondent, so it is never cached: its
pieces are built for each view from its texts filled in with that respondent's values,
and escaped as every text is.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from markupsafe import Markup, escape

from models.answers import answer_type
from models.piping import fill, has_pipes
from models.questionnaire import Group, Option, Question, Questionnaire, Text

from .i18n import translate

def questions_html(questionnaire: Questionnaire, questions: Sequence[Question], language: str,
                   data: Mapping[str, Any], errors: Mapping[str, str | None],
                   orders: Mapping[str, Sequence[str]] | None = None,
                   answers: Mapping[str, Any] | None = None) -> Markup:
    """The markup of a page's ``questions`` in order, the rows of one matrix (consecutive
    questions of one ``group``) drawn together as its grid. ``data`` and ``errors``: question
    id -> what :func:`question_html` takes; ``orders``: question id -> its options' values
    in the order shown (models/randomization.py); ``answers``: the respondent's, with
    ``hidden.<id>`` values, for piped texts."""
    orders = orders or {}
    out, index = [], 0
    while index < len(questions):
        group = questions[index].group
        end = index + 1
        if group is None:
            out.append(question_html(questionnaire, questions[index], language, data.get(questions[index].id),
                                     errors.get(questions[index].id), orders.get(questions[index].id), answers))
        else:
            while end < len(questions) and questions[end].group is group:
                end += 1
            out.append(group_html(questionnaire, group, questions[index:end], language, data, errors))
        index = end
    return Markup("".join(out))


def group_html(questionnaire: Questionnaire, group: Group, rows: Sequence[Question], language: str,
               data: Mapping[str, Any], errors: Mapping[str, str | None]) -> Markup:
    """One grid (``MARKUP[group.type]``) of ``rows``, each showing its answer and error."""
    # Cached with the rows in the file's order, whatever order this respondent sees them in
    # (randomize: true), so a shuffled grid costs one entry, not one per order.
    canonical = sorted(rows, key=lambda row: group.rows.index(row.id))
    shown_errors = tuple(errors.get(row.id) for row in canonical)
    key = (questionnaire.content_hash, f"{group.type}:{group.id}", language, (tuple(r.id for r in canonical), shown_errors))
    pieces = _CACHE.get(key)
    if pieces is None:
        if len(_CACHE) > 4096:
            _CACHE.clear()
        pieces = _CACHE[key] = MARKUP[group.type](
            _GroupFrame(group, canonical, language, dict(zip((r.id for r in canonical), shown_errors))))
    head, options, tail = pieces
    if [row.id for row in rows] != [row.id for row in canonical]:
        # A row's options are contiguous and carry its fieldset: move them as blocks.
        rank = {row.id: i for i, row in enumerate(rows)}
        options = sorted(options, key=lambda option: rank[option[0][0]])
    picked = {row.id: _picked(data.get(row.id)) for row in rows}
    # A grid's options are ((row id, value), before, after): each row's own answer is checked.
    middle = "".join(start + (" checked" if value in picked[row_id] else "") + end
                     for (row_id, value), start, end in options)
    return Markup(head + middle + tail)


def question_html(questionnaire: Questionnaire, question: Question, language: str, data: Any,
                  error: str | None, order: Sequence[str] | None = None,
                  answers: Mapping[str, Any] | None = None) -> Markup:
    """``<div class="question">`` for ``question`` showing ``data`` (a string, a list of
    strings for multiple choice, or None) and ``error`` (a message, or None); ``order``: the
    options' values in the order this respondent is shown them (None: the file's order);
    ``answers`` (the respondent's, with ``hidden.<id>`` values) fill in piped texts."""
    key = (questionnaire.content_hash, question.id, language, error)
    pieces = _CACHE.get(key)
    if pieces is None and _pipes(questionnaire, question):
        pieces = _pieces(_piped(questionnaire, question, language, answers or {}), language, error)
    elif pieces is None:
        if len(_CACHE) > 4096:  # bounded: a server fields a handful of questionnaire versions
            _CACHE.clear()
        pieces = _CACHE[key] = _pieces(question, language, error)
    head, options, tail = pieces
    if options and order:
        # The cached pieces are in the file's order; each option carries its own id and label.
        rank = {value: i for i, value in enumerate(order)}
        options = sorted(options, key=lambda option: rank.get(option[0], len(rank)))
    if options:
        picked = _picked(data)
        middle = "".join(start + (" checked" if value in picked else "") + end for value, start, end in options)
    else:
        middle = str(escape("" if data is None else data))
    return Markup(head + middle + tail)


# (content hash, question id, language, error) -> (head, options, tail); the content hash pins
# the exact questionnaire version. Dict reads and writes are atomic: safe across threads.
_CACHE: dict[tuple[str, str, str, Any], tuple[str, tuple[tuple[Any, str, str], ...], str]] = {}


def _pipes(questionnaire: Questionnaire, question: Question) -> bool:
    key = (questionnaire.content_hash, question.id)
    found = _PIPED.get(key)
    if found is None:
        texts = [question.text, question.help, *(o.label for o in question.options)]
        found = _PIPED[key] = any(has_pipes(v) for t in texts if t is not None for v in t.values.values())
    return found


# (content hash, question id) -> whether the question pipes; as small as the questionnaires served.
_PIPED: dict[tuple[str, str], bool] = {}


def _piped(questionnaire: Questionnaire, question: Question, language: str, answers: Mapping[str, Any]) -> Question:
    """``question`` with its texts in ``language`` filled in from ``answers`` (plain text:
    the markup escapes it)."""
    def text(value: Text | None) -> Text | None:
        if value is None:
            return None
        return Text({language: fill(value.get(language), questionnaire, answers, language)}, language)
    return dataclasses.replace(question, text=text(question.text), help=text(question.help),
                               options=tuple(Option(o.value, text(o.label)) for o in question.options))


def _picked(data: Any) -> set[str]:
    if data is None:
        return set()
    if isinstance(data, (list, tuple, set)):
        return {str(v) for v in data}
    return {str(data)}


def _pieces(question: Question, language: str, error: str | None) -> tuple[str, tuple, str]:
    return MARKUP[question.type](_Frame(question, language, error))


class _Frame:
    """What every question's markup shares: its id, the required/optional marker, the help
    and error notes and the ``aria-describedby`` that points at them."""

    def __init__(self, question: Question, language: str, error: str | None):
        self.question, self.language = question, language
        qid = self.qid = escape(question.id)
        self.invalid = "true" if error else "false"
        self.marker = (f'<span class="marker">'
                       f'{escape(translate(language, "required" if question.required else "optional"))}</span>')
        self.described = " ".join(([f"{qid}-help"] if question.help else []) + ([f"{qid}-error"] if error else []))
        self.notes = ""
        if question.help:
            self.notes += f'\n  <p class="help" id="{qid}-help">{escape(question.help.get(language))}</p>'
        if error:
            self.notes += f'\n  <p class="error" id="{qid}-error">{escape(error)}</p>'
        self.head = f'\n  <div class="question{" has-error" if error else ""}" id="q-{qid}">'
        self.text = escape(question.text.get(language))

    def fieldset(self) -> str:
        return (self.head + f'\n    <fieldset aria-describedby="{self.described}">\n      '
                f'<legend>{self.text} {self.marker}</legend>{self.notes}')

    def label(self) -> str:
        return self.head + f'\n    <label class="text-label" for="{self.qid}">{self.text} {self.marker}</label>{self.notes}'

    @property
    def aria(self) -> str:
        return f'aria-invalid="{self.invalid}" aria-describedby="{self.described}"'


def _rating_markup(frame: _Frame) -> tuple[str, tuple, str]:
    question, language = frame.question, frame.language
    scale = question.scale
    labelled = len(scale.labels) == len(scale.points)
    wide = " wide" if len(scale.points) > 10 else ""
    head = frame.fieldset() + f'\n        <div class="scale {"labelled" if labelled else "row"}{wide}">'
    dont_know = str(scale.dont_know_code) if scale.dont_know_code is not None else None
    points, after = [], []
    for index, (value, label) in enumerate(answer_type(question).choices(question, language)):
        option_id = f"{frame.qid}-{index}"
        if value != dont_know:
            face = f'<span class="num">{escape(value)}</span> {escape(label)}' if labelled else escape(value)
            required = " required" if question.required else ""
            points.append((value,
                           f'\n            <label class="point" for="{option_id}">\n              <input type="radio" '
                           f'id="{option_id}" name="{frame.qid}" value="{escape(value)}"',
                           f'{required} aria-invalid="{frame.invalid}">\n              <span class="face">{face}</span>\n'
                           f'            </label>\n'))
        else:
            after.append((value,
                          f'\n          <label class="dont-know" for="{option_id}">\n            <input type="radio" '
                          f'id="{option_id}" name="{frame.qid}" value="{escape(value)}"',
                          f'>\n            <span>{escape(label)}</span>\n          </label>\n'))
    tail = "\n        </div>"
    low, high = scale.labels.get(scale.minimum), scale.labels.get(scale.maximum)
    if not labelled and (low or high):
        tail += (f'\n        <div class="ends" aria-hidden="true">\n          <span>{scale.minimum} = '
                 f'{escape(low.get(language)) if low else ""}</span>\n          <span>{scale.maximum} = '
                 f'{escape(high.get(language)) if high else ""}</span>\n        </div>')
    # The don't-know option sits after the scale: its pieces go into the tail's place in
    # the option list, so one join fills in ``checked`` for both.
    if after:
        value, start, end = after[0]
        after[0] = (value, tail + start, end)
        tail = ""
    return head, tuple(points + after), tail + "\n    </fieldset>\n  </div>"


def _choice_markup(frame: _Frame) -> tuple[str, tuple, str]:
    """Radio buttons (single choice) or checkboxes (multiple choice), one per option."""
    question = frame.question
    entry = answer_type(question)
    kind = "checkbox" if entry.multiple else "radio"
    options = []
    for index, (value, label) in enumerate(entry.choices(question, frame.language)):
        option_id = f"{frame.qid}-{index}"
        options.append((value,
                        f'\n          <label class="choice" for="{option_id}">\n            <input type="{kind}" '
                        f'id="{option_id}" name="{frame.qid}" value="{escape(value)}"',
                        f' aria-invalid="{frame.invalid}">\n            <span>{escape(label)}</span>\n'
                        f'          </label>\n'))
    head = frame.fieldset() + '\n        <div class="choices">'
    return head, tuple(options), "\n        </div>\n    </fieldset>\n  </div>"


def _text_markup(frame: _Frame) -> tuple[str, tuple, str]:
    question, qid = frame.question, frame.qid
    if question.multiline:
        head = frame.label() + (f'\n    <textarea id="{qid}" name="{qid}" rows="5" '
                                f'maxlength="{question.max_length}" {frame.aria}>')
        return head, (), "</textarea>\n  </div>"
    head = frame.label() + (f'\n    <input type="text" id="{qid}" name="{qid}" '
                            f'maxlength="{question.max_length}" value="')
    return head, (), f'" {frame.aria}>\n  </div>'


class _GroupFrame:
    """What a grid's markup needs: the group (its text, help, scale), its visible rows and
    each row's error."""

    def __init__(self, group: Group, rows: Sequence[Question], language: str, errors: Mapping[str, str | None]):
        self.group, self.rows, self.language, self.errors = group, rows, language, errors
        self.gid = escape(group.id)
        required = all(row.required for row in rows)
        self.marker = (f'<span class="marker">'
                       f'{escape(translate(language, "required" if required else "optional"))}</span>')


def _matrix_markup(frame: _GroupFrame) -> tuple[str, tuple, str]:
    """A grid: on a wide screen a table whose column heads are the scale's labels, on a phone
    one compact card per row (style.css). Every row is a fieldset whose legend is the row's
    text, its points radio buttons labelled with number and label (the column heads are
    ``aria-hidden``: each radio's own label says what the head says), its error its own."""
    group, language, gid = frame.group, frame.language, frame.gid
    scale = group.scale
    entry = answer_type(frame.rows[0])
    choices = entry.choices(frame.rows[0], language)
    dont_know = str(scale.dont_know_code) if scale.dont_know_code is not None else None
    any_error = any(frame.errors.values())
    help_note = (f'\n    <p class="help" id="{gid}-help">{escape(group.help.get(language))}</p>' if group.help else "")
    heads = "".join(
        f'<span class="{"dk" if value == dont_know else "pt"}">'
        + (f'<b>{escape(value)}</b>' if value != dont_know else "")
        + (f'<small>{escape(label)}</small>' if label else "") + "</span>"
        for value, label in choices)
    described_group = f' aria-describedby="{gid}-help"' if group.help else ""
    head = (f'\n  <div class="question matrix{" has-error" if any_error else ""}" id="q-{gid}" role="group" '
            f'aria-labelledby="{gid}-text"{described_group} '
            '>'
            f'\n    <p class="matrix-text" id="{gid}-text">{escape(group.text.get(language))} {frame.marker}</p>'
            f'{help_note}'
            f'\n    <div class="grid-heads" aria-hidden="true"><span class="grid-spacer"></span>'
            f'<span class="grid-points">{heads}</span></div>')
    low, high = scale.labels.get(scale.minimum), scale.labels.get(scale.maximum)
    ends = (f'\n      <div class="grid-ends" aria-hidden="true"><span>{scale.minimum} = '
            f'{escape(low.get(language)) if low else ""}</span><span>{scale.maximum} = '
            f'{escape(high.get(language)) if high else ""}</span></div>') if (low or high) else ""
    options = []
    for row in frame.rows:
        rid, error = escape(row.id), frame.errors.get(row.id)
        described = " ".join(([f"{rid}-help"] if row.help else []) + ([f"{rid}-error"] if error else []))
        notes = (f'\n      <p class="help" id="{rid}-help">{escape(row.help.get(language))}</p>' if row.help else "")
        notes += f'\n      <p class="error" id="{rid}-error">{escape(error)}</p>' if error else ""
        described_attr = f' aria-describedby="{described}"' if described else ""
        opening = (f'\n    <fieldset class="grid-row{" has-error" if error else ""}" id="q-{rid}"'
                   f'{described_attr}>'
                   f'\n      <legend>{escape(row.text.get(language))}</legend>{notes}'
                   f'\n      <div class="grid-points">')
        invalid = "true" if error else "false"
        required = " required" if row.required else ""
        for index, (value, label) in enumerate(choices):
            option_id = f"{rid}-{index}"
            is_dk = value == dont_know
            face = (f'<span class="word">{escape(label)}</span>' if is_dk else
                    f'<span class="num">{escape(value)}</span>'
                    + (f'<span class="word"> {escape(label)}</span>' if label else ""))
            options.append(((row.id, value),
                            (opening if index == 0 else "")
                            + f'\n        <label class="point{" dk" if is_dk else ""}" for="{option_id}"><input type="radio" '
                              f'id="{option_id}" name="{rid}" value="{escape(value)}"',
                            f'{"" if is_dk else required} aria-invalid="{invalid}"><span class="face">{face}</span></label>'
                            + (f"\n      </div>{ends}\n    </fieldset>" if index == len(choices) - 1 else "")))
    return head, tuple(options), "\n  </div>"


def _number_markup(frame: _Frame) -> tuple[str, tuple, str]:
    mode = "numeric" if frame.question.integer else "decimal"
    head = frame.label() + f'\n    <input type="text" inputmode="{mode}" id="{frame.qid}" name="{frame.qid}" value="'
    return head, (), f'" class="number" {frame.aria} autocomplete="off">\n  </div>'


# Each question type's markup: (head, options, tail) where options are (posted value, markup
# before ``checked``, markup after); a type without options shows its answer between head and tail.
MARKUP = {
    "rating": _rating_markup,
    "single_choice": _choice_markup,
    "multiple_choice": _choice_markup,
    "text": _text_markup,
    "number": _number_markup,
    # A group of rows (each an ordinary question of the entry's ``row_type``) drawn as one
    # grid by :func:`group_html`; its options are keyed (row id, value).
    "matrix": _matrix_markup,
}
