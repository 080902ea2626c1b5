"""Fieldwork under attack and faults, with the real components: webhook receivers on loopback
that answer a byte at a time or without end, SMTP servers (aiosmtpd) that refuse the sender,
downloads of waves with Chinese names through a real waitress server."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.storage.tables import Invitation, WebhookDelivery, utcnow
from survey_app.state import state_of
from survey_app.webhooks import attempt, sign, verify_signature

from .test_admin import accounts, admin_client  # noqa: F401  (fixtures)
from .test_downloads import WAVE as CHINESE_WAVE, chinese_wave  # noqa: F401  (fixtures)
from .test_mail import WAVE, Mailbox, csi, invitation_list, mail_app, smtp  # noqa: F401  (fixtures)
from .test_webhooks import bare_engine, completed_event  # noqa: F401  (fixtures)


class RawReceiver:
    """A webhook receiver on a raw loopback socket that reads the request and then runs
    ``answer(connection, stop)``; it stops (and closes every connection) at ``close``."""

    def __init__(self, answer):
        self.answer = answer
        self.stop = threading.Event()
        self.sent = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        with connection:
            connection.settimeout(5)
            try:
                connection.recv(65536)
                self.answer(self, connection)
            except OSError:  # the client gave up: what the tests want
                pass

    def send(self, connection, data: bytes):
        connection.sendall(data)
        self.sent += len(data)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


def endless_body(status: str):
    """The status line at once, then a chunked body without end: 64 MiB fast, then a chunk
    every 0.3 s (each read well inside the client's timeout)."""
    def answer(receiver, connection):
        receiver.send(connection, f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 65536
        while not receiver.stop.is_set():
            receiver.send(connection, b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if receiver.sent > 64 * 2 ** 20:
                time.sleep(0.3)
    return answer


def trickled_headers(receiver, connection):
    """A status line and then a header a byte every 0.3 s, never finished."""
    receiver.send(connection, b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not receiver.stop.is_set():
        receiver.send(connection, b"a")
        time.sleep(0.3)


def timed_attempt(engine, url, timeout=2.0, wait=10.0):
    """attempt() in a thread: (seconds taken, the delivery), or fail if it is still going after ``wait``."""
    with Session(engine) as session:
        _, (delivery_id,) = completed_event(session, url)
    result = {}

    def run():
        with Session(engine, expire_on_commit=False) as session:
            result["delivery"] = attempt(session, delivery_id, timeout=timeout)

    started = time.perf_counter()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait)
    assert not thread.is_alive(), f"the webhook attempt was still running after {wait} s (timeout={timeout} s)"
    return time.perf_counter() - started, result["delivery"]


@pytest.mark.parametrize("answer, status, code, error", [
    (endless_body("200 OK"), "delivered", 200, None),
    (endless_body("500 Internal Server Error"), "pending", 500, "HTTP 500: xxxx"),
    (trickled_headers, "pending", None, "Timeout: no answer from the receiver within 2 s"),
])
def test_a_receiver_that_never_finishes_answering_cannot_hold_the_worker(bare_engine, answer, status, code, error):
    """requests' timeout bounds each read, not the exchange: a receiver sending its headers a
    byte at a time, or a body without end (gigabytes, all kept in memory), held the worker's
    thread for ever, and with it every later job. Now an attempt ends within its timeout, and
    at most 64 KiB of a refusal's body is read."""
    receiver = RawReceiver(answer)
    try:
        seconds, delivery = timed_attempt(bare_engine, receiver.url)
        assert seconds < 2 + 3  # the timeout, and room for a loaded machine
        assert (delivery.status, delivery.last_status_code) == (status, code)
        assert (delivery.last_error or None) == error or delivery.last_error.startswith(error)
        assert len(delivery.last_error or "") <= 300
        # Nothing is left behind: the request's thread and socket end with the attempt, though
        # the receiver goes on (a thread per attempt, each holding a socket, would pile up).
        deadline = time.monotonic() + 3
        while any(t.name == "csi-webhook-post" for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(t.name == "csi-webhook-post" for t in threading.enumerate())
    finally:
        receiver.close()
    with Session(bare_engine) as session:
        assert session.get(WebhookDelivery, delivery.id).attempts == 1




def test_a_redirect_to_another_host_is_not_followed(bare_engine):
    """A receiver answering 307 to another address (an internal one, say) gets a failed
    attempt; the other address never sees the signed answers."""
    from .test_webhooks import Receiver

    other = Receiver()

    def redirect(receiver, connection):
        receiver.send(connection, f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {other.url}\r\n"
                                  "Content-Length: 0\r\n\r\n".encode())

    receiver = RawReceiver(redirect)
    try:
        _, delivery = timed_attempt(bare_engine, receiver.url)
        assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("pending", 307, "HTTP 307: ")
        assert other.requests == []
    finally:
        receiver.close()
        other.close()


@pytest.mark.parametrize("forged", ["v1=é", "v1=" + "\u0661" * 64, "v1=\udc80", "v1=" + "a" * 64 + "\u2028"])
def test_a_forged_signature_with_non_ascii_characters_is_refused_not_a_crash(forged):
    """verify_signature is what a receiver runs on the header it got: hmac.compare_digest
    raised TypeError on a str with non-ASCII characters, so a forged header made the
    receiver fail (a 500) instead of refusing it."""
    now = int(time.time())
    body = b'{"event":"response.completed"}'
    assert verify_signature("s" * 32, sign("s" * 32, now, body), body, now=now)
    assert verify_signature("s" * 32, f"t={now},{forged}", body, now=now) is False


# --- E-mail -------------------------------------------------------------------------------

class SenderRefusingMailbox(Mailbox):
    """A relay that refuses our sender address (MAIL FROM) while ``refuse`` says so, as one
    does when CSI_MAIL_SENDER is not an address the account may send as, or when it throttles."""

    refuse = "553 5.7.1 <survey@shop.example>: Sender address rejected: not owned by user"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse:
            return self.refuse
        envelope.mail_from = address
        return "250 OK"


@pytest.mark.parametrize("refusal", ["553 5.7.1 Sender address rejected: not owned by user",
                                     "451 4.7.1 Too many messages from this sender, slow down"])
def test_a_refused_sender_stops_the_round_and_bounces_nobody(mail_app, smtp, tmp_path, refusal):
    """A refused MAIL FROM is the server refusing us, not the invitee: it was recorded as each
    invitee's refusal, so one wrong CSI_MAIL_SENDER marked the whole list bounced (5xx), never to
    be mailed again even once the setting was right, or used up their five attempts (4xx)."""
    smtp.__class__ = SenderRefusingMailbox
    smtp.refuse = refusal
    people = invitation_list(tmp_path, "ann@example.com,en,Ann,gold\nbob@example.com,en,Bob,gold\n")
    assert csi("invitations", "import", *WAVE, people).exit_code == 0
    refused = csi("invitations", "send", *WAVE)
    assert refused.exit_code == 1
    assert (f"error: the SMTP server refused the sender survey@shop.example: {refusal}; the round stopped after "
            "0 sent") in refused.output
    with Session(state_of(mail_app).engine) as session:
        stored = session.scalars(select(Invitation).order_by(Invitation.id)).all()
        assert [(i.mail_status, i.send_attempts, i.bounce_message) for i in stored] == [("queued", 0, None)] * 2
    smtp.refuse = None  # the sender fixed: everyone is mailed
    sent = csi("invitations", "send", *WAVE)
    assert "2 sent, 0 bounced, 0 deferred" in sent.output
    assert sorted(m["To"] for m in smtp.messages) == ["ann@example.com", "bob@example.com"]


# --- Downloads ------------------------------------------------------------------------------

def test_downloads_of_a_wave_with_a_chinese_name_through_a_real_server(admin_client, chinese_wave, engine,
                                                                        live_server, tmp_path, monkeypatch):
    """The invitee-status CSV and a job's output put the wave's name raw into
    Content-Disposition: the test client takes any text, but a real server must send headers
    as Latin-1, and waitress answered 500 for a wave named 2026年第四季度 (as the console
    allows). Both now name the file as every other download does (RFC 5987 and an ASCII fallback)."""
    import requests

    from models.storage import jobs as job_store
    from survey_app.jobs import run_job

    monkeypatch.setenv("CSI_REPORTS_DIR", str(tmp_path / "reports"))
    job_id, _ = job_store.create_job(engine, "export", {"survey": "acsi-retail", "wave": CHINESE_WAVE, "format": "csv"})
    run_job(engine, job_id, "test")
    assert job_store.get_job(engine, job_id).status == "done"
    cookies = {c.key: c.value for c in admin_client._cookies.values()}
    for path, name in [(f"/admin/waves/{chinese_wave}/mail?format=csv", f"invitees-acsi-retail-{CHINESE_WAVE}.csv"),
                       (f"/admin/jobs/{job_id}/output/csv", f"acsi-retail-{CHINESE_WAVE}-wide-job{job_id}.csv")]:
        answer = requests.get(live_server + path, cookies=cookies, allow_redirects=False, timeout=30)
        assert answer.status_code == 200, (path, answer.status_code)
        disposition = answer.headers["Content-Disposition"]
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name
        assert answer.content.startswith(b"\xef\xbb\xbf")



def test_only_a_post_opts_out_never_a_head(mail_app, smtp, tmp_path):
    """Flask answers HEAD with the GET view, and the view opted out on any method but GET: a
    link scanner or a preview fetching the opt-out link with HEAD stopped the invitee's
    e-mails. GET and HEAD now only show the page; the one-click POST (RFC 8058) opts out."""
    from .conftest import https_client
    from .test_mail import link_in, path_of

    people = invitation_list(tmp_path, "ann@example.com,en,Ann,gold\n")
    assert csi("invitations", "import", *WAVE, people).exit_code == 0
    assert csi("invitations", "send", *WAVE).exit_code == 0
    opt_out_path = path_of(link_in(smtp.messages[0], "o"))
    client = https_client(mail_app)
    assert client.head(opt_out_path).status_code == 200
    assert client.get(opt_out_path).status_code == 200
    with Session(state_of(mail_app).engine) as session:
        assert session.scalar(select(Invitation.opted_out_at)) is None
    assert "1 sent" in csi("invitations", "remind", *WAVE, "--after-days", "0").output
    assert client.post(opt_out_path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with Session(state_of(mail_app).engine) as session:
        assert session.scalar(select(Invitation.opted_out_at)) is not None
    assert "0 sent" in csi("invitations", "remind", *WAVE, "--after-days", "0").output


class SlowMailbox(Mailbox):
    """A relay that takes ``delay`` seconds to accept each message."""

    delay = 0.05

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def concurrent_rounds(app, kind: str, rounds: int = 2, **options):
    from models.storage import find_wave
    from models.storage.repository import stored_questionnaire
    from survey_app.mailer import MailSettings, send_round

    engine, settings = state_of(app).engine, MailSettings.from_config(app.config)
    start, results = threading.Barrier(rounds), []

    def run():
        with Session(engine) as session:
            wave = find_wave(session, "acsi-retail", "2026Q4")
            questionnaire = stored_questionnaire(wave.questionnaire_version)
            start.wait()
            results.append(send_round(session, wave, questionnaire, settings, kind, **options))

    threads = [threading.Thread(target=run) for _ in range(rounds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_rounds_at_once_mail_nobody_twice(mail_app, smtp, tmp_path):
    """`csi invitations send` beside the worker's round (or two operators' commands) each
    chose the same due invitees and mailed every one of them twice; the same with reminders.
    Now each invitee is claimed, committed, before its message goes out."""
    smtp.__class__ = SlowMailbox
    people = [f"p{i}@example.com" for i in range(12)]
    assert csi("invitations", "import", *WAVE, invitation_list(tmp_path, "".join(f"{p},en,,\n" for p in people))
               ).exit_code == 0
    results = concurrent_rounds(mail_app, "invitation")
    assert sorted(m["To"] for m in smtp.messages) == sorted(people)
    assert sum(r.sent for r in results) == len(people)
    first = len(smtp.messages)
    results = concurrent_rounds(mail_app, "reminder", reminder_interval=timedelta(0), max_reminders=2)
    assert sorted(m["To"] for m in smtp.messages[first:]) == sorted(people)
    with Session(state_of(mail_app).engine) as session:
        assert {(i.mail_status, i.reminders_sent) for i in session.scalars(select(Invitation))} == {("sent", 1)}


def test_a_round_killed_mid_send_loses_nobody(mail_app, smtp, tmp_path):
    """SIGKILL a real `csi invitations send` while the relay is accepting its fourth message:
    the next send mails everyone not yet mailed, the invitee in flight is due again once its
    claim lapses, and at most that one message goes out twice."""
    import os
    import signal
    import subprocess
    import sys

    smtp.__class__ = SlowMailbox
    smtp.delay = 0.4
    people = [f"p{i}@example.com" for i in range(8)]
    assert csi("invitations", "import", *WAVE, invitation_list(tmp_path, "".join(f"{p},en,,\n" for p in people))
               ).exit_code == 0
    process = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "invitations", "send", *WAVE],
                               env={**os.environ, "PYTHONPATH": os.getcwd()}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(smtp.messages) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    time.sleep(0.2)  # inside the fourth message
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL, process.stderr.read()
    killed_at = len(smtp.messages)
    assert 3 <= killed_at < len(people)

    smtp.delay = 0
    assert csi("invitations", "send", *WAVE).exit_code == 0
    engine = state_of(mail_app).engine
    with Session(engine) as session:
        in_flight = session.scalars(select(Invitation.email).where(Invitation.mail_status == "sending")).all()
        assert len(in_flight) <= 1
        # Ten minutes later the claim has lapsed (the clock moved by hand): the next send takes it.
        session.execute(update(Invitation).where(Invitation.mail_status == "sending")
                        .values(send_after=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert csi("invitations", "send", *WAVE).exit_code == 0
    received = [m["To"] for m in smtp.messages]
    assert set(received) == set(people) and len(received) - len(people) <= 1
    with Session(engine) as session:
        assert set(session.scalars(select(Invitation.mail_status))) == {"sent"}
