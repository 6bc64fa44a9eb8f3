"""Reading printed characters one by one, against the shapes of the font they were printed in.

We printed numbers and the case number in a monospaced font we know, at a size we know, in
places we know. Each place is compared with every character the value can hold, drawn in that
font (normalised cross-correlation); the most alike is what is printed there. A run of equal
digits, which tesseract's model tends to merge ("0000" → "000"), is read place by place, and
a changed digit matches its own shape, never the expected one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

DIGITS = "0123456789"
# Below this, the place holds nothing that looks like any character of the alphabet.
MIN_LIKENESS = 0.45
# The most alike must beat the runner-up by this much to be what is printed there.
MIN_MARGIN = 0.05


@cache
def _templates(font_file: Path, size_px: int, blur: float, alphabet: str) -> dict[str, np.ndarray]:
    face = ImageFont.truetype(str(font_file), size_px)
    shapes = {}
    for digit in alphabet:
        canvas = Image.new("L", (size_px * 2, size_px * 2), 255)
        ImageDraw.Draw(canvas).text((size_px // 2, size_px // 2), digit, 0, face)
        pixels = np.asarray(canvas)
        ys, xs = np.nonzero(pixels < 128)
        glyph = pixels[ys.min() - 2 : ys.max() + 3, xs.min() - 2 : xs.max() + 3]
        shapes[digit] = cv2.GaussianBlur(glyph, (0, 0), blur) if blur else glyph
    return shapes


def likeness(
    place: np.ndarray, font_file: Path, size_pt: float, dpi: float, alphabet: str = DIGITS
) -> list[tuple[str, float]]:
    """How much the place looks like each character of `alphabet`, most alike first."""
    blur = round(dpi / 300, 2)  # a third of a tenth of a millimetre: a print's softness
    image = cv2.GaussianBlur(place, (0, 0), blur)
    size_px = round(size_pt / 72 * dpi)
    scores = []
    for digit, template in _templates(font_file, size_px, blur, alphabet).items():
        if template.shape[0] > image.shape[0] or template.shape[1] > image.shape[1]:
            scores.append((digit, 0.0))
            continue
        match = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)
        scores.append((digit, float(match.max())))
    return sorted(scores, key=lambda pair: -pair[1])


def read_character(
    place: np.ndarray, font_file: Path, size_pt: float, dpi: float, alphabet: str = DIGITS
) -> str:
    """The character of `alphabet` printed in `place`, or "?" when no one character is
    clearly it: nothing alike enough, or a runner-up within MIN_MARGIN.

    Measured on 960 digits of simulated scans and faxes (standard ones too): the printed
    digit came first every time, ahead of the next by 0.11 at the least.
    """
    (character, score), (_, second) = likeness(place, font_file, size_pt, dpi, alphabet)[:2]
    if score < MIN_LIKENESS or score - second < MIN_MARGIN:
        return "?"
    return character


def read_characters(
    line: np.ndarray,
    spans: list[tuple[int, int, str]],
    font_file: Path,
    size_pt: float,
    dpi: float,
) -> str:
    """`read_character` for several places of one line image at once: each span `(x0, x1,
    alphabet)` is the columns of one place. The line is softened once and each shape matched
    once along it; a place's likeness to a shape is the best match whose window lies within
    its columns."""
    blur = round(dpi / 300, 2)
    image = cv2.GaussianBlur(line, (0, 0), blur)
    size_px = round(size_pt / 72 * dpi)
    spans = [(x0, min(x1, image.shape[1]), chars) for x0, x1, chars in spans]
    alphabet = "".join(sorted({ch for _, _, chars in spans for ch in chars}))
    templates = _templates(font_file, size_px, blur, alphabet)
    # Each shape is matched only over the stretches of the line where a place may hold it
    # (a case number's letters are only in its id): the same scores, less line to cover.
    best: dict[str, list[tuple[int, int, np.ndarray]]] = {}
    for ch, template in templates.items():
        height, width = template.shape
        if height > image.shape[0]:
            continue
        stretches: list[list[int]] = []
        for x0, x1, chars in sorted(spans):
            if ch not in chars or x1 - x0 < width:
                continue
            if stretches and x0 <= stretches[-1][1]:
                stretches[-1][1] = max(stretches[-1][1], x1)
            else:
                stretches.append([x0, x1])
        best[ch] = []
        for x0, x1 in stretches:
            match = cv2.matchTemplate(image[:, x0:x1], template, cv2.TM_CCOEFF_NORMED)
            best[ch].append((x0, x1, match.max(axis=0)))
    read = []
    for x0, x1, chars in spans:
        scores = []
        for ch in chars:
            width = templates[ch].shape[1]
            score = 0.0
            for start, end, columns in best.get(ch, ()):
                if start <= x0 and x1 <= end and x1 - x0 >= width:
                    score = float(columns[x0 - start : x1 - width + 1 - start].max())
            scores.append(score)
        order = np.argsort(scores)[::-1]
        score, second = scores[order[0]], scores[order[1]]
        read.append("?" if score < MIN_LIKENESS or score - second < MIN_MARGIN else chars[order[0]])
    return "".join(read)


# --- a line of proportional text, confirmed glyph by glyph ---------------------------------------

# Every shape a forger could print in place of a character and still look like a letter: ASCII,
# Latin-1 and Latin Extended-A (é for e, ı for i, ŀ for l…). A value holding a character outside
# this set is not confirmed here; it goes to OCR.
LINE_ALPHABET = "".join(
    ch for ch in map(chr, [*range(0x21, 0x7F), *range(0xA1, 0x180)]) if ch.isprintable()
).replace("\xad", "")
GLYPH_LINE_DPI = 200
_SUPERSAMPLE = 4
# The printed shape must look like the place (normalised cross-correlation, 0–1)…
LINE_MIN_LIKENESS = 0.8
# …and the place must lie at least this far from it towards every shape that reads
# differently: 0.5 is the printed shape itself, 0 halfway to the other, -0.5 the other.
LINE_MIN_MARGIN = 0.15
# A shape whose width differs from the printed one's by this much (px at GLYPH_LINE_DPI) would
# push the rest of the line out of place, which the characters after it show; narrower or
# wider shapes are only compared in place at the end of the line.
_WIDTH_TOLERANCE_PX = 2.5
# How much better than the printed shape a shape of another width must fit to be taken for
# what is printed (normalised cross-correlation).
_OTHER_WIDTH_LEAD = 0.1


@dataclass(frozen=True, eq=False)  # one per font, size and resolution: hashed by identity
class _Bank:
    """Every character of LINE_ALPHABET drawn in one font at one size and resolution, at each
    quarter-pixel phase: `ink[phase, index]` is a glyph's ink (0–1) with its origin at column
    `pad`, its baseline at row `ascent`; `advance` its width in pixels."""

    ink: np.ndarray  # (phases, characters, height, width) float32
    advance: np.ndarray  # (characters,) px
    index: dict[str, int]
    pad: int
    ascent: int
    px_per_mm: float
    space: float  # a space's width, px (a space has no shape to compare)
    closing_px: int = 0  # gaps across a shape under this many rows filled (a coarse capture)
    # What is worked out from the bank is kept with it, and goes with it.
    frames: dict[int, _Frame] = field(default_factory=dict)
    clear_of: dict[tuple[str, str], bool] = field(default_factory=dict)


# A bank is 10-25 MB with its frames; values are set in a few sizes (12 pt, shrunk by half
# points where long): a worker keeps the last few it used, not every one it ever met.
@lru_cache(maxsize=6)
def _bank(font_file: Path, size_pt: float, dpi: float, closing_px: int = 0) -> _Bank:
    """The bank; with `closing_px`, every shape as a capture of coarse lines draws it: any gap
    across it under `closing_px` rows high filled (see `confirm_line`'s `lines_per_inch`)."""
    size_px = size_pt / 72 * dpi
    face = ImageFont.truetype(str(font_file), size_px * _SUPERSAMPLE)
    pad, ascent = 2, int(np.ceil(size_px * 1.05)) + 2
    height = ascent + int(np.ceil(size_px * 0.3)) + 2
    width = int(np.ceil(size_px * 1.4)) + 2 * pad
    blur = round(dpi / 300, 2)
    # Each glyph drawn once, large; each quarter-pixel phase is that drawing moved along.
    large = []
    for ch in LINE_ALPHABET:
        canvas = Image.new("L", (width * _SUPERSAMPLE, height * _SUPERSAMPLE), 0)
        origin = (pad * _SUPERSAMPLE, ascent * _SUPERSAMPLE)
        ImageDraw.Draw(canvas).text(origin, ch, 255, face, anchor="ls")
        large.append(np.asarray(canvas, np.float32) / 255)
    phases = []
    for phase in range(_SUPERSAMPLE):
        glyphs = []
        for drawn in large:
            moved = np.roll(drawn, phase, axis=1)
            small = cv2.resize(moved, (width, height), interpolation=cv2.INTER_AREA)
            if closing_px:
                small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((closing_px + 1, 1)))
            glyphs.append(cv2.GaussianBlur(small, (0, 0), blur))
        phases.append(np.stack(glyphs))
    advance = np.array([face.getlength(ch) / _SUPERSAMPLE for ch in LINE_ALPHABET], np.float32)
    index = {ch: i for i, ch in enumerate(LINE_ALPHABET)}
    space = face.getlength(" ") / _SUPERSAMPLE
    return _Bank(
        np.stack(phases), advance, index, pad, ascent, dpi / 25.4, space, closing_px=closing_px
    )


