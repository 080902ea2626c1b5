"""What a page post means, apart from how it is stored: pure functions of a questionnaire, a
response as stored and the posted values; no database, no Flask.

A post of page *i* replaces the answers stored for page *i*'s questions with the posted
ones (an empty value is no answer), moves the response on to the next visible page (or
keeps it on *i* when the respondent goes back), and on the last page completes it: answers
to questions that the final answers hide are dropped, and the follow-up rules decide
whether someone should call the customer. :func:`plan_page_save` says all that as data
(:class:`PageSave`); ``storage.PagePost`` writes it in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Mapping

from models import navigation
from models.answers import answer_type
from models.questionnaire import Questionnaire
from models.randomization import page_sequence


@dataclass(frozen=True)
class ResponseState:
    """A stored response as the respondent's pages see it, read by column name
    (:meth:`from_row`). ``current_page`` is the index of the furthest page reached;
    ``follow_up`` and ``contact`` are filled where the thank-you page needs them."""

    id: int
    survey_id: int
    wave_id: int
    invitation_id: int | None
    respondent_key: str | None
    status: str
    language: str
    current_page: int
    follow_up: bool = False
    contact: dict | None = None
    hidden: dict | None = None  # the link's hidden values, {id: text} (models.hidden)
    quota_id: str | None = None  # the quota that ended it (status "quota_full")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ResponseState":
        """From a row mapping (``row._mapping``) holding at least the required fields."""
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


@dataclass(frozen=True)
class SaveOutcome:
    next_page: int | None    # index of the next page to show, None when the response is complete
    answers: dict[str, Any]  # all the response's answers after the post
    follow_up: bool = False  # completed and flagged by a follow-up rule
    quota: str | None = None  # ended by this full quota (models.quotas), not completed


@dataclass(frozen=True)
class PageSave:
    """The writes one page post stands for, in the order they are made."""

    remove: list[str]           # question ids whose stored answers are deleted
    rows: list[dict[str, Any]]  # answers inserted: question_id, value_num, value_text
    changes: dict[str, Any]     # columns of the response updated
    outcome: SaveOutcome        # what the respondent is shown next




def plan_page_save(questionnaire: Questionnaire, response: ResponseState, stored: dict[str, Any], page_index: int,
                   values: dict[str, Any], language: str, advance: bool, now: datetime) -> PageSave:
    """The writes for a post of page ``page_index`` with ``values`` (the page's visible
    questions, None = unanswered) over the ``stored`` answers. ``advance``: Next or Submit
    rather than Back."""
    page = questionnaire.pages[page_index]
    page_ids = {q.id for q in page.questions}
    answers = {qid: value for qid, value in stored.items() if qid not in page_ids}
    remove = [qid for qid in stored if qid in page_ids]  # saved before (Back, a second tab): replaced
    rows = []
    for question in page.questions:
        entry = answer_type(question)
        num, txt = entry.encode(question, values.get(question.id))
        if num is not None or txt is not None:
            rows.append({"question_id": question.id, "value_num": num, "value_text": txt})
            answers[question.id] = entry.decode(question, num, txt)
    order = page_sequence(questionnaire, str(response.id))  # blocks of pages shuffled per response
    next_page = navigation.next_page(questionnaire, answers, page_index, order) if advance else page_index
    changes: dict[str, Any] = {"language": language, "updated_at": now}
    if advance and next_page is None:
        done = navigation.completion(questionnaire, answers)
        remove += [qid for qid in stored if qid in done.dropped and qid not in page_ids]
        rows = [row for row in rows if row["question_id"] not in done.dropped]
        answers = done.answers
        changes |= {"status": "complete", "completed_at": now, "current_page": len(questionnaire.pages)}
        if done.follow_up:
            changes |= {"follow_up": True, "follow_up_status": "open"}
    elif advance:
        changes["current_page"] = navigation.furthest_of(questionnaire, response.current_page, next_page, order)
    return PageSave(remove, rows, changes, SaveOutcome(next_page, answers, changes.get("follow_up", False)))
