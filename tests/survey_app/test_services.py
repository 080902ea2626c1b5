"""The optimistic page post on PostgreSQL (survey_app/services.py): a post saves only if the
response is as it was read, and writes nothing otherwise; the locking post then succeeds.
SQLite has only the locking path, which the respondent and concurrency tests cover."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models.storage.tables import Answer, PageSubmission, Response
from survey_app.services import StaleRead
from tests.conftest import scratch_postgres

FIRST_PAGE = {"channel": "store", "categories": ["grocery"], "visits_per_month": 3}
OTHER_FIRST_PAGE = {"channel": "online", "categories": ["clothing", "grocery"], "visits_per_month": 7}


@pytest.fixture
def database_url():
    """PostgreSQL only: the optimistic path exists only there."""
    with scratch_postgres() as url:
        yield url


@pytest.fixture
def service(app):
    return app.extensions["csi"]["service"]


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


def test_post_that_read_before_another_was_saved_writes_nothing(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as first, service.page_post(key, 0, "b" * 32) as second:
        assert not first.duplicate and not second.duplicate
        assert first.save(FIRST_PAGE, "en", advance=True).next_page == 1
        with pytest.raises(StaleRead):
            second.save(OTHER_FIRST_PAGE, "zh-CN", advance=True)
    answers, submissions, current_page = stored(engine, key)
    assert submissions == {"a" * 32} and current_page == 1
    assert answers == {"channel": (None, "store"), "categories": (None, '["grocery"]'), "visits_per_month": (3.0, None)}

    # Done again under the lock, it is checked against what the first post saved, and saved.
    with service.page_post(key, 0, "b" * 32, locking=True) as again:
        assert again.answers == {"channel": "store", "categories": ["grocery"], "visits_per_month": 3}
        assert again.save(OTHER_FIRST_PAGE, "en", advance=True).next_page == 1
    answers, submissions, _ = stored(engine, key)
    assert submissions == {"a" * 32, "b" * 32}
    assert answers == {"channel": (None, "online"), "categories": (None, '["clothing", "grocery"]'),
                       "visits_per_month": (7.0, None)}


def test_repeated_submission_id_is_known_from_the_read_and_writes_nothing(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "a" * 32) as repeat:
        assert repeat.duplicate
        outcome = repeat.save(OTHER_FIRST_PAGE, "en", advance=True)
    assert outcome.next_page == 1 and outcome.answers["channel"] == "store"
    answers, submissions, _ = stored(engine, key)
    assert submissions == {"a" * 32} and answers["channel"] == (None, "store")


def test_racing_repeat_of_one_submission_is_stored_once(service, engine, key):
    """Both read before either saved: the second finds its read outdated, and done again it is
    recognised as the repeat it is."""
    with service.page_post(key, 0, "a" * 32) as first, service.page_post(key, 0, "a" * 32) as second:
        first.save(FIRST_PAGE, "en", advance=True)
        with pytest.raises(StaleRead):
            second.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "a" * 32, locking=True) as again:
        assert again.duplicate
        assert again.save(FIRST_PAGE, "en", advance=True).next_page == 1
    answers, submissions, current_page = stored(engine, key)
    assert submissions == {"a" * 32} and current_page == 1 and len(answers) == 3


def test_page_posted_again_replaces_its_answers_and_deletes_cleared_ones(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    with service.page_post(key, 0, "b" * 32) as post:  # back on page 1: one answer cleared, one changed
        assert post.save({"channel": "online", "categories": None, "visits_per_month": 3}, "en",
                         advance=False).next_page == 0
    answers, _, current_page = stored(engine, key)
    assert answers == {"channel": (None, "online"), "visits_per_month": (3.0, None)}
    assert current_page == 1, "going back does not move the furthest page reached"


def test_response_deleted_between_read_and_save_gets_nothing_written(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM responses WHERE respondent_key = :key"), {"key": key})
        with pytest.raises(StaleRead):
            post.save(FIRST_PAGE, "en", advance=True)
    with Session(engine) as session:
        assert session.scalar(select(PageSubmission)) is None and session.scalar(select(Answer)) is None
    with service.page_post(key, 0, "a" * 32, locking=True) as again:
        assert again.response is None


def test_connections_go_back_to_the_pool_as_it_hands_them_out(service, engine, key):
    with service.page_post(key, 0, "a" * 32) as post:
        post.save(FIRST_PAGE, "en", advance=True)
    pooled = engine.raw_connection()
    try:
        assert pooled.driver_connection.autocommit is False
    finally:
        pooled.close()


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
