"""The customer's link, as a customer and an onlooker meet it: once the case has ended it
says what happened and whom to contact and serves no form; its pages load nothing from
elsewhere, run no script and cannot be framed; its token never reaches the log."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from cesja.app import create_app
from cesja.config import Settings
from cesja.observe import logs
from tests.cesja.flow import case_in, create_case
from tests.conftest import CASE_BODY

CONTACT = "Biuro Rejestratora Przykład, tel. +48 12 345 67 89"
ENDED = {
    "completed": "Cesja została wykonana",
    "rejected": "Sprawa została odrzucona",
    "cancelled": "Sprawa została anulowana",
    "expired": "Termin na przesłanie dokumentów minął",
}
# What `case_in` gives as the reason when it rejects or cancels a case.
REASONS = {"rejected": "forged", "cancelled": "withdrawn"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[TestClient]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    settings = Settings(database_url=url, customer_contact=CONTACT)
    with TestClient(create_app(settings)) as client:
        yield client


def link_of(case: dict[str, object]) -> str:
    return str(case["customer_url"]).removeprefix("http://127.0.0.1:8000")


def test_an_ended_case_says_what_happened_and_serves_no_form(service: TestClient) -> None:
    """GIVEN a case in each of the ways a case ends (completed, rejected, cancelled, expired)
    WHEN its customer opens their link and then asks for the form
    THEN the page says what happened, with the reason given for a rejection or a cancellation,
    and whom to contact (from configuration); it offers no form and shows no party's data;
    the form answers 410 Gone and holds no PDF."""
    for state, said in ENDED.items():
        link = link_of(case_in(service, state))

        page = service.get(link)
        pdf = service.get(f"{link}/form.pdf")

        assert page.status_code == 200, state
        assert said in page.text, state
        assert CONTACT in page.text, state
        if state in REASONS:
            assert f"Powód: {REASONS[state]}" in page.text
        assert "form.pdf" not in page.text, state
        for value in ("92110804566", "5260250995", "biuro@example.pl", "Źródlana"):
            assert value not in page.text, (state, value)
        assert pdf.status_code == 410, state
        assert not pdf.content.startswith(b"%PDF")
        assert CONTACT in pdf.text


def test_an_open_case_still_serves_its_form_and_names_the_contact(service: TestClient) -> None:
    """GIVEN a case whose every check passed (open, waiting for the registrar)
    WHEN its customer opens the link THEN the form is still served, the page names whom to
    contact, and offers no upload: nothing more is needed."""
    link = link_of(case_in(service, "transfer_ready"))
    page = service.get(link).text
    assert CONTACT in page
    assert "/upload" not in page  # nothing more to send
    pdf = service.get(f"{link}/form.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _loads_only_our_own(html: str) -> None:
    assert "<script" not in html.lower()
    assert " style=" not in html.lower() and "<style" not in html.lower()
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith("/") and not url.startswith("//"), url


def test_customer_pages_load_nothing_from_elsewhere_and_cannot_be_framed(
    client: TestClient,
) -> None:
    """GIVEN an open case, an ended one, and a link nobody was given
    WHEN each page and form is fetched
    THEN every page answers with a CSP that allows no script, nothing from another origin and
    no framing, with X-Frame-Options DENY, nosniff, no referrer, no caching, no indexing, and
    the page itself holds no script or inline style; the PDF is nosniff and not cached too."""
    open_link = link_of(create_case(client))
    ended_link = link_of(case_in(client, "cancelled"))
    pages = {
        "open": client.get(open_link),
        "ended": client.get(ended_link),
        "gone form": client.get(f"{ended_link}/form.pdf"),
        "unknown": client.get("/c/" + "A" * 32),
        "unknown form": client.get("/c/" + "A" * 32 + "/form.pdf"),
    }
    assert pages["unknown"].status_code == pages["unknown form"].status_code == 404
    for name, page in pages.items():
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp, name
        assert "frame-ancestors 'none'" in csp, name
        assert "script-src" not in csp and "unsafe-inline" not in csp, name
        assert page.headers["x-frame-options"] == "DENY", name
        assert page.headers["x-content-type-options"] == "nosniff", name
        assert page.headers["referrer-policy"] == "no-referrer", name
        assert page.headers["cache-control"] == "no-store", name
        assert "noindex" in page.headers["x-robots-tag"], name
        _loads_only_our_own(page.text)
    pdf = client.get(f"{open_link}/form.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-type-options"] == "nosniff"
    assert pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["referrer-policy"] == "no-referrer"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def logged(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], list[str]]]:
    """Log lines as `cesja serve` writes them (JSON on standard error): what was logged so
    far, each time it is called; the service it logs for on either database."""
    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    root, client = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, client_level = root.handlers[:], root.level, client.level
    logs.setup("json")
    # The test's own HTTP client logs each URL it asks for; only the service's lines count.
    client.setLevel(logging.WARNING)
    try:
        yield lambda: stderr.getvalue().splitlines()
    finally:
        root.handlers[:], root.level = handlers, level
        client.setLevel(client_level)


def serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=True)  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def test_the_token_never_reaches_the_log(logged: Callable[[], list[str]]) -> None:
    """GIVEN the service logging JSON lines with its access log
    WHEN a customer opens their link and the form, sends a file that is refused, and someone
    tries a wrong link
    THEN the access log shows each request as `/c/…`, and no line holds a token."""
    app = create_app()
    server, thread, url = serve(app)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            made = http.post(
                "/api/v1/cases", json=CASE_BODY, headers={"Authorization": "Bearer dev-registrar"}
            )
            token = made.json()["customer_url"].rsplit("/", 1)[1]
            assert http.get(f"/c/{token}").status_code == 200
            assert http.get(f"/c/{token}/form.pdf?x=1").status_code == 200
            assert http.get("/c/wrong-token-abcdef/form.pdf").status_code == 404
            sent = http.post(
                f"/c/{token}/upload",
                files={"file": ("a.pdf", b"not a scan", "application/pdf")},
                headers={"Origin": url},
            )
            assert sent.status_code == 415
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    lines = logged()
    said = [json.loads(line) for line in lines if line.startswith("{")]
    access = [line["message"] for line in said if line["logger"] == "uvicorn.access"]
    assert sum("GET /c/… " in m for m in access) == 1, access
    assert sum("GET /c/…/form.pdf" in m for m in access) == 2, access
    assert sum("POST /c/…/upload" in m for m in access) == 1, access
    assert all(token not in line and "wrong-token" not in line for line in lines)
