"""Importing responses collected elsewhere: 100,000 respondents x 30 rating items in one CSV
(codes, with "don't know" codes and English and Chinese labels sprinkled in, as exports of
other tools have them) into a wave, on SQLite and, when CSI_BENCH_POSTGRES_URL is set, on
PostgreSQL. Target: under 20 s each, end to end (read, check every cell, store). Also the
CPU an import spends counting its rows in three quotas (``imported_quota_counts``: which
complete rows each quota's condition holds for), median of 5.

    python bench/bench_import.py [--respondents N] [--items K] [--runs R]

Each figure is the median of R runs, each into a new database. CPU time is this process's
(on SQLite that includes the database's work); on PostgreSQL the server's share is the CPU
time its backend processes for this import's connections spent meanwhile (read from /proc,
so only when the server runs on this machine).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from models.importing import imported_quota_counts, plan_import, read_table  # noqa: E402
from models.importing import import_file  # noqa: E402
from models.questionnaire import parse_questionnaire  # noqa: E402
from models.storage import create_wave, make_engine, register_questionnaire, upgrade  # noqa: E402


def questionnaire_text(items: int) -> str:
    questions = "\n".join(f"      - {{id: q{k:02d}, type: rating, scale: ten, construct: c{k % 5}, text: Item {k}}}"
                          for k in range(items))
    return f"""\
id: bench-import
version: 1
default_language: en
languages: [en, zh-CN]
title: Import benchmark
scales:
  ten:
    min: 1
    max: 10
    labels:
      1: {{en: Very poor, zh-CN: 非常差}}
      10: {{en: Excellent, zh-CN: 非常好}}
    dont_know: {{code: 99, label: {{en: "Don't know", zh-CN: 不知道}}}}
pages:
  - id: p1
    questions:
{questions}
"""


def write_csv(path: Path, respondents: int, items: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 11, size=(respondents, items)).astype(object)
    codes[rng.random(codes.shape) < 0.02] = 99
    codes[rng.random(codes.shape) < 0.01] = "Excellent"
    codes[rng.random(codes.shape) < 0.01] = "非常差"
    codes[rng.random(codes.shape) < 0.03] = ""
    frame = pd.DataFrame(codes, columns=[f"q{k:02d}" for k in range(items)])
    frame.insert(0, "respondent", [f"R{k:07d}" for k in range(respondents)])
    frame.to_csv(path, index=False, encoding="utf-8")


def backend_cpu_seconds(pids: set[int]) -> float | None:
    """User + system CPU seconds of these PostgreSQL backends (None if /proc does not show them)."""
    total, seen = 0.0, False
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        seen = True
    return total if seen else None


def run(url: str, csv_path: Path, questionnaire) -> dict:
    engine = make_engine(url)
    backends: set[int] = set()
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def remember_backend(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])
    upgrade(engine)
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        create_wave(session, survey, "W1")
        session.commit()
    started = time.perf_counter()
    table = read_table(csv_path)
    read = time.perf_counter() - started
    plan = plan_import(table, questionnaire)
    checked = time.perf_counter() - started - read
    server = backend_cpu_seconds(backends)
    started, cpu = time.perf_counter(), time.process_time()
    result = import_file(engine, questionnaire.id, "W1", csv_path)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = backend_cpu_seconds(backends)
    server = None if after is None else after - (server or 0.0)
    assert not plan.problems and result.stored == len(table.frame), result.summary()
    with engine.connect() as connection:
        answers = connection.execute(text("SELECT count(*) FROM answers")).scalar()
    started = time.perf_counter()
    again = import_file(engine, questionnaire.id, "W1", csv_path)
    repeat = time.perf_counter() - started
    assert again.stored == 0
    checks = foreign_key_checks(engine) if engine.dialect.name == "postgresql" else None
    engine.dispose()
    return {"checks": checks, "stored": result.stored, "answers": answers, "read": read, "check": checked,
            "total": total, "cpu": cpu, "server": server, "again": repeat, "load": os.getloadavg()[0]}


def foreign_key_checks(engine) -> str:
    """How this role's PostgreSQL imports check foreign keys (models/storage/bulk_insert.py)."""
    from models.storage.bulk_insert import _per_row_checks_off

    with engine.connect() as connection:
        with connection.connection.dbapi_connection.cursor() as cursor:
            once = _per_row_checks_off(cursor) is not None
        connection.rollback()
    return "once per import" if once else "per row (the role may not set session_replication_role)"


def row(label: str, items: int, runs: list[dict]) -> str:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)
    server = f"{median('server'):.1f}" if all(r["server"] is not None for r in runs) else "–"
    loads = [r["load"] for r in runs]
    return (f"| {label} | {runs[0]['stored']:,} x {items} | {runs[0]['answers']:,} | {median('read'):.1f} | "
            f"{median('check'):.1f} | {median('total'):.1f} | {median('cpu'):.1f} | {server} | {median('again'):.1f} | "
            f"{min(loads):.0f}–{max(loads):.0f} |")


QUOTAS = """\
quotas:
  - {id: q00_top, when: "q00 >= 9", limit: 20000, text: Enough}
  - {id: q01_low, when: "q01 <= 3 and q02 <= 3", limit: 20000, text: Enough}
  - {id: q00_any, when: "q00 >= 1 or q03 >= 1", limit: 200000, text: Enough}
"""


def quota_counting(csv_path: Path, items: int) -> list[str]:
    """CPU seconds of counting the file's rows in three quotas over four items, median of 5."""
    questionnaire = parse_questionnaire(questionnaire_text(items) + QUOTAS, "bench.yaml")
    plan = plan_import(read_table(csv_path), questionnaire)
    seconds, counts = [], {}
    for _ in range(5):
        cpu = time.process_time()
        counts = imported_quota_counts(questionnaire, plan.answers, plan.statuses)
        seconds.append(time.process_time() - cpu)
    return [f"quota counting of {len(plan.answers):,} rows in 3 quotas: {statistics.median(seconds):.3f} s CPU "
            f"(median of 5; counts {counts})"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    questionnaire = parse_questionnaire(questionnaire_text(args.items), "bench.yaml")
    lines = ["| backend | respondents x items | answers stored | read (s) | check (s) | import end to end (s) | "
             "CPU, this process (s) | CPU, PostgreSQL server (s) | same file again (s) | load average |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "responses.csv"
        write_csv(csv_path, args.respondents, args.items)
        print(f"CSV: {csv_path.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        runs = []
        for k in range(args.runs):
            runs.append(run(f"sqlite:///{folder}/bench{k}.sqlite3", csv_path, questionnaire))
            print("SQLite", runs[-1], file=sys.stderr)
        lines.append(row("SQLite (file)", args.items, runs))
        quota_line = quota_counting(csv_path, args.items)
        base = os.environ.get("CSI_BENCH_POSTGRES_URL")
        if base:
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            runs = []
            for _ in range(args.runs):
                name = f"csi_bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    runs.append(run(base.rsplit("/", 1)[0] + "/" + name, csv_path, questionnaire))
                    print("PostgreSQL", runs[-1], file=sys.stderr)
                finally:
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            lines.append(row("PostgreSQL", args.items, runs))
            quota_line.append(f"PostgreSQL foreign keys checked: {runs[0]['checks']}")
    print("\n".join(lines + [""] + quota_line))


if __name__ == "__main__":
    main()
