"""The form: its geometry (one place), rendering, the page code and its MAC, the scan simulator.

The lowest layer: it imports nothing of the project's and reads no settings.
"""

from documents._exec import ghostscript, pdftoppm
from documents.errors import DocumentsError, DoesNotFit, InvalidCode, ToolMissing
from documents.fonts import check_fonts
from documents.form_data import Address, FormData, PartyData, SendTo, printed_values
from documents.page_code import PageCode
from documents.render import layout_problems, render_form, render_page, value_boxes

check_pdftoppm = pdftoppm.check
check_ghostscript = ghostscript.check  # the scan simulator's only: tests and benchmarks

__all__ = [
    "Address",
    "DocumentsError",
    "DoesNotFit",
    "FormData",
    "InvalidCode",
    "PageCode",
    "PartyData",
    "SendTo",
    "ToolMissing",
    "check_fonts",
    "check_ghostscript",
    "check_pdftoppm",
    "layout_problems",
    "printed_values",
    "render_form",
    "render_page",
    "value_boxes",
]
