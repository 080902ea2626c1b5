"""One app-wide refusal of NUL characters in requests.

A NUL (``\\0``, ``%00``) is never part of text anyone types, and PostgreSQL refuses it in
every text and JSON value ("invalid byte sequence" / "unsupported Unicode escape"), so
an answer, a note, a wave name in a URL or an invitation attribute holding one gave a
500 on PostgreSQL on every retry, while SQLite stored it. Refusing it at the door makes
both backends answer the same clear 400 before any view or query runs:

- the path and the query string (names and values) are checked before every request;
- form fields (names and values) and upload file names are checked the moment the body
  is parsed, by the request class itself, so the check holds whichever hook or view reads
  the form first, under whatever body limit that route has set. The refused form is
  emptied, so even code that swallowed the error could store nothing from it.

Uploaded file *contents* are the uploading view's business (it names the line).
"""
from __future__ import annotations

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest

NUL = "\x00"


class NulInRequest(BadRequest):
    description = "The request contains a NUL character (\\0), which is not allowed in any text."

    def __init__(self, where: str):
        super().__init__(f"The {where} contains a NUL character (\\0), which is not allowed in any text; nothing was saved.")
        self.where = where


def _multidict_has_nul(values) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


class GuardedRequest(Request):
    """Flask's request, refusing a form that holds a NUL (see the module docstring)."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        form, files = self.__dict__.get("form"), self.__dict__.get("files")
        bad_form = form is not None and _multidict_has_nul(form)
        bad_files = files is not None and any(NUL in key or NUL in (upload.filename or "")
                                              for key, upload in files.items(multi=True))
        if bad_form or bad_files:
            self.__dict__["form"] = self.parameter_storage_class()
            self.__dict__["files"] = ImmutableMultiDict()
            raise NulInRequest("form")


def check_path_and_query() -> None:
    if NUL in request.path:
        raise NulInRequest("address")
    if NUL in request.query_string.decode("latin-1") or _multidict_has_nul(request.args):
        raise NulInRequest("query string")


def install(app: Flask) -> None:
    """Use :class:`GuardedRequest` and check every path and query string, first of all hooks."""
    app.request_class = GuardedRequest
    app.before_request_funcs.setdefault(None, []).insert(0, check_path_and_query)
