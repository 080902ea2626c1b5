"""Storage on SQLite and (when CSI_TEST_POSTGRES_URL is set) PostgreSQL."""
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

import questionnaires
from models import load_questionnaire
from models.storage import (StorageError, bulk_insert_responses, create_invitations, create_wave, current_revision,
                            find_wave, hash_token, head_revision, load_wave_frame, make_engine, register_questionnaire,
                            upgrade)
from models.storage.tables import Invitation, Response


@pytest.fixture
def acsi():
    return load_questionnaire(questionnaires.path("acsi_retail"))


def test_upgrade_creates_schema_and_is_idempotent(empty_database_url):
    engine = make_engine(empty_database_url)
    assert upgrade(engine) == (None, head_revision())
    assert upgrade(engine) == (head_revision(), head_revision())
    tables = set(inspect(engine).get_table_names())
    assert {"surveys", "waves", "invitations", "responses", "answers", "page_submissions", "alembic_version"} <= tables


def test_sqlite_uses_wal(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_migration_from_first_schema_keeps_data(empty_database_url, acsi):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO surveys (id, questionnaire_id, version, content_hash, content, title, created_at) "
            "VALUES (1, 'acsi-retail', '1', 'abc', :content, 'T', CURRENT_TIMESTAMP)"),
            {"content": json.dumps(dict(acsi.raw), ensure_ascii=False)})
        connection.execute(text("INSERT INTO waves (id, questionnaire_id, name, survey_id, closed) VALUES (1, 'acsi-retail', '2026Q3', 1, false)"))
        connection.execute(text(
            "INSERT INTO responses (id, survey_id, wave_id, status, language, current_page, started_at, updated_at) "
            "VALUES (7, 1, 1, 'complete', 'en', 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO answers (response_id, question_id, value_num) VALUES (7, 'sat_overall', 9)"))
    assert upgrade(engine) == ("0001", head_revision())
    frame = load_wave_frame(engine, "acsi-retail", "2026Q3")
    assert frame.loc[7, "sat_overall"] == 9
    with Session(engine) as session:
        response = session.get(Response, 7)
        assert response.follow_up is False and response.contact is None and response.current_page == 3


def test_register_is_idempotent_per_content(database_url, acsi):
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        first = register_questionnaire(session, acsi)
        again = register_questionnaire(session, acsi)
        session.commit()
        assert first.id == again.id and first.content_hash == acsi.content_hash
        create_wave(session, first, "2026Q4")
        with pytest.raises(StorageError, match="wave '2026Q4' of 'acsi-retail' already exists"):
            create_wave(session, first, "2026Q4")
        with pytest.raises(StorageError, match="no wave '2025Q1' for questionnaire 'acsi-retail'; its waves: 2026Q4"):
            find_wave(session, "acsi-retail", "2025Q1")


def test_invitation_tokens_are_stored_hashed(database_url, acsi):
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        wave = create_wave(session, register_questionnaire(session, acsi), "2026Q4")
        tokens = create_invitations(session, wave, [{"region": "north"}, {"region": "south"}])
        session.commit()
        stored = session.scalars(select(Invitation.token_hash)).all()
    assert len(set(tokens)) == 2 and all(len(t) >= 43 for t in tokens)  # >= 256 bits, URL-safe
    assert sorted(stored) == sorted(hash_token(t) for t in tokens)
    assert not set(tokens) & set(stored)


def test_wide_frame_round_trip(database_url, acsi):
    engine = make_engine(database_url)
    upgrade(engine)
    answers = pd.DataFrame({
        "sat_overall": [9, 4, np.nan], "nps": [10, 3, 7], "channel": ["store", "online", None],
        "categories": [["grocery", "home"], None, ["clothing"]], "comments": ["<script>x</script>", None, "好"]})
    with Session(engine) as session:
        survey = register_questionnaire(session, acsi)
        wave = create_wave(session, survey, "2026Q4")
        other = create_wave(session, survey, "2026Q3")
        session.commit()
        ids = bulk_insert_responses(engine, survey, wave, answers)
        bulk_insert_responses(engine, survey, other, answers.iloc[:1])
        bulk_insert_responses(engine, survey, wave, answers.iloc[:1], status="partial")
    frame = load_wave_frame(engine, "acsi-retail", "2026Q4")
    assert list(frame.index) == ids
    assert frame["sat_overall"].tolist()[:2] == [9.0, 4.0] and np.isnan(frame["sat_overall"].iloc[2])
    assert frame["channel"].tolist()[:2] == ["store", "online"] and pd.isna(frame["channel"].iloc[2])
    assert frame["categories"].iloc[0] == '["grocery", "home"]'
    assert frame["comments"].iloc[0] == "<script>x</script>" and frame["comments"].iloc[2] == "好"
    assert pd.isna(frame["comments"].iloc[1])
    partial = load_wave_frame(engine, "acsi-retail", "2026Q4", status="partial")
    assert len(partial) == 1
    assert list(load_wave_frame(engine, "acsi-retail", "2026Q4", columns=["nps", "missing_q"]).columns) == ["nps", "missing_q"]


