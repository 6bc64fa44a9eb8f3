"""A ballpoint pen: smooth strokes of varying width and pressure, and handwritten letters."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from documents.simulate.lettering import font, glyph
from documents.simulate.paper import Paper, apply_ink

# Ballpoint ink as it looks on paper, RGB: a few blues and near-blacks.
PEN_COLOURS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "blue": ((28, 46, 140), (20, 40, 120), (40, 52, 165), (30, 35, 105)),
    "black": ((30, 30, 38), (45, 45, 50), (25, 28, 45)),
}
HANDWRITING_FONTS = (
    "DejaVuSerif-Italic.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSansCondensed-Oblique.ttf",
)
# Drawn this many times finer than the paper and averaged down: smooth edges, fractional widths.
SUPERSAMPLE = 3


@dataclass(frozen=True)
class Stroke:
    """One pen-down movement: points in page millimetres and the line's width at each point."""

    points: np.ndarray  # (n, 2): x, y in mm from the page's top-left corner
    widths: np.ndarray  # (n,): mm


def pen_colour(rng: np.random.Generator, colour: str | None = None) -> np.ndarray:
    """An ink colour: `blue` or `black`, or either when None (blue is the usual pen)."""
    name = colour or ("blue" if rng.random() < 0.7 else "black")
    choices = PEN_COLOURS[name]
    base = np.asarray(choices[rng.integers(len(choices))], dtype=np.float32)
    return np.clip(base + rng.normal(0, 6, 3), 0, 255)


def catmull_rom(points: np.ndarray, samples: int = 16) -> np.ndarray:
    """A smooth curve through every one of `points` (uniform Catmull-Rom), `samples` a span."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 2:
        return pts
    padded = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    pieces = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        pieces.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                + (3 * p1 - p0 - 3 * p2 + p3) * t3
            )
        )
    pieces.append(pts[-1:])
    return np.vstack(pieces)


def smooth_noise(rng: np.random.Generator, n: int, knots: int) -> np.ndarray:
    """`n` values in about [-1, 1] that wander smoothly: random values at `knots`, interpolated."""
    values = rng.uniform(-1, 1, max(knots, 2))
    return np.interp(np.linspace(0, len(values) - 1, n), np.arange(len(values)), values)


def pressure_widths(rng: np.random.Generator, n: int, nib_mm: float) -> np.ndarray:
    """Widths along a stroke: pressure wanders, and the pen lands and lifts lightly."""
    pressure = 1 + 0.3 * smooth_noise(rng, n, max(3, n // 40))
    ramp = np.minimum(1, np.minimum(np.arange(n) + 1, n - np.arange(n)) / max(3, n * 0.06))
    widths = nib_mm * pressure * (0.5 + 0.5 * ramp)
    return np.clip(widths, 0.25, 0.8)


def draw(
    paper: Paper,
    rng: np.random.Generator,
    strokes: list[Stroke],
    colour: np.ndarray,
    opacity: float = 0.9,
) -> None:
    """Ink `strokes` onto `paper`: anti-aliased, with the grain of a ballpoint line."""
    if not strokes:
        return
    ppm = paper.mm_to_px(1)
    every = np.vstack([s.points for s in strokes]) * ppm
    margin = int(np.ceil(max(float(s.widths.max()) for s in strokes) * ppm)) + 3
    x0 = int(np.floor(every[:, 0].min())) - margin
    y0 = int(np.floor(every[:, 1].min())) - margin
    x1 = int(np.ceil(every[:, 0].max())) + margin
    y1 = int(np.ceil(every[:, 1].max())) + margin
    k = SUPERSAMPLE
    canvas = np.zeros(((y1 - y0) * k, (x1 - x0) * k), dtype=np.uint8)
    for stroke in strokes:
        _draw_stroke(canvas, (stroke.points * ppm - (x0, y0)) * k, stroke.widths * ppm * k, rng)
    coverage = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    apply_ink(paper, ink_grain(rng, coverage) * opacity, x0, y0, colour)


def _draw_stroke(
    canvas: np.ndarray, points: np.ndarray, widths: np.ndarray, rng: np.random.Generator
) -> None:
    # The darkness follows pressure too: a light touch leaves a paler, thinner line.
    shade = np.clip(185 + 70 * widths / max(float(widths.max()), 1e-6), 0, 255)
    shade = shade * (1 - 0.12 * np.abs(smooth_noise(rng, len(points), max(2, len(points) // 25))))
    pts = np.round(points).astype(np.int32)
    for i in range(len(pts) - 1):
        cv2.line(
            canvas,
            (int(pts[i, 0]), int(pts[i, 1])),
            (int(pts[i + 1, 0]), int(pts[i + 1, 1])),
            int(shade[i]),
            thickness=max(1, round(float(widths[i]))),
            lineType=cv2.LINE_AA,
        )


def ink_grain(rng: np.random.Generator, coverage: np.ndarray) -> np.ndarray:
    """Coverage 0–1 from uint8 `coverage`, with the uneven take-up of ink on paper fibres."""
    grain = cv2.GaussianBlur(rng.uniform(0.85, 1.0, coverage.shape).astype(np.float32), (0, 0), 0.8)
    return np.asarray(coverage, dtype=np.float32) / 255.0 * grain


def write(
    paper: Paper,
    rng: np.random.Generator,
    text: str,
    x_mm: float,
    baseline_mm: float,
    cap_height_mm: float,
    colour: np.ndarray,
) -> float:
    """Write `text` by hand from (x_mm, baseline_mm); returns where the writing ends (mm).

    Each letter is set in an italic font and then moved, tilted and resized a little on its
    own, as no hand repeats a letter exactly.
    """
    ppm = paper.mm_to_px(1)
    file = HANDWRITING_FONTS[rng.integers(len(HANDWRITING_FONTS))]
    # DejaVu's capitals are 0.73 em tall.
    size_px = max(8, round(cap_height_mm * ppm / 0.73))
    pad = size_px
    width = int(sum(font(file, size_px).getlength(ch) for ch in text) * 1.2) + 2 * pad
    canvas = Image.new("L", (width, 3 * size_px), 0)
    baseline = 2 * size_px
    x = float(pad)
    slant = rng.uniform(-4, 4)
    drift = 0.04 * size_px * smooth_noise(rng, len(text), max(2, len(text) // 4))
    for i, ch in enumerate(text):
        face = font(file, max(6, round(size_px * rng.uniform(0.94, 1.06))))
        if not ch.isspace():
            tile, (ox, oy) = glyph(face, ch, slant + rng.uniform(-4, 4))
            dx = round(x - ox + rng.normal(0, 0.03) * size_px)
            dy = round(baseline - oy + drift[i] + rng.normal(0, 0.02) * size_px)
            canvas.paste(tile, (dx, dy), tile)
        x += face.getlength(ch) * rng.uniform(0.95, 1.1)
    # A ballpoint draws every part of a letter about equally thick, unlike a font's hairlines.
    nib = max(1, round(0.15 * ppm))
    pen_tip = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (nib, nib))
    coverage = cv2.GaussianBlur(cv2.dilate(np.asarray(canvas), pen_tip), (0, 0), 0.5)
    x0 = round(x_mm * ppm) - pad
    y0 = round(baseline_mm * ppm) - baseline
    apply_ink(paper, ink_grain(rng, coverage) * rng.uniform(0.85, 0.97), x0, y0, colour)
    return x_mm + (x - pad) / ppm
