"""The checks of CONTRACT.md section 3: a pure function of page evidence and staff decisions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal

from ocr import PageReading
from ocr.esign import SENTENCES as ESIGN_SENTENCES

Party = Literal["current_registrant", "new_registrant"]
PartyKind = Literal["person", "company"]
Channel = Literal["post", "fax", "email", "upload"]
CheckStatus = Literal["pending", "passed", "failed", "accepted"]
Outcome = Literal["transfer_ready", "in_review", "awaiting_documents"]

PARTIES: tuple[Party, ...] = ("current_registrant", "new_registrant")
CHECKS = ("page_received", "fields_match", "signature_present", "stamp_present", "unaltered")

# What a check is while no page and no person has settled it: accepting it is a decision
# that four eyes (CESJA_FOUR_EYES) take.
UNSETTLED: frozenset[str] = frozenset({"failed", "pending"})

# A page that came by post or was uploaded is the original; fax and e-mail carry a copy.
ORIGINAL_CHANNELS: frozenset[str] = frozenset({"post", "upload"})


@dataclass(frozen=True, kw_only=True)
class EmailSender:
    """Who sent the e-mail a page came in, as far as the message proves it."""

    address: str | None  # the From address, as written; None when it has none or several
    # The receiving mail host vouched for the From domain (DMARC, or DKIM aligned with it).
    authenticated: bool
    how: str  # how it was (or why it was not) authenticated: a code of `HOW`
    is_party: bool  # From is the e-mail address of the page's party on the case

    @property
    def vouches(self) -> bool:
        """The message proves the page came from its party."""
        return self.is_party and self.authenticated


# How a sender was authenticated, or why not; said in words by `_ENGLISH` and the catalogue.
HOW = (
    "dmarc",
    "dkim",
    "dkim_not_aligned",
    "not_passed",
    "no_results",
    "not_configured",
    "no_sender",
)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """What was read from one page routed to a party of a case."""

    party: Party
    form_version: int
    channel: Channel
    received_at: datetime
    scan_id: str
    page_index: int  # position in its scan, counted from 0
    code_valid: bool  # False when routed by its printed case number: the QR code was unreadable
    fields_match: bool
    signature_present: bool
    stamp_present: bool | None  # None on a person's page, which has no stamp box
    unaltered: bool
    mismatched_fields: tuple[str, ...] = ()
    altered_fields: tuple[str, ...] = ()
    # The page was assigned to its case and party by a person: no code or number routed it.
    assigned_by_staff: bool = False
    # An electronically signed file: what each check says of it (check, template, values),
    # from its bytes and signatures. Such a file is an original whichever way it came.
    signed: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = ()
    # The page came in an e-mail message (not an upload labelled e-mail): its sender.
    sender: EmailSender | None = None

    @classmethod
    def from_reading(
        cls,
        reading: PageReading,
        *,
        channel: Channel,
        received_at: datetime,
        scan_id: str,
        sender: EmailSender | None = None,
    ) -> Evidence:
        """What the checks take from one page as the reader read it (routed to a party)."""
        if reading.party is None or reading.form_version is None:
            raise ValueError("a page that was not routed to a party is no evidence")
        return cls(
            party=reading.party,
            form_version=reading.form_version,
            channel=channel,
            received_at=received_at,
            scan_id=scan_id,
            page_index=reading.index,
            code_valid=reading.code_valid,
            fields_match=reading.fields_match,
            signature_present=reading.signature_present,
            stamp_present=reading.stamp_present,
            unaltered=reading.unaltered,
            mismatched_fields=tuple(reading.mismatched_fields),
            altered_fields=tuple(reading.altered_fields),
            assigned_by_staff=reading.routed_by == "staff",
            signed=tuple(
                (check, template, values)
                for check, (_, (template, values)) in reading.signed.verdicts.items()
            )
            if reading.signed is not None
            else (),
            sender=sender,
        )


@dataclass(frozen=True, kw_only=True)
class Decision:
    """A member of staff accepting or rejecting one check, with a reason."""

    check: str  # the full name, e.g. "current_registrant.signature_present"
    # "propose": an acceptance that counts only once a second, different person confirms it.
    decision: Literal["accept", "reject", "propose"]
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Sentence:
    """A sentence for people: its English template, which is also its key in the service's
    catalogue, and the values it names, raw (a party, a channel, field names), so that the
    service can say it in Polish with each value in its own words."""

    template: str
    values: tuple[tuple[str, str], ...] = ()

    def english(self) -> str:
        return self.template.format(**{k: _ENGLISH.get(k, str)(v) for k, v in self.values})


@dataclass(frozen=True)
class Check:
    """One check as back office and the customer see it: `detail` in English, `sentences`
    to say it in another language."""

    name: str
    status: CheckStatus
    detail: str
    provisional: bool = False
    # Four eyes: staff who proposed accepting this failed check, awaiting a second person.
    proposed_by: str | None = None
    sentences: tuple[Sentence, ...] = ()


def check_names(kinds: Mapping[Party, PartyKind]) -> list[str]:
    """The checks a case has, in the order they are shown: a person has no stamp check."""
    return [f"{p}.{check}" for p in PARTIES if p in kinds for check in _of(kinds[p])]


def compute_checks(
    kinds: Mapping[Party, PartyKind],
    form_version: int,
    evidence: Iterable[Evidence],
    decisions: Iterable[Decision],
    *,
    require_original: bool,
) -> list[Check]:
    """Every check of the case, from the pages of `form_version` and the staff decisions.

    Each party's checks are read from one page, its best: a signature on one page and clean
    fields on another must never add up to a pass, or two half-forged pages would make a whole.
    """
    pages = [e for e in evidence if e.form_version == form_version and e.party in kinds]
    latest = _latest_decisions(decisions)
    checks = []
    for party in PARTIES:
        if party not in kinds:
            continue
        kind = kinds[party]
        page = best_page(
            [e for e in pages if e.party == party], kind=kind, require_original=require_original
        )
        for check in _of(kind):
            name = f"{party}.{check}"
            from_evidence = _from_page(name, party, check, page, require_original)
            checks.append(_apply_decision(from_evidence, latest.get(name), page))
    return checks


def best_page(
    pages: Sequence[Evidence], *, kind: PartyKind, require_original: bool = False
) -> Evidence | None:
    """The page passing the most checks; a tie goes to an original when originals are
    required (a faxed copy sent after the posted form must not make it provisional again),
    then to the latest received."""

    def rank(page: Evidence) -> tuple[int, bool, datetime, str, int]:
        is_original = require_original and page.channel in ORIGINAL_CHANNELS
        return (_passes(page, kind), is_original, page.received_at, page.scan_id, page.page_index)

    return max(pages, key=rank, default=None)


def failed_checks(page: Evidence, kind: PartyKind) -> set[str]:
    """The checks (short names) this one page fails for its party, decisions aside."""
    return {check for check in _of(kind) if not _result(page, check)}


def overall(checks: Iterable[Check]) -> Outcome:
    """Where the checks put the case: a failure needs back office, anything open needs pages."""
    checks = list(checks)
    if any(c.status == "failed" for c in checks):
        return "in_review"
    # No checks at all means nothing was verified, which is not the same as all verified.
    if checks and all(c.status in ("passed", "accepted") and not c.provisional for c in checks):
        return "transfer_ready"
    return "awaiting_documents"


def _of(kind: PartyKind) -> tuple[str, ...]:
    return CHECKS if kind == "company" else tuple(c for c in CHECKS if c != "stamp_present")


def _passes(page: Evidence, kind: PartyKind) -> int:
    return sum(_result(page, check) for check in _of(kind))


def _latest_decisions(decisions: Iterable[Decision]) -> dict[str, Decision]:
    latest: dict[str, Decision] = {}
    # Sorting is stable, so of two decisions at the same instant the one given later wins.
    for decision in sorted(decisions, key=lambda d: d.at):
        latest[decision.check] = decision
    return latest


def _apply_decision(check: Check, decision: Decision | None, page: Evidence | None) -> Check:
    if decision is None:
        return check
    if decision.decision == "accept":
        return _said(check.name, "accepted", Sentence(ACCEPTED, (("reason", decision.reason),)))
    if page is not None and page.received_at > decision.at:
        # The party sent a page after the rejection or proposal: judge the new page on its own.
        return check
    if decision.decision == "propose":
        if check.status not in UNSETTLED:
            return check
        proposal = Sentence(PROPOSED, (("actor", decision.actor), ("reason", decision.reason)))
        return _said(
            check.name, check.status, *check.sentences, proposal, proposed_by=decision.actor
        )
    return _said(check.name, "failed", Sentence(REJECTED, (("reason", decision.reason),)))


def _from_page(
    name: str, party: Party, check: str, page: Evidence | None, require_original: bool
) -> Check:
    if page is None:
        return _pending(name, party, check)

    signed = {name: Sentence(template, values) for name, template, values in page.signed}
    if check in signed:
        return _said(name, "passed" if _result(page, check) else "failed", signed[check])
    where = (("page", str(page.page_index + 1)), ("scan", page.scan_id))
    passed, failed = SENTENCES[check]
    if check == "page_received" and page.assigned_by_staff:
        failed = ASSIGNED_BY_STAFF
    if not _result(page, check):
        said = []
        if check != "page_received" or not page.code_valid or page.assigned_by_staff:
            said.append(Sentence(failed, (*where, ("fields", _fields(page, check)))))
        if check == "page_received" and page.sender is not None and not page.sender.vouches:
            said.append(_not_from_party(page.sender, where))
        return _said(name, "failed", *said)
    provisional = require_original and page.channel not in ORIGINAL_CHANNELS
    channel = ("channel", page.channel)
    said = [Sentence(passed, (*where, channel))]
    if provisional:
        said.append(Sentence(ORIGINAL_AWAITED, (channel,)))
    return _said(name, "passed", *said, provisional=provisional)


@cache
def _pending(name: str, party: Party, check: str) -> Check:
    """A check with no page yet: the same for every case awaiting the party's page, so made
    once (a list of cases awaiting documents said these sentences a few hundred times)."""
    waiting = NO_PAGE if check == "page_received" else WAITING_FOR_PAGE
    return _said(name, "pending", Sentence(waiting, (("party", party),)))


def _not_from_party(sender: EmailSender, where: tuple[tuple[str, str], ...]) -> Sentence:
    if not sender.is_party:
        return Sentence(NOT_PARTY_ADDRESS, (*where, ("sender", sender.address or "")))
    return Sentence(NOT_AUTHENTICATED, (*where, ("how", sender.how)))


def _said(
    name: str,
    status: CheckStatus,
    *sentences: Sentence,
    provisional: bool = False,
    proposed_by: str | None = None,
) -> Check:
    detail = " ".join(sentence.english() for sentence in sentences)
    return Check(name, status, detail, provisional, proposed_by, sentences)


def _result(page: Evidence, check: str) -> bool:
    results = {
        # A page by e-mail counts only when the message proves it came from the page's party.
        "page_received": page.code_valid and (page.sender is None or page.sender.vouches),
        "fields_match": page.fields_match,
        "signature_present": page.signature_present,
        "stamp_present": page.stamp_present is True,
        "unaltered": page.unaltered,
    }
    return results[check]


def _fields(page: Evidence, check: str) -> str:
    return ",".join(page.mismatched_fields if check == "fields_match" else page.altered_fields)


# The values of a sentence in English words; a value not named here is said as it is.
_CHANNEL_WORDS = {
    "post": "by post",
    "fax": "by fax",
    "email": "by e-mail",
    "upload": "as an upload",
}
_HOW_WORDS = {
    "dmarc": "DMARC passed",
    "dkim": "a DKIM signature of the sender's domain passed",
    "dkim_not_aligned": "the DKIM signature that passed is of another domain than the sender's",
    "not_passed": "neither DMARC nor DKIM passed",
    "no_results": "the receiving mail host left no authentication results",
    "not_configured": "the service is not told which mail host's results to trust",
    "no_sender": "the message has no single sender address",
}
_ENGLISH: dict[str, Callable[[str], str]] = {
    "how": lambda how: _HOW_WORDS.get(how, how),
    "sender": lambda sender: sender or "no single address",
    "party": lambda party: party.replace("_", " "),
    "channel": lambda channel: _CHANNEL_WORDS.get(channel, channel),
    "fields": lambda fields: ": " + fields.replace(",", ", ") if fields else "",
}

# What the checks say; each is translated in cesja/locale (a test holds them together).
NO_PAGE = "No page from the {party} received yet."
WAITING_FOR_PAGE = "Waiting for the {party}'s page: no page received yet."
ORIGINAL_AWAITED = "It came {channel}; the original by post is awaited."
ACCEPTED = "Accepted by back office: {reason}"
REJECTED = "Rejected by back office: {reason}"
PROPOSED = (
    "Accepting it was proposed by {actor} ({reason}); a second, different reviewer must confirm."
)
ASSIGNED_BY_STAFF = (
    "Page {page} of scan {scan} was assigned to the case by a member of staff: neither its code "
    "nor its case number could be read, so nothing on it proves it was printed for this case; "
    "back office may accept it."
)
NOT_PARTY_ADDRESS = (
    "Page {page} of scan {scan} was sent from an address that is not this party's contact "
    "address ({sender}); back office may accept it."
)
NOT_AUTHENTICATED = (
    "Page {page} of scan {scan} was sent from this party's contact address, but the message "
    "was not authenticated ({how}), so the sender may be forged; back office may accept it."
)
# (passed, failed) per check.
SENTENCES: dict[str, tuple[str, str]] = {
    "page_received": (
        "Received: page {page} of scan {scan}, {channel}.",
        "Page {page} of scan {scan} was matched by its printed case number because its code "
        "could not be verified; back office may accept it.",
    ),
    "fields_match": (
        "The printed values on page {page} of scan {scan} match the case.",
        "On page {page} of scan {scan} the printed values do not match the case{fields}.",
    ),
    "signature_present": (
        "A signature was found on page {page} of scan {scan}.",
        "No signature was found in the signature box on page {page} of scan {scan}.",
    ),
    "stamp_present": (
        "A company stamp was found on page {page} of scan {scan}.",
        "No company stamp was found in the stamp box on page {page} of scan {scan}.",
    ),
    "unaltered": (
        "No handwritten changes to the printed values on page {page} of scan {scan}.",
        "Handwritten changes were found on page {page} of scan {scan}{fields}.",
    ),
}
ALL_SENTENCES = (
    NO_PAGE,
    WAITING_FOR_PAGE,
    ORIGINAL_AWAITED,
    ACCEPTED,
    REJECTED,
    PROPOSED,
    ASSIGNED_BY_STAFF,
    NOT_PARTY_ADDRESS,
    NOT_AUTHENTICATED,
    *(sentence for pair in SENTENCES.values() for sentence in pair),
    *ESIGN_SENTENCES,
)