def test_rows_an_older_bulk_loader_wrote_are_read_and_exported_beside_the_webs(database_url):
    """A wave holding an integer option both as (1.0, None) (the bulk loader before issue 21)
    and as (None, "2") (the web): the wide frame keeps both (it used to keep only the texts)
    and the export shows both as option values."""
    from models.exports import wide_frame
    from models.questionnaire import parse_questionnaire
    from models.storage.tables import Answer

    from ..every_type import QUESTIONNAIRE

    questionnaire = parse_questionnaire(QUESTIONNAIRE, "types.yaml")
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    ids = bulk_insert_responses(engine, survey, wave, pd.DataFrame({"sat": [3.0, 4.0, 5.0]}))
    with engine.begin() as connection:
        connection.execute(Answer.__table__.insert(), [
            {"response_id": ids[0], "question_id": "coded", "value_num": 1.0, "value_text": None},
            {"response_id": ids[1], "question_id": "coded", "value_num": None, "value_text": "2"}])
    frame = load_wave_frame(engine, "types", "W1")
    assert frame["coded"].tolist()[:2] == [1.0, "2"] and pd.isna(frame["coded"].iloc[2])
    assert wide_frame(engine, questionnaire, "W1")["coded"].tolist() == ["1", "2", None]
    engine.dispose()


def test_stale_answers_of_web_responses_are_not_read_and_an_imports_are(database_url):
    """A partial web response that went back and changed "visited" to no keeps its stale
    answers stored, and one completed before chains were followed kept "handling" after its
    "complained" was dropped: the wave's frame (analysis, exports, API) reads neither; an
    imported response's answers are the file's."""
    from models.questionnaire import parse_questionnaire

    from .. import chain_questionnaire
    chain = parse_questionnaire(chain_questionnaire.QUESTIONNAIRE, "chain.yaml")
    engine = make_engine(database_url)
    with Session(engine) as session:
        survey = register_questionnaire(session, chain)
        wave = create_wave(session, survey, "W1")
        session.commit()
        stale = chain_questionnaire.STALE
        kept = {"visited": "yes", "complained": "yes", "handling": 2, "overall": 5}
        web = bulk_insert_responses(engine, survey, wave, pd.DataFrame([stale, kept, stale]), status="partial")
        imported = bulk_insert_responses(engine, survey, wave, pd.DataFrame([stale]), status="partial",
                                         origin="imported")
        legacy = bulk_insert_responses(engine, survey, wave, pd.DataFrame([{"visited": "no", "handling": 1, "overall": 3}]))
    partial = load_wave_frame(engine, "chain", "W1", status="partial")

    def row(frame, response_id):
        return {k: None if pd.isna(v) else v for k, v in frame.loc[response_id].to_dict().items()}
    assert row(partial, web[0]) == {"visited": "no", "complained": None, "handling": None, "overall": 4.0}
    assert row(partial, web[1]) == {"visited": "yes", "complained": "yes", "handling": 2.0, "overall": 5.0}
    assert row(partial, web[2]) == row(partial, web[0])  # the same cells: one group
    assert row(partial, imported[0]) == {"visited": "no", "complained": "yes", "handling": 1.0, "overall": 4.0}
    complete = load_wave_frame(engine, "chain", "W1")
    assert list(complete.index) == legacy and np.isnan(complete.loc[legacy[0], "handling"])
    assert complete.loc[legacy[0], "overall"] == 3.0
    only = load_wave_frame(engine, "chain", "W1", status="partial", columns=["handling"])
    assert only["handling"].isna().tolist() == [True, False, True, False]  # masked before the columns are chosen


def test_stale_answers_are_judged_with_the_links_hidden_values(sqlite_url):
    """``app_only`` is shown when the link said channel=app: a response whose link said web
    cannot hold an answer to it (its page's conditions read the hidden value, not an answer)."""
    from models.questionnaire import parse_questionnaire

    from ..hidden_questionnaire import HIDDEN_YAML
    questionnaire = parse_questionnaire(HIDDEN_YAML, "hidden.yaml")
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
        rows = pd.DataFrame([{"overall": 8, "fruit": "a", "app_only": 1}] * 3)
        ids = bulk_insert_responses(engine, survey, wave, rows, status="partial")
        for response_id, channel in zip(ids, ["app", "web", None]):
            session.get(Response, response_id).hidden = {"channel": channel} if channel else None
        session.commit()
    frame = load_wave_frame(engine, "hidden-demo", "W1", status="partial")
    assert frame["app_only"].isna().tolist() == [False, True, True] and frame["overall"].tolist() == [8.0] * 3
