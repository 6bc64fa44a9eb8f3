"""Rendering a case's form: one A4 page per party, every box placed from `layout`."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFString
from reportlab.pdfgen.canvas import Canvas

from documents import layout, page_code, wording
from documents.errors import DoesNotFit
from documents.fonts import (
    FONT_DIR,
    FONT_FILES,
    LINE_SPACING,
    FittedText,
    fit_text,
    register_fonts,
    text_width_pt,
)
from documents.form_data import FormData, printed_values
from documents.layout import MM_TO_PT, PAGE_HEIGHT_MM, PAGE_OF_PARTY, PARTIES, Box, Party

PAGE_SIZE = (layout.PAGE_WIDTH_MM * MM_TO_PT, PAGE_HEIGHT_MM * MM_TO_PT)
# DejaVu's ascent is 0.928 em, its descent 0.236: this centres a line in its 1.2 em slot.
_BASELINE_EM = 0.946
_PRINT_FLAG = 4  # /F 4: the widget is printed
CASE_NUMBER_BASELINE_MM = 6.8


def signature_field_name(party: Party) -> str:
    return f"{party}_signature"


def stamp_field_name(party: Party) -> str:
    return f"{party}_stamp"


def fitted_values(form: FormData) -> dict[str, FittedText]:
    """Every field's value set for its box; DoesNotFit for the first one that cannot be."""
    return {
        name: fit_text(name, text, layout.FIELD_BOXES[name], layout.field_style(name))
        for name, text in printed_values(form).items()
    }


def value_boxes(form: FormData) -> dict[str, Box]:
    """Where each value's ink actually is: its box narrowed to the printed lines.

    The reader crops these (plus a margin) so that no label or neighbouring value gets in.
    """
    boxes = {}
    for name, fitted in fitted_values(form).items():
        box = layout.FIELD_BOXES[name]
        font = layout.field_style(name).font
        width_pt = max(text_width_pt(line, font, fitted.size) for line in fitted.lines)
        height_pt = fitted.line_height_pt * len(fitted.lines)
        top_pt = box.y * MM_TO_PT + (box.h * MM_TO_PT - height_pt) / 2
        boxes[name] = Box(box.x, top_pt / MM_TO_PT, width_pt / MM_TO_PT, height_pt / MM_TO_PT)
    return boxes


@dataclass(frozen=True)
class PrintedLine:
    """A one-line value as printed: its font, its size, and where each character is."""

    text: str
    font_file: Path
    size_pt: float
    characters: tuple[Box, ...]
    baseline_mm: float  # where the characters stand, from the top of the page


def printed_lines(form: FormData) -> dict[str, PrintedLine]:
    """Every one-line value, set character by character (the values set once for all)."""
    return {
        name: _set_line(
            fitted.lines[0], layout.FIELD_BOXES[name], layout.field_style(name).font, fitted.size
        )
        for name, fitted in fitted_values(form).items()
        if len(fitted.lines) == 1
    }


def printed_value_lines(form: FormData) -> dict[str, tuple[PrintedLine, ...]]:
    """Every value set on several lines, each line character by character, where `_value`
    draws it (joined with single spaces, the lines give back the value)."""
    lines = {}
    for name, fitted in fitted_values(form).items():
        if len(fitted.lines) < 2:
            continue
        box = layout.FIELD_BOXES[name]
        font = layout.field_style(name).font
        baselines = _baselines_pt(box, fitted, top_pt=0.0)
        lines[name] = tuple(
            _set_line(line, box, font, fitted.size, baseline_mm=baseline / MM_TO_PT)
            for line, baseline in zip(fitted.lines, baselines, strict=True)
        )
    return lines


def printed_case_number(form: FormData, party: Party) -> PrintedLine:
    """How the case number is set on `party`'s page, character by character."""
    return case_number_line(case_number_text(form.case_id, form.form_version, PAGE_OF_PARTY[party]))


def case_number_line(text: str) -> PrintedLine:
    """How a case number `text` is set under the title (monospaced: where each character
    is depends only on its place in the text)."""
    style = layout.CASE_NUMBER_STYLE
    return _set_line(
        text, layout.CASE_NUMBER, style.font, style.max_pt, baseline_mm=CASE_NUMBER_BASELINE_MM
    )


