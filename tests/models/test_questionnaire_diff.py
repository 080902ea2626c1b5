"""The comparison of two questionnaire versions (models/questionnaire_diff.py): each kind of
change found with its severity, and each construct's verdict on comparability."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from models.questionnaire import parse_questionnaire
from models.questionnaire_diff import BREAKS, CAUTION, CHANGE_TEXTS, NOTICE, diff_questionnaires
from tests.matrix_questionnaire import QUESTIONNAIRE

BASE = yaml.safe_load(QUESTIONNAIRE)
# A condition and a choice question, so conditions and options can change too.
BASE["pages"].append({"id": "visit", "show_if": "s_price <= 2", "questions": [
    {"id": "channel", "type": "single_choice", "text": {"en": "Where?", "zh-CN": "在哪里？"},
     "options": [{"value": "store", "label": {"en": "Store", "zh-CN": "门店"}},
                 {"value": "app", "label": {"en": "App", "zh-CN": "应用"}}]}]})


def version(mutate=None):
    raw = copy.deepcopy(BASE)
    raw["version"] = "2"
    if mutate is not None:
        mutate(raw)
    return parse_questionnaire(json.dumps(raw, ensure_ascii=False), "v2.yaml")


OLD = parse_questionnaire(json.dumps(BASE, ensure_ascii=False), "v1.yaml")


def row(raw, qid):
    return next(r for page in raw["pages"] for q in page["questions"] for r in q.get("rows", [q]) if r["id"] == qid)


def drop_row(raw, qid):
    for page in raw["pages"]:
        for q in page["questions"]:
            if "rows" in q:
                q["rows"] = [r for r in q["rows"] if r["id"] != qid]


def add_row(raw):
    raw["pages"][1]["questions"][0]["rows"].append({"id": "s_staff", "construct": "satisfaction",
                                                     "text": {"en": "Staff", "zh-CN": "员工"}})


def six_points(raw):
    raw["scales"]["five"]["max"] = 6


def relabel_point(raw):
    raw["scales"]["five"]["labels"][3] = {"en": "Neither", "zh-CN": "既不满意也不不满意"}


def move(raw):
    row(raw, "q_parking")["construct"] = "satisfaction"


def reverse(raw):
    row(raw, "q_staff")["reverse"] = True


def reword(raw):
    row(raw, "q_staff")["text"]["en"] = "How friendly the staff were"


def untag(raw):
    del row(raw, "q_parking")["construct"]


def new_condition(raw):
    raw["pages"][2]["show_if"] = "s_price <= 3"


def ask_some(raw):
    raw["pages"][1]["questions"][0]["show_if"] = "q_staff >= 5"


def option_added(raw):
    row(raw, "channel")["options"].append({"value": "phone", "label": {"en": "Phone", "zh-CN": "电话"}})


def option_removed(raw):
    row(raw, "channel")["options"].pop()


def retype(raw):
    question = row(raw, "comment")
    question.update(type="number")


def new_page(raw):
    raw["pages"].append({"id": "extra", "questions": [{"id": "age", "type": "number", "text": "Age?"}]})


def dont_know(raw):
    raw["scales"]["ten"]["dont_know"]["code"] = 98


@pytest.mark.parametrize("mutate, kind, severity, subject, verdicts", [
    (lambda raw: drop_row(raw, "q_parking"), "item_removed", BREAKS, "q_parking", {"perceived_quality": BREAKS}),
    (add_row, "item_added", CAUTION, "s_staff", {"satisfaction": CAUTION}),
    (six_points, "rescaled", BREAKS, "s_price", {"satisfaction": BREAKS}),
    (relabel_point, "scale_labels_changed", BREAKS, "s_price", {"satisfaction": BREAKS}),
    (move, "construct_moved", BREAKS, "q_parking", {"perceived_quality": BREAKS, "satisfaction": BREAKS}),
    (untag, "construct_left", BREAKS, "q_parking", {"perceived_quality": BREAKS}),
    (reverse, "reverse_changed", BREAKS, "q_staff", {"perceived_quality": BREAKS}),
    (reword, "text_changed", NOTICE, "q_staff", {}),
    (new_condition, "page_condition_changed", CAUTION, "visit", {}),
    (ask_some, "condition_changed", CAUTION, "s_app", {"satisfaction": CAUTION}),
    (option_added, "options_added", CAUTION, "channel", {}),
    (option_removed, "options_removed", CAUTION, "channel", {}),
    (retype, "type_changed", CAUTION, "comment", {}),
    (new_page, "page_added", NOTICE, "extra", {}),
    (dont_know, "dont_know_changed", NOTICE, "q_staff", {}),
])
def test_each_change_is_found_with_its_severity_and_verdict(mutate, kind, severity, subject, verdicts):
    diff = diff_questionnaires(OLD, version(mutate))
    found = [c for c in diff.changes if c.kind == kind and c.subject == subject]
    assert len(found) == 1, [c.text for c in diff.changes]
    assert found[0].severity == severity
    expected = {"perceived_quality": "comparable", "satisfaction": "comparable", **verdicts}
    assert diff.verdicts == expected
    assert diff.breaks_comparison == (BREAKS in verdicts.values())
    assert found[0].text == CHANGE_TEXTS[kind].format(**found[0].values)


def test_the_same_questionnaire_has_no_changes():
    diff = diff_questionnaires(OLD, version())
    assert diff.changes == () and not diff.breaks_comparison
    assert diff.lines()[0] == "grid-retail: v1 -> v2: 0 changes"


def test_several_changes_most_severe_first_with_readable_texts():
    def several(raw):
        reword(raw)
        six_points(raw)
        add_row(raw)
    diff = diff_questionnaires(OLD, version(several))
    assert [c.severity for c in diff.changes] == [BREAKS, BREAKS, BREAKS, CAUTION, NOTICE]
    assert [c.subject for c in diff.changes[:3]] == ["s_price", "s_hours", "s_app"]
    assert diff.changes[0].text == "s_price rescaled: 1..5 became 1..6"
    assert diff.changes[-1].text == "q_staff: text reworded (en)"
    assert diff.broken_constructs == ("satisfaction",)
    assert "  satisfaction: breaks comparison with earlier waves" in diff.lines()
    as_json = json.loads(json.dumps(diff.as_dict()))
    assert as_json["breaks_comparison"] is True and as_json["constructs"]["perceived_quality"] == "comparable"


def test_a_construct_dropped_entirely_and_one_new():
    def rename(raw):
        for r in raw["pages"][1]["questions"][0]["rows"]:
            r["construct"] = "loyalty"
    diff = diff_questionnaires(OLD, version(rename))
    assert diff.verdicts == {"loyalty": "new", "perceived_quality": "comparable", "satisfaction": BREAKS}
    assert any(c.kind == "construct_dropped" and c.subject == "satisfaction" for c in diff.changes)
    # moving each item to a construct of no earlier wave leaves that construct "new"
    assert sum(c.kind == "construct_moved" for c in diff.changes) == 3
