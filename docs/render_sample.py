"""Writes docs/form-page1.png, the form shown in the README: `python docs/render_sample.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import render_form
from documents._exec import pdftoppm
from tests.documents.conftest import make_sample_form

if __name__ == "__main__":
    pdf = render_form(make_sample_form(), b"documentation only")
    page = pdftoppm.render_gray(pdf, 1, 110)
    target = Path(__file__).parent / "form-page1.png"
    cv2.imwrite(str(target), page, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {target} ({target.stat().st_size // 1024} KB)")
