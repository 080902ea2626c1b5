"""Queries behind the admin console: a wave's progress and answer distributions (the
follow-up queue is ``follow_up``'s)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .. import navigation
from ..answers import answer_type
from ..randomization import page_sequence
from .tables import Answer, Invitation, Response, Wave, _aware


@dataclass(frozen=True)
class WaveProgress:
    started: int
    completed: int
    invitations: int
    invitations_used: int
    median_minutes: float | None  # median time from start to completion

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None


def wave_progress(session: Session, wave: Wave) -> WaveProgress:
    counts = dict(session.execute(select(Response.status, func.count()).where(Response.wave_id == wave.id)
                                  .group_by(Response.status)).all())
    durations = [(_aware(done) - _aware(start)).total_seconds() / 60 for start, done in session.execute(
        select(Response.started_at, Response.completed_at).where(
            Response.wave_id == wave.id, Response.status == "complete", Response.completed_at.is_not(None)))]
    invited = session.scalar(select(func.count()).select_from(Invitation).where(Invitation.wave_id == wave.id))
    used = session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.wave_id == wave.id, Invitation.used_at.is_not(None)))
    return WaveProgress(sum(counts.values()), counts.get("complete", 0), int(invited), int(used),
                        median(durations) if durations else None)


def _answered():
    """Rows that hold an answer: both columns NULL (or a NaN number, which PostgreSQL
    stores as such) is no answer, whatever wrote the row."""
    return or_(Answer.value_text.is_not(None), and_(Answer.value_num.is_not(None), Answer.value_num == Answer.value_num))


def answer_counts(session: Session, wave: Wave) -> dict[str, dict[Any, int]]:
    """question id -> {answer value -> count} over complete and partial responses of the
    wave; only real answers are counted (a row without a value is not one)."""
    rows = session.execute(
        select(Answer.question_id, Answer.value_num, Answer.value_text, func.count())
        .join(Response, Response.id == Answer.response_id).where(Response.wave_id == wave.id, _answered())
        .group_by(Answer.question_id, Answer.value_num, Answer.value_text)).all()
    out: dict[str, dict[Any, int]] = {}
    for question, num, txt, count in rows:
        if txt is None and (num is None or math.isnan(num)):  # SQLite compares NaN unlike PostgreSQL
            continue
        key = (int(num) if float(num).is_integer() else num) if num is not None else txt
        out.setdefault(question, {})[key] = out.get(question, {}).get(key, 0) + int(count)
    return out


def asked_counts(session: Session, wave: Wave, questionnaire) -> dict[str, int]:
    """question id -> how many of the wave's responses (complete or partial) were shown it:
    they reached its page (a partial response stands at ``current_page``) and the page's
    and the question's ``show_if`` hold for their answers."""
    responses = session.execute(select(Response.id, Response.status, Response.current_page)
                                .where(Response.wave_id == wave.id)).all()
    names: set[str] = set()
    for page in questionnaire.pages:
        for condition in [page.show_if] + [q.show_if for q in page.questions]:
            names.update(condition.names if condition is not None else ())
    answers: dict[int, dict[str, Any]] = {}
    if names:
        by_id = {q.id: q for q in questionnaire.questions}
        rows = session.execute(select(Answer.response_id, Answer.question_id, Answer.value_num, Answer.value_text)
                               .join(Response, Response.id == Answer.response_id)
                               .where(Response.wave_id == wave.id, Answer.question_id.in_(sorted(names))))
        for response_id, question_id, num, txt in rows:
            question = by_id[question_id]
            value = answer_type(question).decode(question, num, txt)
            if value is not None:
                answers.setdefault(response_id, {})[question_id] = value
    # Unconditional items need only how far each response got; conditions are evaluated
    # per response for the conditional items alone (a live view of 100,000 responses).
    # Stale answers (a respondent went back and changed an earlier one) count as none.
    answers = {response_id: navigation.answers_in_effect(questionnaire, given) for response_id, given in answers.items()}
    reached = [len(questionnaire.pages) if status == "complete" else (current_page or 0)
               for _, status, current_page in responses]
    # The pages each response reached: those up to its ``current_page`` in the order it is
    # shown them (the pages of a block come in an order of each response's own).
    if questionnaire.blocks:
        orders = (page_sequence(questionnaire, str(response_id)) for response_id, _, _ in responses)
        reached = [set(order[:navigation.position(questionnaire, r, order) + 1]) for r, order in zip(reached, orders)]
    else:
        reached = [range(r + 1) for r in reached]
    out = {}
    for index, page in enumerate(questionnaire.pages):
        for q in page.questions:
            if page.show_if is None and q.show_if is None:
                out[q.id] = sum(1 for r in reached if index in r)
                continue
            out[q.id] = sum(1 for (response_id, _, _), r in zip(responses, reached)
                            if index in r and navigation.question_shown(page, q, answers.get(response_id, {})))
    return out


