"""Four eyes (CESJA_FOUR_EYES=true): accepting a failed check takes two different people, through
the API and the back office; the same person cannot confirm their own proposal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cesja.app import create_app
from cesja.casework import staff
from tests.cesja.flow import case_in, runtime_of
from tests.cesja.web.conftest import ORIGIN

ALICE = {"Authorization": "Bearer staff-key-alice-0123456789"}
BOB = {"Authorization": "Bearer staff-key-bob-0123456789ab"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def four_eyes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CESJA_FOUR_EYES", "true")
    keys = ["registrar:dev-registrar", "intake:dev-intake", "staff:dev-staff"]
    keys += [f"staff:{h['Authorization'].split()[1]}" for h in (ALICE, BOB)]
    monkeypatch.setenv("CESJA_API_KEYS", ",".join(keys))
    with TestClient(create_app()) as client:
        yield client


def accept(client: TestClient, case_id: str, check: str, who: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/cases/{case_id}/checks/{check}",
        json={"decision": "accept", "reason": "seen the original at the branch"},
        headers=who,
    )


def check_of(case: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in case["checks"] if c["name"] == name)


def test_a_failed_check_is_accepted_only_when_a_second_person_confirms(
    four_eyes: TestClient,
) -> None:
    """GIVEN four eyes, and a case in review because a signature was not found
    WHEN one member of staff accepts the check, then the same one again, then another
    THEN the first is a proposal (the check stays failed, saying who proposed it; the case
    stays in review), the second is refused 409 second_reviewer_needed, the third accepts it
    and the case moves on; the audit trail has both, the acceptance naming the proposer."""
    case = case_in(four_eyes, "in_review")
    name = next(c["name"] for c in case["checks"] if c["status"] == "failed")

    proposed = accept(four_eyes, case["id"], name, ALICE)
    assert proposed.status_code == 200, proposed.text
    check = check_of(proposed.json(), name)
    assert check["status"] == "failed" and check["proposed_by"].startswith("staff:")
    assert "a second, different reviewer must confirm" in check["detail"]
    assert proposed.json()["state"] == "in_review"

    again = accept(four_eyes, case["id"], name, ALICE)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "second_reviewer_needed"

    confirmed = accept(four_eyes, case["id"], name, BOB)
    assert confirmed.status_code == 200, confirmed.text
    assert check_of(confirmed.json(), name)["status"] == "accepted"
    assert confirmed.json()["state"] != "in_review"
    events = four_eyes.get(f"/api/v1/cases/{case['id']}/events", headers=BOB).json()
    decided = [e for e in events if e["type"] == "check_decided"]
    assert [e["data"]["decision"] for e in decided] == ["propose", "accept"]
    assert decided[1]["data"]["proposed_by"] == decided[0]["actor"] != decided[1]["actor"]


def test_a_rejection_after_a_proposal_takes_it_back(four_eyes: TestClient) -> None:
    """GIVEN a proposal to accept a failed check WHEN another person rejects the check THEN it
    stands rejected, with no proposal left for anyone to confirm."""
    case = case_in(four_eyes, "in_review")
    name = next(c["name"] for c in case["checks"] if c["status"] == "failed")
    assert accept(four_eyes, case["id"], name, ALICE).status_code == 200
    rejected = four_eyes.post(
        f"/api/v1/cases/{case['id']}/checks/{name}",
        json={"decision": "reject", "reason": "the signature is not hers"},
        headers=BOB,
    )
    assert rejected.status_code == 200, rejected.text
    check = check_of(rejected.json(), name)
    assert check["status"] == "failed" and check["proposed_by"] is None
    assert check["detail"].startswith("Rejected by back office")


def test_in_the_back_office_the_proposer_sees_no_confirm_button_and_another_confirms(
    four_eyes: TestClient,
) -> None:
    """GIVEN four eyes, two staff accounts and a case in review
    WHEN Anna accepts the failed check from the case page, then opens it again
    THEN it says the acceptance waits for a second person and offers her no button to
    confirm (a forged post of one is refused); Bartek, signed in, sees it and confirms it."""
    with Session(runtime_of(four_eyes).engine) as session:
        staff.add_staff(session, "anna", "Anna Nowak", PASSWORD)
        staff.add_staff(session, "bartek", "Bartek Lis", PASSWORD)
        session.commit()
    case = case_in(four_eyes, "in_review")
    name = next(c["name"] for c in case["checks"] if c["status"] == "failed")
    path = f"/cases/{case['id']}/checks/{name}"

    def signed_in_as(username: str) -> None:
        four_eyes.cookies.clear()
        answer = four_eyes.post(
            "/sign-in",
            data={"username": username, "password": PASSWORD},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert answer.status_code == 303

    signed_in_as("anna")
    body = {"decision": "accept", "reason": "Oryginał okazany w oddziale."}
    proposed = four_eyes.post(path, data=body, headers=ORIGIN)
    assert proposed.status_code == 200
    assert "Akceptacja zaproponowana" in proposed.text
    assert "czeka na drugą osobę" in proposed.text
    assert "potwierdzić musi druga osoba" in proposed.text
    assert "Potwierdź akceptację" not in proposed.text
    refused = four_eyes.post(path, data=body, headers=ORIGIN)
    assert refused.status_code == 409 and "potwierdzić ją musi druga osoba" in refused.text

    signed_in_as("bartek")
    page = four_eyes.get(f"/cases/{case['id']}").text
    assert "Akceptację zaproponował(a) pracownik anna" in page
    assert "Potwierdź akceptację" in page
    confirmed = four_eyes.post(path, data=body, headers=ORIGIN)
    assert confirmed.status_code == 200
    assert "Sprawdzenie zaakceptowane." in confirmed.text


def test_accepting_a_check_no_page_has_settled_takes_two_people_too(
    four_eyes: TestClient,
) -> None:
    """GIVEN four eyes and a case whose other party sent nothing yet (its checks pending)
    WHEN one person accepts that party's missing page, then another
    THEN the first is a proposal that leaves the check pending; only the second accepts it."""
    case = case_in(four_eyes, "in_review")
    name = next(c["name"] for c in case["checks"] if c["status"] == "pending")

    proposed = accept(four_eyes, case["id"], name, ALICE)
    assert proposed.status_code == 200, proposed.text
    check = check_of(proposed.json(), name)
    assert (check["status"], check["proposed_by"] is not None) == ("pending", True)
    assert accept(four_eyes, case["id"], name, ALICE).status_code == 409
    confirmed = accept(four_eyes, case["id"], name, BOB)
    assert check_of(confirmed.json(), name)["status"] == "accepted"
