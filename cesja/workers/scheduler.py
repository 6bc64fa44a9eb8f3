"""Periodic jobs: each due one enqueued by exactly one of however many worker processes, on
however many machines, look at the same moment."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from cesja.casework import audit_log, deadlines, retention
from cesja.config import Settings
from cesja.db import jobs
from cesja.db.models import PeriodicTaskRow, utcnow
from cesja.runtime import Runtime

log = logging.getLogger("cesja.workers")

# How often each worker process looks whether a periodic job is due (at most).
SCHEDULER_TICK = timedelta(seconds=5)

# How often the queue is purged of jobs that ended long ago.
PURGE_EVERY = timedelta(hours=1)

# How often every case's head is anchored in the checkpoint file, whatever the transitions
# did: it covers a process that died between a commit and its checkpoint line.
ANCHOR_EVERY = timedelta(hours=1)


def periodic_tasks(settings: Settings) -> dict[str, timedelta]:
    """Jobs that run every so often, by kind, and how often."""
    tasks = {
        deadlines.CHECK_DEADLINES: timedelta(seconds=settings.deadline_check_seconds),
        jobs.PURGE_JOBS: PURGE_EVERY,
        audit_log.ANCHOR_AUDIT: ANCHOR_EVERY,
    }
    if settings.retention_days is not None:
        # What ended cases received is destroyed within the hour it falls due.
        tasks[retention.PURGE_ENDED_CASES] = PURGE_EVERY
    return tasks


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

    def __init__(self, runtime: Runtime, stop: jobs.Flag):
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
