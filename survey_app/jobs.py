"""Background jobs on huey: the queue, the job kinds, and the worker.

The queue is huey (https://huey.readthedocs.io): ``SqliteHuey`` in a file beside the
SQLite database (or in the instance folder) when ``CSI_REDIS_URL`` is unset, so the
demo needs no other server; ``RedisHuey`` when it is set, so web processes and workers
on several machines share one queue. A queued message carries only a job id; the job
itself (kind, parameters, status, progress, error, output) is a row of the ``jobs``
table (``models.storage.jobs``), which the console and ``csi jobs`` read.

Job kinds register with ``@job_kind("name")``: a function of a ``JobContext`` that
returns the job's output (a JSON mapping: where the files are, what was computed).
E-mail, reminders and webhooks add their kinds the same way.

A worker killed mid-job (SIGKILL) loses the message huey had handed it, but not the
job: every worker renews the heartbeat of the jobs it runs and puts back in the queue
any running job whose heartbeat is older than the lease (``CSI_JOB_LEASE`` seconds,
default 60). Outputs are written to a temporary file and renamed into place, so a
killed job leaves no half-written report.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

from models.errors import CSIError
from models.storage import jobs as job_store
from models.storage.db import make_engine

log = logging.getLogger("csi.jobs")
TASK_NAME = "csi.run_job"
KINDS: dict[str, Callable[["JobContext"], Mapping[str, Any] | None]] = {}


def job_kind(name: str):
    """Register a job kind: ``fn(context) -> output mapping``."""
    def register(function):
        KINDS[name] = function
        return function
    return register


def instance_folder() -> Path:
    return Path(os.environ.get("CSI_INSTANCE_PATH", "instance"))


def reports_folder() -> Path:
    return Path(os.environ.get("CSI_REPORTS_DIR") or instance_folder() / "reports")


def lease() -> timedelta:
    return timedelta(seconds=float(os.environ.get("CSI_JOB_LEASE", "60")))


def queue_file(database_url: str) -> Path:
    """The SQLite queue's file: beside a SQLite database, else in the instance folder."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        database = Path(database_url[len("sqlite:///"):])
        return database.with_name(database.stem + "-queue.sqlite3")
    folder = instance_folder().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "csi-queue.sqlite3"


@dataclass
class Queue:
    """The huey instance of one database, with the task that runs a job registered."""

    database_url: str
    redis_url: str | None = None
    name: str = "csi"
    filename: str | None = None
    huey: Any = field(init=False, repr=False)

    def __post_init__(self):
        from huey import RedisHuey, SqliteHuey
        if self.redis_url:
            self.huey = RedisHuey(self.name, url=self.redis_url, results=False)
        else:
            self.filename = str(self.filename or queue_file(self.database_url))
            self.huey = SqliteHuey(self.name, filename=self.filename, results=False)
        self.task = self.huey.task(name=TASK_NAME)(_run_job_task)

    @property
    def backend(self) -> str:
        return "redis" if self.redis_url else "sqlite"

    def push(self, job_id: int) -> None:
        self.task(int(job_id))

    def pending(self) -> int:
        return self.huey.pending_count()


def queue_from_environment(database_url: str) -> Queue:
    """The queue ``csi worker`` and the other commands use: ``CSI_REDIS_URL``, ``CSI_QUEUE_NAME``
    (default "csi"), ``CSI_QUEUE_FILE`` (the SQLite queue's file, default ``queue_file``)."""
    return Queue(database_url, os.environ.get("CSI_REDIS_URL") or None, os.environ.get("CSI_QUEUE_NAME") or "csi",
                 os.environ.get("CSI_QUEUE_FILE") or None)


def queue_of_app(app) -> Queue:
    """The web app's queue (the same settings, read from the app's config: ``CSI_*`` variables
    or ``create_app``'s mapping), made on first use."""
    from .state import state_of
    state = state_of(app)
    if state.queue is None:
        config = app.config
        state.queue = Queue(state.url, config.get("REDIS_URL") or None, config.get("QUEUE_NAME") or "csi",
                            config.get("QUEUE_FILE") or None)
    return state.queue


