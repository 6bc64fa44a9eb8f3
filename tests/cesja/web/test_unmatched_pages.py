"""The back office's list of pages without a case: a page is assigned or dismissed from it, and
what it cannot take is said in Polish, with nothing changed."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.db.models import RefusedUploadRow, utcnow
from cesja.intake import received
from tests.cesja.flow import runtime_of
from tests.cesja.test_page_handling import case_with_lost_page
from tests.cesja.web.conftest import ORIGIN
from tests.conftest import INTAKE, STAFF


def test_what_the_list_cannot_take_is_said_and_nothing_changes(staff: TestClient) -> None:
    """GIVEN an unmatched page and a case
    WHEN staff assign it without a reason, without saying whose page it is, or to a case
    that does not exist, and then dismiss it with a reason
    THEN each refusal says in Polish what is missing and the page stays on the list; the
    dismissal takes it off the list and says so."""
    case, scan = case_with_lost_page(staff, seed=41)
    base = f"/scans/{scan['id']}/pages/0"
    filled = {"case_id": case["id"], "party": "new", "reason": "kod urwany"}

    for change, status, said in [
        ({"reason": "  "}, 422, "Podaj powód"),
        ({"party": ""}, 422, "Wybierz, czyja to strona"),
        ({"case_id": "CS-0000-0000"}, 404, "Nie ma sprawy CS-0000-0000"),
    ]:
        refused = staff.post(f"{base}/assign", data={**filled, **change}, headers=ORIGIN)
        assert refused.status_code == status, refused.text
        assert said in refused.text
        assert scan["id"] in refused.text  # still on the list
    answer = staff.get(f"/api/v1/scans/{scan['id']}", headers=STAFF).json()
    assert answer["pages"][0]["outcome"] == "unmatched"

    dismissed = staff.post(f"{base}/dismiss", data={"reason": "reklama"}, headers=ORIGIN)
    assert dismissed.status_code == 200, dismissed.text
    assert "Strona odłożona" in dismissed.text
    assert scan["id"] not in dismissed.text
    foreign = staff.post(f"{base}/dismiss", data={"reason": "x"}, headers={"Origin": "http://evil"})
    assert foreign.status_code == 403
    huge = f"/scans/{scan['id']}/pages/{10**30}/dismiss"
    assert staff.post(huge, data={"reason": "x"}, headers=ORIGIN).status_code == 422
    api = f"/api/v1/scans/{scan['id']}/pages/{10**30}/dismiss"
    assert staff.post(api, json={"reason": "x"}, headers=STAFF).status_code == 422


def test_a_refused_upload_is_listed_with_why_until_the_retention_forgets_it(
    staff: TestClient,
) -> None:
    """GIVEN the fax gateway sends a Word document (not a scan) and a truncated PDF
    WHEN staff open the pages without a case
    THEN both refusals are listed, newest first, with the channel, the sender, the answer the
    gateway got and its reason; once older than the retention, the hourly purge forgets them."""
    runtime = runtime_of(staff)
    for name, data in [("letter.docx", b"PK\x03\x04 not a scan"), ("cut.pdf", b"%PDF-1.7\n1 0")]:
        refused = staff.post(
            "/api/v1/scans",
            files={"file": (name, data)},
            data={"channel": "fax", "sender": "+48 22 555 01 02"},
            headers=INTAKE,
        )
        assert refused.status_code in (415, 422), refused.text

    page = staff.get("/unmatched").text
    listed = page[page.index("Pliki odrzucone przy przyjęciu") :]
    assert listed.count("+48 22 555 01 02") == 2
    assert "415 unsupported_type" in listed and "422" in listed
    with Session(runtime.engine) as session:
        for row in session.exec(select(RefusedUploadRow)):
            row.received_at = utcnow() - timedelta(days=8)
            session.add(row)
        session.commit()
    assert received.forget_refusals(runtime.engine, older_than=timedelta(days=7)) == 2
    assert "Pliki odrzucone przy przyjęciu" not in staff.get("/unmatched").text
