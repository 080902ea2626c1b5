"""The survey dashboard's queries (``models.storage.dashboard.survey_dashboard``) on a wave
of N complete responses, each from an invitation (plus as many invitations never opened),
with 2% flagged for follow-up: the time a console page, an API call or ``csi dashboard``
spends gathering its data (estimates are read from the stored analysis, never computed).
SQLite, and PostgreSQL when CSI_BENCH_POSTGRES_URL is set.

    python bench/bench_dashboard.py [--responses N]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from analysis.simulate import simulate_responses  # noqa: E402
from models import load_questionnaire  # noqa: E402
from models.storage import bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade  # noqa: E402
from models.storage.dashboard import survey_dashboard  # noqa: E402
from models.storage.tables import Invitation, Response, utcnow  # noqa: E402
from sqlalchemy import bindparam, insert, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402


def fill(url: str, n: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    now = utcnow()
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        create_wave(session, survey, "2026Q3")
        wave = create_wave(session, survey, "2026Q4")
        session.commit()
        ends = [now - timedelta(minutes=30 * 24 * 60 * k / n) for k in range(n)]  # a month of fieldwork
        flags = [k % 50 == 0 for k in range(n)]
        contacts = [{"phone": "+86 138 0000 0000", "consent": True} if f else None for f in flags]
        ids = bulk_insert_responses(engine, survey, wave, simulate_responses(questionnaire, n, seed=1),
                                    completed_at=ends, follow_up=flags, contacts=contacts)
        with engine.begin() as connection:
            connection.execute(insert(Invitation), [{"wave_id": wave.id, "token_hash": uuid.uuid4().hex * 2,
                                                     "attributes": {"tier": "gold"}, "created_at": now}
                                                    for _ in range(2 * n)])
            invitations = list(connection.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)
                                                  .order_by(Invitation.id)))[:n]
            connection.execute(update(Response).where(Response.id == bindparam("rid"))
                               .values(invitation_id=bindparam("iid")),
                               [{"rid": r, "iid": i} for r, i in zip(ids, invitations)])
    engine.dispose()


def measure(label: str, url: str, n: int, repeats: int = 7) -> str:
    start = time.perf_counter()
    fill(url, n)
    filled = time.perf_counter() - start
    engine = make_engine(url)
    times = []
    with Session(engine) as session:
        for _ in range(repeats):
            t = time.perf_counter()
            data = survey_dashboard(session, "acsi-retail", "2026Q4", code_version="-", default_sla_hours=48)
            times.append(time.perf_counter() - t)
    engine.dispose()
    funnel = data["funnel"]
    assert (funnel["invited"], funnel["completed"]) == (2 * n, n), funnel
    assert sum(d["completed"] for d in data["completions_per_day"]) == n
    return (f"| {label} | {n:,} responses, {2 * n:,} invitations, {len(data['completions_per_day'])} days | "
            f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) "
            f"| fill {filled:.0f} s |")


def main() -> None:
    n = int(sys.argv[sys.argv.index("--responses") + 1]) if "--responses" in sys.argv else 20_000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(measure("SQLite (WAL)", f"sqlite:///{folder}/bench.sqlite3", n))
    base = os.environ.get("CSI_BENCH_POSTGRES_URL")
    if base:
        from models.storage.db import scratch_postgres_database
        with scratch_postgres_database(base, "csi_bench") as url:
            rows.append(measure("PostgreSQL", url, n))
    print("| backend | data | survey_dashboard() | |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
