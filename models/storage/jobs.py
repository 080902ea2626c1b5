"""The ``jobs`` table: what each background job is, where it stands, and what it left.

The task queue (huey, ``survey_app.jobs``) carries only a job's id; everything a person
or a retry needs is here, in the database every web process and worker shares. Each
state change is one conditional UPDATE, so two workers never both run a job: the one
whose ``UPDATE ... WHERE status = 'queued'`` changed a row runs it.

A worker renews ``heartbeat_at`` of its running job every few seconds. A worker killed
mid-job (SIGKILL, power loss) stops renewing; once the heartbeat is older than the
lease, ``requeue_abandoned`` puts the job back to ``queued`` (one UPDATE per job, so
only one reaper wins) and the caller hands it to the queue again.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from .repository import StorageError
from .tables import Job, utcnow

STATUSES = ("queued", "running", "done", "failed")
ACTIVE = ("queued", "running")


def create_job(engine: Engine, kind: str, params: Mapping[str, Any], *, dedupe_key: str | None = None,
               created_by: str | None = None) -> tuple[int, bool]:
    """Record a new queued job; return (id, created).

    With ``dedupe_key``, an existing queued or running job with that key is returned
    instead (created False): pressing "recompute" twice computes once.
    """
    with Session(engine) as session:
        if dedupe_key is not None:
            existing = session.scalar(select(Job.id).where(Job.dedupe_key == dedupe_key, Job.status.in_(ACTIVE))
                                      .order_by(Job.id).limit(1))
            if existing is not None:
                return existing, False
        job = Job(kind=kind, params=dict(params), dedupe_key=dedupe_key, status="queued", progress=0.0, attempts=0,
                  created_at=utcnow(), created_by=created_by)
        session.add(job)
        session.commit()
        return job.id, True


def get_job(engine: Engine, job_id: int) -> Job | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Job, job_id)


def list_jobs(engine: Engine, limit: int = 50, status: str | None = None, kind: str | None = None) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(query))


def claim_job(engine: Engine, job_id: int, worker: str) -> bool:
    """Mark a queued job running on ``worker``; False if it is not queued (done, failed,
    or claimed by another worker), and then the caller must not run it."""
    now = utcnow()
    with engine.begin() as connection:
        changed = connection.execute(
            update(Job).where(Job.id == job_id, Job.status == "queued")
            .values(status="running", worker=worker[:100], started_at=now, heartbeat_at=now, finished_at=None,
                    error=None, progress=0.0, message="started", attempts=Job.attempts + 1)).rowcount
    return changed == 1


def heartbeat(engine: Engine, job_ids: Iterable[int], worker: str) -> None:
    ids = list(job_ids)
    if not ids:
        return
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id.in_(ids), Job.status == "running", Job.worker == worker[:100])
                           .values(heartbeat_at=utcnow()))


def set_progress(engine: Engine, job_id: int, fraction: float, message: str) -> None:
    fraction = min(1.0, max(0.0, float(fraction)))
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                           .values(progress=fraction, message=message[:500], heartbeat_at=utcnow()))


def finish_job(engine: Engine, job_id: int, output: Mapping[str, Any] | None, message: str = "done") -> None:
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                           .values(status="done", progress=1.0, message=message[:500], finished_at=utcnow(),
                                   output=dict(output) if output is not None else None, error=None))


def fail_job(engine: Engine, job_id: int, error: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id, Job.status == "running")
                           .values(status="failed", finished_at=utcnow(), error=error[:20000], message="failed"))


def retry_job(engine: Engine, job_id: int) -> Job:
    """Put a failed job back in the queue (the caller enqueues it); refuse any other state."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(Job).where(Job.id == job_id, Job.status == "failed")
            .values(status="queued", progress=0.0, message="queued again", error=None, finished_at=None,
                    started_at=None, heartbeat_at=None, worker=None)).rowcount
    job = get_job(engine, job_id)
    if job is None:
        raise StorageError(f"no job {job_id}")
    if not changed:
        raise StorageError(f"job {job_id} is {job.status}; only a failed job can be retried")
    return job


def release_job(engine: Engine, job_id: int, worker: str) -> bool:
    """Put ``worker``'s running job back to queued (the worker is stopping); True if it was."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(Job).where(Job.id == job_id, Job.status == "running", Job.worker == worker[:100])
            .values(status="queued", message="its worker stopped; queued again", worker=None,
                    heartbeat_at=None)).rowcount
    return changed == 1


def requeue_abandoned(engine: Engine, lease: timedelta, now: datetime | None = None) -> list[int]:
    """Put running jobs whose heartbeat is older than ``lease`` back to queued; return their ids.

    Each job changes in its own conditional UPDATE, so when several workers reap at once
    each job is returned to exactly one of them.
    """
    cutoff = (now or utcnow()) - lease
    with Session(engine) as session:
        candidates = list(session.scalars(select(Job.id).where(Job.status == "running", Job.heartbeat_at < cutoff)))
    requeued = []
    for job_id in candidates:
        with engine.begin() as connection:
            changed = connection.execute(
                update(Job).where(Job.id == job_id, Job.status == "running", Job.heartbeat_at < cutoff)
                .values(status="queued", message="its worker stopped; queued again", worker=None,
                        heartbeat_at=None)).rowcount
        if changed:
            requeued.append(job_id)
    return requeued


def queued_jobs(engine: Engine, older_than: timedelta | None = None) -> list[int]:
    """Ids of queued jobs (created before ``now - older_than``), oldest first."""
    query = select(Job.id).where(Job.status == "queued").order_by(Job.id)
    if older_than is not None:
        query = query.where(Job.created_at < utcnow() - older_than)
    with Session(engine) as session:
        return list(session.scalars(query))
