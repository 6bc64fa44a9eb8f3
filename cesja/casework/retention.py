"""Retention and erasure: what was received for a case is destroyed once the case has been
over for CESJA_RETENTION_DAYS, or at once when a party asks for erasure of an ended case.

Destroyed: the scan files its pages came in (unless a page of another case still needing it
is in the same file), the e-mails those files came in once every file of one is destroyed
(the message's bytes, its subject, the sender's display name and the files' names; its
sender's address and how it was verified stay, the checks read them), the evidence images
kept for review, the text read from its pages (each field's expected and read value), and
what the certificates of an electronically signed file said of their holders (names, PESEL
or NIP, subject), in its validation report and in what its checks say. Kept: the case, its
decisions, its audit trail, and each page's verdicts (of a signature: qualified, valid,
trusted, when it was made and timestamped, by which certificate), so its checks read as
they did. Form PDFs are drawn on demand, never stored; an ended case's link serves none. The
trail records what was destroyed, by whom and why; a case is destroyed once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists
from sqlmodel import Session, col, select

from cesja.casework import audit_log, cases
from cesja.db.models import (
    CaseRow,
    EventRow,
    EvidenceRow,
    MessageAttachmentRow,
    MessageRow,
    PageRow,
    ScanRow,
    utcnow,
)
from cesja.errors import Conflict
from cesja.runtime import Runtime
from ocr.esign import SignedForm
from workflow import is_final

log = logging.getLogger("cesja.retention")

PURGE_ENDED_CASES = "purge_ended_cases"
ACTOR = "system:retention"
DESTROYED = "received_data_destroyed"
# The final states, the ones a case ends in.
ENDED = ("completed", "rejected", "cancelled", "expired")


class CaseStillOpen(Conflict):
    """Erasure asked for a case that is still open: its pages are still needed."""

    code = "case_open"

    def __init__(self, case_id: str, state: str):
        super().__init__(
            f"case {case_id} is {state}, still open: what was received for it is needed until "
            "it ends (cancel or reject it first if the request is to stop the transfer)"
        )


@dataclass
class Destroyed:
    """What one case lost: scan files deleted, pages whose read text was wiped, images."""

    case_id: str
    files: list[str] = field(default_factory=list)  # scan ids
    messages: list[str] = field(default_factory=list)  # message ids whose bytes went too
    pages: int = 0
    images: int = 0


def _already(case_id: Any) -> Any:
    return exists().where(col(EventRow.case_id) == case_id).where(col(EventRow.type) == DESTROYED)


def due(session: Session, *, now: datetime, retention: timedelta) -> list[str]:
    """Cases that ended more than `retention` ago and still hold what was received."""
    # A case's `updated_at` is the moment it ended: nothing changes an ended case afterwards.
    return list(
        session.exec(
            select(CaseRow.id)
            .where(col(CaseRow.state).in_(ENDED))
            .where(col(CaseRow.updated_at) < now - retention)
            .where(~_already(CaseRow.id))
            .order_by(col(CaseRow.updated_at))
            .limit(500)
        )
    )


def destroy(runtime: Runtime, case_id: str, *, actor: str, reason: str) -> Destroyed | None:
    """Destroy what was received for an ended case and record it; None if it was already.

    Rows first, in one transaction with the case locked and the event recorded; the files
    after the commit, each removal flushed to disk. Should the process die in between, the
    files left are named in the event, and `cesja erase` of the case deletes them."""
    with Session(runtime.engine) as session:
        case = cases.get_case(session, case_id, for_update=True)
        if not is_final(case.state):
            raise CaseStillOpen(case_id, case.state)
        if session.exec(select(_already(case_id))).one():
            session.rollback()
            _leftovers(runtime, case_id)
            return None
        done = _destroy_rows(session, case)
        audit_log.append(
            session,
            case_id,
            DESTROYED,
            actor,
            {
                "reason": reason,
                "scans": done.files,
                "messages": done.messages,
                "pages": done.pages,
                "images": done.images,
            },
        )
        shas = []
        for scan_id in done.files:
            scan = session.get_one(ScanRow, scan_id)
            scan.sender = None  # a fax number or an address: the party's too
            session.add(scan)
            shas.append(scan.sha256)
        shas += _forget_messages(session, done.messages)
        session.commit()
    for sha in shas:
        runtime.store.destroy(sha)
    log.info(
        "case %s: destroyed %d scan file(s), %d image(s), the text of %d page(s) (%s)",
        case_id,
        len(done.files),
        done.images,
        done.pages,
        reason,
    )
    return done


def _leftovers(runtime: Runtime, case_id: str) -> None:
    """A case destroyed before: delete any of its files a crash left behind."""
    with Session(runtime.engine) as session:
        event = session.exec(
            select(EventRow).where(EventRow.case_id == case_id, EventRow.type == DESTROYED)
        ).first()
        scans = list((event.data.get("scans") if event else None) or [])
        shas = [
            row.sha256 for row in session.exec(select(ScanRow).where(col(ScanRow.id).in_(scans)))
        ]
    for sha in shas:
        runtime.store.destroy(sha)


def _destroy_rows(session: Session, case: CaseRow) -> Destroyed:
    done = Destroyed(case.id)
    pages = list(session.exec(select(PageRow).where(PageRow.case_id == case.id)))
    page_ids = [page.id for page in pages]
    if page_ids:
        images = session.exec(
            select(EvidenceRow.page_id, EvidenceRow.name).where(
                col(EvidenceRow.page_id).in_(page_ids)
            )
        ).all()
        done.images = len(images)
        session.execute(delete(EvidenceRow).where(col(EvidenceRow.page_id).in_(page_ids)))
    for page in pages:
        page.reading = _without_text(page.reading)
        session.add(page)
    done.pages = len(pages)
    for scan_id in sorted({page.scan_id for page in pages}):
        if not _needed_elsewhere(session, scan_id, case.id):
            done.files.append(scan_id)
    done.messages = _messages_all_gone(session, done.files)
    return done


def _messages_all_gone(session: Session, destroyed: list[str]) -> list[str]:
    """The e-mails every one of whose scans is among those being destroyed."""
    if not destroyed:
        return []
    messages = session.exec(
        select(ScanRow.message_id)
        .where(col(ScanRow.id).in_(destroyed))
        .where(col(ScanRow.message_id).is_not(None))
        .distinct()
    ).all()
    gone = []
    for message_id in sorted(m for m in messages if m):
        scans = session.exec(select(ScanRow.id).where(ScanRow.message_id == message_id)).all()
        if set(scans) <= set(destroyed):
            gone.append(message_id)
    return gone


def _forget_messages(session: Session, message_ids: list[str]) -> list[str]:
    """What of these e-mails is not needed to read the case's checks wiped; their bytes'
    sha256, for the files to go after the commit."""
    shas = []
    for message_id in message_ids:
        message = session.get_one(MessageRow, message_id)
        message.subject, message.from_header, message.evidence = "", "", None
        session.add(message)
        shas.append(message.sha256)
        for attachment in session.exec(
            select(MessageAttachmentRow).where(MessageAttachmentRow.message_id == message_id)
        ):
            attachment.name = ""
            session.add(attachment)
    return shas


def _without_text(reading: dict[str, Any]) -> dict[str, Any]:
    """A page's reading with what was printed and read wiped, and of a signed file what its
    certificates said of the signers (`SignedForm.without_holders`); its verdicts kept."""
    fields = {
        name: {**value, "expected": "", "read": ""}
        for name, value in (reading.get("fields") or {}).items()
    }
    signed = reading.get("signed")
    if signed:
        signed = SignedForm.from_dict(signed).without_holders().to_dict()
    return {**reading, "fields": fields, **({"signed": signed} if signed else {})}


def _needed_elsewhere(session: Session, scan_id: str, case_id: str) -> bool:
    """Whether another case whose received data is not yet destroyed has a page in the file."""
    others = session.exec(
        select(PageRow.case_id)
        .where(PageRow.scan_id == scan_id)
        .where(col(PageRow.case_id).is_not(None))
        .where(PageRow.case_id != case_id)
        .distinct()
    ).all()
    return any(not session.exec(select(_already(other))).one() for other in others)


def purge_ended(runtime: Runtime, *, now: datetime | None = None) -> list[Destroyed]:
    """The periodic job: destroy what was received for every case over its retention."""
    days = runtime.settings.retention_days
    if days is None:
        return []
    with Session(runtime.engine) as session:
        ids = due(session, now=now or utcnow(), retention=timedelta(days=days))
    done = []
    for case_id in ids:
        destroyed = destroy(runtime, case_id, actor=ACTOR, reason=f"retention: {days:g} days")
        if destroyed is not None:
            done.append(destroyed)
    return done
