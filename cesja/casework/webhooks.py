"""The transfer-ready notice: scheduled with the transition, then POSTed and retried from the DB.

A delivery row is one notice, one webhook-id. Each attempt is one `deliver_webhook` job; the
attempt's outcome, the next job (at `now + policy.delay(attempt)`) and the end of the current
job are committed together, so a restart picks up exactly where the last commit left off.
Status: pending → delivered | gone (410: never again) | dead (attempts used up) | withdrawn (the
case left transfer_ready, or entered it again with a newer notice, before this one arrived).
Staff may send a dead or gone notice again under the same webhook-id.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

from cesja.casework import audit_log
from cesja.config import Settings
from cesja.db import jobs
from cesja.db.models import CaseRow, WebhookAttemptRow, WebhookDeliveryRow, utcnow
from cesja.errors import Conflict, NotFound, database_said, database_unavailable
from cesja.observe import logs, metrics
from cesja.runtime import Runtime
from workflow import (
    Attempt,
    RetryPolicy,
    WorkflowError,
    deliver,
    new_message_id,
    transfer_ready_payload,
)

log = logging.getLogger("cesja.webhooks")

DELIVER_WEBHOOK = "deliver_webhook"
# While the database is away, the outcome of a POST that went out is written again after these
# waits (29 s in all, within a stopping worker's grace); should it stay away longer, the job
# runs again later and the notice is sent again under the same webhook-id.
OUTCOME_RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 5.0, 10.0)
SYSTEM = "system:webhooks"
STATUSES = ("pending", "delivered", "gone", "dead", "withdrawn")
RESENDABLE = ("dead", "gone")


class DeliveryNotFound(NotFound):
    code = "webhook_not_found"


class NotResendable(Conflict):
    code = "webhook_not_resendable"


def policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts, scale=settings.webhook_retry_scale
    )


def schedule_transfer_ready(session: Session, settings: Settings, case: CaseRow) -> None:
    """One delivery (one webhook-id) for this entry into transfer_ready, and its job.

    Without a configured URL nothing is sent; the audit trail says so.
    """
    now = utcnow()
    if not settings.webhook_url:
        audit_log.append(
            session, case.id, "webhook_skipped", SYSTEM, {"reason": "CESJA_WEBHOOK_URL unset"}
        )
        return
    delivery = WebhookDeliveryRow(
        id=new_message_id(),
        case_id=case.id,
        payload=transfer_ready_payload(
            case.id,
            case.external_ref,
            case.domains,
            case.new_registrant,
            now,
            audit_head=audit_log.head_hash(session, case.id),
        ),
        status="pending",
        created_at=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    jobs.enqueue(session, DELIVER_WEBHOOK, delivery.id, run_at=now)
    audit_log.append(session, case.id, "webhook_scheduled", SYSTEM, {"webhook_id": delivery.id})


def attempt(runtime: Runtime, delivery_id: str, *, job_id: int | None = None) -> None:
    """The `deliver_webhook` job: one POST of a pending notice, and what follows from it.

    No transaction is open during the POST: on SQLite one would stop every other writer.
    A job run twice (its worker died after the POST, before the commit) sends the same
    webhook-id again, which receivers use to drop duplicates.
    """
    settings = runtime.settings
    with Session(runtime.engine, expire_on_commit=False) as session:
        delivery = session.get(WebhookDeliveryRow, delivery_id)
        if delivery is None or delivery.status != "pending":
            return
        logs.note(case_id=delivery.case_id)
        withdrawn_because = _obsolete(session, delivery)
        if withdrawn_because:
            _withdraw(session, delivery_id, withdrawn_because, job_id)
            session.commit()
            return
        attempts_before = delivery.attempts
        payload = delivery.payload
    now = utcnow()
    result = _post(settings, delivery_id, payload, now)
    status = _write_outcome(runtime, delivery_id, attempts_before, result, job_id)
    metrics.webhook_attempted("retry" if status == "pending" else status)
    runtime.work_ready.set()


def _write_outcome(
    runtime: Runtime, delivery_id: str, attempts_before: int, result: Attempt, job_id: int | None
) -> str:
    """Record what the POST that went out came to, tried again while the database is away:
    an outcome lost would have the notice sent once more. The notice's status after it."""

    def write() -> str:
        with Session(runtime.engine, expire_on_commit=False) as session:
            status = _record(
                session, runtime.settings, delivery_id, attempts_before, result, job_id
            )
            session.commit()
        return status

    for wait in OUTCOME_RETRY_SECONDS:
        try:
            return write()
        except Exception as err:
            if not database_unavailable(err):
                raise
            log.warning(
                "could not record webhook %s's attempt, the database is away (%s); "
                "trying again in %.1f s",
                delivery_id,
                database_said(err),
                wait,
            )
        time.sleep(wait)
    return write()


