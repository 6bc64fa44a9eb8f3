"""From a received scan file to page images: judge its type by content, check it, stream its pages.

The first step of reading a scan. `probe_file` is the quick check made while the upload is
still open; `iter_pages` decodes one page at a time for the worker. Every page comes out
greyscale with square pixels and a resolution, whatever it arrived as:

- TIFF (fax G3/G4, LZW, JPEG, none), PNG, JPEG: decoded by Pillow, a multi-page TIFF frame
  by frame;
- a scanned PDF page (one image over the whole page): that image, taken as it is
  (`ocr.scanned_pdf` tells a scan from a drawn page);
- any other PDF page (vector, or an image pypdf cannot decode, such as JBIG2): rendered by
  PDFium (documents.raster).

A fax's 204×98 dpi pixels are twice as tall as wide; OCR accuracy halves unless the rows are
stretched to square pixels first (DESIGN.md), so every page is stretched here, once.

Every page is decoded under a budget: what the decoder allocates at full size is known from
the header before it runs (DECODE_BUDGET_BYTES), a page finer than the reader needs is reduced
while it is decoded (JPEG's own scaling) or at once after (READ_DPI), a PDF page is drawn only
when what it would draw is counted and small (`ocr.pdf_budget`). The worker's own memory and
time limits, set by `cesja`, catch whatever these miss.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import DictionaryObject

from documents import raster
from documents.errors import DocumentsError
from ocr.errors import (
    CorruptFile,
    EncryptedFile,
    OcrError,
    TooComplex,
    TooManyPages,
    UnsupportedType,
)
from ocr.pdf_budget import count_pages, drawing_cost, images_in
from ocr.scanned_pdf import EmbeddedScan, embedded_scan

PDF = "application/pdf"
TIFF = "image/tiff"
PNG = "image/png"
JPEG = "image/jpeg"
ACCEPTED = "a PDF, TIFF, PNG or JPEG file"

#: The PDF spec lets a reader find `%PDF-` anywhere in the first 1024 bytes.
HEAD_BYTES = 1024

#: Larger pages are refused: an A3 page scanned at 600 dpi is 70 megapixels, and a
#: decompression bomb claims billions. Greyscale and colour copies of 120 MP take 480 MB.
MAX_PAGE_PIXELS = 120_000_000

#: Resolutions outside this range are not measurements: tagless files read as 1 or 72 dpi.
PLAUSIBLE_DPI = (50.0, 1200.0)
#: x/y resolution ratios outside this range are not a fax's (204/98 = 2.08) nor anything else.
PLAUSIBLE_ASPECT = (0.4, 2.5)
#: No page we receive is wider than A3's short side (297 mm), with a margin.
MAX_SHORT_SIDE_INCHES = 297 / 25.4 * 1.1
#: Resolutions closer than this are square: 1% of a page is under the aligner's tolerance.
SQUARE_TOLERANCE = 0.01

#: Fax lines are 1728 (A4), 2048 (B4) or 2432 (A3) pixels at 8 dots/mm, about 204 dpi.
FAX_LINE_WIDTHS = (1728, 2048, 2432)
FAX_WIDTH_SLACK = 16
FAX_DPI_X = 204.0
#: Fax lines an inch (standard, fine, superfine), by the page's height/width ratio: an A4
#: page is 0.66 as tall as wide at standard resolution, 1.33 at fine and 2.65 at superfine.
FAX_LINES_BY_RATIO = ((0.9, 98.0), (2.0, 196.0), (math.inf, 391.0))

A4_SHORT_SIDE_INCHES = 210 / 25.4
#: An estimate within 4% of a resolution scanners offer is taken to be it: US Letter is
#: 3% wider than A4, so a Letter page at 300 dpi estimates at 308.
SCANNER_DPIS = (72, 96, 100, 150, 200, 240, 300, 400, 600, 1200)
SCANNER_DPI_SLACK = 0.04

#: A colour page has this share of clearly coloured pixels: a blue signature or red stamp on
#: A4 is 0.1–0.2%; a grey page stored as RGB, even as JPEG, has none.
COLOUR_MIN_SHARE = 0.0002
COLOUR_MIN_SPREAD = 40

#: Counting a TIFF's pages walks its directory chain; past this the count is "more than".
TIFF_COUNT_CEILING = 2000

#: What decoding one page may allocate at its full size (a colour A4 page at 300 dpi is 35 MB
#: as Pillow holds it: four bytes a pixel). A JPEG is measured after its own scaling.
DECODE_BUDGET_BYTES = 128 * 1024 * 1024
#: The resolution the reader needs. A page finer than MAX_READ_DPI is reduced by a whole
#: factor towards it as it is decoded: a 1200 dpi page costs what a 300 dpi one does.
READ_DPI = 300.0
MAX_READ_DPI = 400.0
#: A PDF page rendered (not a scan) has at most this many pixels: A3 at 300 dpi is 17 million.
RENDER_MAX_PIXELS = 36_000_000
#: Bytes a pixel takes as Pillow decodes it, by mode: 1-bit pages take a byte a pixel, colour
#: four; 16-bit and float pages are converted on the way, counted as twice as much.
_DECODED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 4, "I;16B": 4, "I": 8, "F": 8}
#: A progressive JPEG keeps every coefficient of the whole image while it decodes, whatever
#: scale it decodes at: two bytes per sample.
_PROGRESSIVE_BYTES_PER_SAMPLE = 2

_PILLOW_FORMATS = {TIFF: ("TIFF",), PNG: ("PNG",), JPEG: ("JPEG", "MPO")}
_SOURCE = {TIFF: "tiff", PNG: "png", JPEG: "jpeg"}
_KIND = {PDF: "PDF", TIFF: "TIFF", PNG: "PNG", JPEG: "JPEG"}

_T = Image.Transpose
#: EXIF/TIFF orientation tag values, as the transposition that shows the page upright.
_ORIENTATION = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_270,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_90,
}
_SWAPS_AXES = {_T.TRANSPOSE, _T.TRANSVERSE, _T.ROTATE_90, _T.ROTATE_270}


@dataclass(frozen=True)
class FileInfo:
    """What the upload check learnt: the type by content, and the number of pages."""

    media_type: str  # "application/pdf" | "image/tiff" | "image/png" | "image/jpeg"
    page_count: int


# eq=False: the fields hold arrays, which neither compare to a bool nor hash.
@dataclass(frozen=True, eq=False)
class PageImage:
    """One page, decoded: greyscale with square pixels, and colour when there was any.

    `gray` is read-only: it may be the decoder's own buffer, and a step that changes the
    page (streak removal) works on a copy.
    """

    index: int  # 0-based position of the page in the file
    gray: np.ndarray  # uint8 H×W, square pixels (fax already stretched), 0 = black
    dpi: float  # resolution of `gray` after stretching (from the file, or estimated)
    color: np.ndarray | None  # uint8 H×W×3 BGR, same geometry as `gray`; None when grey
    source: str  # "pdf-image" | "pdf-render" | "tiff" | "png" | "jpeg"
    bilevel: bool  # the source was 1-bit (fax, G3/G4, bilevel PNG): thresholds differ
    stretched: bool  # rows (or columns) were stretched: the source had non-square pixels
    coarse_dpi: float  # the source's coarser resolution: a standard fax's 98 lines an inch

    def __post_init__(self) -> None:
        self.gray.flags.writeable = False


def sniff(head: bytes) -> str | None:
    """The media type that the first bytes of a file show, or None when it is none we accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    # Junk before `%PDF-` is a mail header or a gateway's prefix, never another format: a
    # ZIP holding a PDF, or a web page quoting one, is not a PDF.
    if _lookalike(head) is None and b"%PDF-" in head[:HEAD_BYTES]:
        return PDF
    return None


