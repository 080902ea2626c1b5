"""A real app on a fresh database per test, and a scripted respondent that reads the
rendered pages (CSRF token, submission id, visible questions) like a browser would."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session

import questionnaires
from models import load_questionnaire
from models.answers import answer_type, is_missing
from models.storage import create_invitations
from survey_app.state import state_of
from tests.conftest import SHIPPED_COPIES, register_shipped


@pytest.fixture
def app(database_url):
    """The app on this test's database, the shipped questionnaires registered with an open
    wave 2026Q4 and a closed 2026Q3 (``database_url`` is then usually a copy of a template that
    already holds them: tests/conftest.py)."""
    from survey_app import create_app

    copy = database_url in SHIPPED_COPIES  # already migrated and registered
    app = create_app({"DATABASE_URL": database_url, "AUTO_MIGRATE": not copy, "TESTING": True,
                      "PROPAGATE_EXCEPTIONS": False})
    engine = state_of(app).engine
    if not copy:
        register_shipped(engine)
    yield app
    engine.dispose()


@pytest.fixture
def engine(app):
    return state_of(app).engine


@pytest.fixture
def invitations(app, engine):
    from models.storage import find_wave
    with Session(engine) as session:
        tokens = create_invitations(session, find_wave(session, "acsi-retail", "2026Q4"),
                                    [{"region": "north", "tier": "gold"}, {"region": "south", "tier": "basic"}])
        session.commit()
    return tokens


def https_client(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    return client


@pytest.fixture
def client(app):
    return https_client(app)


def default_answer(question):
    """What the scripted respondent posts when a test says nothing: the type's example answer."""
    entry = answer_type(question)
    return entry.shown(question, entry.example(question))


@dataclass
class Page:
    status: int
    text: str
    url: str
    csrf: str | None = None
    submission_id: str | None = None
    question_ids: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, response, url):
        text = response.get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text)
        sub = re.search(r'name="submission_id" type="hidden" value="([^"]*)"', text)
        # A question's block, or a row of a matrix (the matrix's own block holds no answer).
        ids = re.findall(r'<(?:div class="question(?! matrix)[^"]*"|fieldset class="grid-row[^"]*") '
                         r'id="q-([A-Za-z0-9_]+)"', text)
        # A page shown in answer to a post names its own address (the address bar shows it; the
        # form posts to it), as a browser sees it.
        address = (re.search(r'data-address="([^"]+)"', text)
                   or re.search(r'<form method="post" action="([^"]+/p/[0-9]+)"', text))
        return cls(response.status_code, text, address.group(1) if address else url, csrf and csrf.group(1),
                   sub and html.unescape(sub.group(1)), ids)

    def checked(self, qid: str) -> list[str]:
        return re.findall(rf'name="{qid}" value="([^"]*)" checked', self.text)


class Respondent:
    """Follows redirects by hand so tests can see every status code."""

    def __init__(self, client, questionnaire, answers=None):
        self.client = client
        self.questionnaire = questionnaire
        self.answers = answers or {}
        self.posted: dict[str, object] = {}

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        while response.status_code in (301, 302, 303):
            url = response.headers["Location"]
            response = self.client.get(url, **kwargs)
        return Page.parse(response, url)

    def post(self, url, data, follow=True):
        response = self.client.post(url, data=data)
        if follow and response.status_code in (302, 303):
            return self.get(response.headers["Location"])
        return Page.parse(response, url)

    def start(self, survey="acsi-retail", wave="2026Q4", **kwargs):
        intro = self.get(f"/s/{survey}/{wave}", **kwargs)
        assert intro.status == 200, intro.text
        return self.post(f"/s/{survey}/{wave}/start", {"csrf_token": intro.csrf})

    def page_data(self, page: Page, nav="next", overrides=None):
        data = {"csrf_token": page.csrf, "submission_id": page.submission_id, "nav": nav}
        for qid in page.question_ids:
            question = self.questionnaire.question(qid)
            value = (overrides or {}).get(qid, self.answers.get(qid, default_answer(question)))
            if value is None:
                continue
            data[qid] = value
            self.posted[qid] = value
        return data

    def answer(self, page: Page, nav="next", overrides=None):
        return self.post(page.url, self.page_data(page, nav, overrides))

    def advance_to(self, page: Page, question_id: str, limit=20):
        """Answer pages until the one that asks ``question_id``."""
        for _ in range(limit):
            if question_id in page.question_ids:
                return page
            assert page.status == 200 and "/done" not in page.url, (page.url, page.status)
            page = self.answer(page)
        raise AssertionError(f"never reached {question_id}")

    def finish(self, page: Page, limit=20):
        for _ in range(limit):
            if "/done" in page.url:
                return page
            assert page.status == 200, (page.url, page.status, page.text[:500])
            page = self.answer(page)
        raise AssertionError("did not finish")


def as_answer(question, value):
    """A posted form value or a wide-frame cell as the answer it stands for (for comparisons;
    None for no answer): read as the type reads a file's cell."""
    if is_missing(value):
        return None
    return answer_type(question).coerce(question, value)


def assert_row_matches(row, posted: dict, questionnaire) -> None:
    """The stored wide-frame ``row`` holds exactly the ``posted`` answers."""
    import pandas as pd
    stored = {qid: as_answer(questionnaire.question(qid), v) for qid, v in row.items() if not pd.isna(v)}
    sent = {qid: as_answer(questionnaire.question(qid), v) for qid, v in posted.items()}
    assert stored == sent


@pytest.fixture
def acsi():
    return load_questionnaire(questionnaires.path("acsi_retail"))


@pytest.fixture
def ccsi():
    return load_questionnaire(questionnaires.path("ccsi_mobile"))


@pytest.fixture
def live_server(app):
    """The app behind a real waitress server on a free loopback port."""
    import threading

    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8, ident="csi-test")
    stop = threading.Event()

    def serve():
        # waitress's own run() loops until its sockets are closed; closing them from this
        # (another) thread while it waits in select() ends it with EBADF. So the loop runs
        # here in short turns and the server is closed in its own thread.
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        server.close()
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://localhost:{server.effective_port}"
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def used(monkeypatch):
    """The English templates of survey_app.console_errors that matched a message, at any depth
    (a spy on the real Catalogue): each test of the Chinese texts shows none is dead."""
    from survey_app import console_errors
    found: set[str] = set()
    real = console_errors.Catalogue.__call__

    def spy(self, message):
        chinese = real(self, message)
        if chinese is not None:
            found.add(next(english for (pattern, _), english in zip(self.entries, self.pairs) if pattern.match(message)))
        return chinese
    monkeypatch.setattr(console_errors.Catalogue, "__call__", spy)
    return found


def registered_with_wave(engine, text: str, filename: str, wave: str = "W1"):
    """The questionnaire in ``text`` stored with one wave (for tests of a special questionnaire)."""
    from models.questionnaire import parse_questionnaire
    from models.storage import create_wave, register_questionnaire
    questionnaire = parse_questionnaire(text, filename)
    with Session(engine) as session:
        create_wave(session, register_questionnaire(session, questionnaire), wave)
        session.commit()
    return questionnaire


@pytest.fixture
def grid(app, engine):
    """The matrix test questionnaire (tests/matrix_questionnaire.py) with its wave W1."""
    from ..matrix_questionnaire import QUESTIONNAIRE
    return registered_with_wave(engine, QUESTIONNAIRE, "grid.yaml")
