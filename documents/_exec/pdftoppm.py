"""pdftoppm (poppler-utils): render PDF pages to greyscale images, and nothing else."""

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
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ToolMissing(f"pdftoppm was not found: {INSTALL_HINT}")
    args = [exe, "-gray", "-r", f"{dpi:g}", "-f", str(page), "-l", str(page), "-", "-"]
    done = subprocess.run(args, input=pdf, capture_output=True, check=False)  # noqa: S603
    if done.returncode != 0 or not done.stdout:
        raise DocumentsError(f"pdftoppm could not render page {page}: {done.stderr[:200]!r}")
    return _parse_pgm(done.stdout)


def _parse_pgm(data: bytes) -> np.ndarray:
    # Header: "P5", width, height, maxval, each separated by whitespace, then one byte of it.
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
    if fields[0] != b"P5" or fields[3] != b"255":
        raise DocumentsError("pdftoppm gave an unexpected image format")
    width, height = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data, dtype=np.uint8, count=width * height, offset=pos + 1)
    return pixels.reshape(height, width)
