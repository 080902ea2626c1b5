"""Cross-site request forgery protection: a secret per session, and every form carrying a
keyed hash of it.

Each session gets 32 random bytes (``session["csrf_secret"]``) the first time a form is
rendered; a form's token is HMAC-SHA256(app secret, that secret). A state-changing request
(POST, PUT, PATCH, DELETE) outside the exempt blueprints must carry the token, in the
``csrf_token`` field or the ``X-CSRFToken`` header, or it is refused with :class:`CSRFError`
(a 400 page) before its view runs. Another site cannot read the session cookie nor a page
of ours, so it cannot produce the token; clearing the session (logging in or out) draws a
new secret, so tokens from before are dead.

This replaces Flask-WTF's CSRFProtect, which signs a fresh timestamped token with
itsdangerous on every page and verifies the signature on every post. With the time limit
off (a respondent may keep a page open for hours) the timestamp bought nothing, and the
signing and verifying were about a tenth of a page post's CPU; an HMAC is a few
microseconds (docs/benchmarks.md).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Blueprint, Flask, current_app, g, request, session
from werkzeug.exceptions import BadRequest

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FIELD, HEADER, SESSION_KEY = "csrf_token", "X-CSRFToken", "csrf_secret"


class CSRFError(BadRequest):
    description = "The form's security token is missing or does not belong to this session."


def generate_csrf() -> str:
    """The current session's form token (64 hex digits); draws the session's secret if it has none."""
    secret = session.get(SESSION_KEY)
    if secret is None:
        secret = session[SESSION_KEY] = secrets.token_hex(32)
    cached = g.get("_csrf")  # (secret, token) of this request: a page asks for it more than once
    if cached is None or cached[0] != secret:  # (a cleared session draws a new secret)
        cached = g._csrf = (secret, _token_for(secret))
    return cached[1]


def _token_for(secret: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"csrf:" + secret.encode(), hashlib.sha256).hexdigest()


class CSRFProtection:
    """Checks the token of every state-changing request (``CSRFProtection(app)``), and
    offers ``csrf_token()`` to templates."""

    def __init__(self, app: Flask):
        self._exempt: set[str] = set()
        app.jinja_env.globals["csrf_token"] = generate_csrf
        app.before_request(self.protect)

    def exempt(self, blueprint: Blueprint) -> None:
        """No token for ``blueprint`` (an API authenticated by bearer tokens, not cookies)."""
        self._exempt.add(blueprint.name)

    def protect(self) -> None:
        if request.method not in UNSAFE_METHODS or request.endpoint is None or request.blueprint in self._exempt \
                or not current_app.config.get("CSRF_ENABLED", True):
            return  # (no endpoint: routing answers 404 or 405)
        secret = session.get(SESSION_KEY)
        sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
        expected = _token_for(secret) if secret else ""
        # compare_digest needs ASCII: a non-ASCII token is wrong anyway.
        if not expected or not sent.isascii() or not hmac.compare_digest(sent, expected):
            raise CSRFError()
        g._csrf = (secret, expected)  # the page this post answers with carries the same token
