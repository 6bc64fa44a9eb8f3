"""Processing a received scan: each page a job of its own, read, stored with its reading, its
case re-evaluated; the scan done when its last page is.

A page is a job so that the pages of one file are read by every worker at once, and so that
a page that cannot be read (damaged, or over the budget of memory and time a page may take)
fails alone, with its reason, while the rest of the file is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import get_args

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from cesja.casework import lifecycle
from cesja.casework.evidence import case_checks
from cesja.casework.forms import issued_form
from cesja.db import jobs
from cesja.db.models import CaseRow, EvidenceRow, PageRow, ScanRow, utcnow
from cesja.observe import logs, metrics
from cesja.runtime import Runtime
from documents import FormData, PageCode
from ocr import (
    OcrError,
    Outcome,
    PageReading,
    probe_file,
    read_page,
    read_page_image,
    read_signed_page,
)

log = logging.getLogger("cesja.processing")

READ_PAGE = "read_page"
# What a page read turns out to be.
OUTCOMES: tuple[str, ...] = get_args(Outcome)
# A scan received before its pages were jobs of their own: its one job enqueues them.
PROCESS_SCAN = "process_scan"


def page_ref(scan_id: str, index: int) -> str:
    """The job ref of one page of a scan."""
    return f"{scan_id}/{index}"


def scan_and_index(ref: str) -> tuple[str, int]:
    """The scan and the page (from 0) a page job's ref names."""
    scan_id, _, index = ref.rpartition("/")
    return scan_id, int(index)


def enqueue_pages(session: Session, scan_id: str, indices: range | list[int]) -> None:
    """A job for each of these pages of the scan, in the caller's transaction."""
    for index in indices:
        jobs.enqueue(session, READ_PAGE, page_ref(scan_id, index))


def read_scan_page(runtime: Runtime, ref: str) -> None:
    """Read one page of a scan and store what it is. Idempotent: a page already stored (an
    earlier run that stopped after its commit) is not read again."""
    scan_id, index = scan_and_index(ref)
    with logs.about(scan_id=scan_id):
        started = time.monotonic()
        metrics.page_in_hand(+1)
        try:
            if _read_and_store(runtime, scan_id, index):
                metrics.page_reading_took(time.monotonic() - started)
        finally:
            metrics.page_in_hand(-1)


def _read_and_store(runtime: Runtime, scan_id: str, index: int) -> bool:
    """True if the page was read now (not stored already)."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        scan = session.get(ScanRow, scan_id)
        if scan is None:
            return False
        stored = session.exec(
            select(PageRow.id).where(PageRow.scan_id == scan_id).where(PageRow.index == index)
        ).first()
    if stored is not None:
        return False
    if scan.status == "queued":
        _mark_processing(runtime, scan_id)
    _store_reading(runtime, scan_id, read_stored_page(runtime, scan, index))
    return True


def form_lookup(runtime: Runtime) -> Callable[[str], FormData | None]:
    """The current form of a case, by its number, as the reader asks for it."""

    def lookup(case_id: str) -> FormData | None:
        with Session(runtime.engine) as session:
            case = session.get(CaseRow, case_id)
            if case is None:
                return None
            return issued_form(session, case, runtime.settings)  # as it was printed

    return lookup


def read_stored_page(
    runtime: Runtime, scan: ScanRow, index: int, *, assigned: PageCode | None = None
) -> PageReading:
    """One page of a stored scan, read (against the form `assigned` names, when a person
    named it); a page that cannot be decoded or read is unreadable, saying why.

    An electronically signed PDF of a case's form is read from its signatures, before any OCR.
    """
    settings = runtime.settings
    path = runtime.store.path_of(scan.sha256)
    if assigned is None and scan.media_type == "application/pdf":
        signed = read_signed_page(
            path,
            index,
            key=settings.keys.keys,
            lookup=form_lookup(runtime),
            trust=runtime.esign_trust,
            scan=scan.id,
        )
        if signed is not None:
            return signed
    try:
        page = read_page_image(path, index, max_pages=settings.max_pages)
        return read_page(
            page,
            key=settings.keys.keys,
            lookup=form_lookup(runtime),
            tessdata=settings.tessdata,
            assigned=assigned,
        )
    except OcrError as err:
        # The same bytes would fail the same way: the page is unreadable, not retried.
        return unreadable(index, err.message)


def unreadable(index: int, why: str) -> PageReading:
    """The reading of a page that could not be read, saying why."""
    return PageReading(index=index, outcome="unreadable", detail=why)


def given_up(index: int, error: str) -> PageReading:
    """The reading of a page whose job will not run again, saying why."""
    return unreadable(index, f"reading it was given up: {error}; a person should look at it")


def give_up_page(runtime: Runtime, ref: str, error: str) -> None:
    """A page's job will not run again (it crashed its worker every time, or went over the
    memory or time a page may take): the page is stored as unreadable, with why."""
    scan_id, index = scan_and_index(ref)
    with logs.about(scan_id=scan_id):
        _store_reading(runtime, scan_id, given_up(index, error))


def split_scan(runtime: Runtime, scan_id: str) -> None:
    """Enqueue a job for each page of a scan received before pages were jobs, that has none."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        scan = session.get(ScanRow, scan_id)
        if scan is None or scan.status in ("done", "failed"):
            return
    try:
        count = probe_file(
            runtime.store.path_of(scan.sha256), max_pages=runtime.settings.max_pages
        ).page_count
    except OcrError as err:
        _mark_failed(runtime, scan_id, err.message)
        return
    with Session(runtime.engine) as session:
        row = session.get_one(ScanRow, scan_id)
        stored = set(session.exec(select(PageRow.index).where(PageRow.scan_id == scan_id)))
        row.pages = count
        session.add(row)
        enqueue_pages(session, scan_id, [i for i in range(count) if i not in stored])
        _settle(session, row)
        session.commit()
    runtime.work_ready.set()


