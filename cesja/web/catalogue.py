"""What the service says to people, in Polish: the catalogue `cesja/locale/pl/.../cesja.po`,
whose keys are the English sentences the code writes, and the values those sentences name in
Polish words. A sentence the catalogue lacks is said in English, as it was written."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from cesja.casework import lifecycle
from cesja.errors import CesjaError
from cesja.web.office_labels import PARTIES, STATES, actor_label, field_label
from workflow import Check, Sentence, sources

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


def _day(iso: str) -> str:
    """A day as Poles write it: 3.12.2026."""
    year, month, day = iso.split("-")
    return f"{int(day)}.{month}.{year}"


_POLISH: dict[str, Callable[[str], str]] = {
    "party": lambda party: _GENITIVE.get(party, party),
    "channel": lambda channel: _INSTRUMENTAL.get(channel, channel),
    "fields": lambda fields: ": " + ", ".join(map(_field, fields.split(","))) if fields else "",
    "actor": actor_label,
    "how": how_sender_was_checked,
    "sender": lambda sender: sender or "brak jednego adresu",
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


# Why the case's state refused an action (`workflow.needs` words it in English for the API).
_ACTS = {
    "review_needed": "Skierowanie sprawy do weryfikacji",
    "documents_pending": "Powrót do oczekiwania na dokumenty",
    "all_checks_passed": "Zwolnienie cesji",
    "complete": "Potwierdzenie przeniesienia",
    "reject": "Odrzucenie sprawy",
    "cancel": "Anulowanie sprawy",
    "expire": "Zamknięcie sprawy po terminie",
    "reissue": "Wydanie nowej wersji formularza",
}
_WAITS = {
    "awaiting_documents": "część sprawdzeń czeka jeszcze na strony od abonentów",
    "in_review": "niespełnione sprawdzenie czeka na biuro albo na nowe dokumenty",
    "transfer_ready": "wszystkie sprawdzenia spełnione, przeniesienie czeka na rejestratora",
    "completed": "przeniesienie potwierdzono i sprawę zamknięto",
    "rejected": "biuro ją odrzuciło i sprawę zamknięto",
    "cancelled": "ją anulowano i sprawę zamknięto",
    "expired": "minął jej termin i sprawę zamknięto",
}


def refusal(err: CesjaError) -> str:
    """Why the case's state refused an action, in Polish; what the API answers otherwise."""
    if isinstance(err, lifecycle.TransitionRefused) and err.extra["event"] in _ACTS:
        state, event = err.extra["state"], err.extra["event"]
        allowed = [s for s in STATES if s in sources(event)]
        if state in allowed:  # a guard said no: the only one is the deadline
            return f"{_ACTS[event]} jest możliwe w stanie „{STATES[state]}” dopiero po terminie."
        named = " albo ".join(f"„{STATES[s]}”" for s in allowed)
        return (
            f"{_ACTS[event]} jest możliwe tylko w stanie {named}; sprawa jest w stanie "
            f"„{STATES[state]}”: {_WAITS[state]}."
        )
    if isinstance(err, lifecycle.CaseClosed):
        state = err.extra["state"]
        return (
            f"Sprawa jest w stanie „{STATES[state]}” i jest zamknięta: sprawdzenia rozstrzyga "
            "się tylko, dopóki sprawa jest otwarta."
        )
    return err.message


# Why an audit trail does not hold (`workflow.audit`), as the case page says it.
_BROKEN = (
    (
        r"its stored hash was changed; its content is as it was written",
        "zmieniono zapisany skrót zdarzenia; jego treść jest taka, jak ją zapisano",
    ),
    (
        r"its hash does not hold under the audit key: .*",
        "jego skrót nie zgadza się pod kluczem dziennika: treść albo skrót zmienił po zapisaniu "
        "ktoś, kto nie ma klucza",
    ),
    (
        r"its content \(type, actor, time or data\) was changed after it was written",
        "po zapisaniu zmieniono jego treść (rodzaj, osobę, czas albo dane)",
    ),
    (
        r"its content or its hash was changed after it was written",
        "po zapisaniu zmieniono jego treść albo skrót",
    ),
    (
        r"it does not link to event (\d+): .*",
        r"nie łączy się ze zdarzeniem nr \1: między nimi usunięto albo wstawiono zdarzenie, "
        "albo jedno z nich przepisano",
    ),
    (
        r"the events are out of order: event (\d+) comes after event (\d+)",
        r"zdarzenia są w złej kolejności: zdarzenie nr \1 stoi po zdarzeniu nr \2",
    ),
    (
        r"event (\d+) is missing: event (\d+) follows .*",
        r"brakuje zdarzenia nr \1 (zdarzenie nr \2 stoi po poprzednim)",
    ),
    (
        r"events (\d+) to (\d+) are missing: event (\d+) follows .*",
        r"brakuje zdarzeń nr \1–\2 (zdarzenie nr \3 stoi po poprzednim)",
    ),
)


