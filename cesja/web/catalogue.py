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

# How an e-mail's sender was authenticated, or why not (workflow.checks.HOW).
_HOW = {
    "dmarc": "DMARC potwierdził nadawcę",
    "dkim": "podpis DKIM domeny nadawcy jest poprawny",
    "dkim_not_aligned": "poprawny podpis DKIM należy do innej domeny niż domena nadawcy",
    "not_passed": "ani DMARC, ani DKIM nie potwierdziły nadawcy",
    "no_results": "serwer pocztowy odbiorcy nie zostawił wyników uwierzytelnienia",
    "not_configured": "usługa nie wie, którego serwera pocztowego wynikom ufać",
    "no_sender": "wiadomość nie ma jednego adresu nadawcy",
}


def how_sender_was_checked(how: str) -> str:
    return _HOW.get(how, how)


def _field(name: str) -> str:
    party, _, short = name.rpartition(".")
    label = field_label(short, None)
    return f"{PARTIES[party]}: {label}" if party in PARTIES else label


_POLISH: dict[str, Callable[[str], str]] = {
    "party": lambda party: _GENITIVE.get(party, party),
    "channel": lambda channel: _INSTRUMENTAL.get(channel, channel),
    "fields": lambda fields: ": " + ", ".join(map(_field, fields.split(","))) if fields else "",
    "actor": actor_label,
    "how": how_sender_was_checked,
    "sender": lambda sender: sender or "brak jednego adresu",
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


def said(template_and_values: tuple[str, tuple[tuple[str, str], ...]] | None) -> str:
    """What a signed file's report says (a template and its values), in Polish."""
    if template_and_values is None:
        return ""
    template, values = template_and_values
    return in_polish(Sentence(template, values))


def check_detail(check: Check) -> str:
    """What a check says, in Polish (its English detail when it says nothing we can word)."""
    if not check.sentences:
        return check.detail
    return " ".join(in_polish(sentence) for sentence in check.sentences)
