"""Cases brought into each state the way the service gets them there: through the API, and
through page readings stored and settled exactly as the scan reader stores and settles them."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja import deadlines, lifecycle
from cesja.models import CaseRow, PageRow, ScanRow, utcnow
from cesja.runtime import Runtime
from tests.conftest import CASE_BODY, REGISTRAR, STAFF

PARTIES = ("current_registrant", "new_registrant")
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


def reading(party: str, kind: str, **overrides: Any) -> dict[str, Any]:
    """A clean reading of a party's page, as the reader stores it; overrides spoil it."""
    value: dict[str, Any] = {
        "outcome": "matched",
        "routed_by": "qr",
        "code_valid": True,
        "fields_match": True,
        "signature_present": True,
        "stamp_present": True if kind == "company" else None,
        "unaltered": True,
        "fields": {},
        "altered_fields": [],
    }
    value.update(overrides)
    return value


def add_page(
    runtime: Runtime, case_id: str, party: str, *, channel: str = "post", **overrides: Any
) -> str:
    """Store one matched page of the case's current form version and settle the case, in one
    transaction with the case locked, as `cesja.processing` does; returns the case's state."""
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
            reading=reading(party, kind, **overrides),
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