def broken_link(reason: str) -> str:
    """Why the chain breaks at an event, in Polish where it is a reason we know."""
    for pattern, polish in _BROKEN:
        if re.fullmatch(pattern, reason):
            return re.sub(pattern, polish, reason)
    return reason


# What the reader notes of a page and of the ink it found (`ocr.reading`, `ocr.ink`,
# `documents.page_code`), as the back office says it: each part of a note by its pattern.
_STAMP_KINDS = {"round": "okrągła", "framed": "prostokątna", "text": "tekstowa"}
_READER_NOTES: tuple[tuple[str, str], ...] = (
    (r"(\d+) streak column\(s\) removed", r"usunięto pionowe smugi: \1"),
    (
        r"a halftone screen over (\d+)% of the page read as the grey it stands for",
        r"raster półtonowy na \1% strony odczytano jako szarość, którą oddaje",
    ),
    (r"the QR code could not be read", "kodu QR nie dało się odczytać"),
    (r"routed by the printed case number", "stronę przypisano po wydrukowanym numerze sprawy"),
    (
        r"the form's corner markers were not found: it cannot be read",
        "nie znaleziono znaczników w rogach formularza: strony nie da się odczytać",
    ),
    (
        r"no readable page code and no readable case number",
        "ani kodu strony, ani numeru sprawy nie dało się odczytać",
    ),
    (
        r"the page names case (\S+), which does not exist",
        r"strona wskazuje sprawę \1, której nie ma",
    ),
    (
        r"printed from form version (\d+); the case is at version (\d+), so this page no longer "
        r"counts",
        r"wydrukowana z formularza w wersji \1; sprawa jest w wersji \2, więc strona się "
        "już nie liczy",
    ),
    (
        r"the page claims form version (\d+), never issued",
        r"strona podaje wersję formularza \1, której nigdy nie wydano",
    ),
    (
        r"the page code is signed with key (\S+), but form version (\d+) was issued under key "
        r"(\S+): the code was forged",
        r"kod strony podpisano kluczem \1, a formularz w wersji \2 "
        r"wydano pod kluczem \3: kod podrobiono",
    ),
    (
        r"the page code was read, but the corner markers were not found: the page cannot be "
        r"checked",
        "kod strony odczytano, ale nie znaleziono znaczników w rogach: strony nie da się sprawdzić",
    ),
    (r"send it again, whole and unfolded", "trzeba ją przesłać ponownie, całą i niezłożoną"),
    (r"no ink on the page", "pusta strona"),
    (
        r"not a page of a Cesja form \(no page code, no corner markers\)",
        "to nie jest strona formularza Cesji (brak kodu strony i znaczników w rogach)",
    ),
    (r"not a Cesja page code", "kod QR nie pochodzi z formularza Cesji"),
    (r"the page code is malformed", "kod strony jest zniekształcony"),
    (
        r"the page code names a party and a page that do not belong together",
        "kod strony wskazuje stronę i abonenta, którzy do siebie nie pasują",
    ),
    (
        r"the page code's MAC does not match: the code was altered or forged",
        "podpis kodu strony się nie zgadza: kod zmieniono albo podrobiono",
    ),
    (
        r"the page code is signed with key (\S+), which the service no longer holds .*",
        r"kod strony podpisano kluczem \1, którego serwis już nie ma (wycofany)",
    ),
    (
        r"(\d+) mm² of handwriting spanning (\d+)×(\d+) mm",
        r"\1 mm² pisma odręcznego na obszarze \2×\3 mm",
    ),
    (
        r"(\d+) mm² of handwriting spanning (\d+)×(\d+) mm \(a stamp's (\d+) mm² of ink over the "
        r"box left aside\)",
        r"\1 mm² pisma odręcznego na obszarze \2×\3 mm (pominięto \4 mm² "
        "tuszu pieczęci w polu)",
    ),
    (r"the “no stamp” box is ticked", "zaznaczono pole „brak pieczęci”"),
    (
        r"no stamp, and the “no stamp” box is not ticked \((\d+) mm² of other ink: handwriting, "
        r"not a stamp\)",
        r"brak pieczęci i niezaznaczone pole „brak pieczęci” (\1 mm² innego tuszu: pismo, nie "
        "pieczęć)",
    ),
    (
        r"no stamp, and the “no stamp” box is not ticked",
        "brak pieczęci i niezaznaczone pole „brak pieczęci”",
    ),
    (
        r"no stamp, and the “no stamp” box is not where it was printed \(the page is folded or "
        r"warped there\): it cannot be read as ticked.*",
        "brak pieczęci, a pole „brak pieczęci” nie jest tam, gdzie je wydrukowano (strona jest "
        "w tym miejscu złożona albo zniekształcona): nie można go uznać za zaznaczone",
    ),
    (
        r"no stamp, and marks pass through the “no stamp” box: it cannot be read as ticked.*",
        "brak pieczęci, a przez pole „brak pieczęci” przechodzą kreski: nie można go uznać za "
        "zaznaczone",
    ),
    (
        r"([\d.]+) mm² of ink the form did not print",
        r"\1 mm² tuszu, którego formularz nie drukował",
    ),
    (r"clean", "czysto"),
    (
        r"(\d+)% of it under a streak as dark as a pen's ink: what is written there cannot be "
        r"told \(([\d.]+) mm² of ink the form did not print\)",
        r"\1% pola pod smugą ciemną jak tusz długopisu: nie da się stwierdzić, co tam napisano "
        r"(\2 mm² tuszu, którego formularz nie drukował)",
    ),
    (
        r"(\d+)% of it under a streak as dark as a pen's ink: what is written there cannot be "
        r"told \(clean\)",
        r"\1% pola pod smugą ciemną jak tusz długopisu: nie da się stwierdzić, co tam napisano",
    ),
)


