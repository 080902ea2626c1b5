"""Database connection and schema upgrades.

SQLite (a file in the instance folder, WAL mode) is the default; set
``CSI_DATABASE_URL`` (e.g. ``postgresql+psycopg://user@host/db``) for PostgreSQL.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that migrate or read revisions, not with this module:
# every process that only reads and writes (a report, `csi report`, a worker's job) would
# otherwise pay about a third of its import time for it (docs/benchmarks.md, issue 16).

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_SQLITE_NAME = "csi.sqlite3"


def default_url(instance_path: str | os.PathLike | None = None) -> str:
    """``CSI_DATABASE_URL`` if set, else a SQLite file in the instance folder."""
    url = os.environ.get("CSI_DATABASE_URL")
    if url:
        return url
    folder = Path(instance_path or os.environ.get("CSI_INSTANCE_PATH", "instance"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / DEFAULT_SQLITE_NAME).resolve()}"


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or default_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (analysis) run while respondents write; NORMAL sync is durable in WAL mode
    # against application crashes, which is what a survey server has to survive.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the schema to ``revision``; return (before, after) revisions."""
    from alembic import command
    return _migrate(engine, revision, command.upgrade)


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Take the schema back down to ``revision`` (tests of migrations and of old backups)."""
    from alembic import command
    return _migrate(engine, revision, command.downgrade)


def _migrate(engine: Engine, revision: str, step) -> tuple[str | None, str | None]:
    before = current_revision(engine)
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch migrations rebuild a table by copy-drop-rename; with foreign keys
            # enforced, dropping the old table would cascade-delete every answer. The pragma
            # only takes effect outside a transaction, hence before begin().
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's autobegun (empty) transaction
        with connection.begin():
            config.attributes["connection"] = connection
            step(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} rows with dangling foreign keys, e.g. {broken[0]}")
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    return before, current_revision(engine)


@contextmanager
def scratch_postgres_database(base_url: str, prefix: str = "csi_scratch") -> Iterator[str]:
    """A new, empty PostgreSQL database beside ``base_url``'s, dropped afterwards.

    For tests and benchmarks that need a database of their own on a shared server.
    Yields its URL (same server and credentials, new database name).
    """
    import uuid

    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
