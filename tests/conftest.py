"""Shared fixtures. Reference data: the published data sets come from ../shared/data, our
fixtures and published results from tests/data/ (tests/reference_data.py; tests/data/README.md
names each one's publication and source)."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd
import pytest
from sqlalchemy import text

from tests.reference_data import ReferenceDataMissing, reference_file

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


def shared_file(name: str) -> Path:
    """A reference file (tests/reference_data.py): a published data set from ../shared/data,
    anything else from tests/data/. A file missing from the repository is an error. A
    published data set absent from a clone with no ../shared skips its tests, saying so,
    unless CSI_REQUIRE_REFERENCE_DATA is set (.ci/run sets it where ../shared exists), when
    it is an error too."""
    try:
        return reference_file(name)
    except ReferenceDataMissing as exc:
        if os.environ.get("CSI_REQUIRE_REFERENCE_DATA"):
            raise
        pytest.skip(f"../shared absent: {exc}")


@pytest.fixture(scope="session")
def mobi() -> pd.DataFrame:
    return pd.read_csv(shared_file("mobi.csv"))


@pytest.fixture(scope="session")
def mobi_reference() -> dict:
    return json.loads(shared_file("mobi_reference.json").read_text())


@pytest.fixture(scope="session")
def ecsi_mobi_model(mobi_reference):
    from models import parse_model

    spec = mobi_reference["model_ECSImobi"]
    text = "\n".join(f"{b} =~ {' + '.join(items)}" for b, items in spec["blocks"].items())
    text += "\n" + "\n".join(f"{t} ~ {s}" for s, t in spec["paths"])
    return parse_model(text, name="ecsi_mobi")


@pytest.fixture(scope="session")
def bank_survey():
    """Sanchez's bank survey (R plspm): (data, reference dict, blocks {construct: items}, model)."""
    from models import parse_model

    ref = json.loads(shared_file("satisfaction_bank_reference.json").read_text())
    data = pd.read_csv(shared_file("satisfaction_bank.csv"))
    blocks = {name: [f"{spec.split('1-')[0]}{k}" for k in range(1, int(spec.split('-')[1]) + 1)]
              for name, spec in ref["model"]["blocks"].items()}
    text = "\n".join(f"{n} =~ {' + '.join(i)}" for n, i in blocks.items())
    text += "\n" + "\n".join(f"{t} ~ {s}" for s, t in ref["model"]["paths"])
    return data, ref, blocks, parse_model(text)


@pytest.fixture(autouse=True)
def password_cost(request, monkeypatch):
    """Passwords hashed and checked with scrypt at N=2^10 instead of the production 2^15 (the
    cost is stored in each hash, and checking follows it): the same code, about 2 ms instead
    of 100 ms per hash or login. Tests marked ``production_password_cost`` keep the production
    cost: thirty parallel guesses must overlap in the time a real check takes to test the
    throttle's lock. Commands run as subprocesses always use the production cost."""
    if request.node.get_closest_marker("production_password_cost"):
        return
    from models.storage import accounts

    monkeypatch.setitem(accounts.SCRYPT, "n", 2 ** 10)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", None)  # a cheap one made now is dropped afterwards


# How often each migrated template was built in this session: the per-test databases are
# copies of one template per backend, so each count stays at 1 (tests/test_fixtures.py checks).
TEMPLATE_BUILDS: Counter[str] = Counter()


