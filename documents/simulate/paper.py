"""A printed page as the simulator's pens and scanners see it: RGB pixels in page coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from documents import page_code
from documents._exec import pdftoppm
from documents.layout import PAGE_HEIGHT_MM, PAGE_WIDTH_MM, Box

MM_PER_INCH = 25.4
PRINT_DPI = 300.0


def mm_to_px(mm: float, dpi: float) -> float:
    return mm * dpi / MM_PER_INCH


def page_size_px(dpi: float) -> tuple[int, int]:
    """(width, height) in pixels of a whole A4 page at `dpi`: 2480 × 3508 at 300 dpi."""
    return round(mm_to_px(PAGE_WIDTH_MM, dpi)), round(mm_to_px(PAGE_HEIGHT_MM, dpi))


@dataclass
class Paper:
    """One A4 sheet: RGB uint8 pixels, (height, width, 3), origin at the page's top-left corner.

    Ink goes onto the sheet in place, as it does on real paper; `copy` gives a fresh sheet
    to draw on when the same printout is reused.
    """

    pixels: np.ndarray
    dpi: float = PRINT_DPI

    def mm_to_px(self, mm: float) -> float:
        return mm_to_px(mm, self.dpi)

    def box_px(self, box: Box) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of a layout box on this sheet."""
        return box.pixels(self.dpi)

    def copy(self) -> Paper:
        return Paper(self.pixels.copy(), self.dpi)


def print_page(pdf: bytes, page: int, dpi: float = PRINT_DPI) -> Paper:
    """Page `page` (1-based) of `pdf` printed on a sheet: exactly A4 at `dpi`."""
    return Paper(_fit_to_a4(pdftoppm.render_rgb(pdf, page, dpi), dpi), dpi)


def blank_paper(dpi: float = PRINT_DPI) -> Paper:
    width, height = page_size_px(dpi)
    return Paper(np.full((height, width, 3), 255, dtype=np.uint8), dpi)


def _fit_to_a4(pixels: np.ndarray, dpi: float) -> np.ndarray:
    # pdftoppm rounds the page size up (2481 px for 210 mm at 300 dpi); trim or pad with white
    # so that pixel (x, y) is exactly at (x, y) / dpi inches from the top-left corner.
    width, height = page_size_px(dpi)
    sheet = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, pixels.shape[0]), min(width, pixels.shape[1])
    sheet[:h, :w] = pixels[:h, :w]
    return sheet


def apply_ink(paper: Paper, coverage: np.ndarray, x0: int, y0: int, colour: np.ndarray) -> None:
    """Lay ink of `colour` (RGB, 0–255) on `paper` as `coverage` (0–1, top-left at x0, y0) says.

    Ink multiplies what is underneath, as translucent ink does: blue over black toner stays
    black, blue over white paper is blue.
    """
    height, width = paper.pixels.shape[:2]
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1 = min(x0 + coverage.shape[1], width)
    cy1 = min(y0 + coverage.shape[0], height)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    alpha = coverage[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None].astype(np.float32)
    filter_ = 1.0 - alpha * (1.0 - np.asarray(colour, dtype=np.float32) / 255.0)
    region = paper.pixels[cy0:cy1, cx0:cx1]
    region[...] = np.clip(region * filter_ + 0.5, 0, 255).astype(np.uint8)


def print_qr(paper: Paper, text: str, box: Box, quiet_zone_modules: int = 4) -> None:
    """Print the QR symbol for `text` filling `box`, on white over its quiet zone first, with
    its modules where the form's renderer puts them (`box` split into equal squares)."""
    modules = page_code.qr_modules(text)
    n = modules.shape[0]
    step = paper.mm_to_px(box.w / n)
    quiet = quiet_zone_modules * step
    x0, y0 = paper.mm_to_px(box.x), paper.mm_to_px(box.y)
    paper.pixels[
        max(0, round(y0 - quiet)) : round(y0 + n * step + quiet),
        max(0, round(x0 - quiet)) : round(x0 + n * step + quiet),
    ] = 255
    for row, col in zip(*np.nonzero(modules), strict=True):
        paper.pixels[
            round(y0 + row * step) : round(y0 + (row + 1) * step),
            round(x0 + col * step) : round(x0 + (col + 1) * step),
        ] = 0
