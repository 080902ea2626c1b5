"""The admin console and API: nothing without login, roles respected, login throttled,
sessions that really end; waves, invitations, live view, follow-up queue, exports and
reports work as a company uses them. Runs on SQLite and PostgreSQL."""
import csv
import io
import re
import time

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, find_wave, load_wave_frame
from models.storage.accounts import MAX_FAILURES, create_admin, create_api_token
from models.storage.tables import Invitation, Response, QuestionnaireVersion
from survey_app.state import state_of

from .conftest import Respondent, https_client

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(app, engine):
    with Session(engine) as session:
        create_admin(session, "alice", PASSWORD, "admin")
        create_admin(session, "victor", PASSWORD, "viewer")
        token = create_api_token(session, "alice", "tests")
        session.commit()
    return {"token": token}


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', text).group(1)


def login(client, username="alice", password=PASSWORD, next_url=None):
    page = client.get("/admin/login")
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": username,
                                  "password": password})


@pytest.fixture
def admin_client(app, accounts):
    client = https_client(app)
    assert login(client).status_code == 302
    return client


@pytest.fixture
def fielded(engine, acsi):
    """Two waves of 300 simulated complete responses each (the shipped ACSI questionnaire)."""
    with Session(engine) as session:
        survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        for name, shift, seed in (("2026Q3", 0.0, 1), ("2026Q4", 0.25, 2)):
            wave = find_wave(session, "acsi-retail", name)
            bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, 300, seed=seed, shift=shift))
        session.commit()


def admin_urls(app):
    """Every admin and API route with its methods, ids filled in (1); not the login page and the
    language switch, which work before login (they show and change nothing but the language)."""
    out = []
    for rule in app.url_map.iter_rules():
        if (rule.endpoint.split(".")[0] not in ("admin", "api")
                or rule.endpoint in ("admin.login", "admin.set_language", "api.openapi")):
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: {"questionnaire_id": "acsi-retail", "wave_name": "2026Q4"}.get(m[1], "1"),
                     rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.append((rule.endpoint, method, url))
    return out


