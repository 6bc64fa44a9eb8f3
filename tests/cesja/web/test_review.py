"""What the back-office pages show: the queue in the order a person works it, a case with its
scans beside the expected values, pages that count for no case, and an audit trail that says
whether it can be trusted."""

from __future__ import annotations

import html
import re
from typing import Any

import cv2
import idna
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from cesja.db.models import EvidenceRow, PageRow, ScanRow, utcnow
from documents.simulate import foreign_page, to_png
from ocr import FieldReading
from tests.cesja.flow import add_page, case_in, create_case, runtime_of
from tests.cesja.test_case_search import other_parties
from tests.cesja.web.seed import case_with_page, scanned_page, send_scan
from tests.conftest import CASE_BODY, REGISTRAR

CASE_LINK = re.compile(r'<a href="/cases/(CS-[0-9A-Z-]+)"><strong>')


def queue_ids(staff: TestClient, query: str = "") -> list[str]:
    answer = staff.get(f"/{query}")
    assert answer.status_code == 200, answer.text
    return CASE_LINK.findall(answer.text)


def body_with(**changes: Any) -> dict[str, Any]:
    return {**CASE_BODY, **changes}


def test_the_queue_shows_cases_that_need_a_person_first(staff: TestClient) -> None:
    """GIVEN a case waiting for documents, two in review (the first waiting longer) and a
    cancelled one
    WHEN staff open the queue
    THEN the two in review come first, longest waiting on top, each saying which check failed;
    the others follow, newest first.
    """
    waiting = create_case(staff)["id"]
    long_in_review = case_in(staff, "in_review")["id"]
    cancelled = case_in(staff, "cancelled")["id"]
    just_in_review = case_in(staff, "in_review")["id"]

    assert queue_ids(staff) == [long_in_review, just_in_review, cancelled, waiting]
    page = staff.get("/").text
    row = page[page.index(long_in_review) : page.index(just_in_review)]
    assert "do weryfikacji" in row
    assert "obecny abonent: podpis" in row


def test_the_queue_filters_by_state_and_finds_a_case_by_domain_reference_or_number(
    staff: TestClient,
) -> None:
    """GIVEN two cases with different domains and registrar references, one of them in review
    WHEN staff filter by state, or search by a domain (as typed in Unicode, in its xn-- form,
    or a part of it), by the registrar's reference, or by a part of the case number
    THEN only the matching case is listed.
    """
    turtle = case_in(staff, "in_review")["id"]
    other = create_case(staff, body_with(domains=["przyklad.com.pl"], external_ref="REG-77"))["id"]

    assert queue_ids(staff, "?state=in_review") == [turtle]
    assert queue_ids(staff, "?state=awaiting_documents") == [other]
    assert queue_ids(staff, "?q=żółw.pl") == [turtle]
    assert queue_ids(staff, "?q=" + idna.encode("żółw.pl", uts46=True).decode()) == [turtle]
    assert queue_ids(staff, "?q=przyklad") == [other]
    assert queue_ids(staff, "?q=reg-77") == [other]
    assert queue_ids(staff, f"?q={other[3:7].lower()}") == [other]
    assert queue_ids(staff, "?q=100%25") == []
    assert "Brak spraw spełniających warunki" in staff.get("/?q=nic-takiego").text


def test_the_queue_finds_a_case_by_pesel_nip_or_a_name_typed_without_polish_letters(
    staff: TestClient,
) -> None:
    """GIVEN two cases with different parties
    WHEN staff type into the search box a PESEL in groups, a NIP with dashes, or names and a
    city without Polish letters (what a customer on the phone reads out)
    THEN only the case they belong to is listed."""
    example = create_case(staff)["id"]
    other = create_case(staff, other_parties())["id"]

    assert queue_ids(staff, "?q=921108%2004566") == [example]
    assert queue_ids(staff, "?q=123-456-32-18") == [other]
    assert queue_ids(staff, "?q=zazolc%20gesla") == [example]
    assert queue_ids(staff, "?q=ogrody%20wschodnie") == [other]


