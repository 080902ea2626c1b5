"""csi backup / csi restore: a restored database yields the same indices (both backends)."""
from contextlib import ExitStack

import pytest
from sqlalchemy.orm import Session

import questionnaires
from analysis import fit
from analysis.simulate import simulate_responses
from models import load_questionnaire
from models.storage import bulk_insert_responses, create_wave, load_wave_frame, make_engine, register_questionnaire, upgrade
from models.storage.backup import BackupError, backup, restore
from models.storage.db import scratch_postgres_database


def second_database(url: str, tmp_path, stack: ExitStack) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return stack.enter_context(scratch_postgres_database(url, "csi_restore"))


def indices(url, questionnaire):
    data = load_wave_frame(make_engine(url), questionnaire.id, "2026Q4")
    return fit(questionnaire.csi_model(), data, questionnaire=questionnaire).index


def test_restored_database_gives_the_same_indices(database_url, tmp_path):
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
        bulk_insert_responses(engine, survey, wave, simulate_responses(questionnaire, 300, seed=5))
    before = indices(database_url, questionnaire)
    engine.dispose()
    file = tmp_path / "backup.bin"
    facts = backup(database_url, file)
    assert file.stat().st_size > 10_000 and facts.get("responses", 300) == 300
    with ExitStack() as stack:
        target = second_database(database_url, tmp_path, stack)
        restore(file, target)
        after = indices(target, questionnaire)
        assert after.to_dict() == before.to_dict()
        # Restoring over a database that already has data replaces it rather than adding to it.
        restore(file, target)
        restored = make_engine(target)
        assert len(load_wave_frame(restored, questionnaire.id, "2026Q4")) == 300
        restored.dispose()


def test_restore_refuses_what_it_cannot_restore(tmp_path, sqlite_url):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(BackupError, match="neither a SQLite database nor a pg_dump"):
        restore(junk, sqlite_url)
    sqlite_backup = tmp_path / "b.sqlite3"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    backup(sqlite_url, sqlite_backup)
    with pytest.raises(BackupError, match="restores into a SQLite database, not postgresql"):
        restore(sqlite_backup, "postgresql://nobody@127.0.0.1:1/none")