def test_every_admin_and_api_route_needs_login(database_url):
    from survey_app import create_app
    app = create_app({"DATABASE_URL": database_url, "AUTO_MIGRATE": True, "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = https_client(app)
    routes = admin_urls(app)
    assert len(routes) >= 14
    for endpoint, method, url in routes:
        response = client.open(url, method=method)
        body = response.get_data(as_text=True)
        if endpoint.startswith("api."):
            assert response.status_code == 401, (endpoint, response.status_code)
            assert response.is_json and "token" in response.json["error"]
            forged = client.open(url, method=method, headers={"Authorization": "Bearer csi_forged"})
            assert forged.status_code == 401
        else:
            assert response.status_code == 302, (endpoint, method, response.status_code)
            assert "/admin/login" in response.headers["Location"]
            shown = body.replace(url, "")  # the redirect names the page asked for (/admin/surveys/acsi-retail/...)
            assert "acsi" not in shown.lower() and "respon" not in shown.lower()
    state_of(app).engine.dispose()


def test_viewer_reads_but_cannot_change(app, accounts, engine):
    client = https_client(app)
    assert login(client, "victor").status_code == 302
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    token = csrf_of(page)
    assert "Create wave" not in page and "Upload a questionnaire" not in page
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    for url, data in ((f"/admin/waves/{wave_id}/state", {"action": "close"}),
                      ("/admin/waves", {"questionnaire_id": "acsi-retail", "name": "2027Q1"}),
                      ("/admin/questionnaires", {})):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 403, url
    with Session(engine) as session:
        assert find_wave(session, "acsi-retail", "2026Q4").closed is False
        assert find_wave(session, "acsi-retail", "2027Q1", required=False) is None


def test_login_is_throttled_after_repeated_failures(app, accounts):
    client = https_client(app)
    for _ in range(MAX_FAILURES):
        assert login(client, password="wrong password!").status_code == 401
    blocked = login(client)  # even the right password, until the failures age out
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "too many failed logins" in blocked.get_data(as_text=True)
    assert login(https_client(app), "victor").status_code == 302  # other accounts are unaffected


def test_session_is_replaced_at_login_and_ended_by_logout(app, accounts):
    client = https_client(app)
    client.get("/s/acsi-retail/2026Q4")  # a respondent-side session exists before login
    before = client.get_cookie("csi_session").value
    assert login(client).status_code == 302
    after = client.get_cookie("csi_session").value
    assert after != before
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": csrf_of(page)})
    # Replaying the cookie from before logout opens nothing: the session is gone server-side.
    replay = https_client(app)
    replay.set_cookie("csi_session", after, domain="localhost")
    response = replay.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_idle_sessions_expire(database_url):
    from survey_app import create_app
    app = create_app({"DATABASE_URL": database_url, "AUTO_MIGRATE": True, "TESTING": True,
                      "ADMIN_IDLE_MINUTES": 0.005})
    with Session(state_of(app).engine) as session:
        create_admin(session, "alice", PASSWORD)
        session.commit()
    client = https_client(app)
    assert login(client).status_code == 302
    assert client.get("/admin/").status_code == 200
    time.sleep(0.5)
    assert client.get("/admin/").status_code == 302
    state_of(app).engine.dispose()


@pytest.mark.parametrize("target, expected", [("/admin/follow-up", "/admin/follow-up"),
                                              ("https://evil.example/admin", "/admin/"),
                                              ("//evil.example/admin", "/admin/")])
def test_login_redirects_only_to_local_admin_pages(app, accounts, target, expected):
    response = login(https_client(app), next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_wave_lifecycle_and_questionnaire_upload(admin_client, engine, acsi):
    token = csrf_of(admin_client.get("/admin/").get_data(as_text=True))
    created = admin_client.post("/admin/waves", data={"csrf_token": token, "questionnaire_id": "acsi-retail",
                                                      "name": "2027Q1", "open": "1"}, follow_redirects=True)
    assert "Wave 2027Q1 of acsi-retail created (open)" in created.get_data(as_text=True)
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2027Q1")
        assert wave.is_open()
    admin_client.post(f"/admin/waves/{wave.id}/state", data={"csrf_token": token, "action": "close"})
    with Session(engine) as session:
        assert find_wave(session, "acsi-retail", "2027Q1").closed
    duplicate = admin_client.post("/admin/waves", data={"csrf_token": token, "questionnaire_id": "acsi-retail",
                                                        "name": "2027Q1"}, follow_redirects=True)
    assert "already exists" in duplicate.get_data(as_text=True)
    bad = "id: broken\nversion: 1\npages:\n  - id: p\n    questions:\n      - id: q1\n        type: rating\n        scale: nowhere\n"
    rejected = admin_client.post("/admin/questionnaires", data={"csrf_token": token,
                                 "file": (io.BytesIO(bad.encode()), "broken.yaml")}, content_type="multipart/form-data")
    text = rejected.get_data(as_text=True)
    assert rejected.status_code == 422
    assert re.search(r"broken\.yaml:\d+: ", text), text[:2000]
    with Session(engine) as session:
        assert session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "broken")) is None
    newer = acsi.raw | {"version": "2"}
    import json
    accepted = admin_client.post("/admin/questionnaires", data={"csrf_token": token,
                                 "file": (io.BytesIO(json.dumps(newer).encode()), "acsi_v2.json")},
                                 content_type="multipart/form-data", follow_redirects=True)
    assert "acsi_v2.json: ok: acsi-retail v2" in accepted.get_data(as_text=True)


def test_bulk_invitations_with_segments(admin_client, engine, client):
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    token = csrf_of(admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True))
    people = "email,region,tier,channel\na@example.com,north,gold,store\nb@example.com,south,basic,online\n"
    response = admin_client.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(people.encode()), "people.csv")})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["region"] for r in rows] == ["north", "south"]
    links = [r["link"] for r in rows]
    assert all(re.fullmatch(r"https?://[^/]+/i/[A-Za-z0-9_-]{43}", link) for link in links)
    with Session(engine) as session:
        stored = session.scalars(select(Invitation).where(Invitation.wave_id == wave_id)).all()
        assert sorted(i.attributes["tier"] for i in stored) == ["basic", "gold"]
        assert all(link.rsplit("/", 1)[1] not in i.token_hash for i in stored for link in links)
    opened = client.get("/" + links[0].split("/", 3)[3])
    assert opened.status_code in (200, 302)
    bad = admin_client.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                            data={"csrf_token": token, "file": (io.BytesIO(b"region,tier\nnorth,gold,extra\n"), "bad.csv")},
                            follow_redirects=True)
    assert "bad.csv:2: more cells than header columns" in bad.get_data(as_text=True)


