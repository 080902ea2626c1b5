"""Where a respondent is in a questionnaire: pure functions of a :class:`Questionnaire` and
an answers mapping (question id -> decoded value, as ``Expression.evaluate`` reads it, and
``hidden.<id>`` -> the link's hidden values, merged in by ``models.hidden.with_hidden``).

No Flask, no database. The respondent's pages, the page post and the console ask these
functions; a page's or a question's ``show_if`` is evaluated nowhere else for navigation.

Pages are addressed by index (0-based) in ``questionnaire.pages``; "next", "previous" and
"before" follow the order the response is shown them (``order``, file order unless the
questionnaire declares blocks of pages shown in an order of each response's own). A page is visible when
its own ``show_if`` holds and at least one of its questions is visible: a page whose every
question is hidden is skipped rather than shown empty. Conditions may only read answers
to earlier pages (checked when the questionnaire is loaded), so whether page *i* is shown
never depends on page *i*'s own answers or on later ones.

Stale answers. A respondent who goes back and changes an answer may hide a question they
had answered; its stored answer is then *stale* and counts as no answer: conditions are
evaluated in page order on :func:`answers_in_effect`, which leaves out every answer to a
question that the answers before it hide (so ``q0 -> q1 -> q2`` chains of conditions
cannot be kept alive by an answer the respondent can no longer see). Stale answers stay
stored while the response is partial (changing ``q0`` back shows ``q1`` with its answer
again), are deleted when the response is completed (:func:`completion`), and are ignored by
every reader of stored answers (``load_wave_frame``: analysis, exports, the API).

The functions taking a questionnaire accept answers as stored and leave stale ones out
themselves; the page-level ones (:func:`question_visible`, :func:`question_shown`,
:func:`visible_questions`, :func:`page_visible`) evaluate the conditions on the answers
they are given, which must be :func:`answers_in_effect`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .hidden import is_hidden_name
from .questionnaire import FollowUpRule, Page, Question, Questionnaire

Answers = Mapping[str, Any]
# The order a response is shown the pages in: their indexes (``models.randomization.
# page_sequence``, which shuffles declared blocks); None is file order.
Order = Sequence[int] | None


def answers_in_effect(questionnaire: Questionnaire, answers: Answers) -> dict[str, Any]:
    """``answers`` without the stale ones: an answer counts when its question is shown given
    the answers in effect on the pages before it. Hidden values (``hidden.<id>``) and names
    the questionnaire does not ask are kept as they are (conditions read only question ids
    and hidden values). Evaluated in page order, as a respondent meets the questions;
    conditions are evaluated only for answered questions."""
    kept = {name: value for name, value in answers.items() if not _asks(questionnaire, name)}
    for page in questionnaire.pages:
        page_shown: bool | None = None  # evaluated once, if the page holds an answer
        for question in page.questions:
            if question.id not in answers:
                continue
            if page_shown is None:
                page_shown = page.show_if is None or page.show_if.evaluate(kept)
            if page_shown and question_visible(question, kept):
                kept[question.id] = answers[question.id]
    return kept


def _asks(questionnaire: Questionnaire, name: str) -> bool:
    try:
        questionnaire.question(name)
    except KeyError:
        return False
    return True


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


def _sequence(questionnaire: Questionnaire, order: Order) -> Sequence[int]:
    return range(len(questionnaire.pages)) if order is None else order


def position(questionnaire: Questionnaire, index: int, order: Order = None) -> int:
    """Where page ``index`` comes in ``order`` (0-based); an index past the last page
    (``len(pages)``: a complete response) comes after all of them."""
    if not 0 <= index < len(questionnaire.pages):
        return len(questionnaire.pages) if index >= 0 else -1
    return index if order is None else order.index(index)


def reached(questionnaire: Questionnaire, index: int, furthest: int, order: Order = None) -> bool:
    """Page ``index`` is at or before page ``furthest`` (a response's ``current_page``) in ``order``."""
    return position(questionnaire, index, order) <= position(questionnaire, furthest, order)


def furthest_of(questionnaire: Questionnaire, a: int, b: int, order: Order = None) -> int:
    """Whichever of pages ``a`` and ``b`` comes later in ``order``."""
    return a if position(questionnaire, a, order) >= position(questionnaire, b, order) else b


def visible_pages(questionnaire: Questionnaire, answers: Answers, order: Order = None) -> list[int]:
    """Indexes of the pages ``answers`` leave visible, in the order shown."""
    answers = answers_in_effect(questionnaire, answers)
    return [i for i in _sequence(questionnaire, order) if page_visible(questionnaire.pages[i], answers)]


def next_page(questionnaire: Questionnaire, answers: Answers, after: int, order: Order = None) -> int | None:
    """The first visible page after index ``after`` (-1: the first page of all), or None."""
    answers = answers_in_effect(questionnaire, answers)
    sequence = _sequence(questionnaire, order)
    for index in sequence[position(questionnaire, after, order) + 1:]:
        if page_visible(questionnaire.pages[index], answers):
            return index
    return None


def previous_page(questionnaire: Questionnaire, answers: Answers, before: int, order: Order = None) -> int | None:
    """The last visible page before index ``before``, or None (``before`` is the first)."""
    answers = answers_in_effect(questionnaire, answers)
    sequence = _sequence(questionnaire, order)
    for index in reversed(sequence[:position(questionnaire, before, order)]):
        if page_visible(questionnaire.pages[index], answers):
            return index
    return None


def resume_page(questionnaire: Questionnaire, answers: Answers, furthest: int, order: Order = None) -> int | None:
    """Where a respondent who has reached page index ``furthest`` (the response's
    ``current_page``: every page before it in ``order`` submitted) carries on: ``furthest``
    itself if visible, else the next visible page; None when none is left (time to complete)."""
    answers = answers_in_effect(questionnaire, answers)
    if furthest < len(questionnaire.pages) and page_visible(questionnaire.pages[furthest], answers):
        return furthest
    return next_page(questionnaire, answers, furthest, order)


def later_pages_depend_on(questionnaire: Questionnaire, index: int, order: Order = None) -> bool:
    """Could an answer on page ``index`` reveal a later (now hidden) page or question?"""
    here = {q.id for q in questionnaire.pages[index].questions}
    sequence = _sequence(questionnaire, order)
    for later in sequence[position(questionnaire, index, order) + 1:]:
        page = questionnaire.pages[later]
        conditions = [page.show_if] + [q.show_if for q in page.questions]
        if any(c is not None and here & set(c.names) for c in conditions):
            return True
    return False


def is_last_page(questionnaire: Questionnaire, answers: Answers, index: int, order: Order = None) -> bool:
    """Page ``index`` is the last one the respondent will see whatever they answer on it
    (its button says Submit rather than Next)."""
    shown = visible_pages(questionnaire, answers, order)
    return bool(shown) and index == shown[-1] and not later_pages_depend_on(questionnaire, index, order)


def visible_question_ids(questionnaire: Questionnaire, answers: Answers) -> set[str]:
    """Ids of the questions shown on the visible pages."""
    answers = answers_in_effect(questionnaire, answers)
    return {q.id for page in questionnaire.pages if page_visible(page, answers)
            for q in visible_questions(page, answers)}


def flagging_rules(questionnaire: Questionnaire, answers: Answers) -> list[FollowUpRule]:
    """The follow-up rules that hold for ``answers`` (someone should call this customer)."""
    answers = answers_in_effect(questionnaire, answers)
    return [rule for rule in questionnaire.follow_up if rule.when.evaluate(answers)]


@dataclass(frozen=True)
class Completion:
    """What completing a response with given answers keeps."""

    answers: dict[str, Any]   # the answers to questions the final answers leave shown
    dropped: frozenset[str]   # ids of answers to questions the final answers hide
    follow_up: bool           # a follow-up rule holds for ``answers``


def completion(questionnaire: Questionnaire, answers: Answers) -> Completion:
    """The response as completed with ``answers``: stale answers (to questions that the
    final answers hide, in page order: the respondent went back and changed an earlier
    answer) are not part of it, and the follow-up rules are evaluated on what is kept."""
    in_effect = answers_in_effect(questionnaire, answers)
    # Hidden values (``hidden.<id>``, models.hidden.with_hidden) came with the link, not from a
    # page: never dropped, and the follow-up rules read them, but they are no answers.
    kept = {name: value for name, value in in_effect.items() if _asks(questionnaire, name)}
    hidden = {name: value for name, value in answers.items() if is_hidden_name(name)}
    dropped = frozenset(answers.keys() - kept.keys() - hidden.keys())
    return Completion(kept, dropped, bool(flagging_rules(questionnaire, {**kept, **hidden})))
