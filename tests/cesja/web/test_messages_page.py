"""The back office shows e-mail taken in: who sent it and whether that was verified, each file
and the scan and case it went to, the files refused; a case's page says which message each
page came in."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cesja import workers
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_mail import OUR_HOST, form_pdf, message, send
from tests.cesja.web.conftest import ORIGIN


def text_of(page: str) -> str:
    """What a person reads on the page: its text, without tags, spaces as they read."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" ,", ",")


@pytest.fixture
def client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)
    with TestClient(create_app()) as c:
        yield c


def test_staff_see_each_message_its_sender_files_scans_and_cases(staff: TestClient) -> None:
    """GIVEN the current registrant's address sent the whole form, verified by DMARC, with a
    zip beside it, and both pages were read
    WHEN staff open the messages and the case
    THEN the message shows its sender as verified and how, the form as a scan whose pages went
    to the case for each party, the zip refused and why; the case's pages each name the
    message, and the new registrant's page, sent from the other party's address, is held
    saying so in Polish."""
    case = create_case(staff)
    mail = message(
        files=(
            ("cesja.pdf", form_pdf(staff, case["id"]), "application/pdf"),
            ("skany.zip", b"PK\x03\x04" + b"\0" * 64, "application/zip"),
        )
    )
    taken = send(staff, mail).json()
    workers.drain(runtime_of(staff))

    listed = text_of(staff.get("/messages").text)
    assert taken["id"] in listed
    assert "biuro@example.pl" in listed
    assert "nadawca potwierdzony: DMARC potwierdził nadawcę" in listed
    assert "Podpisany formularz cesji" in listed
    assert f"skan {taken['scans'][0]}" in listed
    assert f"strona 1: {case['id']}, obecny abonent, przypisana do sprawy" in listed
    assert f"strona 2: {case['id']}, nowy abonent, przypisana do sprawy" in listed
    assert "skany.zip" in listed and "odrzucony: to nie jest PDF, TIFF, PNG ani JPEG" in listed
    one = text_of(staff.get(f"/messages/{taken['id']}").text)
    assert "skany.zip" in one and f"Wiadomość {taken['id']}" in one

    page = text_of(staff.get(f"/cases/{case['id']}").text)
    assert page.count(f"w wiadomości {taken['id']} (nadawca potwierdzony") == 2
    assert (
        "wysłano z adresu, który nie jest adresem kontaktowym tego abonenta (biuro@example.pl)"
        in page
    )


def test_only_signed_in_staff_see_messages(client: TestClient) -> None:
    """Without signing in, the messages page sends to the sign-in page and shows nothing."""
    answer = client.get("/messages", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


def test_staff_add_a_message_saved_from_their_own_mailbox(staff: TestClient) -> None:
    """GIVEN an e-mail a member of staff saved as .eml, and a file that is no e-mail
    WHEN each is added on the messages page THEN the first is taken as the gateway's would be
    (its page shows it, sender verified by its headers); the second is refused saying why."""
    raw = message(files=(("skan.pdf", b"%PDF-1.4 not really", "application/pdf"),)).as_bytes()
    added = staff.post(
        "/messages",
        files={"file": ("wiadomosc.eml", raw, "message/rfc822")},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"].startswith("/messages/MS-")
    shown = text_of(staff.get(added.headers["location"]).text)
    assert "Wiadomość przyjęta" in shown
    assert "nadawca potwierdzony: DMARC potwierdził nadawcę" in shown

    refused = staff.post(
        "/messages",
        files={"file": ("notatka.eml", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "message/rfc822")},
        headers=ORIGIN,
    )
    assert refused.status_code == 422
    said = text_of(refused.text)
    assert "Nie przyjęto wiadomości. Plik nie jest wiadomością e-mail (RFC 5322)." in said