def test_invitation_upload_checks_and_skips_like_the_cli(admin_client, engine):
    """The wave page's upload is csi invitations import's import: a bad address is refused with
    its file line and column (and nothing stored), a second upload of the same people issues
    no new link, and the funnel counts each person once."""
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    token = csrf_of(admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True))

    def upload(content: str, name="people.csv", **options):
        return admin_client.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(content.encode()), name)}, **options)

    def stored():
        with Session(engine) as session:
            return session.scalars(select(Invitation).where(Invitation.wave_id == wave_id)).all()

    bad = upload("email,tier\na@example.com,gold\nb@example.com,basic\nbad-email,gold\n", follow_redirects=True)
    page = bad.get_data(as_text=True)
    assert "people.csv, line 4, email: &#39;bad-email&#39; is not a valid e-mail address" in page
    assert "Nothing was stored" in page and stored() == []
    people = "email,tier\na@example.com,gold\nB@example.com,basic\nc@example.com,gold\n"
    first = upload(people)
    assert first.status_code == 200 and first.mimetype == "text/csv"
    assert len(list(csv.DictReader(io.StringIO(first.get_data(as_text=True).lstrip("\ufeff"))))) == 3
    assert sorted(i.email for i in stored()) == ["a@example.com", "b@example.com", "c@example.com"]
    assert {i.mail_status for i in stored()} == {None}  # links handed out, never e-mailed
    assert "B@example.com" in {i.attributes["email"] for i in stored()}  # attr_email in exports, as before
    again = upload(people, follow_redirects=True)
    assert again.mimetype == "text/html"
    assert "No new invitations: all 3 people in the file were already invited" in again.get_data(as_text=True)
    more = upload(people + "d@example.com,basic\n")
    rows = list(csv.DictReader(io.StringIO(more.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["email"] for r in rows] == ["d@example.com"] and len(stored()) == 4
    wave_page = admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert "1 invitations issued (in the download); 3 people already invited to this wave were skipped." in wave_page
    # In Chinese, the same refusal in Chinese, with its line.
    admin_client.set_cookie("csi_console_lang", "zh-CN", path="/admin")
    chinese = upload("email\nx@example.com\nx@example.com\n", name="名单.csv", follow_redirects=True)
    assert "名单.csv，第 3 行，email：x@example.com 也出现在第 2 行" in chinese.get_data(as_text=True)
    assert len(stored()) == 4


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_invitation_lists_end_lines_as_spreadsheets_save_them(admin_client, engine, ending):
    """A list saved with bare carriage returns (Excel's "CSV (Macintosh)") reads as the same
    rows as one with LF or CRLF, on the console and in csi invitations import, with the same
    line numbers; a line break inside a quoted cell stays in the cell."""
    from models.storage import StorageError
    from models.storage.invitations import read_invitation_csv
    lines = ["email,tier,note", "a@example.com,gold,", 'b@example.com,basic,"two\nlines"', "bad-email,gold,"]
    content = (ending.join(lines) + ending).encode()
    good = (ending.join(lines[:3]) + ending).encode()
    assert [(r["email"], r["tier"], r["note"]) for r in read_invitation_csv(good, "people.csv")] == [
        ("a@example.com", "gold", ""), ("b@example.com", "basic", "two\nlines")]
    with pytest.raises(StorageError, match=r"\Apeople.csv:3: more cells than header columns"):
        read_invitation_csv((ending.join(lines[:2] + ["b@example.com,basic,x,y"]) + ending).encode(), "people.csv")
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    token = csrf_of(admin_client.get(f"/admin/waves/{wave_id}").get_data(as_text=True))

    def upload(data: bytes, **options):
        return admin_client.post(f"/admin/waves/{wave_id}/invitations", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(data), "people.csv")}, **options)
    refused = upload(content, follow_redirects=True).get_data(as_text=True)
    assert "people.csv, line 5, email: &#39;bad-email&#39; is not a valid e-mail address" in refused  # (b's note: 2 lines)
    issued = upload(good)
    rows = list(csv.DictReader(io.StringIO(issued.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["email"], r["tier"]) for r in rows] == [("a@example.com", "gold"), ("b@example.com", "basic")]


def test_live_view_and_follow_up_queue(app, admin_client, engine, acsi):
    # One satisfied and one dissatisfied customer answer through the web survey.
    for satisfaction in (9, 2):
        person = Respondent(https_client(app), acsi, {"sat_overall": str(satisfaction), "complained": "no"})
        done = person.finish(person.start())
    # The dissatisfied one agrees to be called (only callable customers are in the queue).
    person.post(done.url, {"csrf_token": done.csrf, "phone": "+86 138 0000 0000", "consent": "yes"})
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        flagged = session.scalars(select(Response).where(Response.follow_up.is_(True))).all()
    assert len(flagged) == 1
    view = admin_client.get(f"/admin/waves/{wave.id}").get_data(as_text=True)
    assert re.search(r'id="started">2<', view) and re.search(r'id="completed">2<', view)
    assert "100%" in view and "sat_overall" in view
    # Multiple choice: each option counted over the two respondents who answered.
    categories = view[view.index("<code>categories</code>"):view.index("<code>visits_per_month</code>")]
    assert "(2 answered of 2 asked, 100%)" in categories and re.search(r'<progress max="2" value="2"></progress></td><td>2<', categories)
    queue = admin_client.get("/admin/follow-up").get_data(as_text=True)
    assert f"#{flagged[0].id}" in queue
    item = admin_client.get(f"/admin/follow-up/{flagged[0].id}").get_data(as_text=True)
    assert "Dissatisfied customer" in item and "sat_overall" in item
    assert "Groceries, Home goods" in item and '["grocery"' not in item  # labels, not stored codes
    assert "3 (Neutral)" in item  # sat_level: the 5-point labelled scale, answered 3
    saved = admin_client.post(f"/admin/follow-up/{flagged[0].id}", data={
        "csrf_token": csrf_of(item), "status": "called", "note": "Called; refund agreed."}, follow_redirects=True)
    assert saved.status_code == 200
    with Session(engine) as session:
        row = session.get(Response, flagged[0].id)
        assert (row.follow_up_status, row.follow_up_note) == ("called", "Called; refund agreed.")
    assert f"#{flagged[0].id}" not in admin_client.get("/admin/follow-up?status=open").get_data(as_text=True)
    refused = admin_client.post(f"/admin/follow-up/{flagged[0].id}", data={"csrf_token": csrf_of(item), "status": "lost"},
                                follow_redirects=True)
    assert "choose one of open, called, resolved" in refused.get_data(as_text=True)


def test_overdue_follow_ups_are_counted_at_the_top(app, accounts, engine, acsi):
    app.config["FOLLOW_UP_OVERDUE_HOURS"] = 0
    person = Respondent(https_client(app), acsi, {"sat_overall": "1", "complained": "no"})
    done = person.finish(person.start())
    person.post(done.url, {"csrf_token": done.csrf, "phone": "+86 138 0000 0000", "consent": "yes"})
    client = https_client(app)
    login(client)
    page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'id="overdue">1<', page)
    assert "1 open follow-up past their survey&#39;s call-back SLA" in page


