"""E-mail notices to the parties, sent to a real SMTP server (aiosmtpd) the test starts: each
notice reaches its party in Polish with that party's link, survives a busy server under one
Message-ID, is DKIM-signed when a key is set, and nothing is sent when SMTP is not set or
when a page's e-mail came from a sender that is not proven to be its party."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlmodel import Session

from cesja import workers
from cesja.casework import deadlines
from cesja.config import Settings
from cesja.db.models import CaseRow
from tests.cesja.flow import add_page, case_in, create_case, event_types, runtime_of
from tests.cesja.sent_mail import OUR_HOST, form_pdf, message, send
from tests.cesja.smtp_server import SmtpServer, smtp_server
from tests.cesja.web.conftest import ORIGIN, sign_in
from tests.conftest import CASE_BODY, REGISTRAR, STAFF

CURRENT = CASE_BODY["current_registrant"]["email"]  # biuro@example.pl
NEW = CASE_BODY["new_registrant"]["email"]
FROM = "cesja@registrar.pl"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _mail_settings(monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> None:
    monkeypatch.setenv("CESJA_SMTP_URL", smtp.url)
    monkeypatch.setenv("CESJA_MAIL_FROM", FROM)
    monkeypatch.setenv("CESJA_MAIL_RETRY_SCALE", "0")
    monkeypatch.setenv("CESJA_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp: SmtpServer,
) -> Iterator[TestClient]:
    from cesja.app import create_app

    _mail_settings(monkeypatch, smtp)
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with TestClient(create_app(Settings(database_url=url) if url else None)) as client:
        yield client


@pytest.fixture
def client(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer
) -> Iterator[TestClient]:
    from cesja.app import create_app

    _mail_settings(monkeypatch, smtp)
    with TestClient(create_app()) as c:
        yield c


def _sent(client: TestClient, smtp: SmtpServer, to: str, case_id: str) -> list[Any]:
    workers.drain(runtime_of(client))
    return [r for r in smtp.to(to) if case_id in r.subject]


def _one(received: list[Any], subject_has: str) -> Any:
    found = [r for r in received if subject_has in r.subject]
    assert len(found) == 1, [r.subject for r in received]
    return found[0]


def test_each_party_is_told_what_happens_to_its_case_in_polish_with_its_link(
    service: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN SMTP configured
    WHEN a case is opened, one party's page comes, the other's comes unsigned, half the time
    passes, then a good page comes and the registrar completes the transfer
    THEN each party gets, in Polish, with its own customer link: the form attached on
    opening; an acknowledgement naming the page still missing; what to send again; a
    reminder only for the party with something open; then documents accepted and transfer
    done, and the back office lists every e-mail as sent.
    """
    case = create_case(service)
    case_id, links = case["id"], case["customer_urls"]
    link_of = {CURRENT: links["current_registrant"], NEW: links["new_registrant"]}
    runtime = runtime_of(service)

    for address, page in ((CURRENT, "1"), (NEW, "2")):
        opened = _one(_sent(service, smtp, address, case_id), "formularz do podpisu")
        assert f"podpisać stronę {page}" in opened.text
        link = link_of[address]
        assert link in opened.text and f'href="{link}"' in opened.html
        assert opened.message["Message-ID"].endswith("@registrar.pl>")
        attached = [p for p in opened.message.iter_attachments()]
        assert [p.get_filename() for p in attached] == [f"cesja-{case_id}.pdf"]
        # The form as issued, byte for byte: the same file the API and the links give.
        issued = service.get(f"/api/v1/cases/{case_id}/form.pdf", headers=REGISTRAR).content
        assert attached[0].get_content() == issued

    add_page(runtime, case_id, "current_registrant")
    received = _one(_sent(service, smtp, CURRENT, case_id), "otrzymaliśmy stronę 1")
    assert "Wciąż brakuje:" in received.text
    assert "- strony 2 podpisanej przez nowego abonenta" in received.text
    assert link_of[CURRENT] in received.text

    add_page(runtime, case_id, "new_registrant", signature_present=False)
    again = _one(_sent(service, smtp, NEW, case_id), "prosimy przesłać stronę 2 ponownie")
    assert "- w polu podpisu nie ma podpisu" in again.text
    assert "<li>w polu podpisu nie ma podpisu</li>" in again.html

    with Session(runtime.engine) as session:
        halfway = deadlines.halfway(session.get_one(CaseRow, case_id))
    deadlines.run(runtime, now=halfway + timedelta(seconds=1))
    assert _one(_sent(service, smtp, NEW, case_id), "połowa terminu")
    assert not [r for r in smtp.to(CURRENT) if "połowa terminu" in r.subject]

    assert add_page(runtime, case_id, "new_registrant") == "transfer_ready"
    answer = service.post(f"/api/v1/cases/{case_id}/transfer-completed", headers=REGISTRAR)
    assert answer.status_code == 200, answer.text
    for address in (CURRENT, NEW):
        received_all = _sent(service, smtp, address, case_id)
        assert _one(received_all, "dokumenty przyjęte")
        done = _one(received_all, "wykonana")
        assert "nowym abonentem jest Małgorzata Żółkiewska-Ćwik" in done.text
        assert all(link_of[address] in r.text for r in received_all)
        # The page that made the case ready is told by "documents accepted", not acknowledged.
    assert len(smtp.to(NEW)) == 5  # opened, send again, half-way, accepted, done

    assert sign_in(service).status_code == 303
    page = service.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert page.text.count('class="mail-sent"') == 9
    assert "mail-pending" not in page.text and "mail-failed" not in page.text
    assert event_types(service, case_id).count("notice_sent") == 9


