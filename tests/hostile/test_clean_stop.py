"""The service stops when told, always: `cesja serve` and `cesja worker`, idle or reading, a
signal to the parent or to the whole process group (Ctrl-C in a terminal, systemd's default),
with or without a worker that died. Each exits 0 within 30 s, leaves no worker process
behind, and leaves no job held: what it was reading is read when it next starts."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from cesja.models import JobRow, PageRow, ScanRow
from cesja.runtime import Runtime
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
from tests.conftest import STAFF
from tests.hostile.service import elapsed

STOP_SECONDS = 30
PAGES = 16


Started = Callable[[str, Path], tuple[subprocess.Popen[bytes], set[int]]]


@pytest.fixture
def started() -> Iterator[Started]:
    """Starts `cesja serve` or `cesja worker` on the test's data dir and waits for its two
    workers to be warm; at the end of the test, kills whatever of them still runs (a test
    that failed half-way leaves no service behind)."""
    processes: list[subprocess.Popen[bytes]] = []

    def launch(command: str, log: Path) -> tuple[subprocess.Popen[bytes], set[int]]:
        args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
        process = start(args, log)
        processes.append(process)
        wait_until(lambda: ready_workers(log) == 2, log, timeout=120)
        children = worker_processes(process.pid)
        assert len(children) == 2
        return process, children

    yield launch
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def stop_and_time(process: subprocess.Popen[bytes], sig: int, to: str, log: Path) -> float:
    """Send `sig` to the parent or its whole process group; how long it took to exit 0."""
    sent = time.monotonic()
    if to == "group":
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        code = process.wait(timeout=STOP_SECONDS + 10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise AssertionError(
            f"still running after {STOP_SECONDS + 10} s:\n{log.read_text()[-3000:]}"
        )
    took = elapsed(sent)
    assert code == 0, log.read_text()[-3000:]
    return took


def leased(runtime: Runtime) -> list[JobRow]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(JobRow)
                .where(col(JobRow.done_at).is_(None))
                .where(col(JobRow.leased_by).is_not(None))
            )
        )


def batch(client: TestClient, seed: int) -> tuple[str, str]:
    """A case and a received batch of PAGES signed pages of it; their ids."""
    runtime = runtime_of(client)
    case = create_case(client)
    answer = upload(client, signed_batch(runtime, case["id"], PAGES, seed=seed))
    assert answer.status_code == 202, answer.text
    return case["id"], answer.json()["id"]


def pages_stored(runtime: Runtime, scan_id: str) -> list[int]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(PageRow.index).where(PageRow.scan_id == scan_id)))


@pytest.mark.parametrize(
    ("command", "sig", "to"),
    [
        ("serve", signal.SIGTERM, "group"),
        ("serve", signal.SIGINT, "group"),
        ("serve", signal.SIGTERM, "parent"),
        ("worker", signal.SIGTERM, "group"),
        ("worker", signal.SIGINT, "parent"),
    ],
)
def test_an_idle_service_stops_at_once(
    data_dir: Path, tmp_path: Path, started: Started, command: str, sig: int, to: str
) -> None:
    """GIVEN `cesja serve` or `cesja worker`, freshly started and idle, its workers warm
    WHEN it is sent SIGTERM or SIGINT, to it or to its whole process group
    THEN it exits with code 0 within 30 s (it hung for ever on a lock a worker held), and
    neither worker process is left running.
    """
    log = tmp_path / "service.log"
    process, children = started(command, log)

    took = stop_and_time(process, sig, to, log)

    assert took < STOP_SECONDS, took
    assert [pid for pid in children if running(pid)] == []


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_busy_service_stops_and_reads_the_rest_when_started_again(
    client: TestClient, tmp_path: Path, started: Started, command: str
) -> None:
    """GIVEN `cesja serve` or `cesja worker` reading a 16-page batch
    WHEN SIGTERM reaches its whole process group with some of the pages read
    THEN it exits 0 within 30 s, each worker finishing its page or ended; no job is left held;
    started again, it reads the rest of the batch, each page stored exactly once, and the case
    is ready for transfer.
    """
    runtime = runtime_of(client)
    case_id, scan_id = batch(client, seed=11)
    log = tmp_path / "service.log"
    process, children = started(command, log)
    wait_until(lambda: len(pages_stored(runtime, scan_id)) >= 2, log)

    took = stop_and_time(process, signal.SIGTERM, "group", log)

    assert took < STOP_SECONDS, took
    assert [pid for pid in children if running(pid)] == []
    assert leased(runtime) == []
    interrupted = len(pages_stored(runtime, scan_id))
    assert interrupted < PAGES, "the batch was read before the stop"

    log = tmp_path / "service-again.log"
    again, _ = started(command, log)
    wait_until(lambda: runtime_scan(runtime, scan_id).status == "done", log, timeout=120)
    stop_and_time(again, signal.SIGTERM, "group", log)
    assert sorted(pages_stored(runtime, scan_id)) == list(range(PAGES))
    fetched = client.get(f"/api/v1/cases/{case_id}", headers=STAFF)
    assert fetched.json()["state"] == "transfer_ready", fetched.json()["checks"]


def test_a_service_whose_worker_was_killed_stops(
    data_dir: Path, tmp_path: Path, started: Started
) -> None:
    """GIVEN `cesja serve` one of whose worker processes was just SIGKILLed (a crash, the
    kernel's out-of-memory killer)
    WHEN the service is sent SIGTERM, to the parent only
    THEN it exits 0 within 30 s and no worker process is left, the one starting in place of
    the dead one included.
    """
    log = tmp_path / "service.log"
    process, children = started("serve", log)
    os.kill(min(children), signal.SIGKILL)
    wait_until(lambda: not running(min(children)), log, timeout=10)

    took = stop_and_time(process, signal.SIGTERM, "parent", log)

    assert took < STOP_SECONDS, took
    assert [pid for pid in children if running(pid)] == []
    assert worker_processes(process.pid) == set()


def runtime_scan(runtime: Runtime, scan_id: str) -> ScanRow:
    with Session(runtime.engine) as session:
        return session.get_one(ScanRow, scan_id)
