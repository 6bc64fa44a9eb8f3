"""Delivery survives the service being killed: `cesja worker` is SIGKILLed between attempts, or
during one, and the notice still arrives after a restart, under the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.db.models import PageRow, WebhookDeliveryRow
from tests.cesja.flow import case_in, create_case, runtime_of
from tests.cesja.processes import wait_until
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.cesja.sent_pages import signed_batch, upload


@pytest.fixture
def webhook_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with receiver() as registrar:
        monkeypatch.setenv("CESJA_WEBHOOK_URL", registrar.url)
        monkeypatch.setenv("CESJA_WEBHOOK_SECRET", SECRET)
        # The first wait becomes 1 to 2 seconds: time to kill the worker before the next try.
        monkeypatch.setenv("CESJA_WEBHOOK_RETRY_SCALE", "0.2")
        yield registrar


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CESJA_WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", "worker"], env=env, stdout=out, stderr=out
        )


def delivery(client: TestClient) -> WebhookDeliveryRow:
    with Session(runtime_of(client).engine) as session:
        return session.exec(select(WebhookDeliveryRow)).one()


def kill(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.fixture
def client(webhook_env: Receiver) -> Iterator[TestClient]:
    from cesja.app import create_app

    with TestClient(create_app()) as c:
        yield c


def test_killed_between_attempts_it_delivers_after_restart(
    client: TestClient, webhook_env: Receiver, tmp_path: Path
) -> None:
    """GIVEN a pending notice and a receiver that fails the first POST
    WHEN `cesja worker` makes that attempt, is SIGKILLed before the next, and is started again
    THEN the restarted worker makes the second attempt when it is due, with the same
    webhook-id, and the notice is delivered: the schedule lived in the database.
    """
    registrar = webhook_env
    registrar.script = [500]
    case = case_in(client, "transfer_ready")
    log = tmp_path / "worker.log"

    first = start_worker(log)
    try:
        wait_until(lambda: delivery(client).attempts == 1)
        kill(first)
    finally:
        stop(first)
    pending = delivery(client)
    assert pending.status == "pending" and len(registrar.received) == 1, log.read_text()
    assert pending.next_attempt_at is not None

    second = start_worker(log)
    try:
        wait_until(lambda: delivery(client).status == "delivered")
    finally:
        stop(second)

    done = delivery(client)
    assert done.attempts == 2 and done.case_id == case["id"]
    assert [r.webhook_id for r in registrar.received] == [done.id, done.id]
    assert all(r.verified for r in registrar.received)
    assert [r.answered for r in registrar.received] == [500, 204]
    # The second POST waited for its turn: it came no earlier than it was scheduled.
    assert done.delivered_at is not None and done.delivered_at >= pending.next_attempt_at


def test_killed_during_an_attempt_it_sends_again_after_restart(
    client: TestClient, webhook_env: Receiver, tmp_path: Path
) -> None:
    """GIVEN a receiver that takes its time answering the first POST
    WHEN the worker is SIGKILLed while it waits for that answer, and is started again
    THEN the job the dead process held is taken up at once and the notice is sent again
    under the same webhook-id (receivers drop the duplicate by it), and delivered.
    """
    registrar = webhook_env
    registrar.script = ["hang"]
    registrar.hang_seconds = 1.5
    case_in(client, "transfer_ready")
    log = tmp_path / "worker.log"

    first = start_worker(log)
    try:
        registrar.wait_for(1)
        kill(first)
    finally:
        stop(first)
    assert delivery(client).attempts == 0, "the attempt's outcome was never recorded"

    second = start_worker(log)
    try:
        wait_until(lambda: delivery(client).status == "delivered")
    finally:
        stop(second)

    done = delivery(client)
    assert [r.webhook_id for r in registrar.received] == [done.id, done.id]
    assert done.attempts == 1


def test_a_ready_case_is_notified_before_a_batch_received_earlier_is_read(
    client: TestClient, webhook_env: Receiver, tmp_path: Path
) -> None:
    """GIVEN both signed pages of a case, then a 12-page batch of another case, received
    before any worker runs
    WHEN `cesja worker`, with one worker process, reads them in the order they came
    THEN the first case's notice reaches the registrar as soon as its pages are read, before
    the batch received earlier than the notice was made is read: a notice's job goes first.
    """
    registrar = webhook_env
    runtime = runtime_of(client)
    ready, batch = create_case(client), create_case(client)
    assert upload(client, signed_batch(runtime, ready["id"], 2, seed=21)).status_code == 202
    answer = upload(client, signed_batch(runtime, batch["id"], 12, seed=22))
    assert answer.status_code == 202, answer.text
    log = tmp_path / "worker.log"

    worker = start_worker(log)
    try:
        registrar.wait_for(1, timeout=120)
        read_then = pages_read(client, answer.json()["id"])
        wait_until(lambda: pages_read(client, answer.json()["id"]) == 12, log, timeout=120)
    finally:
        stop(worker)

    assert registrar.received[0].payload["data"]["case_id"] == ready["id"]
    assert read_then <= 2, f"{read_then} pages of the batch were read before the notice"


def pages_read(client: TestClient, scan_id: str) -> int:
    with Session(runtime_of(client).engine) as session:
        return len(session.exec(select(PageRow).where(PageRow.scan_id == scan_id)).all())