def probe_file(path: Path, *, max_pages: int) -> FileInfo:
    """Type, page count and a structural check, without decoding the pages: for upload time.

    Its work follows the file's size, never what the file claims: the page tree and each
    page's images are walked with a budget, headers are read, no page is decoded or drawn.
    Raises UnsupportedType, CorruptFile, EncryptedFile, TooManyPages or TooComplex with a
    message for the sender. An OSError reading `path` is the store's failure, not the
    file's, and is raised.
    """
    media_type = _media_type(path)
    if media_type == PDF:
        with _open_pdf(path) as reader:
            count = _check_pdf(reader, max_pages)
    else:
        count = _check_raster(path, media_type, max_pages)
        if media_type != TIFF:
            _check_complete(path, media_type)
    return FileInfo(media_type=media_type, page_count=count)


def read_page_image(path: Path, index: int, *, max_pages: int, render_dpi: int = 300) -> PageImage:
    """Page `index` (0-based) of the file at `path`, decoded under the page's budget.

    For a worker reading one page of a file: the file's structure is checked as far as that
    page needs (its type, the page count), then only that page is decoded. Raises as
    `probe_file` does, and CorruptFile or TooComplex naming the page when it cannot be read.
    """
    media_type = _media_type(path)
    if media_type == PDF:
        with _kept_pdf(path, max_pages) as (reader, count):
            _check_index(index, count)
            return _pdf_page(path.read_bytes, reader, index, render_dpi)
    count = _check_raster(path, media_type, max_pages)
    _check_index(index, count)
    with _open_image(path, media_type) as image:
        return _raster_page_at(image, index, media_type)


