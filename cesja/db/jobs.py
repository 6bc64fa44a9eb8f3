"""Background work kept in the database: enqueued in the same transaction as its cause.

A job is leased by one worker at a time (row locks with SKIP LOCKED on PostgreSQL; SQLite's
single writer serialises claims). A worker that dies leaves its lease to run out, and the job
runs again: handlers are idempotent. Workers on several machines share one database.

The database away for a moment (a restart) ends no worker: a job it interrupts is given back
without counting the attempt, and a job's end is written again until the database takes it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import Engine, case, delete, or_
from sqlmodel import Session, col, select

from cesja.db import read_only
from cesja.db.models import JobRow, utcnow
from cesja.errors import database_said, database_unavailable
from cesja.observe import logs, metrics

log = logging.getLogger("cesja.jobs")

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# While the database is away, a job's end is written again after these waits, then every
# last one, until it goes through or the worker is stopped (and RECORD_AFTER_STOP_SECONDS pass).
RECORD_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Stopped meanwhile, a worker still tries this long: a SQLite file locked by another process's
# write for longer than the lock wait is free again a moment later, and the job's end is then
# recorded rather than left leased until the next start. Under the supervisor's grace before
# it ends a busy worker (20 s), which frees the lease itself.
RECORD_AFTER_STOP_SECONDS = 10.0
# A job the database's absence interrupted runs again this soon, the attempt not counted.
INTERRUPTED_RETRY = timedelta(seconds=2)


class Flag(Protocol):
    """What workers wait on and what others set: a `threading.Event` between threads, or a
    `multiprocessing` Event shared with worker processes."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def clear(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class JobKind:
    """How one kind of job runs: its lease, how often it is retried, how long between, and
    how long one run may take before the process running it is ended."""

    name: str
    lease: timedelta
    max_attempts: int
    retry_after: Callable[[int], timedelta]
    time_limit: timedelta = timedelta(minutes=5)
    # Due jobs of a kind with a lower number are taken first: a ready case's notice does not
    # wait behind the pages of a 200-page batch received before it.
    priority: int = 1


def enqueue(session: Session, kind: str, ref: str, *, run_at: datetime | None = None) -> JobRow:
    job = JobRow(kind=kind, ref=ref, run_at=run_at or utcnow())
    session.add(job)
    return job


def claim(engine: Engine, kinds: dict[str, JobKind], *, worker: str = WORKER_ID) -> JobRow | None:
    """Lease the oldest due job of these kinds, or None when there is nothing to do.

    Whether there is anything to do is asked in a reading transaction first: an idle worker
    looking twice a second never takes SQLite's write lock from the API's writers."""
    now = utcnow()
    first = [name for name, kind in kinds.items() if kind.priority < 1]
    stmt = (
        select(JobRow)
        .where(col(JobRow.done_at).is_(None))
        .where(col(JobRow.kind).in_(list(kinds)))
        .where(JobRow.run_at <= now)
        .where(or_(col(JobRow.leased_until).is_(None), col(JobRow.leased_until) < now))
        .order_by(
            case((col(JobRow.kind).in_(first), 0), else_=1),
            col(JobRow.run_at),
            col(JobRow.id),
        )
        .limit(1)
    )
    with Session(read_only(engine)) as session:
        if session.exec(stmt).first() is None:
            return None
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        job = session.exec(stmt).first()
        if job is None:
            session.rollback()
            return None
        job.leased_until = now + kinds[job.kind].lease
        job.leased_by = worker
        job.attempts += 1
        session.add(job)
        session.commit()
        return job


def finish(engine: Engine, job: JobRow) -> None:
    with Session(engine) as session:
        finish_in(session, job.id)
        session.commit()


def finish_in(session: Session, job_id: int | None) -> None:
    """Mark a job done in the caller's transaction: a handler whose effect must not happen
    twice (a webhook attempt scheduling the next) ends its job in the same commit, so a
    worker dying right after it cannot run the job once more."""
    if job_id is None:
        return
    row = session.get(JobRow, job_id)
    if row is not None and row.done_at is None:
        row.done_at = utcnow()
        row.leased_until = None
        session.add(row)


def fail(engine: Engine, job: JobRow, kind: JobKind, error: str) -> bool:
    """Record a failed attempt; schedule the next one, or give up. True if it will run again."""
    with Session(engine) as session:
        row = session.get(JobRow, job.id)
        if row is None:
            return False
        row.last_error = error[:2000]
        row.leased_until = None
        retry = row.attempts < kind.max_attempts
        if retry:
            row.run_at = utcnow() + kind.retry_after(row.attempts)
        else:
            row.done_at = row.given_up_at = utcnow()
        session.add(row)
        session.commit()
    if not retry:
        log.error(
            "job %s %s given up after %d attempt(s): %s", job.kind, job.ref, job.attempts, error
        )
        metrics.job_given_up(job.kind)
    return retry


