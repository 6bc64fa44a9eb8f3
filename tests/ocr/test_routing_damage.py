"""Routing pages that folds, wear and PC faxes damaged: a page whose QR code any reader decodes
is routed by it; a genuine page whose code no reader decodes reaches its case by its printed
case number; a QR code copied from another case never routes a page by its own number.

The cases are the generated ones of bench/accuracy.py (case i from seed 10 000 + i), each a
page the reader once left unmatched, or (the copied codes) would have routed by its number.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import zxingcpp

from documents.layout import Party
from documents.simulate import crossed
from ocr import iter_pages
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
    # the code sheared through its middle; the case number stepped down by a crease
    ("augraphy-folding", 0, "new_registrant", 17001),
    # the marker a crease moved skewed the alignment: the number left its box
    ("augraphy-folding", 1, "current_registrant", 117000),
    # the crease bent the number's "CS-" itself
    ("augraphy-folding", 3, "new_registrant", 317001),
]


@pytest.mark.parametrize(
    ("capture_name", "case", "party", "seed"),
    FOLDED,
    ids=[f"{c}-case{n}-{s}" for c, n, _, s in FOLDED],
)
def test_a_folded_page_reaches_its_case_by_its_printed_number(
    capture_name: str, case: int, party: Party, seed: int, tmp_path: Path
) -> None:
    """GIVEN a genuine page folded and unfolded (augraphy's Folding), so that no reader
    decodes its QR code and its case number lies bent, out of the box the layout gives it
    WHEN the reader reads it
    THEN it reaches its case and party by the printed case number (once left unmatched), and
    page_received still fails: no code vouches for the page, a person confirms it."""
    form, other = generated_case(case)
    scenario = crossed(sheet("genuine"), capture(capture_name), party)
    judged = run(scenario, seed, form, other, SECRET_KEY, tmp_path)
    assert not _zxing_reads_a_code(judged.path)
    reading = judged.reading
    assert reading.outcome == "matched", reading.detail
    assert (reading.case_id, reading.party) == (form.case_id, party)
    assert reading.routed_by == "case_number" and not reading.code_valid
    assert "page_received" in failed_checks(reading, form)


COPIED_AND_FOLDED = [
    ("augraphy-folding", 0, "new_registrant", 17070),
    ("augraphy-folding", 4, "new_registrant", 417070),
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
    reader decodes that code, while its own case number reads
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
