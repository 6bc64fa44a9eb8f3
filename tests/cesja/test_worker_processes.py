"""The service reads scans in worker processes: `cesja serve` and `cesja worker` start them, a
scan uploaded to an idle service is taken at once, a worker killed in the middle of a scan is
started again and the scan still finishes, and no worker outlives the service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from cesja import intake, workers
from cesja.casework import cases
from cesja.casework.schemas import CaseCreate
from cesja.config import Settings
from cesja.db import read_only
from cesja.db.models import JobRow, PageRow, ScanRow
from cesja.runtime import Runtime, open_runtime
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.processes import (
    free_port,
    ready_workers,
    running,
    start,
    wait_until,
    worker_processes,
)
from tests.cesja.sent_pages import signed_batch, upload
from tests.conftest import CASE_BODY

# --- the service as an operator starts it ------------------------------------------------------


@pytest.fixture
def service(client: TestClient, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`cesja serve` on the data dir of `client` (which has no workers), its workers warm;
    yields the process and its URL, and SIGKILLs it if the test left it running."""
    port, log = free_port(), tmp_path / "serve.log"
    process = start(["serve", "--port", str(port)], log)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: process.poll() is None and answers(), log)
        wait_until(lambda: ready_workers(log) == 2, log)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def scan_row(runtime: Runtime, scan_id: str) -> ScanRow:
    with Session(read_only(runtime.engine)) as session:
        return session.get_one(ScanRow, scan_id)


def page_jobs(runtime: Runtime, scan_id: str) -> list[JobRow]:
    """The jobs of the scan's pages, first page first."""
    with Session(read_only(runtime.engine)) as session:
        found = session.exec(select(JobRow).where(col(JobRow.ref).startswith(f"{scan_id}/")))
        return sorted(found, key=lambda job: int(job.ref.rpartition("/")[2]))


def in_hand(runtime: Runtime, scan_id: str) -> list[JobRow]:
    """The scan's page jobs a worker is running now."""
    return [j for j in page_jobs(runtime, scan_id) if j.leased_by and j.done_at is None]


def pages_stored(runtime: Runtime, scan_id: str) -> list[PageRow]:
    with Session(read_only(runtime.engine)) as session:
        return list(
            session.exec(
                select(PageRow).where(PageRow.scan_id == scan_id).order_by(col(PageRow.index))
            )
        )


def lease_holder(job: JobRow) -> int:
    host, _, pid = (job.leased_by or ":").rpartition(":")
    assert host == socket.gethostname(), job.leased_by
    return int(pid)


def frozen_while_reading(runtime: Runtime, scan_id: str, log: Path) -> tuple[int, JobRow]:
    """A worker process SIGSTOPped while it holds a page of the scan, and that page's job.

    Stopped first, so that it cannot finish the page and take the next one between our look
    at its lease and the kill."""
    while True:
        reader = lease_holder(wait_until(lambda: in_hand(runtime, scan_id), log)[0])
        os.kill(reader, signal.SIGSTOP)
        held = [job for job in in_hand(runtime, scan_id) if lease_holder(job) == reader]
        if held:
            return reader, held[0]
        os.kill(reader, signal.SIGCONT)  # caught between two pages: let it take the next


# --- the tests ---------------------------------------------------------------------------------


