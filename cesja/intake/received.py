"""Receiving scans: store the bytes durably, then record the scan and its job in one transaction."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from cesja.db.models import RefusedUploadRow, ScanRow, utcnow
from cesja.errors import BadInput, without_paths
from cesja.intake.processing import enqueue_pages
from cesja.runtime import Runtime
from ocr import OcrError, probe_file

log = logging.getLogger("cesja.intake")

CHANNELS = ("post", "fax", "email", "upload")
# What the sender is told for each kind of file the reader refuses.
_STATUS_OF_REFUSAL = {
    "unsupported_type": 415,
    "corrupt_file": 422,
    "encrypted_file": 422,
    "too_many_pages": 422,
    "too_complex": 422,
}


@dataclass(frozen=True)
class Received:
    scan: ScanRow
    new: bool


def new_scan_id() -> str:
    return "SC-" + secrets.token_hex(8).upper()


def receive(
    runtime: Runtime, chunks: Iterable[bytes], *, channel: str, sender: str | None
) -> Received:
    """Take one file: 413 over the limit, 415/422 when it is not a scan we can read, 507 when
    the scan store is full; a file refused for any reason leaves nothing on disk.

    The same bytes again are the same scan, answered without processing them twice.
    """
    if channel not in CHANNELS:
        raise BadInput(f"channel must be one of {', '.join(CHANNELS)}", code="invalid_channel")
    try:
        return _receive(runtime, chunks, channel=channel, sender=sender)
    except BadInput as refusal:
        _record_refusal(runtime, refusal, channel=channel, sender=sender)
        raise


def _receive(
    runtime: Runtime, chunks: Iterable[bytes], *, channel: str, sender: str | None
) -> Received:
    settings = runtime.settings
    # Checked while still a temporary file: only a file we accept enters the store.
    with runtime.store.receiving(chunks, max_bytes=settings.max_upload_bytes) as pending:
        with Session(runtime.engine, expire_on_commit=False) as session:
            existing = session.exec(select(ScanRow).where(ScanRow.sha256 == pending.sha256)).first()
        if existing is not None:
            pending.keep()  # puts the bytes back should the store have lost them
            return Received(existing, new=False)
        try:
            info = probe_file(pending.path, max_pages=settings.max_pages)
        except OcrError as err:
            # Refused files are not kept: the sender still has them and is told what is wrong.
            raise BadInput(
                without_paths(err.message),
                code=err.code,
                http_status=_STATUS_OF_REFUSAL.get(err.code, 422),
            ) from None
        stored = pending.keep()
    scan = ScanRow(
        id=new_scan_id(),
        sha256=stored.sha256,
        channel=channel,
        sender=sender,
        media_type=info.media_type,
        size=stored.size,
        status="queued",
        pages=info.page_count,
        received_at=utcnow(),
    )
    try:
        with Session(runtime.engine, expire_on_commit=False) as session:
            session.add(scan)
            enqueue_pages(session, scan.id, range(info.page_count))
            session.commit()
    except IntegrityError:
        # The same bytes arrived twice at the same moment: the other request recorded them.
        with Session(runtime.engine, expire_on_commit=False) as session:
            existing = session.exec(select(ScanRow).where(ScanRow.sha256 == stored.sha256)).one()
        return Received(existing, new=False)
    runtime.work_ready.set()
    log.info(
        "scan %s received: %s, %d bytes, %d page(s), channel %s",
        scan.id,
        info.media_type,
        stored.size,
        info.page_count,
        channel,
    )
    return Received(scan, new=True)


def _record_refusal(
    runtime: Runtime, refusal: BadInput, *, channel: str, sender: str | None
) -> None:
    """What was turned away, for staff to see; best effort: a database away does not turn the
    sender's clear refusal into a 503."""
    row = RefusedUploadRow(
        received_at=utcnow(),
        channel=channel,
        sender=sender,
        code=refusal.code,
        http_status=refusal.http_status,
        reason=without_paths(refusal.message)[:2000],
    )
    try:
        with Session(runtime.engine) as session:
            session.add(row)
            session.commit()
    except SQLAlchemyError:
        log.warning("could not record a refused upload (%s)", refusal.code, exc_info=True)


def forget_refusals(engine: Engine, *, older_than: timedelta) -> int:
    """Delete the record of refused uploads older than this; how many."""
    cutoff = utcnow() - older_than
    with Session(engine) as session:
        old = list(
            session.exec(
                select(RefusedUploadRow.id).where(col(RefusedUploadRow.received_at) < cutoff)
            )
        )
        if old:
            session.execute(delete(RefusedUploadRow).where(col(RefusedUploadRow.id).in_(old)))
            session.commit()
        return len(old)
