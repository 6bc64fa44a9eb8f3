"""The whole paper process as the registrar, the parties and back office live it: a case created
through the API, its pages signed and sent back by fax and by post as the files that arrive,
read by the workers, checked, and the registrar told by one signed webhook.

Pages are made by the scan simulator from the case's own form (tests/cesja/sent_pages.py);
the registrar is a local HTTP server that verifies every signature (tests/cesja/receiver.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from cesja import workers
from documents.simulate import to_pdf, to_tiff
from tests.cesja.flow import create_case, event_types, runtime_of
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.cesja.sent_pages import (
    blank_form,
    clean_fax,
    clean_scan,
    form_of,
    signed_form,
    upload,
)
from tests.conftest import REGISTRAR, STAFF


@pytest.fixture
def registrar(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with receiver() as endpoint:
        monkeypatch.setenv("CESJA_WEBHOOK_URL", endpoint.url)
        monkeypatch.setenv("CESJA_WEBHOOK_SECRET", SECRET)
        yield endpoint


@pytest.fixture
def client(registrar: Receiver) -> Iterator[TestClient]:
    from cesja.app import create_app

    with TestClient(create_app()) as c:
        yield c


def case_now(client: TestClient, case_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/v1/cases/{case_id}", headers=REGISTRAR)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def checks_of(case: dict[str, Any], party: str) -> dict[str, str]:
    return {
        c["name"].split(".", 1)[1]: c["status"]
        for c in case["checks"]
        if c["name"].startswith(party + ".")
    }


def detail_of(case: dict[str, Any], name: str) -> str:
    return next(c["detail"] for c in case["checks"] if c["name"] == name)  # type: ignore[no-any-return]


def send(client: TestClient, data: bytes, *, name: str, channel: str) -> str:
    """Upload a file as the gateway or scanner station does, and let the workers read it."""
    answer = upload(client, data, name=name, channel=channel)
    assert answer.status_code == 202, answer.text
    workers.drain(runtime_of(client))
    scan = client.get(f"/api/v1/scans/{answer.json()['id']}", headers=STAFF).json()
    assert scan["status"] == "done", scan
    return answer.json()["id"]  # type: ignore[no-any-return]


def outcomes(client: TestClient, scan_id: str) -> list[tuple[Any, ...]]:
    scan = client.get(f"/api/v1/scans/{scan_id}", headers=STAFF).json()
    return [(p["case_id"], p["party"], p["form_version"], p["outcome"]) for p in scan["pages"]]


def audit_verify() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cesja.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


ALL_PASSED = {"page_received", "fields_match", "signature_present", "unaltered"}


def test_pages_by_fax_and_by_post_make_the_case_ready_and_the_registrar_is_told_once(
    client: TestClient, registrar: Receiver, case_body: dict[str, Any]
) -> None:
    """GIVEN a case created by the registrar's system through the API
    WHEN the current registrant's signed and stamped page arrives by fax (a fine G4 TIFF
    from the fax gateway) and the new registrant's signed page by post (a scanned PDF, in
    another upload), and the workers have read both
    THEN the case is transfer_ready with the transfer allowed; the registrar received exactly
    one signed `cesja.transfer_ready` naming the case, its external ref, its domains and the
    new registrant; the registrar confirms the transfer and the case is completed; the
    audit trail verifies.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client, case_body)
    assert (case["state"], case["transfer_allowed"]) == ("awaiting_documents", False)
    form = form_of(runtime, case["id"])
    rng = np.random.default_rng(1)

    faxed = clean_fax(signed_form(form, "current_registrant", key, rng), rng, fine=True)
    fax_scan = send(client, to_tiff([faxed], compression="group4"), name="fax.tif", channel="fax")

    assert outcomes(client, fax_scan) == [(case["id"], "current_registrant", 1, "matched")]
    halfway = case_now(client, case["id"])
    assert halfway["state"] == "awaiting_documents"
    assert set(checks_of(halfway, "current_registrant").values()) == {"passed"}
    assert set(checks_of(halfway, "new_registrant").values()) == {"pending"}
    assert "by fax" in detail_of(halfway, "current_registrant.page_received")
    assert registrar.received == []

    posted = clean_scan(signed_form(form, "new_registrant", key, rng), rng)
    post_scan = send(client, to_pdf([posted]), name="poczta-0001.pdf", channel="post")

    assert outcomes(client, post_scan) == [(case["id"], "new_registrant", 1, "matched")]
    ready = case_now(client, case["id"])
    assert (ready["state"], ready["transfer_allowed"]) == ("transfer_ready", True), ready["checks"]
    assert set(checks_of(ready, "new_registrant")) == ALL_PASSED
    assert "by post" in detail_of(ready, "new_registrant.page_received")
    assert workers.drain(runtime) == 0
    (notice,) = registrar.received
    assert notice.verified and notice.answered == 204
    assert notice.payload["type"] == "cesja.transfer_ready"
    trail = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    assert notice.payload["data"] == {
        "case_id": case["id"],
        "external_ref": "REG-42",
        "domains": case["domains"],
        "new_registrant": case["new_registrant"],
        "audit_head": next(e["hash"] for e in trail if e["data"].get("after") == "transfer_ready"),
    }

    completed = client.post(f"/api/v1/cases/{case['id']}/transfer-completed", headers=REGISTRAR)

    assert completed.status_code == 200, completed.text
    assert (completed.json()["state"], completed.json()["transfer_allowed"]) == (
        "completed",
        False,
    )
    assert len(registrar.received) == 1
    assert event_types(client, case["id"])[0] == "case_created"
    verified = audit_verify()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "1 case(s) checked, 0 broken" in verified.stdout


