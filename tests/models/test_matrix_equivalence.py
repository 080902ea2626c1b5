"""A construct asked as a matrix is the same construct as its items asked one by one: the
same model, the same item information, the same stored rows, the same export columns
(ordinary item columns) and the same estimates, to the last digit."""
import io

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy.orm import Session

import questionnaires
from analysis import fit
from analysis.simulate import simulate_responses
from models.exports import export_wave, labels
from models.questionnaire import parse_questionnaire
from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade

GROUPED = {"expectations": "Please rate your expectations", "quality": "Please rate the quality"}


def as_matrices(raw: dict) -> dict:
    """The shipped ACSI questionnaire with each run of rating questions on one scale (on the
    expectation and quality pages) turned into one matrix whose rows are those questions."""
    raw = yaml.safe_load(yaml.safe_dump(raw, allow_unicode=True))
    raw["id"] = "acsi-grid"
    for page in raw["pages"]:
        if page["id"] not in GROUPED:
            continue
        out = []
        for spec in page["questions"]:
            previous = out[-1] if out else None
            if spec["type"] == "rating" and previous is not None and previous.get("type") == "matrix" \
                    and previous["scale"] == spec["scale"]:
                previous["rows"].append(_row(spec))
            elif spec["type"] == "rating":
                out.append({"id": f"{spec['id']}_grid", "type": "matrix", "scale": spec["scale"],
                            "text": GROUPED[page["id"]], "rows": [_row(spec)]})
            else:
                out.append(spec)
        page["questions"] = out
    return raw


def _row(spec: dict) -> dict:
    return {key: spec[key] for key in ("id", "text", "help", "construct", "reverse") if key in spec}


@pytest.fixture(scope="module")
def pair():
    path = questionnaires.path("acsi_retail")
    one_by_one = parse_questionnaire(path.read_text(encoding="utf-8"), str(path))
    grid = parse_questionnaire(yaml.safe_dump(as_matrices(dict(one_by_one.raw)), allow_unicode=True), "grid.yaml")
    return one_by_one, grid


def test_the_matrix_version_asks_the_same_items(pair):
    one_by_one, grid = pair
    grouped = [q for q in grid.questions if q.group is not None]
    assert {q.page_id for q in grouped} == set(GROUPED) and len({q.group.id for q in grouped}) == 2
    # One grid holds the quality and the value items: each row keeps its own construct tag.
    assert {q.construct for q in grouped if q.group.id == "qual_overall_grid"} == {"perceived_quality", "perceived_value"}
    assert [q.id for q in grid.questions] == [q.id for q in one_by_one.questions]
    for a, b in zip(one_by_one.questions, grid.questions):
        assert (a.type, a.scale, a.construct, a.reverse, a.text, a.required, a.page_id) == \
               (b.type, b.scale, b.construct, b.reverse, b.text, b.required, b.page_id), a.id
    assert grid.constructs() == one_by_one.constructs()
    assert grid.csi_model() == one_by_one.csi_model()


def test_estimates_are_identical(pair):
    one_by_one, grid = pair
    data = simulate_responses(one_by_one, 400, seed=11)
    a = fit(one_by_one.csi_model(), data, questionnaire=one_by_one, dont_know=(99,))
    b = fit(grid.csi_model(), data, questionnaire=grid, dont_know=(99,))
    pd.testing.assert_frame_equal(a.path_coefficients, b.path_coefficients, check_exact=True)
    pd.testing.assert_frame_equal(a.outer_weights, b.outer_weights, check_exact=True)
    pd.testing.assert_series_equal(a.index, b.index, check_exact=True)
    assert 60 < a.index["satisfaction"] < 85 and a.index["perceived_quality"] > 60  # a real fit (simulated near 71)


def test_exports_have_the_rows_as_ordinary_item_columns(pair, tmp_path):
    one_by_one, grid = pair
    engine = make_engine(f"sqlite:///{tmp_path / 'e.sqlite3'}")
    upgrade(engine)
    data = simulate_responses(one_by_one, 25, seed=3)
    with Session(engine, expire_on_commit=False) as session:
        waves = {}
        for q in (one_by_one, grid):
            survey = register_questionnaire(session, q)
            waves[q.id] = (survey, create_wave(session, survey, "W1"))
        session.commit()
    for q in (one_by_one, grid):
        bulk_insert_responses(engine, *waves[q.id], data)
    frames = [pd.read_csv(io.BytesIO(export_wave(engine, q, "W1", "csv")[0])) for q in (one_by_one, grid)]
    items = [q.id for q in grid.questions if q.group is not None]
    assert "qual_customization" in items and set(items) <= set(frames[1].columns)
    answers = [c for c in frames[0].columns if c in {q.id for q in one_by_one.questions}]
    pd.testing.assert_frame_equal(frames[0][answers].reset_index(drop=True), frames[1][answers].reset_index(drop=True))
    np.testing.assert_array_equal(frames[1]["qual_overall"].to_numpy(), data["qual_overall"].to_numpy())
    # The variable label says which matrix a row belongs to; value labels are the scale's.
    variable, values = labels(grid, frames[1].columns)
    assert variable["qual_overall"] == "Please rate the quality [How would you rate the overall quality of your shopping with us?]"
    assert values["qual_overall"] == labels(one_by_one, frames[0].columns)[1]["qual_overall"]
