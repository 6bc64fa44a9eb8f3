"""Pages damaged as other tools damage them: a PC fax's halftone screen, a dirty drum, a
shadow, light shone over a page, a signature that happens to look like a ring or a frame.
Damage may send a page to a person; it never makes a stamp, a signature or a value out of
nothing, nor a fraud pass.

The cases are the generated ones of bench/accuracy.py (case i from seed 10 000 + i), each one
a reader once judged wrongly (a stamp seen that was not there, a genuine page sent to a
person); the bench measures all of them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from cesja.web.words import words
from documents import FormData, layout
from documents.layout import Party
from documents.simulate import (
    CAPTURES,
    SHEETS,
    CaptureKind,
    Paper,
    Sheet,
    crossed,
    edited_value_form,
    fax,
    make,
    pc_fax,
    random_form,
    worn_scan,
    write_in,
)
from documents.simulate.handling import show_through
from documents.simulate.ink import sign
from documents.simulate.scenarios import Sitting, fill_in, printed, signed
from documents.simulate.stamp import stamp
from ocr import PageReading, iter_pages
from ocr import ink as ocr_ink
from ocr.descreen import descreen
from ocr.ink import INK_LEVEL
from tests.documents.conftest import SECRET_KEY, make_sample_form
from tests.ocr.judge import Judged, as_file, failed_checks, read_file, run


def generated_case(index: int) -> tuple[FormData, FormData]:
    """Case `index` of bench/accuracy.py and the other case it draws beside it."""
    return (
        random_form(np.random.default_rng(10_000 + index)),
        random_form(np.random.default_rng(60_000 + index)),
    )


def _genuine_read(capture_name: str, case: int, party: Party, seed: int, tmp_path: Path) -> Judged:
    """The genuine page of `party` in generated case `case`, made under the capture with
    `seed`, sent as a file and read: routed to its case."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    return judged


def sheet(name: str) -> Sheet:
    return next(s for s in SHEETS if s.name == name)


def capture(name: str) -> CaptureKind:
    return next(c for c in CAPTURES if c.name == name)


