"""Endpoint fuzzing: malformed, oversized, duplicated and unknown fields, wrong types,
invalid UTF-8, forged tokens. Always a 4xx with a clear page (or, for a valid post, the next
page or a redirect to the thank-you page), never a 500, and nothing stored from a rejected post."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage.tables import Answer
from tests.conftest import sqlite_copy

from .conftest import Respondent

PAGE_FIELDS = ["exp_overall", "exp_customization", "exp_reliability"]
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["1", "10", "11", "0", "99", "-1", "1e9", "", " ", "NaN",
                                                          "5\x00", "\x00", "=1+1", "\r\n"]),
                   st.text(st.characters(codec="utf-8"), max_size=30),  # every code point, NUL and controls too
                   st.text(min_size=3000, max_size=5000))


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return sqlite_copy(request, tmp_path)  # a copy of the session's migrated template


def answers(engine):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Answer))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.dictionaries(st.one_of(st.sampled_from(PAGE_FIELDS + ["nav", "submission_id", "csrf_token"]),
                                        st.text(min_size=1, max_size=12)),
                              st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=3)), max_size=6),
       keep_token=st.booleans())
def test_random_page_posts_never_500(client, acsi, engine, fields, keep_token):
    person = Respondent(client, acsi)
    page = person.get("/s/acsi-retail/2026Q4/p/2")
    if not page.question_ids:
        page = person.answer(person.start())
    before = answers(engine)
    data = person.page_data(page)
    data.update(fields)
    if keep_token:
        data["csrf_token"] = page.csrf
    response = client.post(page.url, data=data)
    assert response.status_code in (200, 302, 400, 413, 422), response.status_code
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    if response.status_code == 200:  # accepted: the next page, at its own address
        assert '<form method="post" action="/s/acsi-retail/2026Q4/p/3"' in text
    if response.status_code in (400, 413, 422):
        assert answers(engine) == before
    if any("\x00" in k or "\x00" in str(v) for k, v in data.items()):  # refused app-wide, whatever else
        assert response.status_code in (400, 413)


def test_invalid_utf8_wrong_types_and_duplicates(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.answer(person.start())
    before = answers(engine)
    good = person.page_data(page)
    cases = [
        dict(data=b"exp_overall=\xff\xfe&csrf_token=" + page.csrf.encode(), content_type="application/x-www-form-urlencoded"),
        dict(data=b'{"exp_overall": 5}', content_type="application/json"),
        dict(data=b"\x00" * 100, content_type="multipart/form-data; boundary=zzz"),
        dict(data={**good, "csrf_token": [page.csrf, page.csrf]}),
        dict(data={**good, "submission_id": [good["submission_id"], "other-submission-id"]}),
        dict(data={**good, "submission_id": "x"}),
        dict(data={**good, "nav": "sideways"}),
    ]
    for case in cases:
        response = client.post(page.url, **case)
        assert response.status_code == 400, case
        assert "nothing was saved" in response.get_data(as_text=True) or "session has expired" in response.get_data(as_text=True)
    assert answers(engine) == before


@pytest.mark.parametrize("path", [
    "/i/" + "%00" * 20, "/i/" + "é" * 30, "/i/..%2F..%2Fetc%2Fpasswd" + "a" * 20, "/s/acsi-retail/2026Q4/p/999999999999",
    "/s/acsi-retail/2026Q4/p/-1", "/s/%3Cscript%3E/2026Q4", "/static/../instance/secret_key", "/static/%2e%2e/config.py",
    "/s/acsi-retail/2026Q4?lang=%3Cscript%3E", "/s/acsi-retail/2026Q4/done",
])
def test_odd_urls_get_clear_pages(client, acsi, path):
    response = client.get(path)
    text = response.get_data(as_text=True)
    assert response.status_code in ((400,) if "%00" in path else (200, 302, 404)), (path, response.status_code)
    assert "Traceback" not in text and "<script>" not in text
    if response.status_code == 200:
        assert "<html" in text


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused_plainly(client, method):
    response = getattr(client, method)("/s/acsi-retail/2026Q4")
    assert response.status_code == 405 and "Not allowed" in response.get_data(as_text=True)


def test_guessed_invitation_tokens_find_nothing(client, acsi, engine, invitations):
    import secrets
    for _ in range(50):
        response = client.get(f"/i/{secrets.token_urlsafe(32)}")
        assert response.status_code == 404
    with Session(engine) as session:
        from models.storage.tables import Response
        assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_security_headers_on_every_response_type(client, acsi):
    person = Respondent(client, acsi)
    page = person.start()
    responses = [client.get("/s/acsi-retail/2026Q4"), client.get("/static/style.css"), client.get("/nope"),
                 client.post(page.url, data={"x": "1"}), client.post("/s/acsi-retail/2026Q4/start"),
                 client.get("/s/acsi-retail/2026Q4/p/1"), client.delete("/s/acsi-retail/2026Q4")]
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY", response.status_code
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
