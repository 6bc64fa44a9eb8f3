"""The API with many clients at once: reads run beside a writer, writers queue without failing,
a lock held too long is a quick 503 with Retry-After, and `cesja serve` answers from several
processes. Throughput and latency are measured by bench/load.py, not here."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, InvalidRequestError
from sqlmodel import Session, select

from cesja.app import create_app
from cesja.casework.cases import new_case
from cesja.casework.schemas import CaseCreate
from cesja.config import Settings
from cesja.db import LOCK_WAIT_SECONDS, make_engine, migrate, read_only
from cesja.db.models import CaseRow
from tests.cesja.flow import create_case
from tests.cesja.processes import wait_until
from tests.conftest import CASE_BODY, REGISTRAR

# A lock wait must end in a 503 this quickly, never after the old 30 s.
QUICKLY = LOCK_WAIT_SECONDS + 5
WORKER_READY = re.compile(r"\[(\d+)\]: worker process 0 ready")
OTHER_API_READY = re.compile(r"uvicorn\.error\[(\d+)\]: Application startup complete")


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Every call from a thread of its own, all started together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def holding_the_write_lock(database: Path) -> sqlite3.Connection:
    """Another connection (as a worker process's would be) in a write transaction, not ending."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=0)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE cases SET updated_at = updated_at")
    return conn


def test_reads_answer_while_another_connection_holds_the_write_lock(
    client: TestClient, data_dir: Path
) -> None:
    """GIVEN five cases, and another connection holding SQLite's write lock, not letting go
    WHEN 35 clients at once read the cases, list them by state, fetch their events, and ask
    /healthz
    THEN every one is answered 200 with what was committed before the lock was taken, and the
    service says it is healthy.
    """
    ids = [create_case(client)["id"] for _ in range(5)]
    writer = holding_the_write_lock(data_dir / "cesja.sqlite3")
    try:
        paths = [
            *(f"/api/v1/cases/{ids[i % 5]}" for i in range(20)),
            *("/api/v1/cases?state=awaiting_documents&limit=20" for _ in range(5)),
            *(f"/api/v1/cases/{ids[i]}/events" for i in range(5)),
            *("/healthz" for _ in range(5)),
        ]
        answers = at_once([lambda p=p: client.get(p, headers=REGISTRAR) for p in paths])
    finally:
        writer.rollback()
        writer.close()

    assert [a.status_code for a in answers] == [200] * 35, [a.text for a in answers]
    assert {a.json()["id"] for a in answers[:20]} == set(ids)
    assert all(a.json()["count"] == 5 for a in answers[20:25])
    assert all(a.json() == {"status": "ok"} for a in answers[30:])


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_unit_of_work_that_only_reads_refuses_a_write_and_sees_the_newest_commits(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """GIVEN the engine for reads (on PostgreSQL its statements commit alone, no BEGIN)
    WHEN a read looks at a case a writer committed a moment before, then tries to change it
    THEN it sees the commit, and the change is refused before it reaches the database, on
    both databases: the case stays as it was."""
    url = (
        request.getfixturevalue("pg_url")
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'cesja.sqlite3'}"
    )
    migrate(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            session.add(new_case(CaseCreate(**CASE_BODY), deadline_days=14))
            session.commit()
        with Session(read_only(engine)) as session:
            case = session.exec(select(CaseRow)).one()
            assert case.external_ref == CASE_BODY["external_ref"]
            with pytest.raises((DBAPIError, InvalidRequestError)):
                session.exec(update(CaseRow).values(external_ref="CHANGED"))
        with Session(engine) as session:
            assert session.exec(select(CaseRow.external_ref)).one() == CASE_BODY["external_ref"]
    finally:
        engine.dispose()


def test_a_write_waiting_too_long_for_the_lock_is_a_quick_503_with_retry_after(
    client: TestClient, data_dir: Path
) -> None:
    """GIVEN another connection holding SQLite's write lock and not letting go
    WHEN the registrar creates a case
    THEN within seconds (not 30) it is answered 503, code database_unavailable, with
    Retry-After, and nothing was stored; once the lock is let go, the same request is 201.
    """
    writer = holding_the_write_lock(data_dir / "cesja.sqlite3")
    try:
        started = time.monotonic()
        refused = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
        waited = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "database_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert waited < QUICKLY
    assert client.get("/api/v1/cases", headers=REGISTRAR).json()["count"] == 0
    assert client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR).status_code == 201


def test_many_writers_and_readers_at_once_are_all_answered(client: TestClient) -> None:
    """GIVEN the embedded database, one writer at a time
    WHEN 40 registrar clients at once create cases while 40 others read and list them
    THEN every create is answered 201 and every read 200: writers wait for their turn, none
    fails because another holds the lock, and each case was stored once, with its audit trail.
    """
    ids = [create_case(client)["id"] for _ in range(4)]
    creates: list[Callable[[], Any]] = [
        lambda i=i: client.post(
            "/api/v1/cases", json={**CASE_BODY, "external_ref": f"LOAD-{i}"}, headers=REGISTRAR
        )
        for i in range(40)
    ]
    reads: list[Callable[[], Any]] = [
        lambda i=i: client.get(
            f"/api/v1/cases/{ids[i % 4]}" if i % 2 else "/api/v1/cases?limit=20",
            headers=REGISTRAR,
        )
        for i in range(40)
    ]
    answers = at_once([c for pair in zip(creates, reads, strict=True) for c in pair])

    made, read = answers[0::2], answers[1::2]
    assert [a.status_code for a in made] == [201] * 40, [a.text for a in made]
    assert [a.status_code for a in read] == [200] * 40, [a.text for a in read]
    listed = client.get("/api/v1/cases?limit=100", headers=REGISTRAR).json()
    assert listed["count"] == 44
    assert sorted(c["external_ref"] for c in listed["items"] if c["id"] not in ids) == sorted(
        f"LOAD-{i}" for i in range(40)
    )
    trail = client.get(f"/api/v1/cases/{made[0].json()['id']}/events", headers=REGISTRAR)
    assert [e["type"] for e in trail.json()] == ["case_created"]


def test_writes_queued_together_are_committed_together_and_a_refused_one_changes_nothing(
    client: TestClient, data_dir: Path
) -> None:
    """GIVEN an open case, a cancelled one, and another connection holding SQLite's write lock
    WHEN 20 creates, a reissue of the open case and one of the cancelled case (refused) are
    sent at once, queue behind it, and the lock is let go
    THEN each create is 201 and stored with its own audit trail, the good reissue is version 2,
    the refused one is 409 and its case is as it was: the writes that waited together are
    committed together, and the one refused among them takes nothing of the others with it.
    """
    open_case, cancelled = create_case(client)["id"], create_case(client)["id"]
    reason = {"reason": "the customer withdrew"}
    assert client.post(f"/api/v1/cases/{cancelled}/cancel", json=reason, headers=REGISTRAR)
    moved = {**CASE_BODY["new_registrant"], "address": {**CASE_BODY["new_registrant"]["address"]}}
    moved["address"]["street"] = "ul. Floriańska 3"
    calls: list[Callable[[], Any]] = [
        lambda i=i: client.post(
            "/api/v1/cases", json={**CASE_BODY, "external_ref": f"TOGETHER-{i}"}, headers=REGISTRAR
        )
        for i in range(20)
    ]
    for case_id in (open_case, cancelled):
        calls.insert(
            10,
            lambda case_id=case_id: client.post(
                f"/api/v1/cases/{case_id}/reissue",
                json={"new_registrant": moved},
                headers=REGISTRAR,
            ),
        )
    writer = holding_the_write_lock(data_dir / "cesja.sqlite3")
    with ThreadPoolExecutor(1) as background:
        sent = background.submit(at_once, calls)
        time.sleep(1.0)  # all of them waiting for the lock, well within its 5 s
        writer.rollback()
        writer.close()
        answers = sent.result()

    refused, reissued = answers[10], answers[11]
    made = answers[:10] + answers[12:]
    assert [a.status_code for a in made] == [201] * 20, [a.text for a in made]
    assert reissued.status_code == 200, reissued.text
    assert reissued.json()["form_version"] == 2
    assert reissued.json()["new_registrant"]["address"]["street"] == "ul. Floriańska 3"
    assert refused.status_code == 409, refused.text
    after = client.get(f"/api/v1/cases/{cancelled}", headers=REGISTRAR).json()
    assert (after["state"], after["form_version"]) == ("cancelled", 1)
    assert after["new_registrant"] == CASE_BODY["new_registrant"]
    with sqlite3.connect(data_dir / "cesja.sqlite3") as stored:
        refs = [r for (r,) in stored.execute("SELECT external_ref FROM cases")]
        trails = dict(stored.execute("SELECT case_id, count(*) FROM events GROUP BY case_id"))
    assert sorted(r for r in refs if r.startswith("TOGETHER-")) == sorted(
        f"TOGETHER-{i}" for i in range(20)
    )
    assert all(trails[a.json()["id"]] == 1 for a in made)
    for case_id in (open_case, cancelled):
        trail = client.get(f"/api/v1/cases/{case_id}/events", headers=REGISTRAR).json()
        assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    assert [
        e["type"] for e in client.get(f"/api/v1/cases/{cancelled}/events", headers=REGISTRAR).json()
    ][-1] != "form_reissued"


def test_clients_fetching_forms_at_once_each_get_their_pdf(client: TestClient) -> None:
    """GIVEN eight cases, and threads switching as often as the interpreter allows (what a
    busy service does now and then)
    WHEN eight clients fetch the forms, 25 times each, all at once
    THEN each of the 200 answers is 200 with a whole PDF of the case asked for.
    (reportlab's shared fonts, subset by two documents at once, failed a few in 200.)
    """
    ids = [create_case(client)["id"] for _ in range(8)]

    def fetch(n: int) -> list[tuple[int, bytes]]:
        answers = [
            client.get(f"/api/v1/cases/{ids[n]}/form.pdf", headers=REGISTRAR) for _ in range(25)
        ]
        return [(a.status_code, a.content) for a in answers]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.00002)
    try:
        fetched = at_once([lambda n=n: fetch(n) for n in range(8)])
    finally:
        sys.setswitchinterval(interval)

    for n, answers in enumerate(fetched):
        assert [status for status, _ in answers] == [200] * 25
        assert {len(pdf) for _, pdf in answers} == {len(answers[0][1])}
        pages = PdfReader(io.BytesIO(answers[0][1])).pages
        assert len(pages) == 2 and ids[n] in pages[0].extract_text()