# A capture with fewer lines an inch than this share of the comparison's rows is coarse.
_COARSE_LINES = 0.75
# Gaps across a shape filled on a coarse capture, in its lines: sampled a line at a time and
# cut at about half a line's ink, a gap is filled when no line falls wholly inside it.
_CLOSED_LINES = 1.5
# Two shapes a coarse capture draws this alike (normalised cross-correlation) are one there.
_SAME_DRAWN = 0.99


def _closing(dpi: float, lines_per_inch: float | None) -> int:
    """How many rows of a shape at `dpi` a capture of `lines_per_inch` fills gaps under."""
    if lines_per_inch is None or lines_per_inch >= _COARSE_LINES * dpi:
        return 0
    return round(_CLOSED_LINES * dpi / lines_per_inch)


@dataclass(frozen=True)
class LineCheck:
    """Whether a printed line holds exactly its characters, and if not, where it first fails."""

    confirmed: bool
    reason: str = ""
    # The line as printed, where some character is clearly another shape that reads
    # differently (`é` where the case has `e`): the value is not the case's, whatever OCR says.
    contradicted: str = ""
    # Each character's margin (see LINE_MIN_MARGIN; a space: 0.5 when clear); empty when
    # something besides the line is printed in the zone.
    margins: tuple[float, ...] = ()


