"""Finding a case by what a caller has at hand: its number, a domain, the registrar's
reference, a party's name (typed without Polish letters too), NIP, PESEL, REGON, KRS or e-mail.

Each case keeps one folded line of all of these (`CaseRow.search`), written with the case and
with each new form version; a query is folded the same way and each of its words must occur in
that line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Protocol

import idna
from sqlalchemy import ColumnElement, and_
from sqlmodel import col

from cesja.db.models import CaseRow

# Letters that Unicode does not decompose into a base letter and a mark.
_UNMARKED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss"})
# Digits written in groups (NIP 526-025-09-95, PESEL 921108 04567) are one number.
_DIGIT_GROUPS = re.compile(r"(?<=\d)[\s\-./]+(?=\d)")
MAX_QUERY = 200
MAX_WORDS = 8


def folded(text: str) -> str:
    """Lower case, without diacritics, digit groups joined: `Żółw 526-025` → `zolw 526025`."""
    bare = unicodedata.normalize("NFKD", text.translate(_UNMARKED))
    plain = "".join(c for c in bare if not unicodedata.combining(c)).casefold()
    return _DIGIT_GROUPS.sub("", plain)


class Searchable(Protocol):
    """What a case is found by: a case row, or its columns as a migration reads them."""

    @property
    def id(self) -> str: ...
    @property
    def external_ref(self) -> str | None: ...
    @property
    def domains(self) -> list[str]: ...
    @property
    def current_registrant(self) -> dict[str, Any]: ...
    @property
    def new_registrant(self) -> dict[str, Any]: ...


def search_line(case: Searchable) -> str:
    """What a case is found by, folded into one line."""
    found: list[str] = [case.id, case.external_ref or ""]
    for domain in case.domains:
        found += [domain, _ascii_domain(domain)]
    for party in (case.current_registrant, case.new_registrant):
        found += _party(party)
    return " | ".join(folded(value) for value in found if value)


def matching(query: str) -> ColumnElement[bool] | None:
    """The cases whose line holds every word of the query; None for a query of no words."""
    words = folded(query[:MAX_QUERY]).split()[:MAX_WORDS]
    if not words:
        return None
    return and_(*(col(CaseRow.search).like(_like(word), escape="\\") for word in words))


def _party(party: dict[str, Any]) -> list[str]:
    keys = ("name", "nip", "pesel", "regon", "krs", "email")
    return [str(party[key]) for key in keys if party.get(key)] + list(
        party.get("representatives") or ()
    )


def _ascii_domain(domain: str) -> str:
    """The `xn--` form a caller may paste (stored domains passed IDNA 2008 at creation)."""
    return idna.encode(domain, uts46=True).decode("ascii")


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
