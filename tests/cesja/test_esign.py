"""Electronically signed forms: the case's own PDF form signed with PAdES signatures comes in
through the scans API and is read from its bytes and signatures, never by OCR. A test PKI
(`esign_pki`) plays the qualified trust service and publishes its CRLs over HTTP on this
machine, where the service fetches them from the addresses in the certificates."""

from __future__ import annotations

import copy
import hashlib
import html
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.cesja.esign_pki import (
    NOW,
    CrlServer,
    Holder,
    Pki,
    make_pki,
    person,
    seal,
    sign,
    sign_short,
)
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import upload
from tests.cesja.web.conftest import sign_in
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF

CURRENT, NEW = "current_registrant_signature", "new_registrant_signature"
JAN_PESEL, MALGORZATA_PESEL, STRANGER_PESEL = "44051401359", "92110804566", "02070803628"
NIP = "5260250995"


@dataclass
class People:
    """Everyone who signs in these tests, by what they are."""

    pki: Pki
    jan: Holder
    malgorzata: Holder
    stranger: Holder
    self_signed: Holder
    not_qualified: Holder
    expired: Holder
    revoked: Holder
    # Certificates whose revocation only the qualified CA's OCSP responder knows (no CRL).
    by_ocsp: Holder
    revoked_by_ocsp: Holder
    representative: Holder
    company_seal: Holder
    other_seal: Holder


@pytest.fixture(scope="session")
def crl_server() -> Iterator[CrlServer]:
    server = CrlServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def people(crl_server: CrlServer) -> People:
    pki = make_pki(crl_server.base)
    revoked = person(pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL)
    pki.revoked.append(revoked.cert)
    revoked_by_ocsp = person(
        pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL, ocsp_only=True
    )
    crl_server.publish(pki.crls())
    # Revoked on the responder alone: the CRL does not list it, so only asking tells.
    crl_server.answer_ocsp(pki.qca.ocsp_url, pki.qca, [*pki.revoked, revoked_by_ocsp.cert])
    return People(
        pki=pki,
        jan=person(pki.qca, "Jan", "Kowalski", JAN_PESEL),
        malgorzata=person(pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL),
        stranger=person(pki.qca, "Adam", "Nowak", STRANGER_PESEL),
        self_signed=person(
            pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL, self_signed=True
        ),
        not_qualified=person(
            pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL, qc_type=None
        ),
        expired=person(
            pki.qca,
            "Małgorzata",
            "Żółkiewska-Ćwik",
            MALGORZATA_PESEL,
            not_before=NOW - timedelta(days=400),
            not_after=NOW - timedelta(days=1),
        ),
        revoked=revoked,
        by_ocsp=person(pki.qca, "Małgorzata", "Żółkiewska-Ćwik", MALGORZATA_PESEL, ocsp_only=True),
        revoked_by_ocsp=revoked_by_ocsp,
        # Written without diacritics in the certificate: names are compared without them.
        representative=person(pki.qca, "Grzegorz", "Brzeczyszczykiewicz", "85010112342"),
        company_seal=seal(pki.qca, "Zażółć Gęślą Jaźń Sp. z o.o.", f"VATPL-{NIP}"),
        other_seal=seal(pki.qca, "Inna Spółka Sp. z o.o.", "VATPL-7740001454"),
    )


def _client(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch, **env: str
) -> TestClient:
    from cesja.app import create_app

    roots = data_dir.parent / "roots.pem"
    roots.write_bytes(people.pki.roots_pem)
    monkeypatch.setenv("CESJA_TRUST_ROOTS", str(roots))
    for name, value in env.items():
        monkeypatch.setenv(f"CESJA_{name}", value)
    client = TestClient(create_app())
    return client


