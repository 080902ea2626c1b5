"""Webhooks: which receivers want which of a questionnaire's events, and the log of each
delivery (attempts, last answer, next try).

An event becomes one ``WebhookDelivery`` row per subscribed webhook, written in the same
transaction as what caused it, so no completed response goes unannounced; the delivery
itself (HTTP, signing, retries) is ``survey_app.webhooks``'s, run by the job queue.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from .repository import StorageError
from .tables import Webhook, WebhookDelivery, utcnow

EVENTS = ("response.completed", "followup.flagged", "followup.updated", "analysis.ready")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)


def check_url(url: str) -> str:
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StorageError(f"webhook URL {url[:100]!r} must be http:// or https:// with a host")
    if parsed.username or parsed.password:
        raise StorageError("a webhook URL must not carry a user name or password; the receiver checks the signature")
    if len(url) > 2000 or any(c in url for c in "\r\n\t\x00 "):
        raise StorageError("a webhook URL must be one line without spaces, at most 2,000 characters")
    return url


def check_events(events: Iterable[str]) -> list[str]:
    chosen = [e.strip() for e in events if e.strip()]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise StorageError(f"unknown webhook event {unknown[0]!r}; choose from {', '.join(EVENTS)}")
    if not chosen:
        raise StorageError(f"choose at least one event: {', '.join(EVENTS)}")
    return list(dict.fromkeys(chosen))


def add_webhook(session: Session, questionnaire_id: str, url: str, events: Iterable[str],
                secret: str | None = None) -> Webhook:
    """A new active webhook; without ``secret`` a random one (256 bits) is made. The caller
    shows the secret once to whoever sets up the receiver."""
    if secret is not None and len(secret) < 16:
        raise StorageError("a webhook secret must have at least 16 characters (or leave it out for a random one)")
    webhook = Webhook(questionnaire_id=questionnaire_id, url=check_url(url), events=check_events(events),
                      secret=secret or secrets.token_urlsafe(32), active=True, created_at=utcnow())
    session.add(webhook)
    session.flush()
    return webhook


def list_webhooks(session: Session, questionnaire_id: str | None = None) -> list[Webhook]:
    query = select(Webhook).order_by(Webhook.id)
    if questionnaire_id:
        query = query.where(Webhook.questionnaire_id == questionnaire_id)
    return list(session.scalars(query))


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        raise StorageError(f"no webhook {webhook_id}")
    return webhook


def record_event(session: Session, questionnaire_id: str, event: str, payload: Mapping[str, Any],
                 now: datetime | None = None) -> list[int]:
    """One pending delivery per active webhook of the questionnaire that wants ``event``;
    returns their ids (flushed, in the caller's transaction)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    now = now or utcnow()
    rows = []
    for webhook in session.scalars(select(Webhook).where(Webhook.questionnaire_id == questionnaire_id,
                                                         Webhook.active.is_(True))):
        if event in (webhook.events or []):
            delivery = WebhookDelivery(webhook_id=webhook.id, event=event, payload=dict(payload), status="pending",
                                       attempts=0, next_attempt_at=now, created_at=now)
            session.add(delivery)
            rows.append(delivery)
    session.flush()
    return [delivery.id for delivery in rows]


DELIVERY_COLUMNS = ("webhook_id", "event", "payload", "status", "attempts", "next_attempt_at", "created_at")


def delivery_rows(connection, questionnaire_id: str, events: Iterable[str], payload_of: Callable[[], Mapping[str, Any]],
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Rows of webhook_deliveries (:data:`DELIVERY_COLUMNS`) for ``events`` of the
    questionnaire, one per active webhook that wants each, for the caller to insert in its
    own transaction (the respondent's last page). ``payload_of`` is called only when some
    webhook wants one of the events, so a questionnaire without webhooks pays one small query."""
    hooks = connection.execute(select(Webhook.id, Webhook.events).where(Webhook.questionnaire_id == questionnaire_id,
                                                                       Webhook.active.is_(True))).all()
    wanted = [(hook_id, event) for event in events for hook_id, subscribed in hooks if event in (subscribed or [])]
    if not wanted:
        return []
    now = now or utcnow()
    payload = dict(payload_of())
    return [{"webhook_id": hook_id, "event": event, "payload": payload, "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now} for hook_id, event in wanted]


def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min, ... doubling, at most 6 h."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def record_attempt(session: Session, delivery: WebhookDelivery, status_code: int | None, error: str | None,
                   now: datetime | None = None) -> WebhookDelivery:
    """Count one attempt: a 2xx answer delivers; anything else schedules the next try with
    :func:`backoff`, or fails the delivery after ``MAX_ATTEMPTS``."""
    now = now or utcnow()
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.last_status_code = status_code
    delivery.last_error = (error or None) and error[:1000]
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.status, delivery.next_attempt_at = "pending", now + backoff(delivery.attempts)
    return delivery


def due_deliveries(session: Session, now: datetime | None = None, limit: int = 100) -> list[WebhookDelivery]:
    now = now or utcnow()
    return list(session.scalars(select(WebhookDelivery)
                                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)))


def delivery_log(session: Session, webhook_id: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    return list(session.scalars(query))
