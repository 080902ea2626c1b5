"""Quotas and wave limits on the respondent's pages: a full quota ends the response with
its own text (in the respondent's language), never as a completion; the wave's cap on
completions closes it; a wave closes itself at its closing time; and under 50 finishers
at once a quota of N takes exactly N (a real server on loopback, both databases)."""
import html
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import create_wave, register_questionnaire
from models.storage.tables import QuotaCount, Response, Wave, utcnow
from tests.models.test_quotas import BASE
from tests.survey_app.conftest import Respondent

QUOTA_TEXT = {"en": "We have heard from enough northern store customers. Thank you!",
              "zh-CN": "北方门店顾客的答卷已足够，谢谢！"}


def quota_questionnaire(limit: int):
    return parse_questionnaire(BASE + f"""\
quotas:
  - id: north_store
    when: "region == 'north' and channel == 'store'"
    limit: {limit}
    text: {{en: "{QUOTA_TEXT['en']}", zh-CN: "{QUOTA_TEXT['zh-CN']}"}}
""", "quota.yaml")


@pytest.fixture(autouse=True)
def fresh_waves(monkeypatch):
    monkeypatch.setattr("survey_app.responses.storage.WAVE_TTL", 0.0)  # wave changes seen at once


def field_wave(engine, questionnaire, name="Q1", **settings):
    with Session(engine) as session:
        wave = create_wave(session, register_questionnaire(session, questionnaire), name)
        for key, value in settings.items():
            setattr(wave, key, value)
        session.commit()


def statuses(engine, wave="Q1"):
    with Session(engine) as session:
        rows = session.execute(select(Response.status, Response.quota_id, func.count()).join(Wave, Wave.id == Response.wave_id)
                               .where(Wave.name == wave).group_by(Response.status, Response.quota_id)).all()
        return {(status, quota): count for status, quota, count in rows}


def quota_count(engine, quota_id="north_store"):
    with Session(engine) as session:
        return session.scalar(select(QuotaCount.count).where(QuotaCount.quota_id == quota_id))


NORTH_STORE = {"region": "north", "channel": "store", "sat": "4"}


def finish(respondent, **start):
    page = respondent.start("quota-demo", "Q1", **start)
    while page.question_ids:
        page = respondent.answer(page)
    return page


def test_full_quota_ends_with_its_text_in_each_language(app, engine):
    questionnaire = quota_questionnaire(1)
    field_wave(engine, questionnaire)
    first = finish(Respondent(app.test_client(), questionnaire, NORTH_STORE))
    assert "Thank you" in first.text and QUOTA_TEXT["en"] not in first.text
    assert quota_count(engine) == 1
    # The next northern store customer is told on the page that answers region and channel.
    second = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    page = second.answer(second.start("quota-demo", "Q1"))
    assert page.status == 200 and html.escape(QUOTA_TEXT["en"]) in page.text and not page.question_ids
    chinese = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    page = chinese.answer(chinese.start("quota-demo", "Q1", query_string={"lang": "zh-CN"}))
    assert QUOTA_TEXT["zh-CN"] in page.text and "感谢您抽出时间" in page.text
    # Coming back shows the same ending, not the questions again.
    again = second.get("/s/quota-demo/Q1")
    assert html.escape(QUOTA_TEXT["en"]) in again.text and not again.question_ids
    # Others still get through.
    south = finish(Respondent(app.test_client(), questionnaire, {**NORTH_STORE, "region": "south"}))
    assert "Thank you" in south.text
    assert statuses(engine) == {("complete", None): 2, ("quota_full", "north_store"): 2}
    assert quota_count(engine) == 1


def test_completion_decides_between_respondents_past_the_quota_page(app, engine):
    """Two respondents both pass the quota's page while there is room; the first to finish
    takes the place, the second ends with the quota text at completion."""
    questionnaire = quota_questionnaire(1)
    field_wave(engine, questionnaire)
    one, two = (Respondent(app.test_client(), questionnaire, NORTH_STORE) for _ in range(2))
    last_one, last_two = (r.answer(r.start("quota-demo", "Q1")) for r in (one, two))
    assert last_one.question_ids == last_two.question_ids == ["sat"]
    assert "Thank you" in one.answer(last_one).text
    ended = two.answer(last_two)
    assert html.escape(QUOTA_TEXT["en"]) in ended.text
    assert statuses(engine) == {("complete", None): 1, ("quota_full", "north_store"): 1}
    with Session(engine) as session:
        screened = session.scalar(select(Response).where(Response.status == "quota_full"))
        assert screened.completed_at is None and screened.follow_up is False


