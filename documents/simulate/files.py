"""Captures written as the files that arrive: multi-page TIFF, scanned PDF, PNG and JPEG bytes."""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

from documents.simulate.capture import Capture, binarise

TiffCompression = Literal["group4", "group3", "tiff_lzw", "jpeg"]
PdfImageFormat = Literal["jpeg", "png"]
POINTS_PER_INCH = 72


def pil_image(capture: Capture) -> Image.Image:
    """`capture` as a Pillow image: mode "1" when bilevel, "L" when grey, "RGB" when colour."""
    if capture.mode == "bilevel":
        return Image.fromarray(capture.image > 127)
    if capture.mode == "colour":
        return Image.fromarray(cv2.cvtColor(capture.image, cv2.COLOR_BGR2RGB))
    return Image.fromarray(capture.image)


def to_tiff(
    captures: Sequence[Capture], compression: TiffCompression = "group4", dpi: bool = True
) -> bytes:
    """A multi-page TIFF, one page per capture, each with its own resolution.

    group3 and group4 (fax) store 1-bit pages: a grey or colour capture is binarised first.
    jpeg stores grey or colour pages, so a bilevel capture is stored as grey. With
    `dpi=False` no resolution tags are written at all, as some fax gateways do.
    """
    out = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(out, new=True) as tiff:
        for capture in captures:
            page = binarise(capture) if compression in ("group3", "group4") else capture
            image = pil_image(page)
            if compression == "jpeg" and image.mode == "1":
                image = image.convert("L")
            options: dict[str, Any] = {"compression": compression}
            if dpi:
                options["dpi"] = (capture.x_dpi, capture.y_dpi)
            image.save(tiff, format="TIFF", **options)
            tiff.newFrame()
    return out.getvalue()


def to_pdf(
    captures: Sequence[Capture], image_format: PdfImageFormat = "jpeg", quality: int = 85
) -> bytes:
    """A scanned PDF: one page per capture, each page one image covering it exactly.

    The page measures what the capture covered (pixels over dpi), so a 204 × 98 dpi fax page
    is still an A4 page holding an image of non-square pixels. `jpeg` embeds a JPEG
    (DCTDecode, bilevel pages as grey); `png` embeds lossless pixels (FlateDecode, bilevel
    pages as 1 bit), as scanners write them.
    """
    pdf = _PdfFile()
    pages = []
    for capture in captures:
        width_pt = capture.size[0] / capture.x_dpi * POINTS_PER_INCH
        height_pt = capture.size[1] / capture.y_dpi * POINTS_PER_INCH
        image = pdf.add(*_pdf_image(capture, image_format, quality))
        paint = f"q {width_pt:.4f} 0 0 {height_pt:.4f} 0 0 cm /Im0 Do Q".encode()
        contents = pdf.add(b"", paint)
        page = (
            f"/Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt:.4f} {height_pt:.4f}] "
            f"/Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {contents} 0 R"
        )
        pages.append(pdf.add(page.encode()))
    return pdf.finish(pages)


def _pdf_image(capture: Capture, image_format: PdfImageFormat, quality: int) -> tuple[bytes, bytes]:
    """An image XObject's dictionary entries and its encoded pixels."""
    width, height = capture.size
    colour_space = "/DeviceRGB" if capture.mode == "colour" else "/DeviceGray"
    if image_format == "jpeg":
        ok, encoded = cv2.imencode(".jpg", capture.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("OpenCV could not encode the page as JPEG")
        data, bits, filter_ = encoded.tobytes(), 8, "/DCTDecode"
    elif capture.mode == "bilevel":
        # DeviceGray at 1 bit: 0 is black, 1 is white; each row padded to a whole byte.
        packed = np.packbits(capture.image > 127, axis=1)
        data, bits, filter_ = zlib.compress(packed.tobytes()), 1, "/FlateDecode"
    else:
        pixels = np.asarray(pil_image(capture))  # RGB order, as PDF has it
        data, bits, filter_ = zlib.compress(pixels.tobytes()), 8, "/FlateDecode"
    entries = (
        f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
        f"/ColorSpace {colour_space} /BitsPerComponent {bits} /Filter {filter_}"
    )
    return entries.encode(), data


class _PdfFile:
    """The few objects of a scanned PDF, numbered in order; 1 is the catalogue, 2 the page tree."""

    def __init__(self) -> None:
        self.objects: list[bytes] = [b"", b""]

    def add(self, entries: bytes, stream: bytes | None = None) -> int:
        if stream is None:
            self.objects.append(b"<< " + entries + b" >>")
        else:
            head = b"<< " + entries + b" /Length " + str(len(stream)).encode() + b" >>"
            self.objects.append(head + b"\nstream\n" + stream + b"\nendstream")
        return len(self.objects)

    def finish(self, pages: list[int]) -> bytes:
        kids = " ".join(f"{page} 0 R" for page in pages)
        self.objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
        self.objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()
        out = io.BytesIO()
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(self.objects, start=1):
            offsets.append(out.tell())
            out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
        out.write(b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets))
        trailer = f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        out.write(trailer.encode())
        return out.getvalue()


def to_png(capture: Capture) -> bytes:
    out = io.BytesIO()
    pil_image(capture).save(out, "PNG", dpi=(capture.x_dpi, capture.y_dpi))
    return out.getvalue()


def to_jpeg(capture: Capture, quality: int = 85) -> bytes:
    image = pil_image(capture)
    if image.mode == "1":
        image = image.convert("L")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, dpi=(round(capture.x_dpi), round(capture.y_dpi)))
    return out.getvalue()