def _set_line(
    line: str, box: Box, font: str, size: float, *, baseline_mm: float | None = None
) -> PrintedLine:
    height_pt = size * LINE_SPACING
    if baseline_mm is None:  # centred in the box, as `_value` draws it
        top_mm = (box.y * MM_TO_PT + (box.h * MM_TO_PT - height_pt) / 2) / MM_TO_PT
    else:  # drawn on a baseline, as the case number is
        top_mm = box.y + baseline_mm - _BASELINE_EM * size / MM_TO_PT
    edges = [box.x + text_width_pt(line[:i], font, size) / MM_TO_PT for i in range(len(line) + 1)]
    characters = tuple(
        Box(edges[i], top_mm, edges[i + 1] - edges[i], height_pt / MM_TO_PT)
        for i in range(len(line))
    )
    baseline = top_mm + _BASELINE_EM * size / MM_TO_PT
    return PrintedLine(line, FONT_DIR / FONT_FILES[font], size, characters, baseline)


def case_number_box(form: FormData, party: Party) -> Box:
    """Where the printed case number's ink is (see `value_boxes`)."""
    style = layout.CASE_NUMBER_STYLE
    text = case_number_text(form.case_id, form.form_version, PAGE_OF_PARTY[party])
    width_mm = text_width_pt(text, style.font, style.max_pt) / MM_TO_PT
    return Box(layout.CASE_NUMBER.x, layout.CASE_NUMBER.y, width_mm, layout.CASE_NUMBER.h)


def layout_problems(form: FormData) -> list[DoesNotFit]:
    """Every value that cannot be printed readably, so that a case is refused before it exists."""
    problems = []
    for name, text in printed_values(form).items():
        try:
            fit_text(name, text, layout.FIELD_BOXES[name], layout.field_style(name))
        except DoesNotFit as err:
            problems.append(err)
    return problems


# reportlab's fonts are registered once per process and shared by every document; a document
# subsets them as it is saved, reading the font file through the font's one cursor. Two
# threads saving at once read each other's places: "list index out of range", now and then
# (2 form PDFs in 700 at 50 clients in bench/load.py). One document is drawn at a time.
_ONE_DOCUMENT = threading.Lock()


def render_form(form: FormData, key: page_code.Keys) -> bytes:
    """The whole form as PDF bytes: page 1 for the current registrant, page 2 for the new one."""
    register_fonts()
    values = fitted_values(form)
    with _ONE_DOCUMENT:
        return _render_form(form, key, values)


def _render_form(form: FormData, key: page_code.Keys, values: dict[str, FittedText]) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(
        out, pagesize=PAGE_SIZE, invariant=True, pageCompression=1, initialFontName="DejaVuSans"
    )
    canvas.setTitle(f"Cesja {form.case_id}, wersja {form.form_version}")
    canvas.setAuthor("Cesja")
    for party in PARTIES:
        _draw_page(canvas, form, party, values, key)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def render_page(form: FormData, party: Party, key: page_code.Keys) -> bytes:
    """A one-page PDF of `party`'s page alone: what the reader compares a scan with."""
    register_fonts()
    values = fitted_values(form)
    with _ONE_DOCUMENT:
        return _render_page(form, party, key, values)


def _render_page(
    form: FormData, party: Party, key: page_code.Keys, values: dict[str, FittedText]
) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(
        out, pagesize=PAGE_SIZE, invariant=True, pageCompression=0, initialFontName="DejaVuSans"
    )
    _draw_page(canvas, form, party, values, key)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _top(mm_from_top: float) -> float:
    """A y coordinate in PDF points from one in millimetres from the top of the page."""
    return (PAGE_HEIGHT_MM - mm_from_top) * MM_TO_PT


def render_blank_page(party: Party, current_kind: str, new_kind: str) -> bytes:
    """`party`'s page as every case whose parties are of these kinds has it, without any
    case's data: the markers, lines, boxes, labels and declarations. With `render_values`
    drawn over it, it is `render_page` but for the page code and the instructions."""
    register_fonts()
    with _ONE_DOCUMENT:
        return _render_blank_page(party, current_kind, new_kind)


def _render_blank_page(party: Party, current_kind: str, new_kind: str) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(
        out, pagesize=PAGE_SIZE, invariant=True, pageCompression=0, initialFontName="DejaVuSans"
    )
    _draw_blank(canvas, party, {"current_registrant": current_kind, "new_registrant": new_kind})
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def render_values(form: FormData, party: Party) -> bytes:
    """Only the case number and the values as `party`'s page prints them (see
    `render_blank_page`): what the reader compares a scan with. The page code and the
    instructions, also the case's, lie outside every zone it compares."""
    register_fonts()
    values = fitted_values(form)
    with _ONE_DOCUMENT:
        return _render_values(form, party, values)


def _render_values(form: FormData, party: Party, values: dict[str, FittedText]) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(
        out, pagesize=PAGE_SIZE, invariant=True, pageCompression=0, initialFontName="DejaVuSans"
    )
    _draw_values(canvas, form, party, values)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw_page(
    canvas: Canvas, form: FormData, party: Party, values: dict[str, FittedText], key: page_code.Keys
) -> None:
    _draw_blank(canvas, party, {p: form.party(p).kind for p in PARTIES})
    _draw_case(canvas, form, party, values, key)


