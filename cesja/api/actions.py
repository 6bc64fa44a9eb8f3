"""Routes for what back office and the registrar do to a case, and its audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cesja.api.cases import case_public
from cesja.api.deps import (
    ReadSessionDep,
    Registrar,
    RegistrarOrStaff,
    SessionDep,
    SettingsDep,
    Staff,
)
from cesja.casework import audit_log, cases, staff_actions
from cesja.casework.schemas import CasePublic

router = APIRouter(prefix="/api/v1/cases", tags=["back office"])

Reason = Annotated[
    str,
    Field(max_length=staff_actions.MAX_REASON),
    AfterValidator(staff_actions.clean_reason),
]


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
    session: SessionDep,
    settings: SettingsDep,
) -> CasePublic:
    """Accept or reject one check of the current form version, with a reason. With
    CESJA_FOUR_EYES, accepting a failed check by one person is a proposal (the check stays
    failed, saying who proposed it) until a second, different one accepts it too; the same
    person again is 409 `second_reviewer_needed`."""
    case, _ = staff_actions.decide_check(
        session, settings, case_id, name, body.decision, body.reason, actor=caller.actor
    )
    return case_public(session, case, settings)


@router.post("/{case_id}/reject", response_model=CasePublic)
def reject(
    case_id: str, body: ReasonIn, caller: Staff, session: SessionDep, settings: SettingsDep
) -> CasePublic:
    case = staff_actions.reject_case(session, settings, case_id, body.reason, actor=caller.actor)
    return case_public(session, case, settings)


@router.post("/{case_id}/cancel", response_model=CasePublic)
def cancel(
    case_id: str,
    body: ReasonIn,
    caller: RegistrarOrStaff,
    session: SessionDep,
    settings: SettingsDep,
) -> CasePublic:
    case = staff_actions.cancel_case(session, settings, case_id, body.reason, actor=caller.actor)
    return case_public(session, case, settings)


@router.post("/{case_id}/transfer-completed", response_model=CasePublic)
def transfer_completed(
    case_id: str, caller: Registrar, session: SessionDep, settings: SettingsDep
) -> CasePublic:
    """The registrar executed the transfer: only from transfer_ready."""
    case = staff_actions.confirm_transfer(session, settings, case_id, actor=caller.actor)
    return case_public(session, case, settings)


@router.get("/{case_id}/events", response_model=list[EventPublic])
def events(case_id: str, caller: RegistrarOrStaff, session: ReadSessionDep) -> list[EventPublic]:
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