# Called once a job will not run again, with why: what was waiting for it is told.
GiveUp = Callable[[JobRow, str], None]


def give_up(
    engine: Engine,
    job_id: int,
    error: str,
    on_give_up: dict[str, GiveUp],
    *,
    leased_by: str | None = None,
) -> bool:
    """End a job for good, with why, and tell what waited for it; False when it had ended
    already (or, given `leased_by`, is no longer that process's)."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(JobRow, job_id)
        if row is None or row.done_at is not None:
            return False
        if leased_by is not None and row.leased_by != leased_by:
            return False
        row.done_at = row.given_up_at = utcnow()
        row.leased_until = None
        row.last_error = error[:2000]
        session.add(row)
        session.commit()
    log.error("job %s %s given up: %s", row.kind, row.ref, error)
    metrics.job_given_up(row.kind)
    _tell_given_up(on_give_up, row, error)
    return True


def _tell_given_up(on_give_up: dict[str, GiveUp], job: JobRow, error: str) -> None:
    handler = on_give_up.get(job.kind)
    if handler is None:
        return
    try:
        handler(job, error)
    except Exception:
        log.exception("could not record that job %s %s was given up", job.kind, job.ref)


def note_error(engine: Engine, job_id: int, error: str) -> None:
    """Keep why a run of a job ended without it saying so (its process died): the next
    give-up tells it."""
    with Session(engine) as session:
        row = session.get(JobRow, job_id)
        if row is not None and row.done_at is None:
            row.last_error = error[:2000]
            session.add(row)
            session.commit()


def worker_name(pid: int) -> str:
    """The `leased_by` of the jobs process `pid` of this host runs."""
    return f"{socket.gethostname()}:{pid}"


PURGE_JOBS = "purge_jobs"
# Rows deleted a transaction at a time while purging: writers wait for none of them long.
PURGE_BATCH = 500


def purge(engine: Engine, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the jobs that ended more than `older_than` ago; how many. What a job did stays
    where it did it (a page's reading, a notice's attempts); the queue keeps only its work."""
    cutoff = (now or utcnow()) - older_than
    purged = 0
    while True:
        with Session(engine) as session:
            ids = list(
                session.exec(
                    select(JobRow.id)
                    .where(col(JobRow.done_at).is_not(None))
                    .where(col(JobRow.done_at) < cutoff)
                    .limit(PURGE_BATCH)
                )
            )
            if not ids:
                return purged
            session.connection().execute(delete(JobRow).where(col(JobRow.id).in_(ids)))
            session.commit()
        purged += len(ids)


def release(engine: Engine, job: JobRow, error: str) -> None:
    """Give an interrupted job back without counting the attempt: the database went away
    under it, which says nothing about the job, so it runs again soon and is never given up
    for it."""
    with Session(engine) as session:
        row = session.get(JobRow, job.id)
        if row is None or row.done_at is not None:
            return
        row.last_error = error[:2000]
        row.leased_until = None
        row.leased_by = None
        row.attempts = max(0, row.attempts - 1)
        row.run_at = utcnow() + INTERRUPTED_RETRY
        session.add(row)
        session.commit()


def release_dead_leases(engine: Engine) -> int:
    """Free leases held by earlier processes of this host (a crash or a kill), so their jobs
    run at once after a restart instead of after the lease runs out."""
    host = socket.gethostname()
    freed = 0
    with Session(engine) as session:
        for job in session.exec(
            select(JobRow)
            .where(col(JobRow.done_at).is_(None))
            .where(col(JobRow.leased_by).startswith(f"{host}:"))
        ):
            pid = int((job.leased_by or ":0").rsplit(":", 1)[1] or 0)
            if pid != os.getpid() and not process_alive(pid):
                job.leased_until = None
                job.leased_by = None
                session.add(job)
                freed += 1
        session.commit()
    return freed


def release_stopped(engine: Engine, pids: list[int]) -> int:
    """Free the leases of processes the service itself ended on its way to stopping, without
    counting their interrupted runs: the job runs again from the start at the next start."""
    names = [worker_name(pid) for pid in pids]
    if not names:
        return 0
    freed = 0
    with Session(engine) as session:
        for job in session.exec(
            select(JobRow)
            .where(col(JobRow.done_at).is_(None))
            .where(col(JobRow.leased_by).in_(names))
        ):
            job.leased_until = None
            job.leased_by = None
            job.attempts = max(0, job.attempts - 1)
            session.add(job)
            freed += 1
        session.commit()
    return freed


