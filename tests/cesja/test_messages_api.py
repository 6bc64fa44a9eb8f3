"""POST /api/v1/messages: an e-mail's attachments become scans, and a page counts for its
party only when the message is authenticated by the registrar's mail host and comes from
that party's e-mail address on the case."""

from __future__ import annotations

import base64
import copy
import io
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, func, select

from cesja import workers
from cesja.config import Settings
from cesja.db.models import MessageRow, ScanRow
from tests.cesja.dns_server import DnsServer, dns_server
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_mail import OUR_HOST, form_pdf, message, send
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with TestClient(create_app(Settings(database_url=url) if url else None)) as client:
        yield client


@pytest.fixture
def client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)
    with TestClient(create_app()) as c:
        yield c


def checks(client: TestClient, case_id: str) -> dict[str, dict[str, Any]]:
    case = client.get(f"/api/v1/cases/{case_id}", headers=STAFF).json()
    return {c["name"]: c for c in case["checks"]}


def test_a_verified_senders_form_counts_for_that_party_and_not_for_the_other(
    service: TestClient,
) -> None:
    """GIVEN a case whose current registrant's e-mail is biuro@example.pl
    WHEN that address sends the whole form (both pages) and the registrar's mail host says
    dmarc=pass THEN the message is taken (202, sender verified by DMARC, one scan of channel
    email); the current registrant's page is received, the new registrant's page is held as
    sent from an address that is not that party's, until staff accept it with a reason.
    """
    case = create_case(service)
    mail = message(
        files=(("cesja podpisana.pdf", form_pdf(service, case["id"]), "application/pdf"),)
    )

    answer = send(service, mail)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["from"] == "Biuro Przykład <biuro@example.pl>"
    assert body["subject"] == "Podpisany formularz cesji"
    assert body["sender"] == {"address": "biuro@example.pl", "verified": True, "how": "dmarc"}
    assert len(body["scans"]) == 1 and body["refused"] == []
    scan = service.get(f"/api/v1/scans/{body['scans'][0]}", headers=INTAKE).json()
    assert (scan["channel"], scan["sender"]) == ("email", "biuro@example.pl")
    assert scan["message_id"] == body["id"]

    workers.drain(runtime_of(service))
    found = checks(service, case["id"])
    assert found["current_registrant.page_received"]["status"] == "passed"
    held = found["new_registrant.page_received"]
    assert held["status"] == "failed"
    assert "not this party's contact address (biuro@example.pl)" in held["detail"]

    accept = {"decision": "accept", "reason": "Potwierdzone telefonicznie z abonentem."}
    decided = service.post(
        f"/api/v1/cases/{case['id']}/checks/new_registrant.page_received",
        json=accept,
        headers=STAFF,
    )
    assert decided.status_code == 200, decided.text
    assert checks(service, case["id"])["new_registrant.page_received"]["status"] == "accepted"


HELD = {
    "a look-alike address": (
        dict(sender="biur0@example.pl"),
        {"address": "biur0@example.pl", "verified": True, "how": "dmarc"},
        "not this party's contact address (biur0@example.pl)",
    ),
    "a forged Authentication-Results from another host": (
        dict(results=("mx.attacker.example; dmarc=pass header.from=example.pl",)),
        {"address": "biuro@example.pl", "verified": False, "how": "no_results"},
        "the receiving mail host left no authentication results",
    ),
    "dkim=pass for an unaligned domain": (
        dict(results=(f"{OUR_HOST}; dkim=pass header.d=mailer.example.com; dmarc=fail",)),
        {"address": "biuro@example.pl", "verified": False, "how": "dkim_not_aligned"},
        "the DKIM signature that passed is of another domain than the sender's",
    ),
}


@pytest.mark.parametrize("case_of", list(HELD))
def test_a_page_from_a_sender_that_is_not_proven_to_be_its_party_is_held_with_the_reason(
    client: TestClient, case_of: str
) -> None:
    """GIVEN the current registrant's signed page
    WHEN it comes from a look-alike address, or from the right address with authentication
    results the registrar's mail host did not write, or with a DKIM pass for another domain
    THEN the page is read as usual but page_received fails, saying why.
    """
    how, sender, reason = HELD[case_of]
    case = create_case(client)
    page = form_pdf(client, case["id"], pages=(0,))
    answer = send(client, message(files=(("cesja.pdf", page, "application/pdf"),), **how))
    assert answer.status_code == 202, answer.text
    assert answer.json()["sender"] == sender

    workers.drain(runtime_of(client))
    found = checks(client, case["id"])
    held = found["current_registrant.page_received"]
    assert held["status"] == "failed"
    assert reason in held["detail"]
    assert found["current_registrant.fields_match"]["status"] == "passed"


