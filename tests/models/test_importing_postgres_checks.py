"""PostgreSQL imports check foreign keys once per import instead of once per row
(models/storage/bulk_insert.py, ``_per_row_checks_off``) when the database role may set
``session_replication_role``, and per row otherwise: both paths store the same rows, an
answer without its response is still refused, and nothing else the transaction does runs
without triggers. Real PostgreSQL (CSI_TEST_POSTGRES_URL), roles made and dropped here."""
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models.importing import import_file
from models.questionnaire import parse_questionnaire
from models.storage import create_wave, make_engine, register_questionnaire, upgrade
from models.storage.bulk_insert import (_RESPONSE_COLUMNS, _check_answers_have_responses, _lock_referenced,
                                        _per_row_checks_off, bulk_insert_responses)
from models.storage.repository import StorageError
from models.storage.tables import QuestionnaireVersion, Wave
from tests.conftest import postgres_url, scratch_postgres
from tests.models.test_importing import MIXED, QUESTIONNAIRE, stored_rows, write


def registered(url: str):
    engine = make_engine(url)
    with Session(engine) as session:
        create_wave(session, register_questionnaire(session, parse_questionnaire(QUESTIONNAIRE, "imp.yaml")), "W1")
        session.commit()
    return engine


@contextmanager
def database_of_a_plain_role(grant: bool):
    """A new database owned (and migrated) by a new role that is not a superuser, granted
    SET on session_replication_role or not; yields its URL, drops both afterwards."""
    base = postgres_url()
    role, name = f"csi_role_{uuid.uuid4().hex[:10]}", f"csi_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER'))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{role}"'))
        if grant:
            connection.execute(text(f'GRANT SET ON PARAMETER session_replication_role TO "{role}"'))
    try:
        url = make_url(base).set(username=role, password=None, database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'REVOKE ALL ON PARAMETER session_replication_role FROM "{role}"'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def checks_off(engine) -> str | None:
    """What ``_per_row_checks_off`` answers for this engine's role (in a transaction rolled back)."""
    with engine.connect() as connection:
        with connection.connection.dbapi_connection.cursor() as cursor:
            answer = _per_row_checks_off(cursor)
        connection.rollback()
    return answer


def test_the_fast_path_and_the_per_row_checks_store_the_same_rows(postgres_template, tmp_path):
    """A superuser and a role granted SET ON PARAMETER take the fast path, a plain role the
    per-row checks (its refused SET leaves the transaction usable); all three store the
    same responses and answers, re-imports included."""
    path = write(tmp_path, "mixed.csv", MIXED + "6,4,store,,bad row,3,en,,,\n")
    stored, paths = [], []
    with scratch_postgres(postgres_template) as superuser_url, \
            database_of_a_plain_role(grant=True) as granted_url, database_of_a_plain_role(grant=False) as plain_url:
        for url in (superuser_url, granted_url, plain_url):
            engine = registered(url)
            paths.append(checks_off(engine))
            first = import_file(engine, "imp", "W1", path, skip_bad_rows=True)
            again = import_file(engine, "imp", "W1", path, skip_bad_rows=True)
            assert (first.stored, first.skipped_rows, again.stored, again.already_imported) == (6, 1, 0, 6)
            engine.dispose()
            stored.append(stored_rows(url))
    assert paths == ["origin", "origin", None]
    assert stored[0] == stored[1] == stored[2]
    assert len(stored[0][0]) == 6 and len(stored[0][1]) == 31


def test_an_answer_without_its_response_is_refused(postgres_template):
    """With the per-row check off, the one set-based check still finds an orphan answer (and
    with it on, PostgreSQL refuses the row itself, as before)."""
    with scratch_postgres(postgres_template) as url:
        engine = registered(url)
        with engine.connect() as connection:
            with connection.connection.dbapi_connection.cursor() as cursor:
                assert _per_row_checks_off(cursor) == "origin"
                cursor.execute("INSERT INTO answers (response_id, question_id, value_num) VALUES (424242, 'sat', 5)")
                cursor.execute("SELECT set_config('session_replication_role', 'origin', true)")
                _check_answers_have_responses(cursor, 1, 424241)  # below it: nothing to refuse
                with pytest.raises(StorageError, match="response 424242"):
                    _check_answers_have_responses(cursor, 424242, 424242)
            connection.rollback()
        with engine.connect() as connection:
            from sqlalchemy.exc import IntegrityError
            with pytest.raises(IntegrityError, match="answers_response_id_fkey"):
                connection.execute(text("INSERT INTO answers (response_id, question_id, value_num) "
                                        "VALUES (424242, 'sat', 5)"))
            connection.rollback()
            assert connection.execute(text("SELECT count(*) FROM answers")).scalar() == 0
        engine.dispose()


def test_a_wave_that_is_gone_is_refused_and_an_existing_one_is_locked(postgres_template):
    """What the responses' per-row checks did, once: a survey or wave that does not exist is
    refused; an existing wave is locked FOR KEY SHARE until commit, so deleting it waits."""
    with scratch_postgres(postgres_template) as url:
        engine = registered(url)
        with engine.connect() as connection:
            survey_id, wave_id = connection.execute(text("SELECT survey_id, id FROM waves")).one()
            with connection.connection.dbapi_connection.cursor() as cursor:
                with pytest.raises(StorageError, match=r"waves \[4242\]"):
                    _lock_referenced(cursor, {"survey_id": [survey_id], "wave_id": [wave_id, 4242]})
            connection.rollback()
            with connection.connection.dbapi_connection.cursor() as cursor:
                _lock_referenced(cursor, {"survey_id": [survey_id] * 3, "wave_id": [wave_id] * 3})
                locks = cursor.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.pid = pg_backend_pid() AND l.relation IN ('waves'::regclass, 'surveys'::regclass) "
                    "AND l.mode = 'RowShareLock'").fetchone()[0]
                with engine.connect() as other:
                    other.exec_driver_sql("SET lock_timeout = '200ms'")
                    from sqlalchemy.exc import OperationalError
                    with pytest.raises(OperationalError, match="lock timeout"):
                        other.execute(text("DELETE FROM waves WHERE id = :w"), {"w": wave_id})
                    other.rollback()
            connection.rollback()
        engine.dispose()
    assert locks == 2


