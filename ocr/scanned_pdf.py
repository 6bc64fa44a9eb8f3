"""Telling a scanned PDF page from a drawn one, and taking a scan's image as it was scanned.

A scanner's or fax gateway's PDF page is one image drawn over the page. Its pixels are the
scan: taking them avoids resampling, and costs a JPEG or G4 decode instead of a render. A
page is taken as a scan when its content, followed operator by operator, draws exactly one
image over at least 90% of the visible page, turned by a multiple of a quarter, and nothing
else visible (an invisible OCR text layer is allowed). Anything else is rendered.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from pypdf import PageObject
from pypdf.generic import ContentStream, EncodedStreamObject, StreamObject

from ocr.pdf_budget import images_in

#: A scanned PDF page is one image covering at least this share of the visible page ...
SCAN_MIN_COVERAGE = 0.9
#: ... and not much larger than it (the rest would be invisible, yet read).
SCAN_MAX_OVERHANG = 1.1

_T = Image.Transpose
#: A page's /Rotate turns it clockwise for display.
_PAGE_ROTATE = {90: _T.ROTATE_270, 180: _T.ROTATE_180, 270: _T.ROTATE_90}

#: Filters whose output is the samples as they are, and the Pillow mode of those samples by
#: (samples a pixel, bits a sample).
_STREAM_FILTERS = {
    "/FlateDecode",
    "/LZWDecode",
    "/RunLengthDecode",
    "/ASCII85Decode",
    "/ASCIIHexDecode",
}
_RAW_MODES: dict[tuple[int | None, int], str] = {(1, 1): "1", (1, 8): "L", (3, 8): "RGB"}

_PAINTS = {b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*", b"sh", b"INLINE IMAGE"}
_SHOWS_TEXT = {b"Tj", b"TJ", b"'", b'"'}
#: Text render modes 3 and 7 draw nothing: OCR software lays its text over a scan unseen.
_INVISIBLE_TEXT = (3, 7)
#: Forms within forms are followed this deep; scanners wrap their image in one at most.
_FORM_DEPTH = 4
#: Operators followed before a page is taken for a drawing: a scanned page has a dozen.
_SCAN_MAX_OPERATORS = 2_000

_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

Matrix = tuple[float, ...]  # a PDF transformation matrix [a b c d e f]


@dataclass(frozen=True)
class EmbeddedScan:
    """The image a scanned page is, opened (a JPEG or a fax image not yet decoded: the caller
    decodes it within its budget), with how to show it as the page shows it."""

    image: Image.Image
    resolution: tuple[float, float]  # dots an inch along the image's rows and columns
    turns: tuple[Image.Transpose, ...]  # its placement on the page, then the page's /Rotate


def embedded_scan(pdf_page: PageObject) -> EmbeddedScan | None:
    """The page's scanned image, or None when the page is to be rendered instead.

    None also for an image pypdf cannot decode (JBIG2 without jbig2dec) or would misread
    (2-D G3): poppler reads those. Pillow's DecompressionBombError is raised.
    """
    found = _scan_image(pdf_page)
    if found is None:
        return None
    xobject, ctm, placement = found
    try:
        image = _opened_image(xobject)
    except Image.DecompressionBombError:
        raise
    except Exception:
        return None
    a, b, c, d = ctm[:4]
    drawn_inches = (math.hypot(a, b) / 72, math.hypot(c, d) / 72)
    resolution = (image.width / drawn_inches[0], image.height / drawn_inches[1])
    rotation = int(pdf_page.rotation) % 360
    page_turn = (_PAGE_ROTATE[rotation],) if rotation in _PAGE_ROTATE else ()
    return EmbeddedScan(image=image, resolution=resolution, turns=placement + page_turn)


# --- is the page a scan? --------------------------------------------------------------------


@dataclass
class _Marks:
    """What a page's content draws: images with where they go, and anything else visible."""

    images: list[tuple[StreamObject, Matrix]] = field(default_factory=list)
    visible: int = 0
    operators: int = 0

    def settled(self) -> bool:
        """Whether the page is known not to be a scan: no need to follow the rest."""
        return self.visible > 0 or len(self.images) > 1 or self.operators > _SCAN_MAX_OPERATORS


