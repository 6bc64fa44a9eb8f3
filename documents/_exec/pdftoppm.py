"""pdftoppm (poppler-utils): render PDF pages to greyscale or colour images, and nothing else."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from documents.errors import DocumentsError, ToolMissing

INSTALL_HINT = "install poppler-utils (apt-get install poppler-utils)"


def version() -> str | None:
    """pdftoppm's version, or None when it is not installed."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        return None
    out = subprocess.run([exe, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    first = (out.stderr or out.stdout).splitlines()
    return first[0].rsplit(" ", 1)[-1] if first else "unknown"


def check() -> str | None:
    """None when pdftoppm can be run, else what is wrong and how to fix it."""
    return None if version() else f"pdftoppm was not found: {INSTALL_HINT}"


def render_gray(pdf: bytes, page: int, dpi: float) -> np.ndarray:
    """Page `page` (1-based) of `pdf` as an 8-bit greyscale array at `dpi`.

    PGM output: PNG would cost ten times as long to encode and decode (DESIGN.md).
    """
    return _parse_pnm(_render(pdf, page, dpi, "-gray"), b"P5", channels=1)


def render_rgb(pdf: bytes, page: int, dpi: float) -> np.ndarray:
    """Page `page` (1-based) of `pdf` as an 8-bit RGB array (height, width, 3) at `dpi`."""
    return _parse_pnm(_render(pdf, page, dpi), b"P6", channels=3)


def _render(pdf: bytes, page: int, dpi: float, *options: str) -> bytes:
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ToolMissing(f"pdftoppm was not found: {INSTALL_HINT}")
    # No output root: pdftoppm then writes the one page to stdout. A root of "-" is taken
    # as a file name prefix and leaves a file called "--1.pgm" in the working directory.
    args = [exe, *options, "-r", f"{dpi:g}", "-f", str(page), "-l", str(page), "-"]
    done = subprocess.run(args, input=pdf, capture_output=True, check=False)  # noqa: S603
    if done.returncode != 0 or not done.stdout:
        raise DocumentsError(f"pdftoppm could not render page {page}: {done.stderr[:200]!r}")
    return done.stdout


def _parse_pnm(data: bytes, magic: bytes, channels: int) -> np.ndarray:
    # Header: magic, width, height, maxval, each separated by whitespace, then one byte of it.
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != magic or fields[3] != b"255":
        raise DocumentsError("pdftoppm gave an unexpected image format")
    width, height = int(fields[1]), int(fields[2])
    count = width * height * channels
    pixels = np.frombuffer(data, dtype=np.uint8, count=count, offset=pos + 1)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape)
