"""The survey dashboard (console page, API, CLI) and the per-survey follow-up SLA, on SQLite
and PostgreSQL: its estimates are the stored analysis' (index and interval bounds, per
segment too), a wave without one says so and offers the job; the funnel and the
completions per day equal counts set up here; overdue follow-ups follow each survey's
SLA for responses of known age; hostile input gets a 404 or a specific message."""
from __future__ import annotations

import html
import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analysis.simulate import simulate_responses
from models.storage import bulk_insert_responses, create_invitations, find_wave
from models.storage.dashboard import survey_dashboard
from models.storage.follow_up import (QueueFilter, follow_up_queue, overdue_by_survey, set_sla_hours,
                                      sla_hours_by_survey)
from models.storage.repository import StorageError
from models.storage.tables import Answer, Invitation, Response, QuestionnaireVersion, QuestionnaireSetting
from survey_app import dashboard_charts as charts

from .conftest import https_client
from .test_admin import accounts, admin_client, csrf_of, fielded, login  # noqa: F401  (fixtures)
from .test_admin_jobs import queued_app  # noqa: F401  (fixture)
from .test_console_i18n import console_data  # noqa: F401  (fixture)

DASHBOARD = "/admin/surveys/acsi-retail/dashboard"


def api_get(client, token, path):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def dashboard_schema(app):
    document = json.loads(https_client(app).get("/api/v1/openapi.json").get_data(as_text=True))
    schema = dict(document["components"]["schemas"]["Dashboard"])
    schema["components"] = document["components"]  # for any $ref inside
    return schema


def tag_segments(engine, wave_name: str, tiers: list[str]) -> None:
    """Give the wave's complete responses invitations with a tier (in response order)."""
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", wave_name)
        ids = list(session.scalars(select(Response.id).where(Response.wave_id == wave.id).order_by(Response.id)))
        create_invitations(session, wave, [{"tier": tier} for tier in tiers[:len(ids)]])
        session.flush()
        invitations = list(session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)
                                           .order_by(Invitation.id)))
        for response_id, invitation_id in zip(ids, invitations):
            session.execute(update(Response).where(Response.id == response_id).values(invitation_id=invitation_id))
        session.commit()


def close(a, b, tolerance=1e-9):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tolerance)


