"""The signed session cookie (survey_app/session_cookie.py): what it keeps, what it
refuses, when it is sent."""
import base64
import json
from datetime import timedelta

import pytest
from flask import Flask, session

from survey_app import session_cookie
from survey_app.session_cookie import SignedCookieSessionInterface


@pytest.fixture
def app():
    app = Flask(__name__)
    app.secret_key = "s" * 32
    app.session_interface = SignedCookieSessionInterface()
    app.config.update(SESSION_COOKIE_NAME="csi_session", SESSION_REFRESH_EACH_REQUEST=False,
                      PERMANENT_SESSION_LIFETIME=timedelta(days=30), SESSION_COOKIE_SECURE=True,
                      SESSION_COOKIE_SAMESITE="Lax")

    @app.get("/set")
    def set_values():
        session["responses"] = {"7": "key-é"}
        session["n"] = 3
        session.permanent = True
        return "set"

    @app.get("/read")
    def read():
        return json.dumps(dict(session), sort_keys=True)

    @app.get("/clear")
    def clear():
        session.clear()
        return "cleared"

    return app


def cookie_value(client) -> str:
    return client.get_cookie("csi_session").value


def test_values_survive_the_round_trip_and_the_cookie_has_its_flags(app):
    client = app.test_client()
    response = client.get("/set", base_url="https://localhost")
    header = response.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header and "Expires=" in header
    assert json.loads(client.get("/read", base_url="https://localhost").get_data(as_text=True)) == \
        {"_permanent": True, "n": 3, "responses": {"7": "key-é"}}


def test_an_unchanged_session_sends_no_cookie_and_clearing_deletes_it(app):
    client = app.test_client()
    client.get("/set", base_url="https://localhost")
    assert "Set-Cookie" not in client.get("/read", base_url="https://localhost").headers
    cleared = client.get("/clear", base_url="https://localhost")
    assert "csi_session=;" in cleared.headers["Set-Cookie"]


def forged(value: str, change) -> str:
    payload, signature = value.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(data)
    new = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{new}.{signature}"


@pytest.mark.parametrize("damage", [
    lambda v: forged(v, lambda d: d.update(responses={"7": "someone-else"})),  # payload changed, old signature
    lambda v: v[:-3] + ("AAA" if not v.endswith("AAA") else "BBB"),          # signature changed
    lambda v: v.split(".")[0],                                                 # signature dropped
    lambda v: "not a cookie",
    lambda v: "é." + v,
    lambda v: "",
], ids=["payload", "signature", "unsigned", "garbage", "non-ascii", "empty"])
def test_a_damaged_or_forged_cookie_gives_an_empty_session(app, damage):
    client = app.test_client()
    client.get("/set", base_url="https://localhost")
    client.set_cookie("csi_session", damage(cookie_value(client)), domain="localhost")
    assert client.get("/read", base_url="https://localhost").get_data(as_text=True) == "{}"


def test_a_cookie_signed_with_another_secret_is_refused(app):
    client = app.test_client()
    client.get("/set", base_url="https://localhost")
    app.secret_key = "another secret"
    assert client.get("/read", base_url="https://localhost").get_data(as_text=True) == "{}"


def test_a_cookie_older_than_the_session_lifetime_is_ignored(app, monkeypatch):
    client = app.test_client()
    client.get("/set", base_url="https://localhost")
    now = session_cookie.time.time()
    monkeypatch.setattr(session_cookie.time, "time", lambda: now + 29 * 86400)
    assert "responses" in client.get("/read", base_url="https://localhost").get_data(as_text=True)
    monkeypatch.setattr(session_cookie.time, "time", lambda: now + 31 * 86400)
    assert client.get("/read", base_url="https://localhost").get_data(as_text=True) == "{}"


def test_no_secret_key_is_an_error_not_an_unsigned_cookie(app):
    app.secret_key = None
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="secret key"):
        app.test_client().get("/set", base_url="https://localhost")


def test_a_cookie_in_flasks_own_format_is_read_and_rewritten(app):
    """Respondents in the middle of a wave keep their place across the upgrade to this format."""
    from flask.sessions import SecureCookieSessionInterface

    old = Flask(__name__)
    old.secret_key = app.secret_key
    old_cookie = SecureCookieSessionInterface().get_signing_serializer(old).dumps(
        {"responses": {"7": "key-é"}, "_permanent": True})
    client = app.test_client()
    client.set_cookie("csi_session", old_cookie, domain="localhost")
    response = client.get("/read", base_url="https://localhost")
    assert json.loads(response.get_data(as_text=True)) == {"_permanent": True, "responses": {"7": "key-é"}}
    assert cookie_value(client) != old_cookie and cookie_value(client).count(".") == 1   # rewritten in this format
    assert "Set-Cookie" not in client.get("/read", base_url="https://localhost").headers
    # ... but not one under another secret
    stranger = Flask(__name__)
    stranger.secret_key = "another secret"
    client.set_cookie("csi_session", SecureCookieSessionInterface().get_signing_serializer(stranger).dumps(
        {"responses": {"7": "x"}}), domain="localhost")
    assert client.get("/read", base_url="https://localhost").get_data(as_text=True) == "{}"