def test_a_case_that_asks_for_english_is_written_to_in_english(
    client: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN a case made with `"language": "en"` WHEN it is opened and then cancelled
    THEN both parties are written to in English, text and HTML, with their own links; the
    case says its language."""
    case = create_case(client, {**CASE_BODY, "language": "en"})
    assert case["language"] == "en"
    for address, party in ((CURRENT, "current_registrant"), (NEW, "new_registrant")):
        opened = _one(_sent(client, smtp, address, case["id"]), "the form to sign")
        assert opened.subject.startswith("Transfer of domain")
        assert opened.text.startswith("Hello,") and "Dzień dobry" not in opened.text
        assert f"The case and the form: {case['customer_urls'][party]}" in opened.text
        assert '<html lang="en">' in opened.html and "Sent automatically" in opened.html
    answer = client.post(
        f"/api/v1/cases/{case['id']}/cancel", json={"reason": "withdrawn"}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text
    cancelled = _one(_sent(client, smtp, NEW, case["id"]), "case cancelled")
    assert "Reason: withdrawn" in cancelled.text
    polish = create_case(client)
    assert polish["language"] == "pl"


def test_a_reissued_form_goes_to_both_parties_at_their_corrected_addresses(
    client: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN a case WHEN the registrar corrects the new registrant's e-mail address (a new
    form version) THEN both parties are sent the new form, the new registrant at its
    corrected address, and the old address gets nothing more."""
    case = create_case(client)
    workers.drain(runtime_of(client))
    corrected = dict(CASE_BODY["new_registrant"], email="malgorzata@example.com")
    answer = client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": corrected},
        headers=REGISTRAR,
    )
    assert answer.status_code == 200, answer.text
    for address, page in ((CURRENT, "1"), ("malgorzata@example.com", "2")):
        again = _one(_sent(client, smtp, address, case["id"]), "nowy formularz do podpisu")
        assert "wersja 2" in again.subject and f"podpisać stronę {page}" in again.text
        assert [p.get_filename() for p in again.message.iter_attachments()] == [
            f"cesja-{case['id']}.pdf"
        ]
    assert len(smtp.to(NEW)) == 1  # the opening only


@pytest.mark.parametrize(
    ("state", "subject", "said"),
    [
        ("rejected", "sprawa odrzucona", "Powód: forged"),
        ("cancelled", "sprawa anulowana", "Powód: withdrawn"),
        ("expired", "termin na dokumenty minął", "rejestrator musi rozpocząć nową sprawę"),
    ],
)
def test_a_case_that_ends_without_a_transfer_tells_both_parties_why(
    client: TestClient, smtp: SmtpServer, state: str, subject: str, said: str
) -> None:
    """GIVEN a case WHEN staff reject it, the registrar cancels it, or its deadline passes
    THEN both parties are told so, with the reason, and nothing more is sent."""
    case = case_in(client, state)
    for address in (CURRENT, NEW):
        ended = _one(_sent(client, smtp, address, case["id"]), subject)
        assert said in ended.text
        party = "current_registrant" if address == CURRENT else "new_registrant"
        assert case["customer_urls"][party] in ended.text


