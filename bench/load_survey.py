"""Load test of the survey server on loopback (bounded; stops by itself).

    python bench/load_survey.py [--respondents 5000] [--concurrency 200] [--backends sqlite,postgresql]
                                [--workers 1,2] [--threads 2] [--seconds 300] [--kill-after S] [--think S]
                                [--prime 20] [--warmup 10] [--clients 2] [--cpu-per-process F]

For each backend x worker count: a fresh database with the ACSI retail questionnaire and
an open wave, `csi serve` started as a subprocess on 127.0.0.1, N simulated respondents
(bench/loadgen.py) with `concurrency` at a time, then the integrity check (every
acknowledged response stored exactly once with exactly the answers sent). Reports page
submissions stored per second (the server's write path; repeats of a post are not counted
twice) and latency percentiles. With --think 0 (the default) respondents post each page as
soon as they have it: the server's capacity. With --think S they spend S seconds on average
on each page, as people do, so the server sees a steady rate below its capacity: the
latency at that rate. Each new server first serves --prime respondents (20) outside the
figures, as a server that has been up for a while would have done.
PostgreSQL runs against CSI_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).

With --cpu-per-process F every server process is capped at F of a core (cgroup v1, root):
each run is then server-bound with cores to spare for the load generator and PostgreSQL,
so 1 against 2 processes shows how throughput scales with processes (bench/cpu_limit.py).

With --kill-after S the server's worker processes are SIGKILLed S seconds into the run
and the server is restarted (the crash test, also run small in the test suite).
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
import threading
import time
import uuid
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import questionnaires  # noqa: E402
from bench import cpu_limit  # noqa: E402
from bench.loadgen import Stats, respondent, verify  # noqa: E402
from models import load_questionnaire  # noqa: E402
from models.storage import create_wave, make_engine, register_questionnaire, upgrade  # noqa: E402
from models.storage.db import scratch_postgres_database  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

SURVEY, WAVE, PAGES = "acsi-retail", "2026Q4", 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str):
    engine = make_engine(url)
    upgrade(engine)
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        create_wave(session, register_questionnaire(session, questionnaire), WAVE)
        session.commit()
    return engine, questionnaire


class Server:
    """`csi serve` in a subprocess (its own process group, so a kill reaches the workers)."""

    def __init__(self, url: str, workers: int, threads: int):
        self.url, self.workers, self.threads = url, workers, threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "survey_app.cli", "serve", "--database", self.url, "--port", str(self.port),
             "--workers", str(self.workers), "--threads", str(self.threads)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers die without any cleanup."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_role(server_group: int | None) -> dict[str, float]:
    """CPU seconds so far of the server's processes (its process group), of PostgreSQL
    processes, and of this process (the load generator's parent; its client processes
    report their own), from /proc."""
    out = {"server": 0.0, "postgres": 0.0, "client": time.process_time()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                raw = handle.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
        if server_group is not None and int(fields[2]) == server_group:
            out["server"] += seconds
        elif name.startswith("postgres"):
            out["postgres"] += seconds
    return out


def stolen_seconds() -> float:
    """CPU seconds the hypervisor gave to other guests while this machine's processes were
    ready to run ("steal", all cores, /proc/stat): on a shared host this is what makes the
    same code slower at one hour than at another."""
    with open("/proc/stat") as handle:
        fields = handle.readline().split()
    return int(fields[8]) / TICKS


def stored_submissions(engine) -> int:
    from sqlalchemy import func, select

    from models.storage.tables import PageSubmission
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(PageSubmission))


def _client_process(base: str, numbers: range, concurrency: int, deadline: float, think: float):
    """One load-generating process: ``concurrency`` threads, one respondent each at a time.
    Returns (answers acknowledged or None per respondent, Stats as a dict, CPU seconds)."""
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    stats = Stats()
    cpu = time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(
            lambda n: respondent(base, questionnaire, SURVEY, WAVE, n, stats, deadline, think=think), numbers))
    return results, stats.to_dict(), time.process_time() - cpu


def prime(base: str, questionnaire, count: int, deadline: float) -> list[dict | None]:
    """``count`` respondents through the new server, 4 at a time and without think time,
    before the measured run: a server that has been up for a while has its statements
    prepared, its connections open, its page skeletons built and its code warm; one started
    a second ago does all that while the first 200 respondents wait. Their answers are
    checked with the rest; their requests are not in the figures."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda n: respondent(base, questionnaire, SURVEY, WAVE, n, Stats(), deadline),
                             range(-count, 0)))


