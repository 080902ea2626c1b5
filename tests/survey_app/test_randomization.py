"""Randomized orders on the survey pages: the same response sees the same order on every
reload, different responses see different orders, the order is stored with the response
and exported, and answers are stored by id whatever the order."""
import io
import json
import re

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.exports import export_wave
from models.questionnaire import parse_questionnaire
from models.randomization import page_order
from models.storage import create_wave, register_questionnaire
from models.storage.tables import Response

from ..models.test_randomization import RANDOM
from .conftest import Respondent, https_client

GRID_ROWS = r'<fieldset class="grid-row[^"]*" id="q-(q_[a-z]+)"'


@pytest.fixture
def shuffled_grid(app, engine):
    questionnaire = parse_questionnaire(RANDOM.replace("id: grid-retail", "id: grid-random"), "random.yaml")
    with Session(engine) as session:
        create_wave(session, register_questionnaire(session, questionnaire), "W1")
        session.commit()
    return questionnaire


def begin(app, questionnaire):
    person = Respondent(https_client(app), questionnaire)
    return person, person.start(survey="grid-random", wave="W1")


def test_same_response_same_order_other_responses_other_orders(app, engine, shuffled_grid):
    orders = []
    for _ in range(4):
        person, page = begin(app, shuffled_grid)
        shown = re.findall(GRID_ROWS, page.text)
        assert sorted(shown) == sorted(shuffled_grid.pages[0].questions[0].group.rows)
        assert re.findall(GRID_ROWS, person.get(page.url).text) == shown  # a reload
        assert re.findall(GRID_ROWS, person.get(page.url + "?lang=zh-CN").text) == shown  # another language
        orders.append(tuple(shown))
    assert len(set(orders)) == 4
    with Session(engine) as session:
        stored = session.execute(select(Response.id, Response.display_order).order_by(Response.id)).all()
    assert [tuple(order["aspects"]) for _, order in stored] == orders
    # The order is the response id's: anyone can recompute it.
    assert [order for _, order in stored] == [page_order(shuffled_grid.pages[0], str(rid)) for rid, _ in stored]


def test_shuffled_page_and_options_are_answered_stored_and_exported(app, engine, shuffled_grid):
    person, page = begin(app, shuffled_grid)
    second = person.answer(page)
    assert second.status == 200
    units = re.findall(r'<(?:div class="question[^"]*"|fieldset class="grid-row[^"]*") id="q-([a-z_]+)"', second.text)
    options = re.findall(r'name="channel" value="([a-z]+)"', second.text)
    with Session(engine) as session:
        rid, order = session.execute(select(Response.id, Response.display_order)).one()
    assert options == order["channel"] and sorted(options) == ["app", "phone", "store", "web"]
    shown_units = [u if not u.startswith("s_") else "sat_grid" for u in units if u != "sat_grid"]
    assert list(dict.fromkeys(shown_units)) == order["page:satisfaction"]
    done = person.finish(person.answer(second, overrides={"channel": "web", "s_app": "2"}))
    assert "/done" in done.url
    frame = pd.read_csv(io.BytesIO(export_wave(engine, shuffled_grid, "W1", "csv")[0]))
    assert frame.loc[0, "channel"] == "web" and frame.loc[0, "s_app"] == 2
    assert json.loads(frame.loc[0, "display_order"]) == order
    assert set(order) == {"aspects", "channel", "page:satisfaction"}