def test_a_resent_post_of_a_response_a_quota_ended_shows_the_same_ending(app, engine):
    """A browser's retry of the last page (same submission id) after the quota ended the
    response: the quota's text again, never the thank-you page of a completion. Sequential
    here (the view sees the ended response first); a retry already waiting for the first
    post's lock takes the page post's duplicate path, which now answers the same (a CI run
    of the concurrent test under load showed 8 thank-you pages for a quota of 7)."""
    questionnaire = quota_questionnaire(1)
    field_wave(engine, questionnaire)
    one, two = (Respondent(app.test_client(), questionnaire, NORTH_STORE) for _ in range(2))
    last_one, last_two = (r.answer(r.start("quota-demo", "Q1")) for r in (one, two))
    one.answer(last_one)
    form = two.page_data(last_two)
    ended = two.post(last_two.url, form)
    again = two.post(last_two.url, form)          # the same form, the same submission id
    for page in (ended, again):
        assert html.escape(QUOTA_TEXT["en"]) in page.text and "questionnaire-done" not in page.text
    assert statuses(engine) == {("complete", None): 1, ("quota_full", "north_store"): 1}


def test_max_completes_caps_and_closes_the_wave(app, engine):
    questionnaire = quota_questionnaire(100)
    field_wave(engine, questionnaire, max_completes=2)
    early = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    waiting = early.answer(early.start("quota-demo", "Q1"))  # on the last page when the wave fills
    for _ in range(2):
        assert "Thank you" in finish(Respondent(app.test_client(), questionnaire, NORTH_STORE)).text
    with Session(engine) as session:
        assert session.scalar(select(Wave.closed).where(Wave.name == "Q1")) is True
    assert quota_count(engine, "*") == 2 and quota_count(engine) == 2
    late = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    landing = late.get("/s/quota-demo/Q1")
    assert landing.status == 403 and "closed" in landing.text
    # The one mid-way meets the closed wave too; nothing beyond the cap is ever complete.
    assert early.answer(waiting).status == 403
    assert statuses(engine) == {("complete", None): 2, ("partial", None): 1}


def test_max_completes_counts_completions_before_it_was_set(app, engine):
    """A cap set on a wave that already has completions starts from them."""
    questionnaire = quota_questionnaire(100)
    field_wave(engine, questionnaire)
    finish(Respondent(app.test_client(), questionnaire, NORTH_STORE))
    with Session(engine) as session:
        session.scalar(select(Wave).where(Wave.name == "Q1")).max_completes = 2
        session.commit()
    late = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    waiting = late.answer(late.start("quota-demo", "Q1"))
    assert "Thank you" in finish(Respondent(app.test_client(), questionnaire, NORTH_STORE)).text
    # The wave reached 2 and closed; the respondent on the last page finds it closed.
    assert late.answer(waiting).status == 403
    assert quota_count(engine, "*") == 2


def test_wave_closes_itself_at_its_closing_time(app, engine):
    questionnaire = quota_questionnaire(100)
    field_wave(engine, questionnaire, closes_at=utcnow() + timedelta(hours=1))
    respondent = Respondent(app.test_client(), questionnaire, NORTH_STORE)
    page = respondent.answer(respondent.start("quota-demo", "Q1"))
    with Session(engine) as session:
        session.scalar(select(Wave).where(Wave.name == "Q1")).closes_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert respondent.answer(page).status == 403
    assert Respondent(app.test_client(), questionnaire).get("/s/quota-demo/Q1").status == 403


FINISHERS = 50
LIMIT = 7


