"""Login throttling in the app: two layers (docs/security.md, "Administrators").

1. Per client address, any username: Flask-Limiter on ``POST /admin/login``
   (``LOGIN_RATE_LIMIT``, default 10 a minute and 100 an hour), counted in Redis when
   ``REDIS_URL`` is set (shared by every process and machine), else in the process's memory.
   It stops one address from spraying guesses over many accounts.
2. Per account and per account-and-address pair, in the database with growing delays
   (``models.storage.accounts.authenticate``): holds across processes and machines on the
   shared database, evaluates at most 5 guesses from one address before the first delay,
   and keeps guesses from other addresses from locking the owner out of a known address.

The address (after ``PROXY_HOPS`` of X-Forwarded-For) is never stored: the database keeps an
HMAC of it under the app's secret key, per username.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from models.storage.accounts import Backoff, ThrottlePolicy

LOGIN_ENDPOINT = "admin.login"


def address_scope(username: str) -> str:
    """"addr:" + 40 hex digits of HMAC-SHA256(secret key, username NUL address)."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    message = f"{username}\0{request.remote_addr or '-'}".encode("utf-8", "replace")
    return "addr:" + hmac.new(key, b"login-throttle:" + message, hashlib.sha256).hexdigest()[:40]


def policy() -> ThrottlePolicy:
    """The database layer's delays, from ``LOGIN_BACKOFF_SECONDS`` and ``LOGIN_BACKOFF_MAX_SECONDS``."""
    config = current_app.config
    base = float(config.get("LOGIN_BACKOFF_SECONDS", 5))
    cap = float(config.get("LOGIN_BACKOFF_MAX_SECONDS", 900))
    default = ThrottlePolicy()
    return ThrottlePolicy(per_address=Backoff(default.per_address.free, base, cap),
                          per_account=Backoff(default.per_account.free, base, cap))


def init_app(app: Flask) -> Limiter:
    """A limiter of this app's own (tests build many apps; each starts with empty counters)
    around the login view, and its 429 answered with the login page."""
    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(get_remote_address, app=app, storage_uri=redis_url or "memory://",
                      strategy="moving-window", key_prefix="csi-login", headers_enabled=False,
                      in_memory_fallback_enabled=True)  # Redis down: count in memory, keep serving
    # Only the login is limited: every other request leaves the limiter's hook at once (it
    # cost ~0.1-0.2 ms on each respondent request otherwise).
    limiter.request_filter(lambda: request.endpoint != LOGIN_ENDPOINT)
    view = app.view_functions[LOGIN_ENDPOINT]
    app.view_functions[LOGIN_ENDPOINT] = limiter.limit(
        lambda: current_app.config.get("LOGIN_RATE_LIMIT") or "1000000 per second", methods=["POST"],
        exempt_when=lambda: not current_app.config.get("LOGIN_RATE_LIMIT"))(view)
    app.extensions.setdefault("csi", {})["limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        window = limiter.current_limit
        retry = max(1, math.ceil(window.reset_at - time.time())) if window is not None else 60
        from .console_i18n import ct
        message = ct("address_throttled", limit=error.description, seconds=retry)
        response = app.make_response((render_template("admin/login.html", error=message), 429))
        response.headers["Retry-After"] = str(retry)
        return response

    return limiter
