"""Reading the printed values back and comparing them with what the case holds.

Comparison forgives what OCR confuses in the form's own font — `@`/`©`, capital I and small
l (both a plain bar in DejaVu Sans), `0`/`O` outside numbers, letter case, dashes and
spaces — and nothing that would turn a value into a different name, number or domain.
A value is first checked shape by shape against the font it was printed in (`ocr.glyphs`),
one printed line at a time: confirmed there, it needs no OCR; found there to hold another
character, it is a mismatch whatever OCR reads. Otherwise OCR reads it, again from a
differently prepared image where it does not match; a read that matches is an honest reading
of the ink, so any match counts.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, partial
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from documents.form_data import EMPTY
from documents.layout import Box
from documents.page_code import CASE_ID_ALPHABET
from documents.render import PrintedLine, case_number_line, case_number_text
from ocr._exec import tesseract
from ocr.align import Alignment
from ocr.glyphs import (
    DIGITS,
    GLYPH_LINE_DPI,
    LINE_MIN_MARGIN,
    LineCheck,
    confirm_line,
    read_character,
    read_characters,
)
from ocr.route import parse_case_number
from ocr.verify import verify

Verdict = Literal["match", "mismatch", "empty"]
Kind = Literal["text", "digits", "phone", "email", "domain", "case_number"]

# Zones are read at 300 dpi: tesseract's sweet spot for 12 pt text.
OCR_DPI = 300
OCR_PX_PER_MM = OCR_DPI / 25.4
# Glyphs are told apart at 200 dpi: as sure as at 300 (every digit of 960 first, by 0.08 at
# the least) and twice as fast.
GLYPH_DPI = 200
_MARGIN_MM = (1.6, 0.6)  # around the printed text: alignment error, without the neighbours

_ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# What each kind of value can be printed with: tesseract then never reads `©` for `@`, or
# a colon for a digit.
WHITELISTS: dict[str, str] = {
    "digits": "0123456789",
    "phone": "+0123456789 ()-",
    "email": _ASCII_LETTERS + "0123456789.@_+-",
}
# Letters OCR reads in place of digits in a field printed in digits only: safe to map back,
# as no digit is ever mapped to another digit.
_LETTER_TO_DIGIT = str.maketrans("OoDQIl|i!SsBZzGbgqT", "0000111115582266997")
# Glyphs that are the same shape in DejaVu Sans, folded on both sides of the comparison.
_COMMON_FOLD = str.maketrans(
    {"I": "l", "|": "l", "©": "@", "®": "@", "—": "-", "–": "-", "‐": "-", "‒": "-", "−": "-"}
)
_ZERO_FOLD = str.maketrans({"0": "o"})
# No domain name holds a semicolon: one between the names is their comma (a dirty drum's dot
# under it).
_LIST_FOLD = str.maketrans({";": ","})
# Nor holds an empty label: a dot, a space and a dot are one dot, read twice across the gap a
# halftoned fax's dots left in it (a standard PC fax: "transport. .info.pl").
_EMPTY_LABEL = re.compile(r"\.\s+\.")
# Nor ends in a dot: one before the space between the names is their comma, its tail lost (a
# standard fax's 98 lines an inch).
_LIST_STOP = re.compile(r"\.(?=\s)")
# Nor is any name of the list without a dot: a comma before one ("las-lodka-rower,pl") is the
# dot before its top-level label, its dot and the line's grey run together (a standard PC fax).
_LABEL_COMMA = re.compile(r",(?=[^\s.,]+\s*(?:,|$))")
# An e-mail address on the page only has to be the one the case holds as far as a reader can
# tell: no one is identified by it, and at fax resolution i, l and 1 are one bar (a dotless ı
# to OCR now and then), and a hyphen a halftoned fax thinned reads as a middle dot.
_EMAIL_FOLD = str.maketrans({"i": "l", "ı": "l", "1": "l", "·": "-"})
# In names and addresses a diacritic is not what tells one person or street from another
# (identity rests on PESEL/NIP, compared digit by digit), and at fax resolution ź, ż and z
# are the same blob. Domains keep theirs: żółw.pl and zolw.pl are different domains.
_DIACRITIC_FOLD = str.maketrans("ąćęłńóśźż", "acelnoszz")
# Nor, for the same reason, an i from an l: a capital I reads as l already, and a printer
# running out of ink, or a fold through a line, leaves an l's stem broken into an i (or
# into a dotless ı, as OCR has it now and then); nor a k from the kra OCR reads for it on a
# worn copy (ĸ, a small capital K: no Polish name holds one).
_STROKE_FOLD = str.maketrans({"i": "l", "ı": "l", "ĸ": "k"})
_TEXT_PUNCTUATION = set(".,-'\"„”“`")
_EDGE_JUNK = " .,:;'\"`_~-‘’"


@dataclass(frozen=True)
class FieldReading:
    """One printed value: what it should say, what was read, and the verdict."""

    name: str
    expected: str
    read: str
    score: float
    verdict: Verdict
    confidence: float
    # "read:<model>": the text read is the value; "alternatives": it lined up only with some
    # characters taken from tesseract's alternatives (how many: `alternatives_used`).
    method: str = "read:pol"
    alternatives_used: int = 0
    # Where tesseract read the value as the case holds it but the shapes found these
    # characters (their places in the value) nearer others: the reason it is not a match.
    doubted: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> FieldReading:
        """The value `name` as `to_dict` stored it."""
        return cls(
            name=name,
            expected=data["expected"],
            read=data["read"],
            score=float(data.get("score", 0.0)),
            verdict=data["verdict"],
            confidence=float(data.get("confidence", 0.0)),
            method=data.get("method", "read:pol"),
            alternatives_used=int(data.get("alternatives_used", 0)),
            doubted=tuple(int(i) for i in data.get("doubted", ())),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "expected": self.expected,
            "read": self.read,
            "score": round(float(self.score), 3),
            "verdict": self.verdict,
            "confidence": round(float(self.confidence), 1),
            "method": self.method,
            "alternatives_used": self.alternatives_used,
            "doubted": list(self.doubted),
        }


def field_kind(name: str) -> Kind:
    short = name.rsplit(".", 1)[-1]
    if name == "domains":
        return "domain"
    if name == "case_number":
        return "case_number"
    if short in ("id_number", "regon", "krs"):
        return "digits"
    if short == "phone":
        return "phone"
    if short == "email":
        return "email"
    return "text"


def _fold_char(kind: Kind, ch: str) -> str:
    """One character as it is compared ("" when it is not compared at all)."""
    if ch.isspace():
        return ""
    if kind == "phone":
        ch = ch.translate(_LETTER_TO_DIGIT)
        return ch if ch.isdigit() or ch == "+" else ""
    folded = ch.translate(_COMMON_FOLD).lower()
    if kind == "domain":
        return folded.translate(_LIST_FOLD)
    folded = folded.translate(_ZERO_FOLD)
    if kind == "email":
        return folded.translate(_EMAIL_FOLD)
    if kind == "text":
        # Nor do dots, commas, dashes and quotes: "Sp. z o.o." and "Sp z oo" are one company.
        folded = _without_marks(folded.translate(_DIACRITIC_FOLD)).translate(_STROKE_FOLD)
        return "" if folded in _TEXT_PUNCTUATION else folded
    return folded


def _without_marks(ch: str) -> str:
    """A letter without its accents (é → e, ž → z); other characters as they are."""
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


def canonical(kind: Kind, text: str) -> str:
    """The form of a value that is compared: what OCR cannot tell apart is made equal."""
    text = unicodedata.normalize("NFC", text)
    if kind == "digits":
        return re.sub(r"[^0-9]", "", text.translate(_LETTER_TO_DIGIT))
    if kind == "case_number":
        number = parse_case_number(text)
        return number.case_id if number else ""
    if kind == "domain":
        text = _LABEL_COMMA.sub(".", _LIST_STOP.sub(",", _EMPTY_LABEL.sub(".", text)))
    return "".join(_fold_char(kind, ch) for ch in text).strip(_EDGE_JUNK)


def compare(kind: Kind, expected: str, read: str) -> tuple[Verdict, float]:
    """`match` only when the canonical forms are equal; the score is for people to look at."""
    want, got = canonical(kind, expected), canonical(kind, read)
    score = difflib.SequenceMatcher(None, want, got, autojunk=False).ratio() if want else 0.0
    if kind == "email" and _same_address(expected, got):
        return "match", score
    if kind == "case_number":
        return _same_number(expected, read), score
    return ("match" if want and want == got else "mismatch"), score


def _same_number(expected: str, read: str) -> Verdict:
    """The printed case number names this case and, where readable, this version and page."""
    want, got = parse_case_number(expected), parse_case_number(read)
    if want is None or got is None or got.case_id != want.case_id:
        return "mismatch"
    for part in ("form_version", "page"):
        if getattr(got, part) is not None and getattr(got, part) != getattr(want, part):
            return "mismatch"
    return "match"


def _same_address(expected: str, got: str) -> bool:
    """An address read with its `@` mangled (DejaVu's `@` reads as Q, G, ©, Q©…).

    Both the part before and the part after the `@` must read exactly; only the one glyph
    between them may come out as one to three other characters.
    """
    local, at, domain = expected.rpartition("@")
    if not at:
        return False
    head, tail = canonical("email", local), canonical("email", domain)
    middle = len(got) - len(head) - len(tail)
    return 1 <= middle <= 3 and got.startswith(head) and got.endswith(tail)


def _lines_of(box: Box) -> int:
    return max(1, round(box.h / 4.6))


def _preparations(crop: np.ndarray, bilevel: bool) -> list[Callable[[], np.ndarray]]:
    """Ways to present a zone to tesseract, likeliest first; later ones only on a mismatch."""

    def as_is() -> np.ndarray:
        return crop

    def smoothed() -> np.ndarray:
        # A fax's jagged black-and-white edges, softened into the grey edges tesseract's
        # model was trained on.
        return cv2.GaussianBlur(crop, (0, 0), 1.1)

    def binarised() -> np.ndarray:
        blurred = cv2.GaussianBlur(crop, (3, 3), 0)
        _, out = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return out

    def thickened() -> np.ndarray:
        # Thin fax strokes broken by thresholding: close the gaps, then read.
        return cv2.erode(binarised(), np.ones((2, 2), np.uint8))

    if bilevel:
        return [smoothed, as_is, thickened]
    return [as_is, binarised, smoothed]


def read_field(
    gray: np.ndarray,
    alignment: Alignment,
    name: str,
    expected: str,
    text_box: Box,
    *,
    offset: tuple[float, float] = (0.0, 0.0),
    printed: PrintedLine | None = None,
    printed_lines: tuple[PrintedLine, ...] = (),
    bilevel: bool = False,
    lines_per_inch: float | None = None,
    tessdata: Path | None,
) -> FieldReading:
    """Read one value from its zone (moved by `offset` mm, where the printing really is) and
    judge it against `expected`. `printed`: how a one-line value is set; `printed_lines`: how
    one set on several lines is, line by line."""
    if expected == EMPTY:
        return FieldReading(name, expected, "", 1.0, "empty", 100.0)
    kind = field_kind(name)
    zone = Box(
        text_box.x + offset[0] - _MARGIN_MM[0],
        text_box.y + offset[1] - _MARGIN_MM[1],
        text_box.w + 2 * _MARGIN_MM[0],
        text_box.h + 2 * _MARGIN_MM[1],
    )
    if printed is not None and (kind == "case_number" or printed.text.isdigit()):
        # Numbers and the case number are printed in a monospaced font we know: each digit is
        # checked against the font's own digits, faster and surer than reading the line.
        by_glyph = _character_by_character(name, expected, kind, gray, alignment, printed, offset)
        if by_glyph.verdict == "match":
            return by_glyph
    shapes: LineCheck | None = None
    if printed is not None and (kind in LINE_KINDS or (kind == "digits" and expected.isdigit())):
        # One-line values are checked shape by shape; so is a number one of whose digits was
        # unsure on its own (a fax's dropped line through it): as a line, each character a
        # little to either side, against every shape.
        shapes = _confirm_line(
            kind, gray, alignment, printed, offset, bilevel=bilevel, lines_per_inch=lines_per_inch
        )
    elif printed_lines and kind in LINE_KINDS:
        # A value set on several lines is checked line by line, each as a one-line value
        # beside its neighbours, and OCR, reading the whole zone, agreed with them as one.
        shapes = _confirm_lines(
            kind,
            gray,
            alignment,
            printed_lines,
            offset,
            bilevel=bilevel,
            lines_per_inch=lines_per_inch,
        )
    if shapes is not None:
        if shapes.confirmed:
            shown = " ".join(line.text for line in ((printed,) if printed else printed_lines))
            return FieldReading(name, expected, shown, 1.0, "match", 100.0, method="glyphs")
        # A bare bar the shapes find for an l in a top-level label no domain has (a fold cut
        # the l's top: "ı") names nothing else: OCR reads the value. A shape with more ink
        # than the l (ľ, ĺ) is what is printed there.
        bar_only = kind == "domain" and _bars_in_no_top_level(
            expected, shapes.contradicted, seen_as=_BARE_BAR
        )
        if shapes.contradicted and not bar_only:
            verdict, score = compare(kind, expected, shapes.contradicted)
            if verdict == "mismatch":
                return FieldReading(
                    name, expected, shapes.contradicted, score, verdict, 100.0, method="glyphs"
                )
    # A number some of whose digits the shapes found nearer another character than the one
    # printed (damage the page came with: a fax's lost lines cut a 9 into something like a
    # 0): tesseract reading it as the case holds it is no proof. A digit forged on such a
    # page read as the case's so (tests/ocr/test_world_damage.py: a PESEL edited by one
    # digit, under a fax's lost lines).
    doubted = (
        tuple(i for i, margin in enumerate(shapes.margins) if margin <= -LINE_MIN_MARGIN)
        if kind == "digits" and shapes is not None
        else ()
    )
    crop = alignment.warp(gray, zone, OCR_PX_PER_MM)
    best: FieldReading | None = None
    best_image = crop
    # The English model reads no Polish letters: a second reading for values without them,
    # and for names and addresses, which are compared without their diacritics anyway.
    second_model = expected.isascii() or kind == "text"
    for image, language in _attempts(crop, bilevel, second_model=second_model, tessdata=tessdata):
        if language != tesseract.LANGUAGE and best is not None and best.score < _NEAR_MISS:
            # Every Polish reading is far from the value (crossed out, written over, or
            # damaged past reading): nor has the English model ever made such a line match
            # (none of 250 lines read over bench/accuracy.py and bench/ingest.py).
            break
        line = tesseract.read_zone(
            image,
            dpi=300,
            lines=_lines_of(text_box),
            whitelist=WHITELISTS.get(kind, ""),
            tessdata=tessdata,
            language=language,
        )
        verdict, score = compare(kind, expected, line.text)
        reading = FieldReading(
            name, expected, line.text, score, verdict, line.confidence, method=f"read:{language}"
        )
        if verdict == "match" and doubted:
            return dataclasses.replace(
                reading, verdict="mismatch", method="read:doubted", doubted=doubted
            )
        if verdict == "match":
            return reading
        if shapes is not None and _agreed(expected, shapes.margins, line.text):
            return dataclasses.replace(reading, verdict="match", method="glyphs+read")
        if kind == "domain" and _bars_in_no_top_level(expected, line.text):
            return dataclasses.replace(reading, verdict="match", method="read:top-level")
        if best is None or score > best.score:
            best, best_image = reading, image
    assert best is not None
    if (kind in VERIFIABLE or kind in VERIFIABLE_JUNK) and not doubted:
        return _verified(best, kind, best_image, lines=_lines_of(text_box), tessdata=tessdata)
    return best


def _character_by_character(
    name: str,
    expected: str,
    kind: Kind,
    gray: np.ndarray,
    alignment: Alignment,
    printed: PrintedLine,
    offset: tuple[float, float],
) -> FieldReading:
    """A number or the case number read one printed character at a time, each from its own
    place, against the font's own shapes (see `ocr.glyphs`): every character must come out
    as printed, clearly ahead of every other character it could be."""
    places = _glyph_places(kind, printed.text)
    text = _read_places(gray, alignment, printed, offset, places)
    verdict: Verdict = (
        "match" if text == "".join(printed.text[i] for i, _ in places) else "mismatch"
    )
    return FieldReading(
        name, expected, text, 1.0 if verdict == "match" else 0.0, verdict, 100.0, method="glyphs"
    )


def read_case_number(gray: np.ndarray, alignment: Alignment) -> str | None:
    """The case number under the title read place by place against the font's own shapes,
    for routing a page whose code cannot be read and which tesseract misreads: the case id,
    the form version (one digit) and the page, or None when any place is unsure."""
    template = case_number_line(case_number_text("CS-0000-0000", 1, 1))
    places = _glyph_places("case_number", template.text)
    # No page code, so no printing of ours to find the line by: a fax that lost scan lines
    # moved it by up to a millimetre; each place is looked for there, nearest first.
    steps = (0.0, -0.4, 0.4, -0.8, 0.8)
    for offset in sorted(
        ((x, y) for x in steps for y in steps), key=lambda o: abs(o[0]) + abs(o[1])
    ):
        read = _read_places(gray, alignment, template, offset, places)
        if "?" not in read:
            return f"CS-{read[:4]}-{read[4:8]}  wersja {read[8]}  strona {read[9]}/2"
    return None


def _read_places(
    gray: np.ndarray,
    alignment: Alignment,
    printed: PrintedLine,
    offset: tuple[float, float],
    places: list[tuple[int, str]],
) -> str:
    """The characters at `places` of a monospaced line, each the one of its alphabet it is
    clearly most like ("?" where none is)."""
    # The line is warped and softened once; each character's place is a slice of it.
    first, last = printed.characters[0], printed.characters[-1]
    line = Box(
        first.x + offset[0] - 0.4,
        first.y + offset[1] - 0.6,
        last.right - first.x + 0.8,
        first.h + 1.2,
    )
    scale = GLYPH_DPI / 25.4
    image = alignment.warp(gray, line, scale)
    spans = []
    for i, alphabet in places:
        cell = printed.characters[i]
        x0 = max(0, round((cell.x - first.x) * scale))
        spans.append((x0, round((cell.right - first.x + 0.8) * scale), alphabet))
    read = list(read_characters(image, spans, printed.font_file, printed.size_pt, GLYPH_DPI))
    for at, (i, alphabet) in enumerate(places):
        if read[at] == "?":  # unsure at 200 dpi (a fax streak through it): look closer
            cell = printed.characters[i]
            zone = Box(cell.x + offset[0] - 0.4, line.y, cell.w + 0.8, line.h)
            place = alignment.warp(gray, zone, OCR_PX_PER_MM)
            read[at] = read_character(place, printed.font_file, printed.size_pt, OCR_DPI, alphabet)
    return "".join(read)


# Values whose one-line printing is confirmed shape by shape before any OCR (see `ocr.glyphs`).
LINE_KINDS: frozenset[Kind] = frozenset({"text", "email", "phone", "domain"})


def _confirm_line(
    kind: Kind,
    gray: np.ndarray,
    alignment: Alignment,
    printed: PrintedLine,
    offset: tuple[float, float],
    *,
    bilevel: bool,
    lines_per_inch: float | None = None,
    others: tuple[PrintedLine, ...] = (),
) -> LineCheck:
    """Whether the line is printed as set, each character its own shape (see `confirm_line`);
    `others`: the value's other lines, set above or below it."""
    first, last = printed.characters[0], printed.characters[-1]
    origin = (first.x + offset[0] - 2.0, first.y + offset[1] - 1.2)
    # Wide enough on the right for the last character's whole shape, whatever it is.
    reach = 2.0 + printed.size_pt * 25.4 / 72 * 1.4
    box = Box(origin[0], origin[1], last.right - first.x + 2.0 + reach, first.h + 2.4)
    image = alignment.warp(gray, box, GLYPH_LINE_DPI / 25.4)
    cells = _cells(printed, offset)
    around = tuple((line.text, _cells(line, offset)) for line in others)
    return confirm_line(
        image,
        origin,
        GLYPH_LINE_DPI,
        printed.text,
        cells,
        printed.font_file,
        printed.size_pt,
        (_FAX_GLYPH_READINGS if bilevel else _GLYPH_READINGS)[kind],
        alike=_fax_stroke if bilevel else None,
        loses_strokes=bilevel,
        lines_per_inch=lines_per_inch,
        around=around,
    )


def _cells(line: PrintedLine, offset: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """Each character's left edge and baseline (mm), where the printing really is."""
    baseline = line.baseline_mm + offset[1]
    return tuple((c.x + offset[0], baseline) for c in line.characters)


def _confirm_lines(
    kind: Kind,
    gray: np.ndarray,
    alignment: Alignment,
    lines: tuple[PrintedLine, ...],
    offset: tuple[float, float],
    *,
    bilevel: bool,
    lines_per_inch: float | None,
) -> LineCheck:
    """`_confirm_line` for each line of a value set on several, as one check of the value
    (its lines joined by single spaces, as the value is): confirmed when every line is; where
    a line holds another character, the value with it; each character's margin, the joining
    spaces clear (no ink is printed for them), or none when a line has none."""
    checks = [
        _confirm_line(
            kind,
            gray,
            alignment,
            line,
            offset,
            bilevel=bilevel,
            lines_per_inch=lines_per_inch,
            others=tuple(other for other in lines if other is not line),
        )
        for line in lines
    ]
    reason = next((check.reason for check in checks if not check.confirmed), "")
    contradicted = ""
    if any(check.contradicted for check in checks):
        contradicted = " ".join(
            check.contradicted or line.text for check, line in zip(checks, lines, strict=True)
        )
    margins: tuple[float, ...] = ()
    if all(check.margins for check in checks):
        joined: list[float] = []
        for check in checks:
            joined.extend([0.5] if joined else [])
            joined.extend(check.margins)
        margins = tuple(joined)
    return LineCheck(all(check.confirmed for check in checks), reason, contradicted, margins)


# On a fax an i's dot joins its stem now and then: i, l, I and their kin are one stroke.
_FAX_STROKES = str.maketrans(dict.fromkeys("iíìîïıIÍÌÎÏİ", "l"))


def _fax_stroke(ch: str) -> str:
    return ch.translate(_FAX_STROKES)


def _fax_text_glyph(ch: str) -> str:
    return _fold_char("text", _fax_stroke(ch))


def _fax_email_glyph(ch: str) -> str:
    return _email_glyph(_fax_stroke(ch))


def _email_glyph(ch: str) -> str:
    # OCR reads an address in ASCII only, so its accents are not told apart there either.
    return _fold_char("email", _without_marks(ch))


def _digit_glyph(ch: str) -> str:
    # A letter the comparison takes for a digit (`O` for `0`, `B` for `8`) hides no other
    # number: at 98 lines an inch a PESEL's `0` comes out nearer `O` than itself.
    return ch.translate(_LETTER_TO_DIGIT)


# What a printed shape reads as, per kind: the comparison's own distinctions.
_GLYPH_READINGS: dict[Kind, Callable[[str], str]] = {
    "domain": partial(_fold_char, "domain"),
    "email": _email_glyph,
    "phone": partial(_fold_char, "phone"),
    "text": partial(_fold_char, "text"),
    "digits": _digit_glyph,
}
# On a fax, names, addresses and e-mail addresses do not tell i from l either: the fax does
# not (a dot joins its stem, a lost scan line cuts one), and neither does any reader of it:
# tesseract, asked, reads the name it expects. Domains do: there OCR reads the line.
_FAX_GLYPH_READINGS: dict[Kind, Callable[[str], str]] = {
    **_GLYPH_READINGS,
    "text": _fax_text_glyph,
    "email": _fax_email_glyph,
}


def _agreed(expected: str, margins: tuple[float, ...], read: str) -> bool:
    """The value, where each character is either clearly its own shape or nearer its own
    shape than any other and read by OCR exactly as printed, in the same place in the line.

    A fax blurs a dot into a caron, an accent into a smudge; OCR, knowing words, may read
    them right where it misreads a letter the shapes leave in no doubt. Neither decides
    alone what the other could not see.
    """
    if not margins:
        return False
    expected, read = unicodedata.normalize("NFC", expected), unicodedata.normalize("NFC", read)
    same: set[int] = set()
    matcher = difflib.SequenceMatcher(None, expected, read, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            same.update(range(i1, i2))
    return all(
        margin >= LINE_MIN_MARGIN or (margin > 0 and i in same) for i, margin in enumerate(margins)
    )


# One upright bar, as a fax, a worn copy or a fold leaves an l and OCR reads it (dotless, or
# with a speck over it or under it read as an accent: ".pı", ".pĺ").
_BARS = frozenset("il1!|ıíìîïĺľļ")
_BARE_BAR = frozenset("ı")


@cache
def _top_levels() -> frozenset[str]:
    lines = (files("ocr") / "tlds.txt").read_text(encoding="ascii").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def _bars_in_no_top_level(expected: str, read: str, *, seen_as: frozenset[str] = _BARS) -> bool:
    """Whether `read` is the domains `expected` but for bars (`_BARS`, read as one of
    `seen_as`) in their top-level labels, each read label one no domain can have (not in
    IANA's list: `pi` for `pl`).

    A fax's `l` and its `i` are one bar, and OCR takes the wrong one now and then; in a
    domain's name that is another name (`mlod.pl`), so the shapes or OCR must tell it, but a
    top-level label read so is no domain at all: there is nothing else the page could name.
    """
    want = canonical("domain", expected).split(",")
    got = canonical("domain", read).split(",")
    if want == got or len(want) != len(got):
        return False
    for printed, seen in zip(want, got, strict=True):
        if printed == seen:
            continue
        name, _, top = printed.rpartition(".")
        seen_name, _, seen_top = seen.rpartition(".")
        if seen_name != name or len(seen_top) != len(top) or seen_top in _top_levels():
            return False
        pairs = zip(top, seen_top, strict=True)
        if any(a != b and not (a in _BARS and b in seen_as) for a, b in pairs):
            return False
    return True


def _glyph_places(kind: Kind, text: str) -> list[tuple[int, str]]:
    """Which printed characters a glyph-by-glyph reading checks, and what each can be."""
    if kind == "digits":
        return [(i, DIGITS) for i in range(len(text))]
    # The case number "CS-XXXX-XXXX  wersja N  strona P/2": the id, the version and the page.
    places = [(i, CASE_ID_ALPHABET) for i in (3, 4, 5, 6, 8, 9, 10, 11)]
    version = text.index("wersja ") + len("wersja ")
    places += [(i, DIGITS) for i in range(version, text.index(" ", version))]
    places.append((text.rindex("/") - 1, DIGITS))
    return places


def _attempts(
    crop: np.ndarray, bilevel: bool, *, second_model: bool, tessdata: Path | None
) -> Iterator[tuple[np.ndarray, str]]:
    """Images and models to read a zone with, likeliest first; later ones only on a mismatch.

    Polish first; then, where the caller allows it, the English model, which reads `@` and
    digits more surely. Each is an honest reading of the same ink.
    """
    preparations = _preparations(crop, bilevel)
    for prepare in preparations:
        yield prepare(), tesseract.LANGUAGE
    if second_model and tesseract.has_language(SECOND_LANGUAGE, tessdata):
        for prepare in preparations[:2]:
            yield prepare(), SECOND_LANGUAGE


# How alike (see `compare`) the best Polish reading must be to the value for the English model
# to be asked too.
_NEAR_MISS = 0.8

# Identifiers and the case number must read exactly: one character is another person or
# another case. Names, addresses, e-mail and phone may be verified against alternatives; a
# domain only where a character was read as something no domain holds (`]` for `p`).
VERIFIABLE: frozenset[Kind] = frozenset({"text", "email", "phone"})
VERIFIABLE_JUNK: frozenset[Kind] = frozenset({"domain"})
SECOND_LANGUAGE = "eng"


def _verified(
    reading: FieldReading, kind: Kind, image: np.ndarray, *, lines: int, tessdata: Path | None
) -> FieldReading:
    """The reading, turned into a match when the expected value lines up with what
    tesseract saw, allowing a few characters from its alternatives (see `ocr.verify`)."""
    line, symbols = tesseract.read_symbols(image, dpi=300, lines=lines, tessdata=tessdata)
    while symbols and symbols[0].best in _EDGE_JUNK:
        symbols = symbols[1:]
    while symbols and symbols[-1].best in _EDGE_JUNK:
        symbols = symbols[:-1]
    used = verify(
        unicodedata.normalize("NFC", reading.expected),
        symbols,
        lambda ch: _fold_char(kind, ch),
        wildcard="@" if kind == "email" else None,
        junk_only=kind in VERIFIABLE_JUNK,
    )
    if used is None:
        return reading
    return dataclasses.replace(
        reading, read=line.text, verdict="match", method="alternatives", alternatives_used=used
    )
