"""Delivering webhook events: a signed JSON POST per delivery, retried with backoff.

Each request carries

- ``X-CSI-Event``: the event name, ``X-CSI-Delivery``: the delivery id (the same on every
  retry, so a receiver can drop duplicates);
- ``X-CSI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>``.

A receiver recomputes the HMAC over the timestamp and the raw body with the webhook's
secret (:func:`verify_signature` does it), compares in constant time, and refuses a
timestamp older than a few minutes, so a captured request cannot be replayed later.
Redirects are not followed (a receiver that moved must be updated, not guessed), and a
request gives up after ``timeout`` seconds, so a receiver that is down only delays its own
deliveries: respondents never wait for one (deliveries run in the job queue).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

from sqlalchemy.orm import Session

from models.storage.tables import Webhook, WebhookDelivery, utcnow
from models.storage.webhooks import record_attempt

USER_AGENT = "csi-toolkit-webhooks/1"
SIGNATURE_TOLERANCE = 300  # seconds


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, now: float | None = None,
                     tolerance: int = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does: True when ``header`` signs ``body`` with ``secret`` and is fresh."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps({"event": delivery.event, "delivery_id": delivery.id,
                       "created_at": delivery.created_at.isoformat(timespec="seconds"), **delivery.payload},
                      ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")


def attempt(session: Session, delivery_id: int, *, timeout: float = 10.0, now: datetime | None = None
            ) -> WebhookDelivery | None:
    """One attempt at one delivery; records the outcome and commits. Returns the delivery
    (``status`` delivered, pending with ``next_attempt_at``, or failed), or None when it is
    gone or no longer pending (delivered meanwhile, webhook removed)."""
    import requests

    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    webhook = session.get(Webhook, delivery.webhook_id)
    if webhook is None or not webhook.active:
        return None
    body = body_of(delivery)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-CSI-Event": delivery.event, "X-CSI-Delivery": str(delivery.id),
               "X-CSI-Signature": sign(webhook.secret, int(time.time()), body)}
    status_code, error = None, None
    try:
        answer = requests.post(webhook.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        status_code = answer.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {answer.text[:200]}"
    except requests.RequestException as exc:
        error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
    record_attempt(session, delivery, status_code, error, now or utcnow())
    session.commit()
    return delivery
