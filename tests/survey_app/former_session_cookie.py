"""TEST FIXTURE: survey_app/session_cookie.py as deployed until the return to Flask's session
(commit 551c988), kept unchanged below this note so that tests can produce cookies with the
very code that wrote the ones respondents carry (tests/survey_app/test_legacy_session.py).
Not imported by the application.

The session cookie: JSON and an HMAC-SHA256 of it, with the time it was written.

Flask's default cookie session signs with itsdangerous and serializes with a tagged JSON
that can carry bytes, tuples and datetimes. Our sessions hold only strings, numbers and
small dicts of strings (the respondent's response keys, the language, the CSRF secret, the
admin console's session id), and reading the cookie on every request was about 7 % of a
page post's CPU in process. This interface keeps Flask's session API, cookie flags and
expiry rules, with a cookie that costs a JSON parse and one HMAC.

Cookie value: ``base64url(JSON) "." base64url(HMAC-SHA256(key, base64url(JSON)))``. The
JSON holds the session's keys and ``"_t"``, the Unix time it was written; a cookie older
than ``PERMANENT_SESSION_LIFETIME`` is ignored, as Flask's own would be. The key is derived
from the app's secret key, so changing that secret signs everybody out: cookies signed
under the old one are refused.

A cookie in Flask's own format (written before this module existed) is still read, and
rewritten in this format on that response: respondents in the middle of a wave keep their
place across the upgrade.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionInterface
from itsdangerous import BadSignature

_WRITTEN = "_t"


class SignedCookieSessionInterface(SessionInterface):
    def __init__(self):
        self._keys: dict[bytes, bytes] = {}
        self._flask_format = SecureCookieSessionInterface()

    def _key(self, app: Flask) -> bytes | None:
        secret = app.secret_key
        if not secret:
            return None
        secret = secret.encode() if isinstance(secret, str) else secret
        key = self._keys.get(secret)
        if key is None:  # derived once per secret; a different purpose than the CSRF tokens' HMAC
            key = self._keys[secret] = hashlib.sha256(b"csi session cookie\x00" + secret).digest()
        return key

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        key = self._key(app)
        if key is None:
            return None  # Flask answers with its "no secret key" error on the first write
        raw = request.cookies.get(self.get_cookie_name(app))
        if not raw:
            return SecureCookieSession()
        payload, _, signature = raw.rpartition(".")
        expected = base64.urlsafe_b64encode(hmac.digest(key, payload.encode("ascii", "replace"), "sha256"))
        if not signature.isascii() or not hmac.compare_digest(signature.encode(), expected.rstrip(b"=")):
            return self._from_flask_format(app, raw)
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            written = float(data.pop(_WRITTEN)) if isinstance(data, dict) else None
        except (ValueError, KeyError, TypeError, binascii.Error):
            return SecureCookieSession()
        if written is None:
            return SecureCookieSession()
        if time.time() - written > app.permanent_session_lifetime.total_seconds():
            return SecureCookieSession()
        return SecureCookieSession(data)

    def _from_flask_format(self, app: Flask, raw: str) -> SecureCookieSession:
        """The session of a cookie Flask's default interface wrote, marked to be rewritten;
        an empty session if it is not one (forged, damaged, another secret, expired)."""
        try:
            data = self._flask_format.get_signing_serializer(app).loads(
                raw, max_age=int(app.permanent_session_lifetime.total_seconds()))
        except (BadSignature, ValueError, TypeError):
            return SecureCookieSession()
        if not isinstance(data, dict):
            return SecureCookieSession()
        session = SecureCookieSession(data)
        session.modified = True
        return session

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        # The same rules as Flask's SecureCookieSessionInterface.save_session.
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        secure, samesite, httponly = (self.get_cookie_secure(app), self.get_cookie_samesite(app),
                                      self.get_cookie_httponly(app))
        partitioned = self.get_cookie_partitioned(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                response.delete_cookie(name, domain=domain, path=path, secure=secure, partitioned=partitioned,
                                       samesite=samesite, httponly=httponly)
                response.vary.add("Cookie")
            return
        if not self.should_set_cookie(app, session):
            return
        data = dict(session)
        data[_WRITTEN] = int(time.time())
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(hmac.digest(self._key(app), payload, "sha256")).rstrip(b"=")
        response.set_cookie(name, (payload + b"." + signature).decode(), expires=self.get_expiration_time(app, session),
                            httponly=httponly, domain=domain, path=path, secure=secure, partitioned=partitioned,
                            samesite=samesite)
        response.vary.add("Cookie")
