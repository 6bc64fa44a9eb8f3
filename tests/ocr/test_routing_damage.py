"""Routing pages that folds, wear and PC faxes damaged: a page whose QR code any reader decodes
is routed by it; a folded page's code is read by the patterns every symbol shares, as the code
printed on it, never as the one the page should carry; a genuine page whose code reads no way
as it lies reaches its case by its printed case number, and its code is read once registered
onto the code printed for that number.

The cases are the generated ones of bench/accuracy.py (case i from seed 10 000 + i), each a
page the reader once left unmatched, or (the copied codes) would have routed by its number.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from cesja.web.words import words
from documents import page_code
from documents.layout import Party
from documents.simulate import crossed, with_one_character_changed
from ocr import iter_pages, route
from ocr.align import candidate_alignments
from ocr.ink import remove_streaks
from tests.documents.conftest import SECRET_KEY
from tests.ocr.judge import failed_checks, run
from tests.ocr.test_world_damage import capture, generated_case, sheet

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def _zxing_reads_a_code(path: Path) -> bool:
    """Whether zxing-cpp finds a code of ours on the page as decoded or thresholded (Otsu)."""
    gray = next(iter_pages(path, max_pages=1)).gray
    _, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return any(
        found.text.startswith("CESJA")
        for image in (gray, otsu)
        for found in zxingcpp.read_barcodes(image, formats=_QR)
    )


FOLDED = [
    # the code sheared through its middle
    ("augraphy-folding", 0, "new_registrant", 17001),
    # two creases through the code, one beside its top-right finder
    ("augraphy-folding", 1, "current_registrant", 117000),
    # the crease ran through the top-left finder
    ("augraphy-folding", 3, "new_registrant", 317001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    FOLDED,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in FOLDED],
)
def test_a_folded_page_is_routed_by_its_code_followed_by_its_function_patterns(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded and unfolded (augraphy's Folding), so that no reader
    decodes its QR code
    WHEN the reader reads it
    THEN the code is read all the same, its symbol followed by the patterns every symbol of
    ours shares: the page is routed by its code (once only by its printed number) and counts
    as received."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert not _zxing_reads_a_code(judged.path)
    reading = judged.reading
    assert reading.outcome == "matched", reading.detail
    assert (reading.case_id, reading.party, reading.routed_by) == (form.case_id, party, "qr")
    assert "page_received" not in failed_checks(reading, form)


# Genuine pages folded (or copied worn) so that their QR code reads no way as it lies, not even
# by its function patterns (seeds of bench/accuracy.py).
FOLDED_PAST_READING = [
    ("augraphy-folding", 3, "current_registrant", 317000),
    ("augraphy-folding", 12, "new_registrant", 1217001),
    ("augraphy-folding", 15, "new_registrant", 1517001),
    ("augraphy-worn-copy", 3, "new_registrant", 321001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    FOLDED_PAST_READING,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in FOLDED_PAST_READING],
)
def test_a_page_folded_past_reading_is_read_by_the_code_printed_for_its_number(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded so that its QR code reads no way as it lies
    WHEN the reader reads it
    THEN its printed case number names the case, and the symbol, registered onto the code
    printed for that case, decodes as that code: the page is routed by its code and counts
    as received, no person needed for it."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert not _zxing_reads_a_code(judged.path)
    reading = judged.reading
    assert reading.outcome == "matched", reading.detail
    assert (reading.case_id, reading.party) == (form.case_id, party)
    assert reading.routed_by == "qr" and reading.code_valid, reading.detail
    assert "registered onto the code printed for the case number" in reading.detail
    assert "odczytano po dopasowaniu do kodu wydrukowanego" in words("pl").reader_note(
        reading.detail
    )
    assert "page_received" not in failed_checks(reading, form)


# The folded ones, whose symbol this test finds on the page as the reader does.
FOLDS_PAST_READING = [row for row in FOLDED_PAST_READING if row[0] == "augraphy-folding"]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    FOLDS_PAST_READING,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in FOLDS_PAST_READING],
)
def test_a_symbol_folded_past_reading_never_reads_as_a_code_one_character_away(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN the same pages, and codes one character away from each page's own (its case id,
    version or MAC changed, as a forger would print one)
    WHEN the symbol is registered onto each of them, as onto the code printed for the number
    THEN none decodes as the code it was registered onto, while the page's own code does: the
    registration leans toward the code it is given, but never so far as to read a symbol as a
    code it is not."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    page = next(iter_pages(judged.path, max_pages=1))
    clean, _ = remove_streaks(page.gray, page.dpi)
    alignment = candidate_alignments(clean, page.dpi)[0]
    own = page_code.encode(
        page_code.PageCode(form.case_id, form.form_version, party, form.key_id), SECRET_KEY
    )
    assert own in {f.text for f in route.read_code_as_printed(clean, alignment, own)}
    rng = np.random.default_rng(seed)
    for _ in range(12):
        forged = with_one_character_changed(own, rng)
        read = {f.text for f in route.read_code_as_printed(clean, alignment, forged)}
        assert forged not in read, forged


# Folded past reading by the function patterns too (seeds from 900 000: beyond the bench's).
COPIED_AND_FOLDED = [
    ("augraphy-folding", 0, "current_registrant", 900007),
    ("augraphy-folding", 2, "current_registrant", 900105),
    ("augraphy-folding", 10, "current_registrant", 900161),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    COPIED_AND_FOLDED,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in COPIED_AND_FOLDED],
)
def test_a_copied_qr_code_folded_past_reading_never_routes_the_page_by_its_number(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a page with another case's QR code pasted over its own, then folded so that no
    reader decodes that code, not even by its function patterns, while its own case number
    reads
    WHEN the reader reads it
    THEN it is not routed by its number to its own case, as if only its code were unreadable:
    it is left for a person, saying its QR code is not the one printed for that case."""
    form, other = generated_case(case)
    scenario = crossed(sheet("fraud-copied-qr"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert not _zxing_reads_a_code(judged.path)
    reading = judged.reading
    assert reading.outcome == "unmatched", (reading.outcome, reading.case_id, reading.detail)
    assert f"not the one printed for case {form.case_id}" in reading.detail
    assert not any("FRAUD PASSED" in problem for problem in judged.problems)


# Pages printed with another code than their own, folded so that no reader decodes it, and
# whose code the function patterns read (the copied codes: pages of bench/accuracy.py).
ANOTHER_CODE_FOLDED = [
    ("fraud-altered-qr", 1, "new_registrant", 900015),
    ("fraud-altered-qr", 2, "current_registrant", 900022),
    ("fraud-copied-qr", 0, "new_registrant", 17070),
    ("fraud-copied-qr", 4, "new_registrant", 417070),
]


@pytest.mark.parametrize(
    ("sheet_name", "case", "party", "seed"),
    ANOTHER_CODE_FOLDED,
    ids=[f"{s}-case{n}-{seed}" for s, n, _, seed in ANOTHER_CODE_FOLDED],
)
def test_a_folded_page_printed_with_another_code_reads_as_that_code(
    sheet_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a folded page whose QR code no reader decodes, printed with another code than
    its own: one character changed, or another case's code pasted over it
    WHEN the reader reads it
    THEN its symbol, followed by the patterns every symbol shares, reads as the code printed
    on it, never as its own: the changed code as a forgery, the pasted one routing it to the
    other case, where its fields fail (nothing leans toward the code the page should carry)."""
    form, other = generated_case(case)
    scenario = crossed(sheet(sheet_name), capture("augraphy-folding"), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert not _zxing_reads_a_code(judged.path)
    reading = judged.reading
    if sheet_name == "fraud-altered-qr":
        assert reading.outcome == "invalid_code", (reading.outcome, reading.detail)
    else:
        assert (reading.outcome, reading.case_id, reading.routed_by) == (
            "matched",
            other.case_id,
            "qr",
        )
        assert "fields_match" in failed_checks(reading, form, other)
    assert not judged.problems


READABLE = [
    # a worn copy: markers striped by low ink, grey bands over the code (read thresholded
    # at one level for the whole page)
    ("augraphy-worn-copy", 2, "new_registrant", 221001),
    # a fine PC fax of a colour scan: the code read with its halftone screen taken off
    ("pc-fax-fine-colour", 16, "current_registrant", 1612000),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    READABLE,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in READABLE],
)
def test_a_page_whose_code_a_reader_decodes_is_routed_by_it(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page whose QR code zxing-cpp decodes only from the whole page
    thresholded another way than its own
    WHEN the reader reads it
    THEN the page is routed to its case and party by that code (once left unmatched)."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    reading = run(scenario, seed, form, other, SECRET_KEY, tmp_path).reading
    assert reading.outcome == "matched", reading.detail
    assert (reading.case_id, reading.party, reading.routed_by) == (form.case_id, party, "qr")