PASSING = {
    "an IDN address in its ASCII spelling, DKIM-signed by its domain": (
        "Biuro@Żółw.pl",
        "BIURO@xn--w-uga1v8h.pl",
        "xn--w-uga1v8h.pl",
    ),
    "an address at a subdomain, DKIM-signed by the parent domain": (
        "biuro@poczta.example.pl",
        "biuro@poczta.example.pl",
        "example.pl",
    ),
}


@pytest.mark.parametrize("case_of", list(PASSING))
def test_an_aligned_dkim_signature_of_the_partys_address_passes(
    client: TestClient, case_of: str
) -> None:
    """GIVEN a current registrant's e-mail on the case
    WHEN its page comes from that address (in any case, its domain in either IDN spelling)
    with dkim=pass for its domain or a parent of it, and no DMARC result
    THEN page_received passes."""
    on_case, sender, signer = PASSING[case_of]
    body = copy.deepcopy(CASE_BODY)
    body["current_registrant"]["email"] = on_case
    case = create_case(client, body)
    page = form_pdf(client, case["id"], pages=(0,))
    mail = message(
        sender=sender,
        results=(f"{OUR_HOST}; dkim=pass header.d={signer} header.s=s1; dmarc=none",),
        files=(("cesja.pdf", page, "application/pdf"),),
    )
    answer = send(client, mail)
    assert answer.json()["sender"] == {"address": sender, "verified": True, "how": "dkim"}
    workers.drain(runtime_of(client))
    assert checks(client, case["id"])["current_registrant.page_received"]["status"] == "passed"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (200, 280), 255).save(out, "PNG")
    return out.getvalue()


def test_a_forwarded_message_gives_its_scans_and_a_zip_is_refused_by_name(
    client: TestClient,
) -> None:
    """GIVEN a message forwarding another message with a PDF, with a photo inline and a zip
    named like a path THEN the PDF and the photo are scans of channel email, the zip is
    refused with the reason and listed by its bare name; nothing is made of the name."""
    case = create_case(client)
    forwarded = message(files=(("formularz.pdf", form_pdf(client, case["id"]), "application/pdf"),))
    outer = message()
    outer.add_attachment(forwarded)
    photo = EmailMessage()
    photo.set_content(_png(), maintype="image", subtype="png", disposition="inline")
    outer.attach(photo)
    outer.add_attachment(
        b"PK\x03\x04" + b"\0" * 100,
        maintype="application",
        subtype="zip",
        filename="../../etc/skany.zip",
    )

    answer = send(client, outer)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert len(body["scans"]) == 2
    kinds = {
        client.get(f"/api/v1/scans/{s}", headers=INTAKE).json()["media_type"]: s
        for s in body["scans"]
    }
    assert set(kinds) == {"application/pdf", "image/png"}
    assert [r["name"] for r in body["refused"]] == ["skany.zip"]
    assert "PDF" in body["refused"][0]["reason"]
    for scan_id in body["scans"]:
        scan = client.get(f"/api/v1/scans/{scan_id}", headers=INTAKE).json()
        assert scan["channel"] == "email"


def test_the_same_message_twice_is_one_message(client: TestClient) -> None:
    """GIVEN a message taken once
    WHEN the same bytes come again, and the same Message-ID from the same sender with a
    relay's header added THEN each answer is 200 with the first id and its scans, and there
    is one message and one scan."""
    case = create_case(client)
    mail = message(
        files=(("cesja.pdf", form_pdf(client, case["id"], pages=(0,)), "application/pdf"),)
    )
    first = send(client, mail)
    assert first.status_code == 202, first.text

    again = send(client, mail)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()

    mail["Received"] = "from relay.example.pl by mx.registrar.pl; Sat, 5 Dec 2026 10:00:00 +0000"
    relayed = send(client, mail)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["id"] == first.json()["id"]

    with Session(runtime_of(client).engine) as session:
        assert session.exec(select(func.count()).select_from(MessageRow)).one() == 1
        assert session.exec(select(func.count()).select_from(ScanRow)).one() == 1
    fetched = client.get(f"/api/v1/messages/{first.json()['id']}", headers=STAFF)
    assert fetched.json() == first.json()