# `ocr.streaks.Streaks.describe`: where a drum's or a roller's streaks lie, down the page and
# across it, and how much of them is too dark to see a pen's stroke through.
_STREAKS = (
    r"streaks of a drum or a roller taken for dirt, not ink: "
    r"(?:(\d+) down the page at ([^a-z]+) mm from the left)?(?: and )?"
    r"(?:(\d+) across it at ([^a-z]+) mm from the top)?"
    r"(?: \((\d+) mm of them too dark to see a pen's stroke through\))?"
)


def _streaks_in_polish(*found: str | None) -> str:
    down, down_at, across, across_at, dark = found
    where = []
    if down:
        where.append(f"{down} wzdłuż strony, {down_at} mm od lewej krawędzi")
    if across:
        where.append(f"{across} w poprzek strony, {across_at} mm od górnej krawędzi")
    note = "smugi z bębna albo wałków uznano za brud, nie tusz: " + " oraz ".join(where)
    if dark:
        note += f" (z tego {dark} mm tak ciemnych, że nie widać pod nimi pociągnięcia długopisu)"
    return note


def reader_note(note: str) -> str:
    """A note of the reader's, in Polish, part by part; a part we cannot word stays as it is."""
    return "; ".join(_reader_part(part) for part in note.split("; ") if part)


def _reader_part(part: str) -> str:
    stamp = re.fullmatch(r"a (round|framed|text) stamp of (\d+)×(\d+) mm", part)
    if stamp:
        kind, width, height = stamp.groups()
        return f"pieczęć {_STAMP_KINDS[kind]} {width}×{height} mm"
    streaks = re.fullmatch(_STREAKS, part)
    if streaks:
        return _streaks_in_polish(*streaks.groups())
    for pattern, polish in _READER_NOTES:
        if re.fullmatch(pattern, part):
            return re.sub(pattern, polish, part)
    return part
