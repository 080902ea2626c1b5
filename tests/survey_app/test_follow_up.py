"""The follow-up workflow: only consenting customers are called, the most valuable and least
satisfied first; every change is history with who and when; closing needs an outcome; the
queue filters, pages and exports; the CLI does what the console does."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.storage import find_wave
from models.storage.accounts import create_admin
from models.storage.follow_up import QueueFilter, follow_up_queue, history, update_follow_up
from models.storage.repository import StorageError
from models.storage.tables import AdminUser, Invitation, Response, utcnow

from .conftest import Respondent, https_client

PASSWORD = "correct horse battery staple"


def answer_and_leave_contact(app, acsi, satisfaction: int, path: str | None = None, name: str = "",
                             consent: bool = True, extra: dict | None = None):
    person = Respondent(https_client(app), acsi, {"sat_overall": str(satisfaction), "complained": "no", **(extra or {})})
    if path:
        intro = person.get(path)
        first = person.post("/s/acsi-retail/2026Q4/start", {"csrf_token": intro.csrf})
    else:
        first = person.start()
    done = person.finish(first)
    if consent:
        person.post(done.url, {"csrf_token": done.csrf, "name": name, "phone": "+86 138 0000 0000", "consent": "yes"})


@pytest.fixture
def staff(engine):
    with Session(engine) as session:
        create_admin(session, "lead", PASSWORD, "admin")
        create_admin(session, "agent", PASSWORD, "admin")
        session.commit()


def ids_in(queue):
    return [row.response.id for row in queue.rows]


def test_queue_calls_valuable_and_unhappy_customers_first_and_never_the_unconsenting(app, engine, acsi, invitations):
    # invitations: gold (north) and basic (south) customers; one anonymous web respondent.
    answer_and_leave_contact(app, acsi, 3, f"/i/{invitations[1]}", "Basic, rather unhappy")
    answer_and_leave_contact(app, acsi, 2, None, "Anonymous, very unhappy")
    answer_and_leave_contact(app, acsi, 4, f"/i/{invitations[0]}", "Gold, unhappy")
    answer_and_leave_contact(app, acsi, 1, None, consent=False)
    with Session(engine) as session:
        by_name = {r.contact["name"]: r.id for r in session.scalars(select(Response).where(Response.contact.is_not(None)))}
        queue = follow_up_queue(session, QueueFilter())
        assert ids_in(queue) == [by_name["Gold, unhappy"], by_name["Basic, rather unhappy"], by_name["Anonymous, very unhappy"]]
        assert queue.total == 3 and queue.no_contact == 1
        # Satisfaction on 0-100 from the satisfaction items (sat_overall answered; others default).
        assert all(row.satisfaction is not None and 0 <= row.satisfaction <= 100 for row in queue.rows)
        assert [r.response.id for r in follow_up_queue(session, QueueFilter(segment="tier=gold")).rows] == \
            [by_name["Gold, unhappy"]]
        assert ids_in(follow_up_queue(session, QueueFilter(search="very unhappy"))) == [by_name["Anonymous, very unhappy"]]
        assert ids_in(follow_up_queue(session, QueueFilter(order="newest")))[0] == by_name["Gold, unhappy"]
        paged = follow_up_queue(session, QueueFilter(per_page=2, page=2))
        assert ids_in(paged) == [by_name["Anonymous, very unhappy"]] and paged.pages == 2
        assert follow_up_queue(session, QueueFilter(older_than_hours=1)).total == 0
        assert follow_up_queue(session, QueueFilter(), sla_hours=48, now=utcnow() + timedelta(hours=49)).overdue == 3


def test_segment_filters_answers_too(app, engine, acsi, invitations):
    # Before: --segment channel=store found nobody: it looked only at invitation attributes.
    answer_and_leave_contact(app, acsi, 2, None, "In a store", extra={"channel": "store"})
    answer_and_leave_contact(app, acsi, 3, None, "Online", extra={"channel": "online", "categories": ["home", "electronics"]})
    answer_and_leave_contact(app, acsi, 2, f"/i/{invitations[0]}", "Gold online", extra={"channel": "online"})
    with Session(engine) as session:
        by_name = {r.contact["name"]: r.id for r in session.scalars(select(Response).where(Response.contact.is_not(None)))}
        assert ids_in(follow_up_queue(session, QueueFilter(segment="channel=store"))) == [by_name["In a store"]]
        assert sorted(ids_in(follow_up_queue(session, QueueFilter(segment="channel = online")))) == \
            sorted([by_name["Online"], by_name["Gold online"]])
        assert ids_in(follow_up_queue(session, QueueFilter(segment="categories=electronics"))) == [by_name["Online"]]
        assert ids_in(follow_up_queue(session, QueueFilter(segment="tier=gold"))) == [by_name["Gold online"]]
        assert follow_up_queue(session, QueueFilter(segment="channel=phone")).total == 0


def test_every_change_is_history_and_closing_needs_an_outcome(app, engine, acsi, staff):
    answer_and_leave_contact(app, acsi, 2, name="Wang")
    with Session(engine) as session:
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
        lead = session.scalar(select(AdminUser).where(AdminUser.username == "lead"))
        update_follow_up(session, case, lead, assignee="agent", note="Please call before Friday.")
        update_follow_up(session, case, lead, status="called", note="Reached; refund agreed.")
        with pytest.raises(StorageError, match="needs its outcome"):
            update_follow_up(session, case, lead, status="resolved")
        with pytest.raises(StorageError, match="no console user 'ghost'"):
            update_follow_up(session, case, lead, assignee="ghost")
        update_follow_up(session, case, lead, status="resolved", outcome="problem_solved")
        session.commit()
        events = [(e.user, e.kind, e.value) for e in history(session, case)]
        assert events == [("lead", "assignee", "agent"), ("lead", "note", "Please call before Friday."),
                          ("lead", "status", "called"), ("lead", "note", "Reached; refund agreed."),
                          ("lead", "outcome", "problem_solved"), ("lead", "status", "resolved")]
        response = session.get(Response, case)
        assert response.follow_up_closed_at is not None and response.follow_up_outcome == "problem_solved"
        assert follow_up_queue(session, QueueFilter(assignee="agent", status=None)).total == 1
        assert follow_up_queue(session, QueueFilter(assignee="none", status=None)).total == 0


def test_console_queue_case_history_and_csv(app, engine, acsi, staff):
    from .test_admin import csrf_of, login

    answer_and_leave_contact(app, acsi, 2, name="=HYPERLINK(\"http://evil.example\")",
                             extra={"categories": ["home"]})
    client = https_client(app)
    login(client, "lead", PASSWORD)
    with Session(engine) as session:
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
    queue = client.get("/admin/follow-up").get_data(as_text=True)
    assert f"#{case}" in queue and "without contact consent" in queue
    item = client.get(f"/admin/follow-up/{case}").get_data(as_text=True)
    # The consent reads Yes, not the stored value ("True").
    assert "<dt>consent</dt><dd>Yes</dd>" in item and "True" not in item
    saved = client.post(f"/admin/follow-up/{case}", data={"csrf_token": csrf_of(item), "assignee": "agent",
                                                           "status": "called", "note": "First try: voicemail."},
                        follow_redirects=True).get_data(as_text=True)
    assert "First try: voicemail." in saved and "assigned to agent" in saved
    again = client.post(f"/admin/follow-up/{case}", data={"csrf_token": csrf_of(saved), "assignee": "agent",
                                                          "status": "called", "note": "Second try: reached."},
                        follow_redirects=True).get_data(as_text=True)
    assert "First try: voicemail." in again and "Second try: reached." in again  # appended, not overwritten
    refused = client.post(f"/admin/follow-up/{case}", data={"csrf_token": csrf_of(again), "assignee": "agent",
                                                            "status": "resolved"}, follow_redirects=True)
    assert "needs its outcome" in refused.get_data(as_text=True)
    exported = client.get("/admin/follow-up?status=all&format=csv")
    text = exported.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0]["response_id"] == str(case) and rows[0]["assignee"] == "agent"
    assert rows[0]["name"].startswith("'=")  # a formula typed by the customer stays text
    bad = client.get("/admin/follow-up?older_than_hours=soon", follow_redirects=True)
    assert "older_than_hours must be a number" in bad.get_data(as_text=True)


def test_rules_on_the_case_page_see_lists_not_json_text(app, engine, staff):
    """A rule ``'home' in categories`` holds for ["home"], not for ["home_goods"] (issue 21:
    the case page evaluated rules on the stored JSON text, where "home" is a substring of
    '["home_goods"]'), whether the answers came from the pages or from the bulk loader."""
    import re

    import pandas as pd

    import questionnaires
    from models.questionnaire import parse_questionnaire
    from models.storage import bulk_insert_responses, create_wave, register_questionnaire

    from .test_admin import login

    text = questionnaires.path("acsi_retail").read_text(encoding="utf-8").replace("id: acsi-retail", "id: acsi-home", 1)
    home = "          - {value: home, label: {en: Home goods, zh-CN: 家居用品}}\n"
    assert home in text
    text = text.replace(home, home + "          - {value: home_goods, label: {en: Home goods shop, zh-CN: 家居店}}\n")
    text = text.replace("follow_up:\n", "follow_up:\n  - id: home\n    when: \"'home' in categories\"\n"
                                        "    reason: {en: Bought for the home, zh-CN: 购买家居}\n", 1)
    questionnaire = parse_questionnaire(text, "acsi-home.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
    for categories in (["home_goods"], ["home", "grocery"]):  # both flagged as dissatisfied (sat_overall 2)
        person = Respondent(https_client(app), questionnaire,
                            {"sat_overall": "2", "complained": "no", "categories": categories})
        person.finish(person.start(survey="acsi-home"))
    bulk_insert_responses(engine, survey, wave, pd.DataFrame({"sat_overall": [2.0, 2.0],
                                                              "categories": [["home_goods"], ["grocery", "home"]]}),
                          follow_up=[True, True])
    client = https_client(app)
    login(client, "lead", PASSWORD)
    with Session(engine) as session:
        cases = session.scalars(select(Response.id).where(Response.wave_id == wave.id).order_by(Response.id)).all()
    reasons = []
    for case in cases:
        page = client.get(f"/admin/follow-up/{case}").get_data(as_text=True)
        reasons.append(re.search(r"Flagged: ([^.]*)\.", page).group(1))
    assert reasons == ["Dissatisfied customer", "Bought for the home; Dissatisfied customer"] * 2


def test_cli_lists_updates_and_exports(app, engine, acsi, staff, database_url, tmp_path):
    from survey_app.cli import main

    answer_and_leave_contact(app, acsi, 2, name="Li")
    with Session(engine) as session:
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
    run = lambda *args: CliRunner().invoke(main, [*args, "--database", database_url])  # noqa: E731
    listed = run("followup", "list")
    assert listed.exit_code == 0 and str(case) in listed.output and "1 to call" in listed.output
    updated = run("followup", "update", str(case), "--by", "lead", "--assign", "agent", "--note", "Called.",
                  "--status", "resolved", "--outcome", "reached")
    assert updated.exit_code == 0, updated.output
    assert run("followup", "update", str(case), "--by", "nobody", "--note", "x").exit_code == 1
    exported = run("followup", "list", "--status", "all", "--csv", str(tmp_path / "queue.csv"))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "queue.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0]["outcome"] == "reached" and rows[0]["assignee"] == "agent"
    shown = run("followup", "show", str(case))
    assert "Called." in shown.output and "outcome: reached" in shown.output