@dataclass(frozen=True)
class _Place:
    ch: str
    left: int  # the glyph image's first column in the crop (its origin at left + pad)
    top: int
    phase: int
    advance: int


def confirm_line(
    gray: np.ndarray,
    origin_mm: tuple[float, float],
    dpi: float,
    text: str,
    cells: tuple[tuple[float, float], ...],  # each character's left edge and baseline, mm
    font_file: Path,
    size_pt: float,
    reads_as: Callable[[str], str],
    *,
    alike: Callable[[str], str] | None = None,
    loses_strokes: bool = False,
    lines_per_inch: float | None = None,
    around: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = (),
) -> LineCheck:
    """Is `text` printed in `gray` (a crop whose top left is `origin_mm` on the page) exactly
    where the layout set it, each character its own shape and no other?

    Each character's place is compared with the shapes of LINE_ALPHABET: the printed one must
    look like it, and be clearly nearer to it than every shape that reads differently
    (`reads_as`: for names `ż` and `z` read the same; for domains, not). Nothing may be
    printed before or after the line. A line that is not confirmed is not a mismatch: it is
    read by OCR instead. Shapes that `alike` makes one are ones the capture cannot tell apart
    (on a fax an i's dot joins its stem): a place is never found to be the other one, nor
    confirmed as its own shape alone when the other reads differently. Where the capture
    `loses_strokes` (a fax drops a thin stroke: ł comes out as l), a place is found to be
    another shape only where that shape has ink the printed one does not.

    A capture of `lines_per_inch` coarser than `dpi` (a standard fax's 98) now and then fills
    a gap across a letter under about a line high (an e's opening closes into an o, an i's
    dot joins its stem), and now and then keeps it: a place not clearly its printed shape is
    compared again with every shape as such a capture draws it, gaps under about a line and a
    half filled (two shapes it draws alike are not told apart there), and is taken as the
    nearer of the two comparisons puts it.

    `around`: the value's other lines (text and cells), set a line above or below this one:
    their ink reaching into the crop is where they were set, neither the line's nor ink
    before or after it.
    """
    if not text.strip() or any(ch not in LINE_ALPHABET and ch != " " for ch in text):
        return LineCheck(False, "a character outside the shapes compared")
    bank = _bank(font_file, size_pt, dpi)
    readings = _readings(reads_as)
    scale = dpi / 25.4
    observed = cv2.GaussianBlur((255 - gray.astype(np.float32)) / 255, (0, 0), round(dpi / 300, 2))
    glyph_h, glyph_w = bank.ink.shape[2:]
    places = []
    for ch, cell in zip(text, cells, strict=True):
        left, top, phase = _where(bank, cell, origin_mm, scale)
        if top < 2 or left < 3 or top + glyph_h + 2 > observed.shape[0]:
            return LineCheck(False, "the line runs out of the zone")
        if left + glyph_w + 3 > observed.shape[1]:
            return LineCheck(False, "the line runs out of the zone")
        advance = round(float(bank.advance[bank.index[ch]]) if ch != " " else bank.space)
        places.append(_Place(ch, left, top, phase, advance))
    near = _neighbours(bank, around, origin_mm, scale)
    expected = _drawn(bank, places + near, observed.shape)
    # Set flush left, the line starts where the layout says whatever follows: its first
    # characters (or, one of them edited, its first), not the whole line, say where the
    # printing really is. Along the line further than across it: a line made longer or
    # shorter by an edit moves the zone's own fit, which is of the whole value.
    ink = [p for p in places if p.ch != " "]
    reach = (round(1.5 * scale), round(0.5 * scale))
    for anchor in (ink[min(3, len(ink) - 1)], ink[0]):
        end = anchor.left + bank.pad + anchor.advance + 2
        dx, dy, fit = _line_offset(observed, expected, end, reach)
        if fit >= LINE_MIN_LIKENESS:
            break
    if fit < LINE_MIN_LIKENESS:
        return LineCheck(False, f"the line does not look as printed ({fit:.2f})")
    observed = np.roll(observed, (-dy, -dx), axis=(0, 1))
    findings = _margins(observed, expected, bank, ink, readings)
    # Where a character is not where the layout set it, a fold may have bent the line: the
    # line as it follows the bend, where that leaves fewer characters in doubt. A bend makes
    # no character another: a shape turned with the paper is no shape of the font, and the
    # one it comes nearest says nothing; only one seen as the layout set it does. Nor does
    # a bent line say what pushed the rest along: it moves along itself.
    bent_along = False
    if any(found.margin == -0.5 and not found.rival for found in findings):
        bent = _bent(observed, bank, places)
        if bent is not None:
            bent_ink = [p for p in bent if p.ch != " "]
            bent_expected = _drawn(bank, bent + near, observed.shape)
            again = [
                _Finding(-0.5) if _clear(after) and not _clear(before) else after
                for before, after in zip(
                    findings,
                    _margins(observed, bent_expected, bank, bent_ink, readings),
                    strict=True,
                )
            ]
            if _in_doubt(again) < _in_doubt(findings):
                places, ink, expected, findings = bent, bent_ink, bent_expected, again
                bent_along = True
    start = ink[0].left + bank.pad
    end = ink[-1].left + bank.pad + ink[-1].advance
    slack = round(0.4 * scale)
    stray = observed
    if near:
        # What the shift wrapped round from the crop's far edge is no ink of this place (the
        # top rows hold the line above's); the other lines' ink, a pixel wider for the
        # capture's blur, is theirs.
        if dy:
            observed[slice(-dy, None) if dy > 0 else slice(None, -dy)] = 0
        if dx:
            observed[:, slice(-dx, None) if dx > 0 else slice(None, -dx)] = 0
        theirs = cv2.dilate(_drawn(bank, near, observed.shape), np.ones((3, 3), np.uint8))
        stray = np.maximum(observed - theirs, 0)
    outside = np.concatenate([stray[:, : start - slack], stray[:, end + slack :]], axis=1)
    # Every place is looked at, not only up to the first doubt: a place that is clearly
    # another shape decides the value, whatever OCR would make of it.
    doubt, contradicted, displaced = "", [], bent_along
    previous: int | None = None
    whole = float((outside > 0.5).sum()) <= 0.02 * scale * scale
    if not whole:
        doubt = "ink before or after the line"
    margins = [0.5] * len(places)
    closing = _closing(dpi, lines_per_inch)
    unsure = [k for k, found in enumerate(findings) if found.margin < LINE_MIN_MARGIN]
    if closing and unsure:
        closed = _bank(font_file, size_pt, dpi, closing)
        drawn = _drawn(closed, places + near, observed.shape)
        again = _margins(observed, drawn, closed, ink, readings, frozenset(unsure))
        for k, found in zip(unsure, again, strict=True):
            if found.margin > findings[k].margin and not (bent_along and _clear(found)):
                findings[k] = found
    # A neighbour's own ink may reach into a space (J's hook, ą's tail): only ink beyond the
    # line as printed, widened by a pixel for the capture's blur, counts there.
    beyond = observed - cv2.dilate(expected, np.ones((3, 3), np.uint8))
    for i, place in enumerate(places):
        if place.ch == " ":
            gap = beyond[place.top : place.top + glyph_h, place.left + bank.pad + 2 :]
            gap = gap[:, : max(0, place.advance - 3)]
            if float((gap > 0.5).sum()) > 0.005 * scale * scale:
                doubt = doubt or f"ink in the space at {i}"
                margins[i] = -0.5
            continue
        found, at = findings.pop(0), i
        if alike is not None and place.ch in _twins(alike, reads_as):
            # Never confirmed by its shape alone: at most nearer its own shape than the other.
            found = _Finding(
                min(found.margin, LINE_MIN_MARGIN / 2), found.rival, found.rival_likeness
            )
        margins[i] = found.margin
        if not found.rival and not displaced:
            # The first place that is not the printed shape where it should be: it, or the
            # one before it, may be a wider or narrower shape that pushed the rest along.
            displaced = True
            for j in (i,) if previous is None else (previous, i):
                other = _other_width(observed, expected, bank, places[j], readings)
                if other.rival:
                    found, at = other, j
                    break
        previous = i
        clear = _clear(found)
        told_apart = alike is None or alike(found.rival) != alike(places[at].ch)
        if loses_strokes and clear:
            told_apart = told_apart and _adds_ink(bank, places[at].ch, found.rival)
        if clear and told_apart:
            contradicted.append((at, found.rival))
        elif found.margin < LINE_MIN_MARGIN and not doubt:
            doubt = f"{place.ch!r} at {i} not clearly itself ({found.margin:.2f}" + (
                f", near {found.rival!r})" if found.rival else ")"
            )
    if contradicted:
        shown = list(text)
        for i, rival in contradicted:
            shown[i] = rival
        where = ", ".join(f"{rival!r} for {text[i]!r} at {i}" for i, rival in contradicted)
        return LineCheck(False, f"printed {where}", contradicted="".join(shown))
    return LineCheck(not doubt, doubt, margins=tuple(margins) if whole else ())