def iter_pages(path: Path, *, max_pages: int, render_dpi: int = 300) -> Iterator[PageImage]:
    """The pages of the file at `path`, decoded one at a time, in order.

    The whole file is checked as by `probe_file` when this is called, so its errors come from
    the call; a page that cannot be decoded raises CorruptFile, naming it, when it is reached.
    Pages are decoded only as they are asked for, so a caller that lets each go before taking
    the next holds one page at a time: a 100-page fax costs the memory of one page.
    """
    media_type = _media_type(path)
    if media_type == PDF:
        with _open_pdf(path) as reader:
            count = _check_pdf(reader, max_pages)
        return _pdf_pages(path, count, render_dpi)
    count = _check_raster(path, media_type, max_pages)
    return _raster_pages(path, media_type, count)


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise CorruptFile(f"the file has {count} page(s); there is no page {index + 1}")


# --- type and errors ------------------------------------------------------------------------


def _media_type(path: Path) -> str:
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    media_type = sniff(head)
    if media_type is None:
        raise UnsupportedType(f"{_what_it_is(head)}; send {ACCEPTED}")
    return media_type


def _what_it_is(head: bytes) -> str:
    """A person's words for what was sent instead, judged by content."""
    if not head:
        return "the file is empty"
    return _lookalike(head) or "the file is not a PDF, TIFF, PNG or JPEG by its content"


def _lookalike(head: bytes) -> str | None:
    """What a file is when it is one of the other things people send as a scan."""
    if head.startswith(b"PK\x03\x04"):
        return "the file is a ZIP archive (a Word or OpenDocument file is one), not a scan"
    if head.startswith(b"GIF8"):
        return "the file is a GIF image, which is not accepted"
    if head.lstrip()[:64].lower().startswith((b"<!doctype html", b"<html")):
        return "the file is a web page (HTML), not a scan"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "the file is a HEIC photo; export it as JPEG"
    return None


def _reason(err: BaseException) -> str:
    # Decoders name the file they were given: a path on this server, which no sender may see.
    text = re.sub(r"""'[^'\n]*/[^'\n]*'|(?<![\w.:/~-])/[^\s'",;)]+""", "…", str(err))
    text = text.strip() or type(err).__name__
    return text if len(text) <= 200 else text[:200] + "…"


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """Whatever a decoder raises on bad bytes becomes CorruptFile, saying `what` failed.

    Untrusted bytes reach pypdf, Pillow, libtiff and OpenCV, which raise anything from
    KeyError to cv2.error on a damaged file; a bad file must never take a worker down.
    """
    try:
        yield
    except OcrError:
        raise
    except Image.DecompressionBombError as err:
        raise CorruptFile(f"{what}: the image is implausibly large ({_reason(err)})") from err
    except MemoryError as err:
        # The worker's address-space limit refused an allocation: the page, not the file's
        # bytes, is at fault, and the same page would be refused again.
        raise TooComplex(f"{what}: decoding it needs more memory than a page may use") from err
    except Exception as err:
        raise CorruptFile(f"{what}: {_reason(err)}") from err


def _check_pixels(width: int, height: int, page: int) -> None:
    if width <= 0 or height <= 0:
        raise CorruptFile(f"page {page} has no size ({width}×{height} pixels)")
    if width * height > MAX_PAGE_PIXELS:
        raise CorruptFile(
            f"page {page} is {width}×{height} pixels, more than the "
            f"{MAX_PAGE_PIXELS // 1_000_000} megapixels accepted for a page; scan at 300 dpi"
        )


def _check_count(count: int, max_pages: int, *, at_least: bool = False) -> None:
    if count == 0:
        raise CorruptFile("the file has no pages")
    if count > max_pages:
        many = f"at least {count}" if at_least else str(count)
        raise TooManyPages(f"the file has {many} pages; at most {max_pages} are accepted in one")


# --- raster files: TIFF, PNG, JPEG ----------------------------------------------------------


