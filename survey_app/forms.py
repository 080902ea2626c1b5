"""A questionnaire page's answers: reading, checking and validating a post.

Two kinds of bad input are told apart: a respondent's mistake (a required question left
empty, a number out of range, too much text) is shown next to the field with the rest of
the answers kept; a value no form could have sent (an option that does not exist, a
rating outside the scale, a field that is not on the page) is tampering or a stale page,
answered with a 400 page and never stored.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from models.questionnaire import Question

from .i18n import translate

CONTROL_FIELDS = {"csrf_token", "submission_id", "nav"}


class Tampered(Exception):
    """The post contains something the rendered form could not have produced."""


class ValidationError(ValueError):
    """A respondent's mistake in one answer; the message (in their language) is shown next to it."""


@dataclass
class AnswerField:
    """One question's value as the page shows it: ``data`` is a string, a list of strings
    (multiple choice) or None; ``errors`` the messages shown next to it."""
    data: Any
    errors: list[str] = field(default_factory=list)


class PageAnswers:
    """A questionnaire page's answers as the page template and validation see them.

    Deliberately not a WTForms form: the page's questions change with the respondent's
    earlier answers, and building a form class and binding its fields on every request cost
    more CPU than the rest of validation. Validation is our own (:func:`validate_answers`),
    and the CSRF token is checked for every post by ``CSRFProtect`` before the view runs.
    """

    def __init__(self, questions: list[Question], formdata: MultiDict | None = None,
                 answers: dict[str, Any] | None = None):
        self.questions = {q.id: q for q in questions}
        self.fields: dict[str, AnswerField] = {}
        for q in questions:
            if formdata is not None:
                data = formdata.getlist(q.id) if q.type == "multiple_choice" else formdata.get(q.id)
            else:
                value = (answers or {}).get(q.id)
                if value is not None:
                    value = [str(v) for v in value] if q.type == "multiple_choice" else str(value)
                data = value
            self.fields[q.id] = AnswerField(data)
        self.submission_id = formdata.get("submission_id", "") if formdata is not None else ""

    def __getitem__(self, question_id: str) -> AnswerField:
        return self.fields[question_id]

    @property
    def errors(self) -> dict[str, list[str]]:
        return {qid: f.errors for qid, f in self.fields.items() if f.errors}


def _option_values(question: Question) -> set[str]:
    """The values the page's radio buttons or checkboxes for ``question`` can send."""
    if question.type == "rating":
        scale = question.scale
        values = {str(p) for p in scale.points}
        if scale.dont_know_code is not None:
            values.add(str(scale.dont_know_code))
        return values
    return {str(o.value) for o in question.options}


def check_tampering(formdata: MultiDict, questions: list[Question]) -> None:
    """Raise :class:`Tampered` for unknown fields and impossible values."""
    allowed = {q.id: q for q in questions}
    for key in formdata.keys():
        if key not in allowed and key not in CONTROL_FIELDS:
            raise Tampered(f"unknown field {key[:64]!r}")
    for key in CONTROL_FIELDS:
        if len(formdata.getlist(key)) > 1:
            raise Tampered(f"field {key!r} sent twice")
    for qid, question in allowed.items():
        values = formdata.getlist(qid)
        if question.type != "multiple_choice" and len(values) > 1:
            raise Tampered(f"field {qid!r} sent {len(values)} times")
        if question.type in ("rating", "single_choice", "multiple_choice"):
            valid = _option_values(question)
            for value in values:
                if value not in valid:
                    raise Tampered(f"{value[:32]!r} is not an option of {qid!r}")
            if question.type == "multiple_choice" and len(set(values)) != len(values):
                raise Tampered(f"an option of {qid!r} was sent twice")
        if question.type == "text" and values and len(values[0]) > 4 * question.max_length:
            raise Tampered(f"{qid!r} is far longer than its limit")
    if formdata.get("nav") not in (None, "next", "back"):
        raise Tampered("unknown navigation")


