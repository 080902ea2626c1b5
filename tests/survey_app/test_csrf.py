"""CSRF protection as configured (Flask-WTF's CSRFProtect, no time limit): respondent and
admin forms need the session's token, in the field or the header; other tokens are refused
with the calm 400 page before any view runs."""
import re
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage.tables import Response
from survey_app.state import state_of

from .conftest import https_client

INTRO = "/s/acsi-retail/2026Q4"
START = "/s/acsi-retail/2026Q4/start"


def token_of(client, url=INTRO) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def responses(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Response))


def test_tokens_are_bound_to_the_session_and_do_not_reveal_its_secret(app):
    one, two = https_client(app), https_client(app)
    first, again = token_of(one), token_of(one)
    with one.session_transaction() as session:
        secret = session["csrf_token"]
    assert secret not in first
    assert one.post(START, data={"csrf_token": first}).status_code == 200
    assert one.post(START, data={"csrf_token": again}).status_code == 302  # any page's token of the session (resumed)
    token_of(two)
    assert two.post(START, data={"csrf_token": first}).status_code == 400        # not another session's


@pytest.mark.parametrize("how", ["field", "header"])
def test_the_right_token_in_the_field_or_the_header_is_accepted(app, how):
    client = https_client(app)
    token = token_of(client)
    if how == "field":
        response = client.post(START, data={"csrf_token": token})
    else:
        response = client.post(START, data={}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "/p/1" in response.get_data(as_text=True)


@pytest.mark.parametrize("sent", ["", "0" * 64, "é" * 64, "x" * 10_000, None, "forged.token.value"],
                         ids=["empty", "zeros", "non-ascii", "huge", "absent", "forged"])
def test_wrong_tokens_get_the_400_page_and_nothing_is_started(app, engine, sent):
    client = https_client(app)
    token_of(client)
    response = client.post(START, data={} if sent is None else {"csrf_token": sent})
    assert response.status_code == 400
    assert "session has expired" in response.get_data(as_text=True)
    assert responses(engine) == 0


def test_a_post_before_any_page_was_shown_is_refused(app):
    """No session yet, so no secret: whatever token is sent, it cannot match."""
    assert https_client(app).post(START, data={"csrf_token": "a" * 64}).status_code == 400


def test_token_is_bound_to_the_app_secret(database_url, app):
    """The same session secret under another app secret: the token does not verify."""
    from survey_app import create_app

    client = https_client(app)
    token = token_of(client)
    with client.session_transaction() as session:
        secret = session["csrf_token"]
    other = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "another secret"})
    other_client = https_client(other)
    with other_client.session_transaction() as session:
        session["csrf_token"] = secret
    assert other_client.post(START, data={"csrf_token": token}).status_code == 400
    state_of(other).engine.dispose()


def test_clearing_the_session_kills_old_tokens(app):
    client = https_client(app)
    token = token_of(client)
    with client.session_transaction() as session:
        session.clear()                                   # what logging in or out does
    assert client.post(START, data={"csrf_token": token}).status_code == 400


def test_a_page_left_open_for_weeks_is_still_accepted(app, engine, monkeypatch):
    """No time limit on the token: only the session's own 30-day lifetime applies."""
    client = https_client(app)
    token = token_of(client)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 29 * 86400)
    assert client.post(START, data={"csrf_token": token}).status_code == 200
    assert responses(engine) == 1


def test_admin_forms_need_the_token_too(app):
    client = https_client(app)
    credentials = {"username": "nobody", "password": "wrong password"}
    refused = client.post("/admin/login", data=credentials)
    assert refused.status_code == 400 and "session has expired" in refused.get_data(as_text=True)
    token = token_of(client, "/admin/login")
    assert client.post("/admin/login", data={**credentials, "csrf_token": token}).status_code == 401