def _scan_image(
    pdf_page: PageObject,
) -> tuple[StreamObject, Matrix, tuple[Image.Transpose, ...]] | None:
    """The image that is the whole page, where it goes and how it is turned; else None."""
    resources = pdf_page.get("/Resources")
    if next(images_in(resources), None) is None:
        return None
    marks = _Marks()
    try:
        _walk(pdf_page.get_contents(), resources, _IDENTITY, marks, 0)
    except Exception:
        # A content stream too odd to follow here is still a page poppler can render.
        return None
    if marks.settled() or len(marks.images) != 1:
        return None
    xobject, ctm = marks.images[0]
    placement = _placement(ctm)
    if placement is None or not _covers_page(ctm, pdf_page) or _misread_by_pypdf(xobject):
        return None
    return xobject, ctm, placement


def _walk(content: Any, resources: Any, ctm: Matrix, marks: _Marks, depth: int) -> None:
    """Follow a content stream's graphics state, noting images drawn and visible marks."""
    operations = content.operations if isinstance(content, ContentStream) else []
    xobjects = resources.get_object().get("/XObject") if resources else None
    xobjects = xobjects.get_object() if xobjects else {}
    stack: list[tuple[Matrix, int]] = []
    render_mode = 0
    for operands, operator in operations:
        marks.operators += 1
        if marks.settled():
            return
        if operator == b"q":
            stack.append((ctm, render_mode))
        elif operator == b"Q" and stack:
            ctm, render_mode = stack.pop()
        elif operator == b"cm":
            ctm = _concat(tuple(float(v) for v in operands), ctm)
        elif operator == b"Tr":
            render_mode = int(operands[0])
        elif _is_visible(operator, render_mode):
            marks.visible += 1
        elif operator == b"Do":
            _draw_xobject(xobjects.get(operands[0]), ctm, marks, depth)


def _is_visible(operator: bytes, render_mode: int) -> bool:
    """Whether the operator paints something: a path, a shading, an inline image, or text
    in a render mode that shows it."""
    if operator in _SHOWS_TEXT:
        return render_mode not in _INVISIBLE_TEXT
    return operator in _PAINTS


def _draw_xobject(ref: Any, ctm: Matrix, marks: _Marks, depth: int) -> None:
    if ref is None:
        return
    xobject = ref.get_object()
    if xobject.get("/Subtype") == "/Image":
        marks.images.append((xobject, ctm))
    elif xobject.get("/Subtype") == "/Form" and depth < _FORM_DEPTH:
        matrix = tuple(float(v) for v in xobject.get("/Matrix", _IDENTITY))
        form = ContentStream(xobject, None)
        _walk(form, xobject.get("/Resources"), _concat(matrix, ctm), marks, depth + 1)


def _concat(m: Matrix, ctm: Matrix) -> Matrix:
    """`m` applied before `ctm`, as the PDF `cm` operator does."""
    a, b, c, d, e, f = m
    ca, cb, cc, cd, ce, cf = ctm
    return (
        a * ca + b * cc,
        a * cb + b * cd,
        c * ca + d * cc,
        c * cb + d * cd,
        e * ca + f * cc + ce,
        e * cb + f * cd + cf,
    )


def _covers_page(ctm: Matrix, pdf_page: PageObject) -> bool:
    a, b, c, d, e, f = ctm
    xs = (e, e + a, e + c, e + a + c)
    ys = (f, f + b, f + d, f + b + d)
    box = pdf_page.cropbox
    left, bottom, right, top = (float(v) for v in (box.left, box.bottom, box.right, box.top))
    page_area = (right - left) * (top - bottom)
    if page_area <= 0:
        return False
    overlap_w = max(0.0, min(max(xs), right) - max(min(xs), left))
    overlap_h = max(0.0, min(max(ys), top) - max(min(ys), bottom))
    image_area = (max(xs) - min(xs)) * (max(ys) - min(ys))
    covered = overlap_w * overlap_h / page_area
    return covered >= SCAN_MIN_COVERAGE and image_area <= SCAN_MAX_OVERHANG * page_area


