"""E-mail notices to the parties: scheduled with what causes them, then sent and retried from
the database, as the transfer-ready webhook is.

A notice row is one e-mail to one party about one event, with one Message-ID (made from its
id). It is written, with its `send_notice` job and an audit event, in the transaction of the
event itself; each attempt's outcome, the next job and the end of the current job are
committed together. Status: pending → sent | failed (refused by the server, or attempts used
up) | withdrawn (the case ended before a notice about collecting documents went out).
Without CESJA_SMTP_URL no notice is made at all.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from cesja.casework import audit_log, customer_links, mail
from cesja.casework.addresses import same_address
from cesja.casework.forms import form_pdf
from cesja.config import Settings
from cesja.db import jobs
from cesja.db.models import CaseRow, MessageRow, NoticeRow, ScanRow, utcnow
from cesja.errors import Conflict, NotFound
from cesja.observe import logs
from cesja.runtime import Runtime
from workflow import PARTIES, UNSETTLED, Check, RetryPolicy, is_final

log = logging.getLogger("cesja.notices")

SEND_NOTICE = "send_notice"
SYSTEM = "system:notices"
KINDS = (
    "case_opened",
    "form_reissued",
    "page_received",
    "check_failed",
    "halfway",
    "transfer_ready",
    "completed",
    "rejected",
    "cancelled",
    "expired",
)
STATUSES = ("pending", "sent", "failed", "withdrawn")
# Entering these states tells both parties; the others (in_review) are the office's own.
STATE_NOTICES = frozenset({"transfer_ready", "completed", "rejected", "cancelled", "expired"})
# Notices about documents still being collected: pointless once the case has ended.
WHILE_OPEN = frozenset({"form_reissued", "page_received", "check_failed", "halfway"})
# Notices that carry the case's current form.
WITH_FORM = frozenset({"case_opened", "form_reissued"})
# A page of the form per party: what the customer knows it by.
PAGE_OF = {"current_registrant": 1, "new_registrant": 2}


class MailNotFound(NotFound):
    code = "notice_not_found"


class MailNotResendable(Conflict):
    code = "notice_not_resendable"


def new_notice_id() -> str:
    return "NT-" + secrets.token_hex(8).upper()


def party_links(session: Session, settings: Settings, case: CaseRow) -> dict[str, str]:
    """Each party's own customer link, by party: what each is sent, and what its page of the
    attached form prints."""
    return customer_links.party_urls(session, settings, [case])[case.id]


def policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.mail_max_attempts, scale=settings.mail_retry_scale)


def schedule(
    session: Session,
    settings: Settings,
    case: CaseRow,
    kind: str,
    parties: Sequence[str],
    data: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> list[NoticeRow]:
    """One notice (and its job, due now) per party that has an e-mail address on the case;
    `at` is when what it tells happened."""
    if not settings.smtp_url:
        return []
    due = utcnow()
    now = at or due
    made = []
    for party in parties:
        address = (getattr(case, party) or {}).get("email")
        if not address:
            continue
        notice = NoticeRow(
            id=new_notice_id(),
            case_id=case.id,
            kind=kind,
            party=party,
            address=address,
            language=case.language,
            data=data or {},
            status="pending",
            created_at=now,
            next_attempt_at=due,
        )
        session.add(notice)
        jobs.enqueue(session, SEND_NOTICE, notice.id, run_at=due)
        audit_log.append(
            session,
            case.id,
            "notice_scheduled",
            SYSTEM,
            {
                "notice_id": notice.id,
                "kind": kind,
                "party": party,
                "to": audit_log.keyed_value(settings.audit_secret, "email", address),
            },
            at=now,
        )
        made.append(notice)
    return made


def case_opened(session: Session, settings: Settings, case: CaseRow) -> None:
    schedule(session, settings, case, "case_opened", PARTIES, at=case.created_at)


def form_reissued(session: Session, settings: Settings, case: CaseRow) -> None:
    schedule(session, settings, case, "form_reissued", PARTIES, {"form_version": case.form_version})


def state_entered(
    session: Session, settings: Settings, case: CaseRow, *, reason: str | None = None
) -> None:
    if case.state not in STATE_NOTICES:
        return
    data: dict[str, Any] = {"reason": reason} if reason and case.state != "expired" else {}
    schedule(session, settings, case, case.state, PARTIES, data)


def page_read(
    session: Session,
    settings: Settings,
    case: CaseRow,
    party: str,
    scan: ScanRow,
    checks: list[Check],
) -> None:
    """Tell the page's party it came, and what is still missing, or what to send again.

    A page that came by e-mail is acknowledged only when the message's sender is verified
    and is that party's address: anyone can put another's address in a From header, and an
    acknowledgement sent on such a message would be mail to someone who sent nothing.
    A page that settled the case (transfer ready) is told by that notice instead.
    """
    if not settings.smtp_url or is_final(case.state) or case.state == "transfer_ready":
        return
    if scan.message_id is not None:
        message = session.get(MessageRow, scan.message_id)
        address = (getattr(case, party) or {}).get("email")
        if (
            message is None
            or not message.verified
            or not same_address(message.sender_address, address)
        ):
            return
    failed = _failed(checks, party)
    if failed:
        schedule(session, settings, case, "check_failed", [party], {"failed": failed})
        return
    schedule(
        session,
        settings,
        case,
        "page_received",
        [party],
        {"missing": missing_pages(checks), "original_awaited": _provisional(checks, party)},
    )


def check_rejected(
    session: Session, settings: Settings, case: CaseRow, check: str, reason: str
) -> None:
    """Staff rejected one of a party's checks: that party is told what to send again."""
    party, _, name = check.partition(".")
    if is_final(case.state) or party not in PARTIES:
        return
    schedule(session, settings, case, "check_failed", [party], {"failed": [name], "reason": reason})


