"""What the service says to people, in Polish: the catalogue `cesja/locale/pl/.../cesja.po`,
whose keys are the English sentences the code writes, and the values those sentences name in
Polish words. A sentence the catalogue lacks is said in English, as it was written."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from cesja.web.office_labels import PARTIES, actor_label, field_label
from workflow import Check, Sentence

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "pl" / "LC_MESSAGES" / "cesja.po"

_GENITIVE = {"current_registrant": "obecnego abonenta", "new_registrant": "nowego abonenta"}
_INSTRUMENTAL = {
    "post": "pocztą",
    "fax": "faksem",
    "email": "e-mailem",
    "upload": "jako przesłany plik",
}


def _field(name: str) -> str:
    party, _, short = name.rpartition(".")
    label = field_label(short, None)
    return f"{PARTIES[party]}: {label}" if party in PARTIES else label


def _day(iso: str) -> str:
    """A day as Poles write it: 3.12.2026."""
    year, month, day = iso.split("-")
    return f"{int(day)}.{month}.{year}"


_POLISH: dict[str, Callable[[str], str]] = {
    "party": lambda party: _GENITIVE.get(party, party),
    "channel": lambda channel: _INSTRUMENTAL.get(channel, channel),
    "fields": lambda fields: ": " + ", ".join(map(_field, fields.split(","))) if fields else "",
    "actor": actor_label,
    # A day, given as an ISO date: 3.12.2026.
    "date": lambda day: _day(day),
}


@cache
def polish() -> dict[str, str]:
    """English sentence → Polish sentence, as the catalogue has them."""
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


def in_polish(sentence: Sentence) -> str:
    template = polish().get(sentence.template)
    if template is None:
        return sentence.english()
    return template.format(**{k: _POLISH.get(k, str)(v) for k, v in sentence.values})


def check_detail(check: Check) -> str:
    """What a check says, in Polish (its English detail when it says nothing we can word)."""
    if not check.sentences:
        return check.detail
    return " ".join(in_polish(sentence) for sentence in check.sentences)
