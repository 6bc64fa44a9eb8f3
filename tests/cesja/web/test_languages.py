"""The web pages speak Polish, or English by a switch: every back-office page in Polish holds no
English sentence of the catalogue, and in English no Polish one; the choice is kept in the staff
session; a customer's page speaks its case's language, or the one its reader picks.

What a person reads is the page's text and the words of its titles, placeholders and labels;
a part marked `translate="no"` is another system's words quoted as they came (an SMTP server's
answer, a scan's error), shown as they are in either language.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.db import jobs
from cesja.db.models import JobRow, PageRow, ScanRow, utcnow
from cesja.runtime import Runtime
from cesja.web.catalogue import CATALOGUE
from ocr import PageReading
from tests.cesja.flow import add_page, both_pages, create_case, runtime_of
from tests.cesja.sent_mail import OUR_HOST, message
from tests.cesja.web.conftest import ORIGIN, sign_in
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF

# Values in neither language: what a page shows of them may not be taken for its words.
ASCII_CASE: dict[str, Any] = copy.deepcopy(CASE_BODY)
ASCII_CASE["domains"] = ["example.pl", "zolw.pl"]
ASCII_CASE["current_registrant"].update(
    name="Zazolc Sp. z o.o.",
    representatives=["Grzegorz Brzeczyszczykiewicz"],
    email="kontakt@example.pl",
)
ASCII_CASE["current_registrant"]["address"].update(street="ul. Zrodlana 17/4", city="Lodz")
ASCII_CASE["new_registrant"]["name"] = "Malgorzata Zolkiewska-Cwik"
ASCII_CASE["new_registrant"]["address"].update(street="ul. Swietokrzyska 36 m. 12", city="Krakow")
REASON = "Tel. 22 555 01 02"

# Words of either language no page may show in the other: a few of the commonest.
ENGLISH_WORDS = re.compile(r"\b(the|and|of|is|was|not|with|this|from|has|are|been)\b", re.I)
POLISH_WORDS = re.compile(
    r"\b(nie|jest|albo|oraz|dla|sprawa|sprawy|spraw|strona|strony|czeka|brak|powód|powod|"
    r"abonent|podpis|wersja|zaloguj|wyloguj|kolejka|biuro|skan|wiadomość|termin)\b",
    re.I,
)
POLISH_LETTERS = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")


class _Reader(HTMLParser):
    """The text of a page as a person reads it: its text, and the words of its titles,
    placeholders, labels and confirmations; not scripts, and not what is marked
    `translate="no"`."""

    WORDS = ("title", "alt", "placeholder", "aria-label", "hx-confirm", "data-title")
    VOID: ClassVar = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.said: list[str] = []
        self.open: list[bool] = []  # per open element: whether its text is left out

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        quiet = bool(self.open and self.open[-1])
        quiet = quiet or tag in ("script", "style") or ("translate", "no") in attrs
        if not quiet:
            self.said += [v for k, v in attrs if k in self.WORDS and v]
        if tag not in self.VOID:
            self.open.append(quiet)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if not (self.open and self.open[-1]):
            self.said.append(data)


def read(page: str) -> str:
    reader = _Reader()
    reader.feed(page)
    return " ".join(" ".join(reader.said).split())


def _fragments(message: str) -> list[str]:
    """The words of a catalogue message between its values and tags, two words or more."""
    parts = re.split(r"%\(\w+\)s|\{\w+\}|<[^>]+>", message.replace("%%", "%"))
    return [
        part
        for part in (" ".join(p.split()).strip(" .,;:()—–-“”„") for p in parts)
        if len(part.split()) >= 2
    ]


def _catalogue() -> list[tuple[str, str]]:
    """English and Polish of every message whose Polish differs, each plural form too."""
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    pairs = []
    for m in catalogue:
        if not m.id:
            continue
        english = m.id if isinstance(m.id, tuple) else (m.id,)
        polish = m.string if isinstance(m.string, tuple) else (m.string,)
        pairs += [(e, p) for e in english for p in polish if e != p]
    return pairs


def english_on(text: str) -> list[str]:
    """The catalogue's English sentences, and English words, found in a Polish text."""
    found = {f for english, _ in _catalogue() for f in _fragments(english) if f in text}
    return sorted(found | {m.group(0) for m in ENGLISH_WORDS.finditer(text)})


