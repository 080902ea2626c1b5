"""Hidden fields: values that come with a survey link (store, order id, channel, agent id).

A questionnaire declares them in a top-level ``hidden:`` list, each with the values it
allows or a pattern the whole value must match, optionally ``signed`` (the link carries an
HMAC the respondent cannot forge) and ``segment`` (the report analyses the index per
value). They arrive as URL parameters on public links (``/s/<survey>/<wave>?store=S12``)
and as invitation attributes on personal links; :func:`read_hidden` keeps the declared
ones and refuses a declared value that fails its rule. Expressions read them as
``hidden.<id>`` (:func:`with_hidden`), exports and segments as the column ``hidden.<id>``.

Signing: ``sig`` is HMAC-SHA256, keyed with the app's secret key, over the survey, the
wave and every signed field's value (absent ones as empty text), hex-encoded. Binding the
survey and wave stops a link signed for one study from being replayed on another.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Mapping

HIDDEN_PREFIX = "hidden."
SIGNATURE_PARAM = "sig"
MAX_VALUE_LENGTH = 200  # characters; an id, a store code or an order number is far shorter
# Text a stored value may not hold: NUL and other C0 controls (a database or a spreadsheet
# cell would break on them, and no link parameter needs them).
_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class HiddenField:
    """One declared hidden field. ``values`` (as text) or ``pattern`` says what it accepts."""

    id: str
    values: tuple[str, ...] | None = None
    pattern: re.Pattern | None = None
    signed: bool = False
    segment: bool = False

    @property
    def name(self) -> str:
        """How expressions, piping, exports and segments call it: ``hidden.<id>``."""
        return HIDDEN_PREFIX + self.id

    def accepts(self, value: str) -> bool:
        if len(value) > MAX_VALUE_LENGTH or _CONTROL.search(value):
            return False
        if self.values is not None:
            return value in self.values
        return self.pattern is not None and self.pattern.fullmatch(value) is not None


class HiddenRefused(ValueError):
    """A declared hidden value that fails its rule (``reason`` "invalid") or a signed value
    whose signature is missing or wrong (``reason`` "signature"). ``field`` names the field."""

    def __init__(self, reason: str, field: str):
        super().__init__(f"hidden field {field!r}: {'bad or missing signature' if reason == 'signature' else 'value not allowed'}")
        self.reason, self.field = reason, field


def signature(secret: str | bytes, survey: str, wave: str, fields: tuple[HiddenField, ...],
              values: Mapping[str, str]) -> str:
    """The ``sig`` of ``values`` for the signed ``fields`` of ``survey``/``wave`` (hex HMAC-SHA256)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    # Unit separators cannot occur in an accepted value (_CONTROL), so the message is unambiguous.
    parts = [survey, wave] + [f"{f.id}={values.get(f.id, '')}" for f in fields if f.signed]
    return hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def read_hidden(fields: tuple[HiddenField, ...], params: Mapping[str, Any], *, secret: str | bytes | None = None,
                survey: str = "", wave: str = "", check_signature: bool = True) -> dict[str, str]:
    """The declared hidden values in ``params`` (URL parameters or invitation attributes),
    as ``{id: text}``. Parameters not declared are ignored; an empty value is no value.
    Raises :class:`HiddenRefused` for a declared value its rule refuses, and (with
    ``check_signature``) when a signed field has a value but ``params["sig"]`` is not its
    signature. Invitation attributes are set by the survey team, so they are read with
    ``check_signature=False``."""
    out: dict[str, str] = {}
    for field in fields:
        raw = params.get(field.id)
        if raw is None or raw == "":
            continue
        value = str(raw)
        if not field.accepts(value):
            raise HiddenRefused("invalid", field.id)
        out[field.id] = value
    signed = [f for f in fields if f.signed]
    if check_signature and signed and any(f.id in out for f in signed):
        given = params.get(SIGNATURE_PARAM)
        expected = signature(secret or b"", survey, wave, tuple(signed), out)
        if not isinstance(given, str) or not secret or not hmac.compare_digest(given.encode("ascii", "replace"),
                                                                              expected.encode("ascii")):
            raise HiddenRefused("signature", next(f.id for f in signed if f.id in out))
    return out


def with_hidden(answers: Mapping[str, Any], hidden: Mapping[str, str] | None) -> dict[str, Any]:
    """``answers`` plus each hidden value under ``hidden.<id>``: what expressions read."""
    merged = dict(answers)
    for key, value in (hidden or {}).items():
        merged[HIDDEN_PREFIX + key] = value
    return merged


def is_hidden_name(name: str) -> bool:
    return name.startswith(HIDDEN_PREFIX)
