"""The scan simulator: pages it makes look and decode like the real ones the reader will get."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pytest
import zxingcpp
from PIL import Image

from documents import layout, page_code, printed_values, render_form
from documents.errors import InvalidCode
from documents.form_data import FormData
from documents.page_code import PageCode
from documents.simulate import (
    CATALOGUE,
    Capture,
    Paper,
    cross_out_and_write,
    edited_value_form,
    fax,
    foreign_page,
    make,
    other_case,
    photograph,
    print_page,
    rotate,
    scan,
    sign,
    stamp,
    tick_no_stamp,
    to_pdf,
    to_tiff,
    with_one_character_changed,
    write_in,
)
from documents.simulate.paper import page_size_px

CHECKS = {"page_received", "fields_match", "signature_present", "stamp_present", "unaltered"}
OUTCOMES = {"matched", "unmatched", "blank", "stale_version", "invalid_code"}


@pytest.fixture(scope="module")
def form_pdf(sample_form: FormData, secret_key: bytes) -> bytes:
    return render_form(sample_form, secret_key)


@pytest.fixture(scope="module")
def company_page(form_pdf: bytes) -> Paper:
    """Page 1, the company's, printed at 200 dpi and left blank: copy it before writing."""
    return print_page(form_pdf, 1, dpi=200)


def read_code(capture: Capture) -> str | None:
    """The text of the QR code on a capture, read as the reader would: a fax's tall pixels
    stretched square and cleaned with a median filter first."""
    image = capture.image
    if capture.y_dpi < capture.x_dpi:
        height = round(image.shape[0] * capture.x_dpi / capture.y_dpi)
        image = cv2.resize(image, (image.shape[1], height), interpolation=cv2.INTER_NEAREST)
        image = cv2.medianBlur(image, 3)
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


def dark_pixels(paper: Paper, box: layout.Box) -> int:
    x0, y0, x1, y1 = paper.box_px(box.inset(1.5))
    return int((paper.pixels[y0:y1, x0:x1].min(axis=2) < 160).sum())


def coloured_pixels(image_bgr: np.ndarray, box: layout.Box, dpi: float) -> int:
    x0, y0, x1, y1 = box.pixels(dpi)
    region = image_bgr[y0:y1, x0:x1].astype(np.int16)
    return int((region.max(axis=2) - region.min(axis=2) > 50).sum())


