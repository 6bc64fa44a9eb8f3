"""Files that describe far more than they hold are measured, not followed: the page tree and
a page's drawing counted with budgets, pages finer than the reader needs decoded reduced, and
what would cost too much refused with a reason, before anything is drawn or decoded."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ocr.errors import CorruptFile, TooComplex, TooManyPages
from ocr.pages import probe_file, read_page_image
from tests.hostile import pdfs
from tests.ocr import samples as s


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def page_tree(kids_of_root: str, extra: list[bytes]) -> bytes:
    """A PDF whose page tree's root lists `kids_of_root`; objects from 3 on are `extra`."""
    return pdfs._pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids_of_root}] /Count 1 >>".encode(),
            *extra,
        ]
    )


def test_a_draw_bomb_is_accepted_at_upload_and_refused_before_it_is_drawn(tmp_path: Path) -> None:
    """GIVEN a 2 KB PDF whose page would draw 10⁹ dots through nested forms
    WHEN probed at upload, then its page read by a worker
    THEN the probe sees one page (it draws nothing); reading refuses the page as too complex,
    saying how much it would draw."""
    path = written(tmp_path, "bomb.pdf", pdfs.draw_bomb())

    assert probe_file(path, max_pages=10).page_count == 1
    with pytest.raises(TooComplex) as refused:
        read_page_image(path, 0, max_pages=10)

    assert "page 1 of the PDF draws more than 2,000,000 shapes" in refused.value.message


def test_a_bomb_just_under_the_count_is_drawn(tmp_path: Path) -> None:
    """GIVEN the same construction at 10⁴ draws (a busy drawing, not a bomb)
    WHEN its page is read THEN it is drawn like any vector page."""
    path = written(tmp_path, "busy.pdf", pdfs.draw_bomb(levels=5))

    page = read_page_image(path, 0, max_pages=10)

    assert page.source == "pdf-render"


def test_a_page_tree_that_lists_one_node_forty_times_over_is_counted_with_a_budget(
    tmp_path: Path,
) -> None:
    """GIVEN a page tree whose nodes each list the next level forty times, six levels deep
    (40⁶ pages, as pdfium and pypdf would count them)
    WHEN probed THEN TooManyPages, counted only as far as the limit."""
    levels = [
        f"<< /Type /Pages /Kids [{' '.join([f'{4 + level} 0 R'] * 40)}] /Count 1 >>".encode()
        for level in range(6)
    ]
    leaf = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    path = written(tmp_path, "tree.pdf", page_tree("3 0 R", [*levels, leaf]))

    with pytest.raises(TooManyPages) as refused:
        probe_file(path, max_pages=200)

    assert "at least" in refused.value.message


def test_a_page_tree_that_loops_is_damaged(tmp_path: Path) -> None:
    """GIVEN a page tree node that lists itself WHEN probed THEN CorruptFile that says so."""
    looping = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    path = written(tmp_path, "loop.pdf", page_tree("3 0 R", [looping]))

    with pytest.raises(CorruptFile) as refused:
        probe_file(path, max_pages=200)

    assert "loops" in refused.value.message


def test_a_resource_fan_out_is_walked_once(tmp_path: Path) -> None:
    """GIVEN a page whose resources list a form listing the next forty times, six levels deep
    WHEN probed and read THEN one page, read as the nearly blank page it is."""
    path = written(tmp_path, "fan-out.pdf", pdfs.resource_fan_out())

    assert probe_file(path, max_pages=10).page_count == 1
    page = read_page_image(path, 0, max_pages=10)

    assert page.source == "pdf-render" and page.gray.mean() > 254


def test_a_page_drawing_a_huge_image_is_refused_before_pdfium_decodes_it(tmp_path: Path) -> None:
    """GIVEN a vector page that draws, small, an image of 10,000 × 11,000 pixels (PDFium
    decodes an image whole however small it is drawn: 440 MB)
    WHEN its page is read THEN TooComplex, saying what drawing it would need."""
    claimed = s.ScannedPage(
        "/Width 10000 /Height 11000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
        b"\xff\xd8\xff\xd9",
        matrix="100 0 0 110 50 50",
    )
    path = s.save_scanned_pdf(tmp_path / "image.pdf", [claimed])

    with pytest.raises(TooComplex) as refused:
        read_page_image(path, 0, max_pages=10)

    assert "draws images of 110 megapixels" in refused.value.message


def test_a_colour_png_too_large_to_decode_is_refused_at_upload(tmp_path: Path) -> None:
    """GIVEN a colour PNG of 7,000 × 7,000 pixels (196 MB as Pillow decodes it)
    WHEN probed THEN TooComplex saying what it needs and what to send instead."""
    path = tmp_path / "big.png"
    Image.new("RGB", (7000, 7000), (255, 255, 255)).save(path)

    with pytest.raises(TooComplex) as refused:
        probe_file(path, max_pages=10)

    assert "page 1 is a colour image of 7000×7000 pixels" in refused.value.message
    assert "scan it at 300 dpi, or send it as JPEG" in refused.value.message


@pytest.mark.parametrize("name", ["grey.png", "colour.jpg", "fax.tiff"])
def test_a_page_finer_than_the_reader_needs_is_decoded_reduced(tmp_path: Path, name: str) -> None:
    """GIVEN an A4 page at 1,000 dpi (97 megapixels) as a grey PNG, a colour JPEG and a G4 TIFF
    WHEN read THEN it comes out reduced to between 250 and 400 dpi (by the JPEG decoder
    itself for the JPEG), its size following, its corner mark where it was."""
    width, height = s.a4_pixels(1000)
    image = s.page_image((width, height))
    path = tmp_path / name
    if name.endswith(".png"):
        image.save(path, dpi=(1000, 1000))
    elif name.endswith(".jpg"):
        image.convert("RGB").save(path, quality=80, dpi=(1000, 1000))
    else:
        image.convert("1").save(path, compression="group4", dpi=(1000, 1000))

    read = read_page_image(path, 0, max_pages=10)

    assert 250 <= read.dpi <= 400
    scale = read.dpi / 1000
    assert read.gray.shape == pytest.approx((height * scale, width * scale), abs=3)
    assert s.mark_corner(read.gray) == "top-left"
