"""Getting a reading process ready: its thread limits, and what the first page would pay for.

Nothing here runs on import: a process that reads pages calls `limit_threads` (and, to have
its first page read as fast as the rest, `warm_up`) when it starts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from documents import FormData, render_page
from documents.layout import Party
from documents.raster import render_gray
from ocr._exec.tesseract import read_zone
from ocr.pages import PageImage
from ocr.reading import read_page

# The resolution a fax has once its rows are stretched to square pixels (`ocr.pages`).
FAX_DPI = 204


def limit_threads() -> None:
    """One thread for BLAS and OpenCV in this process.

    Pages are read one per worker process (or thread). Work small enough for one core but
    split across both by BLAS or OpenCV makes every reader wait on the others (a page took
    five times as long with BLAS's threads; OpenCV's spin while they wait).
    """
    threadpool_limits(limits=1, user_api="blas")
    cv2.setNumThreads(1)


def warm_up(form: FormData, tessdata: Path | None = None) -> None:
    """Pay now what the first page read would: tesseract's model, and the font's shapes and
    everything else the reader keeps, at a scan's and at a fax's resolution.

    `form`'s pages, rendered under a key of their own, are read and thrown away.
    """
    read_zone(np.full((40, 300), 255, np.uint8), dpi=300, tessdata=tessdata)
    key = secrets.token_bytes(32)
    # The first party's page as a 300 dpi grey scan, the second's as a fax.
    pages: list[tuple[Party, int, bool]] = [
        ("current_registrant", 300, False),
        ("new_registrant", FAX_DPI, True),
    ]
    for party, dpi, bilevel in pages:
        gray = render_gray(render_page(form, party, key), 1, dpi)
        if bilevel:
            gray = np.where(gray < 128, 0, 255).astype(np.uint8)
        page = PageImage(
            index=0,
            gray=gray,
            dpi=float(dpi),
            color=None,
            source="pdf-render",
            bilevel=bilevel,
            stretched=False,
            coarse_dpi=float(dpi),
        )
        read_page(page, key=key, lookup=lambda _case_id: form, tessdata=tessdata)