def run(url: str, workers: int, threads: int, respondents: int, concurrency: int, seconds: float,
        kill_after: float | None = None, think: float = 0.0, clients: int = 2,
        warmup: float = 10.0, primed: int = 20, cpu_per_process: float | None = None) -> dict:
    engine, questionnaire = prepare(url)
    server = Server(url, workers, threads)
    server.start()
    capped = []
    if cpu_per_process:
        time.sleep(2)  # the worker processes start after the port answers
        capped = cpu_limit.cap(cpu_limit.processes_in_group(server.process.pid), cpu_per_process, "csi-bench")
    priming = prime(server.base, questionnaire, primed, time.monotonic() + seconds)
    stored_before = stored_submissions(engine)
    stats = Stats()
    deadline = time.monotonic() + seconds
    killed = []

    def killer():
        time.sleep(kill_after)
        server.kill()
        killed.append(time.monotonic())
        server.start()

    if kill_after is not None:
        threading.Thread(target=killer, daemon=True).start()
    started = time.perf_counter()
    cpu_before = cpu_by_role(server.process.pid)
    stolen_before = stolen_seconds()
    # The respondents are spread over ``clients`` processes: 200 threads in one interpreter
    # queue for its lock, and that wait would be counted as the server's latency.
    client_cpu = 0.0
    try:
        with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = [pool.submit(_client_process, server.base, range(k, respondents, clients),
                                 max(1, concurrency // clients), deadline, think) for k in range(clients)]
            by_number = {}
            for k, part in enumerate(parts):
                results_k, stats_k, cpu_k = part.result()
                by_number.update(zip(range(k, respondents, clients), results_k))
                stats.merge(stats_k)
                client_cpu += cpu_k
        results = [by_number[n] for n in range(respondents)]
        elapsed = time.perf_counter() - started
        cpu_after = cpu_by_role(server.process.pid)
        stolen = stolen_seconds() - stolen_before
        cpu_after["client"] += client_cpu
    finally:
        server.stop()
        cpu_limit.release(capped)
    # Throughput counts page submissions stored (each exactly once, whatever was re-sent): the
    # server's write path, one per page a respondent moved on from. CPU is per stored submission
    # (granian worker processes are in the server's process group; a killed server's are not counted).
    stored = stored_submissions(engine) - stored_before
    cpu = {role: (cpu_after[role] - cpu_before[role]) / max(stored, 1) * 1000 for role in cpu_after}
    acknowledged = [r for r in results if r is not None]
    problems = verify(engine, questionnaire, SURVEY, WAVE, acknowledged + [r for r in priming if r is not None], PAGES)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            check = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
        if check != "ok":
            problems.append(f"SQLite integrity_check: {check}")
    engine.dispose()

    def pct(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 100 else float("nan")

    # The steady part of the run: without its first and last ``warmup`` seconds, when the
    # respondents arrive (all 200 within about a think time) and when the last ones finish.
    times = [e[0] for e in stats.events] or [0.0]
    first, last = min(times), max(times)
    steady = [e for e in stats.events if first + warmup <= e[0] <= last - warmup and e[1] == "POST page"]
    steady_seconds = max(last - first - 2 * warmup, 1e-9)
    return {"acknowledged": len(acknowledged), "respondents": respondents, "seconds": elapsed,
            "submissions_per_s": stored / elapsed,
            "respondents_per_s": len(acknowledged) / elapsed,
            "post_p50": pct(stats.latencies["POST"], 50), "post_p99": pct(stats.latencies["POST"], 99),
            "get_p50": pct(stats.latencies["GET"], 50), "get_p99": pct(stats.latencies["GET"], 99),
            "by_kind": {kind: (len(v), pct(v, 50), pct(v, 99)) for kind, v in sorted(stats.by_kind.items())},
            "steady_page_posts_per_s": len(steady) / steady_seconds,
            "steady_post_p50": pct([e[2] for e in steady], 50), "steady_post_p99": pct([e[2] for e in steady], 99),
            "retries": stats.retries, "connection_errors": stats.connection_errors, "killed": bool(killed),
            "cpu_ms": cpu, "stolen_share": stolen / (elapsed * (os.cpu_count() or 1)),
            "problems": problems}


def database(backend: str, folder: str, stack: ExitStack) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder}/load-{uuid.uuid4().hex[:6]}.sqlite3"
    base = os.environ.get("CSI_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return stack.enter_context(scratch_postgres_database(base, "csi_load"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds left out at each end of the run for the steady-state page-post latency")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--prime", type=int, default=20,
                        help="respondents sent through the new server before the measured run (0: a cold server)")
    parser.add_argument("--kill-after", type=float, default=None)
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a respondent spends on a page before posting it (0: at once)")
    parser.add_argument("--cpu-per-process", type=float, default=None,
                        help="cap each server process at this share of a core (cgroup v1; needs root)")
    args = parser.parse_args()
    if args.cpu_per_process and not cpu_limit.available():
        parser.error("--cpu-per-process needs a writable cgroup v1 cpu controller at /sys/fs/cgroup/cpu (root)")
    print(f"{args.respondents} respondents x {PAGES} pages, {args.concurrency} at a time, {args.threads} threads per "
          f"server process, client and server on the same 2 cores"
          + (f", {args.think} s mean think time per page" if args.think else ", no think time")
          + (f"; server SIGKILLed after {args.kill_after} s and restarted" if args.kill_after else "")
          + (f"; each server process capped at {args.cpu_per_process} of a core" if args.cpu_per_process else "")
          + (f"; each server primed with {args.prime} respondents before the clock starts" if args.prime else ""))
    print("\n| backend | processes | stored page submissions/s | respondents/s | POST p50 / p99 | GET p50 / p99 | "
          "acknowledged | retries sent | connection errors | CPU ms per submission: server / PostgreSQL / client | "
          "CPU stolen by the host | integrity |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    kinds, steadies = [], []
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends.split(","):
            for workers in map(int, args.workers.split(",")):
                with ExitStack() as stack:
                    url = database(backend, folder, stack)
                    r = run(url, workers, args.threads, args.respondents, args.concurrency, args.seconds, args.kill_after,
                            args.think, args.clients, warmup=args.warmup, primed=args.prime,
                            cpu_per_process=args.cpu_per_process)
                print(f"| {backend} | {workers} | {r['submissions_per_s']:.0f} | {r['respondents_per_s']:.1f} | "
                      f"{r['post_p50']:.0f} / {r['post_p99']:.0f} ms | {r['get_p50']:.0f} / {r['get_p99']:.0f} ms | "
                      f"{r['acknowledged']}/{r['respondents']} | {r['retries']} | {r['connection_errors']} | "
                      f"{r['cpu_ms']['server']:.1f} / {r['cpu_ms']['postgres']:.1f} / {r['cpu_ms']['client']:.1f} | "
                      f"{r['stolen_share']:.1%} | "
                      f"{'ok' if not r['problems'] else '; '.join(r['problems'])} |", flush=True)
                kinds.append((backend, workers, r["by_kind"]))
                steadies.append((backend, workers, r))
    print(f"\nSteady state (without the first and last {args.warmup:.0f} s of each run): page posts answered/s "
          f"(repeats included), page-post p50 / p99:\n")
    for backend, workers, r in steadies:
        print(f"- {backend}, {workers} process{'es' if workers > 1 else ''}: {r['steady_page_posts_per_s']:.0f}/s, "
              f"{r['steady_post_p50']:.0f} / {r['steady_post_p99']:.0f} ms")
    print("\nLatency by kind of request, p50 / p99 (count):\n")
    for backend, workers, by_kind in kinds:
        print(f"- {backend}, {workers} process{'es' if workers > 1 else ''}: " + "; ".join(
            f"{kind} {p50:.0f} / {p99:.0f} ms ({n})" for kind, (n, p50, p99) in by_kind.items()))


if __name__ == "__main__":
    main()
