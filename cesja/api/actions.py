"""Routes for what back office and the registrar do to a case, and its audit trail."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlmodel import Session

from cesja import audit_log, cases, lifecycle
from cesja.api.cases import case_public
from cesja.api.deps import (
    Registrar,
    RegistrarOrStaff,
    SessionDep,
    SettingsDep,
    Staff,
    get_session,
)
from cesja.schemas import CasePublic

router = APIRouter(prefix="/api/v1/cases", tags=["back office"])

# Committed before the answer is sent (FastAPI's default scope closes a dependency only after
# the response went out): a caller told "200" must find the change there when it asks again,
# and a failed commit must become an error answer, not a silent loss after a 200.
WriteSession = Annotated[Session, Depends(get_session, scope="function")]

MAX_REASON = 2000


def _reason(value: str) -> str:
    """Free text for the audit trail: NFC, trimmed, line breaks kept, no other control."""
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError("must not be blank: say why")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" for c in value):
        raise ValueError("must not contain control characters")
    return value


Reason = Annotated[str, Field(max_length=MAX_REASON), AfterValidator(_reason)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_In):
    decision: Literal["accept", "reject"]
    reason: Reason


class ReasonIn(_In):
    reason: Reason


class EventPublic(BaseModel):
    seq: int
    type: str
    actor: str
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str


@router.post("/{case_id}/checks/{name}", response_model=CasePublic)
def decide_check(
    case_id: str,
    name: str,
    body: DecisionIn,
    caller: Staff,
    session: WriteSession,
    settings: SettingsDep,
) -> CasePublic:
    """Accept or reject one check of the current form version, with a reason."""
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.decide_check(
        session, settings, case, name, body.decision, body.reason, actor=caller.actor
    )
    return case_public(session, case, settings)


@router.post("/{case_id}/reject", response_model=CasePublic)
def reject(
    case_id: str, body: ReasonIn, caller: Staff, session: WriteSession, settings: SettingsDep
) -> CasePublic:
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "reject", actor=caller.actor, reason=body.reason)
    return case_public(session, case, settings)


@router.post("/{case_id}/cancel", response_model=CasePublic)
def cancel(
    case_id: str,
    body: ReasonIn,
    caller: RegistrarOrStaff,
    session: WriteSession,
    settings: SettingsDep,
) -> CasePublic:
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "cancel", actor=caller.actor, reason=body.reason)
    return case_public(session, case, settings)


@router.post("/{case_id}/transfer-completed", response_model=CasePublic)
def transfer_completed(
    case_id: str, caller: Registrar, session: WriteSession, settings: SettingsDep
) -> CasePublic:
    """The registrar executed the transfer: only from transfer_ready."""
    case = cases.get_case(session, case_id, for_update=True)
    lifecycle.transition(session, settings, case, "complete", actor=caller.actor)
    return case_public(session, case, settings)


@router.get("/{case_id}/events", response_model=list[EventPublic])
def events(case_id: str, caller: RegistrarOrStaff, session: SessionDep) -> list[EventPublic]:
    """The audit trail, oldest first, with the hashes that chain it."""
    case = cases.get_case(session, case_id)
    return [
        EventPublic(
            seq=e.seq,
            type=e.type,
            actor=e.actor,
            at=e.at,
            data=e.data,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in audit_log.events(session, case.id)
    ]
