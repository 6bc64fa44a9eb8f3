"""Routes for scans: upload (intake, staff) and status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from cesja import intake
from cesja.api.actions import ReasonIn
from cesja.api.deps import DatabaseDep, IntakeOrStaff, ReadSessionDep, RuntimeDep, Staff
from cesja.casework.schemas import Problem
from cesja.db.models import PageRow, ScanRow
from cesja.errors import NotFound, without_paths
from cesja.intake import handling
from cesja.text import PrintableLine
from documents.layout import Party

router = APIRouter(prefix="/api/v1/scans", tags=["scans"])

_CHUNK = 1024 * 1024


class ScanPage(BaseModel):
    index: int
    case_id: str | None
    party: str | None
    form_version: int | None
    outcome: str


class ScanPublic(BaseModel):
    id: str
    sha256: str
    status: str
    channel: str
    sender: str | None
    # The e-mail it came attached to (`GET /api/v1/messages/{id}`), when it came in one.
    message_id: str | None = None
    media_type: str
    received_at: datetime
    error: str | None
    pages: list[ScanPage]


def scan_public(session: Session, scan: ScanRow) -> ScanPublic:
    pages = session.exec(
        select(PageRow).where(PageRow.scan_id == scan.id).order_by(col(PageRow.index))
    ).all()
    return ScanPublic(
        id=scan.id,
        sha256=scan.sha256,
        status=scan.status,
        channel=scan.channel,
        sender=scan.sender,
        message_id=scan.message_id,
        media_type=scan.media_type,
        received_at=scan.received_at,
        error=without_paths(scan.error) if scan.error else None,
        pages=[
            ScanPage(
                index=p.index,
                case_id=p.case_id,
                party=p.party,
                form_version=p.form_version,
                outcome=p.outcome,
            )
            for p in pages
        ],
    )


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    while chunk := upload.file.read(_CHUNK):
        yield chunk


@router.post(
    "",
    status_code=202,
    response_model=ScanPublic,
    responses={
        200: {"model": ScanPublic, "description": "the same bytes were received before"},
        413: {"model": Problem, "description": "larger than CESJA_MAX_UPLOAD_MB"},
        415: {"model": Problem, "description": "not a PDF, TIFF, PNG or JPEG by its content"},
        422: {"model": Problem, "description": "corrupt, encrypted or over the page limit"},
    },
)
def upload_scan(
    caller: IntakeOrStaff,
    runtime: RuntimeDep,
    # Read after intake.receive has committed the scan in its own transaction.
    session: ReadSessionDep,
    file: Annotated[UploadFile, File(description="PDF, TIFF (fax G3/G4 too), PNG or JPEG")],
    channel: Annotated[str, Form(pattern="^(post|fax|email|upload)$")],
    sender: Annotated[PrintableLine | None, Form(max_length=320)] = None,
) -> JSONResponse:
    received = intake.receive(runtime, _chunks(file), channel=channel, sender=sender)
    body = scan_public(session, received.scan).model_dump(mode="json")
    return JSONResponse(body, status_code=202 if received.new else 200)


@router.get("/{scan_id}", response_model=ScanPublic)
def get_scan(scan_id: str, caller: IntakeOrStaff, session: ReadSessionDep) -> ScanPublic:
    scan = session.get(ScanRow, scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    return scan_public(session, scan)


# --- pages that count for no case, handled by staff ----------------------------------------


class AssignIn(ReasonIn):
    case_id: Annotated[str, Field(max_length=16)]
    party: Party


PageIndex = Annotated[int, PathParam(ge=0, le=100_000, description="as `pages[].index`, from 0")]


@router.post("/{scan_id}/pages/{index}/assign", response_model=ScanPublic, status_code=202)
async def assign_page(
    scan_id: str,
    index: PageIndex,
    body: AssignIn,
    caller: Staff,
    db: DatabaseDep,
    runtime: RuntimeDep,
) -> ScanPublic:
    """The page is this party's page of the case: it is read against the case's current form
    by the next free worker (`outcome` is `assigned` until then). Only a page nothing routed
    (`unmatched`, `blank`) is assigned; its `page_received` check waits for a person."""
    await db.write(
        handling.assign_page,
        scan_id,
        index,
        case_id=body.case_id,
        party=body.party,
        reason=body.reason,
        actor=caller.actor,
    )
    runtime.work_ready.set()
    return await db.read(_scan_public, scan_id)


@router.post("/{scan_id}/pages/{index}/dismiss", response_model=ScanPublic)
async def dismiss_page(
    scan_id: str, index: PageIndex, body: ReasonIn, caller: Staff, db: DatabaseDep
) -> ScanPublic:
    """The page counts for nothing and leaves the list to look at; its file and reading stay."""
    await db.write(handling.dismiss_page, scan_id, index, reason=body.reason, actor=caller.actor)
    return await db.read(_scan_public, scan_id)


def _scan_public(session: Session, scan_id: str) -> ScanPublic:
    return scan_public(session, session.get_one(ScanRow, scan_id))