NEVER_STAMPED = [
    # the paper's halftone dots, joined up, made rings of every size
    ("pc-fax-standard-grey", 0, "new_registrant", 9030),
    ("pc-fax-standard-grey", 2, "current_registrant", 209030),
    ("pc-fax-standard-colour", 6, "current_registrant", 610030),
    # a signature's loop, its letters and its underline followed half a circle
    ("pc-fax-standard-grey", 3, "new_registrant", 309030),
    # a signature's underline under the run of its letters looked like a frame's two edges
    ("scan-300dpi-grey", 0, "new_registrant", 30),
    # a dirty drum's band across the page, over the signature and its underline
    ("augraphy-dirty-drum", 1, "current_registrant", 115030),
    # the drum's dirt, and the paper's dots, in and around the "no stamp" box
    ("augraphy-dirty-drum", 2, "current_registrant", 215030),
    ("pc-fax-standard-colour", 2, "current_registrant", 210030),
    # the "no stamp" box's top edge drawn a scan line thicker, inside the box: a "tick"
    ("pc-fax-standard-grey", 6, "current_registrant", 609030),
    ("pc-fax-standard-grey", 11, "new_registrant", 1109030),
    # a signature's loop, its strokes thicker at a lighter grey, followed a ring
    ("pc-fax-fine-colour", 0, "new_registrant", 12030),
    # a worn copy's drum streak down the signing area, the signature's underline and a rule a
    # fold moved: a frame's side and edges once the streak's sharp dots were taken off as dirt
    ("augraphy-worn-copy", 14, "current_registrant", 1421030),
    # a circle laid through a heavy signature's strokes, its loops, letters and underline,
    # taken for a ring (the fine fax's had an eighth of it on bare paper above the box's top
    # edge, the rest on the strokes)
    ("fax-fine", 29, "new_registrant", 2903030),
    ("punched-stapled", 26, "current_registrant", 2607030),
    ("augraphy-ink-bleed", 58, "current_registrant", 5813030),
    ("augraphy-dirty-drum", 37, "new_registrant", 3715030),
    ("augraphy-dirty-rollers", 41, "current_registrant", 4116030),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    NEVER_STAMPED,
    ids=[f"{c}-case{n}" for c, n, _, _ in NEVER_STAMPED],
)
def test_a_company_page_never_stamped_is_never_read_as_stamped(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a company's page signed but never stamped, nor its "no stamp" box ticked,
    captured with damage other tools make
    WHEN the reader reads it
    THEN the stamp check fails: the page goes to a person, never on as stamped."""
    form, other = generated_case(case)
    scenario = crossed(sheet("fraud-missing-stamp"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert "stamp_present" in failed_checks(judged.reading, form), judged.reading.stamp


class _ThinnestPaper:
    """show_through's draws at their highest: the back let through at its strongest."""

    def uniform(self, low: float, high: float) -> float:
        return high


def test_the_back_s_stamp_seen_through_a_page_never_stamped_is_no_stamp(tmp_path: Path) -> None:
    """GIVEN a company's page signed but never stamped, printed on the back of the other
    party's page, which is signed and stamped with a framed stamp, on paper that lets the back
    through at its strongest (18 %)
    WHEN the reader reads it, scanned in grey
    THEN the stamp check fails: the back's frame, mirrored and pale, is no stamp."""
    form, other = generated_case(1)
    company = form.party("current_registrant")
    address = f"{company.address.street}, {company.address.postal_code} {company.address.city}"

    def on_a_stamped_back(s: Sitting) -> Paper:
        paper = printed(s.form, s.party, s.key)
        sign(paper, s.rng)
        back = printed(s.form, "new_registrant", s.key)
        sign(back, s.rng)
        stamp(back, s.rng, company.name, company.nip or "", shape="rect", address=address)
        show_through(paper, back, _ThinnestPaper())  # type: ignore[arg-type]
        return paper

    unstamped = dataclasses.replace(sheet("fraud-missing-stamp"), make=on_a_stamped_back)
    scenario = crossed(unstamped, capture("scan-300dpi-grey"), "current_registrant")
    reading = run(scenario, 1000, form, other, SECRET_KEY, tmp_path).reading
    assert reading.outcome == "matched", reading.detail
    assert "stamp_present" in failed_checks(reading, form), reading.stamp


PALE_FRAMED_STAMPS = [
    # a shadow over the stamp: its letters and most of its bottom edge paler than ink
    ("augraphy-shadow", 1, "current_registrant", 119000),
    # a worn copy's pale stamp: its frame's edges kept, its letters lost
    ("augraphy-worn-copy", 17, "new_registrant", 1721001),
    # a standard PC fax's screen: the stamp's letters a grey of dots, its bottom edge dashed
    ("pc-fax-standard-grey", 3, "new_registrant", 309001),
    # our faxes' halftoning: the stamp's letters and its frame a scatter of dots
    ("fax-fine", 6, "current_registrant", 603000),
    ("fax-standard", 1, "current_registrant", 102000),
    # light shone over the page from one side: the stamp's frame and letters paler than ink
    # all round, or but for its top edge and an eighth of its bottom one
    ("augraphy-lighting-gradient", 2, "current_registrant", 220000),
    ("augraphy-lighting-gradient", 12, "current_registrant", 1220000),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    PALE_FRAMED_STAMPS,
    ids=[f"{c}-case{n}" for c, n, _, _ in PALE_FRAMED_STAMPS],
)
def test_a_framed_stamp_too_pale_for_the_ink_is_still_found(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a company's genuine page whose framed stamp came out paler than ink (under a
    shadow, copied worn, or sent by a fax or a PC fax): its letters and parts of its frame
    lost from the page's ink
    WHEN the reader reads it
    THEN the stamp is found at a lighter grey: its frame, held in part by the ink or closed
    on all four sides within the stamp's box, with its letters inside."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.stamp is not None and judged.reading.stamp.present, judged.reading.stamp
    assert judged.reading.stamp.detail.startswith("a framed stamp")


def test_a_round_stamp_on_a_page_fed_unevenly_is_still_found(tmp_path: Path) -> None:
    """GIVEN a company's genuine page, stamped with a round stamp and fed 1–2 % too fast, so
    that its rings are not quite circles
    WHEN the reader reads it
    THEN the stamp is found (the ring test that keeps signatures out keeps real rings in)."""
    form, other = generated_case(2)
    scenario = crossed(sheet("genuine"), capture("stretched-feed"), "current_registrant")
    judged = run(scenario, 208000, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.stamp is not None and judged.reading.stamp.present, judged.reading.stamp
    assert judged.reading.stamp.detail.startswith("a round stamp")


# Company pages of worn copies, stamped with a round stamp across the stamp box's top and
# bottom edges, which the copy's warp moved: the strips the moved edges are taken off with cut
# arcs out of both rings.
RINGS_ACROSS_MOVED_EDGES = [
    ("augraphy-worn-copy", 4, "new_registrant", 421001),
    ("augraphy-worn-copy", 11, "current_registrant", 1121000),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    RINGS_ACROSS_MOVED_EDGES,
    ids=[f"{c}-case{n}" for c, n, _, _ in RINGS_ACROSS_MOVED_EDGES],
)
def test_a_round_stamp_cut_by_the_strips_of_moved_lines_is_still_found(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a company's genuine page whose round stamp lies across the stamp box's edges,
    which a worn copy's warp moved off their printed place
    WHEN the reader takes the moved edges off, and arcs of the rings with them
    THEN the stamp is found all the same, as the rings it is before the strips are taken off,
    and the page passes every check."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert judged.reading.stamp is not None and judged.reading.stamp.present, judged.reading.stamp
    assert judged.reading.stamp.detail.startswith("a round stamp")
    assert judged.ok and not judged.review, judged.problems


def test_a_round_stamp_whose_ring_is_found_a_little_off_is_still_found(tmp_path: Path) -> None:
    """GIVEN a company's genuine page under a dirty copier's rollers, stamped with a round
    stamp whose outer ring the circle search places a millimetre inside, through the name
    WHEN the reader reads it
    THEN the stamp is found: its ink runs round the ring a millimetre out (the test that
    keeps a signature's strokes out, strokes a circle crosses, keeps this ring in)."""
    form, other = generated_case(8)
    scenario = crossed(sheet("genuine"), capture("augraphy-dirty-rollers"), "current_registrant")
    judged = run(scenario, 816000, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.stamp is not None and judged.reading.stamp.present, judged.reading.stamp
    assert judged.reading.stamp.detail.startswith("a round stamp")


def test_a_pc_fax_s_screen_is_taken_off_and_a_clean_fax_is_left_alone(tmp_path: Path) -> None:
    """GIVEN the same page sent by a PC fax (scanned grey, Ghostscript's tiffg3: the paper a
    screen of dots) and by a fax machine (a clean threshold)
    WHEN the reader looks for a halftone screen
    THEN the PC fax's is found over most of the page and its paper comes back lighter than
    ink; the fax machine's page has none and comes back exactly as it was."""
    form, _ = generated_case(0)
    paper = printed(form, "current_registrant", SECRET_KEY)
    rng = np.random.default_rng(5)
    screened = pc_fax(paper.copy(), rng, fine=False, colour=False, device="tiffg3")
    clean = fax(paper.copy(), rng, fine=True)
    pages = {}
    for name, page in (("screened", screened), ("clean", clean)):
        path = as_file(page, tmp_path, name, rng)
        pages[name] = next(iter_pages(path, max_pages=1))

    found = descreen(pages["screened"].gray, pages["screened"].dpi, pages["screened"].coarse_dpi)
    assert found.found and found.screened_share > 0.5
    paper_before = pages["screened"].gray[200:400, 40:120]  # the left margin, printed nowhere
    paper_after = found.page[200:400, 40:120]
    assert (paper_before < INK_LEVEL).mean() > 0.02  # dots the reader would take for ink
    assert (paper_after < INK_LEVEL).mean() == 0

    left = descreen(pages["clean"].gray, pages["clean"].dpi, pages["clean"].coarse_dpi)
    assert not left.found
    assert np.array_equal(left.page, pages["clean"].gray)


# Genuine pages of bench/accuracy.py's cases sent by a standard-resolution PC fax, whose
# values were all read as printed only once they were read from the letters made whole
# (the last one's REGON only from the letters drawn a little bolder too).
READ_WHOLE = [
    ("pc-fax-standard-grey", 0, "current_registrant", 9000),
    ("pc-fax-standard-colour", 3, "new_registrant", 310001),
    ("pc-fax-standard-colour", 1, "current_registrant", 110000),
    # a domain read with a dot twice across a gap the screen left ("transport. .info.pl"),
    # and an e-mail address's hyphen thinned to a middle dot ("wroblewska·jasinska")
    ("pc-fax-standard-grey", 14, "current_registrant", 1409000),
    ("pc-fax-standard-grey", 17, "current_registrant", 1709000),
    # a domain's last dot read as a comma ("las-lodka-rower,pl"): no name of the list is
    # without a dot
    ("pc-fax-standard-colour", 6, "new_registrant", 610001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    READ_WHOLE,
    ids=[f"{c}-case{n}" for c, n, _, _ in READ_WHOLE],
)
def test_a_standard_pc_fax_s_values_are_read_as_printed(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine signed page sent by a PC fax at standard resolution: its letters a few
    rows of halftone dots, with holes, in a screen of dots over the whole paper
    WHEN the reader reads it
    THEN every value reads as the case holds it and the page passes every check, no person
    needed (read dot by dot, every such page went to review)."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert judged.ok and not judged.review, judged.problems


def test_a_value_edited_before_a_standard_pc_fax_is_still_caught(tmp_path: Path) -> None:
    """GIVEN a page whose PESEL was changed by one digit in the PDF before printing, signed,
    and sent by a PC fax at standard resolution
    WHEN the reader reads its letters made whole
    THEN the PESEL does not match the case's: the page fails fields_match."""
    form, other = generated_case(0)
    scenario = crossed(
        sheet("fraud-edited-pdf-value"), capture("pc-fax-standard-grey"), "current_registrant"
    )
    judged = run(scenario, 9060, form, other, SECRET_KEY, tmp_path)
    assert judged.ok, judged.problems  # the fraud is caught
    pesel = judged.reading.fields["current_registrant.id_number"]
    assert pesel.verdict == "mismatch", pesel
    assert "fields_match" in failed_checks(judged.reading, form)


# Genuine pages of standard PC faxes where the 98 lines closed an e's opening (read, shape
# by shape, as an o printed there: "Żoromskiego", "infotoch", "Stępioń", "Curiø").
CLOSED_LETTERS = [
    ("pc-fax-standard-grey", 3, "new_registrant", 309001, "new_registrant.street"),
    ("pc-fax-standard-grey", 4, "current_registrant", 409000, "new_registrant.email"),
    ("pc-fax-standard-colour", 9, "current_registrant", 910000, "new_registrant.representatives"),
    ("pc-fax-standard-colour", 11, "new_registrant", 1110001, "current_registrant.street"),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed", "field"),
    CLOSED_LETTERS,
    ids=[f"{c}-case{n}" for c, n, _, _, _ in CLOSED_LETTERS],
)
def test_a_letter_a_standard_fax_closed_is_read_as_printed(
    capture_name: str, case: int, party: Party, seed: int, field: str, tmp_path: Path
) -> None:
    """GIVEN a genuine page sent by a PC fax at standard resolution, whose 98 lines closed the
    opening of an e in a value (it looks like an o)
    WHEN the reader reads it
    THEN the value reads as the case holds it."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert judged.reading.fields[field].verdict == "match", judged.reading.fields[field]


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_an_o_printed_for_an_e_under_a_standard_fax_is_caught(colour: bool, tmp_path: Path) -> None:
    """GIVEN the page of the first case above printed from a PDF whose street "Żeromskiego"
    was edited to "Żoromskiego", signed and sent by a PC fax at standard resolution, and by
    a fax machine at standard resolution
    WHEN the reader reads it
    THEN the street never reads as the case's: the page fails fields_match."""
    form, _ = generated_case(3)
    street = form.new_registrant.address.street
    assert "Żeromskiego" in street
    forged = edited_value_form(
        form, "new_registrant.street", street.replace("Żeromskiego", "Żoromskiego")
    )
    for seed in range(2):
        rng = np.random.default_rng(seed)
        paper = printed(forged, "new_registrant", SECRET_KEY)
        fill_in(paper, rng, form.new_registrant)
        sent = pc_fax(paper, rng, fine=False, colour=colour) if seed else fax(paper, rng)
        reading = read_file(as_file(sent, tmp_path, f"forged-{seed}", rng), [form], SECRET_KEY)[0]
        assert reading.outcome == "matched", reading.detail
        assert reading.fields["new_registrant.street"].verdict == "mismatch", seed
        assert "fields_match" in failed_checks(reading, form)


def test_a_screened_page_is_told_in_the_reading(tmp_path: Path) -> None:
    """The reading says that a screen was taken off, and over how much of the page: a person
    reviewing the page knows why its paper looks grey in the evidence."""
    form, _ = generated_case(0)
    paper = printed(form, "current_registrant", SECRET_KEY)
    rng = np.random.default_rng(6)
    page = pc_fax(paper, rng, fine=False, colour=False, device="tiffg4")
    path = as_file(page, tmp_path, "pc-fax", rng)
    reading = read_file(path, [form], SECRET_KEY)[0]
    assert reading.outcome == "matched"
    assert "halftone screen" in reading.detail


# Genuine pages of bench/accuracy.py's cases sent by a fine PC fax (196 lines an inch), each
# sent to a person before: a pen's strokes, a stamp's frame and its rows of letters, the QR
# code's modules and the letters of a domain are chains of small dots with holes, on paper
# the scan left white or screened.
FINE_GENUINE = [
    # the signature's and the stamp's dots averaged into the paper: both lost
    ("pc-fax-fine-colour", 2, "current_registrant", 212000),
    # the paper white, the screen in the marks alone: nothing taken off, each dot a speck
    ("pc-fax-fine-colour", 7, "current_registrant", 712000),
    # a framed stamp's rows of letters broken up, and the stamp not found
    ("pc-fax-fine-grey", 1, "current_registrant", 111000),
    # tesseract read the l of las-lodka-rower.pl, hollow, as ł
    ("pc-fax-fine-grey", 6, "new_registrant", 611001),
    # the QR code's modules grids of dots, which zxing-cpp did not read
    ("pc-fax-fine-colour", 3, "new_registrant", 312001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    FINE_GENUINE,
    ids=[f"{c}-case{n}-{p}" for c, n, p, _ in FINE_GENUINE],
)
def test_a_fine_pc_fax_s_genuine_page_passes(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine signed (and for a company stamped) page sent by a PC fax at fine
    resolution: every grey on it, the pen's and the stamp's ink too, a screen of small dots
    WHEN the reader reads it
    THEN it is routed by its QR code, the signature and the stamp are found, every value reads
    as the case holds it, and the page passes every check, no person needed; the reading says
    that a screen was taken off, in the back office in Polish."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert judged.reading.routed_by == "qr", judged.reading.detail
    assert "halftone screen" in judged.reading.detail
    # The back office's words for it.
    assert "raster półtonowy" in words("pl").reader_note(judged.reading.detail)
    assert judged.ok and not judged.review, judged.problems


# Frauds of bench/accuracy.py's cases under the same captures: a page never signed (its paper
# screened over the whole page, or left white), a company's page never stamped.
FINE_FRAUDS = [
    ("fraud-missing-signature", "pc-fax-fine-colour", 2, "current_registrant", 212020),
    ("fraud-missing-signature", "pc-fax-fine-grey", 0, "current_registrant", 11020),
    ("fraud-missing-stamp", "pc-fax-fine-grey", 3, "new_registrant", 311030),
    ("fraud-missing-stamp", "pc-fax-fine-colour", 1, "new_registrant", 112030),
]


@pytest.mark.parametrize(
    ("sheet_name", "capture_name", "case", "party", "seed"),
    FINE_FRAUDS,
    ids=[f"{s}-{c}-case{n}" for s, c, n, _, _ in FINE_FRAUDS],
)
def test_a_fine_pc_fax_never_makes_a_missing_signature_or_stamp(
    sheet_name: str, capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a page never signed, or a company's page never stamped, sent by a PC fax at fine
    resolution, its paper's and its marks' dots averaged over the screen's own spacing
    WHEN the reader reads it
    THEN the missing one's check fails: the paper's dots make no signature and no stamp."""
    form, other = generated_case(case)
    scenario = crossed(sheet(sheet_name), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert judged.ok, judged.problems  # no FRAUD PASSED
    missing = {
        "fraud-missing-signature": "signature_present",
        "fraud-missing-stamp": "stamp_present",
    }
    assert missing[sheet_name] in failed_checks(judged.reading, form)


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_a_domain_forged_by_one_letter_under_a_fine_pc_fax_is_caught(
    colour: bool, tmp_path: Path
) -> None:
    """GIVEN the sample case's page printed from a PDF whose domain example.pl was edited to
    exampie.pl (an i for the l: on a fax one stroke, so the shapes leave it to tesseract),
    signed and sent by a PC fax at fine resolution
    WHEN the reader reads it, from the page as it came and again from its letters made whole
    THEN the domain never reads as the case's: the page fails fields_match."""
    form = make_sample_form()
    forged = edited_value_form(form, "domains", "exampie.pl, żółw.pl")
    _assert_forgery_caught_by_pc_fax(
        form, forged, "new_registrant", "domains", tmp_path, fine=True, colour=colour
    )


# Genuine pages of standard PC faxes whose domains' ".pl" tesseract read as ".pi": on a fax an
# l and an i are one bar, and the shapes leave which one to OCR.
TOP_LEVEL_BARS = [
    ("pc-fax-standard-grey", 4, "new_registrant", 409001),
    ("pc-fax-standard-colour", 12, "new_registrant", 1210001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    TOP_LEVEL_BARS,
    ids=[f"{c}-case{n}" for c, n, _, _ in TOP_LEVEL_BARS],
)
def test_a_domain_s_top_level_label_read_with_a_bar_for_its_l_is_the_case_s(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine signed page sent by a PC fax at standard resolution, whose domains'
    ".pl" OCR reads as ".pi" (no top-level domain: no domain anyone could hold)
    WHEN the reader reads it
    THEN the domains are the case's and the page passes every check, no person needed."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    domains = judged.reading.fields["domains"]
    assert domains.verdict == "match" and domains.method == "read:top-level", domains
    assert judged.ok and not judged.review, judged.problems


def test_a_domain_forged_by_one_bar_under_a_standard_pc_fax_is_caught(tmp_path: Path) -> None:
    """GIVEN the sample case's page printed from a PDF whose domain example.pl was edited to
    exampie.pl (an i for the l in the name, not in ".pl"), signed and sent by a PC fax at
    standard resolution
    WHEN the reader reads it
    THEN the domain never reads as the case's: the page fails fields_match."""
    form = make_sample_form()
    forged = edited_value_form(form, "domains", "exampie.pl, żółw.pl")
    _assert_forgery_caught_by_pc_fax(
        form, forged, "new_registrant", "domains", tmp_path, fine=False, colour=False
    )


def _assert_forgery_caught_by_pc_fax(
    form: FormData,
    forged: FormData,
    party: Party,
    field: str,
    tmp_path: Path,
    *,
    fine: bool,
    colour: bool,
) -> None:
    """`party`'s page of `forged` (`form` with `field` edited), signed and sent by a PC fax
    under two seeds: each routed to `form`'s case, `field` read as not the case's, and the
    page failing fields_match."""
    for seed in range(2):
        rng = np.random.default_rng(seed)
        paper = printed(forged, party, SECRET_KEY)
        fill_in(paper, rng, form.party(party))
        sent = pc_fax(paper, rng, fine=fine, colour=colour)
        reading = read_file(as_file(sent, tmp_path, f"forged-{seed}", rng), [form], SECRET_KEY)[0]
        assert reading.outcome == "matched", reading.detail
        value = reading.fields[field]
        assert value.verdict == "mismatch", (seed, value)
        assert "fields_match" in failed_checks(reading, form)


# Genuine pages of bench/accuracy.py's cases worn as augraphy wears them, each of which went to
# a person before the reader took streaks and shadows for what they are: a dirty drum's bands
# crossing every value (read as ink the form did not print, and over the bottom-left marker,
# merging it into a band; its sharp dots in rows through the values), a shadow whose edge the
# paper's estimate did not follow, and light shone over a page that left its black markers
# grey; and pages whose values the comparison did not forgive what the wear did to them.
WORN_GENUINE = [
    ("augraphy-dirty-drum", 0, "current_registrant", 15000),
    ("augraphy-dirty-drum", 0, "new_registrant", 15001),
    ("augraphy-dirty-drum", 2, "current_registrant", 215000),
    # a drum's row of sharp dots across the page, through an empty value ("—"), and one just
    # under a name: each dot passed for a pen's stroke by its sharpness
    ("augraphy-dirty-drum", 7, "current_registrant", 715000),
    ("augraphy-dirty-drum", 4, "current_registrant", 415000),
    # strips of a drum's dots on white paper down an identity number, as dark as a pen's
    # stroke: taken for a band no stroke could be seen under
    ("augraphy-dirty-drum", 7, "new_registrant", 715001),
    # a drum's dot under the comma between two domains: read as a semicolon, which no domain
    # name holds
    ("augraphy-dirty-drum", 4, "new_registrant", 415001),
    # a band across both top markers, or down the left two, as dark as the grey the markers
    # are looked for at: each marker one blob with the band, so no marker was found there
    # (the page was routed by its code and could not be checked)
    ("augraphy-dirty-drum", 16, "current_registrant", 1615000),
    ("augraphy-dirty-drum", 18, "current_registrant", 1815000),
    ("augraphy-shadow", 0, "current_registrant", 19000),
    ("augraphy-lighting-gradient", 0, "current_registrant", 20000),
    # a printer running out of ink broke an l's stem into an i in a name and in an address
    # ("Urszuia", "Wrobiewska", "pi. Księcia"): in names and addresses i and l are one
    ("augraphy-low-ink", 3, "new_registrant", 314001),
    ("augraphy-low-ink", 14, "current_registrant", 1414000),
    ("augraphy-low-ink", 17, "new_registrant", 1714001),
    # a fold cut the top off the l of a domain's ".pl": the shapes find a dotless ı there,
    # which makes no top-level domain, and OCR reads the domain as printed
    ("augraphy-folding", 10, "new_registrant", 1017001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    WORN_GENUINE,
    ids=[f"{c}-case{n}-{p}" for c, n, p, _ in WORN_GENUINE],
)
def test_a_worn_genuine_page_passes_every_check(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine signed (and, for a company, stamped) page printed by a printer with a
    dirty drum or running out of ink, or scanned with a shadow or uneven light over it
    WHEN the reader reads it
    THEN it passes every check, no person needed."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert judged.ok and not judged.review, judged.problems


def test_a_dirty_drum_s_streaks_are_named_where_they_were_taken_off(tmp_path: Path) -> None:
    """GIVEN a genuine page printed with a dirty drum
    WHEN the reader reads it
    THEN its note says that streaks were taken for dirt and where they lie on the page, and
    the back office says so in Polish."""
    form, other = generated_case(0)
    scenario = crossed(sheet("genuine"), capture("augraphy-dirty-drum"), "current_registrant")
    reading = run(scenario, 15000, form, other, SECRET_KEY, tmp_path).reading
    assert "streaks of a drum or a roller taken for dirt, not ink" in reading.detail
    assert "down the page at 12–34" in reading.detail  # mm from the page's left edge
    polish = words("pl").reader_note(reading.detail)
    assert "smugi z bębna albo wałków uznano za brud" in polish
    assert "streak" not in polish


# Frauds under the same wear: a value written into a field, crossed out and written over, a
# signature left out. What is taken for a streak must never hide them.
WORN_FRAUDS = [
    # the written value lies under a band as dark as the pen's ink: the zone cannot be told
    ("fraud-written-in-value", "augraphy-dirty-drum", 9, "current_registrant", 915050),
    # the written value lies mostly in a band's flank, where its dots are as dark as the pen
    ("fraud-written-in-value", "augraphy-dirty-drum", 2, "new_registrant", 215050),
    ("fraud-crossed-out-value", "augraphy-dirty-drum", 2, "current_registrant", 215040),
    ("fraud-missing-signature", "augraphy-dirty-drum", 0, "current_registrant", 15020),
    ("fraud-written-in-value", "augraphy-shadow", 0, "new_registrant", 19050),
    ("fraud-missing-signature", "augraphy-worn-copy", 2, "current_registrant", 221020),
    # a framed stamp half over the signature box, sheared and bent by a fold: its left side,
    # top and bottom, cut off at the box's edge, read as a stroke of handwriting
    ("fraud-missing-signature", "augraphy-worn-copy", 8, "current_registrant", 821020),
    # a copier's pale wavy bands down the whole page, through the signature box
    ("fraud-missing-signature", "augraphy-worn-copy", 10, "current_registrant", 1021020),
    # a band of grey noise across the signature box, broken into blurred marks (read as 52 to
    # 214 mm² of handwriting), none of which stands out of the paper as a pen's stroke does
    ("fraud-missing-signature", "augraphy-dirty-drum", 19, "new_registrant", 1915020),
    ("fraud-missing-signature", "augraphy-dirty-drum", 27, "new_registrant", 2715020),
    ("fraud-missing-signature", "augraphy-worn-copy", 22, "current_registrant", 2221020),
    ("fraud-missing-signature", "augraphy-worn-copy", 59, "new_registrant", 5921020),
    # a worn copy paled the line through the e-mail and the one written over it (136–153
    # grey) as light as its dirt, in a patch of it: sharp, where the dirt is blurred
    ("fraud-crossed-out-value", "augraphy-worn-copy", 17, "new_registrant", 1721040),
    # a crease bent the signature box's edge into a V 11 mm deep, further than a fold's
    # moved lines are followed: two straight sides meeting at the bend, no signature
    ("fraud-missing-signature", "augraphy-folding", 20, "current_registrant", 2017020),
    ("fraud-missing-signature", "augraphy-folding", 53, "new_registrant", 5317020),
    # a framed stamp a fold cut: the corner left over the signature box, its arms skewed to
    # 83°, no longer square to the rectangle around it
    ("fraud-missing-signature", "augraphy-worn-copy", 57, "current_registrant", 5721020),
]


@pytest.mark.parametrize(
    ("sheet_name", "capture_name", "case", "party", "seed"),
    WORN_FRAUDS,
    ids=[f"{s}@{c}-case{n}" for s, c, n, _, _ in WORN_FRAUDS],
)
def test_a_fraud_under_the_same_wear_is_still_caught(
    sheet_name: str, capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a forged page (a value written in or crossed out, or the signature left out)
    printed with a dirty drum, copied on a worn copier, or scanned with a shadow over it
    WHEN the reader reads it
    THEN the check the fraud must fail fails: the page goes to a person."""
    form, other = generated_case(case)
    scenario = crossed(sheet(sheet_name), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert judged.ok, judged.problems  # every check the fraud must fail, failed


# Genuine signatures with a letter drawn as two straight strokes: an l's stem and its foot
# (a clean scan, most of the signature under a stamp and its flourish), and a worn copy's.
LETTERS_OF_TWO_STROKES = [
    ("scan-200dpi-colour", 9, "new_registrant", 901001),
    ("augraphy-worn-copy", 3, "current_registrant", 321000),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    LETTERS_OF_TWO_STROKES,
    ids=[f"{c}-case{n}" for c, n, _, _ in LETTERS_OF_TWO_STROKES],
)
def test_a_signature_s_letter_is_not_taken_for_the_box_s_bent_edge(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine signed page whose signature holds a letter of two straight strokes
    WHEN the reader reads it
    THEN the page is signed: only a mark along a side of the box, ending near it and bent
    gently, is taken for the box's own edge a crease bent."""
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    form, _ = generated_case(case)
    assert "signature_present" not in failed_checks(judged.reading, form), judged.problems


def test_a_pale_signature_in_dim_light_still_stands_out_as_a_pen_s(tmp_path: Path) -> None:
    """GIVEN a company's genuine page signed with a pale pen and scanned with light shone
    unevenly over it: the signature a light grey on a dimmed page
    WHEN the reader reads it
    THEN the signature is found: its strokes stand out of the paper round them as a pen's do
    (judged within 0.85 mm rather than 1.5, none of them stood out enough)."""
    judged = _genuine_read("augraphy-lighting-gradient", 2, "current_registrant", 220000, tmp_path)
    form, _ = generated_case(2)
    assert "signature_present" not in failed_checks(judged.reading, form), judged.problems


# Domains that fill their box on two lines, and a forger's ", sklep-rowerowy.pl" written on
# after the last of them: beyond the box's right edge, running off the page.
WRITTEN_BEYOND_THE_BOX = [
    ("scan-200dpi-colour", 35, "current_registrant", 3501050),
    ("fax-standard", 35, "current_registrant", 3502050),
    ("pc-fax-standard-grey", 39, "current_registrant", 3909050),
    ("augraphy-low-ink", 14, "new_registrant", 1414050),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    WRITTEN_BEYOND_THE_BOX,
    ids=[f"{c}-case{n}" for c, n, _, _ in WRITTEN_BEYOND_THE_BOX],
)
def test_a_value_written_on_beyond_a_full_box_is_an_alteration(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a signed page whose domains fill their box, with one more domain written in by
    hand after them, past the box's right edge
    WHEN the reader reads it
    THEN the domains are read as altered, and the close-up kept for the person who reviews
    the page reaches the page's right margin, where the handwriting is."""
    import cv2

    form, other = generated_case(case)
    scenario = crossed(sheet("fraud-written-in-value"), capture(capture_name), party)
    reading = run(scenario, seed, form, other, SECRET_KEY, tmp_path).reading
    assert reading.outcome == "matched", reading.detail
    assert "unaltered" in failed_checks(reading, form), reading.alterations
    assert reading.altered_fields == ["domains"], reading.alterations
    close_up = reading.evidence["zone/domains.jpg"]
    image = cv2.imdecode(np.frombuffer(close_up, np.uint8), cv2.IMREAD_GRAYSCALE)
    box = layout.FIELD_BOXES["domains"]
    assert image.shape[1] >= (200.0 - box.x) * 8, image.shape  # 8 px/mm, to the margin


def test_a_worn_copy_s_copier_specks_are_no_ink(tmp_path: Path) -> None:
    """GIVEN a company's genuine page, signed and stamped, its ink bled, copied on a dirty
    photocopier (a scatter of grey specks down the page's right side, over three values and
    the stamp) and scanned with a shadow over it
    WHEN the reader reads it
    THEN it passes every check, no person needed: the specks are no writing in the values and
    the pale stamp's rings are still found among them; the reading says where specks were
    taken for dirt, and the back office says so in Polish."""
    form, other = generated_case(0)
    scenario = crossed(sheet("genuine"), capture("augraphy-worn-copy"), "new_registrant")
    judged = run(scenario, 21001, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert judged.ok and not judged.review, judged.problems
    assert "a copier's specks taken for dirt, not ink" in judged.reading.detail
    assert "mm from the left" in judged.reading.detail
    polish = words("pl").reader_note(judged.reading.detail)
    assert "plamki z kopiarki uznano za brud" in polish


def test_a_worn_copy_s_grey_markers_still_align_the_page(tmp_path: Path) -> None:
    """GIVEN a genuine page printed with low ink (light lines through its black) and a dirty
    drum, and scanned with light shone over it: its top corner markers come out light grey
    WHEN the reader reads it
    THEN the page is aligned to its four markers, not to a band's dots: the printed case
    number reads as printed, the signature is found, and no value is read as written over
    (before, the page was read a hand's breadth too high: every value read as other text)."""
    form, other = generated_case(2)
    scenario = crossed(sheet("genuine"), capture("augraphy-worn-copy"), "new_registrant")
    judged = run(scenario, 221001, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert judged.reading.fields["case_number"].verdict == "match", judged.reading.fields
    failed = failed_checks(judged.reading, form)
    assert "signature_present" not in failed and "unaltered" not in failed, judged.problems


# Frauds under a fold: a sheet folded and unfolded shifts a band of the page along its crease,
# and the signature box's edges, the stamp box's or the "no stamp" box's come out bent away
# from where they were printed. Each of these pages was once read as signed or ticked.
FOLDED_FRAUDS = [
    # the signature box's right edge and its top, moved by a fold into the box
    ("fraud-missing-signature", 3, "new_registrant", 317020),
    # the box's top edge bent at a crease: 46×4 mm of "handwriting"
    ("fraud-missing-signature", 7, "new_registrant", 717020),
    ("fraud-missing-signature", 8, "current_registrant", 817020),
    # the "no stamp" box's own left and bottom edges, moved, read as a tick
    ("fraud-missing-stamp", 1, "new_registrant", 117030),
]


@pytest.mark.parametrize(
    ("sheet_name", "case", "party", "seed"),
    FOLDED_FRAUDS,
    ids=[f"{s}-case{n}" for s, n, _, _ in FOLDED_FRAUDS],
)
def test_a_fold_through_the_signing_area_never_signs_or_ticks_a_page(
    sheet_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a page never signed, or a company's page never stamped nor its "no stamp" box
    ticked, folded and unfolded with a crease through the signing area
    WHEN the reader reads it
    THEN the check the fraud must fail fails, and the reading's note says where the form's
    lines the fold moved were left aside (in Polish too)."""
    form, other = generated_case(case)
    scenario = crossed(sheet(sheet_name), capture("augraphy-folding"), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert judged.reading.outcome == "matched", judged.reading.detail
    assert judged.ok, judged.problems  # every check the fraud must fail, failed
    assert "lines of the form a fold moved in the signing area" in judged.reading.detail
    polish = words("pl").reader_note(judged.reading.detail)
    assert "przesunięte przez zagięcie" in polish


# A fold through the values' part of a page: read where the layout puts them, the street,
# the postal code and city and the REGON of the current registrant did not match.
FOLDED_VALUES: tuple[int, Party, int] = (1, "new_registrant", 0)  # case, party, seed


def _folded(
    form: FormData,
    sent_as: FormData,
    tmp_path: Path,
    name: str,
    fold: tuple[int, Party, int] = FOLDED_VALUES,
) -> PageReading:
    """`sent_as` printed for the party of `fold` (case, party, seed; the case above unless
    told), signed, folded and unfolded as that seed folds it, and read against `form`."""
    _, party, seed = fold
    rng = np.random.default_rng(seed)
    paper = printed(sent_as, party, SECRET_KEY)
    fill_in(paper, rng, form.party(party))
    sent = worn_scan(paper, rng, "folding")
    reading = read_file(as_file(sent, tmp_path, name, rng), [form], SECRET_KEY)[0]
    assert reading.outcome == "matched", reading.detail
    return reading


def test_the_values_a_fold_moved_are_read_where_it_moved_them(tmp_path: Path) -> None:
    """GIVEN a genuine page folded and unfolded, the crease moving and shearing its values by
    millimetres past where the corner markers put them
    WHEN the reader reads it
    THEN every value reads as the case holds it, and no zone holds ink the form did not
    print: the page passes fields_match and unaltered."""
    form, _ = generated_case(FOLDED_VALUES[0])
    reading = _folded(form, form, tmp_path, "genuine")
    failed = failed_checks(reading, form)
    assert "fields_match" not in failed, reading.mismatched_fields
    assert "unaltered" not in failed, reading.altered_fields


@pytest.mark.parametrize(
    ("field", "printed_instead"),
    [
        ("current_registrant.street", "ul. Jana Pawła II 87A"),
        ("current_registrant.regon", "939203047"),
    ],
    ids=["street", "regon"],
)
def test_a_value_forged_by_one_character_on_a_folded_page_is_caught(
    field: str, printed_instead: str, tmp_path: Path
) -> None:
    """GIVEN the page above printed from a PDF with one character of a value the fold moved
    changed, signed, and folded and unfolded the same way
    WHEN the reader reads it, moving its values back to where they were printed
    THEN that value does not read as the case's: the page fails fields_match."""
    form, _ = generated_case(FOLDED_VALUES[0])
    forged = edited_value_form(form, field, printed_instead)
    reading = _folded(form, forged, tmp_path, "forged")
    assert reading.fields[field].verdict == "mismatch", reading.fields[field]
    assert "fields_match" in failed_checks(reading, form)


# Genuine folded pages whose lines the fold bent: the characters drift a pixel or two from
# one word to the next, a few pixels in all, and a worn letter was read as another.
MISREAD_ON_BENT_LINES = [
    # a street's "Monte" read "Montø" through a crease
    (8, "new_registrant", 817001),
    # a PESEL's 0 read 8
    (18, "new_registrant", 1817001),
]


@pytest.mark.parametrize(
    ("case", "party", "seed"),
    MISREAD_ON_BENT_LINES,
    ids=[f"case{n}" for n, _, _ in MISREAD_ON_BENT_LINES],
)
def test_a_line_a_fold_bent_is_read_as_printed(
    case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded and unfolded, the crease bending the lines of its values
    WHEN the reader reads it, following each line where the fold bent it
    THEN every value reads as the case holds it: the page passes every check."""
    judged = _genuine_read("augraphy-folding", case, party, seed, tmp_path)
    assert judged.ok and not judged.review, judged.problems


# A fold that bends the new registrant's lines of case 8.
BENT_VALUES: tuple[int, Party, int] = (8, "new_registrant", 5)  # case, party, seed


def test_the_page_whose_lines_a_fold_bends_passes(tmp_path: Path) -> None:
    """GIVEN the genuine page of the forgeries below, folded and unfolded
    THEN every value reads as the case holds it."""
    form, _ = generated_case(BENT_VALUES[0])
    reading = _folded(form, form, tmp_path, "genuine", BENT_VALUES)
    assert "fields_match" not in failed_checks(reading, form), reading.mismatched_fields


@pytest.mark.parametrize(
    ("field", "printed_instead"),
    [
        ("new_registrant.name", "Katarzyna Dudiek"),
        ("new_registrant.name", "Katarzyna Dudk"),
        ("new_registrant.name", "Katarzyna Dudak"),
        (
            "domains",
            "kwiaty-meble-serwís.pl, apteka-transport-sklep.pl, lodz-lodka.eu, jez-herbata.org.pl",
        ),
    ],
    ids=["letter-put-in", "letter-taken-out", "letter-changed", "domain-accent"],
)
def test_a_value_forged_by_one_character_on_a_bent_line_is_caught(
    field: str, printed_instead: str, tmp_path: Path
) -> None:
    """GIVEN the page above printed from a PDF with one character of a value put in, taken
    out or changed, signed, and folded and unfolded the same way
    WHEN the reader follows the lines the fold bent
    THEN that value does not read as the case's (a character put in or taken out moves the
    rest of its line at once, which no bend does): the page fails fields_match."""
    form, _ = generated_case(BENT_VALUES[0])
    forged = edited_value_form(form, field, printed_instead)
    reading = _folded(form, forged, tmp_path, "forged", BENT_VALUES)
    assert reading.fields[field].verdict == "mismatch", reading.fields[field]
    assert "fields_match" in failed_checks(reading, form)


# A genuine page of a standard PC fax whose values set on two lines (the domains, the
# representatives) were read by OCR alone, the whole zone at once: "zoo80" read "z0o80".
TWO_LINES: tuple[str, int, Party, int] = ("pc-fax-standard-colour", 11, "new_registrant", 1110001)


def test_a_value_on_two_lines_under_a_standard_pc_fax_is_checked_shape_by_shape(
    tmp_path: Path,
) -> None:
    """GIVEN a genuine page sent by a PC fax at standard resolution, whose domains and
    representatives are printed on two lines each
    WHEN the reader reads it
    THEN each value reads as the case holds it, the representatives line by line against the
    font's shapes beside each other: the page passes every check."""
    capture_name, case, party, seed = TWO_LINES
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    for field in ("domains", "new_registrant.representatives"):
        assert judged.reading.fields[field].verdict == "match", judged.reading.fields[field]
    # (The domains now read as printed from the letters made whole, but for the comma before
    # "lodz", its tail lost: read as a full stop, which no domain ends in.)
    assert judged.reading.fields["new_registrant.representatives"].method.startswith("glyphs")
    assert judged.ok and not judged.review, judged.problems


@pytest.mark.parametrize(
    ("field", "printed_instead"),
    [
        ("domains", "księgarnia-zoo80.pl, łódka-las-herbata37.pl, lodz-gory-miod.org.pl"),
        ("domains", "księgarnia-zoo80.pl, łódka-las-herbata31.pl, lodz-gory-mied.org.pl"),
        (
            "new_registrant.representatives",
            "Kazimierz Adam Olszewski, Urszula Ćwik, Tomasz Gołąb, Jan Śliwiński (prokurant)",
        ),
    ],
    ids=["domains-first-line", "domains-second-line", "representatives-second-line"],
)
def test_a_value_on_two_lines_forged_by_one_character_under_a_standard_pc_fax_is_caught(
    field: str, printed_instead: str, tmp_path: Path
) -> None:
    """GIVEN the page above printed from a PDF with one character of a two-line value
    changed, signed and sent by PC faxes at standard resolution (grey and colour)
    WHEN the reader reads it line by line
    THEN that value never reads as the case's: the page fails fields_match."""
    _, case, party, _ = TWO_LINES
    form, _ = generated_case(case)
    forged = edited_value_form(form, field, printed_instead)
    for seed in range(2):
        rng = np.random.default_rng(seed)
        paper = printed(forged, party, SECRET_KEY)
        fill_in(paper, rng, form.party(party))
        sent = pc_fax(paper, rng, fine=False, colour=bool(seed))
        reading = read_file(as_file(sent, tmp_path, f"forged-{seed}", rng), [form], SECRET_KEY)[0]
        assert reading.outcome == "matched", reading.detail
        assert reading.fields[field].verdict == "mismatch", (seed, reading.fields[field])
        assert "fields_match" in failed_checks(reading, form)


# A genuine page of a standard PC fax whose PESEL 67070101145 lost its zeros' inner dots to
# the 98 lines: each 0 came out nearer an O than itself, and tesseract read 67070181145.
ZEROS_LIKE_O: tuple[str, int, Party, int] = (
    "pc-fax-standard-grey",
    8,
    "current_registrant",
    809000,
)


def test_a_number_s_zero_a_standard_fax_made_round_is_read_as_printed(tmp_path: Path) -> None:
    """GIVEN a genuine page sent by a PC fax at standard resolution, whose PESEL's zeros look
    more like the letter O than like the font's 0
    WHEN the reader reads it
    THEN the PESEL reads as the case holds it (an O in a number is the number's 0, not
    another digit)."""
    capture_name, case, party, seed = ZEROS_LIKE_O
    assert generated_case(case)[0].new_registrant.pesel == "67070101145"
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    pesel = judged.reading.fields["new_registrant.id_number"]
    assert pesel.verdict == "match", pesel


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_a_number_forged_by_one_digit_beside_round_zeros_is_caught(
    colour: bool, tmp_path: Path
) -> None:
    """GIVEN the page above printed from a PDF whose PESEL was edited to 67070181145 (what
    tesseract read there), signed and sent by a PC fax at standard resolution
    WHEN the reader reads it
    THEN the PESEL never reads as the case's: the page fails fields_match."""
    _, case, party, _ = ZEROS_LIKE_O
    form, _ = generated_case(case)
    forged = edited_value_form(form, "new_registrant.id_number", "67070181145")
    _assert_forgery_caught_by_pc_fax(
        form, forged, party, "new_registrant.id_number", tmp_path, fine=False, colour=colour
    )


# A genuine page crumpled by several folds. A crease lifts the rule under the domains 2 mm
# into their zone, in a tent narrower than the displacement the values are read through
# follows: read as the party's ink, which sent the page to a person. (The finer displacement,
# following another crease, also bends the i of "Bronisława" into an I, clearly enough for the
# shapes: that still sends it to a person, as OCR's reading through another alignment does
# not outweigh the shapes.)
CRUMPLED: tuple[int, Party, int] = (1, "new_registrant", 117001)  # case, party, seed


def _crumpled(tmp_path: Path) -> PageReading:
    case, party, seed = CRUMPLED
    return _genuine_read("augraphy-folding", case, party, seed, tmp_path).reading


def test_a_rule_a_crease_bent_among_the_values_is_not_read_as_an_alteration(
    tmp_path: Path,
) -> None:
    """GIVEN the crumpled genuine page above, the rule under its domains bent by a crease
    WHEN the reader reads it where the fold moved it
    THEN the domains' zone is not altered, and the reading's note says where the form's lines
    a fold moved were left aside among the values (in Polish too)."""
    reading = _crumpled(tmp_path)
    assert not reading.alterations["domains"].present, reading.alterations["domains"].detail
    assert "lines of the form a fold moved among the values" in reading.detail
    assert "przesunięte przez zagięcie między danymi" in words("pl").reader_note(reading.detail)


# Genuine pages folded so that a value moved 4 mm up: read where the fold moved it, the blank
# paper above it was read as sent, and showed the value a second time, as ink the form did
# not print in its zone.
MOVED_UP: list[tuple[int, Party, int]] = [
    (13, "current_registrant", 1317000),  # the domains
    (19, "current_registrant", 1917000),  # the name
]


@pytest.mark.parametrize(("case", "party", "seed"), MOVED_UP, ids=["domains", "name"])
def test_a_value_a_fold_moved_is_not_read_twice(
    case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded and unfolded, a value moved millimetres up by the fold
    WHEN the reader reads it where the fold moved it
    THEN the paper around the value moves with it: no zone holds ink the form did not
    print, and the page passes unaltered."""
    reading = _genuine_read("augraphy-folding", case, party, seed, tmp_path).reading
    assert reading.altered_fields == [], {
        name: reading.alterations[name].detail for name in reading.altered_fields
    }


# Genuine folded pages whose crease bent the line of a value: one registration for the whole
# zone left the letters at one end a pixel or two off the rest, and their edges read as ink
# the form did not print (the tops of "09-4" in "09-400 Płock, PL", 4.4 mm²; of "Wiec" in
# "Wieczorek", 5.0 mm²).
BENT_LINES: list[tuple[int, Party, int, str]] = [
    (11, "current_registrant", 1117000, "new_registrant.postal_city"),
    (16, "current_registrant", 1617000, "new_registrant.representatives"),
]


@pytest.mark.parametrize(
    ("case", "party", "seed", "field"), BENT_LINES, ids=["postal-city", "representatives"]
)
def test_a_value_whose_line_a_fold_bent_is_not_read_as_an_alteration(
    case: int, party: Party, seed: int, field: str, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded and unfolded, a crease bending a value's line so that its
    letters at one end lie a pixel or two off the rest
    WHEN the reader reads it
    THEN the value's zone, registered piece by piece, is clean and its finding says so (in
    Polish too); the page passes unaltered."""
    reading = _genuine_read("augraphy-folding", case, party, seed, tmp_path).reading
    assert reading.altered_fields == [], {
        name: reading.alterations[name].detail for name in reading.altered_fields
    }
    detail = reading.alterations[field].detail
    assert detail.startswith("clean once its pieces were registered one by one"), detail
    assert "po dopasowaniu jego części osobno" in words("pl").reader_note(detail)


def _written_after(
    capture_name: str, case: int, party: Party, seed: int, field: str, text: str, tmp_path: Path
) -> PageReading:
    """The genuine page of `party` in generated case `case`, with `text` written by hand after
    the value of `field`, made under the capture with `seed`, sent as a file and read: routed
    to its case."""
    form, other = generated_case(case)

    def written_on(s: Sitting) -> Paper:
        paper = signed(s)
        # Its own draws: the sitting's are left to the capture, which stays the genuine page's.
        write_in(paper, np.random.default_rng(5), field, text)
        return paper

    forged = dataclasses.replace(sheet("genuine"), make=written_on)
    scenario = crossed(forged, capture(capture_name), party)
    reading = run(scenario, seed, form, other, SECRET_KEY, tmp_path).reading
    assert reading.outcome == "matched", reading.detail
    return reading


@pytest.mark.parametrize(
    ("case", "party", "seed", "field", "text"),
    [(*BENT_LINES[0], "-12"), (*BENT_LINES[1], "Jan Nowak")],
    ids=["postal-city", "representatives"],
)
def test_a_value_written_on_after_a_line_a_fold_bent_is_still_an_alteration(
    case: int, party: Party, seed: int, field: str, text: str, tmp_path: Path
) -> None:
    """GIVEN the same pages, folded the same way, with something written by hand after the
    value whose line the crease bent
    WHEN the reader reads it
    THEN that zone is altered: registering its pieces one by one takes off the bend, not the
    pen."""
    form, _ = generated_case(case)
    reading = _written_after("augraphy-folding", case, party, seed, field, text, tmp_path)
    assert reading.altered_fields == [field], reading.alterations
    assert "unaltered" in failed_checks(reading, form)


# A genuine page of a standard fax that lost scan lines between the heading of the new
# registrant's section and the name under it: the name registered where it is, the heading's
# descenders (the p, j and ę of "podpisuje tę stronę") reached a millimetre further into the
# name's zone than printed, 3.5 mm² of ink the form did not print.
TIPS_ABOVE: tuple[str, int, Party, int, str] = (
    "fax-standard",
    0,
    "new_registrant",
    2001,
    "new_registrant.name",
)


def test_the_tips_of_the_line_above_a_value_a_fax_moved_are_no_alteration(tmp_path: Path) -> None:
    """GIVEN a genuine page sent by a fax that moved the heading above a name a millimetre
    closer to it, its letters' descenders reaching into the name's zone
    WHEN the reader reads it
    THEN those tips are the heading's: the zone is clean, its finding says why (in Polish
    too), and the page passes unaltered."""
    capture_name, case, party, seed, field = TIPS_ABOVE
    reading = _genuine_read(capture_name, case, party, seed, tmp_path).reading
    assert reading.altered_fields == [], {
        name: reading.alterations[name].detail for name in reading.altered_fields
    }
    detail = reading.alterations[field].detail
    assert detail.startswith("clean once the tips of the letters of the lines next to it"), detail
    assert "po pominięciu końców liter sąsiednich wierszy" in words("pl").reader_note(detail)


@pytest.mark.parametrize("text", ["-12", "Jan"])
def test_a_word_written_after_a_value_whose_neighbour_a_fax_moved_is_an_alteration(
    text: str, tmp_path: Path
) -> None:
    """GIVEN the same page, faxed the same way, with a number or a word written by hand after
    the name
    WHEN the reader reads it
    THEN the name's zone is altered: only the tips of the printing beyond its edge are set
    aside, not the pen."""
    capture_name, case, party, seed, field = TIPS_ABOVE
    form, _ = generated_case(case)
    reading = _written_after(capture_name, case, party, seed, field, text, tmp_path)
    assert reading.altered_fields == [field], reading.alterations
    assert "unaltered" in failed_checks(reading, form)


# A genuine page of a fine fax that lost six scan lines through the middle of the current
# registrant's PESEL (78102914901): received blank, they cut every digit in two, and
# tesseract read 78102914001.
LOST_LINES: tuple[str, int, Party, int] = ("fax-fine", 4, "new_registrant", 403001)


def test_a_number_a_fax_lost_scan_lines_through_is_read_as_printed(tmp_path: Path) -> None:
    """GIVEN a genuine page sent by fax that lost a run of scan lines through a PESEL
    WHEN the reader reads it
    THEN the lines are filled in where the strokes run on through them (the reading says
    so), and the PESEL reads as the case holds it."""
    capture_name, case, party, seed = LOST_LINES
    assert generated_case(case)[0].current_registrant.pesel == "78102914901"
    judged = _genuine_read(capture_name, case, party, seed, tmp_path)
    assert "lost scan line(s) filled in" in judged.reading.detail
    pesel = judged.reading.fields["current_registrant.id_number"]
    assert pesel.verdict == "match", pesel


def _forged_under_lost_lines(tmp_path: Path) -> tuple[FormData, PageReading]:
    """The case of LOST_LINES, and its page printed with the PESEL edited to 78102914001,
    signed and sent by the same fax with the same seed (so losing the same lines), read."""
    capture_name, case, party, seed = LOST_LINES
    form, other = generated_case(case)
    forged = edited_value_form(form, "current_registrant.id_number", "78102914001")
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    rng = np.random.default_rng(seed)
    sent = make(scenario, forged, SECRET_KEY, rng, other_form=other)
    return form, read_file(as_file(sent, tmp_path, "forged", rng), [form], SECRET_KEY)[0]


def test_a_digit_forged_under_lost_scan_lines_is_caught(tmp_path: Path) -> None:
    """GIVEN the page above printed from a PDF whose PESEL was edited to 78102914001 (what
    tesseract read there), signed and sent by the same fax, losing the same lines
    WHEN the reader reads it
    THEN the PESEL never reads as the case's: the page fails fields_match."""
    form, reading = _forged_under_lost_lines(tmp_path)
    assert reading.outcome == "matched", reading.detail
    pesel = reading.fields["current_registrant.id_number"]
    assert pesel.verdict == "mismatch", pesel
    assert "fields_match" in failed_checks(reading, form)


def test_a_digit_forged_under_lost_lines_left_as_they_came_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the forged page above, its lost lines left as they came (as lines the reader
    does not fill would be)
    WHEN the reader reads it
    THEN the PESEL never reads as the case's: where the shapes find a digit nearer another
    character than the one printed, tesseract reading the case's number is no proof."""
    monkeypatch.setattr(ocr_ink, "LOST_LINES_MOST", 0)
    form, reading = _forged_under_lost_lines(tmp_path)
    assert "lost scan line" not in reading.detail
    pesel = reading.fields["current_registrant.id_number"]
    assert pesel.verdict == "mismatch"
    assert "fields_match" in failed_checks(reading, form)
    # What staff are shown: where tesseract read the case's number, which digits the shapes
    # doubt, the forged one (the ninth) among them.
    assert pesel.read != "78102914901" or 8 in pesel.doubted, pesel
