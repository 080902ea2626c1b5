"""csi backup / csi restore: a restored database yields the same indices (both backends), and
a restore of anything that is not a sound backup of this application leaves the database
exactly as it was."""
import sqlite3
import subprocess
from contextlib import ExitStack

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

import questionnaires
from analysis import fit
from analysis.simulate import simulate_responses
from models import load_questionnaire
from models.storage import (bulk_insert_responses, create_wave, current_revision, head_revision, load_wave_frame,
                            make_engine, register_questionnaire, upgrade)
from models.storage.backup import BackupError, backup, expected_tables, restore
from models.storage.db import scratch_postgres_database


def second_database(url: str, tmp_path, stack: ExitStack) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return stack.enter_context(scratch_postgres_database(url, "csi_restore"))


def indices(url, questionnaire):
    data = load_wave_frame(make_engine(url), questionnaire.id, "2026Q4")
    return fit(questionnaire.csi_model(), data, questionnaire=questionnaire).index


def populate(url: str, n: int, seed: int = 5, revision: str = "head"):
    """A database with ``n`` responses, at ``revision``: filled at the current schema (the ORM
    writes today's columns), then migrated down, as a database of that age would hold them."""
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
        bulk_insert_responses(engine, survey, wave, simulate_responses(questionnaire, n, seed=seed))
    if revision != "head":
        from models.storage.db import downgrade
        downgrade(engine, revision)
    engine.dispose()
    return questionnaire


def state(url: str) -> tuple:
    """What a failed restore must leave alone: schema revision, tables and row counts."""
    engine = make_engine(url)
    try:
        tables = sorted(inspect(engine).get_table_names())
        with engine.connect() as connection:
            counts = tuple(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                           for name in ("surveys", "waves", "responses", "answers"))
        return current_revision(engine), tuple(tables), counts
    finally:
        engine.dispose()


def test_restored_database_gives_the_same_indices(database_url, tmp_path):
    questionnaire = populate(database_url, 300)
    before = indices(database_url, questionnaire)
    file = tmp_path / "backup.bin"
    facts = backup(database_url, file)
    assert file.stat().st_size > 10_000 and facts.get("responses", 300) == 300
    with ExitStack() as stack:
        target = second_database(database_url, tmp_path, stack)
        facts = restore(file, target)
        assert (facts["responses"], facts["revision"], facts["schema"]) == (300, head_revision(), head_revision())
        after = indices(target, questionnaire)
        assert after.to_dict() == before.to_dict()
        # Restoring again over the restored data replaces it rather than adding to it.
        restore(file, target)
        assert state(target) == state(database_url)
        restored = make_engine(target)
        assert len(load_wave_frame(restored, questionnaire.id, "2026Q4")) == 300
        restored.dispose()


def test_restore_replaces_different_data(database_url, tmp_path):
    populate(database_url, 40)
    file = tmp_path / "backup.bin"
    backup(database_url, file)
    with ExitStack() as stack:
        target = second_database(database_url, tmp_path, stack)
        populate(target, 25, seed=9)
        assert state(target)[2][2] == 25
        restore(file, target)
        assert state(target) == state(database_url)
        assert state(target)[2][2] == 40


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


# --- SQLite: foreign, incomplete, corrupt and newer files never replace the database ---

def foreign_table_foo(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE foo (x INTEGER)")
        db.execute("INSERT INTO foo VALUES (1)")


def empty_responses_no_alembic(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE answers (response_id INTEGER)")


def newer_schema(path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()


def missing_tables(path):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE api_tokens"))
    engine.dispose()


def truncated_backup(path, good):
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def corrupt_backup(path, good):
    data = bytearray(good.read_bytes())
    for offset in range(4096, len(data), 97):  # scribble over every page after the header page
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def not_sqlite(path):
    path.write_bytes(b"PK\x03\x04 a zip file, say")


@pytest.mark.parametrize("make, message", [
    (foreign_table_foo, r"is not a csi-toolkit backup: it has no alembic_version table \(tables: foo\)"),
    (empty_responses_no_alembic, r"is not a csi-toolkit backup: it has no alembic_version table"),
    (newer_schema, r"schema revision '9999_future', which this version of csi-toolkit does not know"),
    (missing_tables, r"is not a complete csi-toolkit backup: schema \w+ lacks the tables api_tokens"),
    (truncated_backup, r"(is not a readable SQLite database|fails SQLite's integrity check)"),
    (corrupt_backup, r"(is not a readable SQLite database|fails SQLite's integrity check)"),
    (not_sqlite, r"is neither a SQLite database nor a pg_dump custom-format file"),
])
def test_sqlite_restore_of_a_bad_file_leaves_the_database_untouched(make, message, tmp_path):
    live = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    populate(live, 30)
    good = tmp_path / "good.sqlite3"
    backup(live, good)
    before = state(live)
    bad = tmp_path / "bad.sqlite3"
    if make in (truncated_backup, corrupt_backup):
        make(bad, good)
    else:
        make(bad)
    with pytest.raises(BackupError, match=message) as raised:
        restore(bad, live)
    assert "\n" not in str(raised.value)
    assert state(live) == before
    leftovers = [p.name for p in tmp_path.iterdir() if ".restore" in p.name]
    assert leftovers == []  # the scratch copy is removed


def test_sqlite_restore_of_an_older_schema_upgrades_the_copy(tmp_path):
    old = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    populate(old, 15, revision="0002")
    assert current_revision(make_engine(old)) == "0002"
    file = tmp_path / "old-backup.sqlite3"
    backup(old, file)
    live = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    facts = restore(file, live)
    assert (facts["revision"], facts["schema"], facts["responses"]) == ("0002", head_revision(), 15)
    assert state(live)[0] == head_revision() and state(live)[2][2] == 15


def test_expected_tables_follow_the_migrations():
    assert {"surveys", "waves", "responses", "answers", "alembic_version"} <= expected_tables("0001")
    assert "admin_users" not in expected_tables("0001")
    assert {"admin_users", "api_tokens"} <= expected_tables(head_revision())


# --- backup refusals ---

def test_backup_refuses_the_live_file_a_missing_folder_and_foreign_files(tmp_path):
    live_path = tmp_path / "live.sqlite3"
    live = f"sqlite:///{live_path}"
    populate(live, 10)
    before = state(live)
    with pytest.raises(BackupError, match="is the live database itself"):
        backup(live, live_path)
    with pytest.raises(BackupError, match=r"the folder .*nowhere does not exist; create it first"):
        backup(live, tmp_path / "nowhere" / "b.sqlite3")
    notes = tmp_path / "notes.txt"
    notes.write_text("my precious notes")
    with pytest.raises(BackupError, match="exists and is not a SQLite backup; not overwriting it"):
        backup(live, notes)
    assert notes.read_text() == "my precious notes"
    with pytest.raises(BackupError, match="is a folder"):
        backup(live, tmp_path)
    with pytest.raises(BackupError, match="there is no database at"):
        backup(f"sqlite:///{tmp_path / 'absent.sqlite3'}", tmp_path / "b.sqlite3")
    assert not (tmp_path / "absent.sqlite3").exists()  # a backup never creates the database it reads
    assert state(live) == before
    # An existing earlier backup is replaced, atomically (no partial file left behind).
    first = backup(live, tmp_path / "b.sqlite3")
    second = backup(live, tmp_path / "b.sqlite3")
    assert first["responses"] == second["responses"] == 10
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


# --- PostgreSQL ---

@pytest.fixture
def postgres_live():
    from tests.conftest import scratch_postgres

    with scratch_postgres() as url:
        yield url


def dump(url, path):
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), "--dbname", url], check=True)


