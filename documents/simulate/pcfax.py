"""A PC fax: the signed page scanned, saved as PDF or PostScript, and faxed by Ghostscript.

HylaFAX's and CUPS's fax queues turn whatever is printed to them into a fax with Ghostscript's
`tiffg3`/`tiffg4` devices. They halftone every grey they meet: the paper of a grey or colour
scan, never quite white, becomes a dot pattern over the whole page, and a pale stamp a screen
of dots. Nothing is lost in transmission (a PC fax modem sends with error correction).
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image

from documents._exec import ghostscript
from documents._exec.ghostscript import FaxDevice
from documents.errors import DocumentsError
from documents.simulate.capture import FAX_X_DPI, FAX_Y_DPI, Capture, scan
from documents.simulate.files import to_pdf
from documents.simulate.paper import Paper

Printed = Literal["pdf", "postscript"]


def pc_fax(
    paper: Paper,
    rng: np.random.Generator,
    *,
    fine: bool,
    colour: bool,
    device: FaxDevice | None = None,
    printed: Printed | None = None,
) -> Capture:
    """`paper` scanned at 200 or 300 dpi (grey, or colour when `colour`), saved as a scanned
    PDF with JPEG pages, handed to the fax queue as that PDF or as PostScript (`printed`), and
    rendered by Ghostscript's `device` at 204 × 98 dpi, or 204 × 196 when `fine`.

    `device` and `printed` are drawn from `rng` when None.
    """
    device = device or ("tiffg3" if rng.random() < 0.5 else "tiffg4")
    printed = printed or ("pdf" if rng.random() < 0.5 else "postscript")
    scanned = scan(paper, rng, dpi=float(rng.choice([200, 300])), colour=colour)
    document = to_pdf([scanned], image_format="jpeg", quality=int(rng.integers(75, 93)))
    if printed == "postscript":
        document = ghostscript.to_postscript(document)
    tiff = ghostscript.fax_tiff(document, device=device, fine=fine)
    return Capture(fax_page(tiff), FAX_X_DPI, FAX_Y_DPI[fine], "bilevel")


def fax_page(tiff: bytes) -> np.ndarray:
    """The first page of a 1-bit fax TIFF as 0 (black) and 255 (white)."""
    with Image.open(io.BytesIO(tiff)) as image:
        if image.mode != "1":
            raise DocumentsError(f"Ghostscript's fax is not 1-bit but {image.mode}")
        return np.where(np.asarray(image), 255, 0).astype(np.uint8)
