"""Fixtures for the back-office tests: a signed-in staff browser session over HTTP, and a real
service on a free port with Debian's chromium driving it."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from cesja.runtime import Runtime

ORIGIN = {"Origin": "http://testserver"}  # what a browser sends with a form post from our page

# What the machine notes say Chromium needs here: no sandbox as root, and no attempt to reach
# Google's services on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(client: TestClient, key: str = "dev-staff") -> httpx.Response:
    return client.post(
        "/sign-in", data={"key": key, "next": "/"}, headers=ORIGIN, follow_redirects=False
    )


@pytest.fixture
def staff(client: TestClient) -> TestClient:
    """The service's client, signed in to the back office with the staff key."""
    answer = sign_in(client)
    assert answer.status_code == 303, answer.text
    return client


@dataclass
class LiveService:
    url: str
    runtime: Runtime
    api: httpx.Client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_service(data_dir: Path) -> Iterator[LiveService]:
    """The service under uvicorn in a background thread, workers off (tests drain them)."""
    from cesja.app import create_app

    app = create_app()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start under uvicorn")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as api:
            yield LiveService(url, app.state.runtime, api)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "the browser tests need Debian's chromium on PATH: apt-get install chromium "
            "(playwright's own browser download does not work here)"
        )
    return path
