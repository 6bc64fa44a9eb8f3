"""What people do to a printed form with a pen: sign it, tick a box, cross out and write in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from documents import layout
from documents.layout import Box
from documents.simulate.paper import Paper
from documents.simulate.pen import (
    Stroke,
    catmull_rom,
    draw,
    pen_colour,
    pressure_widths,
    smooth_noise,
    write,
)

# A printed value is toner darker than this (0–255 grey); pen and paper are lighter.
PRINTED_INK_LEVEL = 110
LETTER_SAMPLES = 36


def sign(
    paper: Paper, rng: np.random.Generator, box: Box = layout.SIGNATURE, colour: str | None = None
) -> None:
    """A handwritten signature in `box`: a capital, cursive letters, sometimes a flourish.

    It covers 40–90 % of the box's width and 25–70 % of its height and may cross the box's
    edge a little. `colour` is `blue` or `black`; None lets `rng` choose (mostly blue).
    """
    draw(paper, rng, signature_strokes(rng, box), pen_colour(rng, colour), rng.uniform(0.85, 0.97))


def signature_strokes(rng: np.random.Generator, box: Box) -> list[Stroke]:
    """The pen movements of one signature, placed in `box` (millimetres)."""
    paths = _signature_paths(rng)
    slant = np.tan(np.radians(rng.uniform(5, 35)))
    tilt = np.radians(rng.uniform(-7, 7))
    turned = []
    for path in paths:
        x = path[:, 0] + slant * path[:, 1]
        y = path[:, 1]
        turned.append(
            np.column_stack(
                [x * np.cos(tilt) - y * np.sin(tilt), x * np.sin(tilt) + y * np.cos(tilt)]
            )
        )
    every = np.vstack(turned)
    low, high = every.min(axis=0), every.max(axis=0)
    width, height = _signature_size(rng, box, float((high - low)[1] / (high - low)[0]))
    left = rng.uniform(box.x - 0.04 * box.w, box.right - width + 0.04 * box.w)
    top = rng.uniform(box.y - 0.08 * box.h, box.bottom - height + 0.08 * box.h)
    scale = np.array([width, height]) / np.maximum(high - low, 1e-6)
    nib = rng.uniform(0.35, 0.6)
    strokes = []
    for path in turned:
        # The drawing is y-up (as letters are thought of); the page is y-down.
        points = np.column_stack(
            [left + (path[:, 0] - low[0]) * scale[0], top + (high[1] - path[:, 1]) * scale[1]]
        )
        strokes.append(Stroke(points, pressure_widths(rng, len(points), nib)))
    return strokes


def _signature_size(rng: np.random.Generator, box: Box, aspect: float) -> tuple[float, float]:
    """Width and height (mm): 40–90 % of the box's width, 25–70 % of its height, and not
    squashed or stretched beyond what a hand does to its own signature."""
    width = rng.uniform(0.4, 0.9) * box.w
    height = float(np.clip(width * aspect * rng.uniform(0.7, 1.4), 0.25 * box.h, 0.7 * box.h))
    width = float(np.clip(height / aspect * rng.uniform(0.8, 1.25), 0.4 * box.w, 0.9 * box.w))
    return width, height


def _signature_paths(rng: np.random.Generator) -> list[np.ndarray]:
    """Pen paths in letter units (x-height 1, y up): one per word, then maybe a flourish."""
    words = 1 if rng.random() < 0.4 else 2
    paths = []
    x = 0.0
    for word in range(words):
        letters = int(rng.integers(2, 5)) if word < words - 1 else int(rng.integers(4, 9))
        path = _cursive_word(rng, letters)
        path[:, 0] += x - path[0, 0]
        paths.append(path)
        x = float(path[:, 0].max()) + rng.uniform(0.6, 1.6)
    if rng.random() < 0.6:
        flourish = _flourish(rng, paths[-1][-1], float(paths[0][:, 0].min()))
        if rng.random() < 0.5:
            paths[-1] = np.vstack([paths[-1], flourish[1:]])
        else:
            paths.append(flourish)
    return paths


def _cursive_word(rng: np.random.Generator, letters: int) -> np.ndarray:
    """A capital and `letters` joined letters, as a trochoid whose loops vary from letter to letter.

    Each letter is one turn of t: x moves on by a·(t/2π + k·sin t/4), y = h·(1 − cos t)/2.
    With k above 2/π the pen runs backwards at the top of the turn and draws a loop (`l`, `e`);
    below −2/π the loop is at the baseline; in between it is an arch (`n`, `u`); a negative h
    reaches below the line (`g`, `y`).
    """
    turns = letters + 1
    t = np.linspace(0, 2 * np.pi * turns, turns * LETTER_SAMPLES)
    turn = np.minimum((t // (2 * np.pi)).astype(int), turns - 1)
    advance = rng.uniform(0.6, 1.3, turns)
    loop = rng.choice([1.5, -1.3, 0.5, -0.4], turns, p=[0.35, 0.15, 0.3, 0.2])
    loop = loop * rng.uniform(0.8, 1.3, turns)
    height = rng.choice([1.0, 2.3, -1.6], turns, p=[0.6, 0.28, 0.12]) * rng.uniform(
        0.75, 1.2, turns
    )
    # The capital: tall, wide and looped.
    advance[0] = rng.uniform(1.1, 1.8)
    loop[0] = rng.uniform(1.6, 2.4)
    height[0] = rng.uniform(2.6, 3.6)
    # Handwriting shrinks and loosens towards the end of a word.
    height *= np.linspace(1, rng.uniform(0.55, 1), turns)
    phase = t - 2 * np.pi * turn
    start = np.r_[0, np.cumsum(advance)][turn]
    x = start + advance[turn] * phase / (2 * np.pi) + loop[turn] * advance[turn] * np.sin(phase) / 4
    y = height[turn] * (1 - np.cos(phase)) / 2
    # A little wobble and a second harmonic, so that no two letters share a shape.
    y = y + 0.12 * np.abs(height[turn]) * np.sin(2 * phase + rng.uniform(0, 6.3, turns)[turn])
    y = y + 0.25 * smooth_noise(rng, len(t), turns)
    lead_in = catmull_rom(
        np.array([[-rng.uniform(0.2, 0.6), rng.uniform(-0.3, 0.5)], [-0.1, 0.05], [0.0, 0.0]]), 10
    )
    return np.vstack([lead_in[:-1], np.column_stack([x, y])])


def _flourish(rng: np.random.Generator, end: np.ndarray, start_x: float) -> np.ndarray:
    """A sweep from the signature's last letter back under (or through) the whole of it."""
    under = rng.uniform(-1.6, -0.3)
    through = np.array(
        [
            end,
            end + np.array([rng.uniform(0.3, 1.0), rng.uniform(-0.8, 0.5)]),
            [end[0] - rng.uniform(1, 3), under],
            [start_x + rng.uniform(-0.5, 1.5), under + rng.uniform(-0.5, 0.3)],
        ]
    )
    return catmull_rom(through, 20)


