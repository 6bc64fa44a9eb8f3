"""Reading a received file into page images: type by content, checks, fax stretching, streaming."""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from documents._exec import pdftoppm
from ocr.errors import CorruptFile, EncryptedFile, TooManyPages, UnsupportedType
from ocr.pages import PageImage, iter_pages, probe_file, read_page_image, sniff
from tests.ocr import samples as s

A4_RATIO = 297 / 210
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every sample file, by name, made once for the module."""
    folder = tmp_path_factory.mktemp("scans")
    made: dict[str, Path] = {}

    def put(name: str, maker, *args, **kwargs) -> None:
        made[name] = maker(folder / name, *args, **kwargs)

    standard = s.fax_page(s.FAX_STANDARD_LINES)
    fine = s.fax_page(s.FAX_FINE_LINES)
    grey_300 = s.page_image(s.a4_pixels(300))
    colour_300 = s.page_image(s.a4_pixels(300), mode="RGB", colour=True)
    colour_200 = s.page_image(s.a4_pixels(200), mode="RGB", colour=True)

    put("fax-standard-g3-no-dpi.tiff", s.save_tiff, [standard, standard], compression="group3")
    put(
        "fax-standard-g3-2d-dpi.tiff",
        s.save_tiff,
        [standard],
        compression="group3",
        tiffinfo={292: 1},  # T4Options: 2-D coding
        dpi=(204, 98),
    )
    put("fax-fine-g4-dpi.tiff", s.save_tiff, [fine], compression="group4", dpi=(204, 196))
    put("fax-fine-g4-no-dpi.tiff", s.save_tiff, [fine], compression="group4")
    put("scan-300dpi-lzw.tiff", s.save_tiff, [grey_300], compression="tiff_lzw", dpi=(300, 300))
    put("scan-jpeg-in-tiff.tiff", s.save_tiff, [colour_200], compression="jpeg", dpi=(200, 200))
    put(
        "scan-150dpi-per-cm.tiff",
        s.save_tiff,
        [s.page_image(s.a4_pixels(150))],
        resolution_unit=3,
        x_resolution=150 / 2.54,
        y_resolution=150 / 2.54,
    )
    put("scan-jpeg-exif-rotated.jpg", s.save_jpeg_exif_rotated, colour_200)
    put("scan-200dpi-colour.jpg", _saved, colour_200, quality=85, dpi=(200, 200))
    grey_as_rgb = s.page_image(s.a4_pixels(200), mode="RGB")
    put("scan-200dpi-grey-as-rgb.jpg", _saved, grey_as_rgb, quality=85, dpi=(200, 200))
    put("scan-300dpi-grey.png", _saved, grey_300, dpi=(300, 300))
    put("scan-1bit-no-dpi.png", _saved, grey_300.convert("1"))
    sixteen = Image.fromarray(np.asarray(grey_300).astype(np.uint16) * 257)
    put("scan-16bit.png", _saved, sixteen, dpi=(300, 300))
    transparent = colour_200.convert("RGBA")
    transparent.putalpha(Image.eval(grey_300.resize(colour_200.size), lambda v: 255 - v))
    put("scan-transparent-background.png", _saved, transparent, dpi=(200, 200))

    put(
        "scanned-pdf-jpeg.pdf",
        s.save_scanned_pdf,
        [s.jpeg_page(colour_300), s.jpeg_page(grey_300)],
    )
    # Stored on its side on a landscape page that /Rotate turns upright, as scanners do.
    sideways = s.jpeg_page(colour_300.transpose(Image.Transpose.ROTATE_90))
    landscape = replace(sideways, size=(s.A4_PT[1], s.A4_PT[0]), rotate=90)
    put("scanned-pdf-sideways-rotate-90.pdf", s.save_scanned_pdf, [landscape])
    # Stored bottom row first, and drawn by a matrix that flips it back.
    upside_down = s.jpeg_page(grey_300.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    flipped = replace(upside_down, matrix="595.28 0 0 -841.89 0 841.89")
    put("scanned-pdf-flipped-matrix.pdf", s.save_scanned_pdf, [flipped])
    put("scanned-pdf-g4-fax.pdf", s.save_scanned_pdf, [s.g4_fax_page(standard)])
    put("scanned-pdf-g3-2d-fax.pdf", s.save_scanned_pdf, [s.g3_2d_fax_page(standard)])
    put("scanned-pdf-flate-grey.pdf", s.save_scanned_pdf, [s.flate_page(grey_300)])
    put(
        "scanned-pdf-1bit-decode-inverted.pdf",
        s.save_scanned_pdf,
        [s.flate_page(grey_300.convert("1"), inverted=True)],
    )
    put("scanned-pdf-jbig2.pdf", s.save_scanned_pdf, [s.undecodable_page()])
    put("scanned-pdf-with-ocr-layer.pdf", s.save_pdf_with_ocr_layer, made["scan-200dpi-colour.jpg"])
    put("letter-with-logo.pdf", s.save_pdf_with_logo, made["scan-200dpi-colour.jpg"])
    put("vector-form.pdf", s.save_vector_form)
    put("three-pages.pdf", s.save_pdf_pages, 3)
    put("encrypted.pdf", s.save_pdf_encrypted, made["three-pages.pdf"], "secret")
    put("encrypted-empty-password.pdf", s.save_pdf_encrypted, made["three-pages.pdf"], "")
    put("not-a-scan.docx", s.save_docx)

    def write(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        made[name] = folder / name

    form = made["vector-form.pdf"].read_bytes()
    write("vector-form-after-mail-header.pdf", b"Content-Type: application/pdf\r\n\r\n" + form)
    write("renamed.png", form)
    write("truncated.pdf", form[: len(form) // 2])
    for name in ("scan-300dpi-grey.png", "scan-200dpi-colour.jpg", "scan-300dpi-lzw.tiff"):
        data = made[name].read_bytes()
        write("truncated" + made[name].suffix, data[: len(data) * 2 // 3])
    write("empty.pdf", b"")
    write("page.html", b"<!DOCTYPE html><html><body>%PDF-1.4 is not here</body></html>")
    write("image.gif", b"GIF89a" + b"\x00" * 64)
    write("bomb.png", s.png_claiming_size(30_000, 30_000))
    write("bomb.tiff", s.tiff_claiming_size(12_000, 12_000))
    bomb_page = s.ScannedPage(
        "/Width 20000 /Height 20000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode",
        b"\xff\xd8\xff\xd9",
    )
    put("bomb.pdf", s.save_scanned_pdf, [bomb_page])
    write("three-pages-page-2-damaged.tiff", _damaged_second_page(folder, grey_300))
    return made


def _saved(path: Path, image: Image.Image, **options: object) -> Path:
    image.save(path, **options)
    return path


def _damaged_second_page(folder: Path, page: Image.Image) -> bytes:
    path = s.save_tiff(folder / "three-pages.tiff", [page] * 3, compression="tiff_lzw")
    data = bytearray(path.read_bytes())
    with Image.open(path) as tiff:
        tiff.seek(1)
        for offset, count in zip(tiff.tag_v2[273], tiff.tag_v2[279], strict=True):
            data[offset : offset + count] = b"\xa5" * count
    return bytes(data)


def pages_of(path: Path, **options) -> list[PageImage]:
    return list(iter_pages(path, max_pages=10, **options))


def only_page(path: Path) -> PageImage:
    (page,) = pages_of(path)
    return page


def ratio(page: PageImage) -> float:
    height, width = page.gray.shape
    return height / width


# --- the type, judged by content ------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\r\n\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n", "application/pdf"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"", None),
        (b"PK\x03\x04\x14\x00", None),
        (b"PK\x03\x04\x14\x00scan.pdf%PDF-1.4\n", None),
        (b"GIF89a", None),
        (b"<!DOCTYPE html><html>", None),
        (b"x" * 1100 + b"%PDF-1.4", None),
    ],
)
def test_sniff_judges_the_type_by_its_first_bytes(head: bytes, media_type: str | None) -> None:
    """GIVEN the first bytes of a file WHEN sniffed THEN the type its content shows, or None.

    `%PDF-` counts within the first 1024 bytes, as the PDF spec allows, and not after.
    """
    assert sniff(head) == media_type


@pytest.mark.parametrize(
    ("name", "media_type", "pages"),
    [
        ("fax-standard-g3-no-dpi.tiff", "image/tiff", 2),
        ("scan-300dpi-lzw.tiff", "image/tiff", 1),
        ("scan-jpeg-exif-rotated.jpg", "image/jpeg", 1),
        ("scan-300dpi-grey.png", "image/png", 1),
        ("scanned-pdf-jpeg.pdf", "application/pdf", 2),
        ("vector-form.pdf", "application/pdf", 2),
        ("vector-form-after-mail-header.pdf", "application/pdf", 2),
        ("renamed.png", "application/pdf", 2),
        ("encrypted-empty-password.pdf", "application/pdf", 3),
    ],
)
def test_probe_file_tells_type_and_page_count(
    sample: dict[str, Path], name: str, media_type: str, pages: int
) -> None:
    """GIVEN a supported file (a PDF named .png among them) WHEN probed THEN its real type and
    page count."""
    info = probe_file(sample[name], max_pages=10)

    assert (info.media_type, info.page_count) == (media_type, pages)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("not-a-scan.docx", "ZIP"),
        ("page.html", "HTML"),
        ("image.gif", "GIF"),
        ("empty.pdf", "empty"),
    ],
)
def test_what_is_not_a_scan_is_unsupported(sample: dict[str, Path], name: str, says: str) -> None:
    """GIVEN a Word file, a web page, a GIF or an empty file WHEN probed or read THEN
    UnsupportedType saying what it is and what is accepted, whatever its name."""
    with pytest.raises(UnsupportedType) as probed:
        probe_file(sample[name], max_pages=10)
    with pytest.raises(UnsupportedType):
        iter_pages(sample[name], max_pages=10)

    assert says in probed.value.message
    assert "PDF, TIFF, PNG or JPEG" in probed.value.message


# --- files that cannot be taken ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["truncated.pdf", "truncated.png", "truncated.jpg", "truncated.tiff"]
)
def test_truncated_file_is_corrupt_at_upload(sample: dict[str, Path], name: str) -> None:
    """GIVEN a file cut short after a valid start WHEN probed THEN CorruptFile that says the
    file is damaged or truncated, before any page is decoded."""
    with pytest.raises(CorruptFile) as refused:
        probe_file(sample[name], max_pages=10)

    assert "damaged" in refused.value.message or "truncated" in refused.value.message


@pytest.mark.parametrize("name", ["truncated.png", "truncated.jpg"])
def test_truncated_image_read_without_probe_fails_on_its_page(
    sample: dict[str, Path], name: str
) -> None:
    """GIVEN a truncated PNG or JPEG that was never probed WHEN its pages are read THEN the
    page itself raises CorruptFile naming page 1 (decoding finds what probing would)."""
    pages = iter_pages(sample[name], max_pages=10)

    with pytest.raises(CorruptFile) as refused:
        next(pages)

    assert "page 1" in refused.value.message


def test_password_protected_pdf_is_refused(sample: dict[str, Path]) -> None:
    """GIVEN a PDF that needs a password WHEN probed THEN EncryptedFile asking for it without."""
    with pytest.raises(EncryptedFile) as refused:
        probe_file(sample["encrypted.pdf"], max_pages=10)

    assert "password" in refused.value.message


def test_pdf_encrypted_with_empty_password_is_read(sample: dict[str, Path]) -> None:
    """GIVEN a PDF encrypted with an empty user password WHEN read THEN its pages render."""
    pages = pages_of(sample["encrypted-empty-password.pdf"], render_dpi=50)

    assert [page.source for page in pages] == ["pdf-render"] * 3


@pytest.mark.parametrize("name", ["three-pages.pdf", "three-pages-page-2-damaged.tiff"])
def test_more_pages_than_the_limit_are_refused(sample: dict[str, Path], name: str) -> None:
    """GIVEN a 3-page file and a limit of 2 WHEN probed or read THEN TooManyPages naming both."""
    with pytest.raises(TooManyPages) as refused:
        probe_file(sample[name], max_pages=2)
    with pytest.raises(TooManyPages):
        iter_pages(sample[name], max_pages=2)

    assert "3 pages" in refused.value.message
    assert "at most 2" in refused.value.message


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", ["bomb.png", "bomb.tiff", "bomb.pdf"])
def test_decompression_bomb_is_refused_without_decoding(sample: dict[str, Path], name: str) -> None:
    """GIVEN a tiny file whose header claims a page of 144 to 900 megapixels (a PNG, a G4
    TIFF, a JPEG inside a PDF) WHEN probed THEN CorruptFile saying the page is too large,
    and nothing was allocated for it."""
    with pytest.raises(CorruptFile) as refused:
        probe_file(sample[name], max_pages=10)

    assert "large" in refused.value.message or "megapixels" in refused.value.message


def test_page_damaged_mid_file_names_the_page(sample: dict[str, Path]) -> None:
    """GIVEN a 3-page TIFF whose second page's data is garbage WHEN read THEN page 1 comes out
    and then CorruptFile names page 2."""
    pages = iter_pages(sample["three-pages-page-2-damaged.tiff"], max_pages=10)

    first = next(pages)
    with pytest.raises(CorruptFile) as refused:
        next(pages)

    assert first.index == 0
    assert "page 2" in refused.value.message


# --- fax ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["fax-standard-g3-no-dpi.tiff", "fax-standard-g3-2d-dpi.tiff", "scanned-pdf-g4-fax.pdf"]
)
def test_standard_fax_comes_out_with_square_pixels(sample: dict[str, Path], name: str) -> None:
    """GIVEN a 204×98 dpi fax (G3 with no resolution tags, G3 2-D with tags, G4 in a PDF)
    WHEN read THEN its rows are stretched: A4 proportions, ~204 dpi, 1-bit, no colour."""
    for page in pages_of(sample[name]):
        assert page.stretched and page.bilevel and page.color is None
        assert page.gray.dtype == np.uint8 and page.gray.ndim == 2
        assert page.gray.shape[1] == s.FAX_WIDTH
        assert ratio(page) == pytest.approx(A4_RATIO, abs=0.05)
        assert page.dpi == pytest.approx(206, abs=4)  # 204 on the fax line, 209 over A4 in PDF
        assert s.mark_corner(page.gray) == "top-left"


@pytest.mark.parametrize("name", ["fax-fine-g4-dpi.tiff", "fax-fine-g4-no-dpi.tiff"])
def test_fine_fax_keeps_its_proportions(sample: dict[str, Path], name: str) -> None:
    """GIVEN a 204×196 dpi G4 fax, with or without resolution tags WHEN read THEN 204 dpi,
    stretched by the 4% that 196 lines an inch fall short of 204, A4-shaped."""
    page = only_page(sample[name])

    assert page.dpi == 204
    assert page.bilevel and page.stretched
    assert page.gray.shape == (round(s.FAX_FINE_LINES * 204 / 196), s.FAX_WIDTH)
    assert ratio(page) == pytest.approx(A4_RATIO, abs=0.05)
    assert s.mark_corner(page.gray) == "top-left"


# --- scans: TIFF, JPEG, PNG -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dpi", "colour"),
    [
        ("scan-300dpi-lzw.tiff", 300, False),
        ("scan-jpeg-in-tiff.tiff", 200, True),
        ("scan-150dpi-per-cm.tiff", 150, False),
        ("scan-200dpi-colour.jpg", 200, True),
        ("scan-200dpi-grey-as-rgb.jpg", 200, False),
        ("scan-300dpi-grey.png", 300, False),
        ("scan-16bit.png", 300, False),
        ("scan-transparent-background.png", 200, True),
    ],
)
def test_scan_comes_out_as_stated(
    sample: dict[str, Path], name: str, dpi: int, colour: bool
) -> None:
    """GIVEN an A4 scan in one of the raster formats WHEN read THEN one upright 8-bit page at
    the stated resolution, its A4 pixel size, colour kept only when the page has colour (not
    for a grey page stored as RGB)."""
    page = only_page(sample[name])

    assert page.dpi == pytest.approx(dpi)
    assert page.gray.dtype == np.uint8
    assert page.gray.shape == pytest.approx(s.a4_pixels(dpi)[::-1], abs=1)
    assert (page.color is not None) == colour
    assert not page.stretched and not page.bilevel
    assert s.mark_corner(page.gray) == "top-left"
    if page.color is not None:
        assert page.color.shape == (*page.gray.shape, 3)


def test_phone_photo_is_turned_upright_by_exif(sample: dict[str, Path]) -> None:
    """GIVEN a JPEG stored on its side with EXIF orientation 6 and a 72 dpi placeholder WHEN
    read THEN portrait and upright, colour kept, resolution estimated from A4 (200 dpi)."""
    page = only_page(sample["scan-jpeg-exif-rotated.jpg"])

    assert ratio(page) == pytest.approx(A4_RATIO, abs=0.01)
    assert s.mark_corner(page.gray) == "top-left"
    assert page.color is not None
    assert page.dpi == 200
    red_stamp = page.color[:, :, 2].astype(int) - page.color[:, :, 0]
    assert np.count_nonzero(red_stamp > 100) > 1000  # the red stamp is still red (BGR)


def test_transparent_background_is_white(sample: dict[str, Path]) -> None:
    """GIVEN a PNG whose paper is transparent WHEN read THEN the paper is white, ink dark."""
    page = only_page(sample["scan-transparent-background.png"])

    assert np.median(page.gray) == 255
    assert s.mark_corner(page.gray) == "top-left"


def test_sixteen_bit_png_is_reduced_to_eight(sample: dict[str, Path]) -> None:
    """GIVEN a 16-bit greyscale PNG WHEN read THEN the same 8-bit values as its 8-bit twin."""
    sixteen = only_page(sample["scan-16bit.png"])
    eight = only_page(sample["scan-300dpi-grey.png"])

    assert np.array_equal(sixteen.gray, eight.gray)


def test_one_bit_png_without_resolution_is_bilevel_at_estimated_dpi(
    sample: dict[str, Path],
) -> None:
    """GIVEN a 1-bit PNG with no pHYs chunk WHEN read THEN bilevel, 0/255, 300 dpi from A4."""
    page = only_page(sample["scan-1bit-no-dpi.png"])

    assert page.bilevel
    assert set(np.unique(page.gray)) == {0, 255}
    assert page.dpi == 300


# --- PDF ------------------------------------------------------------------------------------


def test_scanned_pdf_pages_are_its_images(sample: dict[str, Path]) -> None:
    """GIVEN a scanner's PDF of a colour and a grey JPEG page WHEN read THEN each page is the
    embedded image, not a re-rendering: 300 dpi from the page size, colour only on page 1."""
    colour, grey = pages_of(sample["scanned-pdf-jpeg.pdf"])

    for page in (colour, grey):
        assert page.source == "pdf-image"
        assert page.dpi == pytest.approx(300, abs=0.5)
        assert page.gray.shape == s.a4_pixels(300)[::-1]
        assert s.mark_corner(page.gray) == "top-left"
    assert colour.color is not None and grey.color is None


def test_a_pdf_replaced_under_the_same_name_is_read_as_it_now_is(tmp_path: Path) -> None:
    """GIVEN a worker that read a page of a one-page PDF WHEN a three-page PDF is stored
    under the same name THEN its third page is read, and a page past its end is refused
    naming the new count (what a worker learnt of a file is kept for the file as it is)."""
    path = s.save_pdf_pages(tmp_path / "stack.pdf", 1)
    read_page_image(path, 0, max_pages=10)
    with pytest.raises(CorruptFile, match="has 1 page"):
        read_page_image(path, 2, max_pages=10)

    s.save_pdf_pages(tmp_path / "three.pdf", 3).replace(path)

    assert read_page_image(path, 2, max_pages=10).index == 2
    with pytest.raises(CorruptFile, match="has 3 page"):
        read_page_image(path, 3, max_pages=10)


def test_pages_of_a_pdf_read_job_after_job_are_each_their_own(
    sample: dict[str, Path], tmp_path: Path
) -> None:
    """GIVEN a worker reading a scanned PDF's pages as jobs of their own, out of order and with
    another file's page between them WHEN each is read THEN each is the page `iter_pages`
    gives at its place (what a worker keeps of a file is kept for that file alone)."""
    path = sample["scanned-pdf-jpeg.pdf"]
    in_order = [page.gray for page in iter_pages(path, max_pages=10)]
    other = s.save_pdf_pages(tmp_path / "other.pdf", 3)

    for index in (1, 0, 1, 0):
        assert np.array_equal(read_page_image(path, index, max_pages=10).gray, in_order[index])
        assert read_page_image(other, 2, max_pages=10).index == 2


def test_a_worker_reading_a_stack_page_by_page_keeps_none_of_its_pages(tmp_path: Path) -> None:
    """GIVEN a scanned stack of 20 pages, each a JPEG of about 400 kB WHEN a worker reads them
    one job after another THEN, once the last is read and let go, the worker holds less than
    one page's JPEG more than before: the file's list of pages is kept, not its pages."""
    rng = np.random.default_rng(7)
    noise = [Image.fromarray(rng.integers(0, 256, (800, 600), dtype=np.uint8)) for _ in range(20)]
    path = s.save_scanned_pdf(tmp_path / "stack.pdf", [s.jpeg_page(page) for page in noise])
    one_jpeg = len(s.jpeg_page(noise[0]).data)
    read_page_image(path, 0, max_pages=30)  # what is kept of the file, and the readers' caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(20):
            assert read_page_image(path, index, max_pages=30).index == index
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert one_jpeg > 300_000
    assert held < one_jpeg


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("scanned-pdf-sideways-rotate-90.pdf", "pdf-image"),
        ("scanned-pdf-flipped-matrix.pdf", "pdf-image"),
        ("scanned-pdf-g4-fax.pdf", "pdf-image"),
        ("scanned-pdf-flate-grey.pdf", "pdf-image"),
        ("scanned-pdf-1bit-decode-inverted.pdf", "pdf-image"),
        ("scanned-pdf-with-ocr-layer.pdf", "pdf-image"),
        ("scanned-pdf-g3-2d-fax.pdf", "pdf-render"),
        ("scanned-pdf-jbig2.pdf", "pdf-render"),
        ("letter-with-logo.pdf", "pdf-render"),
    ],
)
def test_pdf_page_looks_as_a_viewer_shows_it(
    sample: dict[str, Path], name: str, source: str
) -> None:
    """GIVEN a PDF page (turned by /Rotate or by its matrix; a G4 fax; deflated grey; 1-bit
    stored negative under /Decode; a scan under an invisible OCR layer; 2-D G3 or JBIG2, which
    pypdf misreads or cannot read; a letter with a logo) WHEN read THEN it is taken as its
    image or rendered, as expected, and looks like poppler's rendering of the page."""
    page = only_page(sample[name])
    poppler = pdftoppm.render_gray(sample[name].read_bytes(), 1, page.dpi)

    assert page.source == source
    assert page.gray.shape == pytest.approx(poppler.shape, abs=2)
    small = (105, 148)
    ours = cv2.resize(page.gray, small, interpolation=cv2.INTER_AREA).astype(int)
    theirs = cv2.resize(poppler, small, interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(ours - theirs).mean() < 8


def test_vector_form_is_rendered_at_render_dpi(sample: dict[str, Path]) -> None:
    """GIVEN our own two-page form printed to PDF WHEN read THEN both pages are rendered at
    the render resolution, A4 in size."""
    pages = pages_of(sample["vector-form.pdf"], render_dpi=200)

    assert [page.index for page in pages] == [0, 1]
    for page in pages:
        assert (page.source, page.dpi, page.color, page.stretched) == (
            "pdf-render",
            200,
            None,
            False,
        )
        assert page.gray.shape == pytest.approx(s.a4_pixels(200)[::-1], abs=1)
        assert page.gray.min() == 0 and np.median(page.gray) == 255


# --- memory -----------------------------------------------------------------------------------

# Linux's peak resident size (VmHWM) is restarted once the modules are loaded, so that the
# peak measured is the iteration's alone; ru_maxrss would still hold the imports' peak.
_MEASURE = """
import sys
from pathlib import Path
from ocr.pages import iter_pages

def megabytes(field):
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) // 1024 for line in status if line.startswith(field + ":"))

pages = iter_pages(Path(sys.argv[1]), max_pages=100)
Path("/proc/self/clear_refs").write_text("5")
before = megabytes("VmRSS")
count = sum(1 for _ in pages)
print(count, before, megabytes("VmHWM"))
"""


def _hundred_page_fax(folder: Path) -> Path:
    page = s.page_image(s.a4_pixels(300), mode="1")
    return s.save_tiff(folder / "fax-100-pages-g4.tiff", [page] * 100, compression="group4")


def _hundred_page_deflated_scan(folder: Path) -> Path:
    page = s.flate_page(s.page_image(s.a4_pixels(200)))
    return s.save_scanned_pdf(folder / "scanned-pdf-100-pages-flate.pdf", [page] * 100)


@pytest.mark.parametrize("make", [_hundred_page_fax, _hundred_page_deflated_scan])
def test_hundred_pages_are_read_in_bounded_memory(tmp_path: Path, make) -> None:
    """GIVEN a 100-page 300 dpi G4 TIFF (8.7 megapixels a page: 925 MB when all pages are
    held), or a 100-page scanned PDF of deflated 200 dpi pages (whose decoded bytes pypdf
    would keep) WHEN its pages are iterated in a fresh process THEN the peak grows by less
    than 100 MB (about 50 MB measured: one page and its copies), far below 500 MB in all."""
    path = make(tmp_path)

    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    count, before_mb, peak_mb = (int(v) for v in done.stdout.split())

    assert count == 100
    assert peak_mb - before_mb < 100
    assert peak_mb < 500
