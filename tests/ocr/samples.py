"""Sample scans for the ocr tests, made from scratch: fax TIFFs, scanned and vector PDFs, photos.

Every page carries a solid black orientation mark in its top-left corner, so a test can tell
that a page comes out the right way up, and grey bars where text would be.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from documents import Address, FormData, PartyData, SendTo, render_form
from tests.conftest import CASE_BODY

A4_MM = (210.0, 297.0)
A4_PT = A4  # (595.27, 841.89)

#: The fax line is 1728 pixels over 215 mm, about 204 dpi; standard fax has 98 lines an inch.
FAX_WIDTH = 1728
FAX_STANDARD_LINES = round(297 / 25.4 * 98)  # 1146
FAX_FINE_LINES = round(297 / 25.4 * 196)  # 2292


#: The orientation mark, as fractions of the page's width and height: left, top, right, bottom.
MARK = (0.04, 0.03, 0.14, 0.07)


def mark_corner(gray: np.ndarray) -> str:
    """Which corner of a page image holds the orientation mark: "top-left" when upright."""
    height, width = gray.shape
    left, top, right, bottom = MARK

    def dark(x0: float, y0: float, x1: float, y1: float) -> bool:
        inner = gray[
            round(y0 * height) + 2 : round(y1 * height) - 2,
            round(x0 * width) + 2 : round(x1 * width) - 2,
        ]
        return inner.size > 0 and float(inner.mean()) < 64

    corners = {
        "top-left": (left, top, right, bottom),
        "top-right": (1 - right, top, 1 - left, bottom),
        "bottom-left": (left, 1 - bottom, right, 1 - top),
        "bottom-right": (1 - right, 1 - bottom, 1 - left, 1 - top),
    }
    found = [name for name, box in corners.items() if dark(*box)]
    return found[0] if len(found) == 1 else f"unclear: {found}"


def a4_pixels(dpi: float) -> tuple[int, int]:
    """Width and height in pixels of an A4 page at `dpi`."""
    return round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi)


def page_image(size: tuple[int, int], *, mode: str = "L", colour: bool = False) -> Image.Image:
    """A page of `size` pixels: orientation mark top-left, text bars, a stamp and a signature."""
    width, height = size
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    left, top, right, bottom = (round(f * n) for f, n in zip(MARK, (width, height) * 2))
    draw.rectangle([left, top, right, bottom], fill="black")
    line = max(2, height // 120)
    for y in range(height // 5, height * 3 // 4, line * 3):
        draw.rectangle([width // 10, y, width * 8 // 10, y + line], fill=(60, 60, 60))
    ink = "red" if colour else "black"
    r = width // 10
    cx, cy = width * 3 // 4, height * 7 // 8
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=ink, width=max(2, r // 8))
    pen = "blue" if colour else "black"
    draw.line([(width // 8, cy), (width // 3, cy - r // 2), (width // 2, cy)], fill=pen, width=4)
    if mode == "1":
        return page.convert("L").point(lambda v: 255 if v > 160 else 0).convert("1")
    return page if mode == "RGB" else page.convert(mode)


def fax_page(lines: int) -> Image.Image:
    """One fax page as a fax machine sends it: 1728 pixels a line, `lines` lines, 1 bit."""
    return page_image((FAX_WIDTH, lines), mode="1")


def save_tiff(path: Path, pages: Iterable[Image.Image], **options: object) -> Path:
    """A TIFF of `pages`, one frame each; `options` as Pillow's TIFF writer takes them."""
    pages = iter(pages)
    first = next(pages)
    first.save(path, "TIFF", save_all=True, append_images=pages, **options)
    return path


def save_jpeg_exif_rotated(path: Path, page: Image.Image) -> Path:
    """A phone photo: the sensor's pixels lie on their side and EXIF says turn them 90° right."""
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90° clockwise
    stored = page.transpose(Image.Transpose.ROTATE_90)
    stored.save(path, "JPEG", quality=85, exif=exif.tobytes(), dpi=(72, 72))
    return path


