"""Backups: SQLite through its online backup API (safe while the server writes), PostgreSQL
through pg_dump/pg_restore (custom format). A backup file's first bytes tell which it is.

A restore never touches the live database until the backup has been proven to be one of
this application's: it is first restored into a scratch copy (a temporary SQLite file
beside the target, or a scratch PostgreSQL database on the same server), which must pass
SQLite's integrity check, carry an Alembic revision this code knows (so not a newer
schema), hold every table that revision creates, and upgrade to the current schema.
Only then is the live database replaced, in one step:

- SQLite: the verified copy is written into the live file by SQLite's backup API in a
  single write transaction. A file rename would be atomic too, but a server holding the
  live file open in WAL mode would pair the new file with the old ``-wal``/``-shm`` files,
  which corrupts it; a transaction cannot.
- PostgreSQL: new connections to the target are refused, open ones ended, and the target
  and the scratch database swap names in one transaction; the old one is then dropped.

Any failure before the swap leaves the original as it was and raises :class:`BackupError`
with one line saying why.
"""
from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.engine import make_url

from ..errors import CSIError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(CSIError):
    pass


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a SQLite file")
    return database


def _libpq_url(url: str) -> str:
    # pg_dump speaks libpq URLs: drop SQLAlchemy's driver suffix (postgresql+psycopg://).
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _first_line(message: str) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _head(path: Path, size: int = 16) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


@functools.cache
def known_revisions() -> dict[str, int]:
    """Every Alembic revision this code ships, with its position from the base (0, 1, ...)."""
    from alembic.script import ScriptDirectory

    from .db import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    order = [revision.revision for revision in script.walk_revisions()][::-1]
    return {revision: position for position, revision in enumerate(order)}


@functools.cache
def expected_tables(revision: str) -> frozenset[str]:
    """The tables the migrations up to ``revision`` create, found by running them on an
    empty SQLite file: a backup at that revision must hold at least these."""
    from .db import make_engine, upgrade

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'schema.sqlite3'}")
        try:
            upgrade(engine, revision)
            with engine.connect() as connection:
                return frozenset(row[0] for row in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        finally:
            engine.dispose()


def _check_schema(source: str, tables: set[str], revisions: list[str]) -> str:
    """The backup's Alembic revision, once it has proven to be this application's schema."""
    if "alembic_version" not in tables:
        found = ", ".join(sorted(tables)[:5]) or "none"
        raise BackupError(f"{source} is not a csi-toolkit backup: it has no alembic_version table (tables: {found})")
    if len(revisions) != 1:
        raise BackupError(f"{source} is not a csi-toolkit backup: its alembic_version table holds "
                          f"{len(revisions)} revisions, not one")
    revision = revisions[0]
    if revision not in known_revisions():
        raise BackupError(f"{source} has schema revision {revision!r}, which this version of csi-toolkit does not "
                          f"know (newest known: {max(known_revisions(), key=known_revisions().get)}); "
                          "a backup from a newer version needs that version to restore it")
    missing = expected_tables(revision) - tables
    if missing:
        raise BackupError(f"{source} is not a complete csi-toolkit backup: schema {revision} lacks the tables "
                          f"{', '.join(sorted(missing))}")
    return revision


def _prepare_target_file(target: Path, live: Path | None, magic: bytes, kind: str) -> None:
    """Refuse a backup target that is the live database, in a missing folder, or another kind of file."""
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give a file name for the backup")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist; create it first")
    if not target.exists():
        return
    if live is not None and live.exists() and os.path.samefile(target, live):
        raise BackupError(f"{target} is the live database itself; back up to another file")
    if target.stat().st_size and not _head(target, len(magic)).startswith(magic):
        raise BackupError(f"{target} exists and is not a {kind} backup; not overwriting it")


def _temporary_beside(target: Path, suffix: str) -> Path:
    # Same folder as the target, so the final rename stays on one file system (atomic).
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(handle)
    return Path(name)


def _remove_sqlite_file(path: Path) -> None:
    for extra in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{extra}").unlink(missing_ok=True)