# A fold bends a line: along it, its characters drift from where the layout set them, a
# pixel or so from one character to the next, a few pixels in all.
_BEND_REACH_PX = 4


def _bent(observed: np.ndarray, bank: _Bank, places: list[_Place]) -> list[_Place] | None:
    """The line's places moved to follow the line where a fold bent it: each character at
    most `_BEND_REACH_PX` either way from where the layout set it and at most a pixel from
    where the one before it moved, the best fit of all its characters together (the fit of
    each with its neighbours as printed); None when the line fits nowhere so, or as set.

    An edit still shows: each character is then compared as before, and a character put in
    or taken out moves what follows it by its width at once (about 6 px at the least: an
    apostrophe at 7 pt, the smallest size a value is set in), which a line drifting a pixel a
    character does not follow: a character either side of it is left 2 px or more from where
    it is.
    """
    glyph_h, glyph_w = bank.ink.shape[2:]
    height, width = observed.shape
    line = _drawn(bank, places, observed.shape)
    reach = _BEND_REACH_PX
    padded = np.pad(observed, reach)
    ink = [k for k, p in enumerate(places) if p.ch != " "]
    side = 2 * reach + 1
    fits = np.full((len(ink), side, side), -1.0, np.float32)
    for row, k in enumerate(ink):
        place = places[k]
        x0 = place.left + bank.pad - _HALF
        x1 = place.left + bank.pad + place.advance + _HALF
        printed = line[place.top : place.top + glyph_h, x0:x1]
        if printed.std() > 0:
            region = padded[place.top : place.top + glyph_h + 2 * reach, x0 : x1 + 2 * reach]
            fits[row] = cv2.matchTemplate(region, printed, cv2.TM_CCOEFF_NORMED)
        # Only where the whole shape is still inside the crop can it be compared.
        fits[row, : max(0, 2 - place.top + reach)] = -np.inf
        fits[row, max(0, height - glyph_h - 2 - place.top + reach + 1) :] = -np.inf
        fits[row, :, : max(0, 3 - place.left + reach)] = -np.inf
        fits[row, :, max(0, width - glyph_w - 3 - place.left + reach + 1) :] = -np.inf
    # The best path through every character's fits, moving at most a pixel each way from
    # one character to the next: for each, the best total up to it at each move, and which
    # move of the character before led there.
    total = fits[0].copy()
    came_from = np.zeros((len(ink), side, side, 2), int)
    for row in range(1, len(ink)):
        best = np.full((side, side), -np.inf, np.float32)
        for my in (-1, 0, 1):
            for mx in (-1, 0, 1):
                moved = np.full((side, side), -np.inf, np.float32)
                moved[max(0, my) : side + min(0, my), max(0, mx) : side + min(0, mx)] = total[
                    max(0, -my) : side + min(0, -my), max(0, -mx) : side + min(0, -mx)
                ]
                better = moved > best
                best[better] = moved[better]
                came_from[row][better] = (my, mx)
        total = best + fits[row]
    if not np.isfinite(total.max()):
        return None
    y, x = np.unravel_index(int(np.argmax(total)), total.shape)
    moves = [(0, 0)] * len(ink)
    for row in range(len(ink) - 1, -1, -1):
        moves[row] = (int(y) - reach, int(x) - reach)
        my, mx = came_from[row, y, x]
        y, x = y - my, x - mx
    if not any(moves):
        return None
    # A space moves as the character before it did.
    moved_as = dict(zip(ink, moves, strict=True))
    bent, move = [], (0, 0)
    for k, place in enumerate(places):
        move = moved_as.get(k, move)
        bent.append(dataclasses.replace(place, left=place.left + move[1], top=place.top + move[0]))
    return bent


