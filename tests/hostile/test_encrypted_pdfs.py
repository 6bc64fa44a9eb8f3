"""PDFs protected the way office software protects them: AES with permissions and no password
to open are read like any other; one that needs a password to open is refused."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader, PdfWriter
from pypdf.constants import UserAccessPermissions

from cesja import workers
from documents.simulate import to_pdf
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import clean_scan, form_of, signed_form, upload
from tests.conftest import REGISTRAR, STAFF

OWNER_PASSWORD = "właściciel-2026"
PRINTING_ONLY = UserAccessPermissions.PRINT | UserAccessPermissions.PRINT_TO_REPRESENTATION


def aes_256(pdf: bytes, *, user_password: str, algorithm: str = "AES-256") -> bytes:
    """`pdf` encrypted with AES-256 (revision 6) as an office suite's "restrict editing"
    does: printing allowed, changes not; `user_password` "" opens it without asking."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(
        user_password=user_password,
        owner_password=OWNER_PASSWORD,
        algorithm=algorithm,
        permissions_flag=PRINTING_ONLY,
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read(client: TestClient, data: bytes, name: str) -> dict[str, Any]:
    answer = upload(client, data, name=name, channel="email")
    assert answer.status_code == 202, answer.text
    workers.drain(runtime_of(client))
    scan = client.get(f"/api/v1/scans/{answer.json()['id']}", headers=STAFF).json()
    assert scan["status"] == "done", scan
    return scan  # type: ignore[no-any-return]


def pages(scan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(p["case_id"], p["party"], p["form_version"], p["outcome"]) for p in scan["pages"]]


def checks(client: TestClient, case_id: str) -> dict[str, str]:
    case = client.get(f"/api/v1/cases/{case_id}", headers=STAFF).json()
    return {c["name"]: c["status"] for c in case["checks"]}


@pytest.mark.parametrize(
    ("algorithm", "version"), [("AES-256", (5, 6)), ("AES-128", (4, 4))], ids=["aes-256", "aes-128"]
)
def test_the_form_saved_with_aes_permissions_is_read_like_the_plain_one(
    client: TestClient, algorithm: str, version: tuple[int, int]
) -> None:
    """GIVEN two cases' forms; one is sent back as the service made it, the other as an office
    suite saves it with "restrict editing" (AES-256, or older suites' AES-128; no password to
    open)
    WHEN both are uploaded and read
    THEN both are accepted (202) and read alike: each page routed to its case and party, and
    the same checks passed and failed (unsigned: the signatures fail on both).
    """
    plain_case, protected_case = create_case(client), create_case(client)
    plain = client.get(f"/api/v1/cases/{plain_case['id']}/form.pdf", headers=REGISTRAR).content
    form = client.get(f"/api/v1/cases/{protected_case['id']}/form.pdf", headers=REGISTRAR)
    protected = aes_256(form.content, user_password="", algorithm=algorithm)
    encryption = PdfReader(io.BytesIO(protected)).trailer["/Encrypt"].get_object()
    assert (encryption["/V"], encryption["/R"]) == version, algorithm

    plain_scan = read(client, plain, "cesja.pdf")
    protected_scan = read(client, protected, "cesja-chroniony.pdf")

    assert protected_scan["media_type"] == "application/pdf"
    assert pages(plain_scan) == [
        (plain_case["id"], "current_registrant", 1, "matched"),
        (plain_case["id"], "new_registrant", 1, "matched"),
    ]
    assert pages(protected_scan) == [
        (protected_case["id"], party, version, outcome)
        for _, party, version, outcome in pages(plain_scan)
    ]
    assert checks(client, protected_case["id"]) == checks(client, plain_case["id"])


def test_a_scan_saved_with_aes_256_permissions_is_read_and_its_signature_found(
    client: TestClient,
) -> None:
    """GIVEN a case's new registrant's page, signed, scanned to a PDF that the scanner's
    software protects with AES-256 permissions (no password to open)
    WHEN it is uploaded and read
    THEN its page is the case's new registrant's, and the signature on it counts.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    rng = np.random.default_rng(8)
    page = signed_form(
        form_of(runtime, case["id"]), "new_registrant", runtime.settings.keys.keys, rng
    )
    protected = aes_256(to_pdf([clean_scan(page, rng, dpi=200)]), user_password="")

    scan = read(client, protected, "skan.pdf")

    assert pages(scan) == [(case["id"], "new_registrant", 1, "matched")]
    assert checks(client, case["id"])["new_registrant.signature_present"] == "passed"


@pytest.mark.parametrize("password", ["tajne", "hasło do otwarcia"])
def test_a_pdf_that_needs_a_password_to_open_is_still_refused(
    client: TestClient, password: str
) -> None:
    """GIVEN a case's form protected with AES-256 and a password needed to open it
    WHEN it is uploaded
    THEN it is refused with 422 encrypted_file, saying to send it without the password.
    """
    case = create_case(client)
    form = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content

    answer = upload(client, aes_256(form, user_password=password), name="cesja.pdf")

    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "error": "encrypted_file",
        "message": "the PDF is protected by a password; send it again without the password",
    }
