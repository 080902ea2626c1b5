"""Flask's signed-cookie session, which also reads, once, the cookie format this app wrote
before (a migration reader; delete this module 30 days after the upgrade is deployed).

From November 2026 until the return to Flask's session, the session cookie was written by a
hand-made interface (``survey_app/session_cookie.py``, removed): ``base64url(JSON) "."
base64url(HMAC-SHA256(key, base64url(JSON)))``, with the key SHA-256(b"csi session
cookie\\x00" + app secret) and the JSON holding the session's keys and ``"_t"``, the Unix time
it was written. Respondents in the middle of a wave carry such a cookie, and it holds their
place (the per-wave respondent keys). A request that carries one is read here with that
code's own checks (signature under the current secret, age under
``PERMANENT_SESSION_LIFETIME``) and its session is marked changed, so the response rewrites
it in Flask's format; from then on Flask's reader alone is used. Anything else that fails
Flask's check (forged, damaged, another secret, expired) is an empty session, as before.

After ``PERMANENT_SESSION_LIFETIME`` (30 days) no cookie of the old format can still be
valid, and this module can go: set ``app.session_interface`` back to Flask's default.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# The old session's CSRF secret: Flask-WTF keeps its own under "csrf_token", and tokens made
# from this one are not accepted any more (a page open across the upgrade is submitted again).
_DROPPED_KEYS = ("csrf_secret",)


class MigratingSessionInterface(SecureCookieSessionInterface):
    """Flask's :class:`SecureCookieSessionInterface`, plus one fallback: a cookie in the
    former format is read and marked to be rewritten in Flask's."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        session = super().open_session(app, request)
        if session is None or session:
            return session  # no secret key (Flask reports it), or Flask's own cookie read fine
        raw = request.cookies.get(self.get_cookie_name(app))
        data = read_former_cookie(app, raw) if raw else None
        if data is None:
            return session
        migrated = self.session_class({k: v for k, v in data.items() if k not in _DROPPED_KEYS})
        migrated.modified = True  # written back in Flask's format by this response
        return migrated


def read_former_cookie(app: Flask, raw: str, now: float | None = None) -> dict | None:
    """The session a cookie of the former format holds, or None if it is not a valid one
    (not that format, another secret, damaged, older than the session lifetime)."""
    secret = app.secret_key
    if not secret:
        return None
    secret = secret.encode() if isinstance(secret, str) else secret
    key = hashlib.sha256(b"csi session cookie\x00" + secret).digest()
    payload, _, signature = raw.rpartition(".")
    if not payload or not payload.isascii() or not signature.isascii():
        return None
    expected = base64.urlsafe_b64encode(hmac.digest(key, payload.encode("ascii"), "sha256")).rstrip(b"=")
    if not hmac.compare_digest(signature.encode("ascii"), expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        written = float(data.pop("_t")) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if written is None:
        return None
    if (time.time() if now is None else now) - written > app.permanent_session_lifetime.total_seconds():
        return None
    return data