def test_who_may_send_a_message_and_what_is_refused(client: TestClient) -> None:
    """Intake and staff may send; the registrar may not (403), nobody without a key (401);
    a body that is not message/rfc822 is 415, one that is no message 422."""
    mail = message().as_bytes()
    assert send(client, mail, headers=REGISTRAR).status_code == 403
    assert send(client, mail, headers={}).status_code == 401
    assert send(client, mail, headers=STAFF).status_code == 202
    wrong_type = client.post(
        "/api/v1/messages", content=mail, headers={**INTAKE, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert send(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 64).status_code == 422


def test_a_message_over_the_upload_limit_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAX_UPLOAD_MB", "1")
    with TestClient(create_app()) as client:
        big = message(files=(("big.pdf", b"%PDF-1.4\n" + b"0" * 1_200_000, "application/pdf"),))
        assert send(client, big).status_code == 413
        with Session(runtime_of(client).engine) as session:
            assert session.exec(select(func.count()).select_from(MessageRow)).one() == 0


def test_a_message_of_too_many_files_or_parts_nested_too_deep_is_bounded(
    client: TestClient,
) -> None:
    """GIVEN a message of 60 small files, and one of parts nested 3000 deep
    THEN the first is taken with 50 files judged and one line for the rest; the second is
    refused 422 saying why, and the service answers on."""
    many = message()
    for number in range(60):
        many.add_attachment(f"notatka {number}", filename=f"notatka-{number}.txt")
    answer = send(client, many)
    assert answer.status_code == 202, answer.text
    refused = answer.json()["refused"]
    assert len(refused) == 51
    assert refused[-1]["name"] == "notatka-50.txt (+9)"
    assert "more than 50 files" in refused[-1]["reason"]

    nested = b"From: biuro@example.pl\r\nMIME-Version: 1.0\r\n"
    for depth in range(3000):
        nested += (
            f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
        )
    deep = send(client, nested + b"Content-Type: text/plain\r\n\r\nx\r\n")
    assert deep.status_code == 422, deep.text
    assert "nested too deeply" in deep.json()["message"]
    assert client.get("/healthz").status_code == 200


SENDERS = {
    "dkim named by header.i only": (
        f"{OUR_HOST}; dkim=pass header.i=@example.pl",
        {"verified": True, "how": "dkim"},
    ),
    "our host's id in other letter case": (
        "MX.Registrar.PL; dmarc=pass (p=reject) header.from=example.pl",
        {"verified": True, "how": "dmarc"},
    ),
    "dmarc=pass judged for another From domain": (
        f"{OUR_HOST}; dmarc=pass header.from=example.com",
        {"verified": False, "how": "not_passed"},
    ),
    "dkim=pass for a whole top-level domain": (
        f"{OUR_HOST}; dkim=pass header.d=pl",
        {"verified": False, "how": "dkim_not_aligned"},
    ),
    "dmarc=fail": (f"{OUR_HOST}; dmarc=fail header.from=example.pl", {"verified": False}),
    "a header that does not parse": (f"{OUR_HOST}; dmarc", {"verified": False}),
}


def test_what_vouches_for_a_sender(client: TestClient) -> None:
    """Only a result of our mail host that passes DMARC for the From domain, or DKIM for it
    or a parent of it (never a top-level domain alone), verifies the sender."""
    found = {}
    for case_of, (header, expected) in SENDERS.items():
        answer = send(client, message(results=(header,)))
        assert answer.status_code == 202, answer.text
        found[case_of] = {k: answer.json()["sender"][k] for k in expected}
    assert found == {case_of: expected for case_of, (_, expected) in SENDERS.items()}


def _dkim_key() -> tuple[bytes, str]:
    """A 2048-bit RSA key: the private key as dkimpy signs with it (PEM), and the DNS record
    that publishes its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


@pytest.fixture
def dkim_checking(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DnsServer]:
    with dns_server() as server:
        monkeypatch.setenv("CESJA_MAIL_VERIFY_DKIM", "true")
        monkeypatch.setenv("CESJA_MAIL_DNS", server.address)
        yield server


def test_with_its_own_dkim_check_the_service_verifies_a_signed_sender(
    dkim_checking: DnsServer,
) -> None:
    """GIVEN CESJA_MAIL_VERIFY_DKIM, no Authentication-Results at all, and example.pl's key
    published in DNS
    WHEN a message from biuro@example.pl comes signed by example.pl, the same altered after
    signing, one signed with a body length (l=) and one signed by another domain
    THEN only the first is verified (DKIM); the others are not."""
    from cesja.app import create_app

    private, record = _dkim_key()
    dkim_checking.txt["cesja._domainkey.example.pl"] = record
    dkim_checking.txt["cesja._domainkey.mailer.example.com"] = record

    def signed(domain: str = "example.pl", **options: Any) -> bytes:
        raw = message(results=(), files=(("cesja.pdf", b"%PDF-1.4 x", "application/pdf"),))
        data = raw.as_bytes().replace(b"\n", b"\r\n")
        headers = [b"from", b"to", b"subject", b"message-id"]
        return (
            dkim.sign(data, b"cesja", domain.encode(), private, include_headers=headers, **options)
            + data
        )

    altered = signed().replace(b"Podpisany formularz", b"Inny formularz")
    with TestClient(create_app()) as client:
        found = [
            send(client, raw).json()["sender"]
            for raw in (signed(), altered, signed(length=True), signed("mailer.example.com"))
        ]
    assert [(s["verified"], s["how"]) for s in found] == [
        (True, "dkim"),
        (False, "not_configured"),
        (False, "not_configured"),
        (False, "not_configured"),
    ]