def backup(url: str, target: str | Path) -> dict:
    """Write a consistent copy of the database at ``url`` to ``target``; return facts about it.

    The copy is written to a temporary file beside ``target`` and renamed over it only when
    complete, so a failed backup never leaves a half-written file under the name.
    """
    target = Path(target)
    kind = make_url(url).get_backend_name()
    if kind == "sqlite":
        live = Path(_sqlite_path(url))
        if not live.is_file():
            raise BackupError(f"there is no database at {live}")
        _prepare_target_file(target, live, SQLITE_MAGIC, "SQLite")
        partial = _temporary_beside(target, ".partial")
        try:
            try:
                source = sqlite3.connect(f"file:{live}?mode=ro", uri=True)
                destination = sqlite3.connect(partial)
                try:
                    source.backup(destination)  # page by page under a read lock: consistent while writers continue
                    check = destination.execute("PRAGMA integrity_check").fetchone()[0]
                    names = {row[0] for row in destination.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    responses = (destination.execute("SELECT count(*) FROM responses").fetchone()[0]
                                 if "responses" in names else None)
                finally:
                    destination.close()
                    source.close()
            except sqlite3.Error as exc:
                raise BackupError(f"cannot back up {live}: {_first_line(exc)}") from None
            if check != "ok":
                raise BackupError(f"the backup failed SQLite's integrity check: {check}")
            if responses is None:
                raise BackupError(f"{live} is not a csi-toolkit database (no responses table)")
            os.replace(partial, target)
        finally:
            _remove_sqlite_file(partial)
        return {"kind": "sqlite", "responses": responses, "bytes": target.stat().st_size}
    if kind == "postgresql":
        _prepare_target_file(target, None, PGDUMP_MAGIC, "pg_dump")
        partial = _temporary_beside(target, ".partial")
        try:
            done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial),
                                   "--dbname", _libpq_url(url)], capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {_first_line(done.stderr)}")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return {"kind": "postgresql", "bytes": target.stat().st_size}
    raise BackupError(f"backups of {kind} databases are not supported")


def restore(source: str | Path, url: str) -> dict:
    """Replace the contents of the database at ``url`` with the backup in ``source``, after
    verifying a scratch copy of it (module docstring). Returns facts: kind, responses,
    revision (the backup's) and schema (after upgrading)."""
    source = Path(source)
    try:
        head = _head(source)
    except IsADirectoryError:
        raise BackupError(f"{source} is a folder, not a backup file") from None
    except OSError as exc:
        raise BackupError(f"cannot read backup {source}: {exc.strerror}") from None
    kind = make_url(url).get_backend_name()
    if not head:
        raise BackupError(f"{source} is empty")
    if head.startswith(SQLITE_MAGIC):
        if kind != "sqlite":
            raise BackupError(f"{source} is a SQLite backup; it restores into a SQLite database, not {kind}")
        return _restore_sqlite(source, Path(_sqlite_path(url)))
    if head.startswith(PGDUMP_MAGIC):
        if kind != "postgresql":
            raise BackupError(f"{source} is a pg_dump backup; it restores into PostgreSQL, not {kind}")
        return _restore_postgres(source, url)
    raise BackupError(f"{source} is neither a SQLite database nor a pg_dump custom-format file")


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _verify_and_upgrade(url: str, source: Path) -> dict:
    """Check the scratch copy at ``url`` (schema, tables), upgrade it to the code's schema,
    and count what it holds."""
    from sqlalchemy import inspect

    from .db import current_revision, head_revision, make_engine, upgrade

    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        revisions = []
        if "alembic_version" in tables:
            with engine.connect() as connection:
                revisions = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
        revision = _check_schema(str(source), tables, revisions)
        if revision != head_revision():
            try:
                upgrade(engine)
            except Exception as exc:  # any failure here is the backup's: the live database is untouched
                raise BackupError(f"{source} (schema {revision}) cannot be upgraded to schema {head_revision()}: "
                                  f"{_first_line(exc)}") from None
        with engine.connect() as connection:
            counts = {name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                      for name in ("surveys", "waves", "responses", "answers")}
        return {"revision": revision, "schema": current_revision(engine), **counts}
    finally:
        engine.dispose()


