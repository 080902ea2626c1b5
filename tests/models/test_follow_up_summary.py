"""The report's follow-up figures (models/storage/follow_up_summary.py): counts, outcomes,
median times, and the called-back customers' satisfaction in the next wave."""
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires
from models import load_questionnaire
from models.storage import bulk_insert_responses, create_wave, register_questionnaire
from models.storage.accounts import create_admin
from models.storage.follow_up import update_follow_up
from models.storage.follow_up_summary import follow_up_summary
from models.storage.repository import create_invitations
from models.storage.tables import Invitation, Response, _aware

SAT = ("sat_overall", "sat_vs_expectations", "sat_vs_ideal")   # 1-10 scales: 0-100 = (x - 1) / 9 * 100


def store(engine, session, survey, wave, emails, sat_value, flagged):
    """One complete response per e-mail, every satisfaction item at ``sat_value``."""
    create_invitations(session, wave, [{} for _ in emails])
    session.flush()
    invitations = session.scalars(select(Invitation).where(Invitation.wave_id == wave.id, Invitation.email.is_(None))
                                  .order_by(Invitation.id)).all()
    for invitation, email in zip(invitations, emails):
        invitation.email = email
    session.commit()
    frame = pd.DataFrame({item: [sat_value] * len(emails) for item in SAT})
    contacts = [{"phone": "+86 138 0000 0000", "consent": True} if f else None for f in flagged]
    ids = bulk_insert_responses(engine, survey, wave, frame, follow_up=flagged, contacts=contacts)
    for response_id, invitation in zip(ids, invitations):
        session.get(Response, response_id).invitation_id = invitation.id
    session.commit()
    return ids


@pytest.fixture
def waves(database_url):
    from models.storage import make_engine
    engine = make_engine(database_url)
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        first, second = create_wave(session, survey, "2026Q3"), create_wave(session, survey, "2026Q4")
        admin = create_admin(session, "lead", "a-long-password-1")
        session.commit()
        emails = [f"c{k}@example.com" for k in range(6)]
        # 2026Q3: six customers at satisfaction 2/10, all flagged; c0-c3 left a contact, c4-c5 did not.
        q3 = store(engine, session, survey, first, emails, 2, [True] * 4 + [False] * 2)
        for response_id in q3[4:]:
            session.get(Response, response_id).follow_up = True
        session.commit()
        done = {r: _aware(session.get(Response, r).completed_at) for r in q3}
        # c0, c1 called and solved after 10 and 30 hours; c2 would not talk (closed at 50 h); c3 open.
        for response_id, hours, outcome in ((q3[0], 10, "problem_solved"), (q3[1], 30, "problem_solved"),
                                            (q3[2], 50, "would_not_talk")):
            update_follow_up(session, response_id, admin, status="called", now=done[response_id] + timedelta(hours=hours / 2))
            update_follow_up(session, response_id, admin, status="resolved", outcome=outcome,
                             now=done[response_id] + timedelta(hours=hours))
        session.commit()
        # 2026Q4: c0, c1 (called) answer at 8/10; c3 (not called, open) at 3/10; c2 and others do not answer.
        store(engine, session, survey, second, ["C0@example.com", "c1@example.com"], 8, [False, False])
        store(engine, session, survey, second, ["c3@example.com"], 3, [False])
    yield engine
    engine.dispose()


def test_counts_outcomes_and_median_times(waves):
    summary = follow_up_summary(waves, "acsi-retail", "2026Q3")
    assert (summary.flagged, summary.callable, summary.no_contact) == (6, 4, 2)
    assert (summary.open, summary.called, summary.resolved) == (1, 0, 3)
    assert summary.outcomes == {"problem_solved": 2, "would_not_talk": 1}
    assert summary.resolved_share == pytest.approx(2 / 4)
    assert summary.hours_to_first_action == pytest.approx(15.0, abs=1e-6)   # median of 5, 15, 25
    assert summary.hours_to_close == pytest.approx(30.0, abs=1e-6)          # median of 10, 30, 50


def test_called_customers_are_followed_into_the_next_wave_by_e_mail(waves):
    following = follow_up_summary(waves, "acsi-retail", "2026Q3").next_wave
    assert (following.from_wave, following.wave) == ("2026Q3", "2026Q4")
    # Reached and solved: c0 and c1 (the e-mail matched without regard to case), 2/10 -> 8/10.
    assert following.called_n == 2
    assert following.called_before == pytest.approx((2 - 1) / 9 * 100)
    assert following.called_after == pytest.approx((8 - 1) / 9 * 100)
    # Flagged, never called: c3, 2/10 -> 3/10. c2 would not talk: in neither group.
    assert following.not_called_n == 1 and following.not_called_after == pytest.approx((3 - 1) / 9 * 100)
    # The latest wave's own summary looks back: the previous wave's customers answering in it.
    latest = follow_up_summary(waves, "acsi-retail", "2026Q4")
    assert latest.flagged == 0 and latest.next_wave == following