def tick_no_stamp(paper: Paper, rng: np.random.Generator, colour: str | None = None) -> None:
    """A hand-drawn tick (or a cross) in the "no company stamp" box, overshooting a little."""
    draw(paper, rng, tick_strokes(rng, layout.NO_STAMP_TICK), pen_colour(rng, colour), 0.92)


def tick_strokes(rng: np.random.Generator, box: Box) -> list[Stroke]:
    """A tick, down and then long up to the right (three times in four), or else a cross."""
    nib = rng.uniform(0.35, 0.55)

    def corner(u: float, v: float) -> list[float]:
        jitter = rng.normal(0, 0.06, 2)
        return [box.x + (u + jitter[0]) * box.w, box.y + (v + jitter[1]) * box.h]

    if rng.random() < 0.75:
        paths = [catmull_rom(np.array([corner(0.1, 0.45), corner(0.4, 0.85), corner(1.15, -0.25)]))]
    else:
        paths = [
            catmull_rom(np.array([corner(0.05, 0.05), corner(0.5, 0.5), corner(0.95, 0.95)])),
            catmull_rom(np.array([corner(0.95, 0.05), corner(0.5, 0.5), corner(0.05, 0.95)])),
        ]
    return [Stroke(path, pressure_widths(rng, len(path), nib)) for path in paths]


