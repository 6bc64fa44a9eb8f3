"""Scale-out, proven: two API nodes and two worker nodes on one PostgreSQL and one scan
directory read a batch of 100 pages exactly once, as the embedded default reads them, with
one notice per ready case, while one worker is killed half-way."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy import select as select_rows
from sqlmodel import Session, col, select

from cesja import intake, workers
from cesja.casework import audit_log
from cesja.config import Settings
from cesja.db import schema_version
from cesja.db.models import (
    CaseDomainRow,
    CaseRow,
    EventRow,
    FormVersionRow,
    JobRow,
    PageRow,
    ScanRow,
)
from cesja.intake.processing import READ_PAGE
from cesja.runtime import Runtime, open_runtime
from documents.simulate import Capture, to_pdf
from tests.cesja.processes import free_port, ready_workers, start, wait_until, worker_processes
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.cesja.sent_pages import clean_scan, form_of, signed_form
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF

pytestmark = pytest.mark.postgres

# Every node signs and checks page codes with the same secret, as a deployment configures it.
SECRET_KEY = "the-one-secret-every-node-of-this-deployment-shares"
# ...and keys the audit trail with the same audit key, another.
AUDIT_KEY = "the-one-audit-key-every-node-of-this-deployment-shares"
CASES = 10
FILES = 10
PAGES_PER_FILE = 10
PARTIES = ("current_registrant", "new_registrant")


def node_env(pg_url: str, scans: Path, data_dir: Path, registrar: Receiver) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CESJA_")}
    environment.update(
        CESJA_DATABASE_URL=pg_url,
        CESJA_SCAN_DIR=str(scans),
        CESJA_DATA_DIR=str(data_dir),
        CESJA_SECRET_KEY=SECRET_KEY,
        CESJA_AUDIT_KEY=AUDIT_KEY,
        CESJA_WEBHOOK_URL=registrar.url,
        CESJA_WEBHOOK_SECRET=SECRET,
    )
    return environment


def stopped(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def batch(captures: list[Capture]) -> list[bytes]:
    """Ten files of ten pages, each page one of the cases' pages, in ten different orders;
    every page of every case is in some file."""
    return [
        to_pdf([captures[(3 * f + 7 * p) % len(captures)] for p in range(PAGES_PER_FILE)])
        for f in range(FILES)
    ]


def comparable(reading: dict[str, Any]) -> dict[str, Any]:
    """A page's reading without how long each step took."""
    return {k: v for k, v in reading.items() if k != "timings_ms"}


@pytest.fixture
def registrar() -> Iterator[Receiver]:
    with receiver() as endpoint:
        yield endpoint


