"""Appending to a case's hash-chained audit trail, and verifying it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from cesja.db.models import CaseRow, EventRow, utcnow
from workflow.audit import GENESIS, BrokenLink, event_hash, verify_chain


def _content(
    case_id: str, seq: int, type_: str, actor: str, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {"case_id": case_id, "seq": seq, "type": type_, "actor": actor, "at": at, "data": data}


def append(
    session: Session,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> EventRow:
    """Add the next event of a case, chained to the one before, in the caller's transaction.

    (case_id, seq) is unique, so two writers racing for the same seq cannot both commit.
    """
    last = session.exec(
        select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.seq).desc())
    ).first()
    if last is None:
        return start(session, case_id, type_, actor, data, at=at)
    return _chained(session, last.seq + 1, last.hash, case_id, type_, actor, data, at)


def start(
    session: Session,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> EventRow:
    """The first event of a case made in the caller's transaction: nothing before it to read."""
    return _chained(session, 1, GENESIS, case_id, type_, actor, data, at)


def _chained(
    session: Session,
    seq: int,
    prev: str,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    at: datetime | None,
) -> EventRow:
    at = at or utcnow()
    row = EventRow(
        case_id=case_id,
        seq=seq,
        type=type_,
        actor=actor,
        at=at,
        data=data,
        prev_hash=prev,
        hash=event_hash(prev, _content(case_id, seq, type_, actor, at, data)),
    )
    session.add(row)
    session.flush()
    return row


# A member of staff saw a case's personal data (its page, its JSON): who, when, and where.
PERSONAL_DATA_VIEWED = "personal_data_viewed"


def record_view(session: Session, case_id: str, actor: str, view: str) -> None:
    """Record that `actor` is being shown the case's personal data through `view`, in the
    caller's transaction; nothing for a case that does not exist (its page says so).

    The case row is locked first, as every writer of a case's trail locks it: a view never
    takes the seq that a transition or a notice is about to write. It changes nothing else
    of the case (not `updated_at`: a case is not waiting less for being looked at)."""
    case = session.exec(select(CaseRow.id).where(CaseRow.id == case_id).with_for_update()).first()
    if case is not None:
        append(session, case_id, PERSONAL_DATA_VIEWED, actor, {"view": view})


def events(session: Session, case_id: str) -> list[EventRow]:
    return list(
        session.exec(
            select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.seq))
        )
    )


def verify_case(session: Session, case_id: str) -> BrokenLink | None:
    return verify_chain(events(session, case_id))


def all_case_ids(session: Session) -> Iterator[str]:
    yield from session.exec(select(EventRow.case_id).distinct())