def test_unsigned_page_goes_to_review_until_a_signed_one_is_sent_again(
    client: TestClient, registrar: Receiver
) -> None:
    """GIVEN a case whose current registrant's page arrived by post, signed and stamped
    WHEN the new registrant's page arrives by post without a signature, and later the same
    party sends a signed page again (another scan)
    THEN after the first the case is in_review with new_registrant.signature_present failed
    and nothing sent to the registrar; after the second that check passes, the case is
    transfer_ready and the registrar is told once.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client)
    form = form_of(runtime, case["id"])
    rng = np.random.default_rng(2)
    first = clean_scan(signed_form(form, "current_registrant", key, rng), rng)
    send(client, to_pdf([first]), name="poczta-0.pdf", channel="post")

    unsigned = clean_scan(blank_form(form, "new_registrant", key), rng)
    send(client, to_pdf([unsigned]), name="poczta-1.pdf", channel="post")

    review = case_now(client, case["id"])
    assert (review["state"], review["transfer_allowed"]) == ("in_review", False)
    new = checks_of(review, "new_registrant")
    assert new.pop("signature_present") == "failed", review["checks"]
    assert set(new.values()) == {"passed"}
    assert "No signature" in detail_of(review, "new_registrant.signature_present")
    assert registrar.received == []

    signed = clean_scan(signed_form(form, "new_registrant", key, rng), rng)
    send(client, to_pdf([signed]), name="poczta-2.pdf", channel="post")

    ready = case_now(client, case["id"])
    assert (ready["state"], ready["transfer_allowed"]) == ("transfer_ready", True), ready["checks"]
    assert checks_of(ready, "new_registrant")["signature_present"] == "passed"
    assert workers.drain(runtime) == 0
    assert [r.payload["data"]["case_id"] for r in registrar.received] == [case["id"]]
    assert all(r.verified for r in registrar.received)


def test_reissue_after_the_first_page_makes_it_stop_counting(
    client: TestClient, registrar: Receiver, case_body: dict[str, Any]
) -> None:
    """GIVEN a case whose current registrant's signed page (form version 1) has arrived and
    passed every check
    WHEN the registrar reissues the form with a corrected phone for the new registrant, and
    then that version-1 page is faxed again
    THEN the reissue puts the current registrant's checks back to pending; the re-sent page
    is stale_version and changes nothing; pages of version 2 from both parties make the case
    transfer_ready, and the registrar is told the corrected new registrant.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client, case_body)
    first_form = form_of(runtime, case["id"])
    rng = np.random.default_rng(3)
    paper = signed_form(first_form, "current_registrant", key, rng)
    send(client, to_pdf([clean_scan(paper, rng)]), name="v1.pdf", channel="post")
    assert set(checks_of(case_now(client, case["id"]), "current_registrant").values()) == {"passed"}

    corrected = {**case_body["new_registrant"], "phone": "+48 600 100 200"}
    reissued = client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": corrected},
        headers=REGISTRAR,
    )

    assert reissued.status_code == 200, reissued.text
    assert reissued.json()["form_version"] == 2
    assert reissued.json()["state"] == "awaiting_documents"
    assert set(checks_of(reissued.json(), "current_registrant").values()) == {"pending"}

    resent = clean_fax(paper, rng)
    stale = send(client, to_tiff([resent], compression="group4"), name="v1.tif", channel="fax")

    assert outcomes(client, stale) == [(case["id"], "current_registrant", 1, "stale_version")]
    assert set(checks_of(case_now(client, case["id"]), "current_registrant").values()) == {
        "pending"
    }

    second_form = form_of(runtime, case["id"])
    pages = [
        clean_scan(signed_form(second_form, party, key, rng), rng)
        for party in ("current_registrant", "new_registrant")
    ]
    both = send(client, to_pdf(pages), name="v2.pdf", channel="post")

    assert [o[2:] for o in outcomes(client, both)] == [(2, "matched"), (2, "matched")]
    ready = case_now(client, case["id"])
    assert ready["state"] == "transfer_ready", ready["checks"]
    (notice,) = registrar.received
    assert notice.verified
    assert notice.payload["data"]["new_registrant"]["phone"] == "+48 600 100 200"
