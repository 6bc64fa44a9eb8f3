"""The printed case number read where a fold moved it: character by character, along the line.

A sheet folded and unfolded shifts a band of the page along its crease: the case number steps
up or down by millimetres, slants, and leaves the box the layout gives it, where tesseract and
`fields.read_case_number` look for it. The number is monospaced, so each character is looked
for one step to the right of the one before, where it lies (the line as it went so far, as it
was printed, and where the layout puts it): in the font's own shapes, upright or sheared the
ways a crease shears a band of the page. Unsure places keep their likeliest characters, for
the caller to try against the cases that exist.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from documents.layout import Box
from documents.page_code import CASE_ID_ALPHABET
from documents.render import PrintedLine, case_number_line, case_number_text
from ocr.align import Alignment
from ocr.glyphs import DIGITS, MIN_LIKENESS, MIN_MARGIN

_DPI = 200.0
_PX_PER_MM = _DPI / 25.4
_TEXT = case_number_text("CS-0000-0000", 1, 1)
# The id's places in "CS-XXXX-XXXX  wersja N  strona P/2", the version's and the page's.
_ID_PLACES = (3, 4, 5, 6, 8, 9, 10, 11)
_VERSION_PLACE = _TEXT.index("wersja ") + len("wersja ")
_PAGE_PLACE = _TEXT.rindex("/") - 1
# How far from where the layout puts it the line is looked for (mm, across and down): a fold
# moves a band of the page by up to 7 mm, and the markers it moved skew the alignment too.
_ROOM_MM = (10.0, 8.0)
# How far one character may lie from where the one before says it should (a fraction of the
# character's advance, and mm): a crease across the line moves it step by step.
_STEP_ROOM = (0.3, 1.2)
# A crease shears the band around it along its own direction, by up to half its width either
# way (augraphy's folds: a shift of 1-2 % of the page over 5-10 %): (direction, amount).
_UPRIGHT = (0.0, 0.0)
_SHEARS = (
    _UPRIGHT,
    *((angle, amount) for angle in (0.0, 45.0, 90.0, 135.0) for amount in (-0.5, -0.25, 0.25, 0.5)),
)
# The likeliest places of "CS-" followed, as long as none fits this well, and how alike a
# place must be to be one of them.
_STARTS = 3
_FOLLOWED_WELL = 0.75
_MIN_START_LIKENESS = 0.35
# Upright shapes this alike, and this far ahead of the next, need no sheared ones.
_CLEAR_LIKENESS = 0.8
_CLEAR_MARGIN = 0.15
# A place read less surely than glyphs.MIN_LIKENESS and MIN_MARGIN keeps its likeliest few.
_ALTERNATIVES = 3
_MAX_CASE_IDS = 16


@dataclass(frozen=True)
class FollowedNumber:
    """The printed case number as read along its line: for each of the id's eight places the
    characters it may be, likeliest first (one where the shapes were sure); the form version
    and the page where they were sure."""

    places: tuple[tuple[str, ...], ...]
    version: int | None
    page: int | None

    @property
    def sure(self) -> bool:
        """Every place of the id, the version and the page read surely."""
        return all(len(p) == 1 for p in self.places) and bool(self.version) and bool(self.page)

    def case_ids(self) -> list[str]:
        """The case ids the line may print, likeliest first (a bounded number of them)."""
        ids = []
        for chosen in itertools.islice(_likeliest_first(self.places), _MAX_CASE_IDS):
            ids.append(f"CS-{''.join(chosen[:4])}-{''.join(chosen[4:])}")
        return ids


def _likeliest_first(places: tuple[tuple[str, ...], ...]) -> list[tuple[str, ...]]:
    """Every choice of one character a place, fewest second choices first."""
    choices = itertools.product(*(range(len(p)) for p in places))
    ranked = sorted(choices, key=lambda ranks: (sum(ranks), max(ranks, default=0)))
    return [tuple(p[r] for p, r in zip(places, ranks, strict=True)) for ranks in ranked]


@cache
def _line() -> PrintedLine:
    """Where each character of a case number is printed (the font's metrics, loaded once)."""
    return case_number_line(_TEXT)


def follow_case_number(gray: np.ndarray, alignment: Alignment) -> FollowedNumber | None:
    """The case number under the title, followed character by character from its "CS-";
    None when nothing like "CS-" is near where the layout puts it.

    Where a crease bends the "CS-" itself, another place may look as much like it: each of
    the likeliest is followed, and the line whose printed letters ("wersja", "strona", the
    dashes) fit best is the one read.
    """
    line = _line()
    first, last = line.characters[0], line.characters[-1]
    across, down = _ROOM_MM
    region = Box(first.x - across, first.y - down, last.right - first.x + 2 * across,
                 first.h + 2 * down)  # fmt: skip
    blur = round(_DPI / 300, 2)
    image = cv2.GaussianBlur(alignment.warp(gray, region, _PX_PER_MM), (0, 0), blur)
    shapes = _Shapes(line.font_file, round(line.size_pt / 72 * _DPI), blur)
    best: tuple[float, FollowedNumber] | None = None
    for start in shapes.find(image, "CS-", _STARTS):
        fit, number = _follow(image, shapes, start)
        if best is None or fit > best[0]:
            best = (fit, number)
        if fit >= _FOLLOWED_WELL:
            break
    return None if best is None else best[1]


def _follow(
    image: np.ndarray, shapes: _Shapes, origin: tuple[float, float]
) -> tuple[float, FollowedNumber]:
    """The line read from the "CS-" at `origin`, and how well its printed letters fit (their
    mean likeness)."""
    characters = _line().characters
    advance = (characters[1].x - characters[0].x) * _PX_PER_MM
    found: dict[int, tuple[float, float]] = {0: origin}
    last_found, step = 0, (advance, 0.0)
    read: dict[int, list[tuple[float, str]]] = {}
    printed: list[float] = []
    text = _TEXT
    for place in range(1, len(text)):
        if text[place] == " ":
            continue
        before = found[last_found]
        gap = place - last_found
        guesses = (
            (before[0] + step[0] * gap, before[1] + step[1] * gap),  # as the line goes
            (before[0] + advance * gap, before[1]),  # as it was printed
            (origin[0] + advance * place, origin[1]),  # as the layout puts it
        )
        likeness = shapes.near(image, _alphabet(place), guesses, advance)
        best_score, best_at = max(likeness.values())
        if place in _ID_PLACES or place in (_VERSION_PLACE, _PAGE_PLACE):
            read[place] = sorted(((score, ch) for ch, (score, _) in likeness.items()), reverse=True)
        else:
            printed.append(best_score)
        if best_score >= MIN_LIKENESS:
            moved = ((best_at[0] - before[0]) / gap, (best_at[1] - before[1]) / gap)
            step = ((step[0] + moved[0]) / 2, (step[1] + moved[1]) / 2)
            found[place], last_found = best_at, place
    number = FollowedNumber(
        places=tuple(_characters(read[place]) for place in _ID_PLACES),
        version=_digit(read[_VERSION_PLACE], "123456789"),
        page=_digit(read[_PAGE_PLACE], "12"),
    )
    return float(np.mean(printed)), number


def _alphabet(place: int) -> str:
    if place in _ID_PLACES:
        return CASE_ID_ALPHABET
    if place in (_VERSION_PLACE, _PAGE_PLACE):
        return DIGITS
    return _TEXT[place]


def _characters(scores: list[tuple[float, str]]) -> tuple[str, ...]:
    """What a place may hold: the one character its shapes were sure of, or its likeliest."""
    (best, character), (second, _) = scores[0], scores[1]
    if best >= MIN_LIKENESS and best - second >= MIN_MARGIN:
        return (character,)
    return tuple(ch for _, ch in scores[:_ALTERNATIVES])


def _digit(scores: list[tuple[float, str]], allowed: str) -> int | None:
    (best, character), (second, _) = scores[0], scores[1]
    if best < MIN_LIKENESS or best - second < MIN_MARGIN or character not in allowed:
        return None
    return int(character)


class _Shapes:
    """The font's characters at the line's size, upright and sheared, matched near a place."""

    def __init__(self, font_file: Path, size_px: int, blur: float):
        self.font_file, self.size_px, self.blur = font_file, size_px, blur

    def find(self, image: np.ndarray, text: str, count: int) -> list[tuple[float, float]]:
        """Where `text` may be printed in `image` (its origin), likeliest first: the `count`
        best places over every shear, half a character apart at least, alike enough."""
        apart = self.size_px // 2
        peaks: list[tuple[float, float, float]] = []
        for shear in _SHEARS:
            shape, (dx, dy) = _shape(self.font_file, self.size_px, self.blur, text, shear)
            if shape.shape[0] > image.shape[0] or shape.shape[1] > image.shape[1]:
                continue
            fit = cv2.matchTemplate(image, shape, cv2.TM_CCOEFF_NORMED)
            for _ in range(count):
                _, score, _, (x, y) = cv2.minMaxLoc(fit)
                if score < _MIN_START_LIKENESS:
                    break
                peaks.append((float(score), float(x - dx), float(y - dy)))
                fit[max(0, y - apart) : y + apart + 1, max(0, x - apart) : x + apart + 1] = -1.0
        starts: list[tuple[float, float]] = []
        for _, px, py in sorted(peaks, reverse=True):
            if len(starts) < count and all(
                abs(px - sx) > apart or abs(py - sy) > apart for sx, sy in starts
            ):
                starts.append((px, py))
        return starts

    def near(
        self,
        image: np.ndarray,
        alphabet: str,
        guesses: tuple[tuple[float, float], ...],
        advance: float,
    ) -> dict[str, tuple[float, tuple[float, float]]]:
        """For each character of `alphabet`: how alike it is to what lies near any of
        `guesses` (an origin each), and the origin where it is most alike. Sheared shapes
        are tried only where the upright ones leave the place unsure."""
        room_x, room_y = round(_STEP_ROOM[0] * advance), round(_STEP_ROOM[1] * _PX_PER_MM)
        distinct: list[tuple[float, float]] = []
        for guess in guesses:
            if all(abs(guess[0] - x) + abs(guess[1] - y) > 2 for x, y in distinct):
                distinct.append(guess)
        likeness = {ch: (0.0, guesses[0]) for ch in alphabet}
        for shear in _SHEARS:
            for character in alphabet:
                shape, (dx, dy) = _shape(self.font_file, self.size_px, self.blur, character, shear)
                for gx, gy in distinct:
                    x0, y0 = round(gx + dx) - room_x, round(gy + dy) - room_y
                    x1, y1 = x0 + shape.shape[1] + 2 * room_x, y0 + shape.shape[0] + 2 * room_y
                    if x0 < 0 or y0 < 0 or x1 > image.shape[1] or y1 > image.shape[0]:
                        continue
                    match = cv2.matchTemplate(image[y0:y1, x0:x1], shape, cv2.TM_CCOEFF_NORMED)
                    _, score, _, (x, y) = cv2.minMaxLoc(match)
                    if score > likeness[character][0]:
                        likeness[character] = (float(score), (x0 + x - dx, y0 + y - dy))
            if shear == _UPRIGHT and _clear(likeness):
                break
        return likeness


def _clear(likeness: dict[str, tuple[float, tuple[float, float]]]) -> bool:
    """Whether the best character stands out at once: an unfolded part of the line."""
    scores = [*sorted((score for score, _ in likeness.values()), reverse=True), 0.0]
    return scores[0] >= _CLEAR_LIKENESS and scores[0] - scores[1] >= _CLEAR_MARGIN


@cache
def _shape(
    font_file: Path, size_px: int, blur: float, text: str, shear: tuple[float, float]
) -> tuple[np.ndarray, tuple[int, int]]:
    """`text` drawn in the font, sheared by `shear` (direction in degrees, amount) about its
    middle, cropped to its ink; and where the crop's corner lies from the text's origin."""
    face = ImageFont.truetype(str(font_file), size_px)
    canvas = Image.new("L", (size_px * (len(text) + 2), size_px * 3), 255)
    origin = (size_px, size_px)
    ImageDraw.Draw(canvas).text(origin, text, 0, face)
    pixels = np.asarray(canvas)
    angle, amount = shear
    if amount:
        along = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
        across = np.array([-along[1], along[0]])
        jacobian = np.eye(2) + amount * np.outer(along, across)
        middle = np.array([origin[0] + size_px * len(text) * 0.3, origin[1] + size_px * 0.6])
        affine = np.hstack([jacobian, (middle - jacobian @ middle)[:, None]])
        pixels = cv2.warpAffine(pixels, affine, (pixels.shape[1], pixels.shape[0]), borderValue=255)
    ys, xs = np.nonzero(pixels < 128)
    y0, y1, x0, x1 = ys.min() - 2, ys.max() + 3, xs.min() - 2, xs.max() + 3
    shape = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    if blur:
        shape = cv2.GaussianBlur(shape, (0, 0), blur)
    return shape, (int(x0) - origin[0], int(y0) - origin[1])