def enqueue(engine, queue: Queue, kind: str, params: Mapping[str, Any], *, dedupe_key: str | None = None,
            created_by: str | None = None) -> tuple[int, bool]:
    """Record a job and queue it; return (job id, created). A job with the same
    ``dedupe_key`` still queued or running is returned instead of a new one."""
    if kind not in KINDS:
        raise CSIError(f"unknown job kind {kind!r}; kinds: {', '.join(sorted(KINDS))}")
    job_id, created = job_store.create_job(engine, kind, params, dedupe_key=dedupe_key, created_by=created_by)
    if created:
        try:
            queue.push(job_id)
        except Exception as exc:  # the queue is down: the job must not look queued forever
            job_store.claim_job(engine, job_id, "enqueue")
            job_store.fail_job(engine, job_id, f"could not queue the job: {exc.__class__.__name__}: {exc}")
            raise CSIError(f"the job queue is unavailable ({exc.__class__.__name__}: {exc})") from None
    return job_id, created


def retry(engine, queue: Queue, job_id: int) -> None:
    job_store.retry_job(engine, job_id)
    queue.push(job_id)


# --- running jobs -----------------------------------------------------------------------------

@dataclass
class JobContext:
    engine: Any
    job_id: int
    params: Mapping[str, Any]
    queue: Queue | None = None

    def progress(self, fraction: float, message: str) -> None:
        job_store.set_progress(self.engine, self.job_id, fraction, message)


class _Worker:
    """This process's worker state: its engine, its queue, the jobs it runs now."""

    def __init__(self, database_url: str, queue: Queue):
        self.database_url = database_url
        self.engine = make_engine(database_url)
        self.queue = queue
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.running: set[int] = set()
        self.lock = threading.Lock()


_WORKER: _Worker | None = None


def _run_job_task(job_id: int) -> None:
    """The huey task: run job ``job_id`` of this worker's database."""
    if _WORKER is None:
        raise RuntimeError("a job ran outside `csi worker` (no database configured for it)")
    run_job(_WORKER.engine, job_id, _WORKER.name, _WORKER.queue, _WORKER)


def run_job(engine, job_id: int, worker_name: str, queue: Queue | None = None, worker: _Worker | None = None) -> bool:
    """Claim and run one job; False when it was not queued (another worker has it, or it ended)."""
    if not job_store.claim_job(engine, job_id, worker_name):
        return False
    if worker is not None:
        with worker.lock:
            worker.running.add(job_id)
    job = job_store.get_job(engine, job_id)
    try:
        function = KINDS.get(job.kind)
        if function is None:
            raise CSIError(f"unknown job kind {job.kind!r} (written by a newer version?)")
        output = function(JobContext(engine, job_id, job.params or {}, queue))
        job_store.finish_job(engine, job_id, output)
    except CSIError as exc:
        job_store.fail_job(engine, job_id, str(exc))
    except Exception as exc:  # recorded for the console; the traceback goes to the worker's log
        log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
        job_store.fail_job(engine, job_id, f"{exc.__class__.__name__}: {exc}")
    finally:
        if worker is not None:
            with worker.lock:
                worker.running.discard(job_id)
    return True


