"""Report-job and e-mail throughput with 1 and 2 `csi worker` processes (issue 16).

    .venv/bin/python bench/bench_workers.py [--respondents 400] [--workers 1,2] [--repeat 3]
    .venv/bin/python bench/bench_workers.py --kind mail [--waves 2] [--invitees 1000] [--workers 1,2] [--repeat 3]

Builds the demo database (5 quarterly waves of each shipped questionnaire) and stores the
analyses of 2026Q3 and 2026Q4 of both questionnaires (with their segments). Then, for each
worker count, starts that many ``csi worker`` processes (one thread each) on a queue of their
own, lets each finish one warm-up report (imports), clears the kept report figures and queues
8 report jobs (2 questionnaires x 2 waves x 2 languages), so every job reads its stored
analyses and draws its figures: what the console's report buttons cost after the analyses
changed. Times from the first job queued to the last one done (the ``jobs`` table), median of
``--repeat`` rounds per worker count, the rounds of the two counts interleaved.

``--kind mail``: a database of its own with the acsi-retail questionnaire; per round,
``--waves`` new open waves of ``--invitees`` e-mail invitees each (half English, half
Chinese; imported before the clock starts), the workers started with a real SMTP server on
loopback (aiosmtpd in this process, as the tests use; ``CSI_MAIL_RATE=0``: no pacing) and
warmed by one one-invitee round each, then one ``send_invitations`` job per wave queued and
timed from the first queued to the last done; every message must have reached the server.
A wave's invitations are one job, so a second worker can only help with several waves at once.
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

SECRET = "bench-secret-" + "k" * 32
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


class _Sink:
    """An aiosmtpd handler that counts the messages it accepts."""

    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _invitees(number: int, tag: str) -> list[dict]:
    return [{"email": f"{tag}-customer{i}@example.com", "language": "zh-CN" if i % 2 else "en", "name": f"C{i}"}
            for i in range(number)]


def mail_round(url: str, engine, sink: _Sink, port: int, workers: int, waves: int, invitees: int) -> float:
    """One round: ``waves`` new waves of ``invitees`` each sent by ``workers`` worker processes."""
    from sqlalchemy.orm import Session

    import questionnaires
    from models import load_questionnaire
    from models.storage import create_wave, register_questionnaire
    from models.storage.invitations import import_email_invitations
    from survey_app.jobs import Queue, enqueue
    name = f"bench-{uuid.uuid4().hex[:8]}"
    questionnaire = load_questionnaire(questionnaires.path("acsi_retail"))
    wave_ids = []
    with Session(engine) as session:
        survey = register_questionnaire(session, questionnaire)
        for k in range(workers + waves):  # the first ``workers`` waves: one invitee each, to warm the workers
            wave = create_wave(session, survey, f"{name}-{k}")
            import_email_invitations(session, wave, _invitees(1 if k < workers else invitees, f"{name}-{k}"), SECRET,
                                     languages=questionnaire.languages, default_language=questionnaire.default_language)
            session.flush()
            wave_ids.append(wave.id)
        session.commit()
    queue = Queue(url, name=name)
    env = dict(os.environ, CSI_QUEUE_NAME=name, CSI_SECRET_KEY=SECRET, CSI_SMTP_URL=f"smtp://127.0.0.1:{port}",
               CSI_MAIL_SENDER="survey@example.com", CSI_MAIL_RATE="0", CSI_BASE_URL="https://survey.example")
    processes = [subprocess.Popen([sys.executable, "-m", "survey_app.cli", "worker", "--database", url], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
    try:
        send = lambda ids: [enqueue(engine, queue, "send_invitations", {"wave_id": i})[0] for i in ids]  # noqa: E731
        wait_done(engine, send(wave_ids[:workers]))
        before = sink.count
        start = time.perf_counter()
        wait_done(engine, send(wave_ids[workers:]))
        elapsed = time.perf_counter() - start
        if sink.count - before != waves * invitees:
            raise SystemExit(f"the SMTP server received {sink.count - before} messages, not {waves * invitees}")
        return elapsed
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def mail_main(args, counts: list[int]) -> None:
    import socket

    from aiosmtpd.controller import Controller

    from models.storage import make_engine, upgrade
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-mail-"))
    url = f"sqlite:///{folder / 'mail.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    times: dict[int, list[float]] = {c: [] for c in counts}
    try:
        for k in range(args.repeat):
            for count in counts:
                times[count].append(mail_round(url, engine, sink, port, count, args.waves, args.invitees))
            print(f"  round {k + 1}: " + ", ".join(f"{c} worker(s) {times[c][-1]:.2f} s" for c in counts), flush=True)
    finally:
        controller.stop()
    total = args.waves * args.invitees
    print(f"\n{args.waves} waves x {args.invitees} invitations, one send_invitations job per wave; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"| workers | {total} messages (median) | messages per second |\n|---|---|---|")
    for count in counts:
        median = statistics.median(times[count])
        print(f"| {count} | {median:.2f} s | {total / median:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("reports", "mail"), default="reports")
    parser.add_argument("--respondents", type=int, default=400)
    parser.add_argument("--waves", type=int, default=2, help="--kind mail: waves sent at once")
    parser.add_argument("--invitees", type=int, default=1000, help="--kind mail: invitees per wave")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.kind == "mail":
        mail_main(args, [int(c) for c in args.workers.split(",")])
        return
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