def _open_image(path: Path, media_type: str) -> Image.Image:
    with _decoding(f"the {_KIND[media_type]} file cannot be read (it may be damaged)"):
        return Image.open(path, formats=_PILLOW_FORMATS[media_type])


def _check_raster(path: Path, media_type: str, max_pages: int) -> int:
    """The number of pages, after checking each one's size and decoding cost (and a TIFF's,
    its data's extent)."""
    with _open_image(path, media_type) as image:
        if media_type == TIFF:
            return _check_tiff(image, path.stat().st_size, max_pages)
        _check_pixels(image.width, image.height, 1)
        _check_decode_budget(image, _declared_resolution(image), 1)
    _check_count(1, max_pages)
    return 1


def _check_complete(path: Path, media_type: str) -> None:
    """A PNG or JPEG is all there: what a TIFF's strip offsets show, these show only by reading.

    Neither is decoded: a PNG's chunks are walked with their checksums, a JPEG must end in
    its end-of-image marker. Decoding, in the worker, finds any other damage.
    """
    if media_type == JPEG:
        if not _ends_like_a_jpeg(path):
            raise CorruptFile("the JPEG file is damaged or truncated: its end is missing")
        return
    with (
        _open_image(path, media_type) as image,
        _decoding(f"the {_KIND[media_type]} file is damaged or truncated"),
    ):
        image.verify()  # walks every chunk and its checksum, without inflating the pixels


#: Bytes at the end of a JPEG where its end-of-image marker is looked for: cameras and phones
#: append a little after it now and then.
_JPEG_TAIL_BYTES = 4096


def _ends_like_a_jpeg(path: Path) -> bool:
    size = path.stat().st_size
    with path.open("rb") as file:
        file.seek(max(0, size - _JPEG_TAIL_BYTES))
        return b"\xff\xd9" in file.read()


def _check_tiff(image: Image.Image, file_size: int, max_pages: int) -> int:
    count = 0
    ceiling = max(TIFF_COUNT_CEILING, max_pages + 1)
    while count < ceiling:
        with _decoding(f"page {count + 1} of the TIFF file is damaged"):
            try:
                image.seek(count)
            except EOFError:
                break
            count += 1
            if count <= max_pages:
                _check_pixels(image.width, image.height, count)
                _check_decode_budget(image, _declared_resolution(image), count)
                _check_tiff_data(image, file_size, count)
    _check_count(count, max_pages, at_least=count == ceiling)
    return count


def _check_tiff_data(image: Image.Image, file_size: int, page: int) -> None:
    """The page's strips or tiles lie inside the file: what a truncated upload breaks."""
    tags = image.tag_v2  # type: ignore[attr-defined]
    offsets = tags.get(273) or tags.get(324)  # StripOffsets, TileOffsets
    counts = tags.get(279) or tags.get(325)  # StripByteCounts, TileByteCounts
    if not offsets:
        raise CorruptFile(f"page {page} of the TIFF file has no image data")
    if counts and max(o + c for o, c in zip(offsets, counts, strict=False)) > file_size:
        raise CorruptFile(f"the TIFF file is truncated: page {page}'s data runs past its end")


def _raster_pages(path: Path, media_type: str, count: int) -> Iterator[PageImage]:
    with _open_image(path, media_type) as image:
        for index in range(count):
            yield _raster_page_at(image, index, media_type)


def _raster_page_at(image: Image.Image, index: int, media_type: str) -> PageImage:
    with _decoding(f"page {index + 1} of the {_KIND[media_type]} file is damaged"):
        image.seek(index)
        return _raster_page(image, index, _SOURCE[media_type])


def _raster_page(image: Image.Image, index: int, source: str) -> PageImage:
    declared = _declared_resolution(image)
    if image.format == "TIFF":
        orientation = image.tag_v2.get(274, 1)  # type: ignore[attr-defined]
    else:
        orientation = image.getexif().get(274, 1)
    turns = (_ORIENTATION[orientation],) if orientation in _ORIENTATION else ()
    bilevel = _is_bilevel(image)
    decoded, declared = _decoded(image, declared, index + 1)
    upright, declared = _turned(_normalised(decoded), declared, turns)
    return _page(index, upright, declared, source=source, bilevel=bilevel)


# --- decoding within the page's budget --------------------------------------------------------


