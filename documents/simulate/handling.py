"""What handling does to a sheet before and while it is scanned: show-through, holes, staples, feed.

show_through  the back of a thin sheet printed on both sides, seen through it, mirrored
punch_holes   two (or four) filing holes at the left edge, the scanner's backing seen through
staple        a staple in the top-left corner, or the two holes of one pulled out
fed_unevenly  a sheet feeder that moves the page slower than the sensor expects: the image
              comes out 1–2 % longer along the feed
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from documents.simulate.capture import Capture
from documents.simulate.paper import Paper

# ISO 838: holes 6 mm across, centres 12 mm from the edge and 80 mm apart, about the middle.
HOLE_DIAMETER_MM = 6.0
HOLE_EDGE_MM = 12.0
HOLE_PITCH_MM = 80.0
STAPLE_LENGTH_MM = 12.0


def show_through(paper: Paper, back: Paper, rng: np.random.Generator) -> None:
    """Darken `paper` where `back` (the other side, as printed) has ink: mirrored left to right,
    diffused by the paper (blurred by 0.15–0.35 mm) and at 6–18 % of its strength, as thin
    (70–80 g/m²) office paper lets it through on a scanner with its lid closed."""
    if back.pixels.shape != paper.pixels.shape:
        raise ValueError("the back must be printed at the sheet's size and resolution")
    grey = cv2.cvtColor(back.pixels, cv2.COLOR_RGB2GRAY)
    mirrored = (255.0 - np.fliplr(grey).astype(np.float32)) / 255.0
    ink = cv2.GaussianBlur(mirrored, (0, 0), paper.mm_to_px(rng.uniform(0.15, 0.35)))
    strength = rng.uniform(0.06, 0.18)
    through = 1.0 - strength * ink
    paper.pixels[...] = np.clip(paper.pixels * through[..., None] + 0.5, 0, 255).astype(np.uint8)


def punch_holes(paper: Paper, rng: np.random.Generator) -> None:
    """Filing holes along the left edge (two, now and then four, a hole punch's guide a few
    millimetres off), showing the scanner's backing: the white lid or a dark feeder roller,
    with the hole's rim casting a thin shadow."""
    height_mm = paper.pixels.shape[0] / paper.dpi * 25.4
    middle = height_mm / 2 + rng.normal(0, 3)
    edge = HOLE_EDGE_MM + rng.normal(0, 1)
    offsets = (-1.5, -0.5, 0.5, 1.5) if rng.random() < 0.2 else (-0.5, 0.5)
    backing = int(rng.integers(230, 256)) if rng.random() < 0.5 else int(rng.integers(20, 90))
    radius = paper.mm_to_px(HOLE_DIAMETER_MM / 2)
    for offset in offsets:
        centre = (
            round(paper.mm_to_px(edge)),
            round(paper.mm_to_px(middle + offset * HOLE_PITCH_MM)),
        )
        cv2.circle(paper.pixels, centre, round(radius + paper.mm_to_px(0.3)), (90, 90, 90), -1)
        cv2.circle(paper.pixels, centre, round(radius), (backing,) * 3, -1)


def staple(paper: Paper, rng: np.random.Generator) -> None:
    """A staple through the top-left corner, 4–12 mm in, at about 45° (or along the top edge):
    metal, dark with a bright ridge and a shadow; a third of the time it has been pulled out
    and only its two holes, with torn rims, are left."""
    angle = np.deg2rad(rng.normal(-45, 8) if rng.random() < 0.8 else rng.normal(0, 4))
    centre = np.array([paper.mm_to_px(rng.uniform(4, 12)), paper.mm_to_px(rng.uniform(4, 12))])
    half = paper.mm_to_px(STAPLE_LENGTH_MM / 2) * np.array([np.cos(angle), -np.sin(angle)])
    ends = [np.round(centre - half).astype(int), np.round(centre + half).astype(int)]
    width = max(2, round(paper.mm_to_px(0.7)))
    if rng.random() < 1 / 3:
        for end in ends:
            cv2.circle(paper.pixels, tuple(end.tolist()), max(1, width // 2 + 1), (70, 70, 70), -1)
        return
    shadow = [end + round(paper.mm_to_px(0.4)) for end in ends]
    cv2.line(paper.pixels, tuple(shadow[0].tolist()), tuple(shadow[1].tolist()), (150,) * 3, width)
    cv2.line(paper.pixels, tuple(ends[0].tolist()), tuple(ends[1].tolist()), (60, 62, 66), width)
    ridge = max(1, width // 3)
    cv2.line(paper.pixels, tuple(ends[0].tolist()), tuple(ends[1].tolist()), (200, 202, 206), ridge)


def fed_unevenly(capture: Capture, rng: np.random.Generator) -> Capture:
    """`capture` (a sheet-feeder scan) 1–2 % longer along the feed, top to bottom, at the
    same resolution tag: the rollers moved the page slower than the sensor was told."""
    stretch = rng.uniform(1.01, 1.02)
    width, height = capture.size
    image = cv2.resize(
        capture.image, (width, round(height * stretch)), interpolation=cv2.INTER_LINEAR
    )
    return replace(capture, image=image)