def test_a_notice_about_collecting_documents_is_withdrawn_when_the_case_ends_first(
    client: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN an unsigned page read while the mail is held up (no worker ran yet)
    WHEN the registrar cancels the case before the notice goes out
    THEN "send it again" is withdrawn, never sent, and "cancelled" is."""
    case = create_case(client)
    workers.drain(runtime_of(client))
    add_page(runtime_of(client), case["id"], "current_registrant", signature_present=False)
    answer = client.post(
        f"/api/v1/cases/{case['id']}/cancel", json={"reason": "withdrawn"}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text
    told = _sent(client, smtp, CURRENT, case["id"])
    assert [r.subject for r in told if "ponownie" in r.subject] == []
    assert _one(told, "sprawa anulowana")
    assert "notice_withdrawn" in event_types(client, case["id"])


def test_a_notice_the_server_refused_twice_is_delivered_once_under_one_message_id(
    client: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN an SMTP server that answers 451 (try later) to the first two deliveries to the
    current registrant WHEN a case is opened and its notices are sent
    THEN that notice is tried three times under the same Message-ID and arrives once; the
    back office shows it sent after the server's refusal, and the audit trail records it."""
    smtp.refuse_to[CURRENT] = 2
    case = create_case(client)
    workers.drain(runtime_of(client))

    first = smtp.refused_ids[0]
    assert smtp.refused_ids == [first, first]
    delivered = [r for r in smtp.received if r.message["Message-ID"] == first]
    assert len(delivered) == 1 and delivered[0].to == [CURRENT]
    assert len(smtp.received) == 2  # one to each party, each once

    answer = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF)
    sent = [e["data"] for e in answer.json() if e["type"] == "notice_sent"]
    assert sorted(e["attempts"] for e in sent) == [1, 3]
    assert first in [e["message_id"] for e in sent]
    assert sign_in(client).status_code == 303
    page = client.get("/mail?status=sent")
    assert page.status_code == 200
    assert page.text.count('class="mail-sent"') == 2
    assert "<td>3</td>" in page.text  # attempts


def test_a_notice_the_server_refuses_for_good_is_failed_and_shown(
    client: TestClient, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a server that refuses every delivery for a while, and two attempts allowed
    WHEN a case is opened THEN its notices end failed, shown as such in the back office."""
    monkeypatch.setattr(runtime_of(client).settings, "mail_max_attempts", 2)
    smtp.refuse = 4
    case = create_case(client)
    workers.drain(runtime_of(client))
    assert smtp.received == []
    assert "notice_failed" in event_types(client, case["id"])
    assert sign_in(client).status_code == 303
    page = client.get("/mail?status=failed")
    assert page.text.count('class="mail-failed"') == 2


def test_no_notice_at_all_without_smtp(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer
) -> None:
    """GIVEN CESJA_SMTP_URL unset WHEN a case is opened and becomes ready
    THEN nothing reaches the SMTP server, no notice is recorded, and the back office says
    e-mail is not configured."""
    from cesja.app import create_app

    with TestClient(create_app()) as client:
        case = case_in(client, "transfer_ready")
        workers.drain(runtime_of(client))
        assert smtp.received == []
        assert not [t for t in event_types(client, case["id"]) if t.startswith("notice_")]
        assert sign_in(client).status_code == 303
        page = client.get(f"/cases/{case['id']}")
        assert "nie jest skonfigurowane" in page.text


@pytest.mark.filterwarnings("ignore::UserWarning:aiosmtpd")  # AUTH without TLS, on loopback
def test_a_login_the_server_refuses_is_shown_without_the_password(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a server that wants a login WHEN the URL's password is wrong THEN nothing is
    sent, each notice ends failed saying the login was refused, and the password appears
    in no log line, page or audit event; WHEN the operator puts it right and staff send the
    failed e-mails again from the back office THEN they arrive, under their Message-IDs."""
    from cesja.app import create_app

    caplog.set_level(logging.DEBUG)
    with smtp_server(login=("cesja", "right-pa55")) as smtp:
        _mail_settings(monkeypatch, smtp)
        monkeypatch.setenv("CESJA_SMTP_URL", f"smtp://cesja:wr0ng-pa55@127.0.0.1:{smtp.port}")
        monkeypatch.setenv("CESJA_MAIL_MAX_ATTEMPTS", "2")
        with TestClient(create_app()) as client:
            case = create_case(client)
            workers.drain(runtime_of(client))
            assert smtp.received == []
            assert sign_in(client).status_code == 303
            page = client.get("/mail?status=failed").text
            assert page.count('class="mail-failed"') == 2
            assert "the login: 535" in page
            assert 'title="e-maile do stron, których nie udało się wysłać' in page
            events = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).text
        assert "wr0ng-pa55" not in caplog.text + page + events
        failed = re.findall(r'action="/mail/(NT-[0-9A-F]+)/resend"', page)
        assert len(failed) == 2

        monkeypatch.setenv("CESJA_SMTP_URL", f"smtp://cesja:right-pa55@127.0.0.1:{smtp.port}")
        with TestClient(create_app()) as client:
            assert sign_in(client).status_code == 303
            for notice_id in failed:
                answer = client.post(f"/mail/{notice_id}/resend", headers=ORIGIN)
                assert answer.status_code == 200 and "wysłany ponownie" in answer.text
            again = client.post(f"/mail/{failed[0]}/resend", headers=ORIGIN)
            assert again.status_code == 409
            assert "Ponownie wysłać można tylko e-mail, którego nie udało się wysłać" in again.text
            workers.drain(runtime_of(client))
            assert "notice_resent" in event_types(client, case["id"])
        assert sorted(str(r.message["Message-ID"]) for r in smtp.received) == sorted(
            f"<{n.lower()}@registrar.pl>" for n in failed
        )