def share_text(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage that never rounds an incomplete count up to
    "100%" (403 of 404 is "99.7%") nor a non-zero one down to "0%": floored to a tenth,
    computed in integers so 29/100 is "29.0%", not 28.9."""
    if not whole:
        return "–"
    if part >= whole:
        return "100%"
    if part <= 0:
        return "0%"
    tenths = (1000 * part) // whole
    return "<0.1%" if tenths == 0 else f"{tenths // 10}.{tenths % 10}%"


def weighted_median(counts: dict[float, int]) -> float | None:
    """Median of values given as {value: how many}: the middle value, or the mean of the
    two middle ones for an even total."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def at(position: int) -> float:
        seen = 0
        for value, count in ordered:
            seen += count
            if position < seen:
                return float(value)
        return float(ordered[-1][0])

    return at(total // 2) if total % 2 else (at(total // 2 - 1) + at(total // 2)) / 2


@dataclass(frozen=True)
class Bin:
    low: float
    high: float   # whole numbers: the last value in the bin; else the (exclusive) upper edge
    count: int
    label: str


def histogram(counts: dict[float, int], bins: int = 10) -> list[Bin]:
    """Counts of numeric answers in at most ``bins`` bins from the lowest to the highest
    answer. Whole-number answers get whole-number bins labelled inclusively ("4–7": 4, 5,
    6 or 7; one bin per value when there are at most ``2 * bins`` values); other answers
    get equal widths, each bin holding its lower edge (the last also its upper one)."""
    if not counts:
        return []
    values = sorted(counts)
    low, high = float(values[0]), float(values[-1])
    if all(float(v).is_integer() for v in values):
        first, span = int(low), int(high) - int(low) + 1
        width = 1 if span <= 2 * bins else -(-span // bins)
        out = [0] * -(-span // width)
        for value, count in counts.items():
            out[(int(value) - first) // width] += count
        return [Bin(first + k * width, min(first + (k + 1) * width - 1, int(high)), n,
                    f"{first + k * width}" if width == 1 else f"{first + k * width}–{min(first + (k + 1) * width - 1, int(high))}")
                for k, n in enumerate(out)]
    width = (high - low) / bins or 1.0
    out = [0] * bins
    for value, count in counts.items():
        out[min(int((float(value) - low) / width), bins - 1)] += count
    return [Bin(low + k * width, low + (k + 1) * width, n, f"{low + k * width:.4g}–{low + (k + 1) * width:.4g}")
            for k, n in enumerate(out)]


def latest_texts(session: Session, wave: Wave, question_id: str, limit: int = 5) -> list[tuple[str, datetime]]:
    """The ``limit`` most recent text answers to a question: (text, when the response was
    last saved), newest first."""
    rows = session.execute(select(Answer.value_text, Response.updated_at)
                           .join(Response, Response.id == Answer.response_id)
                           .where(Response.wave_id == wave.id, Answer.question_id == question_id,
                                  Answer.value_text.is_not(None), Answer.value_text != "")
                           .order_by(Response.updated_at.desc(), Response.id.desc()).limit(limit)).all()
    return [(text, _aware(updated)) for text, updated in rows]