def _in_doubt(findings: list[_Finding]) -> int:
    """How many places are not clearly their printed shape."""
    return sum(found.margin < LINE_MIN_MARGIN for found in findings)


def _clear(found: _Finding) -> bool:
    """Whether the place is clearly another shape than the one printed."""
    return found.margin <= -LINE_MIN_MARGIN and found.rival_likeness >= LINE_MIN_LIKENESS


def _drawn(bank: _Bank, places: list[_Place], shape: tuple[int, ...]) -> np.ndarray:
    """The line as printed, in the bank's shapes, where `places` put them (a neighbouring
    line's only as far as it reaches into `shape`)."""
    glyph_h, glyph_w = bank.ink.shape[2:]
    expected = np.zeros(shape, np.float32)
    for place in places:
        if place.ch == " ":
            continue
        glyph = bank.ink[place.phase, bank.index[place.ch]]
        y0, x0 = max(0, place.top), max(0, place.left)
        y1, x1 = min(shape[0], place.top + glyph_h), min(shape[1], place.left + glyph_w)
        if y0 < y1 and x0 < x1:
            window = expected[y0:y1, x0:x1]
            cut = glyph[y0 - place.top : y1 - place.top, x0 - place.left : x1 - place.left]
            np.maximum(window, cut, out=window)
    return expected


def _neighbours(
    bank: _Bank,
    around: tuple[tuple[str, tuple[tuple[float, float], ...]], ...],
    origin_mm: tuple[float, float],
    scale: float,
) -> list[_Place]:
    """The characters of the lines `around`, placed as `confirm_line` places its own (a
    character with no shape to draw is left out: its ink then counts as stray)."""
    near = []
    for text, cells in around:
        for ch, cell in zip(text, cells, strict=True):
            if ch in bank.index:
                near.append(_Place(ch, *_where(bank, cell, origin_mm, scale), 0))
    return near


def _where(
    bank: _Bank, cell: tuple[float, float], origin_mm: tuple[float, float], scale: float
) -> tuple[int, int, int]:
    """Where a character set at `cell` (its left edge and baseline, mm on the page) lies in
    a crop whose top left is `origin_mm`: its shape's left and top, in pixels, and the phase
    of its left edge between them."""
    x_mm, base_mm = cell
    col, phase = divmod(round((x_mm - origin_mm[0]) * scale * _SUPERSAMPLE), _SUPERSAMPLE)
    top = round((base_mm - origin_mm[1]) * scale) - bank.ascent
    return col - bank.pad, top, phase


