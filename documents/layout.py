"""The form's geometry: every box on the page, defined once, used to draw and to read back.

Units are millimetres on an A4 page with the origin at the top-left corner, y growing down,
which is how a scan is addressed. `Box.pdf_rect` converts for the PDF (points, origin
bottom-left) and `Box.pixels` for an image at a given resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MM_TO_PT = 72 / 25.4

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0

Party = Literal["current_registrant", "new_registrant"]
PARTIES: tuple[Party, Party] = ("current_registrant", "new_registrant")

#: Page 1 is the current registrant's declaration, page 2 the new registrant's.
PAGE_OF_PARTY: dict[Party, int] = {"current_registrant": 1, "new_registrant": 2}
PARTY_OF_PAGE: dict[int, Party] = {page: party for party, page in PAGE_OF_PARTY.items()}


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in millimetres from the top-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def pdf_rect(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in PDF points, origin bottom-left."""
        return (
            self.x * MM_TO_PT,
            (PAGE_HEIGHT_MM - self.bottom) * MM_TO_PT,
            self.right * MM_TO_PT,
            (PAGE_HEIGHT_MM - self.y) * MM_TO_PT,
        )

    def pixels(self, dpi: float) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in pixels of an image of the whole page at `dpi`."""
        scale = dpi / 25.4
        return (
            round(self.x * scale),
            round(self.y * scale),
            round(self.right * scale),
            round(self.bottom * scale),
        )

    def inset(self, mm: float) -> Box:
        return Box(self.x + mm, self.y + mm, self.w - 2 * mm, self.h - 2 * mm)


@dataclass(frozen=True)
class TextStyle:
    """How a value is set in its box: the largest size, how far it may shrink, how many lines.

    A value that does not fit at `min_pt` in `max_lines` is refused when the case is created,
    so nothing is ever cut off or printed too small to read back.
    """

    font: str
    max_pt: float
    min_pt: float
    max_lines: int = 1


# Solid black squares in the four corners: the reader finds them and maps the scan onto
# this page with a homography. Order: top-left, top-right, bottom-right, bottom-left.
MARKER_SIZE_MM = 8.0
MARKERS: tuple[Box, Box, Box, Box] = (
    Box(10.0, 10.0, MARKER_SIZE_MM, MARKER_SIZE_MM),
    Box(192.0, 10.0, MARKER_SIZE_MM, MARKER_SIZE_MM),
    Box(192.0, 279.0, MARKER_SIZE_MM, MARKER_SIZE_MM),
    Box(10.0, 279.0, MARKER_SIZE_MM, MARKER_SIZE_MM),
)

# 24 mm: a QR code must be at least 20 mm wide to survive standard-resolution fax (DESIGN.md).
# The quiet zone (4 modules, about 3.3 mm) stays clear of the top-right marker.
QR_CODE = Box(164.0, 21.0, 24.0, 24.0)
QR_QUIET_ZONE_MODULES = 4

TITLE = Box(22.0, 11.0, 138.0, 8.0)
PAGE_LABEL = Box(22.0, 20.0, 138.0, 5.0)
# The printed case number, form version and page: the route when the QR code is unreadable.
CASE_NUMBER = Box(22.0, 27.0, 138.0, 9.0)
CASE_NUMBER_STYLE = TextStyle("DejaVuSansMono-Bold", 15.0, 15.0)

LABEL_COLUMN_X = 22.0
LABEL_PT = 7.5

DOMAINS = Box(50.0, 49.0, 140.0, 14.5)

# Each party block repeats the same field boxes, shifted down.
PARTY_BLOCK_TOP: dict[Party, float] = {"current_registrant": 65.0, "new_registrant": 116.0}
PARTY_HEADING_HEIGHT_MM = 5.0

# Field boxes within a party block, relative to the block's top (below its heading).
_PARTY_FIELDS: dict[str, Box] = {
    "name": Box(50.0, 0.0, 140.0, 10.0),
    "id_number": Box(50.0, 11.0, 40.0, 5.2),
    "regon": Box(106.0, 11.0, 32.0, 5.2),
    "krs": Box(152.0, 11.0, 38.0, 5.2),
    "representatives": Box(50.0, 17.0, 140.0, 9.5),
    "street": Box(50.0, 27.5, 140.0, 5.2),
    "postal_city": Box(50.0, 33.5, 140.0, 5.2),
    "email": Box(50.0, 39.5, 82.0, 5.2),
    "phone": Box(146.0, 39.5, 44.0, 5.2),
}
PARTY_FIELD_NAMES: tuple[str, ...] = tuple(_PARTY_FIELDS)

# Where each value's label starts (the label's words are in `wording`).
PARTY_LABEL_X: dict[str, float] = {
    "name": LABEL_COLUMN_X,
    "id_number": LABEL_COLUMN_X,
    "regon": 93.0,
    "krs": 141.0,
    "representatives": LABEL_COLUMN_X,
    "street": LABEL_COLUMN_X,
    "postal_city": LABEL_COLUMN_X,
    "email": LABEL_COLUMN_X,
    "phone": 134.0,
}

# Values are bold at 12 pt: strokes that survive a 98 dpi fax (regular 11 pt read back
# half as often there), shrinking to 7 pt for the longest values the API accepts.
_VALUE = TextStyle("DejaVuSans-Bold", 12.0, 7.0)
_VALUE_2 = TextStyle("DejaVuSans-Bold", 12.0, 7.0, max_lines=2)
_NUMBER = TextStyle("DejaVuSansMono-Bold", 12.0, 9.0)

#: How each field's value is set; keys as in `FIELD_BOXES` without the party prefix.
FIELD_STYLES: dict[str, TextStyle] = {
    "domains": TextStyle("DejaVuSans-Bold", 12.0, 8.0, max_lines=4),
    "name": _VALUE_2,
    "id_number": _NUMBER,
    "regon": _NUMBER,
    "krs": _NUMBER,
    "representatives": _VALUE_2,
    "street": _VALUE,
    "postal_city": _VALUE,
    "email": _VALUE,
    "phone": TextStyle("DejaVuSans-Bold", 12.0, 8.0),
}

DECLARATION = Box(22.0, 168.0, 168.0, 36.0)

# Where the party signs, and where a company stamps. Each is a PDF signature field or widget
# in the generated form, and the ink detector looks only inside these.
SIGNATURE = Box(22.0, 207.0, 84.0, 32.0)
STAMP = Box(112.0, 207.0, 78.0, 32.0)
BOX_CAPTION_Y = 240.0
# "Firma nie posiada pieczęci": a tick box a company without a stamp marks instead.
NO_STAMP_TICK = Box(112.0, 244.0, 4.5, 4.5)

INSTRUCTIONS = Box(22.0, 250.5, 168.0, 27.0)


def party_field_box(party: Party, field: str) -> Box:
    """The box of one of a party's fields, e.g. ("new_registrant", "name")."""
    rel = _PARTY_FIELDS[field]
    top = PARTY_BLOCK_TOP[party] + PARTY_HEADING_HEIGHT_MM
    return Box(rel.x, top + rel.y, rel.w, rel.h)


def field_boxes() -> dict[str, Box]:
    """Every printed-value box on a page, by field name (`domains`, `new_registrant.email`…).

    Both pages print all the case data, so both have the same field boxes.
    """
    boxes = {"domains": DOMAINS}
    for party in PARTIES:
        for field in PARTY_FIELD_NAMES:
            boxes[f"{party}.{field}"] = party_field_box(party, field)
    return boxes


FIELD_BOXES: dict[str, Box] = field_boxes()


def field_style(field: str) -> TextStyle:
    """The style of a field named like `FIELD_BOXES` (`new_registrant.email`, `domains`)."""
    return FIELD_STYLES[field.rsplit(".", 1)[-1]]