def test_two_api_and_two_worker_nodes_read_a_batch_once_as_one_machine_does(
    pg_url: str, tmp_path: Path, registrar: Receiver
) -> None:
    """GIVEN a fresh PostgreSQL database, a scan directory every node mounts, one secret
    WHEN two `cesja serve` API nodes start at the same moment (each migrating), two
    `cesja worker` nodes join, ten files of ten pages (both pages of ten cases, in different
    orders) are uploaded half to each API, and one worker process is SIGKILLed half-way
    THEN the schema was migrated once to its head; each of the 100 pages is stored exactly once,
    read as the embedded default reads the same files; every case is ready for transfer and
    the registrar got exactly one notice for each; every case's audit trail holds against the
    checkpoints all the nodes appended to the shared scan store.
    """
    scans, log = tmp_path / "scans", tmp_path / "nodes.log"
    envs = [node_env(pg_url, scans, tmp_path / f"node{n}", registrar) for n in range(4)]
    with ExitStack() as stack:
        apis = []
        for env in envs[:2]:
            port = free_port()
            process = start(["serve", "--port", str(port)], log, workers=0, env=env)
            stack.callback(stopped, process)
            apis.append(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
            stack.callback(apis[-1].close)
        wait_until(lambda: all(answers(api) for api in apis), log, timeout=120)

        settings = Settings(
            database_url=pg_url,
            scan_dir=scans,
            data_dir=tmp_path / "test",
            secret_key=SECRET_KEY,
            audit_key=AUDIT_KEY,
        )
        runtime = open_runtime(settings)
        stack.callback(runtime.engine.dispose)
        case_ids, captures = cases_and_pages(apis[0], runtime)
        files = batch(captures)

        nodes = []
        for env in envs[2:]:
            process = start(["worker"], log, workers=1, env=env)
            stack.callback(stopped, process)
            nodes.append(process)
        wait_until(lambda: ready_workers(log) == 2, log, timeout=120)
        scan_ids = []
        for number, data in enumerate(files):
            answer = apis[number % 2].post(
                "/api/v1/scans",
                files={"file": (f"stack-{number}.pdf", data)},
                data={"channel": "post"},
                headers=INTAKE,
            )
            assert answer.status_code == 202, answer.text
            scan_ids.append(answer.json()["id"])

        total = FILES * PAGES_PER_FILE
        wait_until(lambda: len(stored(runtime, scan_ids)) >= total // 2, log, timeout=300)
        (victim,) = worker_processes(nodes[0].pid)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: all_ended(runtime, scan_ids), log, timeout=300)
        registrar.wait_for(CASES, timeout=60)

        pages = stored(runtime, scan_ids)
        fetched = [apis[1].get(f"/api/v1/cases/{c}", headers=STAFF).json() for c in case_ids]

    said = log.read_text()
    assert f"(pid {victim}) was killed by SIGKILL" in said
    assert "Traceback" not in said, said[-3000:]
    assert len(pages) == total == len({(p.scan_id, p.index) for p in pages})
    assert {p.outcome for p in pages} == {"matched"}
    assert page_jobs_done(runtime, scan_ids) == total
    assert [c["state"] for c in fetched] == ["transfer_ready"] * CASES
    assert sorted(r.payload["data"]["case_id"] for r in registrar.received) == sorted(case_ids)
    assert all(r.verified for r in registrar.received)
    # Every node's processes chained events and appended checkpoints to the one shared file,
    # at once, one of them killed on the way: every trail holds against every checkpoint.
    audit = audit_log.verify(runtime)
    assert (audit.file_problems, audit.broken) == ([], [])
    assert len(audit.cases) == CASES

    embedded = read_on_the_embedded_default(runtime, tmp_path / "embedded", files[:2])
    assert schema_version(pg_url) == schema_version(
        Settings(data_dir=tmp_path / "embedded").sqlalchemy_url
    )
    by_page = {(p.scan_id, p.index): comparable(p.reading) for p in pages}
    for number, readings in enumerate(embedded):
        for index, reading in enumerate(readings):
            assert by_page[(scan_ids[number], index)] == reading, (number, index)


def answers(api: httpx.Client) -> bool:
    try:
        return api.get("/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def cases_and_pages(api: httpx.Client, runtime: Runtime) -> tuple[list[str], list[Capture]]:
    """Ten cases created through an API node, and both pages of each, signed and scanned."""
    rng = np.random.default_rng(31)
    case_ids, captures = [], []
    for _ in range(CASES):
        answer = api.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
        assert answer.status_code == 201, answer.text
        case_ids.append(answer.json()["id"])
        form = form_of(runtime, case_ids[-1])
        captures += [
            clean_scan(signed_form(form, party, SECRET_KEY.encode(), rng), rng, dpi=200)
            for party in PARTIES
        ]
    return case_ids, captures


def stored(runtime: Runtime, scan_ids: list[str]) -> list[PageRow]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(PageRow).where(col(PageRow.scan_id).in_(scan_ids))))


def all_ended(runtime: Runtime, scan_ids: list[str]) -> bool:
    with Session(runtime.engine) as session:
        statuses = session.exec(select(ScanRow.status).where(col(ScanRow.id).in_(scan_ids)))
        return all(status in ("done", "failed") for status in statuses)


def page_jobs_done(runtime: Runtime, scan_ids: list[str]) -> int:
    with Session(runtime.engine) as session:
        jobs = session.exec(select(JobRow).where(JobRow.kind == READ_PAGE))
        return sum(
            1 for job in jobs if job.ref.rpartition("/")[0] in scan_ids and job.done_at is not None
        )


def read_on_the_embedded_default(
    source: Runtime, data_dir: Path, files: list[bytes]
) -> list[list[dict[str, Any]]]:
    """The same cases (copied row for row) and the same files, read on SQLite in-process;
    each file's readings, page by page."""
    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY, workers=0)
    embedded = open_runtime(settings)
    try:
        with source.engine.connect() as pg, embedded.engine.begin() as sqlite:
            for model in (CaseRow, CaseDomainRow, FormVersionRow, EventRow):
                table = model.__table__  # type: ignore[attr-defined]
                rows = [dict(row) for row in pg.execute(select_rows(table)).mappings()]
                if rows:
                    sqlite.execute(insert(table), rows)
        scan_ids = [
            intake.receive(embedded, [data], channel="post", sender=None).scan.id for data in files
        ]
        workers.drain(embedded)
        with Session(embedded.engine) as session:
            return [
                [
                    comparable(page.reading)
                    for page in session.exec(
                        select(PageRow)
                        .where(PageRow.scan_id == scan_id)
                        .order_by(col(PageRow.index))
                    )
                ]
                for scan_id in scan_ids
            ]
    finally:
        embedded.engine.dispose()
