"""Webhook deliveries against a real HTTP receiver on loopback: signatures a receiver can
check (and replays it can refuse), retries with backoff until one success, a receiver that
is down, and the limits of what can be registered."""
from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy.orm import Session

from models.storage import make_engine, upgrade
from models.storage.repository import StorageError
from sqlalchemy import select

from models.storage.tables import Response, WebhookDelivery, _aware, utcnow
from models.storage.webhooks import MAX_ATTEMPTS, add_webhook, backoff, due_deliveries, record_event
from survey_app.webhooks import attempt, verify_signature


class Receiver:
    """A real HTTP server that answers with the scripted status codes in turn (then 200), and
    keeps each request's headers and raw body."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        self.successes = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.successes += 200 <= status < 300
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bare_engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def completed_event(session, webhook_url, secret="s" * 32, events=("response.completed",)):
    webhook = add_webhook(session, "acsi-retail", webhook_url, events, secret=secret)
    ids = record_event(session, "acsi-retail", "response.completed",
                       {"survey": "acsi-retail", "wave": "2026Q4", "response_id": 7, "answers": {"sat1": 9, "note": "好"}})
    session.commit()
    return webhook, ids


def test_delivery_is_signed_and_a_replay_is_refused(bare_engine, receiver):
    with Session(bare_engine) as session:
        webhook, (delivery_id,) = completed_event(session, receiver.url)
        delivery = attempt(session, delivery_id)
        assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 200
    (headers, body), = receiver.requests
    assert headers["X-CSI-Event"] == "response.completed" and headers["X-CSI-Delivery"] == str(delivery_id)
    payload = json.loads(body)
    assert payload["answers"] == {"sat1": 9, "note": "好"} and payload["event"] == "response.completed"
    signature = headers["X-CSI-Signature"]
    assert verify_signature("s" * 32, signature, body)
    assert not verify_signature("s" * 32, signature, body + b" ")            # body changed
    assert not verify_signature("t" * 32, signature, body)                   # another secret
    assert not verify_signature("s" * 32, signature, body, now=time.time() + 3600)  # replayed an hour later
    assert not verify_signature("s" * 32, "garbage", body)


def test_receiver_failing_twice_gets_exactly_one_success(bare_engine):
    receiver = Receiver([500, 503])
    try:
        with Session(bare_engine) as session:
            _, (delivery_id,) = completed_event(session, receiver.url)
            now = utcnow()
            first = attempt(session, delivery_id, now=now)
            assert first.status == "pending" and first.last_status_code == 500
            assert first.next_attempt_at is not None and abs((_aware(first.next_attempt_at) - now) - backoff(1)).total_seconds() < 1
            assert due_deliveries(session, now) == []                          # not before its time
            later = now + timedelta(minutes=1)
            assert [d.id for d in due_deliveries(session, later)] == [delivery_id]
            second = attempt(session, delivery_id, now=later)
            assert second.status == "pending" and second.attempts == 2
            third = attempt(session, delivery_id, now=later + timedelta(minutes=2))
            assert third.status == "delivered" and third.attempts == 3
            assert attempt(session, delivery_id) is None                       # delivered: never again
        assert receiver.successes == 1 and len(receiver.requests) == 3
        assert len({h["X-CSI-Delivery"] for h, _ in receiver.requests}) == 1   # the same id on every retry
    finally:
        receiver.close()


def test_receiver_that_is_down_fails_fast_and_gives_up_after_max_attempts(bare_engine):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with Session(bare_engine) as session:
        _, (delivery_id,) = completed_event(session, f"http://127.0.0.1:{closed}/hook")
        started = time.perf_counter()
        delivery = attempt(session, delivery_id, timeout=2)
        assert time.perf_counter() - started < 2  # connection refused at once, no timeout waited
        assert delivery.status == "pending" and "ConnectionError" in delivery.last_error
        for _ in range(MAX_ATTEMPTS - 1):
            delivery = attempt(session, delivery_id, timeout=2)
        assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS and delivery.next_attempt_at is None


def test_only_subscribed_active_webhooks_get_an_event(bare_engine, receiver):
    with Session(bare_engine) as session:
        add_webhook(session, "acsi-retail", receiver.url, ["followup.flagged"])
        add_webhook(session, "ccsi-mobile", receiver.url, ["response.completed"])
        off = add_webhook(session, "acsi-retail", receiver.url, ["response.completed"])
        off.active = False
        wanted = add_webhook(session, "acsi-retail", receiver.url, ["response.completed", "followup.updated"])
        ids = record_event(session, "acsi-retail", "response.completed", {"response_id": 1})
        session.commit()
        assert [session.get(WebhookDelivery, i).webhook_id for i in ids] == [wanted.id]


@pytest.mark.parametrize("url, events, message", [
    ("ftp://crm.example/x", ["response.completed"], "must be http:// or https://"),
    ("https://user:pw@crm.example/x", ["response.completed"], "must not carry a user name"),
    ("https://crm.example/x\r\nHost: evil", ["response.completed"], "one line without spaces"),
    ("https://crm.example/x", ["response.deleted"], "unknown webhook event 'response.deleted'"),
    ("https://crm.example/x", [], "choose at least one event"),
])
def test_bad_webhooks_are_refused_with_the_reason(bare_engine, url, events, message):
    with Session(bare_engine) as session, pytest.raises(StorageError, match=message.replace("(", r"\(")):
        add_webhook(session, "acsi-retail", url, events)


def test_cli_adds_lists_and_delivers(bare_engine, database_url, receiver, monkeypatch):
    from click.testing import CliRunner

    from survey_app.cli import main

    monkeypatch.setenv("CSI_SECRET_KEY", "k" * 40)
    with Session(bare_engine) as session:
        from models import load_questionnaire
        from models.storage import create_wave, register_questionnaire
        import questionnaires
        create_wave(session, register_questionnaire(session, load_questionnaire(questionnaires.path("acsi_retail"))), "2026Q4")
        session.commit()
    run = lambda *args: CliRunner().invoke(main, [*args, "--database", database_url])  # noqa: E731
    added = run("webhooks", "add", "--survey", "acsi-retail", "--url", receiver.url, "--events", "response.completed")
    assert added.exit_code == 0, added.output
    secret = added.output.rsplit(": ", 1)[-1].strip()
    unknown = run("webhooks", "add", "--survey", "nope", "--url", receiver.url, "--events", "response.completed")
    assert unknown.exit_code == 1 and "no questionnaire 'nope'" in unknown.output
    assert receiver.url in run("webhooks", "list").output
    with Session(bare_engine) as session:
        record_event(session, "acsi-retail", "response.completed", {"response_id": 3})
        session.commit()
    delivered = run("webhooks", "deliver")
    assert "1 delivered" in delivered.output, delivered.output
    (headers, body), = receiver.requests
    assert verify_signature(secret, headers["X-CSI-Signature"], body)
    assert "delivered" in run("webhooks", "log").output


def test_completion_is_announced_without_the_respondent_waiting(app, engine, acsi, invitations):
    """A completed response (and its follow-up flag) becomes deliveries in the same transaction
    as the last page; a receiver that accepts connections and never answers does not slow the
    respondent, who never calls it; the worker's attempt then delivers the answers."""
    from .conftest import Respondent, https_client

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts, never answers
    try:
        with Session(engine) as session:
            add_webhook(session, "acsi-retail", f"http://127.0.0.1:{silent.getsockname()[1]}/hook",
                        ["response.completed", "followup.flagged"], secret="s" * 32)
            session.commit()
        person = Respondent(https_client(app), acsi, {"sat_overall": "2", "complained": "no"})
        first = person.get(f"/i/{invitations[0]}")
        page = person.post("/s/acsi-retail/2026Q4/start", {"csrf_token": first.csrf})
        started = time.perf_counter()
        done = person.finish(page)
        assert "/done" in done.url and time.perf_counter() - started < 10
        with Session(engine) as session:
            deliveries = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
            assert [d.event for d in deliveries] == ["response.completed", "followup.flagged"]
            payload = deliveries[0].payload
            assert payload["survey"] == "acsi-retail" and payload["wave"] == "2026Q4" and payload["follow_up"] is True
            assert payload["invitation"] == {"region": "north", "tier": "gold"}
            assert payload["answers"]["sat_overall"] == 2
            assert all(d.status == "pending" and d.attempts == 0 for d in deliveries)
    finally:
        silent.close()


def test_follow_up_changes_are_announced(app, engine, acsi, receiver):
    from models.storage.follow_up import update_follow_up

    from .conftest import Respondent, https_client

    with Session(engine) as session:
        add_webhook(session, "acsi-retail", receiver.url, ["followup.updated"])
        session.commit()
    person = Respondent(https_client(app), acsi, {"sat_overall": "2", "complained": "no"})
    person.finish(person.start())
    with Session(engine) as session:
        case = session.scalar(select(Response.id).where(Response.follow_up.is_(True)))
        update_follow_up(session, case, None, status="called", note="Left a message.")
        session.commit()
        (delivery,) = session.scalars(select(WebhookDelivery)).all()
        assert delivery.event == "followup.updated"
        assert delivery.payload["changes"] == [{"kind": "status", "value": "called"},
                                               {"kind": "note", "value": "Left a message."}]
        assert attempt(session, delivery.id).status == "delivered"
    assert json.loads(receiver.requests[0][1])["status"] == "called"
