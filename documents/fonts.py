"""Fonts with Polish letters (Debian's DejaVu), and setting a value so that it fits its box."""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from documents.errors import DoesNotFit, ToolMissing
from documents.layout import MM_TO_PT, Box, TextStyle

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {
    "DejaVuSans": "DejaVuSans.ttf",
    "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
    "DejaVuSansMono": "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold": "DejaVuSansMono-Bold.ttf",
}
INSTALL_HINT = "install fonts-dejavu-core (apt-get install fonts-dejavu-core)"
LINE_SPACING = 1.2
SHRINK_STEP_PT = 0.5
# Font subsets kept per font: the regular and mono fonts print the same letters on nearly every
# form (the labels, the declarations, the case number), the bold one a new set on most.
SUBSETS_KEPT = 8


def check_fonts() -> str | None:
    """None when every font the form uses is installed, else what is missing and how to fix it."""
    missing = [name for name in FONT_FILES.values() if not (FONT_DIR / name).is_file()]
    if missing:
        return f"missing {', '.join(missing)} in {FONT_DIR}: {INSTALL_HINT}"
    return None


@cache
def register_fonts() -> None:
    """Register the fonts with reportlab once per process (parsing a TTF takes milliseconds)."""
    problem = check_fonts()
    if problem:
        raise ToolMissing(problem)
    for name, file in FONT_FILES.items():
        font = TTFont(name, str(FONT_DIR / file))
        font.face.makeSubset = _kept_subsets(font.face.makeSubset)
        font.addObjects = _kept_widths(font.addObjects)  # type: ignore[method-assign]
        pdfmetrics.registerFont(font)
    # reportlab looks its compression up by this name each time it writes a stream.
    pdfdoc.PDFZCompress = _KeptCompression()


class _FontFile(bytes):
    """A font subset's bytes, compressed once however many documents embed them."""

    @property
    def compressed(self) -> bytes:
        done: bytes | None = self.__dict__.get("compressed")
        if done is None:
            done = self.__dict__["compressed"] = zlib.compress(self)
        return done


class _KeptCompression(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's Flate compression, but a kept font subset's is compressed only once: the
    three fonts' files were a fifth of a form's CPU (2.5 of 11.3 ms), compressed again for
    every form. The same bytes as before."""

    def encode(self, text: str | bytes) -> bytes:
        if isinstance(text, _FontFile):
            return text.compressed
        return super().encode(text)  # type: ignore[no-any-return]


def _kept_subsets(make: Callable[[Sequence[int]], bytes]) -> Callable[[Sequence[int]], bytes]:
    """`make` (reportlab's subsetting of a TrueType font, a tenth of a form's CPU), with its
    latest results kept: the same letters in the same order make the same bytes."""
    kept: OrderedDict[tuple[int, ...], _FontFile] = OrderedDict()

    def made(subset: Sequence[int]) -> bytes:
        key = tuple(subset)
        font_file = kept.get(key)
        if font_file is None:
            font_file = kept[key] = _FontFile(make(subset))
            if len(kept) > SUBSETS_KEPT:
                kept.popitem(last=False)
        else:
            kept.move_to_end(key)
        return font_file

    return made


class _KeptWidths(pdfdoc.PDFArray):
    """A font subset's widths, formatted once for each set of letters however many documents
    embed it: 750 numbers a form, each formatted on its own, were a sixth of a form's CPU
    (1.1 of 7 ms). The same bytes as before."""

    def format(self, document: object, IND: bytes = b"\n ") -> bytes:
        widths = tuple(self.sequence)
        done = _FORMATTED_WIDTHS.get(widths)
        if done is None:
            done = super().format(document, IND)
            if len(_FORMATTED_WIDTHS) >= WIDTHS_KEPT:
                _FORMATTED_WIDTHS.pop(next(iter(_FORMATTED_WIDTHS)))
            _FORMATTED_WIDTHS[widths] = done
        return done  # type: ignore[no-any-return]


# The widths of the subsets kept (`SUBSETS_KEPT` for each of the four fonts), formatted.
WIDTHS_KEPT = 4 * SUBSETS_KEPT
_FORMATTED_WIDTHS: dict[tuple[int, ...], bytes] = {}


def _kept_widths(add_objects: Callable[[object], None]) -> Callable[[object], None]:
    """reportlab's `TTFont.addObjects` (a document's font objects, each subset's widths among
    them), with the widths formatted as `_KeptWidths`."""

    def added(doc: object) -> None:
        add_objects(doc)
        fonts = doc.idToObject["BasicFonts"].dict  # type: ignore[attr-defined]
        for font in fonts.values():
            if isinstance(font, pdfdoc.PDFTrueTypeFont) and type(font.Widths) is pdfdoc.PDFArray:
                font.Widths = _KeptWidths(font.Widths.sequence)

    return added


def text_width_pt(text: str, font: str, size: float) -> float:
    register_fonts()
    return float(pdfmetrics.stringWidth(text, font, size))


def unprintable(text: str, font: str) -> str:
    """The characters of `text` that `font` has no glyph for (they would print as boxes)."""
    register_fonts()
    glyphs = pdfmetrics.getFont(font).face.charToGlyph
    return "".join(sorted({c for c in text if ord(c) not in glyphs}))


@dataclass(frozen=True)
class FittedText:
    """A value broken into lines at the size that lets it fit its box."""

    lines: tuple[str, ...]
    size: float

    @property
    def line_height_pt(self) -> float:
        return self.size * LINE_SPACING


def _wrap(text: str, font: str, size: float, width_pt: float) -> list[str] | None:
    """Greedy wrap at spaces; None when a single word is wider than the box."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width_pt(candidate, font, size) <= width_pt:
            current = candidate
            continue
        if not current or text_width_pt(word, font, size) > width_pt:
            return None
        lines.append(current)
        current = word
    lines.append(current)
    return lines


def fit_text(field: str, text: str, box: Box, style: TextStyle) -> FittedText:
    """The largest size, down to `style.min_pt`, at which `text` fits `box` in its lines.

    Joining the lines with single spaces gives back `text` exactly, so the PDF's text layer
    holds the value as submitted. Raises DoesNotFit naming `field` when no size works.
    """
    missing = unprintable(text, style.font)
    if missing:
        raise DoesNotFit(field, f"contains characters the form cannot print: {missing!r}")
    width_pt = box.w * MM_TO_PT
    height_pt = box.h * MM_TO_PT
    size = style.max_pt
    while size >= style.min_pt - 1e-9:
        max_lines = min(style.max_lines, int(height_pt // (size * LINE_SPACING)))
        if max_lines == 0:
            pass  # even one line is taller than the box: smaller
        elif max_lines == 1:
            if text_width_pt(text, style.font, size) <= width_pt:
                return FittedText((text,), size)
        else:
            lines = _wrap(text, style.font, size, width_pt)
            if lines is not None and len(lines) <= max_lines:
                return FittedText(tuple(lines), size)
        size -= SHRINK_STEP_PT
    raise DoesNotFit(
        field,
        f"too long to print on the form ({len(text)} characters; the box takes about "
        f"{max_characters(box, style)} at the smallest readable size)",
    )


def max_characters(box: Box, style: TextStyle) -> int:
    """Roughly how many average characters fit the box at the smallest size: for messages."""
    sample = "abcdefghijklmnopqrstuvwxyz0123"
    per_char = text_width_pt(sample, style.font, style.min_pt) / len(sample)
    lines = min(style.max_lines, max(1, int(box.h * MM_TO_PT // (style.min_pt * LINE_SPACING))))
    return int(box.w * MM_TO_PT / per_char) * lines
