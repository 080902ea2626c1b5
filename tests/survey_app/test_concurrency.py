"""Many respondents at once against a real server on loopback (bounded in count and
time), and a small crash test: every acknowledged response is stored exactly once, with
exactly the answers sent. The full versions are bench/load_survey.py."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.load_survey import PAGES, Server, prepare
from bench.loadgen import Stats, respondent, verify
from models.storage import make_engine

RESPONDENTS = 48
CONCURRENCY = 16
DEADLINE_SECONDS = 120


def run_respondents(base, questionnaire, count, concurrency, stats):
    deadline = time.monotonic() + DEADLINE_SECONDS
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda n: respondent(base, questionnaire, "acsi-retail", "2026Q4", n, stats, deadline,
                                                  retry=0.2, abandon=0.1), range(count)))


def test_concurrent_respondents_are_stored_exactly_once(live_server, engine, acsi):
    stats = Stats()
    results = run_respondents(live_server, acsi, RESPONDENTS, CONCURRENCY, stats)
    acknowledged = [r for r in results if r is not None]
    assert len(acknowledged) == RESPONDENTS, "every respondent finished within the deadline"
    assert stats.retries > 0
    assert verify(engine, acsi, "acsi-retail", "2026Q4", acknowledged, PAGES) == []


@pytest.fixture
def empty_database(database_url):
    # The crash test starts its own server on a fresh database (no app fixture).
    return database_url


def test_sigkill_mid_run_loses_and_duplicates_nothing(empty_database):
    engine, questionnaire = prepare(empty_database)
    server = Server(empty_database, workers=2, threads=4)
    server.start()
    stats = Stats()
    try:
        with ThreadPoolExecutor(1) as background:
            running = background.submit(run_respondents, server.base, questionnaire, 40, 10, stats)
            while stats.page_posts < 40:           # well into the run
                time.sleep(0.05)
            server.kill()                          # master and workers, no cleanup
            server.start()
            results = running.result(timeout=DEADLINE_SECONDS)
    finally:
        server.stop()
    acknowledged = [r for r in results if r is not None]
    assert len(acknowledged) == 40
    assert stats.connection_errors > 0, "the kill interrupted requests in flight"
    engine = make_engine(empty_database)
    assert verify(engine, questionnaire, "acsi-retail", "2026Q4", acknowledged, PAGES) == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    engine.dispose()


@pytest.mark.parametrize("same_submission", [True, False], ids=["one-form-sent-6-times", "6-tabs"])
def test_racing_posts_of_one_page_are_serialized(live_server, engine, acsi, same_submission):
    """Six posts of the same page by one respondent at the same instant (a retry storm, or six
    tabs): with one submission id it is stored once and every post gets page 2; with six, the
    page holds exactly one post's answers, never a mix, and no answer is stored twice."""
    import html
    import threading

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from bench.loadgen import ACTION, CSRF, SUBMISSION, Client
    from models.storage.tables import Answer, PageSubmission

    stats = Stats()
    first = Client(live_server, stats)
    _, _, intro = first.follow("GET", "/s/acsi-retail/2026Q4")
    status, path, text = first.follow("POST", "/s/acsi-retail/2026Q4/start", {"csrf_token": CSRF.search(intro).group(1)})
    assert status == 200 and path.endswith("/p/1")
    csrf, submission = CSRF.search(text).group(1), html.unescape(SUBMISSION.search(text).group(1))
    forms = []
    for n in range(6):
        data = {"csrf_token": csrf, "submission_id": submission if same_submission else f"{submission[:24]}tab{n:05d}",
                "nav": "next", "channel": ["store", "online"][n % 2], "categories": ["grocery", "clothing"][: 1 + n % 2],
                "visits_per_month": str(n + 1)}
        forms.append(data)
    clients = []
    for _ in forms:
        client = Client(live_server, stats)
        client.cookies = dict(first.cookies)
        clients.append(client)
    barrier = threading.Barrier(len(forms))
    results = [None] * len(forms)

    def post(i):
        barrier.wait()
        results[i] = clients[i].follow("POST", path, forms[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for status, where, text in results:
        assert status == 200 and where.endswith("/p/2"), (status, where, text[:300])
        assert ACTION.search(text).group(1).endswith("/p/2")
    with Session(engine) as session:
        submissions = session.scalar(select(func.count()).select_from(PageSubmission))
        stored = dict(session.execute(select(Answer.question_id, Answer.value_text)
                                      .where(Answer.question_id.in_(["channel", "categories"]))).all())
        visits = session.scalars(select(Answer.value_num).where(Answer.question_id == "visits_per_month")).all()
    assert submissions == (1 if same_submission else len(forms))
    assert len(visits) == 1, "one answer per question"
    winner = forms[int(visits[0]) - 1]
    assert stored["categories"] == json.dumps(winner["categories"]), "the page holds one post's answers, not a mix"
    assert stored["channel"] == winner["channel"]