def _maintenance(worker: _Worker, stop: threading.Event, parent_pid: int | None) -> None:
    """Heartbeats, reaping abandoned jobs, the debounced refresh of stale analyses, and the
    fieldwork that is due (scheduled e-mails, reminders, webhook deliveries; every
    ``CSI_FIELDWORK_CHECK`` seconds, default 10)."""
    every = max(0.2, lease().total_seconds() / 4)
    next_refresh = next_fieldwork = 0.0
    while not stop.is_set():
        try:
            with worker.lock:
                running = set(worker.running)
            job_store.heartbeat(worker.engine, running, worker.name)
            for job_id in job_store.requeue_abandoned(worker.engine, lease()):
                log.warning("job %s: its worker stopped; queued again", job_id)
                worker.queue.push(job_id)
            if time.monotonic() >= next_refresh:
                next_refresh = time.monotonic() + float(os.environ.get("CSI_ANALYSIS_CHECK", "60"))
                refresh_stale_analyses(worker.engine, worker.queue)
            if time.monotonic() >= next_fieldwork:
                next_fieldwork = time.monotonic() + float(os.environ.get("CSI_FIELDWORK_CHECK", "10"))
                from .fieldwork import enqueue_due_fieldwork
                enqueue_due_fieldwork(worker.engine, worker.queue)
        except Exception:  # a database hiccup must not end the worker's maintenance
            log.exception("worker maintenance failed; trying again")
        if parent_pid is not None and os.getppid() != parent_pid:
            # Started by `csi serve`, which has gone without stopping us (killed): stop too.
            os._exit(0)
        stop.wait(every)


def refresh_stale_analyses(engine, queue: Queue, debounce: float | None = None) -> list[int]:
    """Queue the analysis of every wave whose stored analysis is missing or out of date,
    once its responses have been quiet for ``debounce`` seconds (``CSI_ANALYSIS_DEBOUNCE``,
    default 300), so a wave in fieldwork is recomputed in batches, not per respondent.
    Closed waves with a current analysis are never touched."""
    from analysis.report import minimum_sample
    from analysis.stored import CODE_VERSION
    from models.storage.analyses import all_waves, data_version, load_stored_summaries, wave_record
    from models.storage.repository import questionnaire_of_wave
    from models.storage.tables import utcnow

    debounce = float(os.environ.get("CSI_ANALYSIS_DEBOUNCE", "300")) if debounce is None else debounce
    waves = all_waves(engine)
    ids = {(q, w): wave_record(engine, q, w)[0] for q, w, _ in waves}
    stored = load_stored_summaries(engine, list(ids.values()))
    queued, sizes = [], {}
    for questionnaire_id, wave, _closed in waves:
        row = stored.get(ids[(questionnaire_id, wave)])
        version = data_version(engine, questionnaire_id, wave)
        if row is not None and row.data_version == version.version and row.code_version == CODE_VERSION:
            continue
        if questionnaire_id not in sizes:
            sizes[questionnaire_id] = minimum_sample(questionnaire_of_wave(engine, questionnaire_id, wave).csi_model())
        if version.completed < sizes[questionnaire_id]:
            continue
        if version.last_change is not None and (utcnow() - version.last_change).total_seconds() < debounce:
            continue
        job_id, created = enqueue(engine, queue, "analysis", {"survey": questionnaire_id, "wave": wave},
                                  dedupe_key=f"analysis:{questionnaire_id}/{wave}", created_by="auto")
        if created:
            queued.append(job_id)
    return queued


def run_worker(database_url: str, *, threads: int = 1, nice: int = 0, parent_pid: int | None = None,
               queue: Queue | None = None) -> None:
    """Run a worker until SIGINT (finish the running jobs) or SIGTERM (stop now)."""
    global _WORKER
    if nice:
        os.nice(nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("huey").setLevel(logging.WARNING)
    # Import the analysis code before the threads start: two threads importing one package at
    # once can see it half-initialised (an ImportError in whichever comes second).
    import analysis.report  # noqa: F401
    import analysis.stored  # noqa: F401  (imported for its side effect: loaded before the threads)
    from analysis.second_process import warm_report_imports
    warm_report_imports()  # once here, not in every report's second process

    queue = queue or queue_from_environment(database_url)
    _WORKER = _Worker(database_url, queue)
    stop = threading.Event()
    thread = threading.Thread(target=_maintenance, args=(_WORKER, stop, parent_pid), name="csi-maintenance",
                              daemon=True)
    thread.start()
    consumer = queue.huey.create_consumer(workers=threads, worker_type="thread", periodic=False, max_delay=1.0,
                                          check_worker_health=True)
    log.info("worker %s: %s queue %r, database %s", _WORKER.name, queue.backend, queue.name, _safe_url(database_url))
    try:
        consumer.run()
    finally:
        stop.set()
        _release_running(_WORKER)


def _release_running(worker: _Worker) -> None:
    """On a stop that does not wait for the running jobs (SIGTERM), queue them again now
    rather than after the lease: another worker (or this one, restarted) runs them."""
    with worker.lock:
        running = set(worker.running)
    for job_id in running:
        try:
            if job_store.release_job(worker.engine, job_id, worker.name):
                worker.queue.push(job_id)
                log.warning("job %s: stopped before it finished; queued again", job_id)
        except Exception:  # the lease brings it back anyway
            log.exception("job %s: could not queue it again; it runs again when its lease ends", job_id)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def start_worker_process(database_url: str, *, nice: int = 10) -> Any:
    """A ``csi worker`` child process for ``csi serve``/``csi demo``: it runs at a lower CPU
    priority than the web server (respondents first) and stops when its parent does."""
    import subprocess
    command = [sys.executable, "-m", "survey_app.cli", "worker", "--nice", str(nice), "--parent-pid", str(os.getpid())]
    # The URL goes by environment, not argument: a password in it would show in `ps`.
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, env=dict(os.environ, CSI_DATABASE_URL=database_url))


