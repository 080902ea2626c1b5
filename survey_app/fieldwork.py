"""What the worker finds to do on its own, every few seconds: scheduled invitations whose
time has come, deferred ones to retry, automatic reminders, and webhook deliveries due.

:func:`due_work` only reads the database and names the jobs; the worker's periodic round
(``survey_app.jobs``) enqueues them with their dedupe keys, so a job already queued or
running is not queued twice however often the round runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.storage.invitations import due_invitations, reminder_candidates
from models.storage.tables import Wave, utcnow
from models.storage.webhooks import due_deliveries


@dataclass(frozen=True)
class DueWork:
    kind: str                      # a job kind: send_invitations, send_reminders or webhook
    params: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str = ""


def due_work(session: Session, now: datetime | None = None) -> list[DueWork]:
    now = now or utcnow()
    work: list[DueWork] = []
    for wave in session.scalars(select(Wave).where(Wave.closed.is_(False)).order_by(Wave.id)):
        if not wave.is_open(now):
            continue
        if due_invitations(session, wave, now, limit=1, scheduled_only=True):
            work.append(DueWork("send_invitations", {"wave_id": wave.id, "scheduled_only": True},
                                f"mail:invitations:{wave.id}"))
        if wave.reminder_max and reminder_candidates(session, wave, max_reminders=wave.reminder_max,
                                                     interval=timedelta(days=wave.reminder_after_days or 3),
                                                     now=now, limit=1):
            work.append(DueWork("send_reminders", {"wave_id": wave.id}, f"mail:reminders:{wave.id}"))
    for delivery in due_deliveries(session, now):
        work.append(DueWork("webhook", {"delivery_id": delivery.id}, f"webhook:{delivery.id}"))
    return work