def process_alive(pid: int) -> bool:
    """Whether the process still runs: a zombie does not (a worker process orphaned by a
    killed service is re-parented to init, which in a container may never reap it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: signal 0 is all there is to go by
    return state != "Z"


_T = TypeVar("_T")
Handler = Callable[[JobRow], None]
# Told of each job a worker starts (with its kind) and, with None, that it ended.
OnJob = Callable[[JobRow | None, JobKind | None], None]


class Worker(threading.Thread):
    """A thread that claims and runs jobs until stopped."""

    def __init__(
        self,
        engine: Engine,
        kinds: dict[str, JobKind],
        handlers: dict[str, Handler],
        wake: Flag,
        stop: Flag,
        *,
        name: str,
        poll_seconds: float = 1.0,
        give_up: dict[str, GiveUp] | None = None,
        on_job: OnJob | None = None,
    ):
        super().__init__(name=name, daemon=True)
        self.engine = engine
        self.kinds = kinds
        self.handlers = handlers
        self.wake = wake
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.give_up = give_up or {}
        self.on_job = on_job or (lambda job, kind: None)

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.run_one():
                self.wake.wait(self.poll_seconds)
                self.wake.clear()

    def run_one(self) -> bool:
        """Run one due job if there is one; True if it ran."""
        try:
            job = claim(self.engine, self.kinds)
        except Exception as err:
            if database_unavailable(err):
                log.warning("could not claim a job, the database is away: %s", database_said(err))
            else:
                log.exception("could not claim a job")
            return False
        if job is None:
            return False
        with logs.about(job_id=job.id, job_kind=job.kind):
            self._run(job)
        return True

    def _run(self, job: JobRow) -> None:
        kind = self.kinds[job.kind]
        if job.attempts > kind.max_attempts:
            # Each attempt ended with the process running it (killed, or a crash in native
            # code reading this very input): running it again would only end another.
            error = f"the worker running it stopped {kind.max_attempts} time(s) in the middle"
            if job.last_error:
                error += f" (last: {job.last_error})"
            job_id = job.id
            assert job_id is not None
            self._recorded(job, lambda: give_up(self.engine, job_id, error, self.give_up))
            return
        self.on_job(job, kind)
        failure: Exception | None = None
        try:
            self.handlers[job.kind](job)
        except Exception as err:
            failure = err
        finally:
            # The run is over: waiting for the database to record its end is not its time.
            self.on_job(None, None)
        if failure is None:
            self._recorded(job, lambda: finish(self.engine, job))
        elif database_unavailable(failure):
            away = f"interrupted, the database was away: {database_said(failure)}"
            log.warning("job %s %s %s", job.kind, job.ref, away)
            self._recorded(job, lambda: release(self.engine, job, away))
        else:
            log.error(
                "job %s %s failed (attempt %d)", job.kind, job.ref, job.attempts, exc_info=failure
            )
            error = f"{type(failure).__name__}: {failure}"
            if self._recorded(job, lambda: fail(self.engine, job, kind, error)) is False:
                _tell_given_up(self.give_up, job, error)

    def _recorded(self, job: JobRow, write: Callable[[], _T]) -> _T | None:
        """`write()`, the end of a job, tried again while the database is away: otherwise the
        job would stay leased (and wait out its lease) although it ran. None if the worker was
        stopped and `RECORD_AFTER_STOP_SECONDS` went by; then the next start of a worker on
        this host frees the lease."""
        waits = iter(RECORD_RETRY_SECONDS)
        wait = 0.0
        give_up_at: float | None = None
        while True:
            try:
                return write()
            except Exception as err:
                if not database_unavailable(err):
                    raise
                wait = next(waits, wait)
                log.warning(
                    "could not record the end of job %s %s, the database is away: %s",
                    job.kind,
                    job.ref,
                    database_said(err),
                )
            # Slept in steps, not waited on the stop flag: a worker process sets that flag from
            # its SIGTERM handler, which would deadlock on the flag's lock held right here.
            until = time.monotonic() + wait
            while time.monotonic() < until and not self.stop.is_set():
                time.sleep(min(0.1, wait))
            if self.stop.is_set():
                now = time.monotonic()
                give_up_at = give_up_at or now + RECORD_AFTER_STOP_SECONDS
                if now >= give_up_at:
                    log.warning(
                        "stopped before the end of job %s %s was recorded", job.kind, job.ref
                    )
                    return None
                time.sleep(min(0.5, give_up_at - now))
