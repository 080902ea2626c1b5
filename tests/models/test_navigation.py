"""Navigation through a questionnaire (models/navigation.py) without Flask or a database: on
the shipped questionnaires (a complaint page or question shown only to those who
complained) and on a small one with every kind of condition (a page's own ``show_if``, a
page whose only question is conditional, a page kept by either of two conditional
questions, a condition on a multiple choice)."""
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import questionnaires
from models import navigation
from models.questionnaire import load_questionnaire, parse_questionnaire

from .. import chain_questionnaire

ACSI = load_questionnaire(questionnaires.path("acsi_retail"))
CCSI = load_questionnaire(questionnaires.path("ccsi_mobile"))
BRANCHING = parse_questionnaire(textwrap.dedent("""\
    id: branching
    version: 1
    default_language: en
    title: Branching
    scales:
      five: {min: 1, max: 5}
    pages:
      - id: visit
        questions:
          - {id: channel, type: single_choice, text: "Where?", options: [{value: store, label: Store}, {value: web, label: Web}]}
          - {id: score, type: rating, scale: five, text: "Score?"}
          - {id: topics, type: multiple_choice, required: false, text: "Topics?",
             options: [{value: home, label: Home}, {value: home_goods, label: Home goods}]}
      - id: store_staff
        show_if: "channel == 'store'"
        questions:
          - {id: staff, type: rating, scale: five, text: "Staff?"}
      - id: why
        questions:
          - {id: why, type: text, show_if: "score <= 2", text: "Why?"}
      - id: details
        questions:
          - {id: home_detail, type: text, required: false, show_if: "'home' in topics", text: "Home?"}
          - {id: web_visits, type: number, integer: true, min: 0, max: 50, show_if: "channel == 'web'", text: "Visits?"}
      - id: last
        questions:
          - {id: comments, type: text, required: false, text: "Comments?"}
    follow_up:
      - when: "score <= 2 or staff <= 1"
    """), "branching.yaml")
CHAIN = parse_questionnaire(chain_questionnaire.QUESTIONNAIRE, "chain.yaml")
SHIPPED = {"acsi_retail": ACSI, "ccsi_mobile": CCSI, "branching": BRANCHING, "chain": CHAIN}
STORE_HAPPY = {"channel": "store", "score": 5, "topics": ["home_goods"]}


@pytest.mark.parametrize("answers, pages", [
    ({}, [0, 4]),                     # unanswered: no condition holds ("score <= 2" is false for no score)
    (STORE_HAPPY, [0, 1, 4]),         # 'home' in ["home_goods"] is membership, not a substring
    ({"channel": "web", "score": 1}, [0, 2, 3, 4]),
    ({"channel": "web", "score": 3, "topics": ["home_goods"]}, [0, 3, 4]),
    ({"channel": "store", "score": 2, "topics": ["home"]}, [0, 1, 2, 3, 4]),
])
def test_visible_pages_of_the_branching_questionnaire(answers, pages):
    # "store_staff" has its own show_if; "why" is shown only when its one question is;
    # "details" when either of its two conditional questions is.
    assert navigation.visible_pages(BRANCHING, answers) == pages


@pytest.mark.parametrize("answers, visible", [
    ({"channel": "web", "topics": ["home"]}, ["home_detail", "web_visits"]),
    ({"channel": "web", "topics": ["home_goods"]}, ["web_visits"]),
    ({"channel": "store", "topics": ["home"]}, ["home_detail"]),
])
def test_visible_questions_of_a_page(answers, visible):
    assert [q.id for q in navigation.visible_questions(BRANCHING.pages[3], answers)] == visible


@pytest.mark.parametrize("complained, after_satisfaction, before_loyalty", [("yes", 5, 5), ("no", 6, 4), (None, 6, 4)])
def test_ccsi_complaint_page_is_skipped_both_ways_unless_complained(complained, after_satisfaction, before_loyalty):
    answers = {} if complained is None else {"complained": complained}
    assert navigation.next_page(CCSI, answers, 4) == after_satisfaction
    assert navigation.previous_page(CCSI, answers, 6) == before_loyalty
    assert navigation.next_page(CCSI, answers, -1) == 0 and navigation.previous_page(CCSI, answers, 0) is None


@pytest.mark.parametrize("complained, shown", [("yes", ["complaint_handling", "complaint_resolved"]),
                                               ("no", ["complaint_handling"])])
def test_acsi_complaint_page_always_shown_its_second_question_only_to_complainers(complained, shown):
    page = next(i for i, p in enumerate(ACSI.pages) if p.id == "complaints")
    assert navigation.page_visible(ACSI.pages[page], {"complained": complained})
    assert [q.id for q in navigation.visible_questions(ACSI.pages[page], {"complained": complained})] == shown


