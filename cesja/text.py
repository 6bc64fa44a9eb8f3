"""Text the service takes from outside: characters that print, checked the same way in every field.

Refused in every text field (a name, an address, a reference, a sender, a reason):

- control characters, C0 and C1 (NUL, ESC, DEL, U+0085…): they print as nothing, cut C
  strings short, and drive terminals that show logs;
- format characters, the bidi controls above all (U+202A–U+202E embeddings and overrides,
  U+2066–U+2069 isolates, the marks U+200E, U+200F and U+061C): they reorder what prints
  after them, so that "cod.exe" reads "exe.doc" and a reference is not what it looks like;
  the zero-width space and joiners, U+2060 and the byte-order mark too, which make two values
  that print alike differ;
- the line and paragraph separators U+2028 and U+2029, surrogates and private-use characters.

Multi-line text (a staff member's reason) may hold line breaks and tabs, LF once `with_lf` has
made CR LF and CR (as browsers send a text area's lines) into LF; one-line text may hold
neither.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# Unicode general categories: control, format, surrogate, private use, line and paragraph
# separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
LINE_BREAKS = "\n\t"
_NAMELESS = {"\n": "a line break", "\r": "a line break", "\t": "a tab"}


def with_lf(value: str) -> str:
    """Multi-line text with its line breaks as LF, however the browser sent them."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def unprintable(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value`, naming its first character that text may not hold, or None.

    `multiline`: LF and tab are allowed (pass the text through `with_lf` first)."""
    allowed = LINE_BREAKS if multiline else ""
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in REFUSED_CATEGORIES and char not in allowed:
            name = _NAMELESS.get(char) or unicodedata.name(char, "") or "a control character"
            return (
                f"holds U+{ord(char):04X} ({name}) at character {position}: control and "
                "direction-changing characters are not accepted"
            )
    return None


def one_line(value: str) -> str:
    """`value` as sent, when it is one line of printable text; else a validation error that
    pydantic reports under the field's path (a 422 naming the field)."""
    problem = unprintable(value)
    if problem is not None:
        raise PydanticCustomError("unprintable_character", "{problem}", {"problem": problem})
    return value


#: A field of one line of printable text, kept as sent.
PrintableLine = Annotated[str, AfterValidator(one_line)]
