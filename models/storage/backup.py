"""Backups: SQLite through its online backup API (safe while the server writes), PostgreSQL
through pg_dump/pg_restore (custom format). A backup file's first bytes tell which it is."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

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


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def backup(url: str, target: str | Path) -> dict:
    """Write a consistent copy of the database at ``url`` to ``target``; return facts about it."""
    target = Path(target)
    kind = make_url(url).get_backend_name()
    if kind == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)  # page by page under a read lock: consistent while writers continue
            check = destination.execute("PRAGMA integrity_check").fetchone()[0]
            responses = destination.execute("SELECT count(*) FROM responses").fetchone()[0]
        finally:
            destination.close()
            source.close()
        if check != "ok":
            raise BackupError(f"the backup failed SQLite's integrity check: {check}")
        return {"kind": "sqlite", "responses": responses, "bytes": target.stat().st_size}
    if kind == "postgresql":
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
                               "--dbname", _libpq_url(url)], capture_output=True, text=True)
        if done.returncode:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        return {"kind": "postgresql", "bytes": target.stat().st_size}
    raise BackupError(f"backups of {kind} databases are not supported")


def restore(source: str | Path, url: str) -> dict:
    """Replace the contents of the database at ``url`` with the backup in ``source``."""
    source = Path(source)
    try:
        head = source.open("rb").read(16)
    except OSError as exc:
        raise BackupError(f"cannot read backup {source}: {exc.strerror}") from None
    kind = make_url(url).get_backend_name()
    if head.startswith(SQLITE_MAGIC):
        if kind != "sqlite":
            raise BackupError(f"{source} is a SQLite backup; it restores into a SQLite database, not {kind}")
        backup_db = sqlite3.connect(source)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            check = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"{source} fails SQLite's integrity check: {check}")
            backup_db.backup(target)
            responses = target.execute("SELECT count(*) FROM responses").fetchone()[0]
        finally:
            target.close()
            backup_db.close()
        return {"kind": "sqlite", "responses": responses}
    if head.startswith(PGDUMP_MAGIC):
        if kind != "postgresql":
            raise BackupError(f"{source} is a pg_dump backup; it restores into PostgreSQL, not {kind}")
        done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                               "--dbname", _libpq_url(url), str(source)], capture_output=True, text=True)
        if done.returncode:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        return {"kind": "postgresql"}
    raise BackupError(f"{source} is neither a SQLite database nor a pg_dump custom-format file")