def stop_worker_process(process) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except Exception:
        process.kill()
        process.wait()


# --- job kinds --------------------------------------------------------------------------------

def atomic_write(path: Path, write: Callable[[Path], Any]) -> Path:
    """``write(temporary)`` beside ``path``, then rename it into place: readers (and a
    retried job) see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


@job_kind("analysis")
def analysis_job(context: JobContext) -> dict:
    """Compute and store a wave's analysis (``analysis.stored``)."""
    from analysis.stored import compute_analysis, read_stored

    params = context.params
    n_boot, n_perm = int(params.get("n_boot", 1000)), int(params.get("n_perm", 1000))
    if params.get("keep_current"):
        stored = read_stored(context.engine, params["survey"], params["wave"])
        if stored is not None and (stored.n_boot, stored.n_perm) == (n_boot, n_perm) and stored.segments is not None:
            return {"survey": stored.questionnaire_id, "wave": stored.wave, "n": stored.n_used, "seed": stored.seed,
                    "n_boot": n_boot, "n_perm": n_perm, "data_version": stored.data_version, "kept": True}
    result = compute_analysis(context.engine, params["survey"], params["wave"], n_boot=n_boot, n_perm=n_perm,
                              on_progress=lambda message, fraction: context.progress(fraction, message))
    output = {"survey": result.questionnaire_id, "wave": result.wave, "n": result.n_used, "seed": result.seed,
              "n_boot": result.n_boot, "n_perm": result.n_perm, "data_version": result.data_version,
              "seconds": round(result.seconds, 2)}
    _announce_analysis(context.engine, output)
    return output


def _announce_analysis(engine, output: Mapping[str, Any]) -> None:
    """The ``analysis.ready`` webhook event: the wave's indices with their intervals."""
    from sqlalchemy.orm import Session

    from analysis.json_safe import json_ready
    from analysis.stored import read_stored
    from models.storage.webhooks import record_event

    stored = read_stored(engine, output["survey"], output["wave"])
    summary = json_ready(stored.summary()) if stored is not None else {}
    with Session(engine) as session:
        record_event(session, output["survey"], "analysis.ready",
                     {**output, "index": summary.get("index", []), "changes": summary.get("changes", [])})
        session.commit()


@job_kind("demo_responses")
def demo_responses_job(context: JobContext) -> dict:
    """`csi demo`'s simulated respondents, written while the survey is already served."""
    from .demo import field_example_responses

    return field_example_responses(context.engine, int(context.params["respondents"]), int(context.params["seed"]),
                                   progress=context.progress)


