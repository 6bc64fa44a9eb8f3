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
from cesja.storage import Stored
from ocr import FileInfo, OcrError, probe_file

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
    kept = keep_file(runtime, chunks)
    if isinstance(kept, ScanRow):
        return Received(kept, new=False)
    scan = scan_of(kept, channel=channel, sender=sender)
    try:
        with Session(runtime.engine, expire_on_commit=False) as session:
            record_scan(session, scan)
            session.commit()
    except IntegrityError:
        # The same bytes arrived twice at the same moment: the other request recorded them.
        with Session(runtime.engine, expire_on_commit=False) as session:
            existing = session.exec(select(ScanRow).where(ScanRow.sha256 == scan.sha256)).one()
        return Received(existing, new=False)
    runtime.work_ready.set()
    log_received(scan)
    return Received(scan, new=True)


@dataclass(frozen=True)
class Kept:
    """A file checked and kept in the scan store, not recorded as a scan yet."""

    stored: Stored
    info: FileInfo


def keep_file(runtime: Runtime, chunks: Iterable[bytes]) -> ScanRow | Kept:
    """The scan these bytes already are, or the file checked and kept: BadInput (413, 415,
    422) when it is not a scan we can read, StoreFull when there is no room; a file refused
    for any reason leaves nothing on disk."""
    settings = runtime.settings
    # Checked while still a temporary file: only a file we accept enters the store.
    with runtime.store.receiving(chunks, max_bytes=settings.max_upload_bytes) as pending:
        with Session(runtime.engine, expire_on_commit=False) as session:
            existing = session.exec(select(ScanRow).where(ScanRow.sha256 == pending.sha256)).first()
        if existing is not None:
            pending.keep()  # puts the bytes back should the store have lost them
            return existing
        try:
            info = probe_file(pending.path, max_pages=settings.max_pages)
        except OcrError as err:
            # Refused files are not kept: the sender still has them and is told what is wrong.
            raise BadInput(
                without_paths(err.message),
                code=err.code,
                http_status=_STATUS_OF_REFUSAL.get(err.code, 422),
            ) from None
        return Kept(pending.keep(), info)


def scan_of(
    kept: Kept, *, channel: str, sender: str | None, message_id: str | None = None
) -> ScanRow:
    return ScanRow(
        id=new_scan_id(),
        sha256=kept.stored.sha256,
        channel=channel,
        sender=sender,
        media_type=kept.info.media_type,
        size=kept.stored.size,
        status="queued",
        pages=kept.info.page_count,
        received_at=utcnow(),
        message_id=message_id,
    )


def record_scan(session: Session, scan: ScanRow) -> None:
    """The scan and a job for each of its pages, in the caller's transaction."""
    session.add(scan)
    enqueue_pages(session, scan.id, range(scan.pages or 0))


def log_received(scan: ScanRow) -> None:
    """Said once the scan is committed."""
    log.info(
        "scan %s received: %s, %d bytes, %d page(s), channel %s",
        scan.id,
        scan.media_type,
        scan.size,
        scan.pages or 0,
        scan.channel,
    )


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
