"""A block of pages in an order of each response's own on the survey pages: the respondent
is walked through the response's order, resumes where they left off inside the block, cannot
skip ahead in it, and the order shown is stored with the response and exported."""
import io
import json
import re

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.exports import export_wave
from models.randomization import page_sequence
from models.storage.tables import Response

from ..block_questionnaire import BLOCK_YAML
from .conftest import Respondent, https_client, registered_with_wave


@pytest.fixture
def blocks(app, engine):
    return registered_with_wave(engine, BLOCK_YAML, "blocks.yaml")


def page_number(page) -> int:
    return int(re.search(r"/p/(\d+)", page.url).group(1))


def begin(app, questionnaire, engine):
    person = Respondent(https_client(app), questionnaire, {"visits": "3", "rate_a": "4", "rate_b": "8", "rate_c": "9"})
    first = person.start(survey="block-demo", wave="W1")
    with Session(engine) as session:
        response_id = session.scalars(select(Response.id).order_by(Response.id.desc())).first()
    return person, first, page_sequence(questionnaire, str(response_id)), response_id


def test_pages_come_in_the_responses_order_and_resume_inside_the_block(app, engine, blocks):
    # Respondents until one whose block order is not the file's (1 in 6 is; ids are 1, 2, ...).
    for _ in range(6):
        person, page, order, response_id = begin(app, blocks, engine)
        if order[1:4] != (1, 2, 3):
            break
    assert order[1:4] != (1, 2, 3)
    assert page_number(page) == 1
    page = person.answer(page)
    assert page_number(page) == order[1] + 1  # the block's first page in this response's order
    page = person.answer(page)
    assert page_number(page) == order[2] + 1
    # Skipping ahead to the block's last page (of this order) is not allowed: back where the respondent is.
    assert page_number(person.get(f"/s/block-demo/W1/p/{order[3] + 1}")) == order[2] + 1
    # Leaving and coming back by the survey's link resumes on the page left, inside the block.
    resumed = person.get("/s/block-demo/W1")
    assert page_number(resumed) == order[2] + 1
    # Back goes to the page shown before, which may come later in the file.
    back = person.answer(resumed, nav="back")
    assert page_number(back) == order[1] + 1
    page = person.answer(person.answer(back))
    assert page_number(page) == order[3] + 1
    page = person.answer(page)
    assert page_number(page) == 5  # after the block: "close" (rate_a 4 <= 5)
    assert "/done" in person.answer(page).url
    with Session(engine) as session:
        status, shown = session.execute(select(Response.status, Response.display_order)
                                        .where(Response.id == response_id)).one()
    expected = [blocks.pages[i].id for i in order[1:4]]
    assert status == "complete" and shown == {"block:brands": expected}
    # The export says which order this respondent saw the block's pages in.
    frame = pd.read_csv(io.BytesIO(export_wave(engine, blocks, "W1", "csv")[0]))
    row = frame.loc[frame["response_id"] == response_id].iloc[0]
    assert json.loads(row["display_order"]) == {"block:brands": expected}
    assert row["rate_a"] == 4 and row["rate_c"] == 9