def _draw_blank(canvas: Canvas, party: Party, kinds: dict[Party, str]) -> None:
    """What the page prints whatever the case: it depends only on the kinds of the parties."""
    _markers(canvas)
    canvas.setFillGray(0)
    canvas.setFont("DejaVuSans-Bold", 14)
    canvas.drawString(layout.TITLE.x * MM_TO_PT, _top(layout.TITLE.y + 6), wording.TITLE)
    canvas.setFont("DejaVuSans", 9)
    canvas.drawString(
        layout.PAGE_LABEL.x * MM_TO_PT, _top(layout.PAGE_LABEL.y + 3.8), wording.PAGE_LABELS[party]
    )
    _label(canvas, wording.DOMAINS_LABEL, layout.LABEL_COLUMN_X, layout.DOMAINS, bold=True)
    for block_party in PARTIES:
        _party_block(canvas, block_party, kinds[block_party], signs=block_party == party)
    _paragraph(canvas, wording.DECLARATIONS[party], layout.DECLARATION, "DejaVuSans", 8.2)
    _signature_box(canvas, party, kinds[party])


def _draw_case(
    canvas: Canvas, form: FormData, party: Party, values: dict[str, FittedText], key: page_code.Keys
) -> None:
    """What the page prints of this case: the code, the number, the values, the instructions."""
    code = page_code.PageCode(form.case_id, form.form_version, party, form.key_id)
    _qr(canvas, page_code.encode(code, key))
    _draw_values(canvas, form, party, values)
    _paragraph(
        canvas,
        wording.instructions(
            form.send_to.postal_address,
            form.send_to.fax_number,
            form.deadline.strftime("%d.%m.%Y"),
            form.send_to.url_for(party),
        ),
        layout.INSTRUCTIONS,
        "DejaVuSans",
        7.2,
    )


def _draw_values(
    canvas: Canvas, form: FormData, party: Party, values: dict[str, FittedText]
) -> None:
    canvas.setFillGray(0)
    style = layout.CASE_NUMBER_STYLE
    canvas.setFont(style.font, style.max_pt)
    canvas.drawString(
        layout.CASE_NUMBER.x * MM_TO_PT,
        _top(layout.CASE_NUMBER.y + CASE_NUMBER_BASELINE_MM),
        case_number_text(form.case_id, form.form_version, PAGE_OF_PARTY[party]),
    )
    _value(canvas, layout.DOMAINS, values["domains"], layout.field_style("domains").font)
    for block_party in PARTIES:
        for field in layout.PARTY_FIELD_NAMES:
            box = layout.party_field_box(block_party, field)
            fitted = values[f"{block_party}.{field}"]
            _value(canvas, box, fitted, layout.field_style(field).font)


def case_number_text(case_id: str, form_version: int, page: int) -> str:
    """The printed fallback route: read by OCR when the QR code is not."""
    return f"{case_id}  wersja {form_version}  strona {page}/2"


def _markers(canvas: Canvas) -> None:
    canvas.setFillGray(0)
    for box in layout.MARKERS:
        x0, y0, x1, y1 = box.pdf_rect()
        canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)


def _qr(canvas: Canvas, text: str) -> None:
    """The page code as a QR symbol filling `layout.QR_CODE`, drawn as runs of dark modules."""
    modules = page_code.qr_modules(text)
    n = modules.shape[0]
    x0, _, _, y1 = layout.QR_CODE.pdf_rect()
    step = layout.QR_CODE.w * MM_TO_PT / n
    canvas.setFillGray(0)
    path = canvas.beginPath()
    for row in range(n):
        col = 0
        while col < n:
            if not modules[row, col]:
                col += 1
                continue
            start = col
            while col < n and modules[row, col]:
                col += 1
            path.rect(x0 + start * step, y1 - (row + 1) * step, (col - start) * step, step)
    canvas.drawPath(path, stroke=0, fill=1)


def _label(canvas: Canvas, text: str, x_mm: float, box: Box, *, bold: bool = False) -> None:
    canvas.setFont("DejaVuSans-Bold" if bold else "DejaVuSans", layout.LABEL_PT)
    canvas.setFillGray(0.25)
    canvas.drawString(x_mm * MM_TO_PT, _top(box.y + 3.6), text)
    canvas.setFillGray(0)