def _reduction(size: tuple[int, int], declared: tuple[float, float] | None) -> int:
    """The whole factor a page is reduced by as it is decoded: 1 up to MAX_READ_DPI.

    Judged on the coarser axis, so a fax's 98 lines an inch are never reduced.
    """
    dpi = min(declared or _inferred_resolution(*size))
    if dpi <= MAX_READ_DPI:
        return 1
    return max(2, round(dpi / READ_DPI))


def _decode_cost(image: Image.Image, declared: tuple[float, float] | None) -> int:
    """What decoding `image` allocates, in bytes, at the scale it is decoded at."""
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        # JPEG decodes at 1/2, 1/4 or 1/8 of its size when asked: the reduction, or less.
        scale = min(8, 1 << (_reduction(image.size, declared).bit_length() - 1))
        cost = math.ceil(width / scale) * math.ceil(height / scale) * 4
        if image.info.get("progressive"):
            samples = width * height * len(image.getbands())
            cost += samples * _PROGRESSIVE_BYTES_PER_SAMPLE
        return cost
    return width * height * _DECODED_BYTES.get(image.mode, 4)


def _check_decode_budget(
    image: Image.Image, declared: tuple[float, float] | None, page: int
) -> None:
    cost = _decode_cost(image, declared)
    if cost > DECODE_BUDGET_BYTES:
        mb = 1024 * 1024
        kind = "a colour" if image.mode not in ("1", "L") else "an"
        raise TooComplex(
            f"page {page} is {kind} image of {image.width}×{image.height} pixels: decoding it "
            f"needs {cost // mb} MB, more than the {DECODE_BUDGET_BYTES // mb} MB a page may "
            "take; scan it at 300 dpi, or send it as JPEG"
        )


def _decoded(
    image: Image.Image, declared: tuple[float, float] | None, page: int
) -> tuple[Image.Image, tuple[float, float] | None]:
    """`image` decoded within the page's budget and, when finer than the reader needs, reduced
    towards READ_DPI; with its declared resolution scaled alike."""
    _check_decode_budget(image, declared, page)
    factor = _reduction(image.size, declared)
    full = image.size
    if factor > 1 and image.format in ("JPEG", "MPO"):
        image.draft(image.mode, (math.ceil(full[0] / factor), math.ceil(full[1] / factor)))
    image.load()
    rest = max(1, round(factor * image.size[0] / full[0]))
    if rest > 1:
        image = _reduced_bilevel(image, rest) if image.mode == "1" else _reduced(image, rest)
    if declared and image.size != full:
        declared = (
            declared[0] * image.size[0] / full[0],
            declared[1] * image.size[1] / full[1],
        )
    return image, declared


#: Modes Pillow's `reduce` averages directly; others are made RGB(A) first.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}
#: Rows of a 1-bit page unpacked at once while it is reduced.
_BAND_ROWS = 512


def _reduced(image: Image.Image, factor: int) -> Image.Image:
    if image.mode not in _REDUCIBLE:
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.reduce(factor)