def test_exports_round_trip_with_labels(admin_client, engine, acsi, fielded):
    import pyreadstat
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    stored = load_wave_frame(engine, "acsi-retail", "2026Q4")
    sav = admin_client.get(f"/admin/waves/{wave_id}/export?format=sav")
    assert sav.status_code == 200
    path = f"/tmp/csi-test-{wave_id}-{time.time_ns()}.sav"
    with open(path, "wb") as handle:
        handle.write(sav.data)
    frame, meta = pyreadstat.read_sav(path)
    labels = dict(zip(meta.column_names, meta.column_labels))
    assert labels["sat_overall"] == acsi.question("sat_overall").text.get()
    assert meta.variable_value_labels["sat_level"][5.0] == "Very satisfied"
    assert meta.variable_value_labels["channel"]["store"] == "In a store"
    frame = frame.set_index("response_id")
    assert len(frame) == 300
    assert (frame["sat_overall"].to_numpy() == stored["sat_overall"].to_numpy()).all()
    assert set(frame["categories__grocery"].dropna().unique()) <= {0.0, 1.0}
    csv_wide = pd.read_csv(io.BytesIO(admin_client.get(f"/admin/waves/{wave_id}/export?format=csv").data),
                           encoding="utf-8-sig", index_col="response_id")
    assert (csv_wide["loy_repurchase"].to_numpy() == stored["loy_repurchase"].to_numpy()).all()
    xlsx = pd.read_excel(io.BytesIO(admin_client.get(f"/admin/waves/{wave_id}/export?format=xlsx").data),
                         sheet_name=None)
    assert len(xlsx["responses"]) == 300 and "sat_overall" in set(xlsx["variables"]["variable"])
    long = pd.read_csv(io.BytesIO(admin_client.get(f"/admin/waves/{wave_id}/export?format=csv&layout=long").data),
                       encoding="utf-8-sig")
    assert set(long.columns) == {"response_id", "question_id", "value"}
    assert long["response_id"].nunique() == 300
    assert admin_client.get(f"/admin/waves/{wave_id}/export?format=exe").status_code == 400


