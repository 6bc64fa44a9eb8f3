"""Polish words for the back office: states, outcomes, fields, audit events and who did them."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from cesja.web.templating import CHECK_LABELS

OFFICE_TZ = ZoneInfo("Europe/Warsaw")

STATES = {
    "awaiting_documents": "czeka na dokumenty",
    "in_review": "do weryfikacji",
    "transfer_ready": "gotowa do cesji",
    "completed": "cesja wykonana",
    "rejected": "odrzucona",
    "cancelled": "anulowana",
    "expired": "termin minął",
}
CHECK_STATUSES = {
    "pending": "oczekuje",
    "passed": "spełnione",
    "failed": "niespełnione",
    "accepted": "zaakceptowane",
}
PARTIES = {"current_registrant": "obecny abonent", "new_registrant": "nowy abonent"}
OUTCOMES = {
    "matched": "przypisana do sprawy",
    "unmatched": "nie rozpoznano",
    "blank": "pusta kartka",
    "stale_version": "nieaktualna wersja formularza",
    "invalid_code": "nieprawidłowy kod QR",
    "unreadable": "nie do odczytania",
    "assigned": "przypisana ręcznie, czeka na odczyt",
    "dismissed": "odłożona",
}
CHANNELS = {"post": "poczta", "fax": "faks", "email": "e-mail", "upload": "przesłany plik"}
ROUTED_BY = {
    "qr": "kod QR",
    "case_number": "numer sprawy (kod nieczytelny)",
    "staff": "przypisana ręcznie",
    "signed_pdf": "podpisy elektroniczne w pliku PDF",
}
# An electronic signature's report (`ocr.esign.SignatureReport`), in Polish.
QC_TYPES = {
    "esign": "kwalifikowany podpis elektroniczny",
    "eseal": "kwalifikowana pieczęć elektroniczna",
}
MODIFICATION_LEVELS = {
    "NONE": "bez zmian",
    "LTA_UPDATES": "dodano tylko dane do weryfikacji podpisów",
    "FORM_FILLING": "dodano tylko kolejne podpisy",
    "ANNOTATIONS": "dodano adnotacje",
    "OTHER": "inne zmiany",
}
COVERAGE = {
    "ENTIRE_FILE": "cały plik",
    "ENTIRE_REVISION": "cała podpisana wersja pliku",
    "CONTIGUOUS_BLOCK_FROM_START": "NIE CAŁA podpisana wersja",
    "UNCLEAR": "NIEJASNY zakres (ByteRange)",
}


def revocation_label(result: str) -> str:
    """The revocation result of a signature's report, in Polish (the date stays as written)."""
    if result.startswith("revoked"):
        return "UNIEWAŻNIONY " + result.removeprefix("revoked").strip()
    if result.startswith("not checked"):
        return "nie sprawdzano (CESJA_ESIGN_REVOCATION=off)"
    return {
        "not revoked": "nie unieważniony",
        "unknown": "nie ustalono",
        "not established": "nie ustalono (certyfikat niezaufany)",
    }.get(result, result)


