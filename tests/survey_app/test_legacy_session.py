"""The session cookie: Flask's own signed cookie, and the former format (survey_app/
legacy_session.py) read once and rewritten, tested with cookies made by the former code
itself (former_session_cookie.py, the module as it was deployed)."""
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from flask import Flask, session

from survey_app.legacy_session import MigratingSessionInterface

from . import former_session_cookie
from .conftest import Respondent, https_client

SECRET = "s" * 32
COOKIE_CONFIG = dict(SESSION_COOKIE_NAME="csi_session", SESSION_REFRESH_EACH_REQUEST=False,
                     PERMANENT_SESSION_LIFETIME=timedelta(days=30), SESSION_COOKIE_SECURE=True,
                     SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


def small_app(interface, secret=SECRET) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret
    app.session_interface = interface
    app.config.update(COOKIE_CONFIG)

    @app.post("/set")
    def set_values():
        from flask import request
        session.update(json.loads(request.get_data(as_text=True)))
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


@pytest.fixture
def app_new():
    return small_app(MigratingSessionInterface())


def former_cookie(data: dict, secret=SECRET) -> str:
    """The cookie the former code wrote for a session holding ``data``."""
    client = small_app(former_session_cookie.SignedCookieSessionInterface(), secret).test_client()
    client.post("/set", data=json.dumps(data), base_url="https://localhost")
    return client.get_cookie("csi_session").value


def read(client) -> dict:
    return json.loads(client.get("/read", base_url="https://localhost").get_data(as_text=True))


def test_values_survive_the_round_trip_and_the_cookie_has_its_flags(app_new):
    client = app_new.test_client()
    response = client.post("/set", data=json.dumps({"responses": {"7": "key-é"}, "n": 3}), base_url="https://localhost")
    header = response.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header and "Expires=" in header
    assert read(client) == {"_permanent": True, "n": 3, "responses": {"7": "key-é"}}
    assert client.get_cookie("csi_session").value.count(".") == 2  # itsdangerous: payload.timestamp.signature


def test_an_unchanged_session_sends_no_cookie_and_clearing_deletes_it(app_new):
    client = app_new.test_client()
    client.post("/set", data=json.dumps({"n": 1}), base_url="https://localhost")
    assert "Set-Cookie" not in client.get("/read", base_url="https://localhost").headers
    assert "csi_session=;" in client.get("/clear", base_url="https://localhost").headers["Set-Cookie"]


@pytest.mark.parametrize("damage", [
    lambda v: v[:-3] + ("AAA" if not v.endswith("AAA") else "BBB"),  # signature changed
    lambda v: v.rsplit(".", 1)[0],                                     # signature dropped
    lambda v: "not a cookie",
    lambda v: "é." + v,
], ids=["signature", "unsigned", "garbage", "non-ascii"])
@pytest.mark.parametrize("made_by", ["flask", "former code"])
def test_a_damaged_or_forged_cookie_of_either_format_gives_an_empty_session(app_new, damage, made_by):
    client = app_new.test_client()
    if made_by == "flask":
        client.post("/set", data=json.dumps({"responses": {"7": "k"}}), base_url="https://localhost")
        value = client.get_cookie("csi_session").value
    else:
        value = former_cookie({"responses": {"7": "k"}})
    client.set_cookie("csi_session", damage(value), domain="localhost")
    assert read(client) == {}


def test_a_cookie_in_the_former_format_is_read_once_and_rewritten_in_flasks(app_new):
    """Respondents in the middle of a wave keep their place across the upgrade."""
    old = former_cookie({"responses": {"7": "key-é"}, "lang": "zh-CN", "csrf_secret": "ab" * 32})
    client = app_new.test_client()
    client.set_cookie("csi_session", old, domain="localhost")
    response = client.get("/read", base_url="https://localhost")
    # The old CSRF secret is dropped: Flask-WTF keeps its own.
    assert json.loads(response.get_data(as_text=True)) == {"_permanent": True, "lang": "zh-CN",
                                                           "responses": {"7": "key-é"}}
    assert "Expires=" in response.headers["Set-Cookie"]
    new = client.get_cookie("csi_session").value
    assert new != old and new.count(".") == 2                                     # Flask's format now
    assert app_new.session_interface.get_signing_serializer(app_new).loads(new)["responses"] == {"7": "key-é"}
    assert "Set-Cookie" not in client.get("/read", base_url="https://localhost").headers   # read by Flask from now on


@pytest.mark.parametrize("case", ["another secret", "expired"])
def test_a_former_cookie_is_not_read_under_another_secret_or_past_the_lifetime(app_new, monkeypatch, case):
    if case == "another secret":
        old = former_cookie({"responses": {"7": "x"}}, secret="another secret")
    else:
        written = time.time() - 31 * 86400
        monkeypatch.setattr(former_session_cookie.time, "time", lambda: written)
        old = former_cookie({"responses": {"7": "x"}})
        monkeypatch.undo()
    client = app_new.test_client()
    client.set_cookie("csi_session", old, domain="localhost")
    assert read(client) == {}


def test_a_flask_cookie_past_the_lifetime_is_ignored(app_new, monkeypatch):
    client = app_new.test_client()
    client.post("/set", data=json.dumps({"n": 1}), base_url="https://localhost")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 86400)
    assert read(client) == {"_permanent": True, "n": 1}
    monkeypatch.setattr(time, "time", lambda: now + 31 * 86400)
    assert read(client) == {}


def test_a_respondent_mid_wave_keeps_their_place_across_the_upgrade(app, acsi):
    """The whole path: a respondent two pages in, whose browser holds a cookie the former code
    wrote, comes back to the survey after the upgrade and is on the page they left; the page
    they had open (its token made by the former CSRF code) is refused with the calm page,
    which keeps their place, and the same page shown again is accepted."""
    person = Respondent(https_client(app), acsi)
    left_on = person.answer(person.answer(person.start()))
    with person.client.session_transaction() as current:
        responses = dict(current["responses"])
    csrf_secret = "cd" * 32
    old = former_cookie({"responses": responses, "lang": "en", "csrf_secret": csrf_secret}, secret=app.secret_key)
    old_token = hmac.new(app.secret_key.encode(), b"csrf:" + csrf_secret.encode(), hashlib.sha256).hexdigest()

    client = https_client(app)
    client.set_cookie("csi_session", old, domain="localhost")
    returning = Respondent(client, acsi)
    open_page = returning.page_data(left_on)
    open_page["csrf_token"] = old_token
    refused = returning.post(left_on.url, open_page, follow=False)
    assert refused.status == 400 and "Your session has expired" in refused.text
    assert client.get_cookie("csi_session").value.count(".") == 2  # rewritten in Flask's format on that answer
    again = returning.get("/s/acsi-retail/2026Q4")
    assert again.question_ids == left_on.question_ids and "your earlier answers are saved" in again.text
    assert "/done" in returning.finish(again).url
