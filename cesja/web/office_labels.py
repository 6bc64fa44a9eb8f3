"""The words of the web pages for values: states, outcomes, fields, audit events and who did
them. Each is written in English, marked for the catalogue (`N_`), and said in the reader's
language by `in_language`, with the catalogue's gettext."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from cesja.web.catalogue import N_

OFFICE_TZ = ZoneInfo("Europe/Warsaw")

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]

# What the checks are, and whose page each party signs (the back office and the customer).
CHECK_LABELS = {
    "page_received": N_("form page received"),
    "fields_match": N_("data as on the form"),
    "signature_present": N_("signature"),
    "stamp_present": N_("company stamp"),
    "unaltered": N_("no changes by hand in the data"),
}
PARTY_LABELS = {
    "current_registrant": N_("Current registrant (page 1)"),
    "new_registrant": N_("New registrant (page 2)"),
}
# A case's state as its parties read it on their page.
CUSTOMER_STATES = {
    "awaiting_documents": N_("we are waiting for the documents"),
    "in_review": N_("the documents are being checked"),
    "transfer_ready": N_("documents accepted — the transfer will be carried out"),
    "completed": N_("transfer carried out"),
    "rejected": N_("case rejected"),
    "cancelled": N_("case cancelled"),
    "expired": N_("the time for sending the documents has run out"),
}
# A case's state as the back office reads it.
STATES = {
    "awaiting_documents": N_("awaiting documents"),
    "in_review": N_("in review"),
    "transfer_ready": N_("ready for transfer"),
    "completed": N_("transfer carried out"),
    "rejected": N_("rejected"),
    "cancelled": N_("cancelled"),
    "expired": N_("deadline passed"),
}
CHECK_STATUSES = {
    "pending": N_("pending"),
    "passed": N_("passed"),
    "failed": N_("failed"),
    "accepted": N_("accepted"),
}
PARTIES = {"current_registrant": N_("current registrant"), "new_registrant": N_("new registrant")}
OUTCOMES = {
    "matched": N_("matched to a case"),
    "unmatched": N_("not recognised"),
    "blank": N_("blank sheet"),
    "stale_version": N_("outdated form version"),
    "invalid_code": N_("invalid QR code"),
    "unreadable": N_("unreadable"),
    "assigned": N_("assigned by hand, waiting to be read"),
    "dismissed": N_("set aside"),
}
CHANNELS = {
    "post": N_("post"),
    "fax": N_("fax"),
    "email": N_("e-mail"),
    "upload": N_("uploaded file"),
}
ROUTED_BY = {
    "qr": N_("QR code"),
    "case_number": N_("case number (code unreadable)"),
    "staff": N_("assigned by hand"),
    "signed_pdf": N_("electronic signatures in the PDF file"),
}
# An electronic signature's report (`ocr.esign.SignatureReport`).
QC_TYPES = {
    "esign": N_("qualified electronic signature"),
    "eseal": N_("qualified electronic seal"),
}
MODIFICATION_LEVELS = {
    "NONE": N_("no changes"),
    "LTA_UPDATES": N_("only data for verifying the signatures added"),
    "FORM_FILLING": N_("only further signatures added"),
    "ANNOTATIONS": N_("annotations added"),
    "OTHER": N_("other changes"),
}
COVERAGE = {
    "ENTIRE_FILE": N_("the whole file"),
    "ENTIRE_REVISION": N_("the whole signed version of the file"),
    "CONTIGUOUS_BLOCK_FROM_START": N_("NOT THE WHOLE signed version"),
    "UNCLEAR": N_("UNCLEAR range (ByteRange)"),
}
REVOCATIONS = {
    "not revoked": N_("not revoked"),
    "unknown": N_("not established"),
    "not established": N_("not established (certificate not trusted)"),
}
VERDICTS = {"match": N_("match"), "mismatch": N_("MISMATCH"), "empty": N_("empty")}
SCAN_STATUSES = {
    "queued": N_("queued"),
    "processing": N_("being read"),
    "done": N_("read"),
    "failed": N_("could not be read"),
}
NOTICE_STATUSES = {
    "pending": N_("queued for sending"),
    "delivered": N_("delivered"),
    "gone": N_("the receiver refused it (410)"),
    "dead": N_("not delivered"),
    "withdrawn": N_("withdrawn"),
}
JOB_KINDS = {
    "read_page": N_("reading a scan's page"),
    "process_scan": N_("splitting a scan into pages"),
    "deliver_webhook": N_("sending a notice"),
    "send_notice": N_("sending an e-mail to a party"),
    "check_deadlines": N_("checking deadlines"),
}
FIELDS = {
    "domains": N_("domains"),
    "case_number": N_("case number"),
    "name": N_("name / first name and surname"),
    "regon": N_("REGON"),
    "krs": N_("KRS"),
    "representatives": N_("representatives"),
    "street": N_("street"),
    "postal_city": N_("postal code and town"),
    "email": N_("e-mail"),
    "phone": N_("phone"),
}
EVENTS = {
    "case_created": N_("case created"),
    "form_reissued": N_("form issued again"),
    "page_read": N_("page read"),
    "page_assigned": N_("page assigned by hand"),
    "state_changed": N_("state changed"),
    "check_decided": N_("decision of staff"),
    "deadline_reminder": N_("deadline reminder"),
    "webhook_scheduled": N_("notice scheduled"),
    "webhook_skipped": N_("notice skipped"),
    "webhook_delivered": N_("notice delivered"),
    "webhook_gone": N_("notice refused"),
    "webhook_dead": N_("notice not delivered"),
    "webhook_withdrawn": N_("notice withdrawn"),
    "webhook_resent": N_("notice sent again"),
    "personal_data_viewed": N_("personal data viewed"),
    "received_data_destroyed": N_("received data destroyed"),
    "data_exported": N_("case data handed out (export)"),
    "notice_scheduled": N_("e-mail to a party scheduled"),
    "notice_sent": N_("e-mail to a party sent"),
    "notice_failed": N_("e-mail to a party not sent"),
    "notice_withdrawn": N_("e-mail to a party withdrawn"),
    "notice_resent": N_("e-mail to a party sent again"),
}
# E-mails to the parties (cesja.casework.notices): what each tells, and where it stands.
MAIL_KINDS = {
    "case_opened": N_("case opened, the form"),
    "form_reissued": N_("new form version"),
    "page_received": N_("page received"),
    "check_failed": N_("page to send again"),
    "halfway": N_("half of the time"),
    "transfer_ready": N_("documents accepted"),
    "completed": N_("transfer carried out"),
    "rejected": N_("case rejected"),
    "cancelled": N_("case cancelled"),
    "expired": N_("deadline passed"),
}
MAIL_STATUSES = {
    "pending": N_("queued for sending"),
    "sent": N_("sent"),
    "failed": N_("not sent"),
    "withdrawn": N_("withdrawn before sending"),
}
# Where staff saw a case's personal data.
VIEWS = {
    "case_page": N_("case page"),
    "case_json": N_("API (case JSON)"),
    "form_pdf": N_("PDF form"),
    "page_images": N_("images of the case's pages"),
    "scan_file": N_("downloaded scan file"),
    "message": N_("e-mail message"),
}
DECISIONS = {
    "accept": N_("acceptance"),
    "reject": N_("rejection"),
    "propose": N_("proposed acceptance"),
}
SYSTEM_ACTORS = {
    "system:reader": N_("system (reading scans)"),
    "system:webhooks": N_("system (notices)"),
    "system:deadlines": N_("system (deadlines)"),
    "system:notices": N_("system (e-mails to parties)"),
}
ROLES = {"staff": N_("staff"), "registrar": N_("registrar"), "intake": N_("intake")}
# Why a file in an e-mail was not taken (the codes of `ocr` and of intake).
REFUSALS = {
    "unsupported_type": N_("it is not a PDF, TIFF, PNG or JPEG"),
    "corrupt_file": N_("the file is damaged"),
    "encrypted_file": N_("the file is encrypted"),
    "too_many_pages": N_("the file has too many pages"),
    "too_complex": N_("the file is too complex to read"),
    "too_large": N_("the file is too large"),
    "too_many_attachments": N_("the message has too many files; these were not read"),
}


def translated(labels: Mapping[str, str], _: Gettext) -> dict[str, str]:
    """A table of labels in the reader's language."""
    return {key: _(label) for key, label in labels.items()}