def test_dashboard_shows_the_stored_analysis_and_offers_the_missing_one(queued_app, app, admin_client, engine, fielded,
                                                                         accounts):
    from analysis.stored import compute_analysis, read_stored
    tag_segments(engine, "2026Q4", ["gold", "basic"] * 150)
    # Only 2026Q4 is stored (2026Q3 is fitted as its reference but not stored).
    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=60, n_perm=30)
    stored = read_stored(engine, "acsi-retail", "2026Q4")
    expected = {r["construct"]: r for r in stored.fit.index_table.to_dict("records")}
    (tiers,) = [s for s in stored.segments if s.variable == "tier"]
    expected_segments = {(r["segment"], r["construct"]): r for r in tiers.index_table.to_dict("records")}
    assert {segment for segment, _ in expected_segments} == {"gold", "basic"}

    data = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard").json
    jsonschema.validate(data, dashboard_schema(app))
    assert data["wave"] == "2026Q4" and [w["name"] for w in data["waves"]] == ["2026Q3", "2026Q4"]
    older, latest = data["waves"]
    assert older["analysis"] == {"status": "not computed"} and older["completed"] == 300
    assert latest["analysis"]["status"] == "stored" and latest["analysis"]["current"] is True
    assert latest["analysis"]["n"] == 300 and latest["analysis"]["bootstrap"] == 60
    assert {r["construct"] for r in latest["analysis"]["index"]} == set(expected)
    for row in latest["analysis"]["index"]:
        want = expected[row["construct"]]
        assert close(row["estimate"], want["estimate"]) and close(row["ci_low"], want["ci_low"])
        assert close(row["ci_high"], want["ci_high"]) and row["ci_low"] < row["estimate"] < row["ci_high"]
    assert data["segments"]["status"] == "stored"
    (block,) = [b for b in data["segments"]["variables"] if b["variable"] == "tier"]
    assert len(block["rows"]) == len(expected_segments)
    for row in block["rows"]:
        want = expected_segments[(row["segment"], row["construct"])]
        assert row["n"] == want["n"] == 150
        assert close(row["estimate"], want["estimate"]) and close(row["ci_low"], want["ci_low"])
        assert close(row["ci_high"], want["ci_high"])
    # One day of completions (the simulated responses all completed now), 300 + 300 over the survey.
    assert sum(d["completed"] for d in data["completions_per_day"]) == 300
    assert data["quotas"] == []  # no cap, no quotas in the questionnaire

    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    headline = expected["satisfaction"]
    shown = f"{headline['estimate']:.1f} ({headline['ci_low']:.1f}–{headline['ci_high']:.1f})"
    assert page.count(shown) >= 3  # the trend chart's text, the table and the wave's indices chart
    gold = expected_segments[("gold", "satisfaction")]
    assert re.search(r">In a store \(n = \d+\)<", page)  # a question's segment levels by their option labels
    assert f"gold (n = 150)" in page and f"{gold['estimate']:.1f} ({gold['ci_low']:.1f}–{gold['ci_high']:.1f})" in page
    trend_row = re.search(r'<tr id="trend-2026Q3">.*?</tr>', page, re.S).group(0)
    assert "not computed yet" in trend_row
    older_id = find_wave_id(engine, "2026Q3")
    assert f'action="/admin/waves/{older_id}/analysis"' in trend_row
    assert 'id="quotas"' not in page  # no quotas exist: no panel
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):  # well-formed, titled, and reads out its numbers
        root = ET.fromstring(svg)
        ns = "{http://www.w3.org/2000/svg}"
        assert root.find(f"{ns}title").text and root.find(f"{ns}desc").text and root.get("role") == "img"
    # The button queues the missing wave's analysis as a job (nothing computed in the request).
    queued = admin_client.post(f"/admin/waves/{older_id}/analysis", data={"csrf_token": csrf_of(page)})
    assert queued.status_code == 302 and re.fullmatch(r"/admin/jobs/\d+", queued.headers["Location"])
    # The CLI prints the same numbers.
    out = run_cli(app, "dashboard", "--survey", "acsi-retail", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["waves"] == data["waves"]
    text = run_cli(app, "dashboard", "--survey", "acsi-retail").output
    assert f"2026Q4     {shown}  n = 300" in text and "2026Q3     not computed yet" in text
    # The daily list says when it shows only the last 14 of the days it counts.
    header = re.search(r"completions per day \(UTC\), [\d,]+ in (\d+) days(?:; the last (\d+))?:", text)
    assert header and (header.group(2) == "14") == (int(header.group(1)) > 14), text


def find_wave_id(engine, name, survey="acsi-retail"):
    with Session(engine) as session:
        return find_wave(session, survey, name).id


def run_cli(app, *args):
    from survey_app.cli import main
    from survey_app.state import state_of
    url = app.config["DATABASE_URL"] if "DATABASE_URL" in app.config else str(state_of(app).engine.url)
    return CliRunner().invoke(main, [*args, "--database", url])


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def test_funnel_and_completions_per_day_equal_the_counts_set_up(app, admin_client, engine, accounts):
    with Session(engine) as session:
        wave = find_wave(session, "acsi-retail", "2026Q4")
        survey_id = wave.survey_id
        create_invitations(session, wave, [{"tier": "gold"}] * 10)
        session.flush()
        invitation = list(session.scalars(select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id)))
        for k in (0, 1, 2):  # opened the link; no response (the wave was closed, say)
            invitation[k].opened_at = at(27, 9)

        def respond(invitation_id, status, answered, completed=None):
            response = Response(survey_id=survey_id, wave_id=wave.id, invitation_id=invitation_id, status=status,
                                language="en", started_at=at(27, 8), updated_at=completed or at(27, 8),
                                completed_at=completed)
            session.add(response)
            session.flush()
            if answered:
                session.add(Answer(response_id=response.id, question_id="sat_overall", value_num=8.0))
        respond(invitation[3].id, "partial", False)             # opened, nothing answered
        invitation[3].used_at = at(27, 9)
        respond(invitation[4].id, "partial", True)              # started
        respond(invitation[5].id, "partial", True)
        respond(invitation[6].id, "complete", True, at(28, 10))  # completed
        respond(invitation[7].id, "complete", True, at(28, 23, 30))
        respond(invitation[8].id, "complete", True, at(30, 0, 10))
        respond(None, "complete", True, at(30, 12))              # public link
        respond(None, "partial", True)
        respond(None, "partial", False)                          # landed, never answered
        session.commit()
        data = survey_dashboard(session, "acsi-retail", "2026Q4", code_version="-", default_sla_hours=48)
    assert data["funnel"] == {"invited": 10, "opened": 9, "started": 5, "completed": 3,
                              "without_invitation": {"started": 2, "completed": 1}}
    assert data["completions_per_day"] == [{"date": "2026-11-28", "completed": 2}, {"date": "2026-11-29", "completed": 0},
                                           {"date": "2026-11-30", "completed": 2}]
    assert [w["analysis"] for w in data["waves"]] == [{"status": "not computed"}] * 2
    page = admin_client.get(DASHBOARD + "?wave=2026Q4").get_data(as_text=True)
    funnel = re.search(r'<section class="card" id="funnel">.*?</section>', page, re.S).group(0)
    for text in ("10 (100%)", "9 (90%)", "5 (50%)", "3 (30%)", "2 started, 1 completed"):
        assert text in funnel
    days = re.search(r'<section class="card" id="per-day">.*?</section>', page, re.S).group(0)
    assert "11-28: 2; 11-29: 0; 11-30: 2." in days  # the chart's description reads the bars out
    assert page.count("not computed yet") >= 2 and "Not computed yet" in page  # trend rows, indices, segments
    api = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard?wave=2026Q4").json
    assert api["funnel"] == data["funnel"] and api["completions_per_day"] == data["completions_per_day"]
    jsonschema.validate(api, dashboard_schema(app))


