"""Cases with real pages for the back-office tests: printed, filled in (or not), scanned by the
simulator, uploaded through the API and read by the workers, as in real life."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
from sqlmodel import Session

from cesja import workers
from cesja.casework.forms import issued_form
from cesja.db.models import CaseRow
from cesja.runtime import Runtime
from documents.simulate import make, to_png
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR

Client = httpx.Client  # a TestClient, or a client of the service under uvicorn


def create_case(client: Client, body: dict[str, Any] = CASE_BODY) -> dict[str, Any]:
    answer = client.post("/api/v1/cases", json=body, headers=REGISTRAR)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def scanned_page(runtime: Runtime, case_id: str, scenario: str, *, seed: int = 7) -> bytes:
    """The page `scenario` describes for this case's current form, as a PNG scan."""
    with Session(runtime.engine) as session:
        case = session.get_one(CaseRow, case_id)
        form = issued_form(session, case, runtime.settings)
    capture = make(scenario, form, runtime.settings.keys.keys, np.random.default_rng(seed))
    return to_png(capture)


def send_scan(
    client: Client,
    runtime: Runtime,
    png: bytes,
    *,
    channel: str = "fax",
    sender: str = "+48 22 555 01 02",
) -> str:
    """Upload a scan as the fax gateway does and let the workers read it; returns its id."""
    answer = client.post(
        "/api/v1/scans",
        files={"file": ("scan.png", png, "image/png")},
        data={"channel": channel, "sender": sender},
        headers=INTAKE,
    )
    assert answer.status_code == 202, answer.text
    workers.drain(runtime)
    return answer.json()["id"]  # type: ignore[no-any-return]


def case_with_page(client: Client, runtime: Runtime, scenario: str) -> dict[str, Any]:
    """A new case and one page of it, read; returns the case as the API now shows it."""
    case = create_case(client)
    send_scan(client, runtime, scanned_page(runtime, case["id"], scenario))
    answer = client.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR)
    return answer.json()  # type: ignore[no-any-return]
