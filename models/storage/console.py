"""Queries behind the admin console: a wave's progress and answer distributions, and
the follow-up queue of flagged dissatisfied customers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .repository import StorageError
from .tables import Answer, Invitation, Response, Wave, _aware, utcnow

FOLLOW_UP_STATUSES = ("open", "called", "resolved")


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


def answer_counts(session: Session, wave: Wave) -> dict[str, dict[Any, int]]:
    """question id -> {answer value -> count} over complete and partial responses of the wave."""
    rows = session.execute(
        select(Answer.question_id, Answer.value_num, Answer.value_text, func.count())
        .join(Response, Response.id == Answer.response_id).where(Response.wave_id == wave.id)
        .group_by(Answer.question_id, Answer.value_num, Answer.value_text)).all()
    out: dict[str, dict[Any, int]] = {}
    for question, num, txt, count in rows:
        key = (int(num) if float(num).is_integer() else num) if num is not None else txt
        out.setdefault(question, {})[key] = out.get(question, {}).get(key, 0) + int(count)
    return out


def follow_up_queue(session: Session, questionnaire_id: str | None = None, status: str | None = None,
                    limit: int = 500) -> list[Response]:
    query = select(Response).where(Response.follow_up.is_(True)).order_by(Response.completed_at, Response.id).limit(limit)
    if questionnaire_id:
        query = query.join(Wave, Wave.id == Response.wave_id).where(Wave.questionnaire_id == questionnaire_id)
    if status:
        query = query.where(Response.follow_up_status == status)
    return list(session.scalars(query))


def overdue_follow_ups(session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Open follow-ups flagged (completed) longer ago than ``older_than``."""
    cutoff = (now or utcnow()) - older_than
    return int(session.scalar(select(func.count()).select_from(Response).where(
        Response.follow_up.is_(True), Response.follow_up_status == "open", Response.completed_at < cutoff)))


def update_follow_up(session: Session, response_id: int, status: str, note: str | None) -> Response:
    if status not in FOLLOW_UP_STATUSES:
        raise StorageError(f"follow-up status {status!r}: choose one of {', '.join(FOLLOW_UP_STATUSES)}")
    response = session.get(Response, response_id)
    if response is None or not response.follow_up:
        raise StorageError(f"response {response_id} is not in the follow-up queue")
    response.follow_up_status = status
    response.follow_up_note = (note or "").strip()[:5000] or None
    response.follow_up_updated_at = utcnow()
    return response


def response_answers(session: Session, response_id: int) -> dict[str, Any]:
    rows = session.execute(select(Answer.question_id, Answer.value_num, Answer.value_text)
                           .where(Answer.response_id == response_id)).all()
    return {q: (txt if num is None else (int(num) if float(num).is_integer() else num)) for q, num, txt in rows}