def test_api_with_a_token(app, accounts, fielded):
    client = https_client(app)
    headers = {"Authorization": f"Bearer {accounts['token']}"}
    surveys = client.get("/api/v1/surveys", headers=headers).json["surveys"]
    retail = next(s for s in surveys if s["id"] == "acsi-retail")
    assert {w["name"]: w["completed"] for w in retail["waves"]} == {"2026Q3": 300, "2026Q4": 300}
    responses = client.get("/api/v1/surveys/acsi-retail/waves/2026Q4/responses", headers=headers).json
    assert responses["count"] == 300 and "sat_overall" in responses["responses"][0]
    indices = client.get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices?boot=200&seed=3", headers=headers).json
    from analysis import fit
    from models import load_questionnaire
    import questionnaires
    q = load_questionnaire(questionnaires.path("acsi_retail"))
    direct = fit(q.csi_model(), load_wave_frame(state_of(app).engine, "acsi-retail", "2026Q4"), questionnaire=q)
    by_name = {row["construct"]: row for row in indices["index"]}
    assert by_name["satisfaction"]["estimate"] == pytest.approx(direct.index["satisfaction"], abs=1e-9)
    assert by_name["satisfaction"]["ci_low"] < by_name["satisfaction"]["estimate"] < by_name["satisfaction"]["ci_high"]
    assert client.get("/api/v1/surveys/acsi-retail/waves/1999Q1/responses", headers=headers).status_code == 404
    assert client.get("/api/v1/surveys/acsi-retail/waves/2026Q4/indices?boot=x", headers=headers).status_code == 400
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["paths"]) == {"/surveys", "/surveys/{questionnaire_id}/waves/{wave}/responses",
                                  "/surveys/{questionnaire_id}/waves/{wave}/indices", "/surveys/{questionnaire_id}/dashboard",
                                  "/surveys/{questionnaire_id}/waves/{wave}/quotas"}


def test_headers_and_cookie_flags_on_admin_api_and_download_responses(app, admin_client, accounts, fielded, engine):
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
    anonymous = https_client(app)
    responses = {
        "login page": anonymous.get("/admin/login"),
        "redirect to login": anonymous.get("/admin/"),
        "failed login": login(https_client(app), password="not the password"),
        "console page": admin_client.get("/admin/"),
        "403": https_client(app).post("/admin/waves", data={}),  # CSRF refusal for anonymous posts
        "csv download": admin_client.get(f"/admin/waves/{wave_id}/export?format=csv"),
        "sav download": admin_client.get(f"/admin/waves/{wave_id}/export?format=sav"),
        "api 401": anonymous.get("/api/v1/surveys"),
        "api json": anonymous.get("/api/v1/surveys", headers={"Authorization": f"Bearer {accounts['token']}"}),
        "api 404": anonymous.get("/api/v1/nothing-here"),
        "openapi": anonymous.get("/api/v1/openapi.json"),
    }
    for name, response in responses.items():
        assert response.headers["X-Frame-Options"] == "DENY", name
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "no-referrer", name
        assert response.headers["Cache-Control"] == "no-store", name
    assert responses["api 404"].status_code == 404 and responses["api 404"].is_json
    fresh = https_client(app)
    login(fresh)
    cookie = fresh.get_cookie("csi_session")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("names, expected", [
    (["2026Q3", "2026Q4"], "2027Q1"), (["2026Q4", "2025Q1", "pilot"], "2027Q1"), (["2026Q1"], "2026Q2"),
    (["pilot"], "2026Q4"), ([], "2026Q4"),
])
def test_new_wave_example_is_the_quarter_after_the_latest(names, expected):
    from datetime import date

    from survey_app.admin import next_wave_name
    assert next_wave_name(names, today=date(2026, 12, 2)) == expected


def test_home_page_suggests_a_wave_that_does_not_exist_yet(admin_client, engine):
    from models.storage import create_wave
    with Session(engine) as session:
        version = find_wave(session, "acsi-retail", "2026Q4").survey_id
        create_wave(session, session.get(QuestionnaireVersion, version), "2027Q1")
        session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert 'placeholder="2027Q2"' in page and 'placeholder="2027Q1"' not in page.split("acsi-retail v")[1].split("</section>")[0]