def test_overdue_follow_ups_follow_each_surveys_sla(app, admin_client, engine, acsi, ccsi, accounts):
    now = datetime.now(timezone.utc)
    contact = {"name": "Li", "phone": "+86 138 0000 0000", "consent": True}
    with Session(engine) as session:
        acsi_survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "acsi-retail"))
        ccsi_survey = session.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "ccsi-mobile"))
        acsi_wave, ccsi_wave = find_wave(session, "acsi-retail", "2026Q4"), find_wave(session, "ccsi-mobile", "2026Q4")
    # acsi-retail: open callable cases 10, 30, 50 and 80 hours old; one 100 hours old without
    # contact consent; ccsi-mobile: one open callable case 30 hours old.
    ages = [10, 30, 50, 80, 100]
    bulk_insert_responses(engine, acsi_survey, acsi_wave, simulate_responses(acsi, len(ages), seed=3),
                          completed_at=[now - timedelta(hours=h) for h in ages], follow_up=[True] * len(ages),
                          contacts=[contact] * 4 + [None])
    bulk_insert_responses(engine, ccsi_survey, ccsi_wave, simulate_responses(ccsi, 1, seed=4),
                          completed_at=[now - timedelta(hours=30)], follow_up=[True], contacts=[contact])
    with Session(engine) as session:
        assert overdue_by_survey(session, 48, now) == {"acsi-retail": 2}  # 50 and 80 hours, both past the default
        set_sla_hours(session, "acsi-retail", "24", "alice")
        set_sla_hours(session, "ccsi-mobile", 72, "alice")
        session.commit()
        assert sla_hours_by_survey(session) == {"acsi-retail": 24.0, "ccsi-mobile": 72.0}
        assert overdue_by_survey(session, 48, now) == {"acsi-retail": 3}  # 30, 50, 80 hours; ccsi's 30 h is within 72
        queue = follow_up_queue(session, QueueFilter(order="oldest"), sla_hours=48, now=now)
        assert queue.overdue == 3 and queue.no_contact == 1
        assert sorted((round(r.age_hours), r.overdue, r.sla_hours) for r in queue.rows) == [
            (10, False, 24.0), (30, False, 72.0), (30, True, 24.0), (50, True, 24.0), (80, True, 24.0)]
        set_sla_hours(session, "ccsi-mobile", 12, "alice")
        session.commit()
        assert overdue_by_survey(session, 48, now) == {"acsi-retail": 3, "ccsi-mobile": 1}
    data = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard").json
    assert data["follow_up"] == {"sla_hours": 24.0, "sla_own": True, "open": 4, "no_contact": 1, "overdue": 3}
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    assert re.search(r'id="sla-overdue">3<', page) and re.search(r'id="sla-hours">24<', page)
    assert re.search(r'id="overdue">4<', page)  # the banner: 3 + ccsi's 1
    queue_page = html.unescape(admin_client.get("/admin/follow-up").get_data(as_text=True))
    assert "4 open past their survey's SLA" in queue_page
    assert re.search(r'id="sla-acsi-retail">acsi-retail: 24 hours, 3 overdue', queue_page)
    assert re.search(r'id="sla-ccsi-mobile">ccsi-mobile: 12 hours, 1 overdue', queue_page)
    # Set in the console: back to the default, then 100 hours (nothing overdue).
    sla = admin_client.post("/admin/surveys/acsi-retail/follow-up-sla",
                            data={"csrf_token": csrf_of(page), "action": "clear"}, follow_redirects=True)
    assert "Follow-up SLA of acsi-retail: the default, 48 hours." in html.unescape(sla.get_data(as_text=True))
    admin_client.post("/admin/surveys/acsi-retail/follow-up-sla", data={"csrf_token": csrf_of(page), "hours": "100"})
    with Session(engine) as session:
        assert session.get(QuestionnaireSetting, "acsi-retail").follow_up_sla_hours == 100.0
        assert session.get(QuestionnaireSetting, "acsi-retail").updated_by == "alice"
        assert overdue_by_survey(session, 48) == {"ccsi-mobile": 1}
    # And by CLI.
    result = run_cli(app, "followup", "sla", "--survey", "acsi-retail", "--hours", "48", "--by", "alice")
    assert result.exit_code == 0 and result.output == "acsi-retail: follow-up SLA 48 hours; 2 open cases past it\n"
    result = run_cli(app, "followup", "sla", "--survey", "acsi-retail", "--default")
    assert result.output == "acsi-retail: follow-up SLA 48 hours (the default); 2 open cases past it\n"
    result = run_cli(app, "followup", "list", "--survey", "acsi-retail")
    assert result.output.startswith("4 to call (2 overdue), 1 flagged without contact consent")