def save_pdf_with_ocr_layer(path: Path, image: Path) -> Path:
    """What OCR software writes: the scan over the page, its text laid invisibly on top."""
    canvas = Canvas(str(path), pagesize=A4_PT, pageCompression=1)
    canvas.drawImage(str(image), 0, 0, width=A4_PT[0], height=A4_PT[1])
    text = canvas.beginText(72, 700)
    text.setTextRenderMode(3)
    text.textLine("Oswiadczenie o cesji domeny")
    canvas.drawText(text)
    canvas.showPage()
    canvas.save()
    return path


def _ccitt_strip(page: Image.Image, **options: object) -> bytes:
    """The CCITT bytes of a 1-bit page in one strip, as Pillow's TIFF encoder makes them.

    The encoder codes 0 bits as white, and Pillow's 0 is black: encode the negative so that
    the stream reads like a fax machine's (PDF's default /BlackIs1 false).
    """
    out = io.BytesIO()
    ImageChops.invert(page).save(out, "TIFF", strip_size=2**30, **options)
    with Image.open(io.BytesIO(out.getvalue())) as tiff:
        (offset,), (count,) = tiff.tag_v2[273], tiff.tag_v2[279]
    return out.getvalue()[offset : offset + count]


@dataclass(frozen=True)
class ScannedPage:
    """One page of a scanner's PDF: an image XObject drawn over the page, nothing else."""

    image_dict: str  # the XObject's entries besides /Type, /Subtype and /Length
    data: bytes
    size: tuple[float, float] = A4_PT
    rotate: int = 0
    matrix: str | None = None  # the `cm` that places the image; default: over the whole page


def jpeg_page(page: Image.Image, *, quality: int = 85) -> ScannedPage:
    """A page as a scanner's PDF holds it: JPEG bytes as they are, /DCTDecode."""
    out = io.BytesIO()
    page.save(out, "JPEG", quality=quality)
    space = "/DeviceRGB" if page.mode == "RGB" else "/DeviceGray"
    image_dict = (
        f"/Width {page.width} /Height {page.height} /ColorSpace {space} "
        "/BitsPerComponent 8 /Filter /DCTDecode"
    )
    return ScannedPage(image_dict, out.getvalue())


def g4_fax_page(page: Image.Image) -> ScannedPage:
    """A fax page as a fax gateway's PDF holds it: the G4 bytes as received, /CCITTFaxDecode."""
    width, height = page.size
    image_dict = (
        f"/Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 1 "
        f"/Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {width} /Rows {height} >>"
    )
    return ScannedPage(image_dict, _ccitt_strip(page, compression="group4"))


def g3_2d_fax_page(page: Image.Image) -> ScannedPage:
    """A fax page in 2-D G3 coding (/K 1): what older fax gateways put in their PDFs."""
    width, height = page.size
    image_dict = (
        f"/Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 1 "
        f"/Filter /CCITTFaxDecode /DecodeParms << /K 1 /Columns {width} /Rows {height} >>"
    )
    return ScannedPage(image_dict, _ccitt_strip(page, compression="group3", tiffinfo={292: 1}))


def flate_page(page: Image.Image, *, inverted: bool = False) -> ScannedPage:
    """A greyscale or 1-bit page deflated, as some scanners store it; with `inverted`, stored
    as its negative and turned back by a /Decode array."""
    bits = 1 if page.mode == "1" else 8
    stored = ImageChops.invert(page) if inverted else page
    image_dict = (
        f"/Width {page.width} /Height {page.height} /ColorSpace /DeviceGray "
        f"/BitsPerComponent {bits} /Filter /FlateDecode" + (" /Decode [1 0]" if inverted else "")
    )
    return ScannedPage(image_dict, zlib.compress(stored.tobytes()))