@pytest.mark.parametrize("furthest, answers, resume", [
    (0, {}, 0),
    (5, {"complained": "no"}, 6),     # page 5 (complaint) hidden: carry on after it
    (5, {"complained": "yes"}, 5),
    (6, {"complained": "yes"}, 6),    # went back and changed to "yes": resumes where they were, not on page 5
    (len(CCSI.pages), {"complained": "no"}, None),
])
def test_ccsi_resume_page(furthest, answers, resume):
    assert navigation.resume_page(CCSI, answers, furthest) == resume


@pytest.mark.parametrize("questionnaire, index, answers, last", [
    (CCSI, 4, {"complained": "no"}, False),       # "complained" on this page could still reveal the complaint page
    (CCSI, len(CCSI.pages) - 1, {}, True),
    (BRANCHING, 3, {"channel": "web"}, False),   # "last" follows
    (BRANCHING, 4, STORE_HAPPY, True),
])
def test_is_last_page(questionnaire, index, answers, last):
    assert navigation.is_last_page(questionnaire, answers, index) is last


def test_completion_drops_answers_the_final_answers_hide_and_flags_on_what_is_kept():
    # Once unhappy (score 1: "why" answered, follow-up), then back to score 4 on page 1.
    answers = {"channel": "store", "score": 4, "staff": 3, "why": "slow", "comments": "ok"}
    done = navigation.completion(BRANCHING, answers)
    assert done.dropped == {"why"} and done.answers == {k: v for k, v in answers.items() if k != "why"}
    assert done.follow_up is False
    assert navigation.completion(BRANCHING, {**answers, "staff": 1}).follow_up is True
    assert [r.id for r in navigation.flagging_rules(BRANCHING, {"score": 2})] == ["rule1"]


def test_question_shown_needs_the_page_and_the_question_condition():
    staff_page, details = BRANCHING.pages[1], BRANCHING.pages[3]
    assert navigation.question_shown(staff_page, staff_page.questions[0], {"channel": "store"})
    assert not navigation.question_shown(staff_page, staff_page.questions[0], {"channel": "web"})
    assert not navigation.question_shown(details, details.questions[1], {"channel": "store"})


# A chain of conditions and a stale answer in it ------------------------------------------

def test_a_stale_answer_does_not_keep_a_chain_of_conditions_alive():
    stale = chain_questionnaire.STALE
    # "complained" is hidden ("visited" is no), so its stored "yes" is no answer, and the
    # complaint page it would have shown is skipped too.
    assert navigation.visible_pages(CHAIN, stale) == [0, 3]
    assert navigation.next_page(CHAIN, stale, 0) == 3 and navigation.previous_page(CHAIN, stale, 3) == 0
    assert navigation.resume_page(CHAIN, stale, 2) == 3
    assert navigation.visible_question_ids(CHAIN, stale) == {"visited", "overall"}
    assert navigation.flagging_rules(CHAIN, stale) == []  # "handling <= 2" read the stale 1
    done = navigation.completion(CHAIN, stale)
    assert done.answers == {"visited": "no", "overall": 4} and done.dropped == {"complained", "handling"}
    assert done.follow_up is False
    assert navigation.answers_in_effect(CHAIN, stale) == {"visited": "no", "overall": 4}


@pytest.mark.parametrize("answers, in_effect", [
    ({"visited": "yes", "complained": "yes", "handling": 1}, {"visited": "yes", "complained": "yes", "handling": 1}),
    ({"visited": "yes", "complained": "no", "handling": 1}, {"visited": "yes", "complained": "no"}),
    ({"complained": "yes", "handling": 2}, {}),                      # nothing shows "complained"
    ({"visited": "no", "hidden.store": "x", "other": 1}, {"visited": "no", "hidden.store": "x", "other": 1}),
])
def test_answers_in_effect_follow_the_chain_and_keep_what_no_page_asks(answers, in_effect):
    assert navigation.answers_in_effect(CHAIN, answers) == in_effect


# Properties, on all four questionnaires -------------------------------------------------

def answer_to(question):
    """A value a respondent could have given (as stored answers are read)."""
    if question.type == "rating":
        codes = list(question.scale.points) + ([question.scale.dont_know_code] if question.scale.dont_know_code else [])
        return st.sampled_from(codes)
    if question.type == "single_choice":
        return st.sampled_from([o.value for o in question.options])
    if question.type == "multiple_choice":
        return st.lists(st.sampled_from([o.value for o in question.options]), min_size=1, unique=True)
    if question.type == "number":
        return st.integers(int(question.minimum or 0), int(question.maximum if question.maximum is not None else 100))
    return st.text(min_size=1, max_size=10)


def any_answers(questionnaire):
    """Any subset of the questions answered, whatever the conditions say (stale answers too)."""
    return st.fixed_dictionaries({}, optional={q.id: answer_to(q) for q in questionnaire.questions})


