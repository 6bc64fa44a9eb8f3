"""The Jinja2 environment shared by the customer page and the back-office UI."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from cesja.errors import without_paths

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))

CHECK_LABELS = {
    "page_received": "strona formularza otrzymana",
    "fields_match": "dane zgodne z formularzem",
    "signature_present": "podpis",
    "stamp_present": "pieczęć firmowa",
    "unaltered": "brak odręcznych zmian w danych",
}
PARTY_LABELS = {
    "current_registrant": "Obecny abonent (strona 1)",
    "new_registrant": "Nowy abonent (strona 2)",
}
STATUS_LABELS = {
    "pending": "oczekuje",
    "passed": "w porządku",
    "failed": "do wyjaśnienia",
    "accepted": "zaakceptowane",
}
STATE_LABELS = {
    "awaiting_documents": "czekamy na dokumenty",
    "in_review": "dokumenty w weryfikacji",
    "transfer_ready": "dokumenty przyjęte — cesja zostanie wykonana",
    "completed": "cesja wykonana",
    "rejected": "sprawa odrzucona",
    "cancelled": "sprawa anulowana",
    "expired": "termin na przesłanie dokumentów minął",
}
TEMPLATES.env.globals.update(
    check_labels=CHECK_LABELS,
    party_labels=PARTY_LABELS,
    status_labels=STATUS_LABELS,
    state_labels=STATE_LABELS,
)


def masked_pesel(pesel: str) -> str:
    """A PESEL as lists show it: the date of birth, the rest hidden (850101*****). The whole
    number is on the case's page, where looking at it is recorded."""
    return pesel[:6] + "*" * max(len(pesel) - 6, 0)


TEMPLATES.env.filters["without_paths"] = without_paths
TEMPLATES.env.filters["masked_pesel"] = masked_pesel
