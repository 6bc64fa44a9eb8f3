"""A company stamp pressed on the form: round or rectangular, in blue or red, never evenly inked."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from documents import layout
from documents.simulate.lettering import font, glyph
from documents.simulate.paper import Paper, apply_ink

StampShape = Literal["round", "rect"]
StampColour = Literal["blue", "red"]

# Stamp-pad inks as they look on paper, RGB.
STAMP_COLOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "blue": ((40, 70, 180), (55, 60, 165), (30, 80, 175), (70, 60, 170)),
    "red": ((205, 40, 50), (190, 30, 60), (215, 55, 45)),
}
BOLD = "DejaVuSans-Bold.ttf"
REGULAR = "DejaVuSans.ttf"
CONDENSED = "DejaVuSansCondensed.ttf"


def stamp(
    paper: Paper,
    rng: np.random.Generator,
    company_name: str,
    nip: str,
    *,
    shape: StampShape = "round",
    colour: StampColour = "blue",
    overlap_signature: bool = False,
    address: str | None = None,
) -> None:
    """Press a company stamp in `layout.STAMP`.

    Round: two rings with the name set around them and the NIP in the middle, turned to any
    angle. Rectangular: a frame round the name, the address when given, and the NIP, turned a
    few degrees. With `overlap_signature` the stamp sits partly over the signature box, as
    stamps pressed in a hurry do.
    """
    ppm = paper.mm_to_px(1)
    if shape == "round":
        face = round_impression(rng, ppm, company_name, nip, address)
        angle = rng.uniform(0, 360)
    else:
        face = rect_impression(rng, ppm, company_name, nip, address)
        angle = rng.uniform(-4, 4)
    coverage = uneven_ink(rng, _turn(face, angle), ppm)
    x_mm, y_mm = _placement(
        rng, coverage.shape[1] / ppm, coverage.shape[0] / ppm, overlap_signature
    )
    apply_ink(paper, coverage, round(x_mm * ppm), round(y_mm * ppm), _ink(rng, colour))


def round_impression(
    rng: np.random.Generator, ppm: float, company_name: str, nip: str, address: str | None
) -> np.ndarray:
    """The rubber face of a round stamp as coverage 0–1, upright, on a square tile."""
    radius = rng.uniform(13, 16) * ppm
    ring = rng.uniform(4.6, 5.6) * ppm
    side = int(2 * radius + 4 * ppm)
    centre = side / 2
    image = Image.new("L", (side, side), 0)
    pen = ImageDraw.Draw(image)
    for r, width_mm in ((radius, rng.uniform(0.5, 0.75)), (radius - ring, rng.uniform(0.3, 0.45))):
        width = max(1, round(width_mm * ppm))
        pen.ellipse((centre - r, centre - r, centre + r, centre + r), outline=255, width=width)
    city = _city(address)
    legend = company_name.upper() + (f" • {city.upper()}" if city else "")
    _set_around(image, legend, centre, radius - ring * 0.76, ring * 0.42)
    middle = ["NIP", _nip_text(rng, nip)]
    _set_centred(pen, middle, centre, centre, 2 * (radius - ring) * 0.8, 3.0 * ppm)
    return np.asarray(image, dtype=np.float32) / 255.0


def rect_impression(
    rng: np.random.Generator, ppm: float, company_name: str, nip: str, address: str | None
) -> np.ndarray:
    """The rubber face of a rectangular stamp: name, address, NIP, in a frame."""
    width = rng.uniform(52, 66) * ppm
    lines = [company_name]
    if address:
        lines.append(address)
    lines.append(_nip_text(rng, nip, prefix=True))
    line_height = rng.uniform(4.2, 5.0) * ppm
    padding = rng.uniform(1.4, 2.2) * ppm
    height = len(lines) * line_height + 2 * padding
    margin = round(2 * ppm)
    image = Image.new("L", (round(width) + 2 * margin, round(height) + 2 * margin), 0)
    pen = ImageDraw.Draw(image)
    frame = max(1, round(rng.uniform(0.4, 0.7) * ppm))
    pen.rounded_rectangle(
        (margin, margin, margin + width, margin + height),
        radius=rng.uniform(0, 1.5) * ppm,
        outline=255,
        width=frame,
    )
    top = margin + padding
    for i, line in enumerate(lines):
        face = _fitting_font(BOLD if i == 0 else REGULAR, line, width - 2 * padding, line_height)
        pen.text((margin + width / 2, top + (i + 0.5) * line_height), line, 255, face, anchor="mm")
    return np.asarray(image, dtype=np.float32) / 255.0


def uneven_ink(rng: np.random.Generator, face: np.ndarray, ppm: float) -> np.ndarray:
    """What the rubber leaves on paper: pressed harder on one side, patchy, with worn-out spots
    and soft edges where the ink spreads into the paper."""
    height, width = face.shape
    tilt = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(tilt) * xx / width + np.sin(tilt) * yy / height).astype(np.float32)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    pressure = 1.0 - rng.uniform(0.05, 0.35) * ramp
    patches = 0.72 + 0.28 * _blotches(rng, (height, width), cells=6)
    spots = _blotches(rng, (height, width), cells=int(width / ppm / 0.8))
    worn = np.where(spots < rng.uniform(0.03, 0.12), rng.uniform(0.2, 0.5), 1.0)
    grain = rng.uniform(0.75, 1.0, (height, width)).astype(np.float32)
    coverage = face * pressure * patches * worn * grain
    coverage = cv2.GaussianBlur(
        coverage.astype(np.float32), (0, 0), rng.uniform(0.4, 0.9) * ppm / 11.8
    )
    return np.clip(coverage * rng.uniform(0.9, 1.1), 0, 1)


def _blotches(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field in 0–1 that changes over about 1/`cells` of the tile."""
    coarse = rng.random((max(2, cells), max(2, cells))).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _turn(face: np.ndarray, angle: float) -> np.ndarray:
    """`face` turned by `angle` degrees counter-clockwise on a tile grown to hold it."""
    height, width = face.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos) + 1, int(height * cos + width * sin) + 1
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return cv2.warpAffine(face, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR)


