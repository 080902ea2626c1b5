"""The web tests' database: a copy of a template that already holds the shipped
questionnaires (tests/conftest.py), built once per session per backend; each copy is the
test's own. If the template stopped being cached, or a copy came without the questionnaires,
these fail."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import questionnaires
from models.storage.tables import QuestionnaireVersion, Wave
from tests.conftest import SHIPPED_COPIES, TEMPLATE_BUILDS

SEEN: list[str] = []


@pytest.mark.parametrize("copy", range(3))
def test_app_gets_its_own_copy_with_the_shipped_questionnaires(app, engine, database_url, copy):
    backend = engine.dialect.name
    assert TEMPLATE_BUILDS[f"{backend}+shipped"] == 1
    assert database_url in SHIPPED_COPIES and database_url not in SEEN
    with Session(engine) as session:
        surveys = session.scalars(select(QuestionnaireVersion.questionnaire_id)).all()
        waves = {(w.questionnaire_id, w.name, w.closed) for w in session.scalars(select(Wave))}
        assert session.execute(text("SELECT count(*) FROM responses")).scalar() == 0
    assert sorted(surveys) == sorted(set(surveys)) and len(surveys) == len(questionnaires.SHIPPED)
    assert waves == {(q, wave, closed) for q in surveys for wave, closed in (("2026Q4", False), ("2026Q3", True))}
    with engine.begin() as connection:  # a write here must not reach the next copy
        connection.execute(text("DELETE FROM waves WHERE name = '2026Q3'"))
    SEEN.append(database_url)
