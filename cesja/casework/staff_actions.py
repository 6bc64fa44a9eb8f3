"""What people do to a case or a notice, shared by the JSON API and the back-office UI.

Each action takes the case (or notice) locked, applies the rules of `lifecycle` or
`webhooks`, and leaves the commit to its caller's transaction, except re-sending a notice,
which commits so that the workers it wakes find the job. Errors are the lower modules' own
(`TransitionRefused`, `CaseClosed`, `UnknownCheck`, `NotResendable`, `NotFound`) plus
`InvalidReason`, so both front ends say the same thing about the same mistake.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from sqlmodel import Session

from cesja.casework import cases, lifecycle, notices, webhooks
from cesja.config import Settings
from cesja.db.models import CaseRow, NoticeRow, WebhookDeliveryRow
from cesja.runtime import Runtime
from cesja.text import unprintable, with_lf

MAX_REASON = 2000

ReasonProblem = Literal["blank", "control_characters", "too_long"]


class InvalidReason(ValueError):
    """A reason the audit trail cannot take; `problem` says which rule it broke.

    A ValueError, so that the API's body validation reports it as a 422 on `reason`.
    """

    def __init__(self, problem: ReasonProblem, message: str):
        super().__init__(message)
        self.problem = problem


def clean_reason(value: str) -> str:
    """Free text for the audit trail: NFC, trimmed, line breaks kept (as LF) and tabs, nothing
    else that `cesja.text` refuses."""
    value = unicodedata.normalize("NFC", with_lf(value)).strip()
    if not value:
        raise InvalidReason("blank", "must not be blank: say why")
    if len(value) > MAX_REASON:
        raise InvalidReason("too_long", f"must be at most {MAX_REASON} characters")
    problem = unprintable(value, multiline=True)
    if problem is not None:
        raise InvalidReason("control_characters", problem)
    return value


def decide_check(
    session: Session,
    settings: Settings,
    case_id: str,
    check: str,
    decision: Literal["accept", "reject"],
    reason: str,
    *,
    actor: str,
) -> tuple[CaseRow, Literal["accept", "reject", "propose"]]:
    """Staff accept or reject one check of the current form version, with a reason; the case
    and what was recorded (with four eyes, a first acceptance is a proposal)."""
    reason = clean_reason(reason)
    case = cases.get_case(session, case_id, for_update=True)
    recorded = lifecycle.decide_check(session, settings, case, check, decision, reason, actor=actor)
    return case, recorded


def reject_case(
    session: Session, settings: Settings, case_id: str, reason: str, *, actor: str
) -> CaseRow:
    """Staff refuse the transfer for good."""
    reason = clean_reason(reason)
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "reject", actor=actor, reason=reason)
    return case


def cancel_case(
    session: Session, settings: Settings, case_id: str, reason: str, *, actor: str
) -> CaseRow:
    """Staff or the registrar call the case off."""
    reason = clean_reason(reason)
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "cancel", actor=actor, reason=reason)
    return case


def confirm_transfer(session: Session, settings: Settings, case_id: str, *, actor: str) -> CaseRow:
    """The registrar executed the transfer: only from transfer_ready."""
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "complete", actor=actor)
    return case


def resend_notice(
    session: Session, runtime: Runtime, delivery_id: str, *, actor: str
) -> WebhookDeliveryRow:
    """Send a dead or gone notice again: the same webhook-id, attempts counted from 1.

    Committed here, before the workers are woken, so that they find the job it enqueued.
    """
    delivery = webhooks.resend(session, delivery_id, actor=actor)
    session.commit()
    runtime.work_ready.set()
    return delivery


def resend_mail(session: Session, runtime: Runtime, notice_id: str, *, actor: str) -> NoticeRow:
    """Send a failed e-mail to a party again, committed before the workers are woken."""
    notice = notices.resend(session, runtime.settings, notice_id, actor=actor)
    session.commit()
    runtime.work_ready.set()
    return notice
