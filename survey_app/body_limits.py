"""Request-body limits per route, and a 413 that says which limit was hit.

Respondents' posts keep ``MAX_CONTENT_LENGTH`` (64 KiB); the admin uploads get their own,
documented limits. The limit is decided by the request object itself, from the matched
endpoint, whenever the body is first read, so it does not matter which before-request hook
(CSRF, rate limiting, the view) parses the form first: before, the app-wide CSRF check read
an invitation CSV under the respondents' 64 KiB and answered 413 before the admin route
could raise it.
"""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from .input_guard import GuardedRequest
from werkzeug.exceptions import RequestEntityTooLarge

# endpoint -> (config key of its limit, what it accepts)
UPLOAD_LIMITS = {
    "admin.invitations": ("INVITATION_UPLOAD_LIMIT", "an invitation list (CSV)"),
    "admin.wave_mail_import": ("INVITATION_UPLOAD_LIMIT", "an e-mail invitation list (CSV)"),
    "admin.upload_questionnaire": ("QUESTIONNAIRE_UPLOAD_LIMIT", "a questionnaire file"),
    "admin.import_responses": ("IMPORT_UPLOAD_LIMIT", "a file of responses to import (CSV, Excel, SPSS)"),
}
# Endpoints whose form may carry a whole file as text (up to the endpoint's limit).
FORM_TEXT_ENDPOINTS = {"admin.upload_questionnaire"}


def endpoint_limit(endpoint: str | None) -> tuple[int | None, str]:
    """(bytes, what) for ``endpoint``: its own limit, or the app-wide MAX_CONTENT_LENGTH."""
    config = current_app.config
    key, what = UPLOAD_LIMITS.get(endpoint or "", (None, None))
    if key is not None and config.get(key):
        return int(config[key]), what
    api = (endpoint or "").startswith("api.")
    return config.get("MAX_CONTENT_LENGTH"), "an API request" if api else "a form on this site"


class LimitedRequest(GuardedRequest):
    """A request whose ``max_content_length`` is its route's (``UPLOAD_LIMITS``) unless a view set one."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.url_rule is not None:
            return endpoint_limit(self.url_rule.endpoint)[0]
        return GuardedRequest.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        # The questionnaire upload's confirm step posts the file's text back as a form field.
        if current_app and self.url_rule is not None and self.url_rule.endpoint in FORM_TEXT_ENDPOINTS:
            return endpoint_limit(self.url_rule.endpoint)[0]
        return GuardedRequest.max_form_memory_size.fget(self)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        GuardedRequest.max_form_memory_size.fset(self, value)


def size_text(size: int | None) -> str:
    """1024-based, as the limits are set: 65536 -> "64 KiB", 16777216 -> "16 MiB"."""
    if size is None:
        return "no limit"
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.0f} {unit}" if size % factor == 0 else f"{size / factor:.1f} {unit}"
    return f"{size} bytes"


def init_app(app: Flask) -> None:
    app.request_class = LimitedRequest

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit, what = endpoint_limit(request.endpoint)
        sentence = f"The request is larger than the {size_text(limit)} accepted for {what}."
        if request.blueprint == "api" or request.path.startswith("/api/"):
            response = jsonify({"error": sentence})
            response.status_code = 413
            return response
        if request.blueprint == "admin":
            from .console_i18n import ct
            what = ct(f"upload_what.{request.endpoint}" if request.endpoint in UPLOAD_LIMITS else "upload_what.form")
            body = ct("too_large_sentence", limit=size_text(limit), what=what)
            if request.endpoint in UPLOAD_LIMITS:
                body += ct("split_the_file")
            return render_template("admin/message.html", title=ct("upload_too_large"), body=body), 413
        from .i18n import translate
        from .respondent import language_for
        try:
            language = language_for(None)
        except Exception:  # the error page must render even when the request is broken
            language = "en"
        body = translate(language, "too_large_body") + " " + translate(language, "too_large_limit",
                                                                       limit=size_text(limit))
        return render_template("message.html", lang=language, title=translate(language, "too_large_title"),
                               body=body, q=None, switch=[],
                               t=lambda key, **v: translate(language, key, **v)), 413
