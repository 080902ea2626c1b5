"""Many respondents at once against the real server on loopback (bounded in count and
time): every acknowledged response is stored exactly once, with exactly the answers sent."""
import html
import http.client
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.storage import load_wave_frame
from models.storage.tables import PageSubmission, Response

from .conftest import as_stored, default_answer

RESPONDENTS = 48
CONCURRENCY = 16
DEADLINE_SECONDS = 90


class Browser:
    """A minimal HTTP client with a cookie jar (one connection per request, like many phones)."""

    def __init__(self, base: str):
        parsed = urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        text = response.read().decode("utf-8")
        connection.close()
        return response.status, response.getheader("Location") or "", text

    def follow(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, str]:
        status, location, text = self.request(method, path, data)
        while status in (301, 302, 303):
            path = urlparse(location).path or location
            status, location, text = self.request("GET", path)
        return status, path, text


def form_of(text: str) -> tuple[str, str, list[str]]:
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text).group(1)
    sub = re.search(r'name="submission_id" type="hidden" value="([^"]*)"', text)
    ids = re.findall(r'<div class="question[^"]*" id="q-([A-Za-z0-9_]+)"', text)
    return csrf, html.unescape(sub.group(1)) if sub else "", ids


def respondent(base: str, questionnaire, number: int, deadline: float) -> dict | None:
    """Answer the survey; return {question: value} when the server acknowledged completion."""
    rng = random.Random(number)
    browser = Browser(base)
    status, path, text = browser.follow("GET", "/s/acsi-retail/2026Q4")
    csrf, _, _ = form_of(text)
    status, path, text = browser.follow("POST", "/s/acsi-retail/2026Q4/start", {"csrf_token": csrf})
    sent: dict[str, object] = {}
    abandoned = False
    while "/done" not in path and time.monotonic() < deadline:
        assert status == 200, (status, path, text[:300])
        csrf, submission_id, ids = form_of(text)
        data = {"csrf_token": csrf, "submission_id": submission_id, "nav": "next"}
        for qid in ids:
            question = questionnaire.question(qid)
            value = default_answer(question)
            if question.type == "rating":
                value = str(rng.randint(question.scale.minimum, question.scale.maximum))
            data[qid] = value
            sent[qid] = value
        if rng.random() < 0.2:
            browser.request("POST", path, data)   # a retry after a "network error": same submission id
        status, path, text = browser.follow("POST", path, data)
        if not abandoned and rng.random() < 0.1:
            abandoned = True                        # leave, come back later with the same cookie
            time.sleep(rng.random() * 0.2)
            status, path, text = browser.follow("GET", "/s/acsi-retail/2026Q4")
    return sent if "/done" in path else None


def test_concurrent_respondents_are_stored_exactly_once(live_server, engine, acsi):
    deadline = time.monotonic() + DEADLINE_SECONDS
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(pool.map(lambda n: respondent(live_server, acsi, n, deadline), range(RESPONDENTS)))
    acknowledged = [r for r in results if r is not None]
    assert len(acknowledged) == RESPONDENTS, "every respondent finished within the deadline"
    with Session(engine) as session:
        statuses = session.execute(select(Response.status, func.count()).group_by(Response.status)).all()
        submissions = session.scalar(select(func.count()).select_from(PageSubmission))
    assert dict(statuses) == {"complete": RESPONDENTS}
    assert submissions == RESPONDENTS * 7  # one per page: retries were recognised
    frame = load_wave_frame(engine, "acsi-retail", "2026Q4")

    def canonical(answers: dict) -> tuple:
        return tuple(sorted((qid, as_stored(acsi.question(qid), v)) for qid, v in answers.items()
                            if as_stored(acsi.question(qid), v) is not None))
    stored = [canonical(dict(row)) for _, row in frame.iterrows()]
    # Every acknowledged answer set is stored once, exactly as sent.
    assert sorted(stored) == sorted(canonical(a) for a in acknowledged)