VERDICTS = {"match": "zgodne", "mismatch": "NIEZGODNE", "empty": "puste"}
SCAN_STATUSES = {
    "queued": "w kolejce",
    "processing": "w trakcie",
    "done": "odczytany",
    "failed": "nie do odczytania",
}
NOTICE_STATUSES = {
    "pending": "w kolejce do wysłania",
    "delivered": "dostarczone",
    "gone": "odbiorca odmówił (410)",
    "dead": "niedostarczone",
    "withdrawn": "wycofane",
}
JOB_KINDS = {
    "read_page": "odczyt strony skanu",
    "process_scan": "podział skanu na strony",
    "deliver_webhook": "wysłanie powiadomienia",
    "send_notice": "wysłanie e-maila do strony",
    "check_deadlines": "sprawdzenie terminów",
}
FIELDS = {
    "domains": "domeny",
    "case_number": "numer sprawy",
    "name": "nazwa / imię i nazwisko",
    "regon": "REGON",
    "krs": "KRS",
    "representatives": "reprezentanci",
    "street": "ulica",
    "postal_city": "kod i miejscowość",
    "email": "e-mail",
    "phone": "telefon",
}
EVENTS = {
    "case_created": "sprawa założona",
    "form_reissued": "formularz wydany ponownie",
    "page_read": "strona odczytana",
    "page_assigned": "strona przypisana ręcznie",
    "state_changed": "zmiana stanu",
    "check_decided": "decyzja pracownika",
    "deadline_reminder": "przypomnienie o terminie",
    "webhook_scheduled": "powiadomienie zaplanowane",
    "webhook_skipped": "powiadomienie pominięte",
    "webhook_delivered": "powiadomienie dostarczone",
    "webhook_gone": "powiadomienie odrzucone",
    "webhook_dead": "powiadomienie niedostarczone",
    "webhook_withdrawn": "powiadomienie wycofane",
    "webhook_resent": "powiadomienie wysłane ponownie",
    "personal_data_viewed": "wgląd w dane osobowe",
    "received_data_destroyed": "otrzymane dane zniszczone",
    "data_exported": "dane sprawy wydane (eksport)",
    "notice_scheduled": "e-mail do strony zaplanowany",
    "notice_sent": "e-mail do strony wysłany",
    "notice_failed": "e-mail do strony niewysłany",
    "notice_withdrawn": "e-mail do strony wycofany",
    "notice_resent": "e-mail do strony wysłany ponownie",
}
# E-mails to the parties (cesja.casework.notices): what each tells, and where it stands.
MAIL_KINDS = {
    "case_opened": "sprawa założona, formularz",
    "form_reissued": "nowa wersja formularza",
    "page_received": "strona otrzymana",
    "check_failed": "strona do ponownego przesłania",
    "halfway": "połowa terminu",
    "transfer_ready": "dokumenty przyjęte",
    "completed": "cesja wykonana",
    "rejected": "sprawa odrzucona",
    "cancelled": "sprawa anulowana",
    "expired": "termin minął",
}
MAIL_STATUSES = {
    "pending": "w kolejce do wysłania",
    "sent": "wysłany",
    "failed": "niewysłany",
    "withdrawn": "wycofany",
}
# Where staff saw a case's personal data.
VIEWS = {
    "case_page": "strona sprawy",
    "case_json": "API (JSON sprawy)",
    "form_pdf": "formularz PDF",
    "page_images": "obrazy stron sprawy",
    "scan_file": "pobrany plik skanu",
    "message": "wiadomość e-mail",
}
DECISIONS = {"accept": "akceptacja", "reject": "odrzucenie", "propose": "propozycja akceptacji"}
SYSTEM_ACTORS = {
    "system:reader": "system (odczyt skanów)",
    "system:webhooks": "system (powiadomienia)",
    "system:deadlines": "system (terminy)",
    "system:notices": "system (e-maile do stron)",
}
ROLES = {"staff": "pracownik", "registrar": "rejestrator", "intake": "przyjmowanie skanów"}


def field_label(short: str, kind: str | None) -> str:
    """A printed field's name; the identity number is a PESEL for a person, a NIP for a firm."""
    if short == "id_number":
        return {"person": "PESEL", "company": "NIP"}.get(kind or "", "PESEL / NIP")
    return FIELDS.get(short, short)


def check_label(name: str) -> str:
    party, _, short = name.partition(".")
    return f"{PARTIES.get(party, party)}: {CHECK_LABELS.get(short, short)}"


def actor_label(actor: str) -> str:
    if actor in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[actor]
    role, _, who = actor.partition(":")  # a person's username after "@", or a key's fingerprint
    return f"{ROLES.get(role, role)} {who.removeprefix('@')}".strip()


