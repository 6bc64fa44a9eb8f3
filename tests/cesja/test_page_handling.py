"""Pages that count for no case, handled by staff through the API: a page nothing could route
is assigned to a case and party by hand and then read against that case like a routed page;
a page is dismissed with a reason; neither happens to a page that must not count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja import workers
from cesja.db.models import JobRow, PageRow, utcnow
from cesja.intake.handling import READ_ASSIGNED_PAGE
from documents import layout, page_code
from documents.simulate import Paper, paste_qr, to_pdf
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import clean_scan, form_of, signed_form, upload
from tests.conftest import INTAKE, REGISTRAR, STAFF

WHY = "the fax lost the code; the customer confirmed by phone it is her page"


def without_code_and_number(paper: Paper) -> Paper:
    """The page with its QR code and its printed case number gone (a torn corner, a fax
    that lost the top of the page): nothing on it says which case it is."""
    for box in (layout.QR_CODE, layout.CASE_NUMBER):
        x0, y0, x1, y1 = paper.box_px(box)
        paper.pixels[y0:y1, x0:x1] = 255
    return paper


def sent(client: TestClient, paper: Paper, rng: np.random.Generator) -> dict[str, Any]:
    """The page uploaded and read; the scan as the API shows it."""
    answer = upload(client, to_pdf([clean_scan(paper, rng)]))
    assert answer.status_code == 202, answer.text
    workers.drain(runtime_of(client))
    return scan_of(client, answer.json()["id"])


def scan_of(client: TestClient, scan_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/scans/{scan_id}", headers=STAFF)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def assign(client: TestClient, scan_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/scans/{scan_id}/pages/0/assign", json=body, headers=STAFF)


def case_with_lost_page(client: TestClient, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A case, and the new registrant's signed page of it scanned without its code or case
    number, uploaded and read: the case and the scan as the API shows them."""
    runtime = runtime_of(client)
    case = create_case(client)
    rng = np.random.default_rng(seed)
    paper = signed_form(
        form_of(runtime, case["id"]), "new_registrant", runtime.settings.keys.keys, rng
    )
    scan = sent(client, without_code_and_number(paper), rng)
    assert [p["outcome"] for p in scan["pages"]] == ["unmatched"]
    return case, scan


