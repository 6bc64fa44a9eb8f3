"""The PC-fax capture: a scanned page through Ghostscript's fax devices, as HylaFAX and CUPS do."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from documents import FormData
from documents._exec import ghostscript
from documents.errors import ToolMissing
from documents.simulate import Capture, Paper, fax, pc_fax, scan, to_pdf
from documents.simulate.pcfax import Printed
from documents.simulate.scenarios import printed

A4_HEIGHT_INCHES = 297 / 25.4
TIFF_COMPRESSION, TIFF_X_RESOLUTION, TIFF_Y_RESOLUTION = 259, 282, 283
CCITT_T4, CCITT_T6 = 3, 4


@pytest.fixture(scope="module")
def company_page(sample_form: FormData, secret_key: bytes) -> Paper:
    return printed(sample_form, "current_registrant", secret_key)


@pytest.fixture(scope="module")
def scanned_pdf(company_page: Paper) -> bytes:
    """The company's page scanned in grey at 200 dpi and saved as a scanned PDF."""
    return to_pdf([scan(company_page.copy(), np.random.default_rng(3), dpi=200)])


def left_margin(capture: Capture) -> np.ndarray:
    """A strip of the page's left margin, 2–8 mm from the edge and 100–200 mm down: paper the
    form never prints on."""
    page_left = (capture.size[0] - round(210 / 25.4 * capture.x_dpi)) // 2
    x0, x1 = (page_left + round(mm / 25.4 * capture.x_dpi) for mm in (2, 8))
    y0, y1 = (round(mm / 25.4 * capture.y_dpi) for mm in (100, 200))
    return capture.image[y0:y1, x0:x1]


@pytest.mark.parametrize(
    ("device", "fine", "compression", "y_dpi"),
    [
        ("tiffg3", False, CCITT_T4, 98),
        ("tiffg4", False, CCITT_T6, 98),
        ("tiffg3", True, CCITT_T4, 196),
        ("tiffg4", True, CCITT_T6, 196),
    ],
)
def test_ghostscript_writes_a_fax_tiff_at_the_stated_resolution(
    scanned_pdf: bytes, device: ghostscript.FaxDevice, fine: bool, compression: int, y_dpi: int
) -> None:
    """GIVEN a scanned PDF of a form page
    WHEN Ghostscript's fax device renders it at standard or fine resolution
    THEN the result is a 1-bit TIFF compressed as that device says (G3 = CCITT T.4, G4 = T.6),
    1728 pixels wide (a fax line), an A4 page long, tagged 204 × 98 or 204 × 196 dpi."""
    tiff = ghostscript.fax_tiff(scanned_pdf, device=device, fine=fine)

    with Image.open(io.BytesIO(tiff)) as image:
        assert image.format == "TIFF" and image.mode == "1"
        assert image.tag_v2[TIFF_COMPRESSION] == compression
        assert (image.tag_v2[TIFF_X_RESOLUTION], image.tag_v2[TIFF_Y_RESOLUTION]) == (204, y_dpi)
        width, height = image.size
    assert width == 1728
    assert abs(height - A4_HEIGHT_INCHES * y_dpi) <= 2


def test_grey_paper_becomes_a_halftone_dot_pattern(company_page: Paper) -> None:
    """GIVEN the same printed page
    WHEN it is sent as a PC fax (scanned grey, through Ghostscript) and by our own fax model
    THEN in the margin, where the paper is blank but its scan is light grey, the PC fax holds a
    pattern of isolated dots (1–15 % black, no blob bigger than a few pixels) while our fax,
    which thresholds, leaves the margin white."""
    pc = pc_fax(company_page.copy(), np.random.default_rng(0), fine=False, colour=False)
    ours = fax(company_page.copy(), np.random.default_rng(0), fine=False, streaks=0)

    dots = left_margin(pc) == 0
    assert 0.01 <= dots.mean() <= 0.15
    count, _, stats, _ = cv2.connectedComponentsWithStats(dots.astype(np.uint8), connectivity=8)
    assert count > 100
    assert stats[1:, cv2.CC_STAT_AREA].max() <= 12
    assert (left_margin(ours) == 0).mean() < 0.002


@pytest.mark.parametrize(("printed_as", "colour"), [("pdf", True), ("postscript", False)])
def test_a_fine_pc_fax_keeps_its_code_readable(
    company_page: Paper, sample_form: FormData, printed_as: Printed, colour: bool
) -> None:
    """GIVEN the page scanned in colour and handed to the fax queue as a PDF, or scanned in
    grey and printed to it as PostScript
    WHEN Ghostscript faxes it at fine resolution
    THEN the capture is a bilevel 204 × 196 dpi page whose QR code zxing-cpp still reads (after
    the halftone is smoothed away), naming this case."""
    capture = pc_fax(
        company_page.copy(), np.random.default_rng(1), fine=True, colour=colour, printed=printed_as
    )

    assert capture.mode == "bilevel" and (capture.x_dpi, capture.y_dpi) == (204, 196)
    assert set(np.unique(capture.image)) <= {0, 255}
    square = cv2.resize(capture.image, (1728, capture.image.shape[0] * 204 // 196))
    found = zxingcpp.read_barcodes(
        cv2.GaussianBlur(square, (0, 0), 1.5), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert found and found[0].text.startswith(f"CESJA1:{sample_form.case_id}:")


def test_the_same_seed_gives_the_same_pc_fax(company_page: Paper) -> None:
    """GIVEN one seed THEN the PC fax made from it is the same, pixel for pixel, every time."""

    def send() -> Capture:
        rng = np.random.default_rng(7)
        return pc_fax(company_page.copy(), rng, fine=False, colour=False, printed="pdf")

    first, again = send(), send()
    assert np.array_equal(first.image, again.image)


def test_without_ghostscript_the_message_says_how_to_install_it(
    scanned_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a machine where `gs` is not on the PATH
    WHEN the simulator is asked for a PC fax
    THEN it stops with ToolMissing naming the Debian package to install, and the check
    `cesja doctor` shows says the same."""
    monkeypatch.setenv("PATH", "/nonexistent")
    ghostscript._executable.cache_clear()
    try:
        with pytest.raises(ToolMissing, match=r"apt-get install ghostscript"):
            ghostscript.fax_tiff(scanned_pdf, device="tiffg3", fine=False)
        assert "apt-get install ghostscript" in (ghostscript.check() or "")
    finally:
        ghostscript._executable.cache_clear()
