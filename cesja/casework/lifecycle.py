"""Moving a case when something happens to it: its checks recomputed, its state settled, and
each change written to the audit trail in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session

from cesja.casework import audit_log, notices
from cesja.casework.evidence import case_checks
from cesja.config import Settings
from cesja.db.models import CaseRow, DecisionRow, PageRow, ScanRow, utcnow
from cesja.errors import Conflict, NotFound
from workflow import (
    UNSETTLED,
    CaseMachine,
    Check,
    TransitionNotAllowed,
    check_names,
    is_final,
    needs,
    settle,
    sources,
)

READER = "system:reader"


class TransitionRefused(Conflict):
    """An event the case's state (or its deadline) does not allow: 409 with what it needs."""

    code = "transition_not_allowed"

    def __init__(self, state: str, event: str):
        super().__init__(needs(state, event))
        self.extra = {"state": state, "event": event, "needs": self.message}


class CaseClosed(Conflict):
    """A decision on a case that no event moves any more."""

    code = "case_closed"

    def __init__(self, state: str):
        live = ", ".join(sorted(sources("cancel")))
        message = (
            f"The case is {state} and closed: checks can only be decided while it is open ({live})."
        )
        super().__init__(message)
        self.extra = {"state": state, "needs": message}


class UnknownCheck(NotFound):
    code = "unknown_check"

    def __init__(self, case_id: str, name: str, known: list[str]):
        super().__init__(f"case {case_id} has no check {name!r}; its checks are {', '.join(known)}")
        self.extra = {"checks": known}


class SecondReviewerNeeded(Conflict):
    """Four eyes: the person who proposed accepting a check cannot also confirm it."""

    code = "second_reviewer_needed"

    def __init__(self, name: str):
        super().__init__(
            f"you proposed accepting {name}: a second, different member of staff must confirm it"
        )


def checks_summary(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.status + (" (provisional)" if c.provisional else "") for c in checks}


def reevaluate(session: Session, settings: Settings, case: CaseRow, *, actor: str) -> str | None:
    """Settle the case where its checks now put it; the event sent, or None.

    The case row is written even when its state stays: its version column then makes two
    concurrent re-evaluations of one case conflict instead of both deciding on stale checks.
    """
    checks = case_checks(session, case, require_original=settings.require_original)
    before = case.state
    event = settle(case, checks)
    case.updated_at = utcnow()
    session.add(case)
    if event is not None:
        audit_log.append(
            session,
            case.id,
            "state_changed",
            actor,
            {
                "event": event,
                "before": before,
                "after": case.state,
                "checks": checks_summary(checks),
            },
        )
        on_state_entered(session, settings, case)
    return event


def send(case: CaseRow, event: str, **arguments: Any) -> None:
    """Send a machine event to the case row, or TransitionRefused saying what it would need."""
    state = case.state
    try:
        CaseMachine(case).send(event, **arguments)
    except TransitionNotAllowed:
        raise TransitionRefused(state, event) from None