@pytest.mark.parametrize("hours, message", [
    ("abc", "follow-up SLA: give the hours as a number, e.g. 48 (not 'abc')"),
    ("", "follow-up SLA: give the hours as a number, e.g. 48 (not 'nothing')"),
    ("0", "follow-up SLA: 0 hours is out of range; give more than 0 and at most 8,784 hours (a year)"),
    ("-5", "follow-up SLA: -5 hours is out of range"),
    ("1e9", "follow-up SLA: 1e9 hours is out of range"),
    ("nan", "follow-up SLA: nan hours is out of range"),
    ("inf", "follow-up SLA: inf hours is out of range"),
])
def test_a_bad_sla_gets_a_message_and_changes_nothing(app, admin_client, engine, hours, message):
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    answer = admin_client.post("/admin/surveys/acsi-retail/follow-up-sla", data={"csrf_token": csrf_of(page), "hours": hours},
                               follow_redirects=True)
    assert answer.status_code == 200 and message in html.unescape(answer.get_data(as_text=True))
    with Session(engine) as session:
        assert session.get(QuestionnaireSetting, "acsi-retail") is None
    result = run_cli(app, "followup", "sla", "--survey", "acsi-retail", "--hours", hours)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_hostile_requests(app, admin_client, engine, accounts):
    from .test_admin import login
    assert admin_client.get("/admin/surveys/no-such-survey/dashboard").status_code == 404
    missing = admin_client.get(DASHBOARD + "?wave=1999Q1")
    assert missing.status_code == 404 and "no wave &#39;1999Q1&#39; for questionnaire &#39;acsi-retail&#39;" in \
        missing.get_data(as_text=True)
    client = app.test_client()
    token = accounts["token"]
    unknown = api_get(client, token, "/api/v1/surveys/no-such-survey/dashboard")
    assert unknown.status_code == 404 and "no questionnaire 'no-such-survey'" in unknown.json["error"]
    assert api_get(client, token, "/api/v1/surveys/acsi-retail/dashboard?wave=x%27%3B--").status_code == 404
    assert api_get(client, token, "/api/v1/surveys/acsi-retail/dashboard?waves=2026Q4").status_code == 400
    assert client.get("/api/v1/surveys/acsi-retail/dashboard").status_code == 401
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    assert admin_client.post("/admin/surveys/no-such-survey/follow-up-sla",
                             data={"csrf_token": csrf_of(page), "hours": "24"}).status_code == 404
    # A viewer reads the dashboard but cannot set the SLA.
    viewer = https_client(app)
    assert login(viewer, "victor").status_code == 302
    seen = viewer.get(DASHBOARD).get_data(as_text=True)
    assert 'id="sla-input"' not in seen and "follow-up-sla" not in seen
    refused = viewer.post("/admin/surveys/acsi-retail/follow-up-sla", data={"csrf_token": csrf_of(seen), "hours": "1"})
    assert refused.status_code == 403
    with Session(engine) as session:
        assert session.get(QuestionnaireSetting, "acsi-retail") is None
        with pytest.raises(StorageError, match="no questionnaire 'nope'"):
            set_sla_hours(session, "nope", 24)
    result = run_cli(app, "dashboard", "--survey", "nope")
    assert result.exit_code == 1 and "no questionnaire 'nope'" in result.output
    result = run_cli(app, "dashboard", "--survey", "acsi-retail", "--wave", "1999Q1")
    assert result.exit_code == 1 and "no wave '1999Q1'" in result.output


