"""The quarterly report of the demo's latest wave: from stored analyses vs from nothing.

    .venv/bin/python bench/bench_stored_report.py [--respondents 400] [--boot 1000] [--perm 1000] [--repeat 3]

Builds the demo database once (5 quarterly waves of each shipped questionnaire), then
times ``build_report`` + ``write_html`` of acsi-retail 2026Q4 (medians of ``--repeat``):

- before, cold: a new process computing the report in one go as before stored analyses
  (``build_report(seed=1)``: the series fitted together, nothing stored);
- from nothing, cold: a new process, nothing stored: imports, 5 wave analyses (each
  with ``--boot`` resamples, comparisons with ``--perm`` permutations, segments), the
  figures and the HTML (what the first report of a new installation costs);
- from stored, cold: a new process, every wave's analysis stored (``csi report``);
- from stored, warm: the same in a process that has made a report before (a worker,
  which lives on between jobs: what the console's report button costs).

Each run is a separate process so imports are counted where they happen.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURVEY, WAVE = "acsi-retail", "2026Q4"


def child(mode: str, url: str, out: str, n_boot: int, n_perm: int) -> None:
    started = time.perf_counter()
    from sqlalchemy import text

    from analysis.report import build_report
    from models.storage import make_engine

    engine = make_engine(url)
    imported = time.perf_counter() - started
    if mode == "nothing":
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM wave_analyses"))
    times = []
    for _ in range(2 if mode == "stored" else 1):
        start = time.perf_counter()
        if mode == "fresh":  # the report as it was made before stored analyses: all in one go, nothing kept
            report = build_report(engine, SURVEY, WAVE, n_boot=n_boot, n_perm=n_perm, seed=1)
        else:
            report = build_report(engine, SURVEY, WAVE, n_boot=n_boot, n_perm=n_perm)
        report.write_html(out)
        times.append(time.perf_counter() - start)
    print(json.dumps({"imports": imported, "first": times[0], "warm": times[-1] if len(times) > 1 else None}))


def run_child(mode: str, url: str, out: str, n_boot: int, n_perm: int) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--database", url, "--out", out,
                           "--boot", str(n_boot), "--perm", str(n_perm)], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    facts["process"] = wall
    return facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=400)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--perm", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--database")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database, args.out, args.boot, args.perm)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    os.environ["CSI_QUEUE_NAME"] = f"bench-{uuid.uuid4().hex[:8]}"
    sys.path.insert(0, str(ROOT))
    from models.storage import make_engine
    from survey_app.demo import run_demo
    from survey_app.jobs import run_job
    job_ids, _ = run_demo(url, args.respondents, 2026, echo=lambda message: None, reports=None, n_boot=args.boot,
                          n_perm=args.perm)
    run_job(make_engine(url), job_ids[0], "bench")  # the example responses; the analyses are the children's
    out = str(folder / "report.html")
    print(f"demo database {url}: {args.respondents} respondents x 5 waves x 2 questionnaires; "
          f"{args.boot} resamples, {args.perm} permutations; {os.cpu_count()} cores")
    fresh, nothing, stored = [], [], []
    for k in range(args.repeat):
        fresh.append(run_child("fresh", url, out, args.boot, args.perm))
        nothing.append(run_child("nothing", url, out, args.boot, args.perm))  # leaves every analysis stored
        stored.append(run_child("stored", url, out, args.boot, args.perm))
        print(f"  run {k + 1}: before (all in one go) {fresh[-1]['imports'] + fresh[-1]['first']:.2f} s, "
              f"from nothing {nothing[-1]['imports'] + nothing[-1]['first']:.2f} s, "
              f"from stored {stored[-1]['imports'] + stored[-1]['first']:.2f} s (imports {stored[-1]['imports']:.2f} s), "
              f"from stored in a warm process {stored[-1]['warm']:.2f} s")
    median = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    for name, rows in (("before: all in one go, new process", fresh), ("from nothing, new process", nothing),
                       ("from stored, new process", stored)):
        print(f"median {name}: {statistics.median(r['imports'] + r['first'] for r in rows):.2f} s "
              f"(imports {median(rows, 'imports'):.2f} s, report {median(rows, 'first'):.2f} s)")
    print(f"median from stored, warm process (a worker's second report): {median(stored, 'warm'):.2f} s")


if __name__ == "__main__":
    main()
