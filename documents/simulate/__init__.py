"""The scan simulator: a generated form printed, filled in (or forged) and sent back as a file.

paper     the printed sheet, in page coordinates          print_page, Paper
ink       a pen on it: signature, tick, alterations        sign, cross_out_and_write, write_in
stamp     a company stamp                                  stamp
capture   scanner, fax, phone camera; blank, foreign pages scan, fax, photograph, rotate
handling  show-through, filing holes, a staple, the feed   show_through, punch_holes, staple
pcfax     a PC fax queue: Ghostscript's tiffg3/tiffg4      pc_fax
wear      print and scan wear as augraphy models it        worn, worn_scan (augraphy: dev only)
files     the bytes that arrive                            to_tiff, to_pdf, to_png, to_jpeg
frauds    forgeries                                        edited_value_form, paste_qr
parties   random realistic cases, valid as the API wants   random_form
scenarios the catalogue tests and benchmarks draw from     SCENARIOS, make; SHEETS × CAPTURES

Everything random takes a `numpy.random.Generator`: one seed, one page.
"""

from documents.simulate.capture import (
    Capture,
    binarise,
    blank_page,
    fax,
    foreign_page,
    photograph,
    rotate,
    scan,
)
from documents.simulate.files import to_jpeg, to_pdf, to_png, to_tiff
from documents.simulate.frauds import edited_value_form, paste_qr, with_one_character_changed
from documents.simulate.handling import fed_unevenly, punch_holes, show_through, staple
from documents.simulate.ink import cross_out_and_write, sign, tick_no_stamp, write_in
from documents.simulate.paper import Paper, blank_paper, mm_to_px, print_page
from documents.simulate.parties import random_form
from documents.simulate.pcfax import pc_fax
from documents.simulate.scenarios import (
    CAPTURES,
    CATALOGUE,
    SCENARIOS,
    SHEETS,
    CaptureKind,
    Scenario,
    Sheet,
    crossed,
    make,
    other_case,
)
from documents.simulate.stamp import stamp
from documents.simulate.wear import WEARS, worn, worn_scan

__all__ = [
    "CAPTURES",
    "CATALOGUE",
    "SCENARIOS",
    "SHEETS",
    "WEARS",
    "Capture",
    "CaptureKind",
    "Paper",
    "Scenario",
    "Sheet",
    "binarise",
    "blank_page",
    "blank_paper",
    "cross_out_and_write",
    "crossed",
    "edited_value_form",
    "fax",
    "fed_unevenly",
    "foreign_page",
    "make",
    "mm_to_px",
    "other_case",
    "paste_qr",
    "pc_fax",
    "photograph",
    "print_page",
    "punch_holes",
    "random_form",
    "rotate",
    "scan",
    "show_through",
    "sign",
    "stamp",
    "staple",
    "tick_no_stamp",
    "to_jpeg",
    "to_pdf",
    "to_png",
    "to_tiff",
    "with_one_character_changed",
    "worn",
    "worn_scan",
    "write_in",
]