def _value(canvas: Canvas, box: Box, fitted: FittedText, font: str) -> None:
    canvas.setFont(font, fitted.size)
    baselines = _baselines_pt(box, fitted, top_pt=box.y * MM_TO_PT)
    for line, baseline in zip(fitted.lines, baselines, strict=True):
        canvas.drawString(box.x * MM_TO_PT, PAGE_SIZE[1] - baseline, line)


def _baselines_pt(box: Box, fitted: FittedText, *, top_pt: float) -> list[float]:
    """Where `_value` sets each line of `fitted`: the lines as one block centred down `box`,
    each baseline in points below `top_pt` (the box's top down the page, or 0 for from the box's
    own top); `printed_value_lines` tells the reader the same places."""
    start = top_pt + (box.h * MM_TO_PT - fitted.line_height_pt * len(fitted.lines)) / 2
    return [
        start + i * fitted.line_height_pt + _BASELINE_EM * fitted.size
        for i in range(len(fitted.lines))
    ]


def _party_block(canvas: Canvas, party: Party, kind: str, *, signs: bool) -> None:
    top = layout.PARTY_BLOCK_TOP[party]
    canvas.setStrokeGray(0)
    canvas.setLineWidth(0.6)
    canvas.line(layout.LABEL_COLUMN_X * MM_TO_PT, _top(top), 190 * MM_TO_PT, _top(top))
    canvas.setFont("DejaVuSans-Bold", 9.5)
    heading = wording.PARTY_HEADINGS[party]
    if signs:
        heading = f"{heading} – {wording.SIGNS_HERE}"
    canvas.drawString(layout.LABEL_COLUMN_X * MM_TO_PT, _top(top + 3.9), heading)
    for field in layout.PARTY_FIELD_NAMES:
        box = layout.party_field_box(party, field)
        _label(canvas, wording.field_label(field, kind), layout.PARTY_LABEL_X[field], box)


def _paragraph(canvas: Canvas, text: str, box: Box, font: str, size: float) -> None:
    lines = _wrapped(text, font, size, box.w * MM_TO_PT)
    canvas.setFont(font, size)
    leading = size * 1.25
    for i, line in enumerate(lines):
        canvas.drawString(box.x * MM_TO_PT, _top(box.y) - size - i * leading, line)


@lru_cache(maxsize=256)
def _wrapped(text: str, font: str, size: float, width_pt: float) -> tuple[str, ...]:
    """`text` broken into lines `width_pt` wide. Kept: the declarations are the same on every
    form and the instructions on nearly every one, and measuring them word by word was a
    tenth of a form's CPU."""
    return tuple(simpleSplit(text, font, size, width_pt))


def _signature_box(canvas: Canvas, party: Party, kind: str) -> None:
    canvas.setStrokeGray(0)
    canvas.setLineWidth(0.8)
    x0, y0, x1, y1 = layout.SIGNATURE.pdf_rect()
    canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=1, fill=0)
    canvas.setFont("DejaVuSans", 7)
    canvas.drawString(x0, _top(layout.BOX_CAPTION_Y + 2.6), wording.SIGNATURE_CAPTIONS[kind])
    _widget(canvas, signature_field_name(party), layout.SIGNATURE, "Sig")
    if kind != "company":
        return
    x0, y0, x1, y1 = layout.STAMP.pdf_rect()
    canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=1, fill=0)
    canvas.drawString(x0, _top(layout.BOX_CAPTION_Y + 2.6), wording.STAMP_CAPTION)
    tx0, ty0, tx1, ty1 = layout.NO_STAMP_TICK.pdf_rect()
    canvas.rect(tx0, ty0, tx1 - tx0, ty1 - ty0, stroke=1, fill=0)
    canvas.drawString(tx1 + 1.5 * MM_TO_PT, ty0 + 1.2 * MM_TO_PT, wording.NO_STAMP)
    _widget(canvas, stamp_field_name(party), layout.STAMP, "Btn")


def _widget(canvas: Canvas, name: str, box: Box, field_type: str) -> None:
    """A form field over `box`: `Sig` for a signature, `Btn` (push button) for the stamp.

    reportlab's AcroForm has no signature fields, so the widget is built as its own fields
    are (an annotation on the page, referenced from /AcroForm /Fields).
    """
    widget = {
        "Type": PDFName("Annot"),
        "Subtype": PDFName("Widget"),
        "FT": PDFName(field_type),
        "T": PDFString(name),
        "Rect": PDFArray(list(box.pdf_rect())),
        "F": _PRINT_FLAG,
        "P": canvas._doc.thisPageRef(),
    }
    if field_type == "Btn":
        widget["Ff"] = 1 << 16  # push button: a placeholder, never a value
    annotation = PDFDictionary(widget)
    canvas._addAnnotation(annotation)
    form = canvas.acroForm
    form.fields.append(form.getRef(annotation))