def test_postgres_restore_of_bad_dumps_leaves_the_database_untouched(postgres_live, tmp_path):
    populate(postgres_live, 30)
    before = state(postgres_live)
    good = tmp_path / "good.dump"
    backup(postgres_live, good)
    with scratch_postgres_database(postgres_live, "csi_foreign") as foreign:
        engine = make_engine(foreign)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE foo (x integer)"))
            connection.execute(text("CREATE TABLE responses (id integer)"))
        engine.dispose()
        dump(foreign, tmp_path / "foreign.dump")
    with scratch_postgres_database(postgres_live, "csi_newer") as newer:
        engine = make_engine(newer)
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        engine.dispose()
        dump(newer, tmp_path / "newer.dump")
    data = good.read_bytes()
    (tmp_path / "truncated.dump").write_bytes(data[: len(data) // 2])
    (tmp_path / "header-only.dump").write_bytes(data[:5])
    cases = {
        "foreign.dump": r"is not a csi-toolkit backup: it has no alembic_version table \(tables: foo, responses\)",
        "newer.dump": r"schema revision '9999_future', which this version of csi-toolkit does not know",
        "truncated.dump": r"(pg_restore of .* failed|is not a readable pg_dump file)",
        "header-only.dump": r"is not a readable pg_dump file",
    }
    for name, message in cases.items():
        with pytest.raises(BackupError, match=message) as raised:
            restore(tmp_path / name, postgres_live)
        assert "\n" not in str(raised.value)
        assert state(postgres_live) == before, name
    # No scratch database is left behind.
    admin = make_engine(postgres_live)
    live_name = postgres_live.rsplit("/", 1)[1]
    with admin.connect() as connection:
        names = connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                   {"p": f"{live_name[:40]}_%"}).scalars().all()
    admin.dispose()
    assert names == []


def test_postgres_restore_over_a_connected_database(postgres_live, tmp_path):
    """A server's open connection does not block the swap; it reconnects to the restored data."""
    populate(postgres_live, 12)
    file = tmp_path / "b.dump"
    backup(postgres_live, file)
    with make_engine(postgres_live).begin() as connection:
        connection.execute(text("DELETE FROM answers"))
        connection.execute(text("DELETE FROM responses"))
    server = make_engine(postgres_live, pool_pre_ping=True)
    with server.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM responses")).scalar_one() == 0
    facts = restore(file, postgres_live)
    assert facts["responses"] == 12
    with server.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM responses")).scalar_one() == 12
    server.dispose()


def test_postgres_backup_refuses_a_missing_folder_and_foreign_files(postgres_live, tmp_path):
    populate(postgres_live, 5)
    with pytest.raises(BackupError, match=r"the folder .*nowhere does not exist; create it first"):
        backup(postgres_live, tmp_path / "nowhere" / "b.dump")
    notes = tmp_path / "notes.txt"
    notes.write_text("my precious notes")
    with pytest.raises(BackupError, match="exists and is not a pg_dump backup; not overwriting it"):
        backup(postgres_live, notes)
    assert notes.read_text() == "my precious notes"
    facts = backup(postgres_live, tmp_path / "b.dump")
    assert facts["kind"] == "postgresql" and (tmp_path / "b.dump").read_bytes()[:5] == b"PGDMP"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.dump", "notes.txt"]