@pytest.fixture
def lost_page(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    return case_with_lost_page(client, seed=21)


def test_a_page_assigned_by_hand_is_read_against_its_case_and_waits_for_a_person(
    client: TestClient, lost_page: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN the new registrant's signed page, its code and case number gone: unmatched
    WHEN staff assign it to the case as the new registrant's page, with a reason
    THEN it is `assigned` at once, and once a worker has read it, `matched` to that case and
    party: every value of the party reads as printed and its signature is found, but its
    `page_received` check fails (no code proved it is ours), so the case is in review for a
    person; the case's audit
    trail says who assigned it and why."""
    case, scan = lost_page
    answer = assign(client, scan["id"], case_id=case["id"], party="new_registrant", reason=WHY)
    assert answer.status_code == 202, answer.text
    assert answer.json()["pages"][0]["outcome"] == "assigned"

    workers.drain(runtime_of(client))

    (page,) = scan_of(client, scan["id"])["pages"]
    assert (page["case_id"], page["party"], page["outcome"]) == (
        case["id"],
        "new_registrant",
        "matched",
    )
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    checks = {c["name"]: c for c in fetched["checks"]}
    # Every value of the party read as printed; only the torn-off case number is missing.
    assert checks["new_registrant.fields_match"]["detail"].endswith("match the case: case_number.")
    assert checks["new_registrant.signature_present"]["status"] == "passed"
    assert checks["new_registrant.page_received"]["status"] == "failed"
    assert (
        "assigned to the case by a member of staff"
        in checks["new_registrant.page_received"]["detail"]
    )
    assert fetched["state"] == "in_review"
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    (assigned,) = [e for e in events if e["type"] == "page_assigned"]
    assert assigned["actor"].startswith("staff:")
    assert assigned["data"]["reason"] == WHY
    assert assigned["data"]["was"] == "unmatched"
    assert [e["type"] for e in events].index("page_read") > events.index(assigned)


def test_only_staff_assign_and_only_a_page_nothing_routed(
    client: TestClient, lost_page: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN an unmatched page and a case
    WHEN the fax gateway or the registrar try to assign it, staff name a case that does not
    exist, a party that does not exist, or no reason, or assign it twice
    THEN each is refused with what is wrong, and the page is assigned once."""
    case, scan = lost_page
    body = {"case_id": case["id"], "party": "new_registrant", "reason": WHY}
    path = f"/api/v1/scans/{scan['id']}/pages/0/assign"
    assert client.post(path, json=body, headers=INTAKE).status_code == 403
    assert client.post(path, json=body, headers=REGISTRAR).status_code == 403
    assert assign(client, scan["id"], **{**body, "case_id": "CS-0000-0000"}).status_code == 404
    refused = assign(client, scan["id"], **{**body, "party": "someone_else"})
    assert refused.status_code == 422 and "party" in refused.text
    assert assign(client, scan["id"], **{**body, "reason": " "}).status_code == 422
    missing = client.post(f"/api/v1/scans/{scan['id']}/pages/7/assign", json=body, headers=STAFF)
    assert missing.status_code == 404

    assert assign(client, scan["id"], **body).status_code == 202
    again = assign(client, scan["id"], **body)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "page_not_handled"


def test_a_page_with_a_forged_code_is_never_assigned_but_may_be_dismissed(
    client: TestClient,
) -> None:
    """GIVEN a page whose QR code fails its MAC (a forgery's mark): invalid_code
    WHEN staff try to assign it to the case it claims, then dismiss it with a reason
    THEN the assignment is refused 409 saying why, the dismissal is taken: the page is
    `dismissed`, no longer among the pages to look at, and dismissing it again is refused."""
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client)
    rng = np.random.default_rng(22)
    paper = signed_form(form_of(runtime, case["id"]), "new_registrant", key, rng)
    code = page_code.PageCode(case["id"], 1, "new_registrant")
    paste_qr(paper, page_code.encode(code, b"another key entirely, not ours!!"))
    scan = sent(client, paper, rng)
    assert [p["outcome"] for p in scan["pages"]] == ["invalid_code"]

    refused = assign(client, scan["id"], case_id=case["id"], party="new_registrant", reason=WHY)
    assert refused.status_code == 409
    assert "invalid_code" in refused.json()["message"]

    staff = client
    assert staff.post("/sign-in", data={"key": "dev-staff", "next": "/"}).status_code == 200
    assert scan["id"] in staff.get("/unmatched").text
    path = f"/api/v1/scans/{scan['id']}/pages/0/dismiss"
    dismissed = client.post(path, json={"reason": "a forged code; reported"}, headers=STAFF)
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["pages"][0]["outcome"] == "dismissed"
    assert scan["id"] not in staff.get("/unmatched").text
    again = client.post(path, json={"reason": "twice"}, headers=STAFF)
    assert again.status_code == 409
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    assert {c["status"] for c in fetched["checks"]} == {"pending"}


def test_an_assigned_page_whose_reading_ends_its_worker_every_time_is_unreadable(
    client: TestClient, lost_page: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """GIVEN an assigned page whose reading ended the worker process as many times as a page
    may be tried (its job leased, the lease run out, nothing recorded)
    WHEN a worker next looks for work
    THEN the page is not left `assigned`: it is unreadable, saying why, and not tried again."""
    case, scan = lost_page
    assert assign(client, scan["id"], case_id=case["id"], party="new_registrant", reason=WHY)
    runtime = runtime_of(client)
    tries = workers.job_kinds(runtime.settings)[READ_ASSIGNED_PAGE].max_attempts
    with Session(runtime.engine) as session:
        job = session.exec(select(JobRow).where(JobRow.kind == READ_ASSIGNED_PAGE)).one()
        job.attempts, job.leased_by = tries, "another-host:4242"
        job.leased_until = utcnow() - timedelta(seconds=1)
        session.add(job)
        session.commit()

    workers.drain(runtime)

    assert [p["outcome"] for p in scan_of(client, scan["id"])["pages"]] == ["unreadable"]
    with Session(runtime.engine) as session:
        page = session.exec(select(PageRow).where(PageRow.scan_id == scan["id"])).one()
    assert "reading it was given up" in page.reading["detail"]
    assert workers.drain(runtime) == 0
