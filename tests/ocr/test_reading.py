"""Reading pages back: every simulated kind of page, genuine and forged, as files.

GIVEN a page the simulator makes (signed, stamped, scanned, faxed, photographed, forged),
written as the file a sender would send, WHEN the reader reads it, THEN it is routed to its
case and a genuine page passes every check, while each fraud fails the check that catches it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from documents import FormData
from documents.simulate import CATALOGUE, SCENARIOS, Capture, Scenario, other_case
from ocr import PageReading
from ocr.fields import compare, field_kind
from tests.documents.conftest import SECRET_KEY, make_sample_form
from tests.ocr.judge import failed_checks, run

# A standard-resolution fax (98 lines per inch) now and then loses a pale blue stamp or
# a line of text: such a page goes to a person, and is judged over several pages below.
STANDARD_FAX = "genuine-fax-standard"
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def forms() -> tuple[FormData, FormData]:
    form = make_sample_form()
    return form, other_case(form, np.random.default_rng(999))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "scenario", [s for s in CATALOGUE if s.name != STANDARD_FAX], ids=lambda s: s.name
)
def test_each_kind_of_page_is_judged_as_it_should_be(
    scenario: Scenario, seed: int, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    form, other = forms
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.ok, f"{scenario.name} (seed {seed}): {'; '.join(judged.problems)}"
    # What is stored with the page is plain JSON.
    assert json.loads(json.dumps(judged.reading.to_dict()))["outcome"] == judged.reading.outcome


def test_standard_fax_pages_route_and_mostly_pass(
    forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN six signed and stamped pages faxed at 204 × 98 dpi THEN every one is routed to
    its case and its party, at least four pass every check, and what fails is only what
    a fax can destroy (the stamp, or a value's text)."""
    form, other = forms
    passed = 0
    for seed in range(6):
        judged = run(SCENARIOS[STANDARD_FAX], seed, form, other, SECRET_KEY, tmp_path)
        reading = judged.reading
        assert reading.outcome == "matched" and reading.code_valid, reading.detail
        assert (reading.case_id, reading.party) == (form.case_id, "current_registrant")
        assert failed_checks(reading, form) <= {"stamp_present", "fields_match"}, judged.problems
        passed += judged.ok
    assert passed >= 4


