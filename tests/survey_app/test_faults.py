"""Faults a survey server meets in production, under load on loopback: every answer the
server acknowledged is stored exactly once, with exactly the answers sent.

- PostgreSQL drops every connection of the server (what a database restart or a failover
  does to a connection pool), three times in the middle of a run;
- SQLite's disk fills up: respondents get the calm 503 page, nothing half-written stays,
  and once space is freed their retries are stored once.

The SIGKILL of the server itself is in test_concurrency.py, a read-only database in
test_outage.py.
"""
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from bench.load_survey import PAGES, Server, prepare
from bench.loadgen import Stats, respondent, verify
from models.storage import make_engine

DEADLINE_SECONDS = 180


def run_respondents(base, questionnaire, count, concurrency, stats):
    deadline = time.monotonic() + DEADLINE_SECONDS
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda n: respondent(base, questionnaire, "acsi-retail", "2026Q4", n, stats, deadline,
                                                  retry=0.2, abandon=0.0), range(count)))


def terminate_connections(url: str) -> int:
    """Ends every other connection to the database of ``url`` from the server side, as a
    restarting PostgreSQL does; returns how many it ended."""
    killer = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as connection:
            return len(connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all())
    finally:
        killer.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_dropping_every_connection_mid_run_loses_and_duplicates_nothing(database_url):
    engine, questionnaire = prepare(database_url)
    engine.dispose()
    server = Server(database_url, workers=2, threads=4)
    server.start()
    stats, ended = Stats(), []
    try:
        with ThreadPoolExecutor(1) as background:
            running = background.submit(run_respondents, server.base, questionnaire, 40, 10, stats)
            for threshold in (30, 60, 90):           # three times, well inside the run
                while stats.page_posts < threshold and not running.done():
                    time.sleep(0.02)
                ended.append(terminate_connections(database_url))
            results = running.result(timeout=DEADLINE_SECONDS)
    finally:
        server.stop()
    assert sum(ended) > 0, "the server held connections that were ended"
    acknowledged = [r for r in results if r is not None]
    assert len(acknowledged) == 40, "every respondent finished: the pool recovered after each drop"
    engine = make_engine(database_url)
    try:
        assert verify(engine, questionnaire, "acsi-retail", "2026Q4", acknowledged, PAGES) == []
    finally:
        engine.dispose()


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MiB tmpfs of its own (needs root, as in CI and on the development machines)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder) -> None:
    """Writes a ballast file until the file system is full (tmpfs allocates whole pages, so
    page-sized writes leave nothing free)."""
    with open(folder / "ballast", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_gives_503_and_the_retries_are_stored_once_when_space_is_freed(small_disk, sqlite_url):
    path = small_disk / "csi.sqlite3"
    shutil.copyfile(sqlite_url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine, questionnaire = prepare(url)
    engine.dispose()
    server = Server(url, workers=1, threads=4)
    server.start()
    stats = Stats()
    try:
        with ThreadPoolExecutor(1) as background:
            running = background.submit(run_respondents, server.base, questionnaire, 30, 6, stats)
            while stats.page_posts < 20:
                time.sleep(0.02)
            fill(small_disk)
            errors_before = stats.connection_errors
            full_since = time.monotonic()
            while stats.connection_errors < errors_before + 5 and time.monotonic() - full_since < 30:
                time.sleep(0.05)     # respondents meet the full disk (503s, retried by the client)
            refused = stats.connection_errors - errors_before
            (small_disk / "ballast").unlink()
            results = running.result(timeout=DEADLINE_SECONDS)
    finally:
        server.stop()
    assert refused >= 5, "posts were refused while the disk was full"
    acknowledged = [r for r in results if r is not None]
    assert len(acknowledged) == 30
    engine = make_engine(url)
    try:
        assert verify(engine, questionnaire, "acsi-retail", "2026Q4", acknowledged, PAGES) == []
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()