def _restore_sqlite(source: Path, target: Path) -> dict:
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} of the database does not exist")
    if target.exists():
        if os.path.samefile(source, target):
            raise BackupError(f"{source} is the live database itself")
        if target.stat().st_size and not _head(target).startswith(SQLITE_MAGIC):
            raise BackupError(f"{target} is not a SQLite database; not replacing it")
    scratch = _temporary_beside(target, ".restore")
    try:
        try:
            # Read only: a damaged or foreign backup file is never written to.
            backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            copy = sqlite3.connect(scratch)
            try:
                backup_db.backup(copy)
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                copy.close()
                backup_db.close()
        except sqlite3.Error as exc:
            raise BackupError(f"{source} is not a readable SQLite database: {_first_line(exc)}") from None
        if check != "ok":
            raise BackupError(f"{source} fails SQLite's integrity check: {_first_line(check)}")
        try:
            facts = _verify_and_upgrade(_sqlite_url(scratch), source)
        except BackupError:
            raise
        except Exception as exc:
            raise BackupError(f"{source} cannot be read as a csi-toolkit database: {_first_line(exc)}") from None
        # The swap: one write transaction on the live file (module docstring). The timeout
        # waits for a running server's writers rather than failing at once.
        try:
            copy = sqlite3.connect(scratch)
            live = sqlite3.connect(target, timeout=30)
            try:
                copy.backup(live)
                restored = live.execute("SELECT count(*) FROM responses").fetchone()[0]
            finally:
                live.close()
                copy.close()
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write into {target}: {_first_line(exc)}; it is unchanged") from None
        if restored != facts["responses"]:
            raise BackupError(f"after the restore {target} holds {restored} responses, not {facts['responses']}")
    finally:
        _remove_sqlite_file(scratch)
    return {"kind": "sqlite", **facts}


def _restore_postgres(source: Path, url: str) -> dict:
    from .db import make_engine

    listed = subprocess.run([_tool("pg_restore"), "--list", str(source)], capture_output=True, text=True)
    if listed.returncode:
        raise BackupError(f"{source} is not a readable pg_dump file: {_first_line(listed.stderr)}")
    target = make_url(url)
    name = target.database
    if not name:
        raise BackupError(f"{_shown(url)} names no database")
    maintenance = make_engine(target.set(database="template1" if name == "postgres" else "postgres")
                              .render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    quote = maintenance.dialect.identifier_preparer.quote
    suffix = uuid.uuid4().hex[:8]
    scratch, previous = f"{name[:40]}_restore_{suffix}", f"{name[:40]}_old_{suffix}"
    try:
        try:
            with maintenance.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {quote(scratch)}"))
        except Exception as exc:
            raise BackupError(f"cannot create the scratch database {scratch} for the restore (the user needs "
                              f"CREATEDB): {_first_line(exc)}") from None
        swapped = False
        try:
            scratch_url = target.set(database=scratch).render_as_string(hide_password=False)
            done = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                                   "--dbname", _libpq_url(scratch_url), str(source)], capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_restore of {source} failed: {_first_line(done.stderr)}")
            facts = _verify_and_upgrade(scratch_url, source)
            _swap_databases(maintenance, name, scratch, previous)
            swapped = True
        finally:
            if not swapped:
                with maintenance.connect() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {quote(scratch)} WITH (FORCE)"))
        with maintenance.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {quote(previous)} WITH (FORCE)"))
    finally:
        maintenance.dispose()
    return {"kind": "postgresql", **facts}


def _swap_databases(maintenance, name: str, scratch: str, previous: str) -> None:
    """Give ``scratch`` the name ``name`` (the old ``name`` becomes ``previous``) in one transaction."""
    quote = maintenance.dialect.identifier_preparer.quote
    with maintenance.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
    if exists is None:
        with maintenance.connect() as connection:
            connection.execute(text(f"ALTER DATABASE {quote(scratch)} RENAME TO {quote(name)}"))
        return
    try:
        with maintenance.connect() as connection:
            # A database with sessions cannot be renamed: refuse new ones, then end the open
            # ones (a running server's pool reconnects, to the restored database).
            connection.execute(text(f"ALTER DATABASE {quote(name)} ALLOW_CONNECTIONS false"))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        for attempt in range(50):  # ended sessions take a moment to go away
            try:
                with maintenance.connect().execution_options(isolation_level="READ COMMITTED") as connection:
                    with connection.begin():
                        connection.execute(text(f"ALTER DATABASE {quote(name)} RENAME TO {quote(previous)}"))
                        connection.execute(text(f"ALTER DATABASE {quote(scratch)} RENAME TO {quote(name)}"))
                break
            except OperationalError as exc:
                if "being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
    except Exception as exc:
        with maintenance.connect() as connection:
            connection.execute(text(f"ALTER DATABASE {quote(name)} ALLOW_CONNECTIONS true"))
        raise BackupError(f"cannot swap the restored database in for {name}: {_first_line(exc)}; "
                          "the original is unchanged") from None
