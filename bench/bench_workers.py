"""Report-job throughput with 1 and 2 `csi worker` processes (issue 16).

    .venv/bin/python bench/bench_workers.py [--respondents 400] [--workers 1,2] [--repeat 3]

Builds the demo database (5 quarterly waves of each shipped questionnaire) and stores the
analyses of 2026Q3 and 2026Q4 of both questionnaires (with their segments). Then, for each
worker count, starts that many ``csi worker`` processes (one thread each) on a queue of their
own, lets each finish one warm-up report (imports), clears the kept report figures and queues
8 report jobs (2 questionnaires x 2 waves x 2 languages), so every job reads its stored
analyses and draws its figures: what the console's report buttons cost after the analyses
changed. Times from the first job queued to the last one done (the ``jobs`` table), median of
``--repeat`` rounds per worker count, the rounds of the two counts interleaved.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPORTS = [(survey, wave, language) for survey in ("acsi-retail", "ccsi-mobile") for wave in ("2026Q3", "2026Q4")
           for language in ("en", "zh-CN")]


def wait_done(engine, job_ids: list[int], timeout: float = 1800) -> None:
    from sqlalchemy import select

    from models.storage.tables import Job
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            statuses = dict(connection.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).all())
        failed = [i for i, s in statuses.items() if s == "failed"]
        if failed:
            raise SystemExit(f"jobs {failed} failed")
        if all(statuses.get(i) == "done" for i in job_ids):
            return
        time.sleep(0.05)
    raise SystemExit(f"jobs {job_ids} not done after {timeout:.0f} s")


def round_with(url: str, engine, folder: Path, workers: int) -> float:
    from sqlalchemy import text

    from survey_app.jobs import Queue, enqueue
    name = f"bench-{uuid.uuid4().hex[:8]}"
    queue = Queue(url, name=name)
    env = dict(os.environ, CSI_QUEUE_NAME=name)
    processes = [subprocess.Popen([sys.executable, "-m", "survey_app.cli", "worker", "--database", url], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
    try:
        def queue_reports(tag: str, reports) -> list[int]:
            return [enqueue(engine, queue, "report", {"survey": s, "wave": w, "language": lang, "folder": str(folder),
                                                      "name": f"{tag}-{s}-{w}-{lang}"})[0] for s, w, lang in reports]
        wait_done(engine, queue_reports(f"warm-{name}", REPORTS[:workers]))
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM report_figures"))
        start = time.perf_counter()
        wait_done(engine, queue_reports(name, REPORTS))
        return time.perf_counter() - start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=400)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from analysis.report import build_report
    from models.storage import make_engine
    from survey_app.demo import run_demo
    from survey_app.jobs import run_job

    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    os.environ["CSI_QUEUE_NAME"] = f"bench-{uuid.uuid4().hex[:8]}"
    job_ids, _ = run_demo(url, args.respondents, 2026, echo=lambda message: None, reports=None)
    engine = make_engine(url)
    run_job(engine, job_ids[0], "bench")  # the example responses
    for survey, wave in dict.fromkeys((s, w) for s, w, _ in REPORTS):
        build_report(engine, survey, wave)  # stores the analyses (and segments) the jobs read
    counts = [int(c) for c in args.workers.split(",")]
    times: dict[int, list[float]] = {c: [] for c in counts}
    for k in range(args.repeat):
        for count in counts:
            times[count].append(round_with(url, engine, folder, count))
        print(f"  round {k + 1}: " + ", ".join(f"{c} worker(s) {times[c][-1]:.2f} s" for c in counts), flush=True)
    print(f"\n{len(REPORTS)} report jobs from stored analyses, figures drawn; load average {os.getloadavg()[0]:.1f}")
    print("| workers | 8 reports (median) | reports per minute |\n|---|---|---|")
    for count in counts:
        median = statistics.median(times[count])
        print(f"| {count} | {median:.2f} s | {60 * len(REPORTS) / median:.1f} |")


if __name__ == "__main__":
    main()