def test_quota_is_never_exceeded_by_concurrent_finishers(live_server, engine):
    """50 respondents reach the last page, then all post it at the same instant against a
    quota of 7 (and a wave cap of 40, counted alongside): exactly 7 complete."""
    from bench.loadgen import CSRF, SUBMISSION, Client, Stats

    questionnaire = quota_questionnaire(LIMIT)
    field_wave(engine, questionnaire, max_completes=40)
    stats, barrier = Stats(), threading.Barrier(FINISHERS, timeout=120)

    def finisher(number: int) -> str:
        client = Client(live_server, stats)
        try:
            status, path, text = client.follow("GET", "/s/quota-demo/Q1")
            status, path, text = client.follow("POST", "/s/quota-demo/Q1/start", {"csrf_token": CSRF.search(text).group(1)})
            for answers in ({"region": "north", "channel": "store"}, {"sat": "4"}):
                assert status == 200, text[:300]
                form = {"csrf_token": CSRF.search(text).group(1), "nav": "next", **answers,
                        "submission_id": html.unescape(SUBMISSION.search(text).group(1))}
                if "sat" in answers:
                    barrier.wait()  # everyone on the last page: post together
                status, path, text = client.follow("POST", path, form)
            assert status == 200, text[:300]
            return "quota" if html.escape(QUOTA_TEXT["en"]) in text else "complete" if "Thank you" in text else text
        finally:
            client.close()

    with ThreadPoolExecutor(FINISHERS) as pool:
        outcomes = list(pool.map(finisher, range(FINISHERS)))
    # What the database holds first (the invariant), then what each respondent was shown.
    assert statuses(engine) == {("complete", None): LIMIT, ("quota_full", "north_store"): FINISHERS - LIMIT}
    assert quota_count(engine) == LIMIT and quota_count(engine, "*") == LIMIT
    assert sorted(set(outcomes)) == ["complete", "quota"], outcomes
    assert outcomes.count("complete") == LIMIT, outcomes


def test_csi_wave_limit_and_status(app, engine, database_url):
    from tests.survey_app.test_dataimport import csi, ok

    questionnaire = quota_questionnaire(2)
    field_wave(engine, questionnaire)
    for answers in (NORTH_STORE, NORTH_STORE, NORTH_STORE, {**NORTH_STORE, "region": "south"}):
        finish(Respondent(app.test_client(), questionnaire, answers))
    wave = ("--survey", "quota-demo", "--wave", "Q1")
    assert ok(csi("wave", "status", *wave, url=database_url)).splitlines() == [
        "wave Q1 of quota-demo: open", "  quota north_store: 2 / 2 FULL, 1 screened out"]
    assert ok(csi("wave", "limit", *wave, "--max-completes", "5", "--close-at", "2030-01-01T08:00:00+08:00",
                  url=database_url)).splitlines() == [
        "wave Q1 of quota-demo: open, closes at 2030-01-01T00:00:00+00:00",
        "  completions (wave cap): 3 / 5, 0 screened out", "  quota north_store: 2 / 2 FULL, 1 screened out"]
    status = json.loads(ok(csi("wave", "status", *wave, "--json", url=database_url)))
    assert status["max_completes"] == 5 and status["quotas"][1] == {
        "id": "north_store", "count": 2, "limit": 2, "full": True, "screened_out": 1}
    for bad, message in ((("--close-at", "tomorrow"), "error: --close-at 'tomorrow' is not an ISO 8601 time"),
                         (("--close-at", "2030-01-01T08:00"), "needs a time zone"),
                         (("--max-completes", "0"), "0 is not in the range x>=1"),
                         ((), "error: nothing to change")):
        result = csi("wave", "limit", *wave, *bad, url=database_url)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert ok(csi("wave", "limit", *wave, "--no-max-completes", "--no-close-at", url=database_url)).splitlines()[0] \
        == "wave Q1 of quota-demo: open"


