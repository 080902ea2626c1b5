"""The survey web application (Flask app factory) and the ``csi`` command line.

``create_app(config)`` follows the Flask tutorial's factory: configuration from the
``Config`` defaults, then ``CSI_*`` environment variables, then ``config``; no globals.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from .config import Config

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Invitation links carry their token in the path: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SECURITY_HEADERS_LOWER = {name.lower(): (name, value) for name, value in SECURITY_HEADERS.items()}


def create_app(config: Mapping[str, Any] | object | None = None) -> Flask:
    from flask_wtf.csrf import CSRFError, CSRFProtect
    from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

    from .admin import bp as admin_bp
    from .legacy_session import MigratingSessionInterface
    from .api import bp as api_bp
    from .opt_out import bp as opt_out_bp
    from .respondent import FriendlyError, bp as respondent_bp
    from . import input_guard, state

    app = Flask(__name__, instance_relative_config=True)
    input_guard.install(app)
    app.session_interface = MigratingSessionInterface()  # Flask's own, reading the former cookie once
    app.config.from_object(Config)
    app.config.from_prefixed_env("CSI")
    if config is not None:
        app.config.from_mapping(config) if isinstance(config, Mapping) else app.config.from_object(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    state.init_app(app)
    csrf = CSRFProtect(app)
    app.register_blueprint(respondent_bp)
    app.register_blueprint(admin_bp)
    csrf.exempt(api_bp)  # bearer tokens, no cookies: cross-site requests carry no credentials
    app.register_blueprint(api_bp)
    from . import body_limits, throttle
    throttle.init_app(app)
    body_limits.init_app(app)
    csrf.exempt(opt_out_bp)  # mail programs' one-click POST (RFC 8058); the link's token authenticates
    app.register_blueprint(opt_out_bp)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.after_request
    def headers(response):
        # One pass over the headers a view set (a page may set its own policy), not one per name.
        present = {name.lower() for name, _ in response.headers.items()}
        response.headers.extend([pair for lower, pair in _SECURITY_HEADERS_LOWER.items() if lower not in present])
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    def friendly(status: int, title_key: str, body_key: str, questionnaire=None):
        from .console_i18n import console_language
        from .i18n import translate
        from .respondent import language_for
        _rollback_request_sessions()
        try:
            language = console_language() if is_console() else language_for(questionnaire)
        except Exception:  # the error page must render even when the request is broken
            language = "en"
        try:
            return render_template("message.html", lang=language, title=translate(language, title_key),
                                   body=translate(language, body_key), q=questionnaire, switch=[],
                                   t=lambda key, **v: translate(language, key, **v)), status
        except Exception:  # (the database is gone, a context processor failed): a page without templates
            app.logger.exception("error page for %s could not be rendered", request.path)
            return _bare_page(translate(language, title_key), translate(language, body_key), language), status

    def api_error(status: int, message: str):
        from flask import jsonify
        _rollback_request_sessions()
        response = jsonify({"error": message})
        response.status_code = status
        return response

    def is_console() -> bool:
        # The console's pages speak the console's language (its own switch), not the respondent's.
        return request.blueprint == "admin" or request.path.startswith("/admin/")

    def is_api() -> bool:
        return request.blueprint == "api" or request.path.startswith("/api/")

    @app.errorhandler(input_guard.NulInRequest)
    def on_nul(error):
        if is_api():
            return api_error(400, error.description)
        return friendly(400, "nul_title", "nul_body")

    @app.errorhandler(FriendlyError)
    def on_friendly(error: FriendlyError):
        return friendly(error.status, error.title_key, error.body_key, error.questionnaire)

    @app.errorhandler(CSRFError)
    def on_csrf(error):
        return friendly(400, "csrf_title", "csrf_body")

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def on_database_error(error: Exception):
        # The database down, unreachable, locked, read-only or full is an outage: 503 with a
        # time to come back, and the calm page (JSON on the API), not a 500. Other database
        # errors are bugs and stay 500s.
        if isinstance(error, DBAPIError) and not _is_outage(error):
            return on_error(error)
        app.logger.warning("database unavailable on %s: %s", request.path, str(error).splitlines()[0])
        if request.blueprint == "api" or request.path.startswith("/api/"):
            from flask import jsonify
            response = jsonify({"error": "The database is unavailable; try again later."})
            response.status_code = 503
        else:
            response = app.make_response(friendly(503, "unavailable_title", "unavailable_body"))
        response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER)
        return response

    @app.errorhandler(HTTPException)
    def on_http(error: HTTPException):
        keys = {400: ("bad_request_title", "bad_request_body"), 404: ("not_found_title", "not_found_body"),
                403: ("forbidden_title", "forbidden_body"),
                405: ("method_title", "method_body"), 413: ("too_large_title", "too_large_body")}
        title, body = keys.get(error.code, ("bad_request_title", "bad_request_body"))
        response = (api_error(error.code or 400, error.description or error.name) if is_api()
                    else app.make_response(friendly(error.code or 400, title, body)))
        # A 405 names the methods that would work (RFC 9110 15.5.6); the default error page drops them.
        for name, value in error.get_headers():
            if name.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def on_error(error: Exception):
        if app.debug or app.testing and app.config.get("PROPAGATE_EXCEPTIONS"):
            raise error
        app.logger.exception("unhandled error on %s", request.path)
        if is_api():
            return api_error(500, "an error occurred on the server; it has been logged")
        return friendly(500, "server_error_title", "server_error_body")

    return app


OUTAGE_RETRY_AFTER = 30  # seconds: a restarted database server is usually back within that


# SQLite reports an unavailable database and a bug (a missing table or column) both as
# OperationalError; these messages are the unavailable ones.
_SQLITE_OUTAGES = ("database is locked", "unable to open database", "disk i/o error", "readonly database",
                   "database or disk is full", "database disk image is malformed", "attempt to write a readonly")


def _is_outage(error) -> bool:
    """Is this database error the database being unavailable (rather than a bug)?"""
    from sqlalchemy.exc import InterfaceError, OperationalError
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    # The driver's error and what it was raised from or while handling: a connection the
    # server ended in the middle of a pipeline surfaces as psycopg's "cannot exit pipeline
    # mode while busy" (no SQLSTATE of its own), raised while handling the AdminShutdown.
    causes, cause = [], error.orig
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in causes:
        sqlstate = getattr(cause, "sqlstate", None)
        # 08: connection exceptions; 53: insufficient resources (disk full, too many
        # connections); 57P: the server shutting down or restarting; 25006: a server that
        # accepts only reads (a standby after a failover, or default_transaction_read_only).
        if sqlstate is not None and (sqlstate.startswith(("08", "53", "57P")) or sqlstate == "25006"):
            return True
    if getattr(error.orig, "sqlstate", None) is not None:
        return False
    if isinstance(error, OperationalError):
        message = str(error.orig).lower()
        return any(text in message for text in _SQLITE_OUTAGES) or "connection" in message or "server" in message
    return False


def _rollback_request_sessions() -> None:
    """Roll back the request's database session (the console's ``g.db``) before an error
    page is built: after a failed statement it refuses every query (PendingRollbackError),
    and the page's own hooks query it."""
    from flask import g
    session = g.get("db")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # a dead connection: the page must still go out
            pass


def _bare_page(title: str, body: str, language: str) -> str:
    from markupsafe import escape
    return (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
            f'</head><body><main><h1>{escape(title)}</h1><p>{escape(body)}</p></main></body></html>')


def _instance_secret(folder: Path) -> str:
    """The instance folder's secret key, made on first use. Processes starting at once
    (server workers, parallel test workers) must all read the same complete key: it is
    written to a file of this process's own and linked into place, which only one can do
    (a reader never sees a half-written key, a second writer never fails)."""
    path = folder / "secret_key"
    if not path.exists():
        draft = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: use its key
        finally:
            draft.unlink()
    return path.read_text().strip()
