"""Many respondents at once against a real server on loopback (bounded in count and
time), and a small crash test: every acknowledged response is stored exactly once, with
exactly the answers sent. The full versions are bench/load_survey.py."""
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
