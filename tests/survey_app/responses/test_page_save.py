"""What a page post means (survey_app/responses/page_save.py), without a database: the
writes a post stands for, on the shipped CCSI questionnaire (page 5, the complaint page, is
shown only to those who complained; the follow-up rule is
``sat_overall <= 4 or complaint_handling <= 3``)."""
from datetime import datetime, timezone

import pytest

from models.answers import answer_type
from survey_app.responses import ResponseState, plan_page_save

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
SATISFACTION = {"sat_overall": 8, "sat_vs_expectations": 8, "sat_vs_ideal": 8, "sat_level": 4, "complained": "no"}


def state(current_page: int) -> ResponseState:
    return ResponseState(id=1, survey_id=1, wave_id=1, invitation_id=None, respondent_key="k", status="partial",
                         language="zh-CN", current_page=current_page)


def earlier_pages(ccsi, upto: int) -> dict:
    """Answers to every question on pages before ``upto`` (no complaint)."""
    answers = {}
    for page in ccsi.pages[:upto]:
        for q in page.questions:
            answers[q.id] = SATISFACTION.get(q.id, answer_type(q).example(q))
    return answers


def test_next_stores_the_page_encoded_and_moves_on_past_hidden_pages(ccsi):
    stored = earlier_pages(ccsi, 4)
    plan = plan_page_save(ccsi, state(4), stored, 4, SATISFACTION, "en", advance=True, now=NOW)
    assert plan.remove == []
    assert {r["question_id"]: (r["value_num"], r["value_text"]) for r in plan.rows} == {
        "sat_overall": (8.0, None), "sat_vs_expectations": (8.0, None), "sat_vs_ideal": (8.0, None),
        "sat_level": (4.0, None), "complained": (None, "no")}
    assert plan.outcome.next_page == 6, "page 5 (complaints) is hidden after 'no'"
    assert plan.changes == {"language": "en", "updated_at": NOW, "current_page": 6}
    assert plan.outcome.answers == {**stored, **SATISFACTION}


def test_back_replaces_the_page_without_moving_the_furthest_page(ccsi):
    stored = {**earlier_pages(ccsi, 4), **SATISFACTION}
    plan = plan_page_save(ccsi, state(6), stored, 4, {**SATISFACTION, "sat_level": None}, "zh-CN", advance=False,
                          now=NOW)
    assert sorted(plan.remove) == sorted(SATISFACTION)        # the page's stored answers are replaced ...
    assert "sat_level" not in {r["question_id"] for r in plan.rows}   # ... and a cleared one is not re-inserted
    assert plan.outcome.next_page == 4 and "current_page" not in plan.changes


@pytest.mark.parametrize("complained, handling, follow_up", [("yes", 2, True), ("yes", 5, False), ("no", None, False)])
def test_the_last_page_completes_and_drops_answers_the_final_answers_hide(ccsi, complained, handling, follow_up):
    # The respondent once said "yes" and rated the complaint handling, then went back and
    # changed "complained" as given here.
    stored = {**earlier_pages(ccsi, 7), "complained": complained, "complaint_handling": 2 if handling is None else handling}
    last = len(ccsi.pages) - 1
    plan = plan_page_save(ccsi, state(last), stored, last, {"comments": "ok"}, "zh-CN", advance=True, now=NOW)
    assert plan.outcome.next_page is None and plan.changes["status"] == "complete"
    assert plan.changes["current_page"] == len(ccsi.pages) and plan.changes["completed_at"] == NOW
    assert ("complaint_handling" in plan.remove) is (complained == "no")
    assert ("complaint_handling" in plan.outcome.answers) is (complained == "yes")
    assert plan.outcome.follow_up is follow_up and plan.changes.get("follow_up", False) is follow_up