def test_a_case_shows_what_was_expected_and_what_was_read_beside_the_scan(
    staff: TestClient,
) -> None:
    """GIVEN a case whose new registrant's page came by fax, printed by the simulator and left
    unsigned, and read by the workers
    WHEN staff open the case
    THEN they see the failed signature check, the aligned page, each printed field's expected
    and read value with its verdict, the signing area with "no signature" and the ink found
    said in Polish, and every image
    the page links to opens. (Close-ups are kept only of values in doubt; these all read.)
    """
    case = case_with_page(staff, runtime_of(staff), "fraud-missing-signature")
    assert case["state"] == "in_review"

    page = staff.get(f"/cases/{case['id']}").text

    check = page[page.index('data-check="new_registrant.signature_present"') :]
    assert "niespełnione" in check[: check.index("</tr>")]
    assert "Nowy abonent" in page and "faks od +48 22 555 01 02" in page
    assert "sprawdzenia liczone z tej strony" in page
    # Which case the page's own code names, said in words at the top of its card.
    assert f"Ta strona nosi kod sprawy <strong>{case['id']}</strong>" in page
    name_row = re.search(
        r'<tr class="verdict-(\w+)">(?:(?!</tr>).)*?nazwa / imię i nazwisko'
        r"(?:(?!</tr>).)*?Żółkiewska(?:(?!</tr>).)*?</tr>",
        page,
        re.S,
    )
    assert name_row is not None
    assert name_row.group(0).count("Małgorzata Żółkiewska-Ćwik") >= 1
    assert "PESEL" in page and "92110804566" in page
    signing = page[page.index("Podpis i pieczęć") :]
    assert "BRAK" in signing[: signing.index("</table>")]
    # What the reader noted of the ink, in Polish words (not its English).
    assert "mm² pisma odręcznego na obszarze" in signing[: signing.index("</table>")]
    assert "handwriting" not in page
    images = set(re.findall(r'src="(/evidence/\d+/[^"]+)"', page))
    kept = {i.split("/", 3)[3] for i in images}
    assert {"page.jpg", "zone/signing_area.jpg", "party_ink.png"} <= kept
    assert not any(k.startswith("zone/new_registrant.name.") for k in kept)
    for url in images:
        answer = staff.get(html.unescape(url))
        assert answer.status_code == 200, url
        media_type = "image/png" if url.endswith(".png") else "image/jpeg"
        assert answer.headers["content-type"] == media_type, url
        assert answer.headers["cache-control"] == "private, no-store"
        assert answer.content.startswith(
            b"\x89PNG" if media_type == "image/png" else b"\xff\xd8\xff"
        ), url


@pytest.mark.parametrize(
    ("scenario", "zoomed"), [("fraud-missing-signature", True), ("genuine-scan-300dpi", False)]
)
def test_a_page_in_doubt_opens_at_the_scans_resolution_and_a_page_that_passed_says_where_that_is(
    staff: TestClient, scenario: str, zoomed: bool
) -> None:
    """GIVEN a case with one page read, unsigned or genuine
    WHEN staff open the case and follow the link that enlarges the page
    THEN the unsigned page opens at the scan's own resolution (300 dpi); the genuine one, which
    passed every check, opens as kept at 100 dpi, and the caption says so and where the
    scan's resolution is: the original file, which downloads whole."""
    case = case_with_page(staff, runtime_of(staff), scenario)
    page = staff.get(f"/cases/{case['id']}").text
    figure = page[page.index('<div class="scan-view">') :]
    figure = figure[: figure.index("</figcaption>")]
    enlarge = html.unescape(re.search(r'<a class="zoom-open" href="([^"]+)"', figure).group(1))
    image = cv2.imdecode(np.frombuffer(staff.get(enlarge).content, np.uint8), cv2.IMREAD_GRAYSCALE)
    width_dpi = image.shape[1] / (210 / 25.4)
    if zoomed:
        assert 290 < width_dpi < 310, image.shape
        assert "Kliknij, aby powiększyć w rozdzielczości skanu." in figure
    else:
        assert 95 < width_dpi < 105, image.shape
        assert "zachowano ją w 100 dpi; plik oryginalny ma ją w rozdzielczości skanu" in figure
        original = html.unescape(re.search(r'href="(/scans/[^"]+/file)"', figure).group(1))
        answer = staff.get(original)
        assert answer.status_code == 200 and len(answer.content) > 100_000