def test_charts_write_their_numbers_and_escape_their_text():
    svg = charts.interval_chart([{"label": "<b>gold</b>", "estimate": 74.25, "ci_low": 71.0, "ci_high": 77.5},
                                 {"label": "tiny", "estimate": None, "ci_low": None, "ci_high": None}],
                                "Index & tier", missing="too few")
    root = ET.fromstring(str(svg))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<b>gold</b>" in texts and "74.2 (71.0–77.5)" in texts and "too few" in texts
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Index & tier"
    # The axis: whole tens around the values, at least 20 points, within 0-100.
    assert charts.index_range([74.25, 71.0, 77.5]) == (60.0, 80.0)
    assert charts.index_range([97.0, 99.5]) == (80.0, 100.0)
    assert charts.index_range([]) == (0.0, 100.0)
    trend = ET.fromstring(str(charts.trend_chart(
        [{"label": "2026Q3", "estimate": None}, {"label": "2026Q4", "estimate": 70.0, "ci_low": 68.0, "ci_high": 72.0}],
        "trend")))
    texts = [t.text for t in trend.iter("{http://www.w3.org/2000/svg}text")]
    assert "not computed" in texts and "70.0" in texts
    bars = ET.fromstring(str(charts.bar_chart([("invited", 10, "10 (100%)"), ("opened", 0, "0 (0%)")], "f")))
    widths = [r.get("width") for r in bars.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "bar"]
    assert widths == ["46.00%", "0.00%"] and not math.isnan(float(widths[0][:-1]))


