"""Routes for staff to see transfer-ready notices and send a dead one again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import Session

from cesja import staff_actions, webhooks
from cesja.api.deps import ReadSessionDep, RuntimeDep, SessionDep, Staff
from cesja.models import WebhookDeliveryRow

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Status = Literal["pending", "delivered", "gone", "dead", "withdrawn"]


class AttemptPublic(BaseModel):
    number: int
    at: datetime
    outcome: str
    status_code: int | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: str  # the webhook-id sent on every attempt
    case_id: str
    status: Status
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryDetail(DeliveryPublic):
    payload: dict[str, Any]
    history: list[AttemptPublic]


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
    count: int


def _public(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DeliveryPublic.model_fields}


def _detail(session: Session, row: WebhookDeliveryRow) -> DeliveryDetail:
    history = [
        AttemptPublic(
            number=a.number,
            at=a.at,
            outcome=a.outcome,
            status_code=a.status_code,
            error=a.error,
        )
        for a in webhooks.attempts_of(session, row.id)
    ]
    return DeliveryDetail(**_public(row), payload=row.payload, history=history)


@router.get("", response_model=DeliveryList)
def list_deliveries(
    caller: Staff,
    session: ReadSessionDep,
    status: Status | None = None,
    case_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryList:
    """Notices, newest first; `?status=dead` for those that need staff."""
    page = webhooks.list_deliveries(
        session, status=status, case_id=case_id, limit=limit, offset=offset
    )
    return DeliveryList(
        items=[DeliveryPublic(**_public(row)) for row in page.items], count=page.count
    )


@router.get("/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(delivery_id: str, caller: Staff, session: ReadSessionDep) -> DeliveryDetail:
    return _detail(session, webhooks.get_delivery(session, delivery_id))


@router.post("/{delivery_id}/resend", response_model=DeliveryDetail)
def resend(
    delivery_id: str, caller: Staff, session: SessionDep, runtime: RuntimeDep
) -> DeliveryDetail:
    """Send a dead or gone notice again: the same webhook-id, attempts counted from 1."""
    delivery = staff_actions.resend_notice(session, runtime, delivery_id, actor=caller.actor)
    return _detail(session, delivery)