def test_a_mismatched_value_is_highlighted_and_never_rendered_as_markup(
    staff: TestClient,
) -> None:
    """GIVEN a page whose new registrant's name was read as something else, markup included
    WHEN staff open the case
    THEN that field's row is marked as a mismatch with both values side by side, and what was
    read is shown as text, not run as HTML.
    """
    case = create_case(staff)["id"]
    name, email = "new_registrant.name", "new_registrant.email"
    fields = {
        name: FieldReading(
            name,
            expected="Małgorzata Żółkiewska-Ćwik",
            read="<script>alert(1)</script> Kowalska",
            score=0.4,
            verdict="mismatch",
            confidence=61.0,
        ),
        email: FieldReading(
            email,
            expected="m.zolkiewska@example.com",
            read="m.zolkiewska@example.com",
            score=1.0,
            verdict="match",
            confidence=93.0,
        ),
    }
    add_page(runtime_of(staff), case, "new_registrant", fields=fields)

    page = staff.get(f"/cases/{case}").text

    row = re.search(r'<tr class="verdict-mismatch">.*?</tr>', page, re.S)
    assert row is not None
    assert "Małgorzata Żółkiewska-Ćwik" in row.group(0)
    # Read as text, the characters that differ from the name marked.
    shown = re.sub(r"</?mark>", "", row.group(0))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Kowalska" in shown
    assert "<mark>" in row.group(0)
    assert "NIEZGODNE" in row.group(0)
    assert "<script>alert(1)</script>" not in page
    assert "Niezgodne pola: 1" in page


def test_pages_of_an_older_form_version_are_shown_as_no_longer_counting(
    staff: TestClient,
) -> None:
    """GIVEN a case with a page of form version 1, then reissued with a corrected e-mail
    WHEN staff open the case
    THEN that page is still shown, apart, marked as not counting because version 2 applies,
    and no page of version 2 is listed yet.
    """
    case = create_case(staff)["id"]
    add_page(runtime_of(staff), case, "new_registrant")
    new_registrant = {**CASE_BODY["new_registrant"], "email": "malgorzata@example.com"}
    answer = staff.post(
        f"/api/v1/cases/{case}/reissue",
        json={"new_registrant": new_registrant},
        headers=REGISTRAR,
    )
    assert answer.status_code == 200, answer.text

    page = staff.get(f"/cases/{case}").text

    assert "Nie otrzymano jeszcze żadnej strony formularza w wersji 2" in page
    older = page[page.index("Strony, które już się nie liczą (1)") :]
    assert "NIE LICZY SIĘ" in older
    assert "formularz w wersji 1, obowiązuje wersja 2" in older
    assert "formularz wydany ponownie" in page


def test_the_audit_trail_is_shown_oldest_first_and_verified(staff: TestClient) -> None:
    """GIVEN a case created, read, looked at by staff through the API, and cancelled
    WHEN staff open it
    THEN the trail lists each event oldest first with who did it, the looks at its personal
    data too (this one last, recorded before the page was shown), and says the chain holds.
    """
    case = case_in(staff, "in_review")["id"]
    staff.post(
        f"/api/v1/cases/{case}/cancel", json={"reason": "klient zrezygnował"}, headers=REGISTRAR
    )

    page = staff.get(f"/cases/{case}").text

    trail = page[page.index('id="audit"') :]
    kinds = re.findall(r'<tr id="event-(\d+)" class="event-(\w+)', trail)
    assert kinds == [
        ("1", "case_created"),
        ("2", "page_read"),
        ("3", "state_changed"),
        ("4", "personal_data_viewed"),
        ("5", "state_changed"),
        ("6", "personal_data_viewed"),
    ]
    assert "rejestrator" in trail and "system (odczyt skanów)" in trail
    assert "klient zrezygnował" in trail
    assert "wgląd w dane osobowe" in trail and "strona sprawy" in trail
    assert "Łańcuch zdarzeń nienaruszony: 6 zdarzeń" in trail
    assert "naruszony." not in trail


