"""How soon `csi demo` serves the survey on a fresh machine, and when its background
analyses and reports are done.

    .venv/bin/python bench/bench_demo_start.py [--repeat 3] [--boot 1000] [--perm 1000]

Each run starts `csi demo` in a new empty folder (new SQLite database, new queue) exactly
as the README says, and times from the start of the process to the first 200 of the
public survey page, then to the last of its jobs (5 wave analyses per questionnaire and
4 reports) being done.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return 0


def one_run(n_boot: int, n_perm: int) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    from models.storage import make_engine
    from models.storage import jobs as job_store

    folder = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    port = free_port()
    env = dict(os.environ)
    env.pop("CSI_DATABASE_URL", None)
    env.pop("CSI_REDIS_URL", None)
    started = time.perf_counter()
    demo = subprocess.Popen([sys.executable, "-m", "survey_app.cli", "demo", "--port", str(port), "--boot", str(n_boot),
                             "--perm", str(n_perm)], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while status(f"http://127.0.0.1:{port}/s/acsi-retail/2026Q4") != 200:
            time.sleep(0.1)
        serving = time.perf_counter() - started
        engine = make_engine(f"sqlite:///{folder / 'instance' / 'csi.sqlite3'}")
        while True:
            jobs = job_store.list_jobs(engine, limit=100)
            if jobs and all(j.status in ("done", "failed") for j in jobs):
                break
            time.sleep(0.5)
        finished = time.perf_counter() - started
        failed = [j.id for j in jobs if j.status == "failed"]
        if failed:
            raise SystemExit(f"jobs failed: {failed}")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    return serving, finished


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--perm", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    for k in range(args.repeat):
        rows.append(one_run(args.boot, args.perm))
        print(f"run {k + 1}: survey served after {rows[-1][0]:.1f} s; analyses and reports done after {rows[-1][1]:.1f} s")
    print(f"median: served after {statistics.median(r[0] for r in rows):.1f} s; "
          f"all jobs done after {statistics.median(r[1] for r in rows):.1f} s ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