def test_dashboard_in_chinese(app, admin_client, engine):
    with Session(engine) as session:
        create_invitations(session, find_wave(session, "acsi-retail", "2026Q4"), [{"tier": "gold"}] * 4)
        session.commit()
    page = admin_client.get(DASHBOARD, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    for text in ("您在本店的购物体验", "仪表板", "各波次的顾客满意度指数", "邀请漏斗", "已邀请", "尚未计算", "回访时限（小时，服务器默认值）",
                 "设置时限", "4 (100%)"):
        assert text in page, text
    for english in ("Invitation funnel", "not computed yet", "Set the SLA", "Completions per day"):
        assert english not in page, english
    refused = admin_client.post("/admin/surveys/acsi-retail/follow-up-sla", headers={"Accept-Language": "zh-CN"},
                                data={"csrf_token": csrf_of(page), "hours": "abc"}, follow_redirects=True)
    assert "回访时限：请以数字填写小时数，例如 48（而不是 'abc'）" in html.unescape(refused.get_data(as_text=True))


def test_quota_fill_of_the_wave_cap(app, admin_client, engine, fielded, accounts):
    from models.storage.quotas import set_wave_limits
    with Session(engine) as session:
        set_wave_limits(session, find_wave(session, "acsi-retail", "2026Q4"), max_completes=500)
        session.commit()
    data = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard").json
    jsonschema.validate(data, dashboard_schema(app))
    assert data["quotas"] == [{"id": "*", "count": 300, "limit": 500, "full": False, "screened_out": 0}]
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    section = re.search(r'<section class="card" id="quotas">.*?</section>', page, re.S).group(0)
    assert "the wave's cap" in html.unescape(section) and "300 of 500" in section
    assert '<meter min="0" max="500" value="300">' in section
    chinese = admin_client.get(DASHBOARD, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "配额与波次上限" in chinese and "300 / 500" in chinese


def test_dashboard_has_no_untranslated_interface_text(app, console_data):
    """The console-wide check of the i18n tests (Latin words on a zh-CN page that are not data
    or technical names; Chinese on an English page), on the dashboard with a stored analysis."""
    from .test_console_i18n import english_leaks, untranslated
    # Data on the page: the segments' levels; the warnings about them are in Chinese, with the
    # names of the methods (Holm's adjustment, MICOM) as a Chinese report writes them.
    allowed = console_data["data_words"] | {"PLS", "both", "online", "store", "In", "a", "Both", "Online", "Holm"}
    chinese, english = https_client(app), https_client(app)
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert login(chinese).status_code == 302 and login(english).status_code == 302
    zh = chinese.get(DASHBOARD).get_data(as_text=True)
    assert untranslated(zh, allowed) == []
    assert "估计不稳定，检验效力低，解读需谨慎" in html.unescape(zh)  # a small segment's warning, translated
    assert english_leaks(english.get(DASHBOARD).get_data(as_text=True)) == []
    assert "顾客满意度" in zh and "计算 2026Q3 的分析" in zh


def test_nothing_is_estimated_in_the_request(app, admin_client, engine, fielded, accounts, monkeypatch):
    """With every way to estimate replaced by a failure, the page, the API and the CLI still
    answer: they read stored analyses only (none here: each wave is 'not computed')."""
    import analysis
    import analysis.stored

    def refuse(*args, **kwargs):
        raise AssertionError("an estimation was started while serving the dashboard")
    for module, name in ((analysis.stored, "compute_analysis"), (analysis.stored, "ensure_analysis"), (analysis, "fit")):
        monkeypatch.setattr(module, name, refuse)
    page = admin_client.get(DASHBOARD)
    assert page.status_code == 200 and page.get_data(as_text=True).count('class="recompute"') >= 2
    data = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard")
    assert data.status_code == 200 and [w["analysis"]["status"] for w in data.json["waves"]] == ["not computed"] * 2
    assert run_cli(app, "dashboard", "--survey", "acsi-retail").exit_code == 0


def test_what_customers_wrote_from_the_stored_analysis(app, admin_client, engine, fielded, accounts):
    """The open question's themes on the dashboard, from the wave's stored analysis (issue 20)."""
    from analysis.stored import compute_analysis
    from models.storage.analyses import load_stored

    texts = ["结账排队太久，收银太慢", "店员很热情，服务周到", "停车场太小，停车位不够", "收银排队半小时",
             "店员热情耐心", "停车位太少，停车场很挤"]
    with Session(engine) as session:
        wave_id = find_wave(session, "acsi-retail", "2026Q4").id
        ids = session.scalars(select(Response.id).where(Response.wave_id == wave_id).order_by(Response.id)).all()
        session.add_all(Answer(response_id=rid, question_id="comments", value_text=texts[k % 6])
                        for k, rid in enumerate(ids))
        session.commit()
    compute_analysis(engine, "acsi-retail", "2026Q4", n_boot=30, n_perm=19)
    stored = load_stored(engine, "acsi-retail", "2026Q4").summary["texts"]["comments"]
    data = api_get(app.test_client(), accounts["token"], "/api/v1/surveys/acsi-retail/dashboard").json
    jsonschema.validate(data, dashboard_schema(app))
    (block,) = data["texts"]
    assert block["question"] == "comments" and block["n_answers"] == 300
    assert [t["label"] for t in block["themes"]] == [t["label"] for t in stored["themes"]]
    assert [t["share"] for t in block["themes"]] == [t["share"] for t in stored["themes"]]
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    section = re.search(r'<section class="card" id="texts">.*?</section>', page, re.S).group(0)
    assert "What customers wrote" in section and stored["themes"][0]["label"] in section
    chinese = admin_client.get(DASHBOARD, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "顾客留言" in chinese


def test_a_wave_too_small_to_analyse_gets_its_reason_not_a_button(app, admin_client, engine):
    """Waves with no responses yet: the dashboard says how many the model needs where the
    compute button would be (the wave page refuses that job too)."""
    page = admin_client.get(DASHBOARD).get_data(as_text=True)
    assert page.count("The model can be estimated from 19 complete responses; this wave has 0 so far.") >= 2
    assert 'class="recompute"' not in page
