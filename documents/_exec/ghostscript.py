"""Ghostscript (Debian's `ghostscript`): PDF to PostScript, and either to a fax TIFF, nothing else.

Only the scan simulator runs it, to send a page the way PC-fax queues (HylaFAX, CUPS fax
backends) do; the service itself never does. Presence and version are checked once per process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Literal

from documents.errors import DocumentsError, ToolMissing

INSTALL_HINT = "install ghostscript (apt-get install ghostscript; make test and make bench do)"
MINIMUM_VERSION = (9, 50)
FaxDevice = Literal["tiffg3", "tiffg4"]
# Fax resolutions, across × down, in dpi: standard and fine.
FAX_RESOLUTION = {False: "204x98", True: "204x196"}
# Quiet, no prompt between pages, the file system out of reach but for the output file.
_BATCH = ("-q", "-dSAFER", "-dBATCH", "-dNOPAUSE")


def version() -> str | None:
    """Ghostscript's version ("10.00.0"), or None when `gs` is not installed."""
    exe = shutil.which("gs")
    if exe is None:
        return None
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() or "unknown"


def check() -> str | None:
    """None when a recent enough Ghostscript can be run, else what is wrong and how to fix it."""
    found = version()
    if found is None:
        return f"Ghostscript (gs) was not found: {INSTALL_HINT}"
    numbers = tuple(int(part) for part in re.findall(r"\d+", found)[:2])
    if numbers < MINIMUM_VERSION:
        wanted = ".".join(map(str, MINIMUM_VERSION))
        return f"Ghostscript {found} is older than {wanted}: {INSTALL_HINT}"
    return None


@cache
def _executable() -> str:
    problem = check()
    exe = shutil.which("gs")
    if problem is not None or exe is None:
        raise ToolMissing(problem or f"Ghostscript (gs) was not found: {INSTALL_HINT}")
    return exe


def to_postscript(pdf: bytes) -> bytes:
    """`pdf` as level 2 PostScript (the `ps2write` device), as a print queue's filter makes it."""
    return _run(pdf, "-sDEVICE=ps2write")


def fax_tiff(document: bytes, *, device: FaxDevice, fine: bool) -> bytes:
    """`document` (PDF or PostScript) as a fax TIFF: 1-bit pages of 1728-pixel lines (the
    device widens A4 to a fax line), 204 × 98 dpi or, when `fine`, 204 × 196 dpi, G3 (`tiffg3`)
    or G4 (`tiffg4`) compressed. Grey becomes Ghostscript's halftone screen, as it does in
    HylaFAX's and CUPS's fax queues, which run exactly this.
    """
    return _run(
        document,
        f"-sDEVICE={device}",
        f"-r{FAX_RESOLUTION[fine]}",
        "-sPAPERSIZE=a4",
        "-dFIXEDMEDIA",
        "-dPDFFitPage",
    )


def _run(document: bytes, *options: str) -> bytes:
    # The document comes on stdin; the output goes to a file in a scratch directory, because
    # the TIFF devices seek back in what they write, which a pipe cannot do.
    with tempfile.TemporaryDirectory(prefix="cesja-gs-") as scratch:
        output = Path(scratch) / "out"
        args = [_executable(), *_BATCH, *options, f"-sOutputFile={output}", "-"]
        done = subprocess.run(args, input=document, capture_output=True, check=False)  # noqa: S603
        written = output.read_bytes() if output.exists() else b""
    if done.returncode != 0 or not written:
        raise DocumentsError(
            f"Ghostscript could not convert the document ({' '.join(options)}): "
            f"{done.stderr[-300:]!r}"
        )
    return written