def polish_on(text: str) -> list[str]:
    """The catalogue's Polish sentences, Polish words and letters found in an English text."""
    found = {f for _, polish in _catalogue() for f in _fragments(polish) if f in text}
    found |= {m.group(0) for m in POLISH_WORDS.finditer(text)}
    return sorted(found | set(POLISH_LETTERS.findall(text)))


@pytest.fixture
def client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service with e-mail to the parties and notices to the registrar configured (the
    workers never run: nothing is sent, so no other system's words are on the pages), and
    what the operator configures (reasons to pick from, the address and contact the customer
    reads) in neither language: the pages show it as it is written."""
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)
    monkeypatch.setenv("CESJA_SMTP_URL", "smtp://127.0.0.1:9")
    monkeypatch.setenv("CESJA_MAIL_FROM", "cesja@registrar.pl")
    monkeypatch.setenv("CESJA_WEBHOOK_URL", "http://127.0.0.1:9/cesja")
    monkeypatch.setenv("CESJA_WEBHOOK_SECRET", "whsec_" + "a" * 40)
    monkeypatch.setenv("CESJA_REVIEW_REASONS", "RODO-1|KRS-2")
    monkeypatch.setenv("CESJA_RETURN_POSTAL_ADDRESS", "Cesja, ul. Prosta 1, 00-001 Warszawa")
    monkeypatch.setenv("CESJA_CUSTOMER_CONTACT", "tel. +48 22 000 00 00, cesja@example.pl")
    with TestClient(create_app()) as c:
        yield c


def _loose_page(runtime: Runtime) -> str:
    """A faxed page whose code and case number could not be read, and a file that could not
    be read at all, as the reader stores them; the page's scan's id."""
    with Session(runtime.engine) as session:
        session.add(
            ScanRow(
                id="SC-" + secrets.token_hex(8).upper(),
                sha256=secrets.token_hex(32),
                channel="upload",
                media_type="application/pdf",
                size=1,
                status="failed",
                sender="customer link: CS-0000-0000, new_registrant",
                error="pdftoppm: Syntax Error (0): Couldn't find trailer dictionary",
                received_at=utcnow(),
            )
        )
        scan = ScanRow(
            id="SC-" + secrets.token_hex(8).upper(),
            sha256=secrets.token_hex(32),
            channel="fax",
            media_type="image/png",
            size=1,
            status="done",
            sender="+48 22 555 01 02",
            received_at=utcnow(),
        )
        session.add(scan)
        session.flush()
        note = "the QR code could not be read; no readable page code and no readable case number"
        reading = PageReading(index=0, outcome="unmatched", detail=note)
        session.add(
            PageRow(
                scan_id=scan.id,
                index=0,
                outcome="unmatched",
                reading=reading.to_dict(),
                created_at=utcnow(),
            )
        )
        session.commit()
        return scan.id


def _job_given_up(runtime: Runtime) -> None:
    """One e-mail to a party that the system stopped trying to send."""
    with Session(runtime.engine) as session:
        job = session.exec(select(JobRow).where(JobRow.kind == "send_notice")).first()
        assert job is not None and job.id is not None
    assert jobs.give_up(runtime.engine, job.id, "SIGKILL 500 MB", {})


def office_pages(client: TestClient) -> list[tuple[str, str]]:
    """Cases in review (a decision taken), ready, rejected, a page without a case, an e-mail
    taken in, e-mails and notices waiting, a job given up; then every back-office page that
    shows them, and the answers of refused posts: (what, page)."""
    runtime = runtime_of(client)
    loose = _loose_page(runtime)
    refused = client.post(
        "/api/v1/scans",
        files={"file": ("letter.docx", b"PK\x03\x04 not a scan")},
        data={"channel": "fax", "sender": "+48 22 555 01 02"},
        headers=INTAKE,
    )
    assert refused.status_code == 415, refused.text
    in_review = create_case(client, ASCII_CASE)["id"]
    assert add_page(runtime, in_review, "new_registrant", signature_present=False) == "in_review"
    ready = create_case(client, ASCII_CASE)["id"]
    assert both_pages(runtime, ready) == "transfer_ready"
    rejected = create_case(client, ASCII_CASE)["id"]
    answer = client.post(f"/api/v1/cases/{rejected}/reject", json={"reason": REASON}, headers=STAFF)
    assert answer.status_code == 200, answer.text
    _job_given_up(runtime)
    mail = message(
        sender="kontakt@example.pl", files=(("scan.pdf", b"%PDF-1.4 x", "application/pdf"),)
    )
    del mail["Subject"]
    mail["Subject"] = "CS-2026"
    added = client.post(
        "/messages",
        files={"file": ("m.eml", mail.as_bytes(), "message/rfc822")},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    signature = f"/cases/{in_review}/checks/new_registrant.signature_present"
    decided = client.post(
        signature,
        data={"decision": "reject", "reason": REASON},
        headers=ORIGIN,
    )
    assert decided.status_code == 200, decided.text
    pages = [
        (path, client.get(path))
        for path in (
            "/",
            "/?state=in_review",
            f"/cases/{in_review}",
            f"/cases/{ready}",
            f"/cases/{rejected}",
            "/unmatched",
            "/messages",
            added.headers["location"],
            "/mail",
            "/jobs",
            "/webhooks",
            "/webhooks?status=pending",
            "/cases/CS-0000-0000",
        )
    ]
    pages.append(("a decision said", decided))
    accept = {"decision": "accept", "reason": "x"}
    refusals = [
        (signature, {"decision": "accept"}),  # no reason
        (signature, {"reason": "x"}),  # no decision
        (signature.replace(in_review, rejected), accept),  # a closed case
        (f"/cases/{rejected}/cancel", {"reason": "x"}),  # a state that allows it not
        (f"/cases/{in_review}/checks/no.such", accept),
        (f"/scans/{loose}/pages/0/assign", {"case_id": in_review, "reason": "x"}),  # whose?
        (f"/scans/{loose}/pages/0/assign", {"case_id": "CS-0000-0000", "party": "new"}),
        ("/webhooks/WH-0000/resend", {}),
        ("/mail/NT-0000/resend", {}),
    ]
    for path, form in refusals:
        refused = client.post(path, data=form, headers=ORIGIN)
        assert refused.status_code >= 400, (path, refused.text)
        pages.append((f"POST {path}", refused))
    foreign = client.post(f"/cases/{in_review}/cancel", headers={"Origin": "http://evil"})
    pages.append(("a foreign post", foreign))
    for what, page in pages:
        assert page.headers["content-type"].startswith("text/html"), (what, page.text)
    return [(what, page.text) for what, page in pages]


def test_no_back_office_page_in_polish_holds_an_english_sentence(client: TestClient) -> None:
    """GIVEN every kind of thing the back office shows, in Polish (the default)
    WHEN staff open each of its pages, and posts are refused for each reason a page says
    THEN not one English sentence of the catalogue, nor a common English word, is on any."""
    assert sign_in(client).status_code == 303
    for what, page in office_pages(client):
        assert '<html lang="pl">' in page, what
        assert english_on(read(page)) == [], what
    client.post("/sign-out", headers=ORIGIN)
    for page in (
        client.get("/sign-in"),
        client.post("/sign-in", data={"key": "x"}, headers=ORIGIN),
    ):
        assert english_on(read(page.text)) == []


def test_in_english_no_polish_is_left_on_any_back_office_page(client: TestClient) -> None:
    """GIVEN a member of staff who switched the back office to English
    WHEN they open each of its pages, and posts are refused for each reason a page says
    THEN not one Polish sentence of the catalogue, nor a common Polish word or letter, is on
    any (the case's values are written without Polish letters)."""
    assert sign_in(client).status_code == 303
    switched = client.post("/language", data={"language": "en", "next": "/"}, headers=ORIGIN)
    assert switched.status_code == 200 and "Case queue" in switched.text

    for what, page in office_pages(client):
        assert '<html lang="en">' in page, what
        assert polish_on(read(page)) == [], what

    signed_out = client.post("/sign-out", headers=ORIGIN)
    assert "Signed out." in signed_out.text
    assert polish_on(read(signed_out.text)) == []
    wrong = client.post(
        "/sign-in", data={"username": "anna", "password": "x", "language": "en"}, headers=ORIGIN
    )
    assert wrong.status_code == 401 and "Wrong login or password." in wrong.text
    assert polish_on(read(wrong.text)) == []


def test_the_language_is_the_staff_sessions_own(client: TestClient) -> None:
    """GIVEN two members of staff signed in, the first switching to English
    WHEN each opens the queue, and the first signs in again from an English sign-in page
    THEN only the first reads English; the second still reads Polish; a new sign-in from the
    English page starts in English; a switch from another site, or without signing in,
    changes nothing."""
    other = TestClient(client.app)
    for browser in (client, other):
        assert sign_in(browser).status_code == 303

    client.post("/language", data={"language": "en", "next": "/mail"}, headers=ORIGIN)

    assert "<h1>E-mails to parties</h1>" in client.get("/mail").text
    assert "<h1>Case queue</h1>" in client.get("/").text
    assert "<h1>Kolejka spraw</h1>" in other.get("/").text
    foreign = other.post("/language", data={"language": "en"}, headers={"Origin": "http://evil"})
    assert foreign.status_code == 403
    assert "<h1>Kolejka spraw</h1>" in other.get("/").text
    nobody = TestClient(client.app)
    ignored = nobody.post("/language", data={"language": "en"}, headers=ORIGIN)
    assert ignored.status_code == 200 and 'lang="pl"' in ignored.text  # the sign-in page
    client.post("/language", data={"language": "pl", "next": "/"}, headers=ORIGIN)
    assert "<h1>Kolejka spraw</h1>" in client.get("/").text

    english = nobody.get("/sign-in?lang=en&next=/jobs")
    assert "Signing in to the back office" in english.text
    assert 'name="language" value="en"' in english.text
    nobody.post(
        "/sign-in", data={"key": "dev-staff", "next": "/jobs", "language": "en"}, headers=ORIGIN
    )
    assert "<h1>Jobs given up</h1>" in nobody.get("/jobs").text


def test_a_customers_page_speaks_its_cases_language_or_the_one_its_reader_picks(
    client: TestClient,
) -> None:
    """GIVEN a case made in Polish and one made in English
    WHEN their parties open their links, and a reader of the English one switches to Polish
    THEN the Polish case's page is in Polish with no English sentence, the English one's in
    English with no Polish one; after the switch the reader's pages are Polish, their choice
    kept by the browser for the next visit, and back to English the same way."""
    polish_case = create_case(client, ASCII_CASE)
    english_case = create_case(client, {**ASCII_CASE, "language": "en"})
    fresh = TestClient(client.app)

    polish_page = fresh.get(polish_case["customer_url"])
    assert '<html lang="pl">' in polish_page.text and "Cesja domeny" in polish_page.text
    assert english_on(read(polish_page.text)) == []
    english_page = fresh.get(english_case["customer_url"])
    assert '<html lang="en">' in english_page.text and "Domain transfer" in english_page.text
    assert polish_on(read(english_page.text)) == []
    assert "Your page 1 has not arrived yet" in english_page.text
    sent = fresh.get(english_case["customer_url"] + "?sent=received")
    assert "The file arrived. We are reading it" in sent.text

    switched = fresh.get(english_case["customer_url"] + "?lang=pl")
    assert '<html lang="pl">' in switched.text and "Twoja strona" in switched.text
    assert english_on(read(switched.text)) == []
    assert '<html lang="pl">' in fresh.get(english_case["customer_url"]).text  # kept
    back = fresh.get(english_case["customer_url"] + "?lang=en")
    assert '<html lang="en">' in back.text
    assert '<html lang="en">' in fresh.get(polish_case["customer_url"]).text  # the reader's own

    answer = client.post(
        f"/api/v1/cases/{english_case['id']}/cancel", json={"reason": REASON}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text
    ended = TestClient(client.app).get(english_case["customer_url"])
    assert "The case was cancelled on" in ended.text
    assert polish_on(read(ended.text)) == []
    unknown = TestClient(client.app).get("/c/" + "x" * 43 + "?lang=en")
    assert unknown.status_code == 404 and "This link is not valid." in unknown.text
