"""What happens between the paper and the file we receive: a scanner, a fax line, a phone camera.

Each returns a `Capture`: the image as it reaches us, with its horizontal and vertical
resolution (a standard fax has 204 × 98 dpi: its pixels are twice as tall as they are wide).
Parameters left as None are drawn from `rng` within what real devices do.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from documents.simulate.foreign import foreign_paper
from documents.simulate.paper import Paper, blank_paper, mm_to_px, page_size_px

CaptureMode = Literal["grey", "colour", "bilevel"]

FAX_LINE_PX = 1728  # every fax line has 1728 pixels: 215 mm at 204 dpi, wider than A4
FAX_X_DPI = 204.0
FAX_Y_DPI = {False: 98.0, True: 196.0}  # standard and fine resolution
PHONE_DPI = 72.0  # what a phone writes in its JPEG, whatever the distance to the page
PHOTO_SIZE = (2268, 3024)  # a 3:4 frame, portrait; width, height


@dataclass(frozen=True)
class Capture:
    """An image as received: grey (H, W), colour (H, W, 3) in BGR order as OpenCV has it, or
    bilevel (H, W) holding only 0 and 255; and its resolution across and down, in dpi."""

    image: np.ndarray
    x_dpi: float
    y_dpi: float
    mode: CaptureMode

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.image.shape[1], self.image.shape[0]


def scan(
    paper: Paper,
    rng: np.random.Generator,
    *,
    dpi: float = 300,
    colour: bool = False,
    noise: float | None = None,
    blur: float | None = None,
    skew: float | None = None,
    scale: float | None = None,
    shift_mm: tuple[float, float] | None = None,
    jpeg_quality: int | None = None,
) -> Capture:
    """A flatbed or sheet-feeder scan of `paper` at `dpi`, grey unless `colour`.

    `noise`: sensor noise σ (2–8 grey levels); `blur`: optics σ in pixels (0.4–1.0); `skew`:
    degrees, counter-clockwise (usually within ±2, at most ±5); `scale`: a copier's reduction
    (0.95–1.0, from the glass's top-left corner); `shift_mm`: where the sheet lay (x, y);
    `jpeg_quality`: the scanner's JPEG compression, none when None. Paper comes out
    white-ish (about 235–252), never pure 255; toner dark grey, never pure 0.
    """
    noise = rng.uniform(2, 8) if noise is None else noise
    blur = rng.uniform(0.4, 1.0) if blur is None else blur
    skew = float(np.clip(rng.normal(0, 1.2), -5, 5)) if skew is None else skew
    scale = (1.0 if rng.random() < 0.6 else rng.uniform(0.95, 1.0)) if scale is None else scale
    if shift_mm is None:
        shift_mm = (float(rng.normal(0, 1.2)), float(rng.normal(0, 1.2)))
    pixels = paper.pixels if colour else cv2.cvtColor(paper.pixels, cv2.COLOR_RGB2GRAY)
    lid = int(rng.integers(245, 256))
    image = _place(pixels, paper.dpi, dpi, dpi, page_size_px(dpi), scale, skew, shift_mm, lid)
    image = cv2.GaussianBlur(image, (0, 0), blur)
    image = _tone(rng, image, white=rng.uniform(238, 252), black=rng.uniform(18, 50))
    image = _add_noise(rng, image, noise)
    _dust(rng, image, int(rng.integers(0, 25)), dpi)
    if colour:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if jpeg_quality is not None:
        image = _jpeg_round_trip(image, jpeg_quality)
    return Capture(image, dpi, dpi, "colour" if colour else "grey")


def fax(
    paper: Paper,
    rng: np.random.Generator,
    *,
    fine: bool = False,
    streaks: int | None = None,
    dropped_lines: float | None = None,
    halftone: bool = False,
) -> Capture:
    """`paper` sent by fax: 204 × 98 dpi (or 204 × 196 when `fine`), 1728-pixel lines with the
    page centred, black and white only.

    `streaks`: vertical black lines from dirt on the sender's scanner glass (0–2 when None);
    `dropped_lines`: the share of lines lost in transmission, blanked or repeated
    (0 or 0.2–1 % when None); `halftone`: error diffusion for grey areas ("photo" mode)
    instead of a plain threshold. The paper feed stretches or shrinks the page by up to 3 %
    and skews it by up to 1.5°.
    """
    streaks = int(rng.choice([0, 0, 1, 1, 2])) if streaks is None else streaks
    if dropped_lines is None:
        dropped_lines = 0.0 if rng.random() < 0.5 else rng.uniform(0.002, 0.01)
    y_dpi = FAX_Y_DPI[fine]
    feed = rng.uniform(0.97, 1.03)
    page_w, page_h = page_size_px(FAX_X_DPI)[0], round(page_size_px(y_dpi)[1] * feed)
    # A fax scans in green light: blue and red inks (pens, stamps) both come out dark.
    grey = np.ascontiguousarray(paper.pixels[..., 1])
    margin = (FAX_LINE_PX - page_w) / 2
    shift = (margin * 25.4 / FAX_X_DPI + rng.normal(0, 0.8), rng.normal(0, 1.5))
    image = _place(
        grey,
        paper.dpi,
        FAX_X_DPI,
        y_dpi * feed,
        (FAX_LINE_PX, page_h),
        1.0,
        rng.uniform(-1.5, 1.5),
        shift,
        255,
    )
    image = cv2.GaussianBlur(image, (0, 0), 0.5)
    image = _add_noise(rng, image, rng.uniform(2, 6))
    if halftone:
        bilevel = _diffuse(image)
    else:
        bilevel = np.where(image < rng.uniform(135, 170), 0, 255).astype(np.uint8)
    _specks(rng, bilevel)
    _streaks(rng, bilevel, streaks)
    _lose_lines(rng, bilevel, dropped_lines)
    return Capture(bilevel, FAX_X_DPI, y_dpi, "bilevel")


def photograph(paper: Paper, rng: np.random.Generator) -> Capture:
    """A phone photo of `paper` lying on a table: seen at an angle (each corner moved by up to
    6 % of the page), lit unevenly, in colour, slightly soft, saved as JPEG."""
    frame_w, frame_h = PHOTO_SIZE
    page_h = frame_h * rng.uniform(0.8, 0.9)
    page_w = page_h * paper.pixels.shape[1] / paper.pixels.shape[0]
    left, top = (frame_w - page_w) / 2, (frame_h - page_h) / 2
    corners = np.array(
        [[left, top], [left + page_w, top], [left + page_w, top + page_h], [left, top + page_h]]
    )
    corners += rng.uniform(-0.06, 0.06, (4, 2)) * [page_w, page_h]
    height, width = paper.pixels.shape[:2]
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    warp = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    scene = _table(rng, frame_w, frame_h, corners)
    cv2.warpPerspective(
        paper.pixels,
        warp,
        (frame_w, frame_h),
        dst=scene,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    image = cv2.multiply(scene, _light(rng, frame_w, frame_h), dtype=cv2.CV_8U)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.7, 1.4))
    image = _add_noise(rng, image, rng.uniform(2, 5))
    image = _jpeg_round_trip(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), int(rng.integers(75, 93)))
    return Capture(image, PHONE_DPI, PHONE_DPI, "colour")


def rotate(capture: Capture, quarter_turns: int) -> Capture:
    """`capture` turned clockwise by `quarter_turns` × 90°: 2 is a page fed upside down."""
    turns = quarter_turns % 4
    image = np.ascontiguousarray(np.rot90(capture.image, -turns))
    if turns % 2:
        return replace(capture, image=image, x_dpi=capture.y_dpi, y_dpi=capture.x_dpi)
    return replace(capture, image=image)


def blank_page(rng: np.random.Generator, *, dpi: float = 200, colour: bool = False) -> Capture:
    """A sheet with nothing on it, scanned: faint noise and a few specks of dust only."""
    return scan(blank_paper(dpi), rng, dpi=dpi, colour=colour)


def foreign_page(
    rng: np.random.Generator,
    *,
    dpi: float = 200,
    colour: bool = False,
    qr_text: str | None = None,
) -> Capture:
    """A scanned page that belongs to no case: a printed letter without corner markers, with
    `qr_text` (say a URL) as a QR code when given."""
    return scan(foreign_paper(rng, qr_text, dpi=max(dpi, 150)), rng, dpi=dpi, colour=colour)


def binarise(capture: Capture, threshold: float | None = None) -> Capture:
    """A bilevel copy of `capture`: grey below `threshold` is black (Otsu's choice when None)."""
    if capture.mode == "bilevel":
        return capture
    grey = capture.image
    if capture.mode == "colour":
        grey = cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY)
    if threshold is None:
        threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    bilevel = np.where(grey < threshold, 0, 255).astype(np.uint8)
    return replace(capture, image=bilevel, mode="bilevel")


def _place(
    pixels: np.ndarray,
    from_dpi: float,
    x_dpi: float,
    y_dpi: float,
    size: tuple[int, int],
    scale: float,
    skew: float,
    shift_mm: tuple[float, float],
    background: int,
) -> np.ndarray:
    """The sheet `pixels` (at `from_dpi`) turned by `skew` degrees about its centre, reduced by
    `scale` from the top-left corner and moved by `shift_mm`, then sampled at (x_dpi, y_dpi)
    onto a canvas of `size` pixels filled with `background` where the sheet is not.

    The sheet turns at its own square resolution: turning a fax's tall pixels would shear it.
    Sampling down with INTER_AREA keeps thin strokes that a plain warp would alias away.
    """
    height, width = pixels.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), skew, 1.0) * scale
    matrix[0, 2] += mm_to_px(shift_mm[0], from_dpi)
    matrix[1, 2] += mm_to_px(shift_mm[1], from_dpi)
    canvas = (round(size[0] * from_dpi / x_dpi), round(size[1] * from_dpi / y_dpi))
    fill = (background,) * (3 if pixels.ndim == 3 else 1)
    sheet = cv2.warpAffine(
        pixels,
        matrix,
        canvas,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
    if sheet.shape[1] == size[0] and sheet.shape[0] == size[1]:
        return sheet
    return cv2.resize(sheet, size, interpolation=cv2.INTER_AREA)


def _tone(rng: np.random.Generator, image: np.ndarray, white: float, black: float) -> np.ndarray:
    """The scanner's response: paper to `white`, toner to `black`, a slight gamma between."""
    gamma = rng.uniform(0.85, 1.15)
    levels = np.arange(256, dtype=np.float32) / 255.0
    table = np.clip(black + (white - black) * levels**gamma, 0, 255).astype(np.uint8)
    return cv2.LUT(image, table)


@cache
def _gaussian_table() -> np.ndarray:
    """Standard normal quantiles of 256 equal-probability slices: a uniform byte looked up
    here is Gaussian noise, at a tenth of the cost of drawing normal floats."""
    normal = statistics.NormalDist()
    return np.array([normal.inv_cdf((i + 0.5) / 256) for i in range(256)], dtype=np.float32)


def _add_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    uniform = rng.integers(0, 256, image.shape, dtype=np.uint8)
    noise = cv2.LUT(uniform, _gaussian_table() * np.float32(sigma))
    return cv2.add(image, noise, dtype=cv2.CV_8U)


def _dust(rng: np.random.Generator, image: np.ndarray, count: int, dpi: float) -> None:
    """Specks of dust on the glass: small dark dots anywhere on the page."""
    height, width = image.shape[:2]
    for _ in range(count):
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        radius = max(1, round(mm_to_px(rng.uniform(0.05, 0.2), dpi)))
        shade = int(rng.integers(60, 180))
        cv2.circle(image, centre, radius, (shade,) * (image.ndim if image.ndim == 3 else 1), -1)


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a JPEG at quality {quality}")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ValueError("OpenCV could not decode the JPEG it had just encoded")
    return decoded


def _diffuse(image: np.ndarray) -> np.ndarray:
    """Floyd–Steinberg error diffusion for grey areas, after pushing near-white to white and
    near-black to black so that text and paper stay clean."""
    levels = np.clip((image.astype(np.float32) - 60) * 255 / (215 - 60), 0, 255).astype(np.uint8)
    dithered = Image.fromarray(levels).convert("1", dither=Image.Dither.FLOYDSTEINBERG)
    return np.asarray(dithered, dtype=np.uint8) * 255


def _specks(rng: np.random.Generator, bilevel: np.ndarray) -> None:
    """Isolated wrong pixels, black on white and white on black, as line noise leaves."""
    height, width = bilevel.shape
    count = int(rng.integers(30, 300))
    rows, cols = rng.integers(0, height, count), rng.integers(0, width, count)
    bilevel[rows, cols] = 255 - bilevel[rows, cols]


def _streaks(rng: np.random.Generator, bilevel: np.ndarray, count: int) -> None:
    """Black lines down the whole page, 1–3 pixels wide: dirt on the sender's scanner glass."""
    width = bilevel.shape[1]
    for _ in range(count):
        x = int(rng.integers(0, width - 3))
        bilevel[:, x : x + int(rng.integers(1, 4))] = 0


def _lose_lines(rng: np.random.Generator, bilevel: np.ndarray, share: float) -> None:
    """Transmission errors: runs of 1–6 lines received blank, or as the last good line again."""
    height = bilevel.shape[0]
    lost = 0
    while lost < share * height:
        run = int(rng.integers(1, 7))
        start = int(rng.integers(1, height - run))
        if rng.random() < 0.5:
            bilevel[start : start + run] = 255
        else:
            bilevel[start : start + run] = bilevel[start - 1]
        lost += run


def _table(rng: np.random.Generator, width: int, height: int, sheet: np.ndarray) -> np.ndarray:
    """A table top, RGB: dark wood or laminate, unevenly lit, with a wavy grain, and darker
    round the `sheet` (its corners), where the sheet and the phone cast a soft shadow.

    Everything here is smooth, so it is made at a quarter of the size and enlarged.
    """
    w, h = width // 4, height // 4
    base = np.array(
        [rng.uniform(60, 120), rng.uniform(45, 90), rng.uniform(30, 70)], dtype=np.float32
    )
    light = cv2.resize(
        rng.uniform(0.75, 1.15, (6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    rows = np.arange(h, dtype=np.float32)[:, None]
    grain = 1 + 0.05 * np.sin(rows / rng.uniform(1.5, 5) + 6 * light)
    shadow = np.zeros((h, w), dtype=np.float32)
    cv2.fillConvexPoly(shadow, np.round(sheet / 4 + rng.uniform(-4, 4, 2)).astype(np.int32), 1.0)
    shadow = 1 - rng.uniform(0.3, 0.6) * cv2.GaussianBlur(shadow, (0, 0), rng.uniform(4, 10))
    small = np.clip((light * grain * shadow)[..., None] * base, 0, 255).astype(np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _light(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """How much of the light reaches each pixel, per RGB channel: brighter on one side, darker
    in the corners, a warm or cool cast, and white paper exposed somewhat below white."""
    yy, xx = np.mgrid[0:height:8, 0:width:8].astype(np.float32)
    u, v = xx / width - 0.5, yy / height - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 1 + rng.uniform(0.1, 0.3) * (np.cos(angle) * u + np.sin(angle) * v)
    vignette = 1 - rng.uniform(0.25, 0.5) * (u * u + v * v)
    cast = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.02)], dtype=np.float32)
    field = (gradient * vignette)[..., None] * cast * rng.uniform(0.82, 0.95)
    return cv2.resize(field.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