def _line_offset(
    observed: np.ndarray, expected: np.ndarray, end: int, reach: tuple[int, int]
) -> tuple[int, int, float]:
    """Where the printed line's start (its columns up to `end`) really is, against where the
    layout put it, within `reach` (x, y) px either way; and how alike it is there."""
    rx, ry = reach
    inner = expected[ry:-ry, rx:end]
    if inner.std() == 0:
        return 0, 0, 0.0
    match = cv2.matchTemplate(observed[:, : end + rx], inner, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(match)
    return x - rx, y - ry, float(best)


def _adds_ink(bank: _Bank, printed: str, other: str) -> bool:
    """Whether `other` has ink clear of the printed shape's (at least a tenth of a square
    millimetre: an accent, a flag, a stroke), which no lost stroke could have left."""
    if (printed, other) not in bank.clear_of:
        grown = cv2.dilate(bank.ink[0, bank.index[printed]], np.ones((3, 3), np.uint8))
        beyond = np.clip(bank.ink[0, bank.index[other]] - grown, 0, None)
        bank.clear_of[printed, other] = float(beyond.sum()) >= 0.1 * bank.px_per_mm**2
    return bank.clear_of[printed, other]


@cache
def _twins(alike: Callable[[str], str], reads_as: Callable[[str], str]) -> frozenset[str]:
    """The characters that have a shape `alike` makes theirs and that reads differently."""
    groups: dict[str, set[str]] = {}
    for ch in LINE_ALPHABET:
        groups.setdefault(alike(ch), set()).add(reads_as(ch))
    return frozenset(ch for ch in LINE_ALPHABET if len(groups[alike(ch)]) > 1)


@cache
def _readings(reads_as: Callable[[str], str]) -> np.ndarray:
    """What each shape of LINE_ALPHABET reads as, for one kind of value."""
    return np.array([reads_as(ch) for ch in LINE_ALPHABET])


@dataclass(frozen=True)
class _Finding:
    """One place: its margin (see LINE_MIN_MARGIN), the nearest rival shape and how alike
    that shape is to the place."""

    margin: float
    rival: str = ""
    rival_likeness: float = 0.0


@dataclass(frozen=True, eq=False)
class _Frame:
    """The bank's shapes at one phase, cut to the frame every window lies in: from `_HALF` px
    before a glyph's origin to the bank's right edge; flattened column by column (a window's
    first columns are then the first values of each row), with running column sums of each
    shape and of its square, for any window's sums. Held narrowest first, so that the shapes
    of about one width, a place's only rivals in the middle of a line, are one contiguous
    block of rows: `order[row]` is the bank's index of row `row`, `row_of` the reverse."""

    shapes: np.ndarray  # (characters, width × height), column by column, narrowest first
    width: int
    height: int
    column_sums: np.ndarray  # (characters, width + 1), cumulative
    column_squares: np.ndarray
    order: np.ndarray  # row → the bank's index
    row_of: np.ndarray  # the bank's index → row
    widths: np.ndarray  # each row's advance, px, ascending
    _products: dict[int, np.ndarray] = field(default_factory=dict)

    def columns(self, row: int, count: int) -> np.ndarray:
        """One shape's first `count` columns, (height, count)."""
        return self.shapes[row, : count * self.height].reshape(count, self.height).T

    def products_with(self, row: int) -> np.ndarray:
        """Every shape's product with one of them, cumulative by column (characters,
        width + 1): over any window, one subtraction. Kept (the latest _KEPT_PRODUCTS): a
        value repeats its letters, and names share theirs."""
        if row not in self._products:
            if len(self._products) >= _KEPT_PRODUCTS:
                del self._products[next(iter(self._products))]
            count = self.shapes.shape[0]
            shapes = self.shapes.reshape(count, self.width, self.height)
            by_column = np.einsum("kwh,wh->kw", shapes, shapes[row])
            zero = np.zeros((count, 1), np.float32)
            self._products[row] = np.concatenate([zero, np.cumsum(by_column, axis=1)], axis=1)
        return self._products[row]


_HALF = 2  # px either side of a character's advance in its window


_KEPT_PRODUCTS = 128  # of 316 shapes; each 50-70 kB at 12 pt


def _frame(bank: _Bank, phase: int) -> _Frame:
    if phase not in bank.frames:
        bank.frames[phase] = _cut_frame(bank, phase)
    return bank.frames[phase]


def _cut_frame(bank: _Bank, phase: int) -> _Frame:
    order = np.argsort(bank.advance, kind="stable")
    cut = bank.ink[phase][order][:, :, bank.pad - _HALF :]
    count, height, width = cut.shape
    zero = np.zeros((count, 1), np.float32)
    sums = np.concatenate([zero, np.cumsum(cut.sum(axis=1), axis=1)], axis=1)
    squares = np.concatenate([zero, np.cumsum((cut * cut).sum(axis=1), axis=1)], axis=1)
    row_of = np.empty_like(order)
    row_of[order] = np.arange(count)
    by_column = np.ascontiguousarray(cut.transpose(0, 2, 1).reshape(count, -1))
    return _Frame(by_column, width, height, sums, squares, order, row_of, bank.advance[order])


# Places in the middle of a line whose printed shapes differ in width by at most this much
# (px) are compared in one go, with the union of their rivals.
_GROUP_SPAN_PX = 4.0


def _margins(
    observed: np.ndarray,
    expected: np.ndarray,
    bank: _Bank,
    places: list[_Place],
    readings: np.ndarray,
    only: frozenset[int] | None = None,
) -> list[_Finding]:
    """For each place (or each of `only`, by index), how far it lies from the printed
    character's shape towards the nearest shape that reads differently (see
    LINE_MIN_MARGIN), and that shape; -0.5 when the place does not look like the printed
    shape, or it is not where the layout put it.

    Each place is a window: the character's advance and `_HALF` px either side, its
    neighbours as printed. Each candidate there is a shape plus those neighbours; every
    likeness follows from products of the bank with the windows, a few matrix products a
    line, without drawing any candidate. In the middle of the line only shapes of about the
    printed one's width are rivals (a wider or narrower one would push the rest of the line
    along), so each product takes only that block of the bank.
    """
    findings: list[_Finding | None] = [None] * len(places)
    last = len(places) - 1
    width = [float(bank.advance[bank.index[place.ch]]) for place in places]
    by_phase: dict[int, list[int]] = {}
    for k, place in enumerate(places):
        if only is None or k in only:
            by_phase.setdefault(place.phase, []).append(k)
    for phase, members in by_phase.items():
        frame = _frame(bank, phase)
        groups: list[list[int]] = []
        for k in sorted((k for k in members if k != last), key=width.__getitem__):
            if groups and width[k] - width[groups[-1][0]] <= _GROUP_SPAN_PX:
                groups[-1].append(k)
            else:
                groups.append([k])
        blocks = [
            _Block(
                group,
                int(np.searchsorted(frame.widths, width[group[0]] - _WIDTH_TOLERANCE_PX, "right")),
                int(np.searchsorted(frame.widths, width[group[-1]] + _WIDTH_TOLERANCE_PX, "left")),
            )
            for group in groups
        ]
        if last in members:
            blocks.append(_Block([last], 0, len(frame.order)))
        _phase_margins(observed, expected, bank, frame, places, blocks, readings, findings)
    return [f for f in findings if f is not None]


@dataclass(frozen=True)
class _Block:
    """Places of one phase compared in one matrix product: their rivals are the frame's rows
    lo:hi (shapes of about their width; every shape for the line's last place)."""

    members: list[int]
    lo: int
    hi: int


def _phase_margins(
    observed: np.ndarray,
    expected: np.ndarray,
    bank: _Bank,
    frame: _Frame,
    places: list[_Place],
    blocks: list[_Block],
    readings: np.ndarray,
    findings: list[_Finding | None],
) -> None:
    """`_margins` for the places of one phase. Each block is one product with its rows of
    the frame, over its own window; what follows from the products is worked out for the
    whole phase at once (rows outside a place's block left out), not block by block: numpy's
    overhead on these small arrays was most of the time."""
    height = bank.ink.shape[2]
    rows = len(frame.order)
    w = frame.width
    widest = int(np.ceil(frame.widths[-1]))
    last = len(places) - 1
    members = [k for block in blocks for k in block.members]
    count = len(members)
    mine = np.array([frame.row_of[bank.index[places[k].ch]] for k in members])
    # At the end of the line nothing after a wider or narrower shape would move: every shape
    # is a rival there, in a window as wide as the widest.
    reach = np.array(
        [min(widest if k == last else places[k].advance, w - 2 * _HALF) for k in members]
    )
    columns = reach + 2 * _HALF
    n = columns * height  # pixels in each window
    # Each window, column by column: the printed shape alone, its neighbours as printed, and
    # the place at the best of fifteen nudges for the printed shape; zero past the window's
    # own width.
    own, context, view = np.zeros((3, count, int(columns.max()), height), np.float32)
    likeness = np.empty(count, np.float32)
    best_dx = np.empty(count, int)
    for row, k in enumerate(members):
        place, width = places[k], int(columns[row])
        x0 = place.left + bank.pad - _HALF
        shape = frame.columns(mine[row], width)
        around = expected[place.top : place.top + height, x0 : x0 + width]
        neighbours = np.maximum(around - shape, 0)
        printed = shape + neighbours
        region = observed[place.top - 1 : place.top + height + 1, x0 - 2 : x0 + width + 2]
        fits = cv2.matchTemplate(region, printed, cv2.TM_CCOEFF_NORMED)
        _, likeness_here, _, (bx, by) = cv2.minMaxLoc(fits)
        likeness[row], best_dx[row] = likeness_here, bx - 2
        own[row, :width] = shape.T
        context[row, :width] = neighbours.T
        view[row, :width] = region[by : by + height, bx : bx + width].T
    # Per block, over the block's widest window: each place as seen, mean-free over its own
    # window and of unit length; every shape's products with its neighbours and with it; the
    # sums of the neighbours' values, squares and products with the view and the shape.
    with_context, with_view = np.full((2, rows, count), np.nan, np.float32)
    in_block = np.zeros((rows, count), bool)
    context_sums, context_sq, context_view, context_own = np.empty((4, count), np.float32)
    start = 0
    for block in blocks:
        at = slice(start, start + len(block.members))
        start = at.stop
        span = int(columns[at].max())
        mine_n = n[at]
        own_b, context_b, view_b = (
            np.ascontiguousarray(a[at, :span]) for a in (own, context, view)
        )
        inside = (np.arange(span)[None, :] < columns[at, None])[:, :, None]
        view_b -= (view_b.sum(axis=(1, 2)) / mine_n)[:, None, None] * inside
        view_b /= np.maximum(np.sqrt((view_b * view_b).sum(axis=(1, 2))), 1e-9)[:, None, None]
        size = len(block.members)
        stacked = np.concatenate([context_b, view_b], axis=0).reshape(2 * size, -1)
        products = frame.shapes[block.lo : block.hi, : span * height] @ stacked.T
        with_context[block.lo : block.hi, at] = products[:, :size]
        with_view[block.lo : block.hi, at] = products[:, size:]
        in_block[block.lo : block.hi, at] = True
        own_flat, context_flat, view_flat = (
            a.reshape(size, -1) for a in (own_b, context_b, view_b)
        )
        context_sums[at] = context_flat.sum(axis=1)
        context_sq[at] = (context_flat * context_flat).sum(axis=1)
        context_view[at] = (context_flat * view_flat).sum(axis=1)
        context_own[at] = (context_flat * own_flat).sum(axis=1)
    with_own = np.empty((rows, count), np.float32)
    for row, (me, c) in enumerate(zip(mine, columns, strict=True)):
        with_own[:, row] = frame.products_with(int(me))[:, int(c)]
    at_me = (mine, np.arange(count))
    sums = frame.column_sums[:, columns] + context_sums[None, :]
    squares = frame.column_squares[:, columns]
    means = sums / n[None, :]
    norms = np.sqrt(
        np.maximum(squares + 2 * with_context + context_sq[None, :] - n * means**2, 1e-9)
    )
    me_norm = norms[at_me]
    scores = (with_view + context_view[None, :]) / norms
    # Candidates are not mean-free: their correlation with the printed one uses the means.
    with_printed = with_own + with_context + context_own + context_sq
    cross = (with_printed - n * means * means[at_me]) / (norms * me_norm)
    # The likeness margin over each rival, scaled by how different the two shapes are, so
    # that an accent counts as much as a bowl.
    margins = (likeness[None, :] - scores) / np.maximum(2 * (1 - cross), 1e-6)
    if bank.closing_px:
        # Shapes a coarse capture draws alike (gaps filled, they differ in a few pixels): the
        # likeness margin over so small a difference is the capture's noise, not the shape.
        margins = np.where(cross > _SAME_DRAWN, 0.0, margins)
    order = frame.order
    # Rivals: shapes that read differently, and in the middle of the line of about the
    # printed one's width; the nearest of them, for every place at once.
    mine_readings = readings[order[mine]]
    rivals = in_block & (readings[order][:, None] != mine_readings[None, :])
    middle = np.array([k != last for k in members])
    close = np.abs(frame.widths[:, None] - frame.widths[mine][None, :]) < _WIDTH_TOLERANCE_PX
    rivals &= close | ~middle[None, :]
    ranked = np.where(rivals, margins, np.inf)
    nearest = ranked.argmin(axis=0)
    columns_at = np.arange(count)
    nearest_margin = ranked[nearest, columns_at]
    nearest_score = scores[nearest, columns_at]
    has_rival = rivals.any(axis=0)
    for row, k in enumerate(members):
        # Two pixels across, the printed shape is not where the layout put it.
        if likeness[row] < LINE_MIN_LIKENESS or abs(best_dx[row]) == 2:
            findings[k] = _Finding(-0.5)
        elif not has_rival[row]:
            findings[k] = _Finding(0.5)
        else:
            findings[k] = _Finding(
                float(nearest_margin[row]),
                LINE_ALPHABET[int(order[nearest[row]])],
                float(nearest_score[row]),
            )


def _other_width(
    observed: np.ndarray, expected: np.ndarray, bank: _Bank, place: _Place, readings: np.ndarray
) -> _Finding:
    """The place compared with every shape of another width, each in a window of its own
    width with only the neighbours before it (those after it would have moved): a shape that
    reads differently and fits clearly better than the printed one is what is printed."""
    glyph_h = bank.ink.shape[2]
    me = bank.index[place.ch]
    origin = place.left + bank.pad
    rows = slice(place.top, place.top + glyph_h)
    widths = np.minimum(np.round(bank.advance).astype(int), bank.ink.shape[3] - bank.pad - _HALF)
    best_likeness, best_rival, own = -1.0, "", -1.0
    for reach in np.unique(widths):
        members = np.nonzero(widths == reach)[0]
        frame = _frame(bank, place.phase)
        x0, x1 = origin - _HALF, origin + int(reach) + _HALF
        if x1 + 2 > observed.shape[1]:
            continue
        before = expected[rows, x0:x1].copy()
        before[:, _HALF:] = 0
        context = before.ravel()
        views = np.stack(
            [
                observed[place.top + dy : place.top + dy + glyph_h, x0 + dx : x1 + dx].ravel()
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            ]
        )
        views = views - views.mean(axis=1, keepdims=True)
        views /= np.maximum(np.linalg.norm(views, axis=1, keepdims=True), 1e-9)
        in_frame = frame.row_of[members]
        by_column = frame.shapes.reshape(len(widths), frame.width, glyph_h)
        cut = by_column[in_frame, : x1 - x0].transpose(0, 2, 1)
        shapes = cut.reshape(len(members), -1) + context
        shapes -= shapes.mean(axis=1, keepdims=True)
        shapes /= np.maximum(np.linalg.norm(shapes, axis=1, keepdims=True), 1e-9)
        likeness = (views @ shapes.T).max(axis=0)
        for k, index in enumerate(members):
            if index == me:
                own = float(likeness[k])
            elif readings[index] != readings[me] and likeness[k] > best_likeness:
                best_likeness, best_rival = float(likeness[k]), LINE_ALPHABET[index]
    if best_likeness < LINE_MIN_LIKENESS or best_likeness - own < _OTHER_WIDTH_LEAD:
        return _Finding(-0.5)
    return _Finding(-0.5, best_rival, best_likeness)
