"""Hostile input to the admin console: random form fields, broken uploads (invalid
UTF-8, binary, huge, malformed CSV and YAML), unknown ids and formats, forged CSRF
tokens. Always a 4xx or a redirect with a message, never a 500, nothing half-stored."""
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage.tables import Invitation, QuestionnaireVersion, Wave
from tests.conftest import sqlite_copy

from .test_admin import accounts, admin_client, csrf_of  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    return sqlite_copy(request, tmp_path)  # a copy of the session's migrated template


def counts(engine):
    with Session(engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (QuestionnaireVersion, Wave, Invitation))


FILES = st.one_of(st.binary(max_size=2000), st.sampled_from([
    b"\xff\xfe\x00garbage", b"", b"a,b\n1,2,3\n", b"region\n" + b"north\n" * 3, b"id: [unclosed\n",
    b"id: x\nversion: 1\npages: 7\n", "区域,等级\n北,金\n".encode("utf-8"), b"\x00" * 500,
    b"id: x\n" + b"a" * 70_000]))
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", "2027Q1", "../../etc", "<script>", "x" * 200, "open",
                                                         "close", "called", "resolved", "lost"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(["/admin/questionnaires", "/admin/waves/{wave}/invitations", "/admin/waves",
                               "/admin/waves/{wave}/state", "/admin/follow-up/1", "/admin/waves/99999/state"]),
       fields=st.dictionaries(st.sampled_from(["name", "questionnaire_id", "action", "status", "note", "open", "junk"]),
                              TEXT, max_size=4),
       upload=FILES, forge=st.booleans())
def test_random_admin_posts_never_500(admin_client, engine, target, fields, upload, forge):
    with Session(engine) as session:
        wave_id = session.scalar(select(Wave.id).where(Wave.name == "2026Q4").limit(1))
    page = admin_client.get("/admin/").get_data(as_text=True)
    token = "forged-" + csrf_of(page)[::-1] if forge else csrf_of(page)
    before = counts(engine)
    data = {"csrf_token": token, **fields, "file": (io.BytesIO(upload), "upload.csv")}
    response = admin_client.post(target.format(wave=wave_id), data=data, content_type="multipart/form-data")
    assert response.status_code < 500, (target, response.status_code)
    assert "Traceback" not in response.get_data(as_text=True)
    if forge:  # refused (CSRF, or 413 for a body over the limit before the token is read); nothing stored
        assert response.status_code in (400, 413) and counts(engine) == before


@pytest.mark.parametrize("url", ["/admin/waves/99999", "/admin/waves/99999/report", "/admin/waves/1/export?format=exe",
                                 "/admin/waves/1/export?layout=sideways", "/admin/follow-up?status=lost",
                                 "/admin/follow-up/99999", "/admin/waves/x"])
def test_unknown_ids_and_options_are_4xx(admin_client, url):
    response = admin_client.get(url)
    assert 400 <= response.status_code < 500 or response.status_code == 302, (url, response.status_code)


def test_login_page_with_a_hostile_next_parameter(app, accounts):
    from .conftest import https_client
    from .test_admin import login
    client = https_client(app)
    assert client.get("/admin/login?next=%00%ff").status_code == 400  # NUL: refused app-wide
    assert client.get("/admin/login?next=%ff").status_code == 200
    response = login(client, next_url="%ff")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
