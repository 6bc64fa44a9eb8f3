"""What a customer's link may show of a case: where it stands, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from cesja.db.models import CaseRow, EventRow
from workflow import is_final


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
