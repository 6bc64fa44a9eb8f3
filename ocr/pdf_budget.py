"""Bounded walks of a PDF's structure: its pages, its images, what a page would cost to draw.

A PDF is a graph that a few kilobytes can make explode: a page tree whose nodes list the same
child many times, forms that draw forms ten times, nine levels deep (10⁹ draws from 4.5 KB).
Every walk here visits each object once, or counts its visits against a budget, so its cost
follows the file's size, never the size of what the file describes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.generic import ContentStream, DictionaryObject, IndirectObject

from ocr.errors import CorruptFile, TooComplex

#: Nodes of the page tree visited before it is taken for a loop: far more than any real tree
#: (a tree of 5,000 pages has a few hundred inner nodes).
PAGE_TREE_VISITS = 20_000
#: A real page tree is a few levels deep; pypdf walks it recursively.
PAGE_TREE_DEPTH = 64
#: Images and forms looked at when listing what a page can draw.
XOBJECT_VISITS = 5_000
#: What a page may draw, every operator of its content and of each form it draws counted
#: once per draw. A scanned page draws a handful; our form about 700 on each page; a busy
#: vector drawing tens of thousands.
MAX_DRAWS = 2_000_000
#: Drawing instructions parsed to count them (each content stream once). Parsing runs at about
#: a megabyte a second; a form page holds 15 KB.
MAX_CONTENT_BYTES = 8_000_000
#: Forms within forms: pdfium itself stops far below this.
FORM_DEPTH = 32


def count_pages(reader: PdfReader, *, ceiling: int) -> int:
    """The number of pages, as pdfium and pypdf count them (a node listed twice counts twice),
    walking the page tree with a budget; `ceiling` once there are that many (the rest are
    not counted).

    Raises CorruptFile for a tree that loops or runs too deep.
    """
    catalog = reader.trailer["/Root"].get_object()
    root = catalog.get("/Pages") if isinstance(catalog, DictionaryObject) else None
    if root is None:
        raise CorruptFile("the PDF has no list of pages")
    count = visits = 0
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack and count < ceiling:
        node, depth = stack.pop()
        visits += 1
        if visits > PAGE_TREE_VISITS or depth > PAGE_TREE_DEPTH:
            raise CorruptFile("the PDF's list of pages loops or is nested far too deep")
        node = node.get_object()
        if not isinstance(node, DictionaryObject):
            continue
        kids = node.get("/Kids")
        if kids is None:
            count += 1
            continue
        kids = kids.get_object()
        if isinstance(kids, list):
            stack.extend((kid, depth + 1) for kid in reversed(kids))
    return count


def images_in(
    resources: Any, *, seen: set[object] | None = None, depth_limit: int = 4
) -> Iterator[DictionaryObject]:
    """Each image XObject that `resources` can draw, forms within forms included (to
    `depth_limit`), each object once, and none already in `seen` (which it adds to); raises
    TooComplex past XOBJECT_VISITS."""
    seen = set() if seen is None else seen
    stack: list[tuple[Any, int]] = [(resources, 0)]
    visits = 0
    while stack:
        current, depth = stack.pop()
        if not current:
            continue
        xobjects = current.get_object().get("/XObject")
        if not xobjects:
            continue
        for ref in xobjects.get_object().values():
            key = _key(ref)
            if key in seen:
                continue
            seen.add(key)
            visits += 1
            if visits > XOBJECT_VISITS:
                raise TooComplex(f"the page refers to more than {XOBJECT_VISITS} images and forms")
            xobject = ref.get_object()
            if not isinstance(xobject, DictionaryObject):
                continue
            subtype = xobject.get("/Subtype")
            if subtype == "/Image":
                yield xobject
            elif subtype == "/Form" and depth < depth_limit:
                stack.append((xobject.get("/Resources"), depth + 1))


def drawing_cost(pdf_page: PageObject, *, page_number: int) -> int:
    """How many operators drawing the page runs, forms counted once per draw, and the
    appearances of its annotations (which the renderer draws too).

    Each content stream is parsed once (the cost of a form is remembered), so a 4 KB file
    claiming 10⁹ draws is measured in milliseconds. Raises TooComplex when the page would
    draw more than MAX_DRAWS or holds more than MAX_CONTENT_BYTES of instructions, and
    CorruptFile when a form draws itself.
    """
    counter = _DrawCounter(page_number)
    cost = counter.stream_cost(pdf_page.get_contents(), pdf_page.get("/Resources"), 0)
    for annotation in _annotations(pdf_page):
        appearance = annotation.get("/AP")
        normal = appearance.get_object().get("/N") if appearance else None
        if normal is not None:
            cost += counter.appearance_cost(normal)
    counter.check(cost)
    return cost


class _DrawCounter:
    """Counts a page's draws with each form's cost remembered by object."""

    def __init__(self, page_number: int):
        self.page_number = page_number
        self.form_costs: dict[object, int] = {}
        self.drawing: set[object] = set()  # forms being counted: one drawing itself loops
        self.parsed_bytes = 0

    def check(self, cost: int) -> None:
        if cost > MAX_DRAWS:
            raise TooComplex(
                f"page {self.page_number} of the PDF draws more than {MAX_DRAWS:,} shapes "
                "(forms drawing forms), far more than any scan or form; it is not rendered"
            )

    def stream_cost(self, content: Any, resources: Any, depth: int) -> int:
        if content is None:
            return 0
        if not isinstance(content, ContentStream):
            content = ContentStream(content, None)
        self.parsed_bytes += len(content.get_data())
        if self.parsed_bytes > MAX_CONTENT_BYTES:
            raise TooComplex(
                f"page {self.page_number} of the PDF holds more than "
                f"{MAX_CONTENT_BYTES // 1_000_000} MB of drawing instructions; it is not rendered"
            )
        xobjects = resources.get_object().get("/XObject") if resources else None
        xobjects = xobjects.get_object() if xobjects else {}
        cost = 0
        for operands, operator in content.operations:
            cost += 1
            if operator == b"Do" and operands:
                cost += self.form_cost(xobjects.get(operands[0]), depth)
                self.check(cost)
        return cost

    def form_cost(self, ref: Any, depth: int) -> int:
        if ref is None:
            return 0
        key = _key(ref)
        if key in self.form_costs:
            return self.form_costs[key]
        xobject = ref.get_object()
        if not isinstance(xobject, DictionaryObject) or xobject.get("/Subtype") != "/Form":
            return 0
        if key in self.drawing:
            raise CorruptFile(f"page {self.page_number} of the PDF has a form that draws itself")
        if depth >= FORM_DEPTH:
            raise TooComplex(
                f"page {self.page_number} of the PDF nests forms more than {FORM_DEPTH} deep"
            )
        self.drawing.add(key)
        cost = self.stream_cost(xobject, xobject.get("/Resources"), depth + 1)
        self.drawing.discard(key)
        self.form_costs[key] = cost
        return cost

    def appearance_cost(self, normal: Any) -> int:
        """An annotation's normal appearance: one form, or one form per state (a tick box)."""
        target = normal.get_object()
        if isinstance(target, DictionaryObject) and target.get("/Subtype") != "/Form":
            return max((self.form_cost(state, 0) for state in target.values()), default=0)
        return self.form_cost(normal, 0)


def _annotations(pdf_page: PageObject) -> list[DictionaryObject]:
    annotations = pdf_page.get("/Annots")
    annotations = annotations.get_object() if annotations else []
    if not isinstance(annotations, list):
        return []
    if len(annotations) > XOBJECT_VISITS:
        raise TooComplex(f"the page has more than {XOBJECT_VISITS} annotations")
    found = []
    for ref in annotations:
        annotation = ref.get_object()
        if isinstance(annotation, DictionaryObject):
            found.append(annotation)
    return found


def _key(ref: Any) -> object:
    """An object's identity in the file: its number for an indirect object, else itself."""
    if isinstance(ref, IndirectObject):
        return (ref.idnum, ref.generation)
    return id(ref)