def _placement(
    rng: np.random.Generator, width_mm: float, height_mm: float, overlap_signature: bool
) -> tuple[float, float]:
    """Top-left corner (mm) of a stamp tile of this size: in the stamp box, or across into the
    signature box by a fifth to two fifths of its width."""
    box = layout.STAMP
    if overlap_signature:
        x = layout.SIGNATURE.right - rng.uniform(0.2, 0.4) * width_mm
    else:
        slack = max(0.0, box.w - width_mm)
        x = box.x + rng.uniform(0.1, 0.9) * slack + rng.uniform(-1.5, 1.5)
    slack_y = box.h - height_mm
    y = box.y + slack_y / 2 + rng.uniform(-0.3, 0.3) * max(abs(slack_y), 4.0)
    return x, y


def _ink(rng: np.random.Generator, colour: StampColour) -> np.ndarray:
    choices = STAMP_COLOURS[colour]
    base = np.asarray(choices[rng.integers(len(choices))], dtype=np.float32)
    return np.clip(base + rng.normal(0, 8, 3), 0, 255)


def _nip_text(rng: np.random.Generator, nip: str, *, prefix: bool = False) -> str:
    """The NIP as stamps print it: plain, or grouped 3-3-2-2."""
    if len(nip) == 10 and rng.random() < 0.5:
        nip = f"{nip[:3]}-{nip[3:6]}-{nip[6:8]}-{nip[8:]}"
    return f"NIP {nip}" if prefix else nip


def _city(address: str | None) -> str:
    """The town of an address like `ul. Źródlana 17/4, 90-418 Łódź`, or "" without one."""
    if not address:
        return ""
    last = address.rsplit(",", 1)[-1].strip()
    return last.split(" ", 1)[1] if last[:2].isdigit() and " " in last else last


def _fitting_font(file: str, text: str, width: float, line_height: float) -> ImageFont.FreeTypeFont:
    """The largest size of `file` at which `text` fits `width` in a line of `line_height`."""
    size = int(line_height * 0.8)
    while size > 6 and font(file, size).getlength(text) > width:
        size -= 1
    return font(file, size)


def _set_around(
    image: Image.Image, text: str, centre: float, baseline_r: float, cap: float
) -> None:
    """`text` round a circle, clockwise from the top, letter tops outwards, spread to fill
    most of the ring."""
    size = max(8, round(cap / 0.73))
    face = font(BOLD, size)
    while size > 8 and face.getlength(text) > baseline_r * np.radians(330):
        size -= 1
        face = font(BOLD, size)
    natural = face.getlength(text) / baseline_r
    span = max(natural, np.radians(300))
    spacing = (span - natural) / max(len(text) - 1, 1)
    theta = -span / 2
    for ch in text:
        advance = face.getlength(ch) / baseline_r
        middle = theta + advance / 2
        if not ch.isspace():
            tile, (ox, oy) = glyph(face, ch, -np.degrees(middle))
            # The letter's origin sits on the circle where its left end is, turned with it.
            x = centre + baseline_r * np.sin(theta)
            y = centre - baseline_r * np.cos(theta)
            image.paste(tile, (round(x - ox), round(y - oy)), tile)
        theta += advance + spacing


def _set_centred(
    pen: ImageDraw.ImageDraw, lines: list[str], cx: float, cy: float, width: float, cap: float
) -> None:
    line_height = cap * 1.45
    top = cy - line_height * len(lines) / 2
    for i, line in enumerate(lines):
        face = _fitting_font(BOLD, line, width, line_height)
        pen.text((cx, top + (i + 0.5) * line_height), line, 255, face, anchor="mm")
