"""Queries behind the admin console: a wave's progress and answer distributions (the
follow-up queue is ``follow_up``'s)."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def response_answers(session: Session, response_id: int) -> dict[str, Any]:
    rows = session.execute(select(Answer.question_id, Answer.value_num, Answer.value_text)
                           .where(Answer.response_id == response_id)).all()
    return {q: (txt if num is None else (int(num) if float(num).is_integer() else num)) for q, num, txt in rows}
