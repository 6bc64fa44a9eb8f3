"""A received scan survives anything after its 202: the bytes are on disk and the scan and its
job are committed before the answer, and a worker killed in the middle of a long scan leaves a
job that the next worker finishes, each page stored once."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from cesja.db import make_engine, read_only
from cesja.db.models import JobRow, PageRow, ScanRow
from cesja.intake.processing import READ_PAGE, page_ref
from documents.simulate import to_pdf
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.processes import wait_until
from tests.cesja.sent_pages import clean_scan, form_of, signed_form, upload
from tests.conftest import STAFF

PAGES = 8


def test_bytes_scan_and_job_are_committed_before_the_answer(client: TestClient) -> None:
    """GIVEN a scanner station uploading a scan
    WHEN the 202 comes back, before any worker has run
    THEN the bytes are in the scan store under their sha256, whole, with no temporary file
    left, and another connection to the database sees the scan, queued, and its page's job,
    due.
    """
    runtime = runtime_of(client)
    rng = np.random.default_rng(2)
    case = create_case(client)
    page = clean_scan(
        signed_form(
            form_of(runtime, case["id"]), "new_registrant", runtime.settings.keys.keys, rng
        ),
        rng,
        dpi=200,
    )
    data = to_pdf([page])

    answer = upload(client, data, name="scan.pdf")

    assert answer.status_code == 202, answer.text
    scan_id, sha256 = answer.json()["id"], answer.json()["sha256"]
    assert sha256 == hashlib.sha256(data).hexdigest()
    on_disk = runtime.settings.scan_store_dir / sha256[:2] / sha256[2:4] / sha256
    assert on_disk.read_bytes() == data
    assert list((runtime.settings.scan_store_dir / "tmp").iterdir()) == []
    other = make_engine(runtime.settings.sqlalchemy_url)
    try:
        with Session(other) as session:
            scan = session.get_one(ScanRow, scan_id)
            job = session.exec(select(JobRow).where(JobRow.ref == page_ref(scan_id, 0))).one()
    finally:
        other.dispose()
    assert (scan.sha256, scan.status, scan.size, scan.pages) == (sha256, "queued", len(data), 1)
    assert (job.kind, job.done_at, job.leased_by, job.attempts) == (READ_PAGE, None, None, 0)


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    """`cesja worker` on the test's data dir, one worker thread."""
    env = {**os.environ, "CESJA_WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", "worker"], env=env, stdout=out, stderr=out
        )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=30)


def test_worker_killed_in_the_middle_of_a_scan_finishes_it_after_a_restart(
    client: TestClient, tmp_path: Path
) -> None:
    """GIVEN a scanner batch of 8 signed pages of one case, received and queued
    WHEN `cesja worker` is SIGKILLed after its worker process has read some pages and before
    the last (the worker process ends with it), and it is started again
    THEN the restarted worker takes the page the dead one held at once and finishes the scan:
    it ends done with each of the 8 pages stored exactly once, and the case is ready.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client)
    form = form_of(runtime, case["id"])
    rng = np.random.default_rng(8)
    both = [
        clean_scan(signed_form(form, party, key, rng), rng)
        for party in ("current_registrant", "new_registrant")
    ]
    answer = upload(client, to_pdf(both * (PAGES // 2)), name="batch.pdf")
    assert answer.status_code == 202, answer.text
    scan_id = answer.json()["id"]

    def pages_stored() -> list[int]:
        with Session(read_only(runtime.engine)) as session:
            return list(
                session.exec(
                    select(PageRow.index)
                    .where(PageRow.scan_id == scan_id)
                    .order_by(col(PageRow.index))
                )
            )

    def scan_row() -> ScanRow:
        with Session(read_only(runtime.engine)) as session:
            return session.get_one(ScanRow, scan_id)

    def jobs_in_hand() -> list[JobRow]:
        with Session(read_only(runtime.engine)) as session:
            return list(
                session.exec(
                    select(JobRow)
                    .where(col(JobRow.ref).startswith(f"{scan_id}/"))
                    .where(col(JobRow.leased_by).is_not(None))
                    .where(col(JobRow.done_at).is_(None))
                )
            )

    def job_row(ref: str) -> JobRow:
        with Session(read_only(runtime.engine)) as session:
            return session.exec(select(JobRow).where(JobRow.ref == ref)).one()

    log = tmp_path / "worker.log"
    first = start_worker(log)
    try:
        wait_until(lambda: len(pages_stored()) >= 2, log)
        # The kill is to land while its worker process reads a page: caught as it takes one
        # (a whole page's reading ahead of it), frozen while its parent is killed, then let
        # go, to find its parent gone (it looks every 0.2 s) long before it could finish.
        before = {job.ref for job in jobs_in_hand()}
        taken = wait_until(lambda: [j for j in jobs_in_hand() if j.ref not in before], log)
        reader = int((taken[0].leased_by or "").rsplit(":", 1)[1])
        os.kill(reader, signal.SIGSTOP)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        os.kill(reader, signal.SIGCONT)
    finally:
        stop(first)
    interrupted = pages_stored()
    assert scan_row().status == "processing"
    assert 2 <= len(interrupted) < PAGES, "the kill came after the last page"
    # Its worker process held the page in hand, and ended with it: nothing reads on behind
    # its back.
    (in_hand,) = jobs_in_hand()
    holder = in_hand.leased_by or ""
    assert (
        holder.startswith(f"{socket.gethostname()}:")
        and holder != f"{socket.gethostname()}:{first.pid}"
    )
    wait_until(lambda: not _alive(int(holder.rsplit(":", 1)[1])), log)
    assert job_row(in_hand.ref).done_at is None

    second = start_worker(log)
    try:
        wait_until(lambda: scan_row().status == "done", log)
    finally:
        stop(second)

    assert pages_stored() == list(range(PAGES))
    job = job_row(in_hand.ref)
    assert job.done_at is not None and job.attempts == 2
    scan = client.get(f"/api/v1/scans/{scan_id}", headers=STAFF).json()
    assert [p["index"] for p in scan["pages"]] == list(range(PAGES))
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    assert fetched["state"] == "transfer_ready", fetched["checks"]


def _alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting to be reaped (an orphan's new parent, in a
    container, may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