@pytest.fixture
def service(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service trusting the test PKI's root; it fetches the CRLs itself, over HTTP."""
    with _client(data_dir, people, monkeypatch) as client:
        yield client


def _offline(client: TestClient, people: People) -> None:
    """The service fetching nothing: the CRLs handed to it, as to a registrar offline."""
    runtime = runtime_of(client)
    crls = tuple(people.pki.crls().values())
    runtime.esign_trust = replace(runtime.esign_trust, crls=crls, fetching=False)


def persons_case(client: TestClient) -> dict[str, Any]:
    """A case between two people: Jan Kowalski assigns to Małgorzata Żółkiewska-Ćwik."""
    body = copy.deepcopy(CASE_BODY)
    body["current_registrant"] = {
        **body["new_registrant"],
        "name": "Jan Kowalski",
        "pesel": JAN_PESEL,
        "email": "jan.kowalski@example.com",
    }
    return create_case(client, body)


def form_of(client: TestClient, case: dict[str, Any]) -> bytes:
    answer = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR)
    assert answer.status_code == 200
    return answer.content


def send(client: TestClient, pdf: bytes) -> dict[str, Any]:
    """The signed file uploaded through the scans API and read; the scan as the API says."""
    from cesja import workers

    answer = upload(client, pdf, name="cesja-podpisana.pdf", channel="upload")
    assert answer.status_code == 202, answer.text
    workers.drain(runtime_of(client))
    scan = client.get(f"/api/v1/scans/{answer.json()['id']}", headers=INTAKE)
    return scan.json()  # type: ignore[no-any-return]


def case_now(client: TestClient, case: dict[str, Any]) -> dict[str, Any]:
    return client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()  # type: ignore[no-any-return]


def checks(case: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["detail"]) for c in case["checks"]}


def times_ready(client: TestClient, case: dict[str, Any]) -> int:
    """How often the case entered transfer_ready (each entry sends one notice)."""
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    return sum(
        e["type"] == "state_changed" and e["data"].get("after") == "transfer_ready" for e in events
    )


# --- genuine ---------------------------------------------------------------------------------


def test_both_people_sign_one_file_and_the_case_is_ready_without_ocr(
    service: TestClient, people: People
) -> None:
    """GIVEN a case between two people and its form as the service issued it
    WHEN the current registrant signs it (with a timestamp) and the new registrant signs the
    same file after, and it is uploaded
    THEN both pages count, every check passes from the signatures (no OCR: no fields were
    read), and the case is transfer_ready with one notice."""
    case = persons_case(service)
    signed = sign(form_of(service, case), people.jan, CURRENT, timestamper=people.pki.timestamper())
    signed = sign(signed, people.malgorzata, NEW)

    scan = send(service, signed)

    assert [(p["party"], p["outcome"]) for p in scan["pages"]] == [
        ("current_registrant", "matched"),
        ("new_registrant", "matched"),
    ]
    now = case_now(service, case)
    assert {status for status, _ in checks(now).values()} == {"passed"}
    assert "Jan Kowalski" in checks(now)["current_registrant.signature_present"][1]
    assert now["state"] == "transfer_ready"
    assert times_ready(service, case) == 1
    events = service.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    signed = [s for e in events if e["type"] == "page_read" for s in e["data"]["signatures"]]
    # The trail names each signature by its certificate, and the signer by a keyed hash only.
    der = serialization.Encoding.DER
    certificates = {
        hashlib.sha256(p.cert.public_bytes(der)).hexdigest()
        for p in (people.jan, people.malgorzata)
    }
    assert {s["certificate_sha256"] for s in signed} == certificates
    assert all(s["signer"].startswith("hmac-sha256:") for s in signed)
    assert "Kowalski" not in json.dumps(events, ensure_ascii=False)


def test_each_party_signs_on_its_own_link_page_without_printing(
    service: TestClient, people: People
) -> None:
    """GIVEN a case between two people; each party's page offers signing electronically
    WHEN each downloads the form from its own link, signs its field and uploads the file there
    THEN each page says the file arrived, and once read the case is transfer_ready."""
    case = persons_case(service)
    for party, holder, field_name in (
        ("current_registrant", people.jan, CURRENT),
        ("new_registrant", people.malgorzata, NEW),
    ):
        link = "/" + case["customer_urls"][party].split("/", 3)[3]
        page = service.get(link)
        assert "kwalifikowanym podpisem" in page.text and "elektronicznym" in page.text
        form = service.get(f"{link}/form.pdf").content

        sent = service.post(
            f"{link}/upload",
            files={"file": ("cesja.pdf", sign(form, holder, field_name), "application/pdf")},
            headers={"Origin": "http://testserver"},
            follow_redirects=False,
        )

        assert sent.status_code == 303, sent.text
        assert "dotarł" in service.get(sent.headers["location"]).text
        from cesja import workers

        workers.drain(runtime_of(service))
    assert case_now(service, case)["state"] == "transfer_ready"
    assert times_ready(service, case) == 1


