"""A page post's transaction (survey_app/responses/storage.py and pipeline.py), on SQLite
and PostgreSQL: what it stores, what it refuses, and that posts of one response take effect
one after another, each checked against what the one before saved."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.storage.tables import Answer, PageSubmission, Response
from survey_app.state import state_of

FIRST_PAGE = {"channel": "store", "categories": ["grocery"], "visits_per_month": 3}
OTHER_FIRST_PAGE = {"channel": "online", "categories": ["clothing", "grocery"], "visits_per_month": 7}


@pytest.fixture(params=["default", "core"])
def service(request, app):
    """The app's service with its own transaction type (PostgreSQL: psycopg's pipeline), and
    with the plain Core path, which PostgreSQL would use with another driver."""
    from survey_app.responses.storage import _CoreTransaction

    service = state_of(app).service
    if request.param == "core":
        if service.transaction_type is _CoreTransaction:
            pytest.skip("this database's default is the Core path (tested as 'default')")
        service.transaction_type = _CoreTransaction
    return service


@pytest.fixture
def key(service):
    wave = service.find_wave("acsi-retail", "2026Q4")
    return service.start(wave, "en").respondent_key


def stored(engine, key):
    """(answers as {question id: (value_num, value_text)}, submission ids, current_page)."""
    with Session(engine) as session:
        response = session.scalar(select(Response).where(Response.respondent_key == key))
        answers = {a.question_id: (a.value_num, a.value_text)
                   for a in session.scalars(select(Answer).where(Answer.response_id == response.id))}
        submissions = set(session.scalars(select(PageSubmission.submission_id)
                                          .where(PageSubmission.response_id == response.id)))
        return answers, submissions, response.current_page


def test_a_post_stores_the_page_and_moves_the_response_on(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        assert post.response.respondent_key == key and post.answers == {} and not post.duplicate
        outcome = post.save(FIRST_PAGE, "zh-CN", advance=True)
    assert outcome.next_page == 1 and outcome.answers == FIRST_PAGE
    answers, submissions, current_page = stored(engine, key)
    assert submissions == {"a" * 32} and current_page == 1
    assert answers == {"channel": (None, "store"), "categories": (None, '["grocery"]'), "visits_per_month": (3.0, None)}
    assert service.response_by_key(key).language == "zh-CN"


def test_repeated_submission_id_is_known_from_the_read_and_writes_nothing(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "a" * 32) as repeat:
        assert repeat.duplicate
        outcome = repeat.save(OTHER_FIRST_PAGE, "en", advance=True)
    assert outcome.next_page == 1 and outcome.answers["channel"] == "store"
    answers, submissions, _ = stored(engine, key)
    assert submissions == {"a" * 32} and answers["channel"] == (None, "store")


def test_a_submission_id_of_another_response_stores_nothing(service, engine, key):
    other = service.start(service.find_wave("acsi-retail", "2026Q4"), "en").respondent_key
    with service.page_post(other, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "a" * 32) as post:
        assert post.save(OTHER_FIRST_PAGE, "en", advance=True).next_page == 0  # stays where it was
    assert stored(engine, key) == ({}, set(), 0)


def test_page_posted_again_replaces_its_answers_and_deletes_cleared_ones(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "b" * 32) as post:  # back on page 1: one answer cleared, one changed
        assert post.save({"channel": "online", "categories": None, "visits_per_month": 3}, "en",
                         advance=False).next_page == 0
    answers, _, current_page = stored(engine, key)
    assert answers == {"channel": (None, "online"), "visits_per_month": (3.0, None)}
    assert current_page == 1, "going back does not move the furthest page reached"


def test_leaving_without_saving_writes_nothing_and_releases_the_response(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        assert post.response is not None  # e.g. the page had errors: shown again, nothing saved
    with service.page_post(key, 0, "a" * 32) as post:
        assert not post.duplicate, "the claim of the submission id went with the rollback"
        post.save(FIRST_PAGE, "en", advance=True)
    assert stored(engine, key)[1] == {"a" * 32}


def test_unknown_key_and_unusable_submission_id_write_nothing(service, engine, key):
    with service.page_post("no-such-key", 0, "a" * 32) as post:
        assert post.response is None and post.answers == {}
    with service.page_post(key, 0, "short") as post:  # read without a transaction: refused by the view
        assert post.response.respondent_key == key
    with Session(engine) as session:
        assert session.scalar(select(PageSubmission)) is None


@pytest.mark.parametrize("same_submission", [False, True], ids=["two-tabs", "one-form-sent-twice"])
def test_a_post_racing_another_of_the_same_response_waits_and_sees_what_it_saved(service, engine, key,
                                                                                  same_submission):
    """The second post's read waits for the first post's transaction: it then sees the first
    post's answers (two tabs) or its submission id (a repeat), never the state before it."""
    seen = {}

    def second():
        with service.page_post(key, 0, "a" * 32 if same_submission else "b" * 32) as post:
            seen["answers"], seen["duplicate"] = dict(post.answers), post.duplicate
            seen["outcome"] = post.save(OTHER_FIRST_PAGE, "en", advance=True)

    with service.page_post(key, 0, "a" * 32) as first:
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.3)       # the racer is now waiting for the lock (were it not, it would read {} below)
        assert "answers" not in seen
        first.save(FIRST_PAGE, "en", advance=True)
    racer.join(timeout=30)
    assert seen["answers"] == FIRST_PAGE and seen["duplicate"] is same_submission
    answers, submissions, current_page = stored(engine, key)
    assert current_page == 1
    if same_submission:
        assert submissions == {"a" * 32} and answers["channel"] == (None, "store")
    else:
        assert submissions == {"a" * 32, "b" * 32} and answers["channel"] == (None, "online")


def test_second_response_for_one_invitation_is_refused_as_sqlalchemy_reports_it(service, engine):
    """open_invitation counts on an IntegrityError when the same link is opened twice at once."""
    from sqlalchemy.exc import IntegrityError

    from models.storage import create_invitations, find_wave

    with Session(engine) as session:
        create_invitations(session, find_wave(session, "acsi-retail", "2026Q4"), [{"region": "north"}])
        session.commit()
        invitation_id = session.scalar(text("SELECT id FROM invitations"))
    wave = service.find_wave("acsi-retail", "2026Q4")
    first = service.start(wave, "en", invitation_id)
    with pytest.raises(IntegrityError):
        service.start(wave, "en", invitation_id)
    with Session(engine) as session:
        assert session.scalars(select(Response.id).where(Response.invitation_id == invitation_id)).all() == [first.id]