def test_serve_reads_an_uploaded_scan_in_a_worker_process_at_once(
    client: TestClient, service: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    """GIVEN `cesja serve` with two worker processes, idle and warm
    WHEN a scanner station uploads both signed pages of a case through POST /api/v1/scans
    THEN a worker process, not the API's, starts reading it within a few tenths of a second,
    the scan ends done with both pages matched to the case; and when the service is stopped
    (SIGTERM) it exits cleanly and neither worker process is left running.
    """
    process, url = service
    runtime = runtime_of(client)
    case = create_case(client)
    children = worker_processes(process.pid)
    assert len(children) == 2

    with httpx.Client(base_url=url, timeout=30) as http:
        answer = upload(http, signed_batch(runtime, case["id"], 2, seed=1))  # type: ignore[arg-type]
    assert answer.status_code == 202, answer.text
    scan_id = answer.json()["id"]
    log = tmp_path / "serve.log"
    wait_until(lambda: any(j.leased_by for j in page_jobs(runtime, scan_id)), log, timeout=10)
    taken_after = datetime.now(UTC) - scan_row(runtime, scan_id).received_at
    wait_until(lambda: scan_row(runtime, scan_id).status == "done", log)

    assert {lease_holder(job) for job in page_jobs(runtime, scan_id)} <= children
    assert taken_after.total_seconds() < 0.3, taken_after
    assert [(p.index, p.outcome, p.case_id) for p in pages_stored(runtime, scan_id)] == [
        (0, "matched", case["id"]),
        (1, "matched", case["id"]),
    ]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0, log.read_text()[-3000:]
    assert [pid for pid in children if running(pid)] == []


def test_a_worker_process_killed_while_reading_is_restarted_and_the_scan_finishes(
    client: TestClient, service: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    """GIVEN `cesja serve` reading a six-page scan, a page in each of its two worker processes
    WHEN one of them is SIGKILLed once two pages are stored (a crash in tesseract or OpenCV
    ends a process the same way)
    THEN the service says so and starts a new worker process; the page the dead one held is
    released and read again at once, and the scan ends done with each page stored exactly
    once; the API answered throughout.
    """
    process, url = service
    runtime = runtime_of(client)
    log = tmp_path / "serve.log"
    case = create_case(client)
    with httpx.Client(base_url=url, timeout=30) as http:
        answer = upload(http, signed_batch(runtime, case["id"], 6, seed=2))  # type: ignore[arg-type]
        assert answer.status_code == 202, answer.text
        scan_id = answer.json()["id"]
        wait_until(lambda: len(pages_stored(runtime, scan_id)) >= 2, log)
        reader, held = frozen_while_reading(runtime, scan_id, log)
        assert reader in worker_processes(process.pid)
        os.kill(reader, signal.SIGKILL)
        interrupted = len(pages_stored(runtime, scan_id))

        wait_until(lambda: scan_row(runtime, scan_id).status == "done", log)
        assert http.get("/healthz").status_code == 200
        wait_until(lambda: ready_workers(log) == 3, log)

    assert interrupted < 6, "the kill came after the last page"
    assert [p.index for p in pages_stored(runtime, scan_id)] == list(range(6))
    (job,) = [j for j in page_jobs(runtime, scan_id) if j.ref == held.ref]
    assert job.attempts == 2 and job.done_at is not None
    assert lease_holder(job) != reader
    assert f"(pid {reader}) was killed by SIGKILL" in log.read_text()
    now = worker_processes(process.pid)
    assert len(now) == 2 and reader not in now and process.poll() is None


def test_worker_processes_end_when_the_service_that_started_them_is_killed(
    data_dir: Path, tmp_path: Path
) -> None:
    """GIVEN `cesja worker` with its two worker processes running
    WHEN it is SIGKILLed (no chance to stop them)
    THEN both worker processes notice and exit on their own within a second or two.
    """
    log = tmp_path / "worker.log"
    parent = start(["worker"], log)
    try:
        wait_until(lambda: ready_workers(log) == 2, log)
        children = worker_processes(parent.pid)
        assert len(children) == 2
    finally:
        parent.kill()
        parent.wait(timeout=10)

    wait_until(lambda: not any(running(pid) for pid in children), log, timeout=5)


@pytest.mark.postgres
def test_worker_processes_read_scans_on_postgresql(data_dir: Path, pg_url: str) -> None:
    """GIVEN settings built in code (PostgreSQL, a temporary data dir) and two worker processes
    started from them, warm
    WHEN a scan of both signed pages of a case is taken in
    THEN a worker process reads it to done, both pages matched; stopped, none is left running.
    """
    settings = Settings(data_dir=data_dir, database_url=pg_url, scan_dir=None, workers=2)
    runtime = open_runtime(settings)
    processes = workers.start_processes(runtime, 2)
    try:
        assert processes.wait_ready(timeout=120)
        children = set(processes.pids)
        with Session(runtime.engine, expire_on_commit=False) as session:
            case = cases.create_case(
                session,
                CaseCreate.model_validate(CASE_BODY),
                actor="system:test",
                settings=runtime.settings,
            )
            session.commit()
        data = signed_batch(runtime, case.id, 2, seed=3)
        scan_id = intake.receive(runtime, [data], channel="post", sender=None).scan.id
        deadline = time.monotonic() + 60
        while scan_row(runtime, scan_id).status != "done":
            assert time.monotonic() < deadline, "the scan was not read"
            time.sleep(0.05)
    finally:
        processes.stop()
        runtime.engine.dispose()

    assert {lease_holder(job) for job in page_jobs(runtime, scan_id)} <= children
    assert [p.outcome for p in pages_stored(runtime, scan_id)] == ["matched", "matched"]
    assert [pid for pid in children if running(pid)] == []