@job_kind("report")
def report_job(context: JobContext) -> dict:
    """The quarterly report (HTML, and PDF when asked) from stored analyses."""
    from analysis.report import build_report

    params = context.params
    survey, wave = params["survey"], params["wave"]
    steps = [0]

    def say(message: str) -> None:
        steps[0] += 1
        context.progress(min(0.85, 0.05 * steps[0]), message)
    built = build_report(context.engine, survey, wave, compare=params.get("compare"), language=params.get("language"),
                         n_boot=params.get("n_boot"), n_perm=params.get("n_perm"), on_progress=say)
    folder = Path(params.get("folder") or reports_folder()).resolve()
    stem = params.get("name") or f"{survey}-{wave}-{built.language}-job{context.job_id}"
    output = {"language": built.language}
    context.progress(0.9, "writing the HTML")
    output["html"] = str(atomic_write(folder / f"{stem}.html", built.write_html))
    if params.get("pdf"):
        context.progress(0.93, "printing the PDF")
        output["pdf"] = str(atomic_write(folder / f"{stem}.pdf", built.write_pdf))
    return output


@job_kind("export")
def export_job(context: JobContext) -> dict:
    """A wave's responses as CSV, Excel or SPSS, written beside the reports."""
    from models.exports import EXPORT_FORMATS, export_wave
    from models.storage.repository import questionnaire_of_wave

    params = context.params
    survey, wave = params["survey"], params["wave"]
    fmt, layout = params.get("format", "csv"), params.get("layout", "wide")
    if fmt not in EXPORT_FORMATS or layout not in ("wide", "long"):
        raise CSIError(f"export format {fmt!r} / layout {layout!r}: choose {', '.join(EXPORT_FORMATS)} and wide or long")
    context.progress(0.1, "reading the responses")
    questionnaire = questionnaire_of_wave(context.engine, survey, wave)
    data, _mimetype = export_wave(context.engine, questionnaire, wave, fmt, layout)
    folder = Path(params.get("folder") or reports_folder()).resolve()
    path = atomic_write(folder / f"{survey}-{wave}-{layout}-job{context.job_id}.{fmt}",
                        lambda target: target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8")))
    return {"file": str(path), "bytes": path.stat().st_size}


def imports_folder() -> Path:
    """Where the console keeps an uploaded import file until its job has read it."""
    return Path(os.environ.get("CSI_IMPORTS_DIR") or instance_folder() / "imports")


MAX_PROBLEMS_IN_JOB = 200  # a job's error is shown on its page; the CLI prints them all


@job_kind("import")
def import_job(context: JobContext) -> dict:
    """Responses collected by another tool into a wave (``models.importing``; ``csi import``).

    The uploaded file (and mapping) are deleted once the job has run, whatever the outcome;
    a worker killed mid-job leaves them for the job's next attempt."""
    from models.importing import DataImportError, import_file

    params = context.params
    path = Path(params["file"])
    mapping = Path(params["mapping"]) if params.get("mapping") else None
    try:
        if not path.is_file():
            raise CSIError(f"the uploaded file {params.get('name') or path.name} is gone; upload it again")
        context.progress(0.1, "checking every row")
        try:
            result = import_file(context.engine, params["survey"], params["wave"], path, mapping,
                                 skip_bad_rows=bool(params.get("skip_bad_rows")), name=params.get("name"),
                                 mapping_name=params.get("mapping_name"))
        except DataImportError as exc:
            shown = [str(p) for p in exc.problems[:MAX_PROBLEMS_IN_JOB]]
            more = len(exc.problems) - len(shown)
            raise CSIError(f"nothing was imported: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}\n"
                           + "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")) from None
    finally:
        for leftover in (path, mapping):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
    context.progress(1.0, result.summary())
    return {"stored": result.stored, "already_imported": result.already_imported, "rows": result.rows_read,
            "skipped_rows": result.skipped_rows, "encoding": result.encoding, "summary": result.summary(),
            "skipped": [str(p) for p in result.skipped[:MAX_PROBLEMS_IN_JOB]], "warnings": list(result.warnings),
            "over_quota": [str(over) for over in result.over_quota]}


# The fieldwork job kinds (e-mail rounds, webhook deliveries) register themselves here.
from . import fieldwork  # noqa: E402,F401
