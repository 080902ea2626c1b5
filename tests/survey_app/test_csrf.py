"""CSRF protection (survey_app/csrf.py): which requests need the token, where it may come
from, and which tokens are refused."""
import re

import pytest

from .conftest import https_client

INTRO = "/s/acsi-retail/2026Q4"
START = "/s/acsi-retail/2026Q4/start"


def token_of(client) -> str:
    page = client.get(INTRO).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_token_is_a_256_bit_hmac_stable_within_a_session_and_different_across(app):
    one, two = https_client(app), https_client(app)
    first = token_of(one)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert token_of(one) == first                      # every page of a session carries the same token
    assert token_of(two) != first
    with one.session_transaction() as session:
        assert session["csrf_secret"] not in first       # the page shows a keyed hash, not the secret


@pytest.mark.parametrize("how", ["field", "header"])
def test_the_right_token_in_the_field_or_the_header_is_accepted(app, how):
    client = https_client(app)
    token = token_of(client)
    if how == "field":
        response = client.post(START, data={"csrf_token": token})
    else:
        response = client.post(START, data={}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "/p/1" in response.get_data(as_text=True)


@pytest.mark.parametrize("sent", ["", "0" * 64, "é" * 64, "x" * 10_000, None], ids=["empty", "zeros", "non-ascii",
                                                                                      "huge", "absent"])
def test_wrong_tokens_get_the_400_page_and_nothing_is_started(app, engine, sent):
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from models.storage.tables import Response

    client = https_client(app)
    token_of(client)
    response = client.post(START, data={} if sent is None else {"csrf_token": sent})
    assert response.status_code == 400
    assert "session has expired" in response.get_data(as_text=True)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_post_before_any_page_was_shown_is_refused(app):
    """No session yet, so no secret: whatever token is sent, it cannot match."""
    response = https_client(app).post(START, data={"csrf_token": "a" * 64})
    assert response.status_code == 400


def test_token_is_bound_to_the_app_secret(database_url, app):
    """The same session secret under another app secret gives another token."""
    from survey_app import create_app

    client = https_client(app)
    token = token_of(client)
    with client.session_transaction() as session:
        secret = session["csrf_secret"]
    other = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "another secret"})
    other_client = https_client(other)
    with other_client.session_transaction() as session:
        session["csrf_secret"] = secret
    assert other_client.post(START, data={"csrf_token": token}).status_code == 400
    other.extensions["csi"]["engine"].dispose()


def test_clearing_the_session_kills_old_tokens(app):
    client = https_client(app)
    token = token_of(client)
    with client.session_transaction() as session:
        session.clear()                                   # what logging in or out does
    assert client.post(START, data={"csrf_token": token}).status_code == 400
    assert token_of(client) != token


def test_exempt_blueprints_need_no_token_and_unknown_urls_stay_404():
    from flask import Blueprint, Flask

    from survey_app.csrf import CSRFProtection

    app = Flask(__name__)
    app.secret_key = "test"
    api, forms = Blueprint("api", __name__), Blueprint("forms", __name__)
    api.add_url_rule("/api/thing", "thing", lambda: "api ok", methods=["POST"])
    forms.add_url_rule("/form", "form", lambda: "form ok", methods=["POST"])
    protection = CSRFProtection(app)
    protection.exempt(api)
    app.register_blueprint(api)
    app.register_blueprint(forms)
    client = app.test_client()
    assert client.post("/api/thing").get_data(as_text=True) == "api ok"
    assert client.post("/form").status_code == 400
    assert client.post("/no/such/page").status_code == 404
    assert client.get("/form").status_code == 405


def test_a_session_cleared_after_the_check_gets_a_fresh_token_in_the_same_request(app):
    """The token checked on a post is reused for the page it answers with, but only while the
    session keeps the same secret: a view that clears the session (login) renders new tokens."""
    from flask import session

    from survey_app.csrf import SESSION_KEY, generate_csrf

    with app.test_request_context("/"):
        first = generate_csrf()
        assert generate_csrf() == first
        session.clear()
        second = generate_csrf()
        assert second != first and session[SESSION_KEY]
