"""The worker's periodic round names exactly the fieldwork that is due."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

import questionnaires
from models import load_questionnaire
from models.storage import create_wave, make_engine, register_questionnaire, upgrade
from models.storage.invitations import import_email_invitations, record_refusal, record_sent
from models.storage.tables import utcnow
from models.storage.webhooks import add_webhook, record_event
from survey_app.fieldwork import due_work


@pytest.fixture
def session(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_due_work_names_scheduled_sends_retries_reminders_and_deliveries(session):
    now = utcnow()
    survey = register_questionnaire(session, load_questionnaire(questionnaires.path("acsi_retail")))
    wave, later, closed = (create_wave(session, survey, name) for name in ("2026Q4", "2027Q1", "2026Q3"))
    closed.closed = True
    session.flush()

    def invite(target, email, send_after=None):
        import_email_invitations(session, target, [{"email": email}], "k" * 40, languages=("en", "zh-CN"),
                                 default_language="en", send_after=send_after)

    invite(wave, "manual@example.com")                         # waits for an operator's send
    invite(later, "future@example.com", now + timedelta(days=1))
    invite(closed, "closed@example.com", now - timedelta(days=1))
    session.flush()
    assert due_work(session, now) == []

    invite(wave, "due@example.com", now - timedelta(minutes=1))
    session.flush()
    assert [(w.kind, w.params, w.dedupe_key) for w in due_work(session, now)] == [
        ("send_invitations", {"wave_id": wave.id, "scheduled_only": True}, f"mail:invitations:{wave.id}")]

    # Sent long ago: reminders are due only once the wave has a reminder policy.
    from models.storage.invitations import due_invitations
    for invitation in due_invitations(session, wave, now):
        record_sent(session, invitation, "invitation", now - timedelta(days=5))
    session.flush()
    assert due_work(session, now) == []
    wave.reminder_max, wave.reminder_after_days = 2, 3
    session.flush()
    assert [w.kind for w in due_work(session, now)] == ["send_reminders"]
    wave.reminder_after_days = 7
    session.flush()
    assert due_work(session, now) == []

    # A greylisted invitation is retried by the round after its wait, not before.
    invite(wave, "grey@example.com")
    session.flush()
    grey = due_invitations(session, wave, now)[0]
    record_refusal(session, grey, 451, "try later", "invitation")
    session.flush()
    assert grey.mail_status == "deferred" and due_work(session, now) == []
    assert [w.kind for w in due_work(session, now + timedelta(minutes=16))] == ["send_invitations"]

    add_webhook(session, "acsi-retail", "https://crm.example/hook", ["response.completed"])
    (delivery_id,) = record_event(session, "acsi-retail", "response.completed", {"response_id": 1}, now)
    session.flush()
    assert [(w.kind, w.params) for w in due_work(session, now)] == [("webhook", {"delivery_id": delivery_id})]