def transition(
    session: Session,
    settings: Settings,
    case: CaseRow,
    event: str,
    *,
    actor: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move the case by an event of staff, the registrar or the clock, and record it.

    The caller holds the case row locked (`cases.get_case(..., for_update=True)`).
    """
    now = now or utcnow()
    before = case.state
    arguments = {"now": now} if event == "expire" else {}
    send(case, event, **arguments)
    case.updated_at = now
    session.add(case)
    data: dict[str, Any] = {"event": event, "before": before, "after": case.state}
    if reason is not None:
        data["reason"] = reason
    audit_log.append(session, case.id, "state_changed", actor, data, at=now)
    on_state_entered(session, settings, case, reason=reason)
    # Surface a version conflict here, where it can still become a 409, not at commit.
    session.flush()


def decide_check(
    session: Session,
    settings: Settings,
    case: CaseRow,
    name: str,
    decision: Literal["accept", "reject"],
    reason: str,
    *,
    actor: str,
) -> Literal["accept", "reject", "propose"]:
    """A member of staff accepts or rejects one check of the current form version; what was
    recorded is returned.

    With four eyes (CESJA_FOUR_EYES), accepting a failed or pending check is first recorded
    as a proposal, which leaves it as it was; it is accepted when a second, different person accepts
    it too. The caller holds the case row locked, so two decisions at once are applied one
    after the other, each seeing the other's result in its `before`.
    """
    if is_final(case.state):
        raise CaseClosed(case.state)
    known = check_names(
        {
            "current_registrant": case.current_registrant["kind"],
            "new_registrant": case.new_registrant["kind"],
        }
    )
    if name not in known:
        raise UnknownCheck(case.id, name, known)
    now = utcnow()
    checks = case_checks(session, case, require_original=settings.require_original)
    before = checks_summary(checks)
    standing = next(c for c in checks if c.name == name)
    recorded: Literal["accept", "reject", "propose"] = decision
    proposal: dict[str, str] = {}
    if settings.four_eyes and decision == "accept" and standing.status in UNSETTLED:
        if standing.proposed_by is None:
            recorded = "propose"
        elif standing.proposed_by == actor:
            raise SecondReviewerNeeded(name)
        else:
            proposal = {"proposed_by": standing.proposed_by}
    session.add(
        DecisionRow(
            case_id=case.id,
            form_version=case.form_version,
            check_name=name,
            decision=recorded,
            reason=reason,
            actor=actor,
            at=now,
        )
    )
    session.flush()
    after = checks_summary(case_checks(session, case, require_original=settings.require_original))
    audit_log.append(
        session,
        case.id,
        "check_decided",
        actor,
        {
            "check": name,
            "decision": recorded,
            "reason": reason,
            "form_version": case.form_version,
            "before": before[name],
            "after": after[name],
            **proposal,
        },
        at=now,
    )
    reevaluate(session, settings, case, actor=actor)
    if recorded == "reject":
        notices.check_rejected(session, settings, case, name, reason)
    session.flush()
    return recorded


def on_state_entered(
    session: Session, settings: Settings, case: CaseRow, *, reason: str | None = None
) -> None:
    """What entering a state sets in motion, committed with the transition itself."""
    from cesja.casework import webhooks

    if case.state == "transfer_ready":
        webhooks.schedule_transfer_ready(session, settings, case)
    notices.state_entered(session, settings, case, reason=reason)


def page_read(
    session: Session, settings: Settings, case: CaseRow, page: PageRow, scan: ScanRow
) -> None:
    """A page of this case was read: record what it showed, then settle the case."""
    reading = page.page_reading()
    audit_log.append(
        session,
        case.id,
        "page_read",
        READER,
        {
            "scan_id": scan.id,
            "page_index": page.index,
            "channel": scan.channel,
            "party": page.party,
            "form_version": page.form_version,
            "outcome": page.outcome,
            "routed_by": reading.routed_by,
            "fields_match": reading.fields_match,
            "signature_present": reading.signature_present,
            "stamp_present": reading.stamp_present,
            "unaltered": reading.unaltered,
            "mismatched_fields": reading.mismatched_fields,
            "altered_fields": reading.altered_fields,
            # An electronically signed file: who signed it, by which certificate, and
            # whether each signature counts.
            **(
                {
                    "signatures": [
                        {
                            "signer": audit_log.keyed_value(
                                settings.audit_secret, "signer", s.signer
                            ),
                            "certificate_sha256": s.certificate_sha256,
                            "qualified": s.qualified,
                            "counts": s.counts,
                        }
                        for s in reading.signed.signatures
                    ],
                    "form_issued": reading.signed.issued,
                    "unchanged": reading.signed.unchanged,
                }
                if reading.signed is not None
                else {}
            ),
            # The e-mail it came in, whose sender decides whether it counts for its party.
            **({"message_id": scan.message_id} if scan.message_id else {}),
        },
    )
    reevaluate(session, settings, case, actor=READER)
    if settings.smtp_url and page.party is not None:
        checks = case_checks(session, case, require_original=settings.require_original)
        notices.page_read(session, settings, case, page.party, scan, checks)
