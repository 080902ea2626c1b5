"""Loading a wave into a wide frame: 1,000,000 answers (about 29,000 responses x 34
questions of the ACSI retail questionnaire) from SQLite, and from PostgreSQL when
CSI_BENCH_POSTGRES_URL is set. Peer: pandas.read_sql of the same rows followed by
DataFrame.pivot, the glue people write today.

    python bench/bench_load_wave.py [--answers N]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from analysis.simulate import simulate_responses  # noqa: E402
from models import load_questionnaire  # noqa: E402
from models.storage import (bulk_insert_responses, create_wave, load_wave_frame, make_engine,  # noqa: E402
                            register_questionnaire, upgrade)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402


def fill(url: str, answers_wanted: int) -> tuple[int, float]:
    engine = make_engine(url)
    upgrade(engine)
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    per_response = len(questionnaire.questions) - 2  # show_if and optional text leave a few unanswered
    n = answers_wanted // per_response
    frame = simulate_responses(questionnaire, n, seed=1)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
        start = time.perf_counter()
        bulk_insert_responses(engine, survey, wave, frame)
        seconds = time.perf_counter() - start
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM answers")).scalar()
    return count, seconds


def peer(engine) -> pd.DataFrame:
    rows = pd.read_sql(text("SELECT a.response_id, a.question_id, a.value_num, a.value_text FROM answers a "
                            "JOIN responses r ON r.id = a.response_id JOIN waves w ON w.id = r.wave_id "
                            "WHERE w.name = '2026Q4' AND r.status = 'complete'"), engine)
    numeric = rows.pivot(index="response_id", columns="question_id", values="value_num")
    texts = rows.dropna(subset=["value_text"]).pivot(index="response_id", columns="question_id", values="value_text")
    return numeric.drop(columns=texts.columns).join(texts)


def measure(label: str, url: str, answers: int, repeats: int = 5) -> str:
    count, insert_seconds = fill(url, answers)
    engine = make_engine(url)
    ours, theirs = [], []
    for _ in range(repeats):  # interleaved against drift
        t = time.perf_counter(); frame = load_wave_frame(engine, "acsi-retail", "2026Q4"); ours.append(time.perf_counter() - t)
        t = time.perf_counter(); other = peer(engine); theirs.append(time.perf_counter() - t)
    assert frame.shape == other.shape, (frame.shape, other.shape)
    a, b = statistics.median(ours), statistics.median(theirs)
    return (f"| {label} | {count:,} answers, {frame.shape[0]:,} x {frame.shape[1]} | {a:.2f} s | {b:.2f} s "
            f"(read_sql + pivot) | {b / a:.1f}x | bulk insert {insert_seconds:.1f} s; of the load, leaving "
            f"stale answers out: {stale_filter_cpu(engine) * 1000:.0f} ms CPU |")


def stale_filter_cpu(engine, repeats: int = 5) -> float:
    """CPU seconds (median) of load_wave_frame's step that blanks stale answers, alone, on
    the wave's frame (the ACSI questionnaire's conditional complaint questions)."""
    import models.storage.repository as repository

    step = repository._drop_stale_answers
    calls = []
    repository._drop_stale_answers = lambda *args: calls.append(args)
    try:
        load_wave_frame(engine, "acsi-retail", "2026Q4")
    finally:
        repository._drop_stale_answers = step
    *args, frame = calls[0]
    times = []
    for _ in range(repeats):
        copy = frame.copy()
        start = time.process_time()
        step(*args, copy)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    answers = int(sys.argv[sys.argv.index("--answers") + 1]) if "--answers" in sys.argv else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(measure("SQLite (WAL)", f"sqlite:///{folder}/bench.sqlite3", answers))
    base = os.environ.get("CSI_BENCH_POSTGRES_URL")
    if base:
        name = f"csi_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            rows.append(measure("PostgreSQL 15 (loopback)", base.rsplit("/", 1)[0] + "/" + name, answers))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    print("| backend | size | load_wave_frame | peer | ratio | note |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
