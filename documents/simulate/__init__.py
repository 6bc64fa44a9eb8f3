"""The scan simulator: a generated form printed, filled in (or forged) and sent back as a file.

paper     the printed sheet, in page coordinates          print_page, Paper
ink       a pen on it: signature, tick, alterations        sign, cross_out_and_write, write_in
stamp     a company stamp                                  stamp
capture   scanner, fax, phone camera; blank, foreign pages scan, fax, photograph, rotate
files     the bytes that arrive                            to_tiff, to_pdf, to_png, to_jpeg
frauds    forgeries                                        edited_value_form, paste_qr
scenarios the catalogue tests and benchmarks draw from     SCENARIOS, make

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
from documents.simulate.ink import cross_out_and_write, sign, tick_no_stamp, write_in
from documents.simulate.paper import Paper, blank_paper, mm_to_px, print_page
from documents.simulate.scenarios import CATALOGUE, SCENARIOS, Scenario, make, other_case
from documents.simulate.stamp import stamp

__all__ = [
    "CATALOGUE",
    "SCENARIOS",
    "Capture",
    "Paper",
    "Scenario",
    "binarise",
    "blank_page",
    "blank_paper",
    "cross_out_and_write",
    "edited_value_form",
    "fax",
    "foreign_page",
    "make",
    "mm_to_px",
    "other_case",
    "paste_qr",
    "photograph",
    "print_page",
    "rotate",
    "scan",
    "sign",
    "stamp",
    "tick_no_stamp",
    "to_jpeg",
    "to_pdf",
    "to_png",
    "to_tiff",
    "with_one_character_changed",
    "write_in",
]