def _reduced_bilevel(image: Image.Image, factor: int) -> Image.Image:
    """A 1-bit page averaged over factor×factor blocks into grey, a band at a time: the page
    is never held at a byte a pixel a second time."""
    width, height = image.size
    out_width, out_height = width // factor, height // factor
    reduced = Image.new("L", (out_width, out_height))
    band = max(1, _BAND_ROWS // factor)
    for top in range(0, out_height, band):
        bottom = min(out_height, top + band)
        rows = image.crop((0, top * factor, out_width * factor, bottom * factor))
        reduced.paste(rows.convert("L").reduce(factor), (0, top))
    return reduced


def _turned(
    image: Image.Image, resolution: tuple[float, float] | None, turns: tuple[Image.Transpose, ...]
) -> tuple[Image.Image, tuple[float, float] | None]:
    """`image` turned upright, with its resolution's axes following the pixels'."""
    for turn in turns:
        image = image.transpose(turn)
        if resolution and turn in _SWAPS_AXES:
            resolution = (resolution[1], resolution[0])
    return image, resolution


def _declared_resolution(image: Image.Image) -> tuple[float, float] | None:
    """The resolution the file states, (x, y) in dpi, or None when it states none we can trust.

    TIFF tags are read directly: Pillow reports a tagless TIFF as 1 dpi.
    """
    if image.format == "TIFF":
        tags = image.tag_v2  # type: ignore[attr-defined]
        x, y = tags.get(282), tags.get(283)
        if not x or not y:
            return None
        per_cm = tags.get(296) == 3
        resolution = (float(x) * 2.54, float(y) * 2.54) if per_cm else (float(x), float(y))
    else:
        dpi = image.info.get("dpi")
        if not dpi:
            return None
        resolution = (float(dpi[0]), float(dpi[1]))
    return resolution if _plausible(resolution, image.size) else None


def _plausible(resolution: tuple[float, float], size: tuple[int, int]) -> bool:
    """Whether a declared resolution is a measurement rather than a placeholder.

    It must lie within 50–1200 dpi, have an aspect a scanner or fax can have, and make a
    page no larger than A3: phones and many programs write 72 dpi whatever the picture, which
    turns a 12-megapixel photo of a form into a poster 42 inches wide.
    """
    x, y = resolution
    low, high = PLAUSIBLE_DPI
    if not (low <= x <= high and low <= y <= high):
        return False
    if not PLAUSIBLE_ASPECT[0] <= x / y <= PLAUSIBLE_ASPECT[1]:
        return False
    return min(size[0] / x, size[1] / y) <= MAX_SHORT_SIDE_INCHES


# --- from any decoded image to a page -------------------------------------------------------


def _is_bilevel(image: Image.Image) -> bool:
    """Whether the page's source is 1-bit: a fax, a G3/G4 TIFF, a 1-bit or two-colour PNG."""
    if image.mode == "1":
        return True
    return image.mode == "P" and len(image.getpalette() or ()) <= 6


def _normalised(image: Image.Image) -> Image.Image:
    """`image` as 8-bit "L" or "RGB" on white."""
    mode = image.mode
    if mode == "1":
        return image.convert("L")
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        return _on_white(image)
    if mode.startswith("I"):
        return _eight_bit(image)
    if mode in ("L", "RGB"):
        return image
    if mode == "F":
        return image.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def _on_white(image: Image.Image) -> Image.Image:
    """Transparent parts are paper: composite on white, as a viewer shows them."""
    rgba = image.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, rgba).convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale cut to its top 8 bits (and 8-bit values stored wide, kept)."""
    values = np.asarray(image)
    if image.mode == "I" and values.max() <= 255:
        return Image.fromarray(values.astype(np.uint8))
    return Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8))


def _page(
    index: int,
    normal: Image.Image,
    declared: tuple[float, float] | None,
    *,
    source: str,
    bilevel: bool,
) -> PageImage:
    """The page from an upright "L" or "RGB" image and the resolution its file declared."""
    color = None
    if normal.mode == "RGB" and _has_colour(normal):
        rgb = np.asarray(normal)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        color = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    else:
        # Pillow's luma weights are OpenCV's (ITU-R 601): both paths give the same grey.
        # asarray takes the bytes Pillow hands over as they are; array would copy them again.
        gray = np.asarray(normal.convert("L") if normal.mode == "RGB" else normal)
    height, width = gray.shape
    x_dpi, y_dpi = declared or _inferred_resolution(width, height)
    stretched = abs(x_dpi / y_dpi - 1) > SQUARE_TOLERANCE
    if stretched:
        gray, color = _stretched(gray, color, x_dpi, y_dpi, index)
    return PageImage(
        index=index,
        gray=gray,
        dpi=round(max(x_dpi, y_dpi), 2),  # PNG stores dots a metre: 300 dpi reads 299.9994
        color=color,
        source=source,
        bilevel=bilevel,
        stretched=stretched,
        coarse_dpi=round(min(x_dpi, y_dpi), 2),
    )


def _has_colour(rgb: Image.Image) -> bool:
    """Whether the page has real colour (ink, a stamp), not just grey stored as RGB."""
    # Every fourth pixel, not an average: averaging would wash out a thin blue stroke.
    every_fourth = (max(1, rgb.width // 4), max(1, rgb.height // 4))
    red, green, blue = cv2.split(np.asarray(rgb.resize(every_fourth, Image.Resampling.NEAREST)))
    spread = cv2.max(cv2.max(red, green), blue) - cv2.min(cv2.min(red, green), blue)
    coloured = int(np.count_nonzero(spread > COLOUR_MIN_SPREAD))
    return coloured > COLOUR_MIN_SHARE * spread.size


def _inferred_resolution(width: int, height: int) -> tuple[float, float]:
    """The resolution of a page whose file states none, (x, y) in dpi.

    - A page as wide as a fax line (1728, 2048 or 2432 pixels, ±16) is a fax at 204 dpi
      across, and its shape tells its lines an inch: an A4 page at standard resolution
      (98) is about 0.66 as tall as wide instead of 1.41, so under 0.9 is standard, under
      2.0 fine (196), taller superfine (391). A scan that happens to be 1728 pixels wide is
      stretched by 4% at most, which alignment absorbs.
    - Any other page is taken to be A4, portrait or landscape: its shorter side is 210 mm.
      An estimate within 4% of a resolution scanners offer is rounded to it.
    """
    if any(abs(width - line) <= FAX_WIDTH_SLACK for line in FAX_LINE_WIDTHS):
        lines = next(dpi for below, dpi in FAX_LINES_BY_RATIO if height / width < below)
        return FAX_DPI_X, lines
    estimate = min(width, height) / A4_SHORT_SIDE_INCHES
    for offered in SCANNER_DPIS:
        if abs(estimate / offered - 1) <= SCANNER_DPI_SLACK:
            return float(offered), float(offered)
    return round(estimate, 1), round(estimate, 1)


def _stretched(
    gray: np.ndarray, color: np.ndarray | None, x_dpi: float, y_dpi: float, index: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Both images resampled so that the coarser axis matches the finer one."""
    height, width = gray.shape
    if x_dpi > y_dpi:
        size = (width, round(height * x_dpi / y_dpi))
    else:
        size = (round(width * y_dpi / x_dpi), height)
    _check_pixels(size[0], size[1], index + 1)
    gray = cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
    if color is not None:
        color = cv2.resize(color, size, interpolation=cv2.INTER_LINEAR)
    return gray, color