def waiting_for(since: datetime, now: datetime | None = None) -> str:
    """How long something has waited, as a reviewer reads it at a glance: 5 min, 3 godz., 2 dni."""
    minutes = max(0, int(((now or datetime.now(UTC)) - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} godz."
    return f"{minutes // (24 * 60)} dni"


def marked_difference(expected: str, read: str) -> Markup:
    """What was read, the characters that differ from what was expected marked (<mark>)."""
    matcher = difflib.SequenceMatcher(a=expected, b=read, autojunk=False)
    return Markup("").join(
        escape(read[b0:b1]) if op == "equal" else Markup("<mark>{}</mark>").format(read[b0:b1])
        for op, _, _, b0, b1 in matcher.get_opcodes()
    )


def local_time(value: datetime | None) -> str:
    return value.astimezone(OFFICE_TZ).strftime("%d.%m.%Y %H:%M:%S") if value else ""


def _change(data: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    before, after = data.get("before"), data.get("after")
    if labels is not None:
        before, after = labels.get(str(before), before), labels.get(str(after), after)
    return f"{before} → {after}"


def _yes_no(value: object) -> str:
    return {True: "tak", False: "nie", None: "—"}.get(value, str(value))  # type: ignore[call-overload]


def event_summary(type_: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What an audit event says, as label/value lines a person reads at a glance."""
    lines: list[tuple[str, str]] = []
    if type_ == "state_changed":
        lines.append(("stan", _change(data, STATES)))
    elif type_ == "check_decided":
        lines += [
            ("sprawdzenie", check_label(str(data.get("check")))),
            ("decyzja", DECISIONS.get(str(data.get("decision")), str(data.get("decision")))),
            ("status", _change(data, CHECK_STATUSES)),
            ("wersja formularza", str(data.get("form_version"))),
        ]
    elif type_ == "page_read":
        lines += [
            ("skan", f"{data.get('scan_id')}, strona {int(data.get('page_index') or 0) + 1}"),
            ("kanał", CHANNELS.get(str(data.get("channel")), str(data.get("channel")))),
            ("strona", PARTIES.get(str(data.get("party")), str(data.get("party")))),
            ("wynik", OUTCOMES.get(str(data.get("outcome")), str(data.get("outcome")))),
            ("podpis", _yes_no(data.get("signature_present"))),
        ]
        if data.get("stamp_present") is not None:
            lines.append(("pieczęć", _yes_no(data.get("stamp_present"))))
        if data.get("mismatched_fields"):
            lines.append(("niezgodne pola", ", ".join(data["mismatched_fields"])))
        if data.get("altered_fields"):
            lines.append(("odręczne zmiany", ", ".join(data["altered_fields"])))
    elif type_ == "page_assigned":
        lines += [
            ("skan", f"{data.get('scan_id')}, strona {int(data.get('page_index') or 0) + 1}"),
            ("strona", PARTIES.get(str(data.get("party")), str(data.get("party")))),
            ("była", OUTCOMES.get(str(data.get("was")), str(data.get("was")))),
            ("powód", str(data.get("reason", ""))),
        ]
    elif type_ == "case_created":
        lines.append(("termin", str(data.get("deadline", ""))[:10]))
    elif type_ == "personal_data_viewed":
        lines.append(("gdzie", VIEWS.get(str(data.get("view")), str(data.get("view")))))
        if "page_index" in data:
            lines.append(("skan", f"{data.get('scan_id')}, strona {int(data['page_index']) + 1}"))
        elif "scan_id" in data:
            lines.append(("skan", str(data["scan_id"])))
        if "message_id" in data:
            lines.append(("wiadomość", str(data["message_id"])))
    elif type_ == "form_reissued":
        before, after = data.get("before") or {}, data.get("after") or {}
        lines.append(("wersja", f"{before.get('form_version')} → {after.get('form_version')}"))
    elif type_ == "deadline_reminder":
        lines.append(
            ("otwarte sprawdzenia", ", ".join(map(check_label, data.get("open_checks", []))))
        )
    elif type_.startswith("webhook_"):
        if "webhook_id" in data:
            lines.append(("powiadomienie", str(data["webhook_id"])))
        if "before" in data:
            lines.append(("status", _change(data, NOTICE_STATUSES)))
        for key, label in (("attempts", "próby"), ("status_code", "odpowiedź"), ("error", "błąd")):
            if data.get(key) is not None:
                lines.append((label, str(data[key])))
    elif type_.startswith("notice_"):
        lines += [
            ("e-mail", f"{data.get('notice_id')}: {MAIL_KINDS.get(str(data.get('kind')), '')}"),
            ("do", f"{PARTIES.get(str(data.get('party')), '')} <{data.get('to', '')}>"),
        ]
        for key, label in (("attempts", "próby"), ("message_id", "Message-ID"), ("error", "błąd")):
            if data.get(key) is not None:
                lines.append((label, str(data[key])))
    else:
        lines += [(key, str(value)) for key, value in data.items()]
    if data.get("reason"):
        lines.append(("powód", str(data["reason"])))
    return lines


# Why a file in an e-mail was not taken (the codes of `ocr` and of intake).
REFUSALS = {
    "unsupported_type": "to nie jest PDF, TIFF, PNG ani JPEG",
    "corrupt_file": "plik jest uszkodzony",
    "encrypted_file": "plik jest zaszyfrowany",
    "too_many_pages": "plik ma za dużo stron",
    "too_complex": "plik jest zbyt złożony, by go odczytać",
    "too_large": "plik jest za duży",
    "too_many_attachments": "wiadomość ma za dużo plików; tych nie czytano",
}

GLOBALS = {
    "refusals": REFUSALS,
    "office_states": STATES,
    "office_check_statuses": CHECK_STATUSES,
    "office_parties": PARTIES,
    "outcomes": OUTCOMES,
    "channels": CHANNELS,
    "routed_by": ROUTED_BY,
    "qc_types": QC_TYPES,
    "modification_levels": MODIFICATION_LEVELS,
    "coverage_labels": COVERAGE,
    "revocation_label": revocation_label,
    "verdicts": VERDICTS,
    "scan_statuses": SCAN_STATUSES,
    "notice_statuses": NOTICE_STATUSES,
    "mail_kinds": MAIL_KINDS,
    "mail_statuses": MAIL_STATUSES,
    "job_kinds": JOB_KINDS,
    "event_labels": EVENTS,
    "decision_labels": DECISIONS,
    "field_label": field_label,
    "check_label": check_label,
    "waiting_for": waiting_for,
    "marked_difference": marked_difference,
    "actor_label": actor_label,
    "local_time": local_time,
    "event_summary": event_summary,
}