def halfway(
    session: Session, settings: Settings, case: CaseRow, checks: list[Check], at: datetime
) -> None:
    """Half-way to the deadline: each party with something still open is reminded."""
    open_parties = [p for p in PARTIES if _open(checks, p)]
    schedule(
        session,
        settings,
        case,
        "halfway",
        open_parties,
        {"missing": missing_pages(checks)},
        at=at,
    )


def missing_pages(checks: list[Check]) -> list[str]:
    """The parties whose page has not been received (or is held)."""
    return [
        p
        for p in PARTIES
        if any(c.name == f"{p}.page_received" and c.status in UNSETTLED for c in checks)
    ]


def _failed(checks: list[Check], party: str) -> list[str]:
    return [
        c.name.partition(".")[2]
        for c in checks
        if c.name.startswith(party + ".") and c.status == "failed"
    ]


def _open(checks: list[Check], party: str) -> bool:
    return any(
        c.name.startswith(party + ".") and (c.status in UNSETTLED or c.provisional) for c in checks
    )


def _provisional(checks: list[Check], party: str) -> bool:
    return any(c.name.startswith(party + ".") and c.provisional for c in checks)


# Sending.


def letter(
    settings: Settings, case: CaseRow, notice: NoticeRow, links: dict[str, str]
) -> mail.Letter:
    """What the notice says, in its language, with that party's link (`links`, by party)."""
    party = getattr(case, notice.party)
    last_day = (case.deadline - timedelta(microseconds=1)).date()
    context = {
        "kind": notice.kind,
        "case": case,
        "party": notice.party,
        "party_data": party,
        "page": PAGE_OF[notice.party],
        "company": party.get("kind") == "company",
        "link": links[notice.party],
        "domains": ", ".join(case.domains),
        "last_day": last_day.strftime("%d.%m.%Y"),
        "postal_address": settings.return_postal_address,
        "fax": settings.return_fax,
        "data": notice.data,
        "page_of": PAGE_OF,
    }
    subject, text, html = mail.write(context, notice.language)
    attachments: tuple[tuple[str, bytes], ...] = ()
    if notice.kind in WITH_FORM:
        attachments = ((f"cesja-{case.id}.pdf", form_pdf(case, settings, links)),)
    return mail.Letter(subject, text, html, attachments)


def attempt(runtime: Runtime, notice_id: str, *, job_id: int | None = None) -> None:
    """The `send_notice` job: one attempt to hand a pending notice to the SMTP server.

    No transaction is open while the server is talked to. A job run again after its worker
    died between the server's answer and the commit sends the message again under the same
    Message-ID, by which mail programs that drop duplicates keep one.
    """
    settings = runtime.settings
    with Session(runtime.engine, expire_on_commit=False) as session:
        notice = session.get(NoticeRow, notice_id)
        if notice is None or notice.status != "pending":
            return
        logs.note(case_id=notice.case_id)
        case = session.get_one(CaseRow, notice.case_id)
        if notice.kind in WHILE_OPEN and is_final(case.state):
            _withdraw(session, notice_id, f"the case is {case.state}", job_id)
            session.commit()
            return
        attempts_before = notice.attempts
        to = notice.address
        raw = None
        if settings.smtp is not None and settings.mail_from:
            raw = mail.compose(
                settings,
                letter(settings, case, notice, party_links(session, settings, case)),
                notice_id=notice.id,
                to=to,
                date=notice.created_at,
            )
    if raw is None or settings.smtp is None or not settings.mail_from:
        # Notices made while it was set wait for it to be set again.
        outcome = mail.Outcome("retry", error="CESJA_SMTP_URL is not set: nothing was sent")
    else:
        outcome = mail.send(
            settings.smtp, settings.smtp_timeout_seconds, settings.mail_from, to, raw
        )
    with Session(runtime.engine, expire_on_commit=False) as session:
        _record(session, settings, notice_id, attempts_before, outcome, job_id)
        session.commit()
    runtime.work_ready.set()


