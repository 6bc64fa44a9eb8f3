"""Cases brought into each state the way the service gets them there: through the API, and
through page readings stored and settled exactly as the scan reader stores and settles them."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.casework import deadlines, lifecycle
from cesja.db.models import CaseRow, PageRow, ScanRow, utcnow
from cesja.runtime import Runtime
from documents.layout import Party
from ocr import FieldReading, InkFinding, PageReading
from tests.conftest import CASE_BODY, REGISTRAR, STAFF

PARTIES: tuple[Party, Party] = ("current_registrant", "new_registrant")
STATES = (
    "awaiting_documents",
    "in_review",
    "transfer_ready",
    "completed",
    "rejected",
    "cancelled",
    "expired",
)


def runtime_of(client: TestClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined,no-any-return]


def create_case(
    client: TestClient, body: dict[str, Any] = CASE_BODY, *, headers: dict[str, str] = REGISTRAR
) -> dict[str, Any]:
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def reading(
    party: Party,
    kind: str,
    *,
    signature_present: bool = True,
    fields: dict[str, FieldReading] | None = None,
) -> PageReading:
    """A clean reading of a party's page routed by its QR code, as the reader makes it: its
    values match, signed, a company's stamped; a missing signature or `fields` read otherwise
    spoil it."""

    def ink(present: bool) -> InkFinding:
        return InkFinding(
            present=present,
            ink_mm2=40.0 if present else 0.0,
            width_mm=30.0,
            height_mm=10.0,
            detail="",
        )

    name = f"{party}.name"
    return PageReading(
        index=0,
        outcome="matched",
        party=party,
        routed_by="qr",
        aligned=True,
        fields=fields
        or {name: FieldReading(name, "Jan", "Jan", score=1.0, verdict="match", confidence=95.0)},
        signature=ink(signature_present),
        stamp=ink(True) if kind == "company" else None,
    )


def add_page(
    runtime: Runtime,
    case_id: str,
    party: Party,
    *,
    channel: str = "post",
    signature_present: bool = True,
    fields: dict[str, FieldReading] | None = None,
) -> str:
    """Store one matched page of the case's current form version and settle the case, in one
    transaction with the case locked, as `cesja.intake.processing` does; returns the case's
    state."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        scan = ScanRow(
            id="SC-" + secrets.token_hex(8).upper(),
            sha256=secrets.token_hex(32),
            channel=channel,
            media_type="application/pdf",
            size=1,
            status="done",
            received_at=utcnow(),
        )
        session.add(scan)
        session.flush()
        case = session.exec(select(CaseRow).where(CaseRow.id == case_id).with_for_update()).one()
        kind = getattr(case, party)["kind"]
        page = PageRow(
            scan_id=scan.id,
            index=0,
            outcome="matched",
            case_id=case_id,
            party=party,
            form_version=case.form_version,
            reading=reading(
                party, kind, signature_present=signature_present, fields=fields
            ).to_dict(),
            created_at=utcnow(),
        )
        session.add(page)
        session.flush()
        lifecycle.page_read(session, runtime.settings, case, page, scan)
        session.commit()
        return case.state


def both_pages(runtime: Runtime, case_id: str, *, channel: str = "post") -> str:
    for party in PARTIES:
        state = add_page(runtime, case_id, party, channel=channel)
    return state


def case_in(client: TestClient, state: str) -> dict[str, Any]:
    """A new case brought into `state` by the events that lead there."""
    runtime = runtime_of(client)
    case = create_case(client)
    case_id = case["id"]
    if state == "in_review":
        assert add_page(runtime, case_id, "current_registrant", signature_present=False) == state
    elif state in ("transfer_ready", "completed"):
        assert both_pages(runtime, case_id) == "transfer_ready"
        if state == "completed":
            answer = client.post(f"/api/v1/cases/{case_id}/transfer-completed", headers=REGISTRAR)
            assert answer.status_code == 200, answer.text
    elif state == "rejected":
        answer = client.post(
            f"/api/v1/cases/{case_id}/reject", json={"reason": "forged"}, headers=STAFF
        )
        assert answer.status_code == 200, answer.text
    elif state == "cancelled":
        answer = client.post(
            f"/api/v1/cases/{case_id}/cancel", json={"reason": "withdrawn"}, headers=REGISTRAR
        )
        assert answer.status_code == 200, answer.text
    elif state == "expired":
        with Session(runtime.engine) as session:
            deadline = session.get_one(CaseRow, case_id).deadline
        swept = deadlines.run(runtime, now=deadline + timedelta(seconds=1))
        assert case_id in swept.expired
    fetched = client.get(f"/api/v1/cases/{case_id}", headers=STAFF).json()
    assert fetched["state"] == state
    return fetched  # type: ignore[no-any-return]


def event_types(client: TestClient, case_id: str) -> list[str]:
    answer = client.get(f"/api/v1/cases/{case_id}/events", headers=STAFF)
    assert answer.status_code == 200, answer.text
    return [e["type"] for e in answer.json()]