def test_a_tampered_audit_trail_is_shown_loudly_from_the_first_broken_event(
    staff: TestClient,
) -> None:
    """GIVEN a cancelled case whose cancellation reason was rewritten in the database
    WHEN staff open it
    THEN the page warns that the trail was tampered with from that event on, says what is
    wrong there, and marks that event and every later one.
    """
    case = case_in(staff, "cancelled")["id"]
    with runtime_of(staff).engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET data = :data WHERE case_id = :case AND seq = 2"),
            {
                "data": '{"event": "cancel", "before": "awaiting_documents", '
                '"after": "cancelled", "reason": "inny powód"}',
                "case": case,
            },
        )

    page = staff.get(f"/cases/{case}").text

    assert "UWAGA: zapis historii tej sprawy został naruszony." in page
    assert "od zdarzenia nr 2: jego skrót nie zgadza się pod kluczem dziennika" in page
    assert re.search(r'<tr id="event-2" class="event-state_changed broken">', page)
    assert re.search(r'<tr id="event-1" class="event-case_created">', page)
    assert "Łańcuch zdarzeń nienaruszony" not in page


def test_an_event_deleted_from_the_middle_of_the_trail_is_named_in_polish(
    staff: TestClient,
) -> None:
    """GIVEN a cancelled case whose second event was deleted in the database
    WHEN staff open it THEN the page says, in Polish, that event 2 is missing."""
    case = case_in(staff, "cancelled")["id"]
    with runtime_of(staff).engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = :case AND seq = 2"), {"case": case})

    page = staff.get(f"/cases/{case}").text

    assert "od zdarzenia nr 3: brakuje zdarzenia nr 2" in page
    assert "missing" not in page


def test_evidence_is_served_only_under_the_names_the_reader_keeps(staff: TestClient) -> None:
    """GIVEN a stored page with its aligned image, a zone crop, and a row under a name the
    reader never writes
    WHEN staff ask for each, and for names that try to climb out of the page
    THEN only the reader's names are served, as private PNGs; the rest are 404.
    """
    with Session(runtime_of(staff).engine) as session:
        scan = ScanRow(
            id="SC-EVIDENCE",
            sha256="1" * 64,
            channel="post",
            media_type="image/png",
            size=1,
            received_at=utcnow(),
        )
        session.add(scan)
        session.flush()
        page = PageRow(scan_id=scan.id, index=0, outcome="blank", reading={}, created_at=utcnow())
        session.add(page)
        session.flush()
        assert page.id is not None
        page_id = page.id
        # page.png as readings before December 2026 kept it; the crop as they are kept now.
        for name in ("page.png", "zone/new_registrant.name.jpg", "notes.txt"):
            session.add(EvidenceRow(page_id=page_id, name=name, image=b"image " + name.encode()))
        session.commit()

    for name, media_type in (
        ("page.png", "image/png"),
        ("zone/new_registrant.name.jpg", "image/jpeg"),
    ):
        answer = staff.get(f"/evidence/{page_id}/{name}")
        assert answer.status_code == 200
        assert answer.content == b"image " + name.encode()
        assert answer.headers["content-type"] == media_type
        assert answer.headers["cache-control"] == "private, no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"
    for name in ("notes.txt", "zone%2F..%2Fpage.png", "..%2F..%2Fcesja.sqlite3", "zone/nope.png"):
        assert staff.get(f"/evidence/{page_id}/{name}").status_code == 404, name
    assert staff.get(f"/evidence/{page_id + 1}/page.png").status_code == 404
    assert staff.get("/evidence/x/page.png").status_code == 422