@pytest.mark.postgres
def test_on_postgresql_a_row_lock_held_too_long_is_a_quick_503_and_reads_go_on(
    data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the scale-out mode, and a case whose row another transaction holds locked
    WHEN the registrar reads it, and then reissues its form
    THEN the read is answered 200 at once; the reissue, waiting on the row, is answered 503
    with Retry-After within seconds, and the case is unchanged.
    """
    monkeypatch.setenv("CESJA_DATABASE_URL", pg_url)
    with TestClient(create_app(Settings())) as client:
        case = create_case(client)
        with psycopg.connect(pg_url.replace("+psycopg", "")) as other:
            other.execute("SELECT 1 FROM cases WHERE id = %s FOR UPDATE", (case["id"],))
            read = client.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR)
            started = time.monotonic()
            refused = client.post(
                f"/api/v1/cases/{case['id']}/reissue",
                json={"domains": ["example.pl"]},
                headers=REGISTRAR,
            )
            waited = time.monotonic() - started
            other.rollback()
        after = client.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()

    assert read.status_code == 200, read.text
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "database_unavailable"
    assert int(refused.headers["Retry-After"]) > 0
    assert waited < QUICKLY
    assert (after["form_version"], after["domains"]) == (1, case["domains"])


# --- `cesja serve` answering from several processes ---------------------------------------------


def cpu_seconds(pid: int) -> float:
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def children_of(parent: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X"):
            found.add(int(stat.parent.name))
    return found


def test_serve_answers_from_two_api_processes_and_stops_them_all(
    data_dir: Path, tmp_path: Path
) -> None:
    """GIVEN `cesja serve` with CESJA_API_PROCESSES=2 (and one worker process)
    WHEN 20 clients send 300 requests at once, creating and reading cases
    THEN every request is answered, both API processes did part of the work, the cases are
    in the one database; and on SIGTERM the service exits 0 leaving no process behind.
    """
    port = _free_port()
    log = tmp_path / "serve.log"
    process = _serve_from_two_api_processes(port, log, workers=1)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until(lambda: _answers(url) and WORKER_READY.search(log.read_text()), log)
        children = children_of(process.pid)
        # The other API process, the worker process, multiprocessing's resource tracker.
        others = {pid: cpu_seconds(pid) for pid in children if pid != int(ready.group(1))}

        def client_session(n: int) -> list[int]:
            statuses = []
            with httpx.Client(base_url=url, headers=REGISTRAR, timeout=30) as http:
                for i in range(15):
                    if i % 3 == 0:
                        body = {**CASE_BODY, "external_ref": f"SERVE-{n}-{i}"}
                        statuses.append(http.post("/api/v1/cases", json=body).status_code)
                    else:
                        statuses.append(http.get("/api/v1/cases?limit=5").status_code)
            return statuses

        statuses = at_once([lambda n=n: client_session(n) for n in range(20)])
        worked = [pid for pid, before in others.items() if cpu_seconds(pid) - before > 0.2]
        listed = httpx.get(f"{url}/api/v1/cases?limit=1", headers=REGISTRAR).json()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert sorted({s for run in statuses for s in run}) == [200, 201], statuses
    assert worked, "no process but the first answered"
    assert listed["count"] == 100
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), log, 10)


def test_serve_spreads_its_clients_connections_over_its_api_processes(
    data_dir: Path, tmp_path: Path
) -> None:
    """GIVEN `cesja serve` with two API processes, and 30 clients that connected while the
    other API process could not accept (stopped, as a busy or swapped-out process is slow to)
    WHEN the clients go on sending requests, each on a keep-alive connection of its own
    THEN every request is answered, and the connections come to be spread evenly over the
    two processes (a process holding more answers each of its clients more slowly);
    AND WHEN the other API process is then killed (SIGKILL)
    THEN the service says so, and the first serves every client on its keep-alive connection,
    letting none go for balance's sake (there is nowhere else for it to land).
    """
    port = _free_port()
    log = tmp_path / "serve.log"
    process = _serve_from_two_api_processes(port, log, workers=0)

    def connect(count: int) -> list[httpx.Client]:
        return [
            httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=REGISTRAR, timeout=30)
            for _ in range(count)
        ]

    clients, survivors = connect(30), connect(10)
    done = threading.Event()

    def go_on(client: httpx.Client) -> set[int]:
        statuses = set()
        while not done.is_set():
            statuses.add(client.get("/api/v1/cases?limit=1").status_code)
        return statuses

    def spread() -> list[int]:
        return [_connections_held(pid, port) for pid in (process.pid, other)]

    try:
        other = int(wait_until(lambda: OTHER_API_READY.search(log.read_text()), log).group(1))
        os.kill(other, signal.SIGSTOP)
        try:
            first = at_once(
                [lambda c=c: c.get("/api/v1/cases?limit=1").status_code for c in clients]
            )
        finally:
            os.kill(other, signal.SIGCONT)
        with ThreadPoolExecutor(len(clients)) as pool:
            running = [pool.submit(go_on, client) for client in clients]
            try:
                # A connection let go of is opened again with its client's next request.
                held = wait_until(
                    lambda: (h := spread()) and sum(h) >= 28 and max(h) - min(h) <= 2 and h,
                    log,
                    timeout=30,
                )
            finally:
                done.set()
            statuses = set().union(*(r.result() for r in running))
        for client in clients:
            client.close()
        wait_until(lambda: spread() == [0, 0], log, timeout=10)

        os.kill(other, signal.SIGKILL)
        wait_until(lambda: f"API process {other} ended" in log.read_text(), log, timeout=10)
        after = at_once(
            [
                lambda c=c: {c.get("/api/v1/cases?limit=1").status_code for _ in range(5)}
                for c in survivors
            ]
        )
        held_alone = _connections_held(process.pid, port)
    finally:
        for client in [*clients, *survivors]:
            client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    assert set(first) == {200}
    assert statuses == {200}
    assert min(held) >= 13, held
    assert set().union(*after) == {200}
    assert held_alone == len(survivors)


def _serve_from_two_api_processes(port: int, log: Path, *, workers: int) -> subprocess.Popen[bytes]:
    """`cesja serve` on `port` with two API processes and `workers` worker processes, saying
    what it says into `log`."""
    env = {**os.environ, "CESJA_API_PROCESSES": "2", "CESJA_WORKERS": str(workers)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )


def _connections_held(pid: int, port: int) -> int:
    """Established TCP connections to `port` that process `pid` holds open."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    held = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
        held += local_port == port and state == "01" and inode in sockets
    return held


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