def test_print_page_gives_an_exact_a4_sheet_and_leaves_no_files_behind(
    form_pdf: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the rendered form
    WHEN page 2 is printed at 300 dpi from an empty working directory
    THEN it is 2480 × 3508 RGB pixels, its corner marker is black where the layout says,
    and pdftoppm wrote nothing into the working directory."""
    monkeypatch.chdir(tmp_path)
    paper = print_page(form_pdf, 2, dpi=300)
    assert paper.pixels.shape == (3508, 2480, 3)
    x0, y0, x1, y1 = paper.box_px(layout.MARKERS[0].inset(1))
    assert paper.pixels[y0:y1, x0:x1].max() < 60
    assert os.listdir(tmp_path) == []


def test_genuine_scan_decodes_to_its_own_case(sample_form: FormData, secret_key: bytes) -> None:
    """GIVEN a signed and stamped company page scanned at 300 dpi
    WHEN its QR code is read with zxing-cpp
    THEN the payload verifies and names this case, its version and the current registrant."""
    capture = make("genuine-scan-300dpi", sample_form, secret_key, np.random.default_rng(1))
    assert capture.mode == "grey"
    assert capture.size == page_size_px(300)
    text = read_code(capture)
    assert text is not None
    assert page_code.decode(text, secret_key) == PageCode(
        sample_form.case_id, sample_form.form_version, "current_registrant"
    )


def test_scanned_paper_stays_white_ish_not_pure_white(company_page: Paper) -> None:
    """GIVEN the printed company page
    WHEN it is scanned in grey at 200 dpi with no JPEG
    THEN the paper is light grey (235–253) and the corner markers dark, never 0/255 only."""
    capture = scan(
        company_page, np.random.default_rng(2), dpi=200, skew=0.0, shift_mm=(0, 0), scale=1.0
    )
    paper_level = float(np.median(capture.image))
    assert 235 <= paper_level <= 253
    x0, y0, x1, y1 = layout.MARKERS[2].inset(2).pixels(200)
    assert 10 < float(np.median(capture.image[y0:y1, x0:x1])) < 70


def test_signing_puts_ink_in_the_signature_box_only_where_a_signature_goes(
    company_page: Paper,
) -> None:
    """GIVEN the unsigned company page
    WHEN it is signed with several seeds
    THEN the signature box gains ink it did not have, spanning 35–100 % of the box's width,
    and the stamp box stays as printed."""
    blank_ink = dark_pixels(company_page, layout.SIGNATURE)
    for seed in range(4):
        paper = company_page.copy()
        sign(paper, np.random.default_rng(seed))
        before = company_page.pixels.min(axis=2).astype(int)
        added = paper.pixels.min(axis=2).astype(int) < before - 40
        box_width = paper.mm_to_px(layout.SIGNATURE.w)
        columns = np.flatnonzero(added.any(axis=0))
        assert dark_pixels(paper, layout.SIGNATURE) > blank_ink + 500
        assert 0.35 <= (columns[-1] - columns[0]) / box_width <= 1.0
        assert dark_pixels(paper, layout.STAMP) == dark_pixels(company_page, layout.STAMP)


@pytest.mark.parametrize(("shape", "colour"), [("round", "blue"), ("rect", "red")])
def test_stamp_leaves_coloured_ink_in_the_stamp_box(
    company_page: Paper, shape: str, colour: str
) -> None:
    """GIVEN the company page
    WHEN it is stamped and scanned in colour at 200 dpi
    THEN the stamp box holds coloured ink of the stamp's hue, and the unstamped page has none."""
    rng = np.random.default_rng(3)
    paper = company_page.copy()
    stamp(paper, rng, "Zażółć Gęślą Jaźń Sp. z o.o.", "5260250995", shape=shape, colour=colour)  # type: ignore[arg-type]
    stamped = scan(paper, rng, dpi=200, colour=True, skew=0.0, shift_mm=(0, 0), scale=1.0)
    unstamped = scan(company_page, rng, dpi=200, colour=True, skew=0.0, shift_mm=(0, 0), scale=1.0)
    assert coloured_pixels(stamped.image, layout.STAMP, 200) > 2000
    assert coloured_pixels(unstamped.image, layout.STAMP, 200) == 0
    x0, y0, x1, y1 = layout.STAMP.pixels(200)
    ink = stamped.image[y0:y1, x0:x1].reshape(-1, 3).astype(int)
    ink = ink[ink.max(axis=1) - ink.min(axis=1) > 50]
    blue, red = ink[:, 0].mean(), ink[:, 2].mean()
    assert (blue > red) if colour == "blue" else (red > blue)


def test_a_stamp_pressed_over_the_signature_reaches_into_the_signature_box(
    company_page: Paper,
) -> None:
    """GIVEN the company page
    WHEN it is stamped with overlap_signature
    THEN ink lands both in the signature box and in the stamp box."""
    paper = company_page.copy()
    stamp(paper, np.random.default_rng(4), "Firma ABC", "5260250995", overlap_signature=True)
    assert dark_pixels(paper, layout.SIGNATURE) > dark_pixels(company_page, layout.SIGNATURE)
    assert dark_pixels(paper, layout.STAMP) > dark_pixels(company_page, layout.STAMP)


def test_no_stamp_tick_marks_the_tick_box(company_page: Paper) -> None:
    """GIVEN the company page
    WHEN the no-stamp box is ticked
    THEN the tick box holds pen ink."""
    paper = company_page.copy()
    tick_no_stamp(paper, np.random.default_rng(5))
    x0, y0, x1, y1 = paper.box_px(layout.NO_STAMP_TICK.inset(0.6))
    before = company_page.pixels[y0:y1, x0:x1].min(axis=2) < 160
    after = paper.pixels[y0:y1, x0:x1].min(axis=2) < 160
    assert after.sum() > before.sum() + 50


def test_alterations_add_ink_to_the_field_they_change(company_page: Paper) -> None:
    """GIVEN the company page
    WHEN the new registrant's PESEL is crossed out and rewritten, and a phone is written in
    THEN both field boxes hold ink the printout did not have, and the other party's block
    is untouched."""
    paper = company_page.copy()
    rng = np.random.default_rng(6)
    cross_out_and_write(paper, rng, "new_registrant.id_number", "92110804567")
    write_in(paper, rng, "new_registrant.phone", "+48 601 234 567")
    for field in ("new_registrant.id_number", "new_registrant.phone"):
        box = layout.FIELD_BOXES[field]
        assert dark_pixels(paper, box) > dark_pixels(company_page, box) + 100
    for field in ("current_registrant.name", "current_registrant.id_number"):
        box = layout.FIELD_BOXES[field]
        assert dark_pixels(paper, box) == dark_pixels(company_page, box)


def test_fax_tiff_round_trips_as_1_bit_g4_without_resolution_tags(company_page: Paper) -> None:
    """GIVEN a standard and a fine fax of the same page
    WHEN they are written as a group 4 TIFF with dpi=False
    THEN Pillow reads two 1728-pixel-wide 1-bit G4 pages of A4 height for their resolution,
    with no XResolution or YResolution tag, and the QR code still decodes."""
    rng = np.random.default_rng(7)
    standard = fax(company_page, rng, fine=False, dropped_lines=0.0)
    fine = fax(company_page, rng, fine=True, dropped_lines=0.0)
    tiff = Image.open(io.BytesIO(to_tiff([standard, fine], "group4", dpi=False)))
    assert tiff.n_frames == 2
    for index, (capture, lines) in enumerate(((standard, 1146), (fine, 2292))):
        tiff.seek(index)
        assert tiff.mode == "1"
        assert tiff.info["compression"] == "group4"
        assert tiff.size[0] == 1728
        assert abs(tiff.size[1] - lines) <= 0.035 * lines
        assert 282 not in tiff.tag_v2 and 283 not in tiff.tag_v2
        assert read_code(capture) is not None


@pytest.mark.parametrize("compression", ["group3", "tiff_lzw", "jpeg"])
def test_tiff_with_resolution_tags_keeps_each_pages_resolution(
    company_page: Paper, compression: str
) -> None:
    """GIVEN a standard fax and a 200 dpi grey scan
    WHEN they are written as one TIFF with dpi=True
    THEN each page keeps its own resolution (204 × 98, 200 × 200) and compression; group 3
    makes both pages 1-bit, LZW keeps each page's depth, JPEG stores the fax as grey."""
    rng = np.random.default_rng(8)
    pages = [fax(company_page, rng), scan(company_page, rng, dpi=200)]
    tiff = Image.open(io.BytesIO(to_tiff(pages, compression, dpi=True)))  # type: ignore[arg-type]
    modes = {"group3": ("1", "1"), "tiff_lzw": ("1", "L"), "jpeg": ("L", "L")}[compression]
    for index, (x_dpi, y_dpi) in enumerate(((204, 98), (200, 200))):
        tiff.seek(index)
        assert tiff.info["compression"] == compression
        assert (float(tiff.tag_v2[282]), float(tiff.tag_v2[283])) == (x_dpi, y_dpi)
        assert tiff.size == pages[index].size
        assert tiff.mode == modes[index]


@pytest.mark.parametrize(
    ("image_format", "fax_mode", "filters"),
    [("jpeg", "L", {"/DCTDecode"}), ("png", "1", {"/FlateDecode"})],
)
def test_scanned_pdf_holds_one_full_page_image_per_capture(
    company_page: Paper, image_format: str, fax_mode: str, filters: set[str]
) -> None:
    """GIVEN a 200 dpi colour scan and a standard fax
    WHEN they are written as a scanned PDF
    THEN it has two A4-sized pages, each painted by one image of the capture's pixel size
    in the asked-for encoding: the fax's image is 1728 × about 1146 on a page as tall as the
    scan's, and lossless pixels come back exactly."""
    rng = np.random.default_rng(9)
    captures = [scan(company_page, rng, dpi=200, colour=True), fax(company_page, rng)]
    pdf = to_pdf(captures, image_format)  # type: ignore[arg-type]
    reader = pypdf.PdfReader(io.BytesIO(pdf), strict=True)
    assert len(reader.pages) == 2
    for page, capture, mode in zip(reader.pages, captures, ("RGB", fax_mode), strict=True):
        images = page.images
        assert len(images) == 1
        image = images[0].image
        assert image is not None and image.mode == mode and image.size == capture.size
        assert images[0].indirect_reference is not None
        assert {str(images[0].indirect_reference.get_object()["/Filter"])} == filters
        assert abs(float(page.mediabox.width) - 595) < 20
        assert abs(float(page.mediabox.height) - 842) < 30
    if image_format == "png":
        fax_pixels = np.asarray(reader.pages[1].images[0].image.convert("L"))
        assert np.array_equal(fax_pixels, captures[1].image)


def test_copied_qr_routes_the_page_to_the_other_case(
    sample_form: FormData, secret_key: bytes
) -> None:
    """GIVEN another case, and this case's new-registrant page with that case's code pasted on
    WHEN its QR code is read
    THEN it verifies and names the other case, while the page prints this case's data."""
    rng = np.random.default_rng(10)
    other = other_case(sample_form, rng)
    capture = make("fraud-copied-qr", sample_form, secret_key, rng, other_form=other)
    text = read_code(capture)
    assert text is not None
    assert page_code.decode(text, secret_key) == PageCode(
        other.case_id, other.form_version, "new_registrant"
    )
    assert printed_values(other) != printed_values(sample_form)


def test_altered_qr_fails_its_mac_and_is_not_taken_for_a_foreign_code(
    sample_form: FormData, secret_key: bytes
) -> None:
    """GIVEN a page whose QR code was reprinted with one character changed
    WHEN the code is read and decoded
    THEN it still looks like a Cesja code but decode raises InvalidCode, not a foreign one."""
    capture = make("fraud-altered-qr", sample_form, secret_key, np.random.default_rng(11))
    text = read_code(capture)
    assert text is not None and text.startswith("CESJA1:")
    with pytest.raises(InvalidCode) as caught:
        page_code.decode(text, secret_key)
    assert not caught.value.foreign


def test_one_character_change_keeps_the_code_well_formed(
    sample_form: FormData, secret_key: bytes
) -> None:
    """GIVEN a genuine page code
    WHEN one character is changed with many seeds
    THEN exactly one character differs, the prefix and format stay, and the MAC fails."""
    genuine = page_code.encode(PageCode(sample_form.case_id, 1, "current_registrant"), secret_key)
    shape = re.compile(r"CESJA1:CS-[0-9A-Z]{4}-[0-9A-Z]{4}:[1-9][0-9]{0,3}:CR:1:[A-Z2-7]{16}")
    for seed in range(40):
        altered = with_one_character_changed(genuine, np.random.default_rng(seed))
        assert sum(a != b for a, b in zip(altered, genuine, strict=True)) == 1
        assert shape.fullmatch(altered)
        with pytest.raises(InvalidCode):
            page_code.decode(altered, secret_key)


def test_edited_value_form_changes_one_printed_value_and_keeps_the_code(
    sample_form: FormData,
) -> None:
    """GIVEN the sample form
    WHEN each kind of field is edited
    THEN exactly that printed value changes, to the new text, and case and version stay."""
    edits = {
        "domains": "example.pl, inna.pl",
        "new_registrant.name": "Jan Kowalski",
        "new_registrant.id_number": "92110804567",
        "current_registrant.id_number": "5213017228",
        "new_registrant.postal_city": "00-950 Warszawa, PL",
        "current_registrant.representatives": "Jan Kowalski, Anna Nowak",
        "new_registrant.phone": "+48 601 234 567",
    }
    before = printed_values(sample_form)
    for field, value in edits.items():
        edited = edited_value_form(sample_form, field, value)
        after = printed_values(edited)
        assert after[field] == value
        assert {k for k in before if before[k] != after[k]} == {field}
        assert (edited.case_id, edited.form_version) == (
            sample_form.case_id,
            sample_form.form_version,
        )


def test_photograph_is_a_colour_jpeg_like_image_whose_code_still_reads(
    company_page: Paper, sample_form: FormData, secret_key: bytes
) -> None:
    """GIVEN the company page
    WHEN it is photographed on a table
    THEN the capture is colour, darker round the page than on it, and its QR code decodes."""
    capture = photograph(company_page, np.random.default_rng(12))
    assert capture.mode == "colour" and capture.image.ndim == 3
    grey = cv2.cvtColor(capture.image, cv2.COLOR_BGR2GRAY)
    height, width = grey.shape
    assert grey[:40, :40].mean() < grey[height // 3 : height // 2, width // 3 : width // 2].mean()
    text = read_code(capture)
    assert text is not None
    assert page_code.decode(text, secret_key).case_id == sample_form.case_id


def test_rotation_turns_the_image_and_its_resolution(company_page: Paper) -> None:
    """GIVEN a standard fax
    WHEN it is turned a quarter and then upside down
    THEN a quarter turn swaps its size and resolution, and two half turns give it back."""
    capture = fax(company_page, np.random.default_rng(13))
    quarter = rotate(capture, 1)
    assert quarter.size == (capture.size[1], capture.size[0])
    assert (quarter.x_dpi, quarter.y_dpi) == (capture.y_dpi, capture.x_dpi)
    assert np.array_equal(rotate(rotate(capture, 2), 2).image, capture.image)


def test_foreign_page_has_no_markers_and_a_foreign_code(secret_key: bytes) -> None:
    """GIVEN a foreign letter with a URL in a QR code
    WHEN its code is read
    THEN decode says it is foreign, and the top-left corner holds no marker."""
    capture = foreign_page(np.random.default_rng(14), dpi=200, qr_text="https://example.com/f/1")
    text = read_code(capture)
    assert text == "https://example.com/f/1"
    with pytest.raises(InvalidCode) as caught:
        page_code.decode(text, secret_key)
    assert caught.value.foreign
    x0, y0, x1, y1 = layout.MARKERS[0].pixels(200)
    assert capture.image[y0:y1, x0:x1].mean() > 200


def test_scenarios_are_deterministic_for_a_seed(sample_form: FormData, secret_key: bytes) -> None:
    """GIVEN one scenario
    WHEN it is made twice with the same seed and once with another
    THEN the same seed gives the same image and another seed a different one."""
    first, again, other = (
        make("fraud-crossed-out-value", sample_form, secret_key, np.random.default_rng(seed))
        for seed in (15, 15, 16)
    )
    assert np.array_equal(first.image, again.image)
    assert first.image.shape != other.image.shape or not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("scenario", CATALOGUE, ids=lambda s: s.name)
def test_every_scenario_builds_a_page_its_code_agrees_with(
    scenario, sample_form: FormData, secret_key: bytes
) -> None:
    """GIVEN a scenario of the catalogue
    WHEN it is made for the sample case
    THEN its expectation uses only the contract's words, and its QR code says what the
    expectation implies: own or other case and the scenario's party, an invalid code, or none
    of ours."""
    expect = scenario.expect
    assert expect["outcome"] in OUTCOMES
    assert set(expect.get("failed_checks", [])) | set(expect.get("may_fail", [])) <= CHECKS
    other = other_case(sample_form, np.random.default_rng(99))
    capture = make(scenario, sample_form, secret_key, np.random.default_rng(17), other)
    text = read_code(capture)
    if expect["outcome"] == "matched":
        assert text is not None
        code = page_code.decode(text, secret_key)
        owner = other if expect["case"] == "other" else sample_form
        assert code == PageCode(owner.case_id, owner.form_version, scenario.party)
    elif expect["outcome"] == "invalid_code":
        assert text is not None
        with pytest.raises(InvalidCode) as caught:
            page_code.decode(text, secret_key)
        assert not caught.value.foreign
    else:
        assert text is None or not text.startswith("CESJA1:")