def _placement(ctm: Matrix) -> tuple[Image.Transpose, ...] | None:
    """The transposition that shows the image's pixels as they lie on the page: () if none.

    An image's first row is drawn at the top of its unit square (y = 1); the matrix maps
    that square onto the page. Only the eight quarter-turn placements are taken as scans:
    None for any other.
    """
    a, b, c, d = ctm[:4]
    scale = max(abs(a), abs(b), abs(c), abs(d))
    straight = abs(b) <= 1e-3 * scale and abs(c) <= 1e-3 * scale
    turned = abs(a) <= 1e-3 * scale and abs(d) <= 1e-3 * scale
    if straight:
        return {
            (True, True): (),
            (True, False): (_T.FLIP_TOP_BOTTOM,),
            (False, True): (_T.FLIP_LEFT_RIGHT,),
            (False, False): (_T.ROTATE_180,),
        }[(a > 0, d > 0)]
    if turned:
        return {
            (False, False): (_T.TRANSPOSE,),
            (True, False): (_T.ROTATE_90,),
            (False, True): (_T.ROTATE_270,),
            (True, True): (_T.TRANSVERSE,),
        }[(b > 0, c > 0)]
    return None


# --- decoding the image -----------------------------------------------------------------------


def _misread_by_pypdf(xobject: StreamObject) -> bool:
    """Whether pypdf would decode the image wrongly without saying so.

    It hands CCITT data to libtiff as 1-D coding whatever /K says and ignores
    /EncodedByteAlign: 2-D G3 comes out as noise. G4 (K < 0) and 1-D G3 are read right.
    """
    if _filters(xobject)[-1:] != ["/CCITTFaxDecode"]:
        return False
    parms = xobject.get("/DecodeParms")
    parms = parms.get_object() if parms is not None else {}
    if isinstance(parms, list):
        parms = parms[-1].get_object() if parms else {}
    return int(parms.get("/K", 0)) > 0 or bool(parms.get("/EncodedByteAlign", False))


def _opened_image(xobject: StreamObject) -> Image.Image:
    """An image XObject as a Pillow image: a JPEG or fax image opened and not yet decoded,
    raw samples wrapped as they are.

    pypdf's own decoder re-encodes every image before handing it over (PNG for a Flate
    image: about 100 ms a page), so the encodings scanners write are opened here directly;
    masks, /Decode arrays, palettes, CMYK, JPEG 2000 and JBIG2 are left to pypdf.
    """
    try:
        image = _pillow_image(xobject) if _plain(xobject) else xobject.decode_as_image()
    finally:
        # pypdf keeps a stream's decoded bytes on the object, which the reader keeps: one
        # page's pixels each, for as long as the file is open, unless dropped here.
        if isinstance(xobject, EncodedStreamObject):
            xobject.decoded_self = None
    return image


def _pillow_image(xobject: StreamObject) -> Image.Image:
    data = xobject.get_data()  # the filters undone, except DCT and CCITT (as a TIFF)
    last_filter = _filters(xobject)[-1:]
    if last_filter == ["/DCTDecode"]:
        return Image.open(io.BytesIO(data), formats=("JPEG",))
    if last_filter == ["/CCITTFaxDecode"]:
        return Image.open(io.BytesIO(data), formats=("TIFF",))
    mode = _RAW_MODES[(_components(xobject), int(xobject.get("/BitsPerComponent", 0)))]
    size = (int(xobject.get("/Width", 0)), int(xobject.get("/Height", 0)))
    return Image.frombuffer(mode, size, data, "raw", mode, 0, 1)


def _plain(xobject: StreamObject) -> bool:
    """Whether the image's samples are grey or RGB as stored, with nothing to apply on top."""
    if any(key in xobject for key in ("/Decode", "/SMask", "/Mask", "/ImageMask")):
        return False
    filters = _filters(xobject)
    if filters[-1:] in (["/DCTDecode"], ["/CCITTFaxDecode"]):
        return set(filters[:-1]) <= _STREAM_FILTERS and _components(xobject) in (1, 3)
    if not set(filters) <= _STREAM_FILTERS:
        return False
    return (_components(xobject), int(xobject.get("/BitsPerComponent", 0))) in _RAW_MODES


def _filters(xobject: StreamObject) -> list[str]:
    filters = xobject.get("/Filter")
    if filters is None:
        return []
    filters = filters.get_object()
    return [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]


def _components(xobject: StreamObject) -> int | None:
    """How many samples a pixel has, for the colour spaces scanners use; else None."""
    space = xobject.get("/ColorSpace")
    space = space.get_object() if space is not None else None
    family = space[0] if isinstance(space, list) and space else space
    if family in ("/DeviceGray", "/CalGray"):
        return 1
    if family in ("/DeviceRGB", "/CalRGB"):
        return 3
    if family == "/ICCBased" and isinstance(space, list) and len(space) == 2:
        return int(space[1].get_object().get("/N", 0)) or None
    return None
