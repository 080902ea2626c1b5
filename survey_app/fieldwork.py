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

from models.errors import CSIError
from models.storage.invitations import due_invitations, reminder_candidates
from models.storage.tables import Wave, utcnow
from models.storage.webhooks import due_deliveries

from .state import state_of


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


# --- Jobs: the worker's periodic round and the fieldwork job kinds ------------------------

def enqueue_due_fieldwork(engine, queue) -> list[int]:
    """Queue a job for each piece of :func:`due_work` (dedupe keys keep one of each queued)."""
    from sqlalchemy.orm import Session

    from .jobs import enqueue

    with Session(engine) as session:
        work = due_work(session)
    queued = []
    for item in work:
        job_id, created = enqueue(engine, queue, item.kind, item.params, dedupe_key=item.dedupe_key, created_by="auto")
        if created:
            queued.append(job_id)
    return queued


def _mail_round(context, kind: str, **options) -> dict:
    """One sending round of a wave, with the server's mail settings and secret key (read the
    way the web app reads them, so links match)."""
    from sqlalchemy.orm import Session

    from models.storage.repository import stored_questionnaire

    from . import create_app
    from .mailer import MailSettings, send_round

    app = create_app({"DATABASE_URL": str(context.engine.url.render_as_string(hide_password=False))})
    try:
        settings = MailSettings.from_config(app.config)
        with Session(context.engine) as session:
            wave = session.get(Wave, int(context.params["wave_id"]))
            if wave is None or not wave.is_open():
                return {"skipped": "the wave is closed or gone: its links would not open"}
            questionnaire = stored_questionnaire(wave.questionnaire_version)
            if kind == "reminder" and "max_reminders" not in options:
                options = {"max_reminders": wave.reminder_max or 2,
                           "reminder_interval": timedelta(days=wave.reminder_after_days or 3), **options}
            result = send_round(session, wave, questionnaire, settings, kind,
                                progress=lambda done, total: context.progress(done / total, f"{done} of {total} sent"),
                                **options)
    finally:
        state_of(app).engine.dispose()
    return {"sent": result.sent, "bounced": result.bounced, "deferred": result.deferred, "summary": result.line()}


def _register_job_kinds() -> None:
    from .jobs import job_kind

    @job_kind("send_invitations")
    def send_invitations(context) -> dict:
        return _mail_round(context, "invitation", scheduled_only=bool(context.params.get("scheduled_only")))

    @job_kind("send_reminders")
    def send_reminders(context) -> dict:
        options = {}
        if context.params.get("max_reminders"):
            options = {"max_reminders": int(context.params["max_reminders"]),
                       "reminder_interval": timedelta(days=float(context.params.get("after_days", 3)))}
        return _mail_round(context, "reminder", **options)

    @job_kind("webhook")
    def deliver_webhook(context) -> dict:
        from sqlalchemy.orm import Session

        from .webhooks import attempt

        with Session(context.engine) as session:
            delivery = attempt(session, int(context.params["delivery_id"]))
            if delivery is None:
                return {"skipped": "delivered meanwhile, or the webhook was removed or disabled"}
            outcome = {"status": delivery.status, "attempts": delivery.attempts,
                       "status_code": delivery.last_status_code}
            if delivery.status == "failed":
                raise CSIError(f"webhook delivery {delivery.id} failed for good after {delivery.attempts} attempts: "
                               f"{delivery.last_error}")
            return outcome


_register_job_kinds()