def give_up(runtime: Runtime, scan_id: str, error: str) -> None:
    """The scan's own job will not run again: the scan is `failed`, with why."""
    _mark_failed(
        runtime,
        scan_id,
        f"reading it was given up ({error}); a person should look at the original file",
    )


def _store_reading(runtime: Runtime, scan_id: str, reading: PageReading) -> None:
    """One page in one transaction: its reading, its evidence, the case's new state, and the
    scan's status once its last page is in."""
    if reading.case_id:
        logs.note(case_id=reading.case_id)
    to_review = False
    with Session(runtime.engine, expire_on_commit=False) as session:
        # Locked first: pages of one scan stored at once by two workers each see the other's
        # page when they count, so exactly one of them marks the scan done.
        scan = session.exec(select(ScanRow).where(ScanRow.id == scan_id).with_for_update()).first()
        if scan is None:
            return
        page = PageRow(
            scan_id=scan_id,
            index=reading.index,
            outcome=reading.outcome,
            case_id=reading.case_id,
            party=reading.party,
            form_version=reading.form_version,
            reading=reading.to_dict(),
            created_at=utcnow(),
        )
        session.add(page)
        try:
            session.flush()
        except IntegrityError:
            # Stored by an earlier run of this job whose end was not recorded.
            session.rollback()
            return
        assert page.id is not None
        for name, image in reading.evidence.items():
            session.add(EvidenceRow(page_id=page.id, name=name, image=image))
        if reading.case_id and reading.outcome == "matched":
            # Locked: staff may be deciding on the same case at this moment.
            case = session.exec(
                select(CaseRow).where(CaseRow.id == reading.case_id).with_for_update()
            ).first()
            if case is not None:
                lifecycle.page_read(session, runtime.settings, case, page, scan)
                to_review = _party_to_review(session, runtime, case, reading.party)
        _settle(session, scan)
        session.commit()
    log.info(
        "page %d of scan %s read: %s%s",
        reading.index + 1,
        scan_id,
        reading.outcome,
        " (a check of its party failed: to review)" if to_review else "",
    )
    metrics.page_read(reading.outcome, to_review=to_review)
    if reading.outcome == "matched":
        # The case may have become ready: its notice's job is due now, for an idle worker.
        runtime.work_ready.set()


def _party_to_review(session: Session, runtime: Runtime, case: CaseRow, party: str | None) -> bool:
    """Whether a check of the page's party now stands failed: a person must look at it."""
    checks = case_checks(session, case, require_original=runtime.settings.require_original)
    return any(c.status == "failed" and c.name.startswith(f"{party}.") for c in checks)


def _settle(session: Session, scan: ScanRow) -> None:
    """Once every page of the scan is stored: `done`, or `failed` saying which pages could
    not be read (the others count as read)."""
    if scan.pages is None:
        return
    stored = session.exec(
        select(func.count()).select_from(PageRow).where(PageRow.scan_id == scan.id)
    ).one()
    if stored < scan.pages:
        return
    unread = session.exec(
        select(PageRow)
        .where(PageRow.scan_id == scan.id)
        .where(PageRow.outcome == "unreadable")
        .order_by(col(PageRow.index))
    ).all()
    scan.status = "failed" if unread else "done"
    scan.error = _unread_pages(unread, scan.pages) if unread else None
    scan.processed_at = utcnow()
    session.add(scan)


def _unread_pages(unread: Sequence[PageRow], pages: int) -> str:
    said = "; ".join(f"page {p.index + 1}: {p.page_reading().detail}" for p in unread)
    if len(unread) == pages:
        return f"no page could be read ({said})"
    return f"{len(unread)} of {pages} page(s) could not be read ({said}); the others were read"


def _mark_processing(runtime: Runtime, scan_id: str) -> None:
    with Session(runtime.engine) as session:
        session.connection().execute(
            update(ScanRow)
            .where(col(ScanRow.id) == scan_id)
            .where(col(ScanRow.status) == "queued")
            .values(status="processing")
        )
        session.commit()


def _mark_failed(runtime: Runtime, scan_id: str, error: str) -> None:
    with Session(runtime.engine) as session:
        scan = session.get(ScanRow, scan_id)
        if scan is not None:
            scan.status = "failed"
            scan.error = error
            scan.processed_at = utcnow()
            session.add(scan)
            session.commit()