# --- PDF ------------------------------------------------------------------------------------


@contextmanager
def _open_pdf(path: Path) -> Iterator[PdfReader]:
    """The PDF at `path`, read from the open file as its objects are asked for, while the
    `with` lasts. (Given a path, pypdf reads the whole file into memory first: a worker reading
    one page of a post room's 73 MB stack held all of it, and more than its budget.)"""
    with path.open("rb") as file:
        with _decoding("the PDF cannot be read (it may be truncated or damaged)"):
            try:
                reader = PdfReader(file, strict=False)
            except DependencyError as err:
                # pypdf needs the `cryptography` package for AES, which only encrypted files use.
                raise EncryptedFile(
                    "the PDF is encrypted in a way this service cannot open; "
                    "send it again without a password or protection"
                ) from err
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise EncryptedFile(
                    "the PDF is protected by a password; send it again without the password"
                )
        yield reader


@dataclass(frozen=True)
class _KeptPdf:
    # The file as it is (path, inode, size, modification time), and the most pages allowed.
    key: tuple[Path, int, int, int, int]
    reader: PdfReader
    pages: int  # `_pdf_page_count`
    closing: ExitStack


_kept = threading.local()  # each thread's `_KeptPdf`, if it holds one


@contextmanager
def _kept_pdf(path: Path, max_pages: int) -> Iterator[tuple[PdfReader, int]]:
    """`_open_pdf` and the file's page count, kept by this thread for its next page of the
    same file as it is (a changed file is another key).

    Each page of a file is a job of its own, and a worker reads one after another: the page
    tree of a post room's 50-page stack, spread over its 73 MB, was counted and walked again
    for each page (4.5 ms a page of it, 17 of a 200-page one). pypdf also keeps every object
    it has read, a page's image among them: those are let go after each page, so that what is
    kept is the file's list of pages, not its pages. A page that fails lets the file go too."""
    stat = path.stat()
    key = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns, max_pages)
    kept: _KeptPdf | None = getattr(_kept, "pdf", None)
    if kept is None or kept.key != key:
        _let_go_of_pdf()
        with ExitStack() as opening:
            reader = opening.enter_context(_open_pdf(path))
            pages = _pdf_page_count(reader, max_pages)
            kept = _kept.pdf = _KeptPdf(key, reader, pages, opening.pop_all())
    try:
        yield kept.reader, kept.pages
    except BaseException:
        _let_go_of_pdf()
        raise
    kept.reader.resolved_objects.clear()


def _let_go_of_pdf() -> None:
    kept: _KeptPdf | None = getattr(_kept, "pdf", None)
    _kept.pdf = None
    if kept is not None:
        kept.closing.close()


def _pdf_page_count(reader: PdfReader, max_pages: int) -> int:
    ceiling = max(TIFF_COUNT_CEILING, max_pages + 1)
    with _decoding("the PDF is damaged: its list of pages cannot be read"):
        count = count_pages(reader, ceiling=ceiling)
    _check_count(count, max_pages, at_least=count == ceiling)
    return count