def _post(
    settings: Settings, delivery_id: str, payload: dict[str, object], now: datetime
) -> Attempt:
    if not settings.webhook_url or not settings.webhook_secret:
        return Attempt("retry", now, error="CESJA_WEBHOOK_URL is not set: nothing was sent")
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    # Redirects are not followed: the signed notice goes only where it was configured to go.
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        try:
            return deliver(
                client, settings.webhook_url, settings.webhook_secret, delivery_id, payload, now=now
            )
        except WorkflowError as err:  # a malformed secret; its message never repeats it
            return Attempt("retry", now, error=err.message)


def _obsolete(session: Session, delivery: WebhookDeliveryRow) -> str | None:
    """Why this notice must not be sent any more, if it must not."""
    case = session.get(CaseRow, delivery.case_id)
    if case is None or case.state != "transfer_ready":
        state = case.state if case else "gone"
        return f"the case is {state}, no longer transfer_ready"
    newer = session.exec(
        select(func.count())
        .select_from(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.case_id == delivery.case_id)
        .where(WebhookDeliveryRow.created_at > delivery.created_at)
    ).one()
    if newer:
        return "the case entered transfer_ready again; a newer notice replaces this one"
    return None


def _locked(session: Session, delivery_id: str) -> tuple[CaseRow, WebhookDeliveryRow]:
    """The delivery and its case, locked in that order (as every writer of a case locks)."""
    delivery = session.get(WebhookDeliveryRow, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
    # The case lock serialises audit events with staff, the reader and other workers.
    case = session.exec(
        select(CaseRow)
        .where(CaseRow.id == delivery.case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    delivery = session.exec(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return case, delivery


def _withdraw(session: Session, delivery_id: str, why: str, job_id: int | None) -> None:
    _, delivery = _locked(session, delivery_id)
    if delivery.status != "pending":
        return
    delivery.status = "withdrawn"
    delivery.next_attempt_at = None
    session.add(delivery)
    audit_log.append(
        session,
        delivery.case_id,
        "webhook_withdrawn",
        SYSTEM,
        {"webhook_id": delivery.id, "before": "pending", "after": "withdrawn", "reason": why},
    )
    jobs.finish_in(session, job_id)


def _record(
    session: Session,
    settings: Settings,
    delivery_id: str,
    attempts_before: int,
    result: Attempt,
    job_id: int | None,
) -> str:
    """Store one attempt and decide what follows: done, gone, dead, or the next job; the
    notice's status after it."""
    _, delivery = _locked(session, delivery_id)
    if delivery.status != "pending" or delivery.attempts != attempts_before:
        # Another run recorded an attempt (or staff changed the notice) meanwhile: that run
        # owns what follows; this one only keeps the truth that a POST went out.
        session.add(_attempt_row(delivery_id, attempts_before + 1, result))
        jobs.finish_in(session, job_id)
        return delivery.status
    delivery.attempts += 1
    delivery.last_attempt_at = result.at
    delivery.last_status = result.status_code
    delivery.last_error = result.error
    delivery.next_attempt_at = None
    session.add(_attempt_row(delivery_id, delivery.attempts, result))
    before = delivery.status
    audit: tuple[str, dict[str, object]] | None = None
    if result.outcome == "delivered":
        delivery.status = "delivered"
        delivery.delivered_at = result.at
        audit = ("webhook_delivered", {"status_code": result.status_code})
    elif result.outcome == "gone":
        delivery.status = "gone"
        audit = ("webhook_gone", {"status_code": result.status_code, "error": result.error})
    else:
        wait = policy(settings).delay(delivery.attempts)
        if wait is None:
            delivery.status = "dead"
            audit = ("webhook_dead", {"status_code": result.status_code, "error": result.error})
        else:
            delivery.next_attempt_at = result.at + wait
            jobs.enqueue(session, DELIVER_WEBHOOK, delivery_id, run_at=delivery.next_attempt_at)
            log.info(
                "webhook %s attempt %d failed (%s); next at %s",
                delivery_id,
                delivery.attempts,
                result.error,
                delivery.next_attempt_at.isoformat(),
            )
    session.add(delivery)
    if audit is not None:
        type_, data = audit
        audit_log.append(
            session,
            delivery.case_id,
            type_,
            SYSTEM,
            {
                "webhook_id": delivery_id,
                "before": before,
                "after": delivery.status,
                "attempts": delivery.attempts,
                **data,
            },
            at=result.at,
        )
    jobs.finish_in(session, job_id)
    return delivery.status


def _attempt_row(delivery_id: str, number: int, result: Attempt) -> WebhookAttemptRow:
    return WebhookAttemptRow(
        delivery_id=delivery_id,
        number=number,
        at=result.at,
        outcome=result.outcome,
        status_code=result.status_code,
        error=result.error,
    )


def resend(session: Session, delivery_id: str, *, actor: str) -> WebhookDeliveryRow:
    """Send a dead or gone notice again, under the same webhook-id, attempts from 1."""
    case, delivery = _locked(session, delivery_id)
    if delivery.status not in RESENDABLE:
        raise NotResendable(
            f"webhook {delivery_id} is {delivery.status}; only a dead or gone notice can be "
            "sent again"
        )
    obsolete = _obsolete(session, delivery)
    if obsolete:
        raise NotResendable(
            f"webhook {delivery_id} cannot be sent again: {obsolete}, so the notice would tell "
            "the registrar something that is not true any more"
        )
    now = utcnow()
    before = delivery.status
    previous_attempts = delivery.attempts
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    session.add(delivery)
    jobs.enqueue(session, DELIVER_WEBHOOK, delivery_id, run_at=now)
    audit_log.append(
        session,
        case.id,
        "webhook_resent",
        actor,
        {
            "webhook_id": delivery_id,
            "before": before,
            "after": "pending",
            "previous_attempts": previous_attempts,
        },
        at=now,
    )
    session.flush()
    return delivery


@dataclass(frozen=True)
class DeliveryPage:
    items: list[WebhookDeliveryRow]
    count: int


def list_deliveries(
    session: Session, *, status: str | None, case_id: str | None, limit: int, offset: int
) -> DeliveryPage:
    stmt = select(WebhookDeliveryRow)
    if status:
        stmt = stmt.where(WebhookDeliveryRow.status == status)
    if case_id:
        stmt = stmt.where(WebhookDeliveryRow.case_id == case_id)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(WebhookDeliveryRow.created_at).desc()).limit(limit).offset(offset)
    ).all()
    return DeliveryPage(list(rows), total)


def get_delivery(session: Session, delivery_id: str) -> WebhookDeliveryRow:
    delivery = session.get(WebhookDeliveryRow, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
    return delivery


def attempts_of(session: Session, delivery_id: str) -> list[WebhookAttemptRow]:
    return list(
        session.exec(
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id == delivery_id)
            .order_by(col(WebhookAttemptRow.id))
        )
    )
