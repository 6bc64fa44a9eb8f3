"""The database away for a moment. PostgreSQL restarted while `cesja serve` reads scans and
requests arrive: meanwhile every request is answered 503 with Retry-After at once, never 500,
never a hang; afterwards the API and the worker processes carry on by themselves and no page
reading, job or webhook is lost or done twice. SQLite's write lock not granted in time is
answered the same way."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from cesja.config import Settings
from cesja.db import LOCK_WAIT_SECONDS, migrate
from cesja.models import JobRow, PageRow, ScanRow, WebhookDeliveryRow
from cesja.processing import READ_PAGE, page_ref
from cesja.runtime import Runtime, open_runtime
from documents.simulate import to_pdf
from tests.cesja.processes import wait_until, worker_processes
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF
from tests.hostile.service import Service, served
from tests.pg import Cluster, ClusterError, private_cluster

# However long the database is away, an answer comes within the longest lock or connection
# wait (`cesja.db`), and a little.
ANSWER_WITHIN_SECONDS = LOCK_WAIT_SECONDS + 2.0
# How long PostgreSQL is away: an operator's restart.
DOWN_SECONDS = 2.0
CASES = 6


# --- a running service on a PostgreSQL of its own ----------------------------------------------


@dataclass
class Setup:
    service: Service
    cluster: Cluster
    registrar: Receiver


@pytest.fixture
def setup(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """`cesja serve` with two worker processes on a private PostgreSQL cluster (which the test
    may restart), posting its webhooks to a local receiver; all of it gone afterwards."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(private_cluster())
        except ClusterError as err:
            pytest.fail(f"a private PostgreSQL cluster is needed for this test: {err}")
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE cesja")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/cesja"
        # Once, before the service and the test open it: two first migrations at once race.
        migrate(url)
        registrar = stack.enter_context(receiver())
        env = {
            "CESJA_DATABASE_URL": url,
            "CESJA_WEBHOOK_URL": registrar.url,
            "CESJA_WEBHOOK_SECRET": SECRET,
        }
        for name, value in env.items():  # the test's own view of the service opens the same
            monkeypatch.setenv(name, value)
        service = stack.enter_context(served(data_dir, tmp_path / "serve.log", **env))
        yield Setup(service, cluster, registrar)


def healthy(service: Service) -> bool:
    try:
        return service.http.get("/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


# --- what the test looks at --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    what: str
    status: int | None  # None: no answer at all (the connection failed or timed out)
    at: float  # time.monotonic() when asked
    seconds: float
    retry_after: str | None = None
    error: str | None = None


def ask(http: httpx.Client, what: str, method: str, path: str, **kwargs: object) -> Answer:
    started = time.monotonic()
    try:
        response = http.request(method, path, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as err:
        return Answer(what, None, started, time.monotonic() - started, error=type(err).__name__)
    seconds = time.monotonic() - started
    error = None
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        error = response.json().get("error")
    retry_after = response.headers.get("retry-after")
    return Answer(what, response.status_code, started, seconds, retry_after, error)


class Traffic(threading.Thread):
    """A registrar's system at work: reads a case, lists cases, creates one, over and over."""

    def __init__(self, url: str, case_id: str):
        super().__init__(name="traffic", daemon=True)
        self.url, self.case_id = url, case_id
        self.answers: list[Answer] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, headers=REGISTRAR) as http:
            while not self.stop.is_set():
                self.answers.append(ask(http, "read", "GET", f"/api/v1/cases/{self.case_id}"))
                self.answers.append(ask(http, "list", "GET", "/api/v1/cases?limit=5"))
                self.answers.append(ask(http, "create", "POST", "/api/v1/cases", json=CASE_BODY))
                self.stop.wait(0.05)


def scan_states(runtime: Runtime, scan_ids: list[str]) -> dict[str, str]:
    with Session(runtime.engine) as session:
        rows = session.exec(select(ScanRow).where(col(ScanRow.id).in_(scan_ids))).all()
        return {row.id: row.status for row in rows}


def pages_of(runtime: Runtime, scan_ids: list[str]) -> list[PageRow]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(PageRow).where(col(PageRow.scan_id).in_(scan_ids))))


def page_jobs(runtime: Runtime) -> list[JobRow]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(JobRow).where(JobRow.kind == READ_PAGE)))


