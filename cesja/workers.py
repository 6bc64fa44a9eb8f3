"""Background workers: started by `cesja serve`, or alone by `cesja worker` to scale out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from cesja import deadlines, jobs, processing, webhooks
from cesja.config import Settings
from cesja.models import PeriodicTaskRow, utcnow
from cesja.runtime import Runtime

log = logging.getLogger("cesja.workers")

# How often each worker process looks whether a periodic job is due (at most).
SCHEDULER_TICK = timedelta(seconds=5)


def job_kinds() -> dict[str, jobs.JobKind]:
    return {
        processing.PROCESS_SCAN: jobs.JobKind(
            name=processing.PROCESS_SCAN,
            lease=timedelta(minutes=10),
            max_attempts=3,
            retry_after=lambda attempt: timedelta(seconds=30 * attempt),
        ),
        # Receiver failures are retried by the delivery itself (its own policy and jobs);
        # these retries are for the service failing (database away) and must not give up soon,
        # or a pending notice would be left without a job.
        webhooks.DELIVER_WEBHOOK: jobs.JobKind(
            name=webhooks.DELIVER_WEBHOOK,
            lease=timedelta(minutes=10),
            max_attempts=50,
            retry_after=lambda attempt: min(timedelta(seconds=30 * attempt), timedelta(hours=1)),
        ),
        deadlines.CHECK_DEADLINES: jobs.JobKind(
            name=deadlines.CHECK_DEADLINES,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(seconds=30),
        ),
    }


def handlers(runtime: Runtime) -> dict[str, jobs.Handler]:
    return {
        processing.PROCESS_SCAN: lambda job: processing.process_scan(runtime, job.ref),
        webhooks.DELIVER_WEBHOOK: lambda job: webhooks.attempt(runtime, job.ref, job_id=job.id),
        deadlines.CHECK_DEADLINES: lambda job: _check_deadlines(runtime),
    }


def _check_deadlines(runtime: Runtime) -> None:
    deadlines.run(runtime)


def periodic_tasks(settings: Settings) -> dict[str, timedelta]:
    """Jobs that run every so often, by kind, and how often."""
    return {deadlines.CHECK_DEADLINES: timedelta(seconds=settings.deadline_check_seconds)}


def schedule_periodic(
    engine: Engine, settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """Enqueue each periodic job that is due; the kinds enqueued.

    Every worker process on every machine calls this. A conditional update moves the task's
    `next_run_at` forward only if it is still due, so of several processes calling at the
    same moment exactly one changes the row, and only that one enqueues the job, in the same
    transaction. PostgreSQL re-checks the condition after waiting on the row lock; SQLite
    runs one writer at a time.
    """
    now = now or utcnow()
    enqueued = []
    for name, every in periodic_tasks(settings).items():
        _ensure_task(engine, name, now)
        with Session(engine) as session:
            moved = session.connection().execute(
                update(PeriodicTaskRow)
                .where(col(PeriodicTaskRow.name) == name)
                .where(col(PeriodicTaskRow.next_run_at) <= now)
                .values(next_run_at=now + every)
            )
            if moved.rowcount == 1:
                jobs.enqueue(session, name, f"periodic@{now.isoformat()}", run_at=now)
                enqueued.append(name)
            session.commit()
    return enqueued


def _ensure_task(engine: Engine, name: str, now: datetime) -> None:
    with Session(engine) as session:
        if session.get(PeriodicTaskRow, name) is not None:
            return
    try:
        with Session(engine) as session:
            session.add(PeriodicTaskRow(name=name, next_run_at=now))
            session.commit()
    except IntegrityError:
        pass  # another process created it first


class Scheduler(threading.Thread):
    """A thread per worker process that enqueues periodic jobs when they are due."""

    def __init__(self, runtime: Runtime, stop: threading.Event):
        super().__init__(name="cesja-scheduler", daemon=True)
        self.runtime = runtime
        self.stop = stop

    def run(self) -> None:
        settings = self.runtime.settings
        tick = min([SCHEDULER_TICK, *periodic_tasks(settings).values()])
        while not self.stop.is_set():
            try:
                if schedule_periodic(self.runtime.engine, settings):
                    self.runtime.work_ready.set()
            except Exception:
                log.exception("could not schedule periodic jobs")
            self.stop.wait(tick.total_seconds())


def drain(runtime: Runtime) -> int:
    """Run every due job in this thread until none is left; returns how many ran."""
    stop = threading.Event()
    worker = jobs.Worker(
        runtime.engine, job_kinds(), handlers(runtime), runtime.work_ready, stop, name="cesja-drain"
    )
    ran = 0
    while worker.run_one():
        ran += 1
    return ran


def start(runtime: Runtime, count: int, *, periodic: bool = True) -> Callable[[], None]:
    """Start `count` worker threads (one tesseract handle each) and, if `periodic`, the thread
    that enqueues periodic jobs; returns their stop."""
    stop = threading.Event()
    if count <= 0:
        return stop.set
    freed = jobs.release_dead_leases(runtime.engine)
    if freed:
        log.info("resuming %d job(s) left by a process that stopped", freed)
    kinds = job_kinds()
    threads: list[threading.Thread] = [
        jobs.Worker(
            runtime.engine,
            kinds,
            handlers(runtime),
            runtime.work_ready,
            stop,
            name=f"cesja-worker-{i}",
        )
        for i in range(count)
    ]
    if periodic:
        threads.append(Scheduler(runtime, stop))
    for t in threads:
        t.start()
    log.info("started %d worker thread(s)%s", count, " and the scheduler" if periodic else "")

    def stop_all() -> None:
        stop.set()
        runtime.work_ready.set()
        for t in threads:
            t.join(timeout=30)

    return stop_all
