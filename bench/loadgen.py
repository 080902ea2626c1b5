"""Simulated respondents over real HTTP, for the load benchmark, the concurrency test and
the crash test. Requests go only to the server URL given (loopback in all our uses).

A respondent fetches each page, posts answers with the page's CSRF token and submission
id, sometimes re-posts the same form (a retry after a network error), sometimes leaves
and comes back with the same cookie. A post that fails at the connection level (server
killed) is re-sent with the same submission id, as a browser's retry would be: the
server's de-duplication makes that safe. A response counts as acknowledged when the
server answered with the thank-you page.
"""
from __future__ import annotations

import html
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_id" type="hidden" value="([^"]*)"')
ADDRESS = re.compile(r'data-address="([^"]+)"')
ACTION = re.compile(r'<form method="post" action="([^"]+/p/[0-9]+)"')
QUESTION = re.compile(r'<div class="question[^"]*" id="q-([A-Za-z0-9_]+)"')


def request_kind(path: str) -> str:
    """What a survey path is, for latencies by kind of request."""
    for marker, kind in (("/p/", "page"), ("/start", "start"), ("/done", "thank-you")):
        if marker in path:
            return kind
    return "landing"


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"GET": [], "POST": []})
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # "POST page", "GET landing", ...
    # (time.monotonic() when answered, kind, seconds): latencies over time, for a window that
    # leaves out the ramp up and down (CLOCK_MONOTONIC is one clock for all processes).
    events: list[tuple[float, str, float]] = field(default_factory=list)
    page_posts: int = 0
    retries: int = 0
    connection_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, seconds: float, status: int) -> None:
        kind = f"{method} {request_kind(path)}"
        with self.lock:
            self.latencies[method].append(seconds)
            self.by_kind.setdefault(kind, []).append(seconds)
            self.events.append((time.monotonic(), kind, seconds))
            # A page post the server accepted: answered with the next page, or sent on to the
            # thank-you page (repeats included; the stored count is in the database).
            if method == "POST" and "/p/" in path and status in (200, 302, 303):
                self.page_posts += 1

    def to_dict(self) -> dict:
        """Plain data, to send from a client process to the one that reports."""
        with self.lock:
            return {"latencies": self.latencies, "by_kind": self.by_kind, "events": self.events,
                    "page_posts": self.page_posts,
                    "retries": self.retries, "connection_errors": self.connection_errors}

    def merge(self, other: dict) -> None:
        with self.lock:
            for method, values in other["latencies"].items():
                self.latencies.setdefault(method, []).extend(values)
            for kind, values in other["by_kind"].items():
                self.by_kind.setdefault(kind, []).extend(values)
            self.events.extend(other["events"])
            self.page_posts += other["page_posts"]
            self.retries += other["retries"]
            self.connection_errors += other["connection_errors"]


class Client:
    """One browser: a cookie jar and a keep-alive connection, reopened when it breaks.

    HTTP/1.1 is spoken over a plain socket rather than through http.client, whose header
    parsing (the email package) made up much of the load generator's CPU; the generator
    shares the server's cores, so what it spends is taken from the server."""

    def __init__(self, base: str, stats: Stats, timeout: float = 30):
        parsed = urlparse(base)
        self.host, self.port, self.timeout = parsed.hostname, parsed.port, timeout
        self.cookies: dict[str, str] = {}
        self.stats = stats
        self.connection: socket.socket | None = None
        self.reader = None

    def _send(self, method: str, path: str, body: str | None) -> tuple[int, str, str]:
        if self.connection is None:
            self.connection = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.connection.makefile("rb")
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        data = b""
        if body is not None:
            data = body.encode()
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(data)}\r\n"
        started = time.perf_counter()
        self.connection.sendall(head.encode("latin-1") + b"\r\n" + data)
        status, location, text, close = self._read_response()
        self.stats.record(method, path, time.perf_counter() - started, status)
        if close:
            self.close()
        return status, location, text

    def _read_response(self) -> tuple[int, str, str, bool]:
        """(status, Location, body, whether the server closes the connection)."""
        reader = self.reader
        line = reader.readline(65537)
        if not line:
            raise ConnectionError("connection closed before the response")
        status = int(line.split(None, 2)[1])
        length, chunked, close, location = None, False, False, ""
        while True:
            line = reader.readline(65537)
            if not line:
                raise ConnectionError("connection closed in the headers")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "location":
                location = value
            elif name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        if chunked:
            parts = []
            while True:
                size = int(reader.readline(65537).split(b";", 1)[0], 16)
                if size == 0:
                    while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(reader.read(size))
                reader.readline(65537)
            payload = b"".join(parts)
        elif length is not None:
            payload = reader.read(length)
            if len(payload) < length:
                raise ConnectionError("connection closed in the body")
        else:
            payload, close = reader.read(), True
        return status, location, payload.decode("utf-8"), close

    def request(self, method: str, path: str, data: dict | None = None, attempts: int = 30) -> tuple[int, str, str]:
        body = urlencode(data, doseq=True) if data is not None else None
        for attempt in range(attempts):
            try:
                status, location, text = self._send(method, path, body)
                if status in (502, 503, 504):  # a proxy or a restarting server: try again like a user would
                    raise ConnectionError(f"HTTP {status}")
                return status, location, text
            except (ConnectionError, OSError, ValueError, IndexError):  # broken or cut-off responses too
                with self.stats.lock:
                    self.stats.connection_errors += 1
                self.close()
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
        raise ConnectionError(f"{method} {path} failed {attempts} times")

    def follow(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, str]:
        status, location, text = self.request(method, path, data)
        while status in (301, 302, 303):
            path = urlparse(location).path or location
            status, location, text = self.request("GET", path)
        if status == 200:  # a page shown in answer to a post lives at the address it names
            address = ADDRESS.search(text) or ACTION.search(text)
            if address:
                path = html.unescape(address.group(1))
        return status, path, text

    def close(self) -> None:
        if self.connection is not None:
            self.reader.close()
            self.connection.close()
            self.connection, self.reader = None, None


