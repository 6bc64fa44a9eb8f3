"""Worker processes on any machine say in the database, every few seconds, that they are alive
and taking jobs, so that any API process can tell whether the service can do its work."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from cesja.jobs import Flag
from cesja.models import WorkerHeartbeatRow, utcnow

log = logging.getLogger("cesja.heartbeats")

EVERY = timedelta(seconds=5)
# A worker not heard from for this long is taken for gone: three beats missed.
RECENT = 3 * EVERY
# A heartbeat this old is of a process that died without a word: removed by whoever beats.
FORGOTTEN_AFTER = timedelta(hours=1)


def beat(engine: Engine, worker: str, started_at: datetime, *, now: datetime | None = None) -> None:
    """Record that `worker` is alive now."""
    now = now or utcnow()
    with Session(engine) as session:
        row = session.get(WorkerHeartbeatRow, worker)
        if row is None:
            row = WorkerHeartbeatRow(worker=worker, started_at=started_at, seen_at=now)
        row.seen_at = now
        session.add(row)
        session.connection().execute(
            delete(WorkerHeartbeatRow).where(
                col(WorkerHeartbeatRow.seen_at) < now - FORGOTTEN_AFTER
            )
        )
        session.commit()


def forget(engine: Engine, worker: str) -> None:
    """`worker` stops: it no longer counts, without waiting for its heartbeat to age."""
    with Session(engine) as session:
        session.connection().execute(
            delete(WorkerHeartbeatRow).where(col(WorkerHeartbeatRow.worker) == worker)
        )
        session.commit()


def recent(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """The workers heard from lately (`host:pid`), anywhere."""
    now = now or utcnow()
    with Session(engine) as session:
        return list(
            session.exec(
                select(WorkerHeartbeatRow.worker).where(
                    col(WorkerHeartbeatRow.seen_at) >= now - RECENT
                )
            )
        )


class Heartbeat(threading.Thread):
    """Beats for one worker process until `stop` is set; then the worker is forgotten."""

    def __init__(self, engine: Engine, worker: str, stop: Flag):
        super().__init__(name="cesja-heartbeat", daemon=True)
        self.engine = engine
        self.worker = worker
        self.stop = stop
        self.started_at = utcnow()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                beat(self.engine, self.worker, self.started_at)
            except Exception:
                log.warning("could not record this worker's heartbeat", exc_info=True)
            self.stop.wait(EVERY.total_seconds())
        try:
            forget(self.engine, self.worker)
        except Exception:
            log.warning("could not remove this worker's heartbeat", exc_info=True)