def test_pages_that_reached_no_case_are_listed_newest_first(staff: TestClient) -> None:
    """GIVEN a blank sheet sent by post, then a foreign letter sent by fax, and a file the
    service could not read at all
    WHEN staff open the list of pages without a case
    THEN both pages are there, newest first, each with its scan, channel, sender and what it
    turned out to be; the unreadable file is listed too, and each original can be downloaded.
    """
    runtime = runtime_of(staff)
    case = create_case(staff)["id"]
    blank = send_scan(
        staff, runtime, scanned_page(runtime, case, "blank-page"), channel="post", sender="Poczta"
    )
    letter = to_png(foreign_page(np.random.default_rng(3), dpi=200, qr_text=None))
    foreign = send_scan(staff, runtime, letter, channel="fax", sender="+48 12 000 11 22")
    with Session(runtime.engine) as session:
        session.add(
            ScanRow(
                id="SC-BROKEN",
                sha256="2" * 64,
                channel="email",
                sender="ktos@example.com",
                media_type="application/pdf",
                size=10,
                status="failed",
                error="the PDF is encrypted",
                received_at=utcnow(),
            )
        )
        session.commit()

    page = staff.get("/unmatched").text

    assert page.index(foreign) < page.index(blank)
    assert "pusta kartka" in page and "nie rozpoznano" in page
    assert "+48 12 000 11 22" in page and "Poczta" in page
    assert "SC-BROKEN" in page and "the PDF is encrypted" in page
    original = staff.get(f"/scans/{foreign}/file")
    assert original.status_code == 200
    assert original.content == letter
    assert original.headers["content-disposition"].startswith("attachment")
    assert staff.get("/scans/SC-BROKEN/file").status_code == 404


def test_a_number_read_as_printed_but_doubted_by_its_shapes_says_which_digits_and_why(
    staff: TestClient,
) -> None:
    """GIVEN a page whose PESEL tesseract read as the case holds it, but two of whose digits'
    shapes the reader found nearer other characters (a fax's lost line through them)
    WHEN staff open the case
    THEN the value is shown with those two digits marked and a sentence saying why it is in
    doubt, not a reading identical to the form's with nothing to look at."""
    case = create_case(staff)
    pesel = "new_registrant.id_number"
    fields = {
        pesel: FieldReading(
            pesel, "80042595360", "80042595360", 1.0, "mismatch", 91.0,
            method="read:doubted", doubted=(3, 9),
        ),
    }  # fmt: skip
    add_page(runtime_of(staff), case["id"], "new_registrant", fields=fields)

    page = staff.get(f"/cases/{case['id']}").text
    row = re.search(r'<tr class="verdict-mismatch">.*?</tr>', page, re.S)
    assert row is not None
    assert "800<mark>4</mark>25953<mark>6</mark>0" in row.group(0)
    assert "kształty zaznaczonych znaków są bliższe innym znakom" in row.group(0)


def test_what_was_read_is_shown_honestly_differences_marked_and_first(staff: TestClient) -> None:
    """GIVEN a page whose street was read with one digit changed (and a tag in it), whose name
    was read as printed, whose e-mail zone held nothing, and whose phone the form leaves empty
    WHEN staff open the case
    THEN the mismatch comes first, with just the differing character marked and the tag shown
    as text; nothing read says so in words; the field the form leaves empty is folded away.
    The failed check shows the same beside it, open, with a link to the page."""
    case = create_case(staff)
    street = "new_registrant.street"
    fields = {
        "new_registrant.name": FieldReading(
            "new_registrant.name", "Jan Nowak", "Jan Nowak", 1.0, "match", 95.0
        ),
        street: FieldReading(street, "ul. Długa 36", "ul. Długa 38<b>", 0.2, "mismatch", 80.0),
        "new_registrant.email": FieldReading(
            "new_registrant.email", "jan@example.pl", "", 0.0, "mismatch", 0.0
        ),
        "new_registrant.phone": FieldReading("new_registrant.phone", "", "", 1.0, "empty", 100.0),
    }
    add_page(runtime_of(staff), case["id"], "new_registrant", fields=fields)

    page = staff.get(f"/cases/{case['id']}").text
    table = page[
        page.index('<table class="grid fields">') : page.index(
            "</table>", page.index('<table class="grid fields">')
        )
    ]
    assert table.index("ul. Długa 36") < table.index("Jan Nowak")
    assert "ul. Długa 3<mark>8&lt;b&gt;</mark>" in table
    assert "— nic nie odczytano" in table
    assert "telefon" not in table
    folded = page[page.index('class="empty-fields"') :]
    assert "telefon" in folded[: folded.index("</details>")]
    check = page[page.index('data-check="new_registrant.fields_match"') :]
    check = check[: check.index("</tr>")]
    assert '<details class="evidence" open>' in check
    assert "ul. Długa 3<mark>8&lt;b&gt;</mark>" in check and "— nic nie odczytano" in check
    assert "#page-" in check  # no image kept of this page: nothing to zoom into