def answer_value(question, rng: random.Random):
    if question.type == "rating":
        return str(rng.randint(question.scale.minimum, question.scale.maximum))
    if question.type == "single_choice":
        return str(rng.choice(question.options).value)
    if question.type == "multiple_choice":
        return [str(o.value) for o in rng.sample(list(question.options), rng.randint(1, len(question.options)))]
    if question.type == "number":
        return str(rng.randint(int(question.minimum or 0), int(min(question.maximum or 30, 30))))
    return rng.choice(["", "Fine.", "店员很热情", "<b>ok</b>"])


def respondent(base: str, questionnaire, survey: str, wave: str, number: int, stats: Stats, deadline: float,
               retry: float = 0.1, abandon: float = 0.05, think: float = 0.0) -> dict | None:
    """Answer the survey; return the answers sent when the server acknowledged completion.

    ``think``: mean seconds (exponentially distributed) spent reading and answering each
    page before posting it; 0 posts at once (a stress test, not a person).
    """
    rng = random.Random(number)
    client = Client(base, stats)
    if think:  # people open the link at different moments, not all in the same millisecond
        time.sleep(rng.expovariate(1 / think))
    try:
        status, path, text = client.follow("GET", f"/s/{survey}/{wave}")
        csrf = CSRF.search(text).group(1)
        status, path, text = client.follow("POST", f"/s/{survey}/{wave}/start", {"csrf_token": csrf})
        sent: dict = {}
        left = False
        while "/done" not in path:
            if time.monotonic() > deadline:
                return None
            if status != 200:
                raise AssertionError(f"respondent {number}: {status} on {path}: {text[:200]}")
            csrf = CSRF.search(text).group(1)
            submission = html.unescape(SUBMISSION.search(text).group(1))
            data = {"csrf_token": csrf, "submission_id": submission, "nav": "next"}
            for qid in QUESTION.findall(text):
                value = answer_value(questionnaire.question(qid), rng)
                if value in ("", []):
                    sent.pop(qid, None)
                    continue
                data[qid] = value
                sent[qid] = value
            if think:
                time.sleep(rng.expovariate(1 / think))
            if rng.random() < retry:
                client.request("POST", path, data)   # the same form sent twice
                with stats.lock:
                    stats.retries += 1
            status, path, text = client.follow("POST", path, data)
            if not left and rng.random() < abandon:
                left = True                           # close the tab, come back later
                client.close()
                status, path, text = client.follow("GET", f"/s/{survey}/{wave}")
        return sent
    finally:
        client.close()


def verify(engine, questionnaire, survey: str, wave: str, acknowledged: list[dict], pages: int) -> list[str]:
    """Every acknowledged response stored exactly once with exactly its answers; no partial
    response marked complete; one page submission per page. Returns the problems found."""
    import pandas as pd
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from models.answers import answer_type
    from models.storage import load_wave_frame
    from models.storage.tables import PageSubmission, Response

    problems = []

    def canonical(answers: dict) -> tuple:
        out = []
        for qid, value in answers.items():
            if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
                continue
            question = questionnaire.question(qid)
            # Sent and stored alike as the answer they stand for (a list of choices in option order).
            value = answer_type(question).coerce(question, value)
            out.append((qid, tuple(value) if isinstance(value, list) else value))
        return tuple(sorted(out))

    frame = load_wave_frame(engine, survey, wave)
    stored = sorted(canonical(dict(row)) for _, row in frame.iterrows())
    sent = sorted(canonical(a) for a in acknowledged)
    if stored != sent:
        problems.append(f"stored complete responses ({len(stored)}) differ from acknowledged ones ({len(sent)})")
    with Session(engine) as session:
        complete_ids = session.scalars(select(Response.id).where(Response.status == "complete")).all()
        per_response = dict(session.execute(select(PageSubmission.response_id, func.count())
                                             .group_by(PageSubmission.response_id)).all())
    wrong = [rid for rid in complete_ids if per_response.get(rid) != pages]
    if wrong:
        problems.append(f"{len(wrong)} complete responses without exactly {pages} page submissions")
    return problems
