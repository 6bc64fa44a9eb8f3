"""Routes for e-mail: a message taken in (intake, staff) and read back."""

from __future__ import annotations

from datetime import datetime

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cesja.api.deps import IntakeOrStaff, ReadSessionDep, RuntimeDep
from cesja.casework.schemas import Problem
from cesja.db.models import MessageAttachmentRow, MessageRow
from cesja.errors import BadInput, NotFound
from cesja.intake.messages import attachments_of, receive_message
from cesja.storage import TooLarge

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])

MEDIA_TYPE = "message/rfc822"


class UnsupportedBody(BadInput):
    code = "unsupported_type"
    http_status = 415


class SenderPublic(BaseModel):
    address: str | None
    # The registrar's mail host vouched for the address (CESJA_MAIL_AUTHSERV_ID).
    verified: bool
    how: str  # dmarc, dkim, or why not: dkim_not_aligned, not_passed, no_results, …


class RefusedPublic(BaseModel):
    name: str
    reason: str


class MessagePublic(BaseModel):
    id: str
    from_: str = Field(alias="from", description="the From header, as written")
    subject: str
    received_at: datetime
    sender: SenderPublic
    scans: list[str]
    refused: list[RefusedPublic]


def message_public(message: MessageRow, attachments: list[MessageAttachmentRow]) -> MessagePublic:
    scans = list(dict.fromkeys(a.scan_id for a in attachments if a.scan_id))
    return MessagePublic(
        id=message.id,
        **{"from": message.from_header},
        subject=message.subject,
        received_at=message.received_at,
        sender=SenderPublic(
            address=message.sender_address, verified=message.verified, how=message.how
        ),
        scans=scans,
        refused=[
            RefusedPublic(name=a.name, reason=a.refused_reason or "")
            for a in attachments
            if a.scan_id is None
        ],
    )


@router.post(
    "",
    status_code=202,
    response_model=MessagePublic,
    responses={
        200: {"model": MessagePublic, "description": "the same message was received before"},
        413: {"model": Problem, "description": "larger than CESJA_MAX_UPLOAD_MB"},
        415: {"model": Problem, "description": "the body is not message/rfc822"},
        422: {"model": Problem, "description": "not an e-mail message"},
        507: {"model": Problem, "description": "the scan store is full: send it later"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {MEDIA_TYPE: {"schema": {"type": "string"}}}}
    },
)
async def receive(request: Request, caller: IntakeOrStaff, runtime: RuntimeDep) -> JSONResponse:
    """The raw message as the mail host received it. Each PDF, TIFF, PNG or JPEG in it (in a
    forwarded message and inline too) becomes a scan with channel `email`; anything else is
    refused by name. Its pages count for a party only when the sender is verified and is
    that party's e-mail address on the case."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != MEDIA_TYPE:
        raise UnsupportedBody(f"send the message as Content-Type: {MEDIA_TYPE}")
    limit = runtime.settings.max_upload_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(
                f"the message is larger than the limit of {runtime.settings.max_upload_mb} MB"
            )
        chunks.append(chunk)
    taken = await anyio.to_thread.run_sync(receive_message, runtime, b"".join(chunks))
    answer = message_public(taken.message, taken.attachments)
    return JSONResponse(
        answer.model_dump(mode="json", by_alias=True), status_code=202 if taken.new else 200
    )


@router.get("/{message_id}", response_model=MessagePublic)
def get_message(message_id: str, caller: IntakeOrStaff, session: ReadSessionDep) -> MessagePublic:
    message = session.get(MessageRow, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    return message_public(message, attachments_of(session, message_id))
