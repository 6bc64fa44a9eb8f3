"""The one catalogue of what the service says to people: `cesja/locale/pl/.../cesja.po`, read
with Babel and used through gettext. Its msgids are the English the code and the templates
write, its msgstrs the Polish: Polish is the default, English is the msgids themselves, and
a message the catalogue lacks is said in English, as it was written.

Code marks English for the catalogue with `N_` where it is written (a label in a table, a
sentence kept for later) and says it with `gettext` where a reader's language is known
(`cesja.web.words`); templates use `{% trans %}` and `_()` (`cesja.web.templating`).
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "pl" / "LC_MESSAGES" / "cesja.po"

# The languages the pages speak; the first is the default.
LANGUAGES = ("pl", "en")
DEFAULT_LANGUAGE = "pl"
LANGUAGE_NAMES = {"pl": "Polski", "en": "English"}  # each in its own words, never translated


def N_(message: str) -> str:
    """`message`, marked as English the catalogue translates where it is shown."""
    return message


def language_or_default(language: str | None) -> str:
    """A language the pages speak: `language` if it is one, else the default."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def translations(language: str | None) -> gettext.NullTranslations:
    """The catalogue in `language` (the default for any other value): Polish from cesja.po,
    compiled in memory when first needed (nothing built lies beside the source), English as
    the msgids say it."""
    return _translations(language_or_default(language))


@cache
def _translations(language: str) -> gettext.NullTranslations:
    if language != "pl":
        return gettext.NullTranslations()
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain="cesja")


@cache
def polish() -> dict[str, str]:
    """English message → its Polish, for the catalogue's plain messages (no plural, no
    context)."""
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    return {
        m.id: str(m.string)
        for m in catalogue
        if isinstance(m.id, str) and m.id and m.string and m.context is None
    }
