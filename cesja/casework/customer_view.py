"""What a customer's link may show of a case: what each party must do next, the files sent
through the links and what became of them, and how the case ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from cesja.db.models import CaseRow, CustomerUploadRow, EventRow, PageRow, ScanRow, utcnow
from documents.layout import PAGE_OF_PARTY, Party
from workflow import Check, Evidence, Sentence, is_final


@dataclass(frozen=True)
class Ending:
    """How a case ended (completed, rejected, cancelled, expired), when, and the reason the
    person who ended it gave, if any."""

    state: str
    at: datetime
    reason: str | None


def ending(session: Session, case: CaseRow) -> Ending | None:
    """How the case ended, or None while it is open: its link then no longer serves the form."""
    if not is_final(case.state):
        return None
    last = session.exec(
        select(EventRow)
        .where(EventRow.case_id == case.id, EventRow.type == "state_changed")
        .order_by(col(EventRow.seq).desc())
    ).first()
    if last is None or last.data.get("after") != case.state:
        return Ending(case.state, case.updated_at, None)
    reason = last.data.get("reason")
    return Ending(case.state, last.at, reason if isinstance(reason, str) else None)


# What a party's page tells it, in English: each is the key of its Polish sentence in the
# catalogue (cesja/locale), filled with the page's number, a date and the channel it came by.
NOT_ARRIVED = (
    "Your page {page} has not arrived yet: print the form, sign page {page} and send it to "
    "us, or upload a scan or a photo of it here."
)
NOT_ARRIVED_COMPANY = (
    "Your page {page} has not arrived yet: print the form, have page {page} signed by the "
    "company's representatives and stamped, and send it to us, or upload a scan or a photo "
    "of it here."
)
ARRIVED = "Your page {page} arrived on {date} {channel}."
BEING_CHECKED = "We are still checking page {page}; this page will say when it is done."
SEND_AGAIN = {
    "page_received": (
        "Page {page} could not be confirmed as printed for this case: print the form again "
        "and send a new, signed page {page}."
    ),
    "signature_present": (
        "The signature box on page {page} looks empty: please sign page {page} and send it again."
    ),
    "stamp_present": (
        "The stamp box on page {page} looks empty: please stamp page {page} next to the "
        "signature and send it again."
    ),
    "fields_match": (
        "The printed data on page {page} could not be read as it was printed: print page "
        "{page} again without scaling, sign it and send it again, legible in full."
    ),
    "unaltered": (
        "Page {page} has changes written by hand: print a new page {page}, do not correct "
        "anything on it, sign it and send it again; if the data on it is wrong, contact us."
    ),
}
ORIGINAL_BY_POST = "Page {page} came {channel}; please also send the signed original by post."
ALL_DONE = "Everything we need from you on page {page} has arrived and is in order."
ALL_SENTENCES = (
    NOT_ARRIVED,
    NOT_ARRIVED_COMPANY,
    ARRIVED,
    BEING_CHECKED,
    *SEND_AGAIN.values(),
    ORIGINAL_BY_POST,
    ALL_DONE,
)
SETTLED = ("passed", "accepted")


@dataclass(frozen=True)
class PartySteps:
    """Where one party stands: what arrived from it and what it must do next."""

    party: Party
    page: int
    done: bool
    steps: tuple[Sentence, ...]


def party_steps(
    case: CaseRow, party: Party, checks: list[Check], evidence: list[Evidence]
) -> PartySteps:
    """What a party's page says it must do, from its checks and the pages that came from it."""
    page = PAGE_OF_PARTY[party]
    number = ("page", str(page))
    mine = {c.name.partition(".")[2]: c for c in checks if c.name.startswith(f"{party}.")}
    arrived = [e for e in evidence if e.party == party]
    received = mine["page_received"].status
    if received == "pending" or (not arrived and received not in SETTLED):
        company = getattr(case, party)["kind"] == "company"
        return PartySteps(
            party,
            page,
            False,
            (Sentence(NOT_ARRIVED_COMPANY if company else NOT_ARRIVED, (number,)),),
        )
    steps = []
    # No page at all, yet settled: staff accepted it without one (seen at the office).
    latest = max(arrived, key=lambda e: e.received_at) if arrived else None
    if latest is not None:
        day = latest.received_at.date().isoformat()
        steps.append(Sentence(ARRIVED, (number, ("date", day), ("channel", latest.channel))))
    failed = [name for name, check in mine.items() if check.status == "failed"]
    steps.extend(Sentence(SEND_AGAIN[name], (number,)) for name in failed if name in SEND_AGAIN)
    provisional = any(check.provisional for check in mine.values())
    if provisional and latest is not None:
        steps.append(Sentence(ORIGINAL_BY_POST, (number, ("channel", latest.channel))))
    settled = all(check.status in SETTLED for check in mine.values())
    if not failed and not settled:
        steps.append(Sentence(BEING_CHECKED, (number,)))
    done = settled and not provisional
    if done:
        steps.append(Sentence(ALL_DONE, (number,)))
    return PartySteps(party, page, done, tuple(steps))


@dataclass(frozen=True)
class UploadSeen:
    """A file sent through a customer's link, and what became of it so far."""

    at: datetime
    reading: bool  # still being read
    unreadable: bool
    # The form pages of this case found in it (1, 2), whoever's link it came through.
    pages: tuple[int, ...]


def uploads(session: Session, case: CaseRow, party: Party | None) -> list[UploadSeen]:
    """Files sent through the case's links (the party's own only, for a party's link), newest
    first."""
    query = select(CustomerUploadRow, ScanRow).join(
        ScanRow, col(CustomerUploadRow.scan_id) == col(ScanRow.id)
    )
    query = query.where(CustomerUploadRow.case_id == case.id)
    if party is not None:
        query = query.where(CustomerUploadRow.party == party)
    sent = session.exec(query.order_by(col(CustomerUploadRow.id).desc()).limit(50)).all()
    found: dict[str, set[int]] = {}
    if sent:
        pages = session.exec(
            select(PageRow.scan_id, PageRow.party).where(
                col(PageRow.scan_id).in_([scan.id for _, scan in sent]),
                PageRow.case_id == case.id,
                PageRow.outcome == "matched",
            )
        )
        for scan_id, page_party in pages:
            for party, number in PAGE_OF_PARTY.items():
                if page_party == party:
                    found.setdefault(scan_id, set()).add(number)
    return [
        UploadSeen(
            at=upload.at,
            reading=scan.status in ("queued", "processing"),
            unreadable=scan.status == "failed",
            pages=tuple(sorted(found.get(scan.id, ()))),
        )
        for upload, scan in sent
    ]


def record_upload(session: Session, case: CaseRow, party: Party | None, scan_id: str) -> None:
    """A file came through a link of the case: its page will list it."""
    session.add(CustomerUploadRow(case_id=case.id, party=party, scan_id=scan_id, at=utcnow()))