def _check_pdf(reader: PdfReader, max_pages: int) -> int:
    """The page count, after checking each page's size and the size of every image it can
    draw (each image looked at once, however many pages share it)."""
    count = _pdf_page_count(reader, max_pages)
    seen: set[object] = set()
    for index in range(count):
        with _decoding(f"page {index + 1} of the PDF is damaged"):
            _check_pdf_page(reader.pages[index], index, seen)
    return count


def _check_pdf_page(pdf_page: PageObject, index: int, seen: set[object]) -> None:
    if _box_area(pdf_page) <= 0:
        raise CorruptFile(f"page {index + 1} of the PDF has no size")
    for image in images_in(pdf_page.get("/Resources"), seen=seen):
        _check_embedded_image(image, index + 1)


def _check_embedded_image(image: DictionaryObject, page: int) -> None:
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if width * height > MAX_PAGE_PIXELS:
        raise CorruptFile(
            f"page {page} holds an image of {width}×{height} pixels, more than the "
            f"{MAX_PAGE_PIXELS // 1_000_000} megapixels accepted for a page; scan at 300 dpi"
        )


def _check_drawn_images(pdf_page: PageObject, page: int) -> None:
    """PDFium decodes each image a page draws at its full size, four bytes a pixel, however
    small it is drawn: together they must fit the page's decoding budget."""
    pixels = 0
    for image in images_in(pdf_page.get("/Resources")):
        pixels += int(image.get("/Width", 0)) * int(image.get("/Height", 0))
    cost = pixels * 4
    if cost > DECODE_BUDGET_BYTES:
        mb = 1024 * 1024
        raise TooComplex(
            f"page {page} of the PDF draws images of {pixels // 1_000_000} megapixels in all: "
            f"drawing them needs {cost // mb} MB, more than the {DECODE_BUDGET_BYTES // mb} MB "
            "a page may take; scan it at 300 dpi"
        )


def _box_area(page: PageObject) -> float:
    box = page.mediabox  # what is rendered
    return float(box.width) * float(box.height)


def _pdf_pages(path: Path, count: int, render_dpi: int) -> Iterator[PageImage]:
    pdf = cache(path.read_bytes)  # read only when a page needs rendering, then once
    with _open_pdf(path) as reader:
        for index in range(count):
            yield _pdf_page(pdf, reader, index, render_dpi)


def _pdf_page(
    pdf: Callable[[], bytes], reader: PdfReader, index: int, render_dpi: int
) -> PageImage:
    """Page `index`: its own scanned image when it is one, else drawn by PDFium once what it
    would draw has been counted."""
    with _decoding(f"page {index + 1} of the PDF is damaged"):
        pdf_page = reader.pages[index]
        _check_pdf_page(pdf_page, index, set())
        scan = embedded_scan(pdf_page)
        if scan is not None:
            try:
                return _embedded_page(scan, index)
            except (OcrError, MemoryError):
                raise
            except Exception:  # noqa: S110
                pass  # an image Pillow cannot decode may still be one PDFium draws
        drawing_cost(pdf_page, page_number=index + 1)
        _check_drawn_images(pdf_page, index + 1)
        return _rendered_page(pdf(), pdf_page, index, render_dpi)


def _rendered_page(pdf: bytes, pdf_page: PageObject, index: int, render_dpi: int) -> PageImage:
    # A page larger than A3 is rendered coarser rather than refused: it stays a page.
    page_inches = _box_area(pdf_page) / 72**2
    dpi = min(float(render_dpi), math.sqrt(RENDER_MAX_PIXELS / page_inches))
    try:
        gray = raster.render_gray(pdf, index + 1, dpi)
    except DocumentsError as err:
        raise CorruptFile(f"page {index + 1} of the PDF cannot be rendered: {err.message}") from err
    return PageImage(
        index=index,
        gray=gray,
        dpi=dpi,
        color=None,
        source="pdf-render",
        bilevel=False,
        stretched=False,
        coarse_dpi=dpi,
    )


def _embedded_page(scan: EmbeddedScan, index: int) -> PageImage:
    """A scanned PDF page from its own pixels: resolution from the page size, reduced only
    when finer than the reader needs."""
    declared = scan.resolution if _plausible(scan.resolution, scan.image.size) else None
    bilevel = _is_bilevel(scan.image)
    decoded, declared = _decoded(scan.image, declared, index + 1)
    upright, declared = _turned(_normalised(decoded), declared, scan.turns)
    return _page(index, upright, declared, source="pdf-image", bilevel=bilevel)