def give_up(runtime: Runtime, notice_id: str, error: str) -> None:
    """Its job will not run again (the service itself failed to send it, e.g. an unreadable
    DKIM key): the notice is `failed` with why, so staff see it and can send it again."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        if session.get(NoticeRow, notice_id) is None:
            return
        notice = _locked(session, notice_id)
        if notice.status != "pending":
            return
        notice.status, notice.next_attempt_at = "failed", None
        notice.last_error = f"the service could not send it: {error}"[:2000]
        session.add(notice)
        audit_log.append(
            session,
            notice.case_id,
            "notice_failed",
            SYSTEM,
            {
                "notice_id": notice.id,
                "kind": notice.kind,
                "party": notice.party,
                "to": notice.address,
                "attempts": notice.attempts,
                "error": notice.last_error,
            },
        )
        session.commit()


def _locked(session: Session, notice_id: str) -> NoticeRow:
    """The notice, its case locked first (as every writer of a case locks)."""
    notice = session.get_one(NoticeRow, notice_id)
    session.exec(select(CaseRow).where(CaseRow.id == notice.case_id).with_for_update()).one()
    return session.exec(
        select(NoticeRow)
        .where(NoticeRow.id == notice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _withdraw(session: Session, notice_id: str, why: str, job_id: int | None) -> None:
    notice = _locked(session, notice_id)
    if notice.status != "pending":
        return
    notice.status = "withdrawn"
    notice.next_attempt_at = None
    session.add(notice)
    audit_log.append(
        session,
        notice.case_id,
        "notice_withdrawn",
        SYSTEM,
        {"notice_id": notice.id, "kind": notice.kind, "party": notice.party, "reason": why},
    )
    jobs.finish_in(session, job_id)


def _record(
    session: Session,
    settings: Settings,
    notice_id: str,
    attempts_before: int,
    outcome: mail.Outcome,
    job_id: int | None,
) -> None:
    """One attempt stored, and what follows: sent, failed, or the next job."""
    notice = _locked(session, notice_id)
    if notice.status != "pending" or notice.attempts != attempts_before:
        jobs.finish_in(session, job_id)  # another run owns what follows
        return
    now = utcnow()
    notice.attempts += 1
    notice.last_attempt_at = now
    notice.last_error = outcome.error
    notice.next_attempt_at = None
    audit: str | None = None
    if outcome.outcome == "sent":
        notice.status, notice.sent_at, audit = "sent", now, "notice_sent"
    elif outcome.outcome == "refused":
        notice.status, audit = "failed", "notice_failed"
    else:
        wait = policy(settings).delay(notice.attempts)
        if wait is None:
            notice.status, audit = "failed", "notice_failed"
        else:
            notice.next_attempt_at = now + wait
            jobs.enqueue(session, SEND_NOTICE, notice_id, run_at=notice.next_attempt_at)
            log.info(
                "notice %s attempt %d not sent (%s); next at %s",
                notice_id,
                notice.attempts,
                outcome.error,
                notice.next_attempt_at.isoformat(),
            )
    session.add(notice)
    if audit is not None:
        audit_log.append(
            session,
            notice.case_id,
            audit,
            SYSTEM,
            {
                "notice_id": notice.id,
                "kind": notice.kind,
                "party": notice.party,
                "to": notice.address,
                "attempts": notice.attempts,
                "message_id": mail.message_id(notice.id, settings.mail_from or ""),
                **({"error": outcome.error} if outcome.error else {}),
            },
            at=now,
        )
    jobs.finish_in(session, job_id)


def resend(session: Session, settings: Settings, notice_id: str, *, actor: str) -> NoticeRow:
    """Send a failed notice again (the operator put the server's login right, the party's
    mailbox came back): the same Message-ID, attempts counted from 1."""
    if session.get(NoticeRow, notice_id) is None:
        raise MailNotFound(f"no e-mail {notice_id}")
    notice = _locked(session, notice_id)
    if notice.status != "failed":
        raise MailNotResendable(
            f"e-mail {notice_id} is {notice.status}; only a failed one can be sent again"
        )
    if not settings.smtp_url:
        raise MailNotResendable("CESJA_SMTP_URL is not set: no e-mail can be sent")
    now = utcnow()
    previous = notice.attempts
    notice.status, notice.attempts, notice.next_attempt_at = "pending", 0, now
    session.add(notice)
    jobs.enqueue(session, SEND_NOTICE, notice.id, run_at=now)
    audit_log.append(
        session,
        notice.case_id,
        "notice_resent",
        actor,
        {
            "notice_id": notice.id,
            "kind": notice.kind,
            "party": notice.party,
            "to": notice.address,
            "previous_attempts": previous,
        },
        at=now,
    )
    session.flush()
    return notice


def failed_count(session: Session) -> int:
    """E-mails to the parties that failed: only a person sends them again."""
    return int(
        session.exec(
            select(func.count()).select_from(NoticeRow).where(NoticeRow.status == "failed")
        ).one()
    )


@dataclass(frozen=True)
class NoticePage:
    items: list[NoticeRow]
    count: int


def list_notices(
    session: Session, *, status: str | None, case_id: str | None, limit: int, offset: int
) -> NoticePage:
    stmt = select(NoticeRow)
    if status:
        stmt = stmt.where(NoticeRow.status == status)
    if case_id:
        stmt = stmt.where(NoticeRow.case_id == case_id)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(NoticeRow.created_at).desc(), col(NoticeRow.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return NoticePage(list(rows), total)