def test_notices_are_dkim_signed_with_the_configured_key(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer, tmp_path: Path
) -> None:
    """GIVEN a DKIM key and selector WHEN a notice is sent THEN its signature verifies
    against the public key published at <selector>._domainkey.<From domain>."""
    from cesja.app import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "dkim.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    _mail_settings(monkeypatch, smtp)
    monkeypatch.setenv("CESJA_MAIL_DKIM_KEY", str(pem))
    monkeypatch.setenv("CESJA_MAIL_DKIM_SELECTOR", "cesja2026")
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        looked_up.append(name)
        return record if name == b"cesja2026._domainkey.registrar.pl." else None

    with TestClient(create_app()) as client:
        create_case(client)
        workers.drain(runtime_of(client))
    assert len(smtp.received) == 2
    for received in smtp.received:
        assert dkim.verify(received.raw, dnsfunc=dns)
    assert looked_up and set(looked_up) == {b"cesja2026._domainkey.registrar.pl."}
    tampered = smtp.received[0].raw.replace(b"Subject: ", b"Subject: Re: ", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_an_acknowledgement_goes_only_to_a_verified_sender(
    client: TestClient, smtp: SmtpServer
) -> None:
    """GIVEN a case WHEN the current registrant's (unsigned) page comes by e-mail from its
    address but with authentication results no host of ours wrote THEN nobody is told
    anything about it; WHEN it comes again from the verified address THEN that party is
    told about its page (here: to send it again, signed), the other party nothing."""
    case = create_case(client)
    case_id = case["id"]
    workers.drain(runtime_of(client))
    opened = len(smtp.received)
    page = form_pdf(client, case_id, pages=(0,))
    forged = ("mx.attacker.example; dmarc=pass header.from=example.pl",)
    answer = send(client, message(files=(("cesja.pdf", page, "application/pdf"),), results=forged))
    assert answer.status_code == 202 and answer.json()["sender"]["verified"] is False
    workers.drain(runtime_of(client))
    assert len(smtp.received) == opened

    answer = send(client, message(files=(("skan.pdf", page + b"\n", "application/pdf"),)))
    assert answer.status_code == 202 and answer.json()["sender"]["verified"] is True
    told = _one(_sent(client, smtp, CURRENT, case_id), "stronę 1")
    assert "prosimy przesłać stronę 1 ponownie" in told.subject
    assert "- w polu podpisu nie ma podpisu" in told.text
    assert len(smtp.received) == opened + 1