def test_each_party_signs_its_own_copy(service: TestClient, people: People) -> None:
    """GIVEN a case between two people
    WHEN the new registrant sends a copy signed by her alone, then the current registrant his
    THEN after the first the case waits (her page counts, the page she did not sign counts for
    nothing, nothing is in review), and after the second it is transfer_ready."""
    case = persons_case(service)
    form = form_of(service, case)

    first = send(service, sign(form, people.malgorzata, NEW))
    assert [p["outcome"] for p in first["pages"]] == ["blank", "matched"]
    waiting = case_now(service, case)
    assert waiting["state"] == "awaiting_documents"
    assert checks(waiting)["new_registrant.signature_present"][0] == "passed"
    assert checks(waiting)["current_registrant.signature_present"][0] == "pending"

    send(service, sign(form, people.jan, CURRENT))
    assert case_now(service, case)["state"] == "transfer_ready"
    assert times_ready(service, case) == 1


def test_a_representative_and_the_company_seal_sign_for_a_company(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a company assigning to a person, and a policy that wants the company's seal too
    WHEN its listed representative signs page 1 and the company's qualified e-seal is added,
    and the new registrant signs
    THEN the company's signature and stamp pass, and the case is transfer_ready."""
    with _client(data_dir, people, monkeypatch, ESIGN_COMPANY="signature+seal") as client:
        _offline(client, people)
        case = create_case(client)
        signed = sign(form_of(client, case), people.representative, CURRENT)
        signed = sign(signed, people.company_seal, "current_registrant_seal")
        signed = sign(signed, people.malgorzata, NEW)

        send(client, signed)

        now = case_now(client, case)
        assert checks(now)["current_registrant.stamp_present"][0] == "passed"
        assert "Zażółć" in checks(now)["current_registrant.stamp_present"][1]
        assert now["state"] == "transfer_ready"


def test_without_the_seal_the_policy_decides_the_stamp(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a company's form signed by its representative, and sealed by another company
    WHEN it arrives under `signature+seal`
    THEN the stamp check fails naming the seal that is not the company's; under the default
    (`signature`) the representative's signature stands for the stamp."""
    with _client(data_dir, people, monkeypatch, ESIGN_COMPANY="signature+seal") as client:
        _offline(client, people)
        case = create_case(client)
        signed = sign(form_of(client, case), people.representative, CURRENT)
        signed = sign(signed, people.other_seal, "current_registrant_seal")
        send(client, signed)
        status, detail = checks(case_now(client, case))["current_registrant.stamp_present"]
        assert status == "failed"
        assert "Inna Spółka" in detail and "VATPL-7740001454" in detail

    monkeypatch.delenv("CESJA_ESIGN_COMPANY")
    with _client(data_dir, people, monkeypatch) as client:
        _offline(client, people)
        case = create_case(client)
        send(client, sign(form_of(client, case), people.representative, CURRENT))
        now = checks(case_now(client, case))
        assert now["current_registrant.signature_present"][0] == "passed"
        assert now["current_registrant.stamp_present"][0] == "passed"


# --- held, with the reason ---------------------------------------------------------------------


def _annotated(pdf: bytes) -> bytes:
    """`pdf` with a note added to its first page in a revision of its own."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    note = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (100, 100, 300, 130)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("domena: inna.pl"),
        }
    )
    writer.register_annotation(page_ref, writer.add_object(note))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _rerendered(pdf: bytes) -> bytes:
    """The same form written again by another program: same pages and title, other bytes."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FRAUDS = {
    # name: (how the file is made, the check that fails, what its detail says)
    "changed after signing": (
        lambda form, p: _annotated(sign(form, p.malgorzata, NEW)),
        "new_registrant.unaltered",
        "changed after the service issued it",
    ),
    "changed before signing": (
        lambda form, p: sign(_annotated(form), p.malgorzata, NEW),
        "new_registrant.unaltered",
        "changed after the service issued it",
    ),
    "a re-rendered copy signed": (
        lambda form, p: sign(_rerendered(form), p.malgorzata, NEW),
        "new_registrant.page_received",
        "not the form this service issued",
    ),
    "a ByteRange short of the end of its revision": (
        lambda form, p: sign_short(form, p.malgorzata, NEW),
        "new_registrant.signature_present",
        "does not cover the whole revision",
    ),
    "another person's PESEL": (
        lambda form, p: sign(form, p.stranger, NEW),
        "new_registrant.signature_present",
        f"Signed by Adam Nowak, PESEL {STRANGER_PESEL[0]}…: not a party",
    ),
    "a self-signed certificate with the right PESEL": (
        lambda form, p: sign(form, p.self_signed, NEW),
        "new_registrant.signature_present",
        "does not chain to a trusted root",
    ),
    "an advanced signature, not qualified": (
        lambda form, p: sign(form, p.not_qualified, NEW),
        "new_registrant.signature_present",
        "not a qualified one",
    ),
    "an expired certificate": (
        lambda form, p: sign(form, p.expired, NEW),
        "new_registrant.signature_present",
        "was not valid when it signed",
    ),
    "a revoked certificate": (
        lambda form, p: sign(form, p.revoked, NEW),
        "new_registrant.signature_present",
        "was revoked before it signed",
    ),
    "a certificate its CA's OCSP responder says is revoked": (
        lambda form, p: sign(form, p.revoked_by_ocsp, NEW),
        "new_registrant.signature_present",
        "was revoked before it signed",
    ),
}


@pytest.mark.parametrize("fraud", FRAUDS)
def test_a_signed_file_that_does_not_hold_is_held_with_the_reason(
    service: TestClient, people: People, fraud: str
) -> None:
    """GIVEN a case between two people
    WHEN a signed file arrives that is not what it must be (see FRAUDS)
    THEN the new registrant's page is matched, the check named fails saying why, and the case
    is in review."""
    make, check, said = FRAUDS[fraud]
    case = persons_case(service)

    scan = send(service, make(form_of(service, case), people))

    assert scan["pages"][1]["outcome"] == "matched"
    now = case_now(service, case)
    status, detail = checks(now)[check]
    assert status == "failed" and said in detail, detail
    assert now["state"] == "in_review"


def test_a_certificate_checked_by_ocsp_alone_counts_when_the_responder_says_good(
    service: TestClient, people: People
) -> None:
    """GIVEN a qualified certificate that names no CRL, only its CA's OCSP responder
    WHEN its holder's signature arrives (CESJA_ESIGN_REVOCATION=require)
    THEN the service asks the responder, which says good: the signature counts."""
    case = persons_case(service)

    send(service, sign(form_of(service, case), people.by_ocsp, NEW))

    assert checks(case_now(service, case))["new_registrant.signature_present"][0] == "passed"


def test_a_timestamp_proves_the_certificate_was_valid_when_it_signed(
    service: TestClient, people: People
) -> None:
    """GIVEN a certificate that expired yesterday
    WHEN the signature it made carries a trusted timestamp from a hundred days ago
    THEN the certificate is judged at the timestamp's time: the signature counts."""
    case = persons_case(service)
    stamped = people.pki.timestamper(at=NOW - timedelta(days=100))

    send(service, sign(form_of(service, case), people.expired, NEW, timestamper=stamped))

    assert checks(case_now(service, case))["new_registrant.signature_present"][0] == "passed"


def test_required_revocation_data_that_cannot_be_had_holds_the_signature(
    service: TestClient, people: People
) -> None:
    """GIVEN CESJA_ESIGN_REVOCATION=require (the default) and no CRL or OCSP answer to be had
    WHEN a genuine signature arrives
    THEN it does not count, saying its revocation could not be established."""
    runtime = runtime_of(service)
    runtime.esign_trust = replace(runtime.esign_trust, crls=(), fetching=False)
    case = persons_case(service)

    send(service, sign(form_of(service, case), people.malgorzata, NEW))

    status, detail = checks(case_now(service, case))["new_registrant.signature_present"]
    assert status == "failed" and "could not be established" in detail


def test_soft_revocation_checking_lets_a_signature_count_without_revocation_data(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN CESJA_ESIGN_REVOCATION=soft and no CRL or OCSP answer to be had
    WHEN a genuine signature arrives
    THEN it counts: under `soft` only a CRL or OCSP answer that says revoked holds it."""
    with _client(data_dir, people, monkeypatch, ESIGN_REVOCATION="soft") as client:
        runtime = runtime_of(client)
        runtime.esign_trust = replace(runtime.esign_trust, crls=(), fetching=False)
        case = persons_case(client)

        send(client, sign(form_of(client, case), people.malgorzata, NEW))

        assert checks(case_now(client, case))["new_registrant.signature_present"][0] == "passed"


def test_a_signed_older_version_counts_like_a_stale_page(
    service: TestClient, people: People
) -> None:
    """GIVEN a form signed on version 1
    WHEN the case was reissued (version 2) before the file arrives
    THEN its pages are stale_version and the new registrant's checks still wait."""
    case = persons_case(service)
    old = form_of(service, case)
    corrected = {**case["new_registrant"], "phone": "+48 600 100 200"}
    reissued = service.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": corrected},
        headers=REGISTRAR,
    )
    assert reissued.status_code == 200, reissued.text

    scan = send(service, sign(old, people.malgorzata, NEW))

    assert [p["outcome"] for p in scan["pages"]] == ["stale_version", "stale_version"]
    now = case_now(service, case)
    assert checks(now)["new_registrant.page_received"][0] == "pending"
    assert now["state"] == "awaiting_documents"


# --- the back office ---------------------------------------------------------------------------


def test_back_office_shows_the_validation_report_beside_the_page(
    service: TestClient, people: People
) -> None:
    """GIVEN a form signed by the new registrant with a timestamp
    WHEN staff open the case
    THEN beside the page they see who signed, the certificate and its issuer, that it is
    qualified, the signing time and timestamp, the revocation result and the modification
    level, and the checks in Polish."""
    case = persons_case(service)
    signed = sign(
        form_of(service, case), people.malgorzata, NEW, timestamper=people.pki.timestamper()
    )
    send(service, signed)

    assert sign_in(service).status_code == 303
    page = html.unescape(service.get(f"/cases/{case['id']}").text)

    assert "Podpis elektroniczny" in page
    assert "Małgorzata Żółkiewska-Ćwik" in page
    assert "PNOPL-92110804566" in page
    assert "Cesja Test Qualified CA" in page
    assert "kwalifikowany" in page
    assert "Znacznik czasu" in page and "brak — certyfikat" not in page
    assert "nie unieważniony" in page
    assert "FORM_FILLING" in page or "NONE" in page
    assert "Podpisane elektronicznie przez Małgorzata Żółkiewska-Ćwik" in page


# --- the operator ------------------------------------------------------------------------------


def test_doctor_reports_the_trust_roots(
    data_dir: Path, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN CESJA_TRUST_ROOTS naming a directory with the root's PEM and a file that is no
    certificate
    WHEN the operator runs `cesja doctor`
    THEN it names the file that holds no certificate and exits 1."""
    from tests.cesja.test_cli import cesja

    roots = data_dir.parent / "roots"
    roots.mkdir()
    (roots / "root.pem").write_bytes(people.pki.roots_pem)
    (roots / "notes.txt").write_text("not a certificate")
    monkeypatch.setenv("CESJA_TRUST_ROOTS", str(roots))

    result = cesja("doctor")

    assert "[MISSING] trust roots: " in result.stdout, result.stdout
    assert "notes.txt holds no readable certificate" in result.stdout
    assert result.returncode == 1

    (roots / "notes.txt").unlink()
    assert "[ok ] trust roots: 1 certificate(s)" in cesja("doctor").stdout
