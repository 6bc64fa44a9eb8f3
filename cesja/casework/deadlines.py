"""Deadlines: open cases past theirs expire; half-way to it, a reminder is recorded once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists
from sqlmodel import Session, col, select

from cesja.casework import audit_log, lifecycle, notices
from cesja.casework.evidence import case_checks
from cesja.db.models import CaseRow, EventRow, utcnow
from cesja.runtime import Runtime
from workflow import sources

log = logging.getLogger("cesja.deadlines")

CHECK_DEADLINES = "check_deadlines"
ACTOR = "system:deadlines"
REMINDER = "deadline_reminder"

# Something done to one case, under its lock; True if it did anything.
_Act = Callable[[Session, CaseRow], bool]


@dataclass
class Sweep:
    """What one run did, by case id."""

    expired: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)


def halfway(case: CaseRow) -> datetime:
    """The reminder point: half-way between the case's creation and its deadline."""
    return case.created_at + (case.deadline - case.created_at) / 2


def run(runtime: Runtime, *, now: datetime | None = None) -> Sweep:
    """Expire what is overdue and remind what is half-way, each case in its own transaction.

    Safe to run on several workers at once: each case is locked and looked at again before
    anything is written, so a case expires once and is reminded once.
    """
    now = now or utcnow()
    sweep = Sweep()
    for case_id in _overdue(runtime, now):
        if _with_case(runtime, case_id, lambda s, c: _expire(s, runtime, c, now)):
            sweep.expired.append(case_id)
    for case_id in _unreminded(runtime, now):
        if _with_case(runtime, case_id, lambda s, c: _remind(s, runtime, c, now)):
            sweep.reminded.append(case_id)
    if sweep.expired or sweep.reminded:
        log.info("deadlines: %d expired, %d reminded", len(sweep.expired), len(sweep.reminded))
    return sweep


def _expirable() -> list[str]:
    return sorted(sources("expire"))


def _overdue(runtime: Runtime, now: datetime) -> list[str]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(CaseRow.id)
                .where(col(CaseRow.state).in_(_expirable()))
                .where(CaseRow.deadline <= now)
            )
        )


def _unreminded(runtime: Runtime, now: datetime) -> list[str]:
    reminded = (
        exists().where(col(EventRow.case_id) == CaseRow.id).where(col(EventRow.type) == REMINDER)
    )
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(CaseRow)
            .where(col(CaseRow.state).in_(_expirable()))
            .where(CaseRow.deadline > now)
            .where(~reminded)
        )
        # Half-way is computed here rather than in SQL: interval arithmetic differs by backend.
        return [case.id for case in rows if halfway(case) <= now]


def _with_case(runtime: Runtime, case_id: str, act: _Act) -> bool:
    try:
        with Session(runtime.engine, expire_on_commit=False) as session:
            case = session.exec(
                select(CaseRow).where(CaseRow.id == case_id).with_for_update()
            ).first()
            done = case is not None and act(session, case)
            session.commit()
            return done
    except Exception:
        # One case that cannot be handled must not hold up the others; the next run retries.
        log.exception("deadlines: case %s could not be handled", case_id)
        return False


def _expire(session: Session, runtime: Runtime, case: CaseRow, now: datetime) -> bool:
    if case.state not in _expirable() or case.deadline > now:
        return False  # it moved, or its deadline changed, since it was listed
    lifecycle.transition(
        session,
        runtime.settings,
        case,
        "expire",
        actor=ACTOR,
        now=now,
        reason=f"the deadline {case.deadline.isoformat()} passed",
    )
    return True


def _remind(session: Session, runtime: Runtime, case: CaseRow, now: datetime) -> bool:
    if case.state not in _expirable() or not (halfway(case) <= now < case.deadline):
        return False
    already = session.exec(
        select(EventRow.id).where(EventRow.case_id == case.id).where(EventRow.type == REMINDER)
    ).first()
    if already is not None:
        return False
    checks = case_checks(session, case, require_original=runtime.settings.require_original)
    audit_log.append(
        session,
        case.id,
        REMINDER,
        ACTOR,
        {
            "deadline": case.deadline.isoformat(),
            "halfway": halfway(case).isoformat(),
            "state": case.state,
            "open_checks": [
                c.name for c in checks if c.status in ("pending", "failed") or c.provisional
            ],
        },
        at=now,
    )
    notices.halfway(session, runtime.settings, case, checks, now)
    return True
