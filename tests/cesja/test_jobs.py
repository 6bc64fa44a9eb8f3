"""Jobs in the database: leased once, retried, and resumed after the worker that held them died."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from cesja import workers
from cesja.db import jobs, make_engine, migrate
from cesja.db.engine import LOCK_WAIT_SECONDS
from cesja.db.models import JobRow, utcnow
from tests.cesja.flow import runtime_of

KINDS = {
    "echo": jobs.JobKind(
        "echo", lease=timedelta(minutes=5), max_attempts=2, retry_after=lambda n: timedelta(0)
    ),
}


def _engine(url: str) -> Engine:
    migrate(url)
    return make_engine(url)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return _engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    return _engine(request.getfixturevalue("pg_url"))


def _add(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        for i in range(n):
            jobs.enqueue(session, "echo", f"ref-{i}")
        session.commit()


def test_each_job_is_claimed_by_exactly_one_of_many_workers(engine: Engine) -> None:
    _add(engine, 30)
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := jobs.claim(engine, KINDS, worker=name)) is not None:
            with lock:
                claimed.append(job.ref)
            jobs.finish(engine, job)

    threads = [threading.Thread(target=work, args=(f"host:{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(f"ref-{i}" for i in range(30))


def test_a_failing_job_is_retried_then_given_up(engine: Engine) -> None:
    _add(engine, 1)
    job = jobs.claim(engine, KINDS)
    assert job is not None
    assert jobs.fail(engine, job, KINDS["echo"], "boom") is True
    again = jobs.claim(engine, KINDS)
    assert again is not None and again.attempts == 2
    assert jobs.fail(engine, again, KINDS["echo"], "boom") is False
    assert jobs.claim(engine, KINDS) is None
    with Session(engine) as session:
        row = session.get(JobRow, job.id)
        assert row is not None and row.done_at is not None and row.last_error == "boom"


def test_a_job_held_by_a_dead_process_runs_again(engine: Engine) -> None:
    """GIVEN a job leased by a process of this host that no longer exists
    WHEN the service starts again THEN the job is claimable at once."""
    _add(engine, 1)
    import socket

    dead = f"{socket.gethostname()}:999999"
    assert jobs.claim(engine, KINDS, worker=dead) is not None
    assert jobs.claim(engine, KINDS) is None  # still leased
    assert jobs.release_dead_leases(engine) == 1
    job = jobs.claim(engine, KINDS)
    assert job is not None and job.attempts == 2


def test_jobs_that_ended_long_ago_are_purged_by_the_periodic_job(client: TestClient) -> None:
    """GIVEN a queue with jobs that ended eight days ago (one done, one given up), one that
    ended yesterday and one still waiting
    WHEN the workers' scheduler finds the hourly purge due and the workers run
    THEN the two that ended more than the seven days kept are gone; the rest are as they were.
    """
    runtime = runtime_of(client)
    now = utcnow()
    with Session(runtime.engine) as session:
        for ref, done_at, error in [
            ("old-done", now - timedelta(days=8), None),
            ("old-given-up", now - timedelta(days=8), "it took more than 60 s"),
            ("recent", now - timedelta(days=1), None),
            ("waiting", None, None),
        ]:
            job = jobs.enqueue(session, "echo", ref, run_at=now + timedelta(days=1))
            job.done_at, job.last_error = done_at, error
        session.commit()

    assert jobs.PURGE_JOBS in workers.schedule_periodic(runtime.engine, runtime.settings)
    workers.drain(runtime)

    with Session(runtime.engine) as session:
        left = {job.ref for job in session.exec(select(JobRow).where(JobRow.kind == "echo"))}
    assert left == {"recent", "waiting"}


def test_a_worker_stopped_while_sqlite_is_locked_still_records_the_job_s_end(
    tmp_path: Path,
) -> None:
    """GIVEN a worker on SQLite whose job has run, and another connection's write holding the
    database's lock past the lock wait
    WHEN the worker is stopped while it cannot record the job's end
    THEN it tries on a little and, the lock freed, records it: the job is done, not left
    leased until the service's next start (a busy service's clean stop left one leased once,
    in a full run of the suite; this is a way it can)."""
    path = tmp_path / "jobs.sqlite3"
    engine = _engine(f"sqlite:///{path}")
    _add(engine, 1)
    stop = threading.Event()
    locked = threading.Event()

    def another_writer() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(LOCK_WAIT_SECONDS + 1.5)
        connection.execute("COMMIT")
        connection.close()

    def run(job: JobRow) -> None:
        threading.Thread(target=another_writer).start()
        locked.wait()
        stop.set()

    worker = jobs.Worker(engine, KINDS, {"echo": run}, threading.Event(), stop, name="test")
    assert worker.run_one()
    with Session(engine) as session:
        (row,) = session.exec(select(JobRow))
        assert row.done_at is not None, row
        assert row.leased_until is None