def test_a_page_without_a_readable_code_is_routed_by_its_printed_case_number(
    forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN a genuine page whose QR code was torn off THEN the printed case number routes
    it, and page_received fails (a person must confirm a page no code vouches for)."""
    import cv2

    from documents import layout
    from documents.simulate import scan, sign, stamp, to_png
    from documents.simulate.scenarios import printed
    from ocr import iter_pages, read_page

    form, _ = forms
    rng = np.random.default_rng(7)
    paper = printed(form, "current_registrant", SECRET_KEY)
    sign(paper, rng)
    stamp(paper, rng, form.current_registrant.name, form.current_registrant.nip or "")
    x0, y0, x1, y1 = paper.box_px(layout.QR_CODE)
    cv2.rectangle(paper.pixels, (x0 - 20, y0 - 20), (x1 + 20, y1 + 20), (255, 255, 255), -1)
    path = tmp_path / "torn-qr.png"
    path.write_bytes(to_png(scan(paper, rng, dpi=300)))
    page = next(iter_pages(path, max_pages=1))
    reading = read_page(page, key=SECRET_KEY, lookup={form.case_id: form}.get)
    assert reading.outcome == "matched"
    assert (reading.case_id, reading.party, reading.routed_by) == (
        form.case_id,
        "current_registrant",
        "case_number",
    )
    assert failed_checks(reading, form) == {"page_received"}


def test_a_faxed_page_without_a_readable_code_is_routed_by_its_printed_case_number(
    forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN genuine pages whose QR code was torn off, sent by standard-resolution fax (where
    tesseract now and then loses a character of the case number)
    THEN each is routed to its case, version and party by the printed case number, and the
    number reads right by its shapes alone, on the one way up the page stands."""
    import cv2

    from documents import layout
    from documents.render import case_number_text
    from documents.simulate import fax
    from documents.simulate.scenarios import fill_in, printed
    from ocr import iter_pages
    from ocr.align import candidate_alignments
    from ocr.fields import read_case_number
    from ocr.ink import remove_streaks
    from tests.ocr.judge import as_file, read_file

    # An id tesseract was seen to misread on such a fax ("(S-RK14-N?KR").
    form = dataclasses.replace(forms[0], case_id="CS-6K14-N7KR")
    for seed in range(4):
        rng = np.random.default_rng(seed)
        party = ("current_registrant", "new_registrant")[seed % 2]
        paper = printed(form, party, SECRET_KEY)
        fill_in(paper, rng, form.party(party))
        x0, y0, x1, y1 = paper.box_px(layout.QR_CODE)
        cv2.rectangle(paper.pixels, (x0 - 20, y0 - 20), (x1 + 20, y1 + 20), (255, 255, 255), -1)
        path = as_file(fax(paper, rng, fine=False), tmp_path, f"torn-{seed}", rng)
        reading = read_file(path, [form], SECRET_KEY)[0]
        assert (reading.outcome, reading.routed_by) == ("matched", "case_number"), (
            seed,
            reading.detail,
        )
        assert (reading.case_id, reading.party) == (form.case_id, party)
        # Where tesseract loses a character of it, the number is read by its shapes alone.
        page = next(iter_pages(path, max_pages=1))
        clean, _ = remove_streaks(page.gray, page.dpi)
        ways_up = candidate_alignments(clean, page.dpi)
        numbers = [n for way in ways_up if (n := read_case_number(clean, way)) is not None]
        page_number = 1 if party == "current_registrant" else 2
        assert numbers == [case_number_text(form.case_id, 1, page_number)], seed


@pytest.mark.parametrize(
    "scenario",
    [
        "genuine-scan-300dpi",
        "genuine-fax-fine",
        "fraud-missing-signature",
        "fraud-written-in-value",
    ],
)
def test_the_evidence_shows_the_page_and_its_signing_area(
    scenario: str, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN a page, scanned or faxed, WHEN it is read THEN the evidence kept for the person
    who reviews it is the whole page upright at 100 dpi and the signing area at 8 px/mm, as
    JPEG, each well under half its raw size, and the party's ink, a black and white mask of
    the signing area, as PNG; and, for a page that fails a check, the whole page again at the
    scan's own resolution to zoom into. A page that passes every check has no such copy."""
    import cv2

    from ocr.ink import SIGNING_AREA
    from ocr.reading import EVIDENCE_DPI

    form, other = forms
    reading = run(SCENARIOS[scenario], 0, form, other, SECRET_KEY, tmp_path).reading
    genuine = scenario.startswith("genuine")
    passes = reading.fields_match and reading.unaltered and reading.signature_present
    assert passes == genuine, (scenario, reading.detail)
    a4 = (round(297 * EVIDENCE_DPI / 25.4), round(210 * EVIDENCE_DPI / 25.4))
    signing = (round(SIGNING_AREA.h * 8), round(SIGNING_AREA.w * 8))
    scan_dpi = 196 if "fax-fine" in scenario else 300
    own = (round(297 * scan_dpi / 25.4), round(210 * scan_dpi / 25.4))
    expected = {"page.jpg": a4, "zone/signing_area.jpg": signing}
    if not genuine:
        expected["page_zoom.jpg"] = own
    for name, shape in expected.items():
        data = reading.evidence[name]
        assert data.startswith(b"\xff\xd8\xff"), name
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert image.shape[0] >= shape[0] and image.shape[1] >= shape[1], (name, image.shape)
        assert image.shape[0] <= 1.1 * shape[0] and image.shape[1] <= 1.1 * shape[1], name
        assert len(data) < 0.5 * image.size, (name, len(data))
    assert ("page_zoom.jpg" in reading.evidence) == (not genuine)
    mask = reading.evidence["party_ink.png"]
    assert mask.startswith(b"\x89PNG\r\n\x1a\n")
    ink = cv2.imdecode(np.frombuffer(mask, np.uint8), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(ink)) <= {0, 255}


def test_a_page_of_an_old_form_version_is_stale(
    forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    form, other = forms
    judged = run(SCENARIOS["genuine-scan-new-registrant"], 3, form, other, SECRET_KEY, tmp_path)
    assert judged.ok
    from dataclasses import replace

    from ocr import iter_pages, read_page

    newer = replace(form, form_version=form.form_version + 1)
    path = next(tmp_path.glob("genuine-scan-new-registrant-3.*"))
    reading = read_page(
        next(iter_pages(path, max_pages=1)), key=SECRET_KEY, lookup={form.case_id: newer}.get
    )
    assert reading.outcome == "stale_version"
    assert "version 1" in reading.detail and "version 2" in reading.detail


@pytest.mark.parametrize("fine", [False, True], ids=["standard", "fine"])
def test_a_faxed_stamp_never_passes_for_a_missing_signature_or_the_reverse(
    fine: bool, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN company pages faxed after being only stamped (no signature), or only signed (no
    stamp) — a fax leaves a stamp faint and broken, in pieces that could look like a pen's —
    THEN not one of them passes the check the party skipped."""
    from documents.simulate import fax, sign
    from documents.simulate.scenarios import company_stamp, printed
    from tests.ocr.judge import as_file, read_file

    form, _ = forms
    for seed in range(6):
        rng = np.random.default_rng(seed)
        stamped = printed(form, "current_registrant", SECRET_KEY)
        company_stamp(stamped, rng, form.current_registrant)
        signed = printed(form, "current_registrant", SECRET_KEY)
        sign(signed, rng)
        for name, paper, skipped in (
            ("stamped", stamped, "signature_present"),
            ("signed", signed, "stamp_present"),
        ):
            path = as_file(fax(paper, rng, fine=fine), tmp_path, f"{name}-{seed}", rng)
            reading = read_file(path, [form], SECRET_KEY)[0]
            assert reading.outcome == "matched", reading.detail
            assert skipped in failed_checks(reading, form), f"{name} page, seed {seed}"


def _forged_page_read(
    form: FormData,
    field: str,
    forged_value: str,
    capture: Callable[..., Capture],
    seed: int,
    path_stem: Path,
) -> PageReading:
    """The new registrant's page printed from a PDF whose `field` was edited to
    `forged_value`, signed, captured, sent as a file and read."""
    from documents.simulate import edited_value_form
    from documents.simulate.scenarios import fill_in, printed
    from tests.ocr.judge import as_file, read_file

    rng = np.random.default_rng(seed)
    paper = printed(edited_value_form(form, field, forged_value), "new_registrant", SECRET_KEY)
    fill_in(paper, rng, form.new_registrant)
    path = as_file(capture(paper, rng), path_stem.parent, path_stem.name, rng)
    return read_file(path, [form], SECRET_KEY)[0]


ONE_CHARACTER_FORGERIES = [
    ("domains", "example.pl, żótw.pl"),
    ("domains", "ęxample.pl, żółw.pl"),
    ("domains", "exampie.pl, żółw.pl"),
    ("new_registrant.name", "Małgorzato Żółkiewska-Ćwik"),
    ("new_registrant.name", "Małgorzata Żółkiewska-Ćwig"),
    ("new_registrant.street", "ul. Świętokrzyska 38 m. 12"),
    ("new_registrant.id_number", "92110804586"),
]


@pytest.mark.parametrize(("field", "forged_value"), ONE_CHARACTER_FORGERIES)
def test_a_value_forged_by_one_character_is_never_read_as_the_case_s(
    field: str, forged_value: str, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN the new registrant's page printed from a PDF edited by one character — a domain
    letter swapped for a look-alike, a letter of the name, a house number, a PESEL digit —
    signed, then scanned or faxed at either resolution
    THEN that value never reads as the one the case holds: the page fails fields_match."""
    from documents.simulate import fax
    from documents.simulate.scenarios import office_scan

    form, _ = forms
    captures = {
        "scan": office_scan,
        "fax-standard": lambda p, r: fax(p, r, fine=False),
        "fax-fine": lambda p, r: fax(p, r, fine=True),
    }
    for name, capture in captures.items():
        for seed in range(2):
            stem = tmp_path / f"{name}-{seed}"
            reading = _forged_page_read(form, field, forged_value, capture, seed, stem)
            assert reading.outcome == "matched", reading.detail
            assert reading.fields[field].verdict == "mismatch", (name, seed, reading.fields[field])


def test_a_number_typed_into_a_field_the_form_left_empty_is_held_as_an_alteration(
    tmp_path: Path,
) -> None:
    """GIVEN a foreign new registrant's page, whose PESEL the form prints as "—", printed from a
    PDF edited to hold 11 digits there, signed, then scanned or faxed
    THEN the page fails `unaltered` at that value: ink stands where the form printed none."""
    from documents.form_data import EMPTY, printed_values
    from documents.simulate import fax, random_form
    from documents.simulate.scenarios import office_scan

    form = random_form(np.random.default_rng(10_051))
    field = "new_registrant.id_number"
    assert printed_values(form)[field] == EMPTY
    captures = {
        "scan": office_scan,
        "fax-standard": lambda p, r: fax(p, r, fine=False),
        "fax-fine": lambda p, r: fax(p, r, fine=True),
    }
    for name, capture in captures.items():
        reading = _forged_page_read(form, field, "92110804566", capture, 0, tmp_path / name)
        assert reading.outcome == "matched", reading.detail
        assert "unaltered" in failed_checks(reading, form), name
        assert reading.alterations[field].present, (name, reading.alterations[field])


# Characters OCR's Polish model does not know, so reads as the nearest one it does (é and è
# as e, ô as ó, ľ as l, × as x), or reads as the word it expects (examp1e as example).
SHAPE_FORGERIES = [
    ("domains", "éxample.pl, żółw.pl"),
    ("domains", "examplè.pl, żółw.pl"),
    ("domains", "example.pl, żôłw.pl"),
    ("domains", "example.pl, żółw.pľ"),
    ("domains", "examp1e.pl, żółw.pl"),
    ("domains", "e×ample.pl, żółw.pl"),
]


@pytest.mark.parametrize(("field", "forged_value"), SHAPE_FORGERIES)
def test_a_character_ocr_would_read_as_the_case_s_is_told_by_its_shape(
    field: str, forged_value: str, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN the new registrant's page printed from a PDF whose domain was edited by one
    character OCR reads as the one it replaced (éxample.pl, examp1e.pl for example.pl),
    signed, then scanned, faxed at either resolution or photographed
    THEN the domain is a mismatch, and the reading names what is printed."""
    from documents.simulate import fax, photograph
    from documents.simulate.scenarios import office_scan

    form, _ = forms
    captures = {
        "scan": office_scan,
        "fax-standard": lambda p, r: fax(p, r, fine=False),
        "fax-fine": lambda p, r: fax(p, r, fine=True),
        "photo": photograph,
    }
    for name, capture in captures.items():
        reading = _forged_page_read(form, field, forged_value, capture, 1, tmp_path / name)
        assert reading.outcome == "matched", reading.detail
        found = reading.fields[field]
        assert found.verdict == "mismatch", (name, found)
        assert found.read != found.expected, (name, found)


def test_values_printed_as_the_case_holds_them_are_confirmed_by_their_shapes(
    forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN genuine pages of both parties scanned at 300 dpi
    THEN every value matches, and most one-line values are confirmed shape by shape, without
    OCR (the reading says so: method "glyphs"), which is what makes a page fast to read;
    every name, address and e-mail address is, the company's name too, whose J reaches back
    under the space before it."""
    from documents.simulate import scan
    from documents.simulate.scenarios import fill_in, printed
    from tests.ocr.judge import as_file, read_file

    form, _ = forms
    confirmed = lines = 0
    for seed, party in enumerate(("current_registrant", "new_registrant")):
        rng = np.random.default_rng(seed)
        paper = printed(form, party, SECRET_KEY)
        fill_in(paper, rng, form.party(party))
        path = as_file(scan(paper, rng, dpi=300), tmp_path, party, rng)
        reading = read_file(path, [form], SECRET_KEY)[0]
        assert reading.fields_match, {n: f.read for n, f in reading.fields.items()}
        for name, found in reading.fields.items():
            if found.verdict == "empty" or name == "case_number" or found.expected.isdigit():
                continue
            lines += 1
            confirmed += found.method == "glyphs"
            if field_kind(name) in ("text", "email"):
                assert found.method == "glyphs", (name, found)
    assert confirmed >= 0.6 * lines, f"{confirmed} of {lines} confirmed by shape"


@pytest.mark.parametrize("fine", [False, True], ids=["standard", "fine"])
def test_faxed_names_and_addresses_are_confirmed_by_their_shapes(
    fine: bool, forms: tuple[FormData, FormData], tmp_path: Path
) -> None:
    """GIVEN genuine pages of both parties sent by fax, where an i's dot joins its stem now
    and then and i and l are one stroke to any reader
    THEN names, addresses and e-mail addresses are confirmed shape by shape, i and l taken as
    one (no OCR: the reader stays fast on faxes), while the domain, where i and l are two
    different names, is not confirmed by its shape alone."""
    from documents.simulate import fax
    from documents.simulate.scenarios import fill_in, printed
    from tests.ocr.judge import as_file, read_file

    form, _ = forms
    confirmed = lines = 0
    for seed in range(4):
        party = ("current_registrant", "new_registrant")[seed % 2]
        rng = np.random.default_rng(seed)
        paper = printed(form, party, SECRET_KEY)
        fill_in(paper, rng, form.party(party))
        reading = read_file(
            as_file(fax(paper, rng, fine=fine), tmp_path, party, rng), [form], SECRET_KEY
        )[0]
        for name, found in reading.fields.items():
            if found.verdict != "empty" and field_kind(name) in ("text", "email"):
                lines += 1
                confirmed += found.method == "glyphs"
        assert reading.fields["domains"].method != "glyphs", reading.fields["domains"]
    assert confirmed >= 0.8 * lines, f"{confirmed} of {lines} confirmed by shape"


@pytest.mark.parametrize(
    ("read", "verdict"),
    [
        ("meble.net.pl, jez.net.pl", "match"),
        ("meble.net.pl; jez.net.pl", "match"),  # a dot under the comma
        ("meble.net.pl. jez.net.pl", "match"),  # the comma's tail lost
        ("meble.net.pl, jez. .net.pl", "match"),  # a dot read twice: no label is empty
        ("meble.net.pl, jez.net,pl", "match"),  # no name is without a dot: this comma is one
        ("meble.net.pl, jez,net.pl", "mismatch"),  # "jez" and "net.pl": no dotless name here
        ("meble.net.pl.jez.net.pl", "mismatch"),  # one domain, not two
        ("meble.net, pl, jez.net.pl", "mismatch"),
        ("meble.net.pl, jez.net.p1", "mismatch"),
    ],
)
def test_a_list_of_domains_is_compared_name_by_name(read: str, verdict: str) -> None:
    """GIVEN the domains printed as "meble.net.pl, jez.net.pl"
    WHEN OCR reads the list with its separator misread as another mark no domain holds there
    THEN it still matches; a dot or comma that changes a name does not."""
    assert compare("domain", "meble.net.pl, jez.net.pl", read)[0] == verdict


@pytest.mark.parametrize(
    ("kind", "expected", "read", "verdict"),
    [
        # a halftoned fax thins an address's hyphen to a middle dot; i, l and ı are one bar
        ("email", "iwona-jasinska@gmail.com", "iwona·jasinska@gmail.com", "match"),
        ("email", "iwona-jasinska@gmail.com", "ıwona-jasinska@gmail.com", "match"),
        ("email", "iwona-jasinska@gmail.com", "iwona.jasinska@gmail.com", "mismatch"),
        # a worn copy's k read as a kra, an i as a dotless ı: no Polish name holds either
        ("text", "Magdalena Nowicka-Przybylska", "Magdalena Nowicka-Przybylsĸa", "match"),
        ("text", "Monika Zielińska", "Monıka Zielińska", "match"),
        ("text", "Magdalena Nowicka-Przybylska", "Magdalena Nowicka-Przybylsha", "mismatch"),
        # a domain keeps every letter: a dotless ı is not its i
        ("domain", "miod.pl", "mıod.pl", "mismatch"),
    ],
)
def test_a_character_ocr_reads_for_another_counts_only_where_it_names_no_one_else(
    kind: str, expected: str, read: str, verdict: str
) -> None:
    """GIVEN a value and OCR's reading with one character read as another it looks like
    THEN names, addresses and e-mail addresses take the two as one where no one could be named
    by the difference; a domain, where any other character is another name, never does."""
    assert compare(kind, expected, read)[0] == verdict