def test_console_and_api_show_counts_and_set_limits(app, engine):
    from tests.survey_app.test_admin import PASSWORD, csrf_of, login  # noqa: F401
    from models.storage.accounts import create_admin, create_api_token
    from tests.survey_app.conftest import https_client

    questionnaire = quota_questionnaire(1)
    field_wave(engine, questionnaire)
    for _ in range(2):
        finish(Respondent(app.test_client(), questionnaire, NORTH_STORE))
    with Session(engine) as session:
        create_admin(session, "alice", PASSWORD, "admin")
        create_admin(session, "victor", PASSWORD, "viewer")
        token = create_api_token(session, "alice", "tests")
        wave_id = session.scalar(select(Wave.id).where(Wave.name == "Q1"))
        session.commit()
    admin = https_client(app)
    assert login(admin).status_code == 302
    page = admin.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    row = re.search(r'<tr id="quota-north_store">(.*?)</tr>', page, re.S).group(1)
    assert "north_store" in row and "1 / 1" in row and "full" in row and re.search(r">\s*1\s*</td>\s*$", row)
    form = {"csrf_token": csrf_of(page), "max_completes": "10", "close_at": "2030-01-01T08:30"}
    assert admin.post(f"/admin/waves/{wave_id}/limits", data=form).status_code == 302
    page = admin.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert "Limits of wave Q1 saved." in page and "2030-01-01 08:30 UTC" in page
    assert "1 / 10" in re.search(r'<tr id="quota-wave">(.*?)</tr>', page, re.S).group(1)
    for bad, message in (({"max_completes": "0"}, "0 is not a whole number from 1 to 10,000,000."),
                         ({"max_completes": "ten"}, "ten is not a whole number"),
                         ({"close_at": "soon"}, "soon is not a date and time.")):
        response = admin.post(f"/admin/waves/{wave_id}/limits", data={"csrf_token": csrf_of(page), **bad},
                              follow_redirects=True)
        assert response.status_code == 200 and message in response.get_data(as_text=True)
    viewer = https_client(app)
    assert login(viewer, "victor").status_code == 302
    shown = viewer.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert 'id="quota-north_store"' in shown and 'id="limits-form"' not in shown
    assert viewer.post(f"/admin/waves/{wave_id}/limits", data={"csrf_token": csrf_of(shown)}).status_code == 403
    api = app.test_client().get("/api/v1/surveys/quota-demo/waves/Q1/quotas", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    assert api.json == {"survey": "quota-demo", "wave": "Q1", "open": True, "closes_at": "2030-01-01T08:30:00+00:00",
                        "max_completes": 10, "quotas": [
                            {"id": "*", "count": 1, "limit": 10, "full": False, "screened_out": 0},
                            {"id": "north_store", "count": 1, "limit": 1, "full": True, "screened_out": 1}]}
    missing = app.test_client().get("/api/v1/surveys/quota-demo/waves/nope/quotas", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and "no wave 'nope'" in missing.json["error"]


def test_an_invitee_a_quota_ended_is_not_reminded(app, engine):
    from models.storage import invitations as mail_store
    from tests.survey_app.conftest import https_client

    questionnaire = quota_questionnaire(0)
    field_wave(engine, questionnaire)
    with Session(engine) as session:
        wave = session.scalar(select(Wave).where(Wave.name == "Q1"))
        result = mail_store.import_email_invitations(
            session, wave, [{"email": "a@example.com"}, {"email": "b@example.com"}], "secret" * 6,
            languages=("en", "zh-CN"), default_language="en")
        session.flush()
        invited = session.scalars(select(mail_store.Invitation).where(mail_store.Invitation.wave_id == wave.id)).all()
        tokens = {}
        for invitation in invited:
            tokens[invitation.email] = mail_store.derive_token("secret" * 6, invitation.token_nonce)
            mail_store.record_sent(session, invitation, "invitation", utcnow() - timedelta(days=5))
        session.commit()
    respondent = Respondent(https_client(app), questionnaire, NORTH_STORE)
    respondent.get(f"/i/{tokens['a@example.com']}")
    page = respondent.answer(respondent.start("quota-demo", "Q1"))
    assert html.escape(QUOTA_TEXT["en"]) in page.text
    with Session(engine) as session:
        wave = session.scalar(select(Wave).where(Wave.name == "Q1"))
        due = mail_store.reminder_candidates(session, wave, max_reminders=2, interval=timedelta(days=3))
        assert [invitation.email for invitation in due] == ["b@example.com"]


def test_a_counter_row_committed_meanwhile_is_not_taken_for_a_full_quota(postgres_template):
    """On PostgreSQL (READ COMMITTED) a completion's first UPDATE of a quota's counter can run
    before another completion commits that row: it updates nothing, yet by the next statement
    the row is there. That "nothing updated" must not read as "full" (a CI run under load once
    ended a respondent by a wave cap of 40 after 7 completions). Here completion B makes and
    commits the row exactly between completion A's UPDATE and A's next statement."""
    from models.storage import make_engine
    from survey_app.responses.quota_claims import CREATE, RAISE, claim
    from tests.conftest import scratch_postgres

    with scratch_postgres(postgres_template) as url:
        engine = make_engine(url)
        try:
            field_wave(engine, quota_questionnaire(5))
            with Session(engine) as session:
                wave_id = session.scalar(select(Wave.id).where(Wave.name == "Q1"))
            key = {"w": wave_id, "q": "north_store"}
            with engine.connect() as a, engine.connect() as b:
                interleaved = []

                def run_a(statement, params):
                    result = a.execute(statement, params)
                    rows = list(result) if result.returns_rows else []
                    if statement is RAISE and not interleaved:
                        assert rows == []  # the row is not there yet for A
                        b.execute(CREATE["postgresql"], {**key, "start": 0})
                        assert list(b.execute(RAISE, {**key, "lim": 5})) == [(1,)]
                        b.commit()  # B's completion counted first
                        interleaved.append(True)
                    return rows

                assert claim(run_a, "postgresql", wave_id, [("north_store", 5)]) is None
                a.commit()
            assert interleaved and quota_count(engine) == 2
        finally:
            engine.dispose()