def deliveries(runtime: Runtime) -> list[WebhookDeliveryRow]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(WebhookDeliveryRow)))


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_restarted_while_scans_are_read_and_requests_arrive(setup: Setup) -> None:
    """GIVEN `cesja serve` with two worker processes on PostgreSQL, reading the signed pages of
    six cases while a registrar's system keeps reading, listing and creating cases
    WHEN PostgreSQL is stopped (fast: every session ended) in the middle of the reading, and
    started again two seconds later
    THEN meanwhile every request is answered 503 with `Retry-After` and the code
    `database_unavailable` within a few seconds (the back office with a page saying so), none
    500, none hanging; afterwards, without anybody's help, every page is read exactly once
    (no attempt held against it), every case is transfer_ready with exactly one webhook,
    POSTed once, the worker processes that were reading are the same ones still running, and
    a scan refused during the outage, sent again, is read.
    """
    service, cluster, registrar = setup.service, setup.cluster, setup.registrar
    runtime, log, http = service.runtime, service.log, service.http
    workers_before = worker_processes(service.process.pid)
    assert len(workers_before) == 2
    late_case, late_pages = service.signed_pages(seed=99)
    late_scan = to_pdf(late_pages)
    cases, scans = [], []
    for seed in range(CASES):
        case_id, pages = service.signed_pages(seed)
        cases.append(case_id)
        scans.append(to_pdf(pages))
    assert http.post("/sign-in", data={"key": "dev-staff"}).status_code == 303

    traffic = Traffic(service.url, cases[0])
    traffic.start()
    try:
        scan_ids = []
        for data in scans:
            answer = service.upload(data)
            assert answer.status_code == 202, answer.text
            scan_ids.append(answer.json()["id"])

        # WHEN the database goes away while the pages are being read
        wait_until(lambda: len(pages_of(runtime, scan_ids)) >= 2, log)
        cluster.stop(fast=True)
        down_at, down_since = time.monotonic(), datetime.now(UTC)
        during = [
            ask(http, "read", "GET", f"/api/v1/cases/{cases[0]}", headers=REGISTRAR),
            ask(http, "create", "POST", "/api/v1/cases", json=CASE_BODY, headers=REGISTRAR),
            ask(
                http,
                "upload",
                "POST",
                "/api/v1/scans",
                files={"file": ("scan.pdf", late_scan)},
                data={"channel": "post"},
                headers=INTAKE,
            ),
            ask(
                http,
                "decide",
                "POST",
                f"/api/v1/cases/{cases[0]}/reject",
                json={"reason": "forged"},
                headers=STAFF,
            ),
        ]
        office = http.get("/")
        health = http.get("/healthz")
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))
        starting_at = time.monotonic()
        cluster.start()
        up_at, up_since = time.monotonic(), datetime.now(UTC)

        # THEN everything is read, once, without anybody's help
        for scan_id in scan_ids:
            assert service.read(scan_id, timeout=120)["status"] == "done"
        answer = service.upload(late_scan)
        assert answer.status_code == 202, answer.text
        late_id = answer.json()["id"]
        assert service.read(late_id)["status"] == "done"
        registrar.wait_for(len(cases) + 1, timeout=60)
        time.sleep(1)  # room for a duplicate, should one be on its way
    finally:
        traffic.stop.set()
        traffic.join(timeout=30)

    # Meanwhile: 503 with Retry-After, at once; never a 500 or a hang.
    for probe in during:
        assert (probe.status, probe.retry_after, probe.error) == (
            503,
            "5",
            "database_unavailable",
        ), probe
        assert probe.seconds < ANSWER_WITHIN_SECONDS, probe
    assert office.status_code == 503, office.text
    assert office.headers["retry-after"] == "5"
    assert office.headers["content-type"].startswith("text/html")
    assert "Baza danych chwilowo nie odpowiada" in office.text
    assert health.status_code == 503
    seen = Counter(a.status for a in traffic.answers)
    assert set(seen) <= {200, 201, 503}, seen
    away = [a for a in traffic.answers if down_at < a.at < starting_at]
    assert away and {(a.status, a.retry_after) for a in away} == {(503, "5")}, away
    slowest = max(traffic.answers, key=lambda a: a.seconds)
    assert slowest.seconds < ANSWER_WITHIN_SECONDS, slowest
    # The API found the database again by itself, at once.
    back = [a for a in traffic.answers if a.at > up_at + 1]
    assert back and {a.status for a in back} <= {200, 201}, Counter(a.status for a in back)

    # Every page read exactly once: one reading per page, one page_read event per page.
    every_scan = [*scan_ids, late_id]
    stored = pages_of(runtime, every_scan)
    assert sorted((p.scan_id, p.index) for p in stored) == sorted(
        (scan_id, index) for scan_id in every_scan for index in (0, 1)
    )
    assert {p.outcome for p in stored} == {"matched"}
    # The outage came in the middle of the reading: pages were stored before and after it.
    assert any(p.created_at < down_since for p in stored)
    assert any(p.created_at > up_since for p in stored if p.scan_id != late_id)
    jobs = page_jobs(runtime)
    assert sorted(j.ref for j in jobs) == sorted(
        page_ref(scan_id, index) for scan_id in every_scan for index in (0, 1)
    )
    assert all(j.done_at is not None for j in jobs)
    # An interrupted reading was not held against its page (it would be given up in the end).
    assert {j.attempts for j in jobs} == {1}, [(j.ref, j.attempts, j.last_error) for j in jobs]
    for case_id in [*cases, late_case]:
        events = http.get(f"/api/v1/cases/{case_id}/events", headers=STAFF).json()
        types = Counter(e["type"] for e in events)
        assert types["page_read"] == 2, (case_id, types)
        assert types["webhook_scheduled"] == types["webhook_delivered"] == 1, (case_id, types)
        case = http.get(f"/api/v1/cases/{case_id}", headers=REGISTRAR).json()
        assert case["state"] == "transfer_ready", case

    # Every ready case: one notice, delivered, POSTed once.
    notices = deliveries(runtime)
    assert sorted(d.case_id for d in notices) == sorted([*cases, late_case])
    assert {d.status for d in notices} == {"delivered"}
    received = [r.webhook_id for r in registrar.received]
    assert sorted(received) == sorted(d.id for d in notices), "a notice was sent twice"
    assert all(r.verified for r in registrar.received)

    # The same worker processes carried on: none died, none was started again; and the
    # service still reads a scan uploaded now.
    assert worker_processes(service.process.pid) == workers_before
    said = service.said()
    assert "was killed" not in said and "exited with code" not in said, said[-3000:]
    service.assert_still_serves(seed=100)


