"""Where a respondent is in a questionnaire: pure functions of a :class:`Questionnaire` and
an answers mapping (question id -> decoded value, as ``Expression.evaluate`` reads it, and
``hidden.<id>`` -> the link's hidden values, merged in by ``models.hidden.with_hidden``).

No Flask, no database. The respondent's pages, the page post and the console ask these
functions; a page's or a question's ``show_if`` is evaluated nowhere else for navigation.

Pages are addressed by index (0-based) in ``questionnaire.pages``. A page is visible when
its own ``show_if`` holds and at least one of its questions is visible: a page whose every
question is hidden is skipped rather than shown empty. Conditions may only read answers
to earlier pages (checked when the questionnaire is loaded), so whether page *i* is shown
never depends on page *i*'s own answers or on later ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .hidden import is_hidden_name
from .questionnaire import FollowUpRule, Page, Question, Questionnaire

Answers = Mapping[str, Any]


def question_visible(question: Question, answers: Answers) -> bool:
    """The question's own ``show_if`` holds (its page's condition aside)."""
    return question.show_if is None or question.show_if.evaluate(answers)


def question_shown(page: Page, question: Question, answers: Answers) -> bool:
    """``question`` (on ``page``) is shown: its page's and its own ``show_if`` hold. (Its page
    is then visible, as it has a visible question.)"""
    return (page.show_if is None or page.show_if.evaluate(answers)) and question_visible(question, answers)


def visible_questions(page: Page, answers: Answers) -> list[Question]:
    """The page's questions that ``answers`` leave shown, in page order."""
    return [q for q in page.questions if question_visible(q, answers)]


def page_visible(page: Page, answers: Answers) -> bool:
    if page.show_if is not None and not page.show_if.evaluate(answers):
        return False
    return any(question_visible(q, answers) for q in page.questions)


def visible_pages(questionnaire: Questionnaire, answers: Answers) -> list[int]:
    """Indexes of the pages ``answers`` leave visible, in order."""
    return [i for i, page in enumerate(questionnaire.pages) if page_visible(page, answers)]


def next_page(questionnaire: Questionnaire, answers: Answers, after: int) -> int | None:
    """The first visible page after index ``after`` (-1: the first page of all), or None."""
    for index in range(after + 1, len(questionnaire.pages)):
        if page_visible(questionnaire.pages[index], answers):
            return index
    return None


def previous_page(questionnaire: Questionnaire, answers: Answers, before: int) -> int | None:
    """The last visible page before index ``before``, or None (``before`` is the first)."""
    for index in range(min(before, len(questionnaire.pages)) - 1, -1, -1):
        if page_visible(questionnaire.pages[index], answers):
            return index
    return None


def resume_page(questionnaire: Questionnaire, answers: Answers, furthest: int) -> int | None:
    """Where a respondent who has reached page index ``furthest`` (the response's
    ``current_page``: every page before it submitted) carries on: ``furthest`` itself if
    visible, else the next visible page; None when none is left (time to complete)."""
    if furthest < len(questionnaire.pages) and page_visible(questionnaire.pages[furthest], answers):
        return furthest
    return next_page(questionnaire, answers, furthest)


def later_pages_depend_on(questionnaire: Questionnaire, index: int) -> bool:
    """Could an answer on page ``index`` reveal a later (now hidden) page or question?"""
    here = {q.id for q in questionnaire.pages[index].questions}
    for later in questionnaire.pages[index + 1:]:
        conditions = [later.show_if] + [q.show_if for q in later.questions]
        if any(c is not None and here & set(c.names) for c in conditions):
            return True
    return False


def is_last_page(questionnaire: Questionnaire, answers: Answers, index: int) -> bool:
    """Page ``index`` is the last one the respondent will see whatever they answer on it
    (its button says Submit rather than Next)."""
    shown = visible_pages(questionnaire, answers)
    return bool(shown) and index == shown[-1] and not later_pages_depend_on(questionnaire, index)


def visible_question_ids(questionnaire: Questionnaire, answers: Answers) -> set[str]:
    """Ids of the questions shown on the visible pages."""
    return {q.id for page in questionnaire.pages if page_visible(page, answers)
            for q in visible_questions(page, answers)}


def flagging_rules(questionnaire: Questionnaire, answers: Answers) -> list[FollowUpRule]:
    """The follow-up rules that hold for ``answers`` (someone should call this customer)."""
    return [rule for rule in questionnaire.follow_up if rule.when.evaluate(answers)]


@dataclass(frozen=True)
class Completion:
    """What completing a response with given answers keeps."""

    answers: dict[str, Any]   # the answers to questions the final answers leave shown
    dropped: frozenset[str]   # ids of answers to questions the final answers hide
    follow_up: bool           # a follow-up rule holds for ``answers``


def completion(questionnaire: Questionnaire, answers: Answers) -> Completion:
    """The response as completed with ``answers``: answers to questions that the final
    answers hide (the respondent went back and changed an earlier answer) are not part of
    it, and the follow-up rules are evaluated on what is kept."""
    visible = visible_question_ids(questionnaire, answers)
    kept = {qid: value for qid, value in answers.items() if qid in visible}
    # Hidden values (``hidden.<id>``, models.hidden.with_hidden) came with the link, not from a
    # page: never dropped, and the follow-up rules read them, but they are no answers.
    hidden = {name: value for name, value in answers.items() if is_hidden_name(name)}
    dropped = frozenset(answers.keys() - visible - hidden.keys())
    return Completion(kept, dropped, bool(flagging_rules(questionnaire, {**kept, **hidden})))
