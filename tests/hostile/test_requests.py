"""Requests from callers who may not make them are answered from their headers: a missing,
unknown or wrong-role key gets its 401 or 403 before the service reads a byte of the body,
shown against `cesja serve` over a raw socket that announces 50 MB and sends none of it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cesja.processes import wait_until
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF

FIFTY_MB = 50 * 1024 * 1024
MULTIPART = "multipart/form-data; boundary=cesja-boundary"
JSON = "application/json"
PROMPTLY = 0.5  # seconds: an answer from the headers alone, on a busy two-core machine


@dataclass
class Service:
    port: int
    url: str
    case_id: str
    scans: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`cesja serve` on a free port and a data dir of its own, workers off, holding one case;
    one for the module (it takes seconds to start), stopped afterwards. One API process that
    runs one request at a time: a request that held the turn while it waited for its body
    would keep every other caller waiting."""
    home = tmp_path_factory.mktemp("serve")
    port, log, data_dir = _free_port(), home / "serve.log", home / "var"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CESJA_")}
    env.update(
        CESJA_DATA_DIR=str(data_dir),
        CESJA_WORKERS="0",
        CESJA_API_PROCESSES="1",
        CESJA_API_CONCURRENCY="1",
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", "serve", "--port", str(port)],
            env=env,
            cwd=home,  # no `.env` of the developer's is read
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: process.poll() is None and answers(), log)
        created = httpx.post(f"{url}/api/v1/cases", json=CASE_BODY, headers=REGISTRAR, timeout=10)
        assert created.status_code == 201, created.text
        yield Service(port, url, created.json()["id"], data_dir / "scans")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float


def headers_only(port: int, path: str, headers: dict[str, str], length: int = FIFTY_MB) -> Answer:
    """POST `path` with headers that announce a body of `length` bytes, and send none of it."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        body = response.read()
        return Answer(response.status, response.headers, body, time.monotonic() - started)


def tree(root: Path) -> list[str]:
    """What the scan store holds, but for the audit trail's checkpoint file, which the
    service appends to in the background after its own writes (the case made at start)."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.relative_to(root).parts[0] != "audit"
    )


REFUSED = [
    # (what, path, headers, status, code)
    ("upload, no key", "/api/v1/scans", {}, 401, "unauthenticated"),
    (
        "upload, unknown key",
        "/api/v1/scans",
        {"Authorization": "Bearer not-a-key"},
        401,
        "unauthenticated",
    ),
    (
        "upload, not a bearer key",
        "/api/v1/scans",
        {"Authorization": "Basic ZGV2LWludGFrZTo="},
        401,
        "unauthenticated",
    ),
    ("upload, registrar", "/api/v1/scans", REGISTRAR, 403, "forbidden"),
    ("new case, intake", "/api/v1/cases", INTAKE, 403, "forbidden"),
    (
        "decision, registrar",
        "/api/v1/cases/{case}/checks/new_registrant.page_received",
        REGISTRAR,
        403,
        "forbidden",
    ),
    ("cancel, intake", "/api/v1/cases/{case}/cancel", INTAKE, 403, "forbidden"),
    ("new case, no key", "/api/v1/cases", {}, 401, "unauthenticated"),
    ("no such path, no key", "/api/v1/no-such-thing", {}, 401, "unauthenticated"),
]


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [(path, headers, status, code) for _, path, headers, status, code in REFUSED],
    ids=[what for what, *_ in REFUSED],
)
def test_a_caller_who_may_not_is_answered_before_the_body_is_sent(
    service: Service, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    """GIVEN `cesja serve`
    WHEN a caller without a key, with an unknown one or with a key of a role the call does not
    let in, sends the headers of a 50 MB upload or JSON body, and nothing of the body
    THEN the 401 or 403 comes at once (in well under a second) with the API's error body, a
    401 saying how to authenticate; nothing is written to the scan store.
    """
    content_type = MULTIPART if path.endswith("/scans") else JSON
    before = tree(service.scans)

    answer = headers_only(
        service.port,
        path.format(case=service.case_id),
        {**headers, "Content-Type": content_type},
    )

    assert answer.status == status, answer.body
    assert answer.seconds < PROMPTLY, f"answered after {answer.seconds:.2f} s"
    body = httpx.Response(status, content=answer.body).json()
    assert body["error"] == code and body["message"], body
    if status == 401:
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    else:
        assert "may not do this" in body["message"]
    assert tree(service.scans) == before


def test_an_allowed_caller_s_body_is_waited_for(service: Service) -> None:
    """GIVEN `cesja serve`
    WHEN the fax gateway, whose role may upload, sends the same headers of a 50 MB upload and
    nothing of the body
    THEN no answer comes within a second: the service waits to read the body it may now read
    (what the refusals above were spared); and it answers other callers meanwhile.
    """
    head = (
        f"POST /api/v1/scans HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {FIFTY_MB}\r\n"
        f"Authorization: {INTAKE['Authorization']}\r\nContent-Type: {MULTIPART}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", service.port), timeout=1) as sock:
        sock.sendall(head.encode())
        other = httpx.get(f"{service.url}/api/v1/cases/{service.case_id}", headers=STAFF)
        assert other.status_code == 200
        with pytest.raises(TimeoutError):
            sock.recv(1024)


def test_callers_who_send_their_bodies_slowly_keep_no_one_waiting(service: Service) -> None:
    """GIVEN `cesja serve` answering from one process, one request at a time
    WHEN three callers announce a case's JSON and two a 50 MB upload, and send nothing more
    THEN another caller's read is answered at once, and so is a case created meanwhile: a
    request waits for its turn only once its body is in hand, and an upload takes no turn.
    """
    small = {"Authorization": REGISTRAR["Authorization"], "Content-Type": JSON}
    large = {"Authorization": INTAKE["Authorization"], "Content-Type": MULTIPART}
    silent = []
    try:
        for headers, length in [(small, 400)] * 3 + [(large, FIFTY_MB)] * 2:
            sock = socket.create_connection(("127.0.0.1", service.port), timeout=5)
            silent.append(sock)
            lines = [f"POST /api/v1/{'cases' if length == 400 else 'scans'} HTTP/1.1"]
            lines += ["Host: 127.0.0.1", f"Content-Length: {length}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        time.sleep(0.2)  # the service has them all

        started = time.monotonic()
        read = httpx.get(f"{service.url}/api/v1/cases/{service.case_id}", headers=STAFF, timeout=5)
        created = httpx.post(
            f"{service.url}/api/v1/cases", json=CASE_BODY, headers=REGISTRAR, timeout=5
        )

        assert read.status_code == 200 and created.status_code == 201, created.text
        assert time.monotonic() - started < 2 * PROMPTLY + 1
    finally:
        for sock in silent:
            sock.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer not-a-key"}, 401), (INTAKE, 403), (REGISTRAR, 422)],
    ids=["no-key", "unknown-key", "intake", "registrar"],
)
def test_malformed_json_is_judged_only_for_a_caller_who_may_send_it(
    service: Service, headers: dict[str, str], status: int
) -> None:
    """GIVEN `cesja serve`
    WHEN a body that is not JSON at all is sent to create a case, without a key, with an
    unknown key, with the fax gateway's key and with the registrar's
    THEN only the registrar, who may create cases, learns that the body is invalid (422); the
    others get 401 or 403, as for any other body.
    """
    answer = httpx.post(
        f"{service.url}/api/v1/cases",
        content=b'{"domains": ["example.pl", ',
        headers={**headers, "Content-Type": JSON},
        timeout=5,
    )

    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == {401: "unauthenticated", 403: "forbidden"}.get(
        status, "invalid_input"
    )