def field_label(_: Gettext, short: str, kind: str | None) -> str:
    """A printed field's name; the identity number is a PESEL for a person, a NIP for a firm."""
    if short == "id_number":
        return {"person": "PESEL", "company": "NIP"}.get(kind or "", "PESEL / NIP")
    return _(FIELDS[short]) if short in FIELDS else short


def party_label(_: Gettext, party: str) -> str:
    return _(PARTIES[party]) if party in PARTIES else party


def check_label(_: Gettext, name: str) -> str:
    party, _dot, short = name.partition(".")
    check = _(CHECK_LABELS[short]) if short in CHECK_LABELS else short
    return f"{party_label(_, party)}: {check}"


def actor_label(_: Gettext, actor: str) -> str:
    if actor in SYSTEM_ACTORS:
        return _(SYSTEM_ACTORS[actor])
    role, _colon, who = actor.partition(":")  # a person's username after "@", or a key's print
    return f"{_(ROLES[role]) if role in ROLES else role} {who.removeprefix('@')}".strip()


def revocation_label(_: Gettext, result: str) -> str:
    """The revocation result of a signature's report (the date stays as written)."""
    if result.startswith("revoked"):
        return _("REVOKED {when}").format(when=result.removeprefix("revoked").strip())
    if result.startswith("not checked"):
        return _("not checked (CESJA_ESIGN_REVOCATION=off)")
    return _(REVOCATIONS[result]) if result in REVOCATIONS else result


