"""Deadlines: overdue cases expire, a reminder is recorded half-way, and the periodic job that
does it is enqueued once per run however many worker processes share the database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from cesja import workers
from cesja.app import create_app
from cesja.casework import audit_log, deadlines
from cesja.config import Settings
from cesja.db import make_engine
from cesja.db.jobs import PURGE_JOBS
from cesja.db.models import CaseRow, EventRow, JobRow, utcnow
from cesja.runtime import Runtime, open_runtime
from tests.cesja.flow import add_page, case_in, create_case, runtime_of
from tests.conftest import STAFF


def case_row(runtime: Runtime, case_id: str) -> CaseRow:
    with Session(runtime.engine) as session:
        return session.get_one(CaseRow, case_id)


def events_of(runtime: Runtime, case_id: str, type_: str) -> list[EventRow]:
    with Session(runtime.engine) as session:
        return [e for e in audit_log.events(session, case_id) if e.type == type_]


def test_open_cases_past_their_deadline_expire_once(client: TestClient) -> None:
    """GIVEN cases waiting for documents, in review, transfer_ready and completed
    WHEN the deadline sweep runs after their deadline, twice
    THEN the first two expire, once, recorded as the clock's doing; the others stay.
    """
    runtime = runtime_of(client)
    waiting = case_in(client, "awaiting_documents")
    review = case_in(client, "in_review")
    ready = case_in(client, "transfer_ready")
    completed = case_in(client, "completed")
    deadline = case_row(runtime, waiting["id"]).deadline

    before = deadlines.run(runtime, now=deadline - timedelta(seconds=1))
    assert before.expired == []

    swept = deadlines.run(runtime, now=deadline)
    again = deadlines.run(runtime, now=deadline + timedelta(days=1))

    assert sorted(swept.expired) == sorted([waiting["id"], review["id"]])
    assert again.expired == []
    for case, state in (
        (waiting, "expired"),
        (review, "expired"),
        (ready, "transfer_ready"),
        (completed, "completed"),
    ):
        assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["state"] == state
    (expired,) = events_of(runtime, review["id"], "state_changed")[-1:]
    assert expired.actor == "system:deadlines"
    assert expired.data["event"] == "expire"
    assert (expired.data["before"], expired.data["after"]) == ("in_review", "expired")
    assert expired.at == deadline
    assert len(events_of(runtime, waiting["id"], "state_changed")) == 1


def test_a_reminder_is_recorded_once_half_way_to_the_deadline(client: TestClient) -> None:
    """GIVEN a case with one party's page in
    WHEN the sweep runs just before half-way, just after, and again later
    THEN one `deadline_reminder` event is recorded, after half-way, naming what is missing.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    add_page(runtime, case["id"], "current_registrant")
    halfway = deadlines.halfway(case_row(runtime, case["id"]))

    assert deadlines.run(runtime, now=halfway - timedelta(seconds=1)).reminded == []
    assert deadlines.run(runtime, now=halfway + timedelta(seconds=1)).reminded == [case["id"]]
    assert deadlines.run(runtime, now=halfway + timedelta(days=2)).reminded == []

    (reminder,) = events_of(runtime, case["id"], "deadline_reminder")
    assert reminder.actor == "system:deadlines"
    assert reminder.data["deadline"] == case_row(runtime, case["id"]).deadline.isoformat()
    assert reminder.data["state"] == "awaiting_documents"
    assert reminder.data["open_checks"] == [
        "new_registrant.page_received",
        "new_registrant.fields_match",
        "new_registrant.signature_present",
        "new_registrant.unaltered",
    ]


def _engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'periodic.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _engine_url(request, tmp_path)


def test_each_periodic_run_is_enqueued_by_exactly_one_of_many_processes(
    url: str, tmp_path: Path
) -> None:
    """GIVEN eight worker processes (each its own engine) sharing one database
    WHEN they all look at the same moment whether the periodic jobs are due, and again a
    moment later, and again once the deadline job's interval has passed
    THEN exactly one deadline job is enqueued for the first look, none for the second, one for
    the third; and the hourly purge exactly once, at the first.
    """
    settings = Settings(data_dir=tmp_path, database_url=url, deadline_check_seconds=60)
    open_runtime(settings)  # migrates
    engines = [make_engine(url) for _ in range(8)]
    start = utcnow()

    def everyone_at(now_offset: timedelta) -> list[list[str]]:
        barrier = threading.Barrier(len(engines))
        results: list[list[str]] = [[] for _ in engines]

        def look(i: int) -> None:
            barrier.wait()
            results[i] = workers.schedule_periodic(engines[i], settings, now=start + now_offset)

        threads = [threading.Thread(target=look, args=(i,)) for i in range(len(engines))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    first = everyone_at(timedelta(0))
    soon = everyone_at(timedelta(seconds=30))
    later = everyone_at(timedelta(seconds=61))

    def enqueued(results: list[list[str]], kind: str) -> int:
        return sum(r.count(kind) for r in results)

    assert [enqueued(look, deadlines.CHECK_DEADLINES) for look in (first, soon, later)] == [1, 0, 1]
    assert [enqueued(look, PURGE_JOBS) for look in (first, soon, later)] == [1, 0, 0]
    with Session(engines[0]) as session:
        jobs = session.exec(select(JobRow).where(JobRow.kind == deadlines.CHECK_DEADLINES)).all()
        assert len(jobs) == 2 and len({j.ref for j in jobs}) == 2
    for engine in engines:
        engine.dispose()


def test_the_periodic_job_runs_the_sweep(client: TestClient) -> None:
    """GIVEN a case whose deadline has passed
    WHEN the scheduler enqueues the deadline job and a worker runs it
    THEN the case is expired.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    with Session(runtime.engine) as session:
        row = session.get_one(CaseRow, case["id"])
        row.deadline = utcnow() - timedelta(minutes=1)
        session.add(row)
        session.commit()

    assert "check_deadlines" in workers.schedule_periodic(runtime.engine, runtime.settings)
    workers.drain(runtime)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["state"] == "expired"


@pytest.fixture
def pg_client(data_dir: Path, pg_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=pg_url))) as c:
        yield c


@pytest.mark.postgres
def test_sweeps_on_two_machines_at_once_expire_each_case_once(
    pg_client: TestClient, pg_url: str
) -> None:
    """GIVEN twelve overdue cases on PostgreSQL
    WHEN two workers (separate engines) sweep at the same moment
    THEN each case expired exactly once, and every audit chain holds.
    """
    runtime = runtime_of(pg_client)
    ids = [create_case(pg_client)["id"] for _ in range(12)]
    deadline = case_row(runtime, ids[0]).deadline
    runtimes = [open_runtime(runtime.settings, run_migrations=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    swept: list[list[str]] = [[], []]

    def sweep(i: int) -> None:
        barrier.wait()
        swept[i] = deadlines.run(runtimes[i], now=deadline).expired

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(swept[0] + swept[1]) == sorted(ids)
    with Session(runtime.engine) as session:
        expiries = session.exec(
            select(func.count()).select_from(EventRow).where(col(EventRow.type) == "state_changed")
        ).one()
        assert expiries == len(ids)
        assert all(audit_log.verify_case(session, case_id) is None for case_id in ids)
    for r in runtimes:
        r.engine.dispose()