def postgres_url() -> str | None:
    return os.environ.get("CSI_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies of it."""
    from models.storage import make_engine, upgrade

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        # Fold the WAL into the main file so a plain file copy holds the whole schema.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    TEMPLATE_BUILDS["sqlite"] += 1
    return path


# The web tests' starting point (tests/survey_app/conftest.py's ``app``): the three shipped
# questionnaires registered, each with an open wave 2026Q4 and a closed 2026Q3. Registering
# them costs about 0.15-0.2 s of CPU per test; a second template per backend holds them.
SHIPPED_WAVES = (("2026Q4", False), ("2026Q3", True))


def register_shipped(engine) -> None:
    """Register the shipped questionnaires and their two waves in ``engine``'s database."""
    from sqlalchemy.orm import Session

    import questionnaires
    from models import load_questionnaire
    from models.storage import create_wave, register_questionnaire

    with Session(engine) as session:
        for name in questionnaires.SHIPPED:
            survey = register_questionnaire(session, load_questionnaire(questionnaires.path(name)))
            for wave, closed in SHIPPED_WAVES:
                create_wave(session, survey, wave).closed = closed
        session.commit()


# URLs handed out as copies of a template with the shipped questionnaires already registered
# (``app`` registers them itself on any other database, e.g. a module's own ``database_url``).
SHIPPED_COPIES: set[str] = set()


@pytest.fixture(scope="session")
def sqlite_shipped_template(sqlite_template, tmp_path_factory) -> Path:
    """A copy of ``sqlite_template`` with the shipped questionnaires registered."""
    from models.storage import make_engine

    path = tmp_path_factory.mktemp("template") / "shipped.sqlite3"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    register_shipped(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    TEMPLATE_BUILDS["sqlite+shipped"] += 1
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """The name of a PostgreSQL database migrated to head once per session (None without a
    server), dropped at session end. Its name is unique because other runs share the server."""
    base = postgres_url()
    if not base:
        yield None
        return
    from models.storage import make_engine, upgrade

    name = f"csi_template_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(_sibling(base, name))
        upgrade(engine)
        # CREATE DATABASE ... TEMPLATE refuses a template that has any other connection.
        engine.dispose()
        TEMPLATE_BUILDS["postgresql"] += 1
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_shipped_template(postgres_template) -> Iterator[str | None]:
    """A copy of ``postgres_template`` with the shipped questionnaires registered (None
    without a server), dropped at session end."""
    if postgres_template is None:
        yield None
        return
    from models.storage import make_engine

    base = postgres_url()
    name = f"csi_shipped_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    try:
        engine = make_engine(_sibling(base, name))
        register_shipped(engine)
        engine.dispose()
        TEMPLATE_BUILDS["postgresql+shipped"] += 1
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sibling(base_url: str, name: str) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def _postgres_copy(base: str, template: str) -> Iterator[str]:
    from models.storage import make_engine

    name = f"csi_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _sibling(base, name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def scratch_postgres(template: str | None = None):
    """A PostgreSQL database of its own (a context manager yielding its URL): empty, or a copy
    of ``template``; the test is skipped where no server is configured."""
    base = postgres_url()
    if not base:
        pytest.skip("CSI_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL server)")
    if template:
        return _postgres_copy(base, template)
    from models.storage.db import scratch_postgres_database

    return scratch_postgres_database(base, "csi_test")


def wants_shipped(request) -> bool:
    """Whether the test asking for a database also sets up the web app on it (``app``, which
    registers the shipped questionnaires): then it gets a copy with them already registered."""
    return "app" in request.fixturenames


def sqlite_copy(request, tmp_path) -> str:
    """The URL of this test's own copy of the SQLite template (with the shipped questionnaires
    when the test uses ``app``)."""
    shipped = wants_shipped(request)
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_shipped_template" if shipped else "sqlite_template"), path)
    url = f"sqlite:///{path}"
    if shipped:
        SHIPPED_COPIES.add(url)
    return url


@contextmanager
def postgres_copy(request) -> Iterator[str]:
    """This test's own copy of the PostgreSQL template (as :func:`sqlite_copy`); skipped where
    no server is configured."""
    shipped = wants_shipped(request)
    template = request.getfixturevalue("postgres_shipped_template" if shipped else "postgres_template")
    with scratch_postgres(template) as url:
        if shipped:
            SHIPPED_COPIES.add(url)
        try:
            yield url
        finally:
            SHIPPED_COPIES.discard(url)


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """A SQLite database of this test's own, already migrated to head."""
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database of this test's own on each backend, already migrated to head: a copy of the
    session's template (migrating once per session instead of once per test); for a test that
    uses ``app``, of the template that also holds the shipped questionnaires."""
    if request.param == "sqlite":
        yield sqlite_copy(request, tmp_path)
        return
    with postgres_copy(request) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A fresh database with no schema on each backend, for tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with scratch_postgres() as url:
        yield url