def test_triggers_are_back_on_before_the_rest_of_the_transaction(postgres_template):
    """The caller's ``then`` (quota counters) runs with every trigger firing again; the
    import's own rows are in."""
    import pandas as pd

    with scratch_postgres(postgres_template) as url:
        engine = registered(url)
        with Session(engine) as session:
            survey = session.query(QuestionnaireVersion).one()
            wave = session.query(Wave).one()
            session.expunge_all()
        seen = []
        frame = pd.DataFrame({"sat": [5, 1, None], "rec": [4, 2, 3]})
        ids = bulk_insert_responses(engine, survey, wave, frame, then=lambda connection: seen.append(
            connection.exec_driver_sql("SELECT current_setting('session_replication_role')").scalar()))
        assert seen == ["origin"]
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM answers WHERE response_id = ANY(:ids)"),
                                      {"ids": ids}).scalar() == 5
        engine.dispose()


def test_answers_and_responses_have_no_triggers_but_their_foreign_keys(postgres_template):
    """session_replication_role = replica skips every ordinary trigger, not only the
    foreign keys' (and rules): the fast path is sound only while answers and responses have
    none but the foreign keys' own, and while the responses' foreign keys the import does
    not lock itself (_lock_referenced) are not among the columns it writes."""
    with scratch_postgres(postgres_template) as url:
        engine = make_engine(url)
        with engine.connect() as connection:
            triggers = connection.execute(text(
                "SELECT tgrelid::regclass::text, tgfoid::regproc::text, tgisinternal, tgenabled FROM pg_trigger "
                "WHERE tgrelid IN ('answers'::regclass, 'responses'::regclass)")).all()
            rules = connection.execute(text(
                "SELECT count(*) FROM pg_rules WHERE tablename IN ('answers', 'responses')")).scalar()
            keys = connection.execute(text(
                "SELECT conrelid::regclass::text, a.attname, confrelid::regclass::text FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                "WHERE c.contype = 'f' AND c.conrelid IN ('answers'::regclass, 'responses'::regclass)")).all()
        engine.dispose()
    assert rules == 0
    assert all(internal and function.startswith('"RI_FKey_') and enabled == "O"
               for _, function, internal, enabled in triggers), triggers
    assert sorted(keys) == [("answers", "response_id", "responses"),
                            ("responses", "follow_up_assignee_id", "admin_users"),
                            ("responses", "invitation_id", "invitations"), ("responses", "survey_id", "surveys"),
                            ("responses", "wave_id", "waves")]
    assert {"invitation_id", "follow_up_assignee_id"}.isdisjoint(_RESPONSE_COLUMNS)
