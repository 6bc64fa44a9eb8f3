"""What the database says of the service's own work: the job queue, jobs given up, notices and
cases by status. It is the truth across processes and machines, read by `/metrics`, `/readyz`
and the back office."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cesja import processing, webhooks
from cesja.models import CaseRow, JobRow, WebhookDeliveryRow, utcnow
from cesja.webhooks import RESENDABLE


@dataclass(frozen=True)
class QueueOfKind:
    """The jobs of one kind not done yet."""

    kind: str
    waiting: int  # due, and no worker holds them
    running: int  # a worker holds them now
    scheduled: int  # due later: a retry, a notice's next attempt
    oldest_waiting_seconds: float  # how long the longest-waiting due job has waited; 0 if none


def queue(
    session: Session, kinds: Iterable[str], *, now: datetime | None = None
) -> list[QueueOfKind]:
    """The queue by kind: every kind in `kinds`, and any other kind found."""
    now = now or utcnow()
    free = or_(col(JobRow.leased_until).is_(None), col(JobRow.leased_until) < now)
    waiting = and_(col(JobRow.run_at) <= now, free)
    # SQLAlchemy's select: SQLModel's types a select of at most four columns.
    rows = (
        session.connection()
        .execute(
            sa_select(
                col(JobRow.kind),
                func.sum(case((waiting, 1), else_=0)),
                func.sum(case((col(JobRow.leased_until) >= now, 1), else_=0)),
                func.sum(case((and_(col(JobRow.run_at) > now, free), 1), else_=0)),
                func.min(case((waiting, col(JobRow.run_at)))),
            )
            .where(col(JobRow.done_at).is_(None))
            .group_by(col(JobRow.kind))
        )
        .all()
    )
    found = {
        kind: QueueOfKind(
            kind,
            int(w or 0),
            int(r or 0),
            int(s or 0),
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        )
        for kind, w, r, s, oldest in rows
    }
    for kind in kinds:
        found.setdefault(kind, QueueOfKind(kind, 0, 0, 0, 0.0))
    return sorted(found.values(), key=lambda q: q.kind)


def given_up_by_kind(session: Session) -> dict[str, int]:
    """How many jobs of each kind were given up (failed every attempt, or over a budget)."""
    rows = session.exec(
        select(JobRow.kind, func.count())
        .where(col(JobRow.given_up_at).is_not(None))
        .group_by(col(JobRow.kind))
    ).all()
    return {kind: int(count) for kind, count in rows}


@dataclass(frozen=True)
class GivenUpJob:
    """A job given up, and what it was for: a page of a scan, a whole scan, or a notice."""

    job: JobRow
    scan_id: str | None = None
    page_number: int | None = None  # counted from 1
    delivery_id: str | None = None

    @classmethod
    def of(cls, job: JobRow) -> GivenUpJob:
        if job.kind == processing.READ_PAGE:
            scan_id, index = processing.scan_and_index(job.ref)
            return cls(job, scan_id=scan_id, page_number=index + 1)
        if job.kind == processing.PROCESS_SCAN:
            return cls(job, scan_id=job.ref)
        if job.kind == webhooks.DELIVER_WEBHOOK:
            return cls(job, delivery_id=job.ref)
        return cls(job)


@dataclass(frozen=True)
class GivenUpJobs:
    jobs: list[GivenUpJob]
    count: int


def given_up_jobs(session: Session, *, limit: int, offset: int) -> GivenUpJobs:
    """Jobs given up, the latest first."""
    given_up = col(JobRow.given_up_at).is_not(None)
    count = session.exec(select(func.count()).select_from(JobRow).where(given_up)).one()
    jobs = session.exec(
        select(JobRow)
        .where(given_up)
        .order_by(col(JobRow.given_up_at).desc(), col(JobRow.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return GivenUpJobs([GivenUpJob.of(job) for job in jobs], int(count))


def notices_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(
        select(WebhookDeliveryRow.status, func.count()).group_by(col(WebhookDeliveryRow.status))
    ).all()
    return {status: int(count) for status, count in rows}


def notices_to_act_on(session: Session) -> int:
    """Notices only a person can move on (dead, or refused with 410)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(WebhookDeliveryRow)
            .where(col(WebhookDeliveryRow.status).in_(RESENDABLE))
        ).one()
    )


def given_up_count(session: Session) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(JobRow).where(col(JobRow.given_up_at).is_not(None))
        ).one()
    )


def cases_by_state(session: Session) -> dict[str, int]:
    rows = session.exec(select(CaseRow.state, func.count()).group_by(col(CaseRow.state))).all()
    return {state: int(count) for state, count in rows}