def walk(questionnaire, data, stop: int | None = None):
    """A respondent going forward page by page from the start, answering every required
    question they are shown and some optional ones; stops after ``stop`` pages.
    Returns (pages submitted, answers, furthest page reached as ``current_page`` stores it)."""
    answers, visited = {}, []
    index = navigation.next_page(questionnaire, answers, -1)
    while index is not None and (stop is None or len(visited) < stop):
        last = navigation.is_last_page(questionnaire, answers, index)
        for question in navigation.visible_questions(questionnaire.pages[index], answers):
            if question.required or data.draw(st.booleans()):
                answers[question.id] = data.draw(answer_to(question))
        visited.append(index)
        index = navigation.next_page(questionnaire, answers, index)
        assert not (last and index is not None), "a page shown as the last one was followed by another"
    furthest = len(questionnaire.pages) if index is None else index
    return visited, answers, furthest


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = sorted(SHIPPED)


@PROPERTY
@given(name=st.sampled_from(NAMES), data=st.data())
def test_next_then_previous_returns_to_the_same_visible_page(name, data):
    questionnaire = SHIPPED[name]
    answers = data.draw(any_answers(questionnaire))
    shown = navigation.visible_pages(questionnaire, answers)
    for here, after in zip(shown, shown[1:]):
        assert navigation.next_page(questionnaire, answers, here) == after
        assert navigation.previous_page(questionnaire, answers, after) == here
    if shown:
        assert navigation.next_page(questionnaire, answers, shown[-1]) is None
        assert navigation.previous_page(questionnaire, answers, shown[0]) is None


@PROPERTY
@given(name=st.sampled_from(NAMES), data=st.data())
def test_a_walk_visits_exactly_the_pages_its_final_answers_show(name, data):
    # Conditions read only earlier pages, so going forward never skips a page that the
    # respondent's later answers would have shown, and completing it drops nothing.
    questionnaire = SHIPPED[name]
    visited, answers, furthest = walk(questionnaire, data)
    assert visited == navigation.visible_pages(questionnaire, answers)
    assert navigation.resume_page(questionnaire, answers, furthest) is None
    done = navigation.completion(questionnaire, answers)
    assert done.dropped == frozenset() and done.answers == answers
    assert done.follow_up == any(rule.when.evaluate(answers) for rule in questionnaire.follow_up)


@PROPERTY
@given(name=st.sampled_from(NAMES), data=st.data())
def test_resume_page_is_where_the_walk_left_off(name, data):
    questionnaire = SHIPPED[name]
    stop = data.draw(st.integers(0, len(questionnaire.pages)))
    visited, answers, furthest = walk(questionnaire, data, stop)
    resume = navigation.resume_page(questionnaire, answers, furthest)
    rest = [i for i in navigation.visible_pages(questionnaire, answers) if i not in visited]
    assert resume == (rest[0] if rest else None)

    def missing_required(index):
        return any(q.required and q.id not in answers
                   for q in navigation.visible_questions(questionnaire.pages[index], answers))
    # Nothing required was left behind, and when the resume page asks something required it
    # is the first visible page with a missing required answer.
    assert not any(missing_required(i) for i in visited)
    if resume is not None and missing_required(resume):
        assert resume == next(i for i in navigation.visible_pages(questionnaire, answers) if missing_required(i))


@PROPERTY
@given(name=st.sampled_from(NAMES), data=st.data())
def test_completion_keeps_exactly_the_visible_answers(name, data):
    questionnaire = SHIPPED[name]
    answers = data.draw(any_answers(questionnaire))
    done = navigation.completion(questionnaire, answers)
    visible = navigation.visible_question_ids(questionnaire, answers)
    assert set(done.answers) == set(answers) & visible and done.dropped == set(answers) - visible
    assert done.follow_up == bool(navigation.flagging_rules(questionnaire, done.answers))


@PROPERTY
@given(name=st.sampled_from(NAMES), data=st.data())
def test_answers_in_effect_are_answers_to_shown_questions_and_change_nothing_they_decide(name, data):
    # Every answer in effect is to a question those answers show, and leaving the stale ones
    # out changes no page's visibility nor the follow-up (they were never read).
    questionnaire = SHIPPED[name]
    answers = data.draw(any_answers(questionnaire))
    in_effect = navigation.answers_in_effect(questionnaire, answers)
    assert set(in_effect) == set(answers) & navigation.visible_question_ids(questionnaire, in_effect)
    assert navigation.answers_in_effect(questionnaire, in_effect) == in_effect
    for index, page in enumerate(questionnaire.pages):
        assert navigation.page_visible(page, in_effect) == (index in navigation.visible_pages(questionnaire, answers))
    assert navigation.flagging_rules(questionnaire, in_effect) == navigation.flagging_rules(questionnaire, answers)