def waiting_for(ngettext: Ngettext, since: datetime, now: datetime | None = None) -> str:
    """How long something has waited, as a reviewer reads it at a glance: 5 min, 3 h, 2 days."""
    minutes = max(0, int(((now or datetime.now(UTC)) - since).total_seconds() // 60))
    if minutes < 60:
        return ngettext("{n} min", "{n} min", minutes).format(n=minutes)
    if minutes < 48 * 60:
        return ngettext("{n} h", "{n} h", minutes // 60).format(n=minutes // 60)
    days = minutes // (24 * 60)
    return ngettext("{n} day", "{n} days", days).format(n=days)


def marked_difference(expected: str, read: str) -> Markup:
    """What was read, the characters that differ from what was expected marked (<mark>)."""
    matcher = difflib.SequenceMatcher(a=expected, b=read, autojunk=False)
    return Markup("").join(
        escape(read[b0:b1]) if op == "equal" else Markup("<mark>{}</mark>").format(read[b0:b1])
        for op, _, _, b0, b1 in matcher.get_opcodes()
    )


def marked_doubt(read: str, doubted: Iterable[int]) -> Markup:
    """A value read as printed, the characters whose shapes are nearer others marked."""
    places = set(doubted)
    return Markup("").join(
        Markup("<mark>{}</mark>").format(ch) if i in places else escape(ch)
        for i, ch in enumerate(read)
    )


def local_time(value: datetime | None) -> str:
    return value.astimezone(OFFICE_TZ).strftime("%d.%m.%Y %H:%M:%S") if value else ""


def _said(labels: Mapping[str, str], value: object, _: Gettext) -> str:
    return _(labels[str(value)]) if str(value) in labels else str(value)


def _change(data: Mapping[str, Any], _: Gettext, labels: Mapping[str, str] | None = None) -> str:
    before, after = data.get("before"), data.get("after")
    if labels is not None:
        before, after = _said(labels, before, _), _said(labels, after, _)
    return f"{before} → {after}"


def _yes_no(value: object, _: Gettext) -> str:
    return {True: _("yes"), False: _("no"), None: "—"}.get(value, str(value))  # type: ignore[call-overload]


def event_summary(_: Gettext, type_: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What an audit event says, as label/value lines a person reads at a glance."""
    lines: list[tuple[str, str]] = []

    def scan_page() -> str:
        page = int(data.get("page_index") or 0) + 1
        return _("{scan}, page {page}").format(scan=data.get("scan_id"), page=page)

    if type_ == "state_changed":
        lines.append((_("state"), _change(data, _, STATES)))
    elif type_ == "check_decided":
        lines += [
            (_("check"), check_label(_, str(data.get("check")))),
            (_("decision"), _said(DECISIONS, data.get("decision"), _)),
            (_("status"), _change(data, _, CHECK_STATUSES)),
            (_("form version"), str(data.get("form_version"))),
        ]
    elif type_ == "page_read":
        lines += [
            (_("scan"), scan_page()),
            (_("channel"), _said(CHANNELS, data.get("channel"), _)),
            (_("party"), _said(PARTIES, data.get("party"), _)),
            (_("outcome"), _said(OUTCOMES, data.get("outcome"), _)),
            (_("signature"), _yes_no(data.get("signature_present"), _)),
        ]
        if data.get("stamp_present") is not None:
            lines.append((_("stamp"), _yes_no(data.get("stamp_present"), _)))
        if data.get("mismatched_fields"):
            lines.append((_("mismatched fields"), ", ".join(data["mismatched_fields"])))
        if data.get("altered_fields"):
            lines.append((_("changes by hand"), ", ".join(data["altered_fields"])))
    elif type_ == "page_assigned":
        lines += [
            (_("scan"), scan_page()),
            (_("party"), _said(PARTIES, data.get("party"), _)),
            (_("was"), _said(OUTCOMES, data.get("was"), _)),
            (_("reason"), str(data.get("reason", ""))),
        ]
    elif type_ == "case_created":
        lines.append((_("deadline"), str(data.get("deadline", ""))[:10]))
    elif type_ == "personal_data_viewed":
        lines.append((_("where"), _said(VIEWS, data.get("view"), _)))
        if "page_index" in data:
            lines.append((_("scan"), scan_page()))
        elif "scan_id" in data:
            lines.append((_("scan"), str(data["scan_id"])))
        if "message_id" in data:
            lines.append((_("message"), str(data["message_id"])))
    elif type_ == "form_reissued":
        before, after = data.get("before") or {}, data.get("after") or {}
        lines.append((_("version"), f"{before.get('form_version')} → {after.get('form_version')}"))
    elif type_ == "deadline_reminder":
        checks = ", ".join(check_label(_, name) for name in data.get("open_checks", []))
        lines.append((_("open checks"), checks))
    elif type_.startswith("webhook_"):
        if "webhook_id" in data:
            lines.append((_("notice"), str(data["webhook_id"])))
        if "before" in data:
            lines.append((_("status"), _change(data, _, NOTICE_STATUSES)))
        for key, label in (
            ("attempts", N_("attempts")),
            ("status_code", N_("answer")),
            ("error", N_("error")),
        ):
            if data.get(key) is not None:
                lines.append((_(label), str(data[key])))
    elif type_.startswith("notice_"):
        kind = _said(MAIL_KINDS, data.get("kind"), _) if data.get("kind") in MAIL_KINDS else ""
        party = _said(PARTIES, data.get("party"), _) if data.get("party") in PARTIES else ""
        lines += [
            (_("e-mail"), f"{data.get('notice_id')}: {kind}"),
            (_("to"), f"{party} <{data.get('to', '')}>"),
        ]
        for key, label in (
            ("attempts", N_("attempts")),
            ("message_id", "Message-ID"),
            ("error", N_("error")),
        ):
            if data.get(key) is not None:
                lines.append((_(label), str(data[key])))
    else:
        lines += [(key, str(value)) for key, value in data.items()]
    if data.get("reason"):
        lines.append((_("reason"), str(data["reason"])))
    return lines


def in_language(_: Gettext, ngettext: Ngettext) -> dict[str, Any]:
    """The pages' words for values, and the functions that say them, in one language."""
    return {
        "check_labels": translated(CHECK_LABELS, _),
        "party_labels": translated(PARTY_LABELS, _),
        "state_labels": translated(CUSTOMER_STATES, _),
        "refusals": translated(REFUSALS, _),
        "office_states": translated(STATES, _),
        "office_check_statuses": translated(CHECK_STATUSES, _),
        "office_parties": translated(PARTIES, _),
        "outcomes": translated(OUTCOMES, _),
        "channels": translated(CHANNELS, _),
        "routed_by": translated(ROUTED_BY, _),
        "qc_types": translated(QC_TYPES, _),
        "modification_levels": translated(MODIFICATION_LEVELS, _),
        "coverage_labels": translated(COVERAGE, _),
        "verdicts": translated(VERDICTS, _),
        "scan_statuses": translated(SCAN_STATUSES, _),
        "notice_statuses": translated(NOTICE_STATUSES, _),
        "mail_kinds": translated(MAIL_KINDS, _),
        "mail_statuses": translated(MAIL_STATUSES, _),
        "job_kinds": translated(JOB_KINDS, _),
        "event_labels": translated(EVENTS, _),
        "decision_labels": translated(DECISIONS, _),
        "revocation_label": partial(revocation_label, _),
        "field_label": partial(field_label, _),
        "check_label": partial(check_label, _),
        "actor_label": partial(actor_label, _),
        "event_summary": partial(event_summary, _),
        "waiting_for": partial(waiting_for, ngettext),
        "marked_difference": marked_difference,
        "marked_doubt": marked_doubt,
        "local_time": local_time,
    }
