"""Delivering webhook events: a signed JSON POST per delivery, retried with backoff.

Each request carries

- ``X-CSI-Event``: the event name, ``X-CSI-Delivery``: the delivery id (the same on every
  retry, so a receiver can drop duplicates);
- ``X-CSI-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>``.

A receiver recomputes the HMAC over the timestamp and the raw body with the webhook's
secret (:func:`verify_signature` does it), compares in constant time, and refuses a
timestamp older than a few minutes, so a captured request cannot be replayed later.
Redirects are not followed (a receiver that moved must be updated, not guessed), and an
attempt gives up after ``timeout`` seconds in all, however the receiver answers (a byte at a
time, or a body without end, of which only the first ``MAX_ANSWER_BYTES`` are read), and
leaves no thread or socket behind, so a
receiver that is down or hostile only delays its own deliveries, never the worker's other
jobs; respondents never wait for one (deliveries run in the job queue).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import datetime

from sqlalchemy.orm import Session

from models.storage.tables import Webhook, WebhookDelivery, utcnow
from models.storage.webhooks import record_attempt

USER_AGENT = "csi-toolkit-webhooks/1"
SIGNATURE_TOLERANCE = 300  # seconds
MAX_ANSWER_BYTES = 64 * 1024  # of a refusal's body, read for the log; the rest is never read


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
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not False).
    return hmac.compare_digest(sign(secret, timestamp, body).encode("utf-8"),
                               f"t={timestamp},v1={parts.get('v1', '')}".encode("utf-8", "surrogatepass"))


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps({"event": delivery.event, "delivery_id": delivery.id,
                       "created_at": delivery.created_at.isoformat(timespec="seconds"), **delivery.payload},
                      ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8")


def attempt(session: Session, delivery_id: int, *, timeout: float = 10.0, now: datetime | None = None
            ) -> WebhookDelivery | None:
    """One attempt at one delivery; records the outcome and commits. Returns the delivery
    (``status`` delivered, pending with ``next_attempt_at``, or failed), or None when it is
    gone or no longer pending (delivered meanwhile, webhook removed)."""
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
    status_code, error = _post(webhook.url, body, headers, timeout)
    record_attempt(session, delivery, status_code, error, now or utcnow())
    session.commit()
    return delivery


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str | None]:
    """POST ``body`` to ``url``: (status code or None, error or None), within ``timeout``
    seconds in all. requests' own timeout bounds each read from the socket, not the exchange:
    a receiver sending its headers a byte every few seconds, or a body without end, would hold
    the worker for ever (and the whole body in memory). So the request runs in a thread
    (streamed, at most ``MAX_ANSWER_BYTES`` of the body read) that this one waits for until
    the deadline; then it shuts the request's socket, which ends the thread at once."""
    import requests

    outcome: dict = {}
    sockets: list[socket.socket] = []

    def run() -> None:
        with _recording_session(sockets) as session:
            try:
                answer = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                                      stream=True)
            except requests.RequestException as exc:
                outcome["error"] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
                return
            outcome["status"] = answer.status_code
            try:
                if not 200 <= answer.status_code < 300:
                    text = answer.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
                    outcome["text"] = text.decode("utf-8", "replace")
            except Exception:  # shut at the deadline, or a broken body: the status stands
                pass
            finally:
                answer.close()

    thread = threading.Thread(target=run, name="csi-webhook-post", daemon=True)
    thread.start()
    thread.join(timeout)
    arrived = dict(outcome)  # in time; after the shutdown, http.client takes the cut headers for complete ones
    for sock in list(sockets) if thread.is_alive() else ():
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    status = arrived.get("status")
    if status is None:
        return None, arrived.get("error") or f"Timeout: no answer from the receiver within {timeout:g} s"
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}: {arrived.get('text', '')[:200]}"


def _recording_session(sockets: list):
    """A requests session that appends the socket of each connection it opens to ``sockets``."""
    import requests
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def recording(connection_class):
        class Recording(connection_class):
            def _new_conn(self):
                sock = super()._new_conn()
                sockets.append(sock)
                return sock
        return Recording

    pools = {scheme: type(pool.__name__, (pool,), {"ConnectionCls": recording(connection)})
             for scheme, pool, connection in (("http", HTTPConnectionPool, HTTPConnection),
                                              ("https", HTTPSConnectionPool, HTTPSConnection))}
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.get_adapter(prefix).poolmanager.pool_classes_by_scheme = pools
    return session
