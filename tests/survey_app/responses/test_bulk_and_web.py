"""One answer, one stored row, whoever writes it (issue 21): the respondent's pages and the
bulk loader behind imports and the demo store every question type identically, on SQLite
and PostgreSQL, and each reads what the other wrote. Before the answers had one home, a
single choice with integer options was (1.0, None) from the bulk loader and (None, "1")
from the web, which then read the bulk-stored answer as unanswered."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.questionnaire import parse_questionnaire
from models.storage import bulk_insert_responses, create_wave, find_wave, register_questionnaire
from models.storage.repository import StorageError
from models.storage.tables import Answer, Response

from survey_app.responses import ResponseState
from survey_app.state import state_of

from ...every_type import QUESTIONNAIRE
from ..conftest import Respondent, https_client

# The page's posts, and the same answers as a spreadsheet hands them to pandas (integer
# codes as floats, a list cell for the multiple choice).
POSTED = {"sat": "4", "coded": "1", "cats": ["home", "7"], "note": "Fine, thanks.", "visits": "3", "spend": "12,5",
          "aspect_a": "2", "aspect_b": "99"}  # a matrix's rows, one a don't-know
CELLS = {"sat": [4.0], "coded": [1.0], "cats": [[7, "home"]], "note": ["Fine, thanks."], "visits": [3.0],
         "spend": [12.5], "aspect_a": [2.0], "aspect_b": [99.0]}


@pytest.fixture
def types(app, engine):
    questionnaire = parse_questionnaire(QUESTIONNAIRE, "types.yaml")
    with Session(engine, expire_on_commit=False) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "W1")
        session.commit()
    return questionnaire, survey, wave


def rows_of(engine, response_id):
    with Session(engine) as session:
        return sorted(session.execute(select(Answer.question_id, Answer.value_num, Answer.value_text)
                                      .where(Answer.response_id == response_id)).all())


def test_web_and_bulk_store_every_type_as_the_same_rows(app, engine, types):
    questionnaire, survey, wave = types
    person = Respondent(https_client(app), questionnaire, POSTED)
    done = person.finish(person.start(survey="types", wave="W1"))
    assert "/done" in done.url
    with Session(engine) as session:
        web_id = session.scalar(select(Response.id).where(Response.wave_id == wave.id))
    [bulk_id] = bulk_insert_responses(engine, survey, wave, pd.DataFrame(CELLS))
    web, bulk = rows_of(engine, web_id), rows_of(engine, bulk_id)
    assert [row[0] for row in web] == sorted(POSTED)  # every type answered (p2 shown: coded == 1)
    assert bulk == web
    assert dict((q, (n, t)) for q, n, t in web)["coded"] == (None, "1")


def test_the_web_reads_a_bulk_stored_answer(app, engine, types):
    """A partial response stored by the bulk loader, resumed through the service: the
    integer option is an answer (the second page is shown), not unanswered."""
    questionnaire, survey, wave = types
    [bulk_id] = bulk_insert_responses(engine, survey, wave, pd.DataFrame(CELLS), status="partial")
    service = state_of(app).service
    with Session(engine) as session:
        row = session.execute(select(Response.__table__).where(Response.id == bulk_id)).mappings().one()
    state = service.answers(ResponseState.from_row(row))
    assert state["coded"] == 1 and state["cats"] == ["home", "7"] and state["spend"] == 12.5
    assert questionnaire.pages[1].show_if.evaluate(state) is True


def test_a_cell_no_page_could_post_is_refused_with_its_row_and_column(engine, types):
    _, survey, wave = types
    with pytest.raises(StorageError, match=r"row 2, column 'coded': '3' is not an option"):
        bulk_insert_responses(engine, survey, wave, pd.DataFrame({"coded": [1.0, 3.0]}))
    with pytest.raises(StorageError, match=r"column 'colour' is not a question of 'types'"):
        bulk_insert_responses(engine, survey, wave, pd.DataFrame({"colour": ["red"]}))
    with Session(engine) as session:  # nothing of the refused file is stored
        assert session.scalar(select(Response.id).where(Response.wave_id == find_wave(session, "types", "W1").id)) is None
