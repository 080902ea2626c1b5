"""Background jobs with real components: the jobs table on SQLite and PostgreSQL, huey on
its SQLite storage and on Redis (127.0.0.1:6379, a unique queue name per test), and real
`csi worker` processes, one of them killed with SIGKILL in the middle of a report."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

import questionnaires
from analysis.simulate import simulate_responses
from models import load_questionnaire
from models.storage import StorageError, bulk_insert_responses, create_wave, make_engine, register_questionnaire, upgrade
from models.storage import jobs as job_store
from models.storage.tables import Job, utcnow
from survey_app.jobs import Queue, enqueue, refresh_stale_analyses, run_job

REDIS_URL = "redis://127.0.0.1:6379/0"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def field_waves(url: str, n: int = 150, waves=(("2026Q3", 0.0, True), ("2026Q4", 0.25, False))):
    engine = make_engine(url)
    upgrade(engine)
    acsi = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        survey = register_questionnaire(session, acsi)
        for k, (name, shift, closed) in enumerate(waves):
            wave = create_wave(session, survey, name)
            wave.closed = closed
            session.commit()
            bulk_insert_responses(engine, survey, wave, simulate_responses(acsi, n, seed=10 + k, shift=shift))
    return engine


# --- the jobs table ---------------------------------------------------------------------------

def test_job_lifecycle_claims_once_retries_failed_and_requeues_abandoned(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    job_id, created = job_store.create_job(engine, "analysis", {"survey": "s", "wave": "w"}, dedupe_key="analysis:s/w")
    assert created
    assert job_store.create_job(engine, "analysis", {}, dedupe_key="analysis:s/w") == (job_id, False)
    assert job_store.claim_job(engine, job_id, "worker-a")
    assert not job_store.claim_job(engine, job_id, "worker-b")  # one worker runs a job
    job_store.set_progress(engine, job_id, 0.4, "fitting wave w")
    job = job_store.get_job(engine, job_id)
    assert (job.status, job.progress, job.message, job.attempts, job.worker) == ("running", 0.4, "fitting wave w", 1, "worker-a")
    with pytest.raises(StorageError, match="only a failed job can be retried"):
        job_store.retry_job(engine, job_id)
    job_store.fail_job(engine, job_id, "wave 'w' has 3 complete responses")
    assert job_store.get_job(engine, job_id).status == "failed"
    # Once failed, the key is free: a new request makes a new job.
    assert job_store.create_job(engine, "analysis", {}, dedupe_key="analysis:s/w")[1]
    job_store.retry_job(engine, job_id)
    job = job_store.get_job(engine, job_id)
    assert (job.status, job.error, job.progress) == ("queued", None, 0.0)
    assert job_store.claim_job(engine, job_id, "worker-b") and job_store.get_job(engine, job_id).attempts == 2
    # A heartbeat keeps it; silence past the lease returns it to the queue, exactly once.
    job_store.heartbeat(engine, [job_id], "worker-b")
    assert job_store.requeue_abandoned(engine, timedelta(seconds=30)) == []
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(seconds=60)))
    assert job_store.requeue_abandoned(engine, timedelta(seconds=30)) == [job_id]
    assert job_store.requeue_abandoned(engine, timedelta(seconds=30)) == []
    assert job_store.get_job(engine, job_id).status == "queued"
    job_store.claim_job(engine, job_id, "worker-c")
    job_store.finish_job(engine, job_id, {"n": 10})
    job = job_store.get_job(engine, job_id)
    assert (job.status, job.progress, job.output, job.finished_at is not None) == ("done", 1.0, {"n": 10}, True)
    engine.dispose()


def test_a_failing_job_records_its_error_and_runs_after_retry(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CSI_REPORTS_DIR", str(tmp_path / "reports"))
    engine = field_waves(sqlite_url, n=5, waves=(("2026Q4", 0.0, False),))
    queue = Queue(sqlite_url, name=f"t-{uuid.uuid4().hex[:8]}")
    job_id, _ = enqueue(engine, queue, "analysis", {"survey": "acsi-retail", "wave": "2026Q4", "n_boot": 20, "n_perm": 19})
    assert run_job(engine, job_id, "test")
    job = job_store.get_job(engine, job_id)
    assert job.status == "failed"
    assert job.error == "wave '2026Q4' has 5 complete responses; a model with 18 items needs more before it can be estimated"
    acsi = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        from models.storage import find_wave
        wave = find_wave(session, "acsi-retail", "2026Q4")
        bulk_insert_responses(engine, wave.questionnaire_version, wave, simulate_responses(acsi, 100, seed=3))
    retried = subprocess.run([sys.executable, "-m", "survey_app.cli", "jobs", "retry", str(job_id), "--database", sqlite_url],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, CSI_QUEUE_NAME=queue.name))
    assert retried.returncode == 0 and f"job {job_id} queued again" in retried.stdout, retried.stderr
    assert queue.pending() == 2  # the first message and the retry's; the first claim wins, the other finds it done
    assert run_job(engine, job_id, "test") and not run_job(engine, job_id, "test")
    job = job_store.get_job(engine, job_id)
    assert job.status == "done" and job.output["n"] == 105 and job.attempts == 2
    again = subprocess.run([sys.executable, "-m", "survey_app.cli", "jobs", "retry", str(job_id), "--database", sqlite_url],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stderr.strip() == f"error: job {job_id} is done; only a failed job can be retried"
    listed = subprocess.run([sys.executable, "-m", "survey_app.cli", "jobs", "list", "--database", sqlite_url],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and f"{job_id}  analysis  done" in listed.stdout
    engine.dispose()


def test_stale_analyses_are_queued_after_the_debounce_and_closed_current_ones_never(sqlite_url):
    engine = field_waves(sqlite_url, n=60)
    queue = Queue(sqlite_url, name=f"t-{uuid.uuid4().hex[:8]}")
    # Responses just arrived: within the debounce nothing is queued.
    assert refresh_stale_analyses(engine, queue, debounce=3600) == []
    queued = refresh_stale_analyses(engine, queue, debounce=0)
    assert len(queued) == 2
    assert refresh_stale_analyses(engine, queue, debounce=0) == []  # already queued: not twice
    for job_id in queued:
        assert run_job(engine, job_id, "test")
        assert job_store.get_job(engine, job_id).status == "done", job_store.get_job(engine, job_id).error
    assert refresh_stale_analyses(engine, queue, debounce=0) == []  # both current
    acsi = load_questionnaire(questionnaires.path("acsi_retail"))
    with Session(engine) as session:
        from models.storage import find_wave
        wave = find_wave(session, "acsi-retail", "2026Q4")
        bulk_insert_responses(engine, wave.questionnaire_version, wave, simulate_responses(acsi, 3, seed=4))
    again = refresh_stale_analyses(engine, queue, debounce=0)
    assert [job_store.get_job(engine, j).params["wave"] for j in again] == ["2026Q4"]  # the closed 2026Q3 is left alone
    engine.dispose()


# --- real workers -----------------------------------------------------------------------------

@pytest.fixture(params=["sqlite+sqlite-queue", "postgresql+redis-queue"])
def deployment(request, tmp_path):
    """(database URL, environment of its workers, the queue): the embedded default, and the
    scaled-out one (PostgreSQL and Redis)."""
    name = f"csi-test-{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, CSI_QUEUE_NAME=name, CSI_JOB_LEASE="2", CSI_ANALYSIS_CHECK="3600",
               CSI_INSTANCE_PATH=str(tmp_path / "instance"), CSI_REPORTS_DIR=str(tmp_path / "reports"))
    env.pop("CSI_REDIS_URL", None)
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
        yield url, env, Queue(url, name=name)
        return
    from tests.conftest import scratch_postgres
    with scratch_postgres() as url:
        env["CSI_REDIS_URL"] = REDIS_URL
        queue = Queue(url, REDIS_URL, name)
        yield url, env, queue
        queue.huey.flush()


def start_worker(url: str, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as handle:
        return subprocess.Popen([sys.executable, "-m", "survey_app.cli", "worker", "--database", url], env=env,
                                stdout=handle, stderr=handle)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_worker_writes_reports_and_exports(deployment, tmp_path):
    url, env, queue = deployment
    engine = field_waves(url, n=120)
    worker = start_worker(url, env, tmp_path / "worker.log")
    try:
        analysis_id, _ = enqueue(engine, queue, "analysis", {"survey": "acsi-retail", "wave": "2026Q4", "n_boot": 50,
                                                             "n_perm": 50})
        report_id, _ = enqueue(engine, queue, "report", {"survey": "acsi-retail", "wave": "2026Q4", "language": "zh-CN",
                                                         "pdf": True})
        export_id, _ = enqueue(engine, queue, "export", {"survey": "acsi-retail", "wave": "2026Q4", "format": "sav"})
        for job_id in (analysis_id, report_id, export_id):
            wait_for(lambda: job_store.get_job(engine, job_id).status in ("done", "failed"), 240,
                     f"job {job_id}; worker log:\n{(tmp_path / 'worker.log').read_text()[-3000:]}")
            assert job_store.get_job(engine, job_id).status == "done", job_store.get_job(engine, job_id).error
    finally:
        stop(worker)
    report = job_store.get_job(engine, report_id)
    html = Path(report.output["html"]).read_text(encoding="utf-8")
    assert Path(report.output["html"]).parent == tmp_path / "reports"
    assert "顾客满意度指数" in html and html.rstrip().endswith("</html>")
    pdf = Path(report.output["pdf"]).read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
    # The report used the stored analysis of 2026Q4 (50 resamples, its derived seed) rather than computing another.
    from analysis.stored import wave_seed
    assert str(wave_seed("acsi-retail", "2026Q4")) in html
    import pyreadstat
    frame, _ = pyreadstat.read_sav(job_store.get_job(engine, export_id).output["file"])
    assert len(frame) == 120
    assert worker.returncode == 0  # SIGINT: a graceful stop
    assert not list((tmp_path / "reports").glob(".*.part"))
    engine.dispose()


def test_a_worker_killed_mid_report_leaves_no_output_and_the_job_runs_again(deployment, tmp_path):
    url, env, queue = deployment
    engine = field_waves(url, n=300)
    log = tmp_path / "worker.log"
    first = start_worker(url, env, log)
    second = None
    try:
        job_id, _ = enqueue(engine, queue, "report", {"survey": "acsi-retail", "wave": "2026Q4", "n_boot": 3000,
                                                      "n_perm": 1000, "name": "killed"})
        wait_for(lambda: (job_store.get_job(engine, job_id).status == "running"
                          and job_store.get_job(engine, job_id).progress > 0.02), 240, f"the report to start\n{log.read_text()}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        job = job_store.get_job(engine, job_id)
        assert job.status == "running" and job.attempts == 1  # nobody got to record anything
        assert not (tmp_path / "reports" / "killed.html").exists()
        second = start_worker(url, env, log)
        wait_for(lambda: job_store.get_job(engine, job_id).status in ("done", "failed"), 300,
                 f"the report to be run again\n{log.read_text()[-3000:]}")
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
    job = job_store.get_job(engine, job_id)
    assert job.status == "done", job.error
    assert job.attempts == 2 and "its worker stopped" not in (job.message or "")
    html = (tmp_path / "reports" / "killed.html").read_text(encoding="utf-8")
    assert "Satisfaction index" in html and html.rstrip().endswith("</html>")
    assert "queued again" in log.read_text()
    engine.dispose()


def test_a_worker_stopped_by_sigterm_hands_its_running_job_back_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    name = f"csi-test-{uuid.uuid4().hex[:10]}"
    # A lease far longer than the test: only the stopping worker can have queued the job again.
    env = dict(os.environ, CSI_QUEUE_NAME=name, CSI_JOB_LEASE="3600", CSI_ANALYSIS_CHECK="3600",
               CSI_INSTANCE_PATH=str(tmp_path / "instance"), CSI_REPORTS_DIR=str(tmp_path / "reports"))
    env.pop("CSI_REDIS_URL", None)
    engine = field_waves(url, n=300)
    queue = Queue(url, name=name)
    log = tmp_path / "worker.log"
    first = start_worker(url, env, log)
    second = None
    try:
        job_id, _ = enqueue(engine, queue, "analysis", {"survey": "acsi-retail", "wave": "2026Q4", "n_boot": 3000,
                                                        "n_perm": 1000})
        wait_for(lambda: (job_store.get_job(engine, job_id).status == "running"
                          and job_store.get_job(engine, job_id).progress > 0.02), 240, f"the job to start\n{log.read_text()}")
        first.send_signal(signal.SIGTERM)
        wait_for(lambda: job_store.get_job(engine, job_id).status == "queued", 60, f"the job handed back\n{log.read_text()}")
        first.wait(120)
        second = start_worker(url, env, log)
        wait_for(lambda: job_store.get_job(engine, job_id).status == "done", 300, f"the job to be done\n{log.read_text()[-3000:]}")
    finally:
        for process in (first, second):
            if process is not None:
                stop(process)
    assert job_store.get_job(engine, job_id).attempts == 2
    engine.dispose()


@pytest.mark.parametrize("args, message", [
    (["jobs", "retry", "999"], "error: no job 999"),
    (["jobs", "list"], "there is no database at"),  # (the SQLite file does not exist: never created here)
    (["worker"], "is not at the current schema; run: csi init"),
    (["analyse", "--survey", "nope", "--wave", "2026Q4"], "there is no database at"),
])
def test_job_commands_fail_with_one_clear_sentence(tmp_path, args, message):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    if args[:2] == ["jobs", "retry"]:
        upgrade(make_engine(url))
    done = subprocess.run([sys.executable, "-m", "survey_app.cli", *args, "--database", url], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and message in done.stderr and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


def test_analyse_names_the_waves_of_an_unknown_one(sqlite_url):
    field_waves(sqlite_url, n=5, waves=(("2026Q4", 0.0, False),)).dispose()
    done = subprocess.run([sys.executable, "-m", "survey_app.cli", "analyse", "--survey", "acsi-retail", "--wave",
                           "1999Q1", "--database", sqlite_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: no wave '1999Q1' for questionnaire 'acsi-retail'; its waves: 2026Q4"


def test_jobs_list_line_leaves_out_unset_params():
    # Before: "compare=None" for an analysis without a comparison wave.
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from survey_app.cli import _job_line

    at = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
    job = SimpleNamespace(id=7, kind="analysis", status="done", progress=1.0, error=None, message="ok",
                          created_at=at, started_at=at, finished_at=at,
                          params={"survey": "acsi-retail", "wave": "2026Q4", "compare": None, "n_boot": 0,
                                  "folder": "/tmp/x"})
    assert _job_line(job) == "     7  analysis  done         2026-12-01 09:30:00  survey=acsi-retail wave=2026Q4 n_boot=0  ok"