def save_scanned_pdf(path: Path, pages: list[ScannedPage]) -> Path:
    """A PDF written byte by byte the way scanners and fax gateways write them.

    reportlab wraps images in ASCII85 and cannot write CCITT or JBIG2; scanners do neither.
    """
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for page in pages:
        width, height = page.size
        matrix = page.matrix or f"{width:.2f} 0 0 {height:.2f} 0 0"
        content = f"q {matrix} cm /Im0 Do Q".encode()
        first = len(objects) + 1
        kids.append(f"{first} 0 R")
        objects += [
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.2f} {height:.2f}] "
                f"/Rotate {page.rotate} /Resources << /XObject << /Im0 {first + 2} 0 R >> >> "
                f"/Contents {first + 1} 0 R >>"
            ).encode(),
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            f"<< /Type /XObject /Subtype /Image {page.image_dict} /Length {len(page.data)} >>"
            "\nstream\n".encode()
            + page.data
            + b"\nendstream",
        ]
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def undecodable_page() -> ScannedPage:
    """A scanned page whose image is JBIG2, which pypdf cannot decode without jbig2dec."""
    image_dict = (
        "/Width 2480 /Height 3508 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode"
    )
    return ScannedPage(image_dict, b"\x00" * 64)


def save_pdf_with_logo(path: Path, logo: Path) -> Path:
    """A born-digital letter: text drawn as vectors and a small logo image in a corner."""
    canvas = Canvas(str(path), pagesize=A4_PT)
    canvas.drawImage(str(logo), 40, 760, width=60, height=60)
    canvas.setFont("Helvetica", 12)
    canvas.drawString(72, 700, "Pismo z logo: tekst wektorowy, nie skan.")
    canvas.rect(72, 400, 300, 200)
    canvas.showPage()
    canvas.save()
    return path


def save_pdf_pages(path: Path, count: int) -> Path:
    """A plain vector PDF of `count` pages."""
    canvas = Canvas(str(path), pagesize=A4_PT)
    for number in range(1, count + 1):
        canvas.drawString(72, 760, f"Strona {number}")
        canvas.showPage()
    canvas.save()
    return path


def save_pdf_encrypted(path: Path, source: Path, password: str) -> Path:
    """`source` encrypted with `password` as the user password (pypdf's default RC4)."""
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(password)
    writer.write(path)
    return path


def _party(body: dict) -> PartyData:
    return PartyData(
        kind=body["kind"],
        name=body["name"],
        address=Address(**body["address"]),
        email=body["email"],
        phone=body.get("phone"),
        pesel=body.get("pesel"),
        nip=body.get("nip"),
        regon=body.get("regon"),
        krs=body.get("krs"),
        representatives=tuple(body.get("representatives", ())),
    )


def save_vector_form(path: Path) -> Path:
    """Our own two-page form, as a customer who prints it to PDF instead of paper sends it."""
    form = FormData(
        case_id="C-2026-000042",
        form_version=1,
        domains=tuple(CASE_BODY["domains"]),
        current_registrant=_party(CASE_BODY["current_registrant"]),
        new_registrant=_party(CASE_BODY["new_registrant"]),
        deadline=date(2026, 12, 6),
        send_to=SendTo(
            postal_address="Cesja, ul. Przykładowa 1, 00-001 Warszawa",
            fax_number="+48 22 000 00 00",
            customer_url="http://127.0.0.1:8000/c/token",
        ),
    )
    path.write_bytes(render_form(form, b"k" * 32))
    return path


def save_docx(path: Path) -> Path:
    """A Word document: a ZIP with the parts Word writes."""
    with zipfile.ZipFile(path, "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<w:document/>")
    return path


def png_claiming_size(width: int, height: int) -> bytes:
    """A PNG whose header claims `width`×`height` pixels: a decompression bomb's calling card."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def tiff_claiming_size(width: int, height: int) -> bytes:
    """A G4 TIFF whose one page claims `width`×`height` pixels but holds a few bytes."""
    data = b"\x00" * 16
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 1),
        (259, 3, 1, 4),
        (262, 3, 1, 0),
        (273, 4, 1, 8),
        (278, 4, 1, height),
        (279, 4, 1, len(data)),
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8 + len(data)) + data + ifd