@pytest.fixture
def impatient(data_dir: Path) -> Iterator[TestClient]:
    """The service on its embedded SQLite, whose connections wait at most 0.2 s for another
    writer's lock (the default waits longer: the answer is the same, only later)."""
    from cesja.app import create_app

    runtime = open_runtime(Settings())

    @event.listens_for(runtime.engine, "connect")
    def _short_lock_wait(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout = 200")

    with TestClient(create_app(runtime=runtime)) as client:
        yield client


def test_a_write_that_cannot_get_sqlites_lock_in_time_is_answered_503(
    impatient: TestClient, data_dir: Path
) -> None:
    """GIVEN the service on SQLite and another process holding the database's write lock
    WHEN a registrar creates a case, and staff cancel one in the back office
    THEN both are answered 503 with `Retry-After` at once, the API's with the code
    `database_unavailable`, the back office's with a page saying so (no traceback); once
    the lock is let go, the same request goes through.
    """
    client = impatient
    case = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR).json()
    assert client.post("/sign-in", data={"key": "dev-staff"}).status_code in (200, 303)
    holder = sqlite3.connect(data_dir / "cesja.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        created = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
        took = time.monotonic() - started
        cancelled = client.post(
            f"/cases/{case['id']}/cancel", data={"reason": "withdrawn"}, follow_redirects=False
        )
    finally:
        holder.rollback()
        holder.close()

    assert created.status_code == 503, created.text
    assert created.headers["retry-after"] == "5"
    assert created.json()["error"] == "database_unavailable"
    assert "try again in 5 seconds" in created.json()["message"]
    assert took < ANSWER_WITHIN_SECONDS
    assert cancelled.status_code == 503
    assert cancelled.headers["retry-after"] == "5"
    assert cancelled.headers["content-type"].startswith("text/html")
    assert "Baza danych chwilowo nie odpowiada" in cancelled.text
    assert "Traceback" not in cancelled.text

    again = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
    assert again.status_code == 201, again.text