def validate_answers(form: PageAnswers, language: str, require: bool) -> dict[str, Any]:
    """Check the respondent's answers; put messages on the fields; return the clean values.

    ``require``: enforce required questions (moving forward) or not (going back).
    """
    values: dict[str, Any] = {}
    for qid, question in form.questions.items():
        answer = form[qid]
        try:
            values[qid] = _clean(question, answer.data, language, require)
        except ValidationError as error:
            answer.errors = [str(error)]
            values[qid] = None
    return values


def _clean(question: Question, raw: Any, language: str, require: bool) -> Any:
    empty = raw is None or raw == "" or raw == []
    if isinstance(raw, str):
        raw = raw.strip()
        empty = raw == ""
    if empty:
        if require and question.required:
            raise ValidationError(translate(language, "error_required"))
        return None
    if question.type == "rating":
        return int(raw)
    if question.type == "single_choice":
        for option in question.options:
            if str(option.value) == raw:
                return option.value
    if question.type == "multiple_choice":
        if question.max_selected and len(raw) > question.max_selected:
            raise ValidationError(translate(language, "error_max_selected", max=question.max_selected))
        order = [str(o.value) for o in question.options]
        return sorted(raw, key=order.index)
    if question.type == "text":
        if len(raw) > question.max_length:
            raise ValidationError(translate(language, "error_length", max=question.max_length))
        return raw
    if question.type == "number":
        return _number(question, raw, language)
    return raw


def _number(question: Question, raw: str, language: str) -> float | int:
    text = raw.replace(",", ".").replace("，", ".").strip()
    if len(text) > 32:
        raise ValidationError(translate(language, "error_number"))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(translate(language, "error_number")) from None
    if not value.is_finite():
        raise ValidationError(translate(language, "error_number"))
    if question.integer and value != value.to_integral_value():
        raise ValidationError(translate(language, "error_integer"))
    low, high = question.minimum, question.maximum
    number = float(value)
    if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            message = translate(language, "error_range", low=_fmt(low), high=_fmt(high))
        elif low is not None:
            message = translate(language, "error_min", low=_fmt(low))
        elif high is not None:
            message = translate(language, "error_max", high=_fmt(high))
        else:
            message = translate(language, "error_number")
        raise ValidationError(message)
    return int(value) if question.integer else number


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The follow-up contact form. A phone number: digits, spaces, "-" and brackets, a leading "+",
# and at least 6 digits (the shortest local numbers); at most 20 digits (E.164 allows 15, plus
# an extension). An e-mail address: the HTML5 rule for <input type="email">
# (https://html.spec.whatwg.org/multipage/input.html#valid-e-mail-address), which browsers
# apply before posting, so a server that agrees never refuses what the browser let through.
PHONE = re.compile(r"\+?[0-9 ()\-]+", re.ASCII)
EMAIL = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                   r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*", re.ASCII)
CONTACT_FIELDS = ("name", "phone", "email")


def validate_contact(form: MultiDict, language: str) -> tuple[dict[str, str], dict[str, str]]:
    """(values, errors) of a posted contact form: the stripped name, phone and e-mail (a phone
    typed with full-width digits or brackets, as a Chinese keyboard may give them, is stored
    in ASCII), and a message per field that needs one (key "channel" when neither a phone
    nor an e-mail address was given, "consent" when the box is not ticked)."""
    values = {key: form.get(key, "").strip() for key in CONTACT_FIELDS}
    values["phone"] = unicodedata.normalize("NFKC", values["phone"])
    errors = {}
    phone, email = values["phone"], values["email"]
    digits = sum(c.isdigit() for c in phone)
    if phone and not (PHONE.fullmatch(phone) and 6 <= digits <= 20):
        errors["phone"] = translate(language, "contact_bad_phone")
    if email and not EMAIL.fullmatch(email):
        errors["email"] = translate(language, "contact_bad_email")
    if not (phone or email):
        errors["channel"] = translate(language, "contact_needs_channel")
    if form.get("consent") != "yes":
        errors["consent"] = translate(language, "contact_needs_consent")
    return values, errors