def cross_out_and_write(
    paper: Paper, rng: np.random.Generator, field: str, new_text: str, colour: str | None = None
) -> None:
    """An alteration: one or two pen lines through the printed value of `field`, and the new
    value written by hand above it or after it.

    `field` is a key of `layout.FIELD_BOXES` (`new_registrant.id_number`, `domains`…).
    """
    box = layout.FIELD_BOXES[field]
    ink = pen_colour(rng, colour)
    value = printed_value(paper, box)
    nib = rng.uniform(0.35, 0.6)
    strokes = []
    for middle in value.lines:
        for _ in range(int(rng.integers(1, 3))):
            strokes.append(_strike(rng, value.left, value.right, middle + rng.normal(0, 0.25), nib))
    draw(paper, rng, strokes, ink, 0.92)
    cap_height = rng.uniform(2.6, 3.4)
    room_after = box.right - value.right - 3
    if room_after > len(new_text) * cap_height * 0.75 and rng.random() < 0.4:
        baseline = value.lines[-1] + cap_height * 0.6
        write(paper, rng, new_text, value.right + rng.uniform(2, 4), baseline, cap_height, ink)
    else:
        x = value.left + rng.uniform(-1, min(8, max(0, value.right - value.left - 10)))
        write(paper, rng, new_text, x, value.top - rng.uniform(0.3, 0.8), cap_height, ink)


def write_in(
    paper: Paper, rng: np.random.Generator, field: str, text: str, colour: str | None = None
) -> None:
    """Handwriting added to `field`'s box: into an empty (`—`) value or after a printed one."""
    box = layout.FIELD_BOXES[field]
    value = printed_value(paper, box)
    cap_height = rng.uniform(2.6, 3.6)
    # On the printed line, sitting a little low as writing next to print does.
    baseline = min(value.lines[-1] + cap_height * rng.uniform(0.5, 0.8), box.bottom + 0.5)
    ink = pen_colour(rng, colour)
    write(paper, rng, text, value.right + rng.uniform(1.5, 4), baseline, cap_height, ink)


def _strike(rng: np.random.Generator, left: float, right: float, y: float, nib: float) -> Stroke:
    """One pen line through a value: a little longer than it, slightly sloped and wavy."""
    x0 = left - rng.uniform(0.5, 2.5)
    x1 = right + rng.uniform(0.5, 2.5)
    slope = rng.uniform(-0.6, 0.6)
    knots = np.linspace(0, 1, 5)
    through = np.column_stack(
        [x0 + knots * (x1 - x0), y + knots * slope + rng.normal(0, 0.15, len(knots))]
    )
    path = catmull_rom(through, 24)
    return Stroke(path, pressure_widths(rng, len(path), nib))


@dataclass(frozen=True)
class PrintedValue:
    """Where a printed value sits in its box, in page millimetres."""

    left: float
    right: float
    top: float
    lines: list[float]  # the middle of each line's lower-case letters


def printed_value(paper: Paper, box: Box) -> PrintedValue:
    """Where the printed value in `box` is; an empty box gives its left edge and middle."""
    x0, y0, x1, y1 = paper.box_px(box)
    printed = paper.pixels[y0:y1, x0:x1].min(axis=2) < PRINTED_INK_LEVEL
    columns = np.flatnonzero(printed.any(axis=0))
    rows = np.flatnonzero(printed.any(axis=1))
    if len(columns) == 0:
        return PrintedValue(box.x, box.x, box.y, [box.centre[1]])
    to_mm = 1 / paper.mm_to_px(1)
    # Text lines are runs of inked rows; accents sit a hair above their letters, so only a
    # clear gap separates two lines, and a run too short to be a line is an accent or a dash.
    breaks = np.flatnonzero(np.diff(rows) * to_mm > 0.5)
    starts, ends = np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]] + 1
    weight = printed.sum(axis=1).astype(np.float64)
    middles = []
    for start, end in zip(starts, ends, strict=True):
        if (end - start) * to_mm >= 1.2 or len(starts) == 1:
            # The densest rows are the x-height band: a line through a value goes there.
            centre = np.average(np.arange(start, end), weights=weight[start:end])
            middles.append(box.y + (centre + 0.5) * to_mm)
    return PrintedValue(
        left=box.x + columns[0] * to_mm,
        right=box.x + (columns[-1] + 1) * to_mm,
        top=box.y + rows[0] * to_mm,
        lines=middles or [box.centre[1]],
    )
