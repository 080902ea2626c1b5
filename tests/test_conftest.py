"""The shared database fixtures: every test gets a database of its own, copied from a template
migrated once per session. If the template stopped being cached (rebuilt, i.e. migrated, for
each test) these fail, since the three copies below would have built it three times."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from models.storage import current_revision, head_revision, make_engine, upgrade
from tests.conftest import TEMPLATE_BUILDS

SEEN: dict[str, list[str]] = {"sqlite": [], "postgresql": []}


@pytest.mark.parametrize("copy", range(3))
def test_each_test_gets_its_own_copy_of_a_template_built_once(database_url, copy):
    engine = make_engine(database_url)
    backend = engine.dialect.name
    try:
        assert TEMPLATE_BUILDS[backend] == 1
        assert current_revision(engine) == head_revision()
        # Upgrading an already migrated copy changes nothing.
        assert upgrade(engine) == (head_revision(), head_revision())
        # Every copy is its own: nothing an earlier test wrote is in it, and it is a new database.
        assert database_url not in SEEN[backend]
        assert "leftover" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leftover (x integer)"))
        SEEN[backend].append(database_url)
    finally:
        engine.dispose()


def test_empty_database_has_no_schema(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
