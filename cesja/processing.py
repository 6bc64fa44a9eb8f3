"""Processing a received scan: page by page, read, store the reading, and re-evaluate its case."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlmodel import Session, select

from cesja import lifecycle
from cesja.forms import form_data
from cesja.models import CaseRow, EvidenceRow, PageRow, ScanRow, utcnow
from cesja.runtime import Runtime
from documents import FormData
from ocr import OcrError, PageReading, iter_pages, read_page

log = logging.getLogger("cesja.processing")

PROCESS_SCAN = "process_scan"


def process_scan(runtime: Runtime, scan_id: str) -> None:
    """Read every page of a scan. Idempotent: pages already stored by an earlier, interrupted
    run are skipped, so a job that runs again after a crash finishes the work without
    duplicating it."""
    settings = runtime.settings
    with Session(runtime.engine, expire_on_commit=False) as session:
        scan = session.get(ScanRow, scan_id)
        if scan is None or scan.status == "done":
            return
        scan.status = "processing"
        session.add(scan)
        session.commit()
        done = set(session.exec(select(PageRow.index).where(PageRow.scan_id == scan_id)))

    @lru_cache(maxsize=64)
    def lookup(case_id: str) -> FormData | None:
        with Session(runtime.engine) as s:
            case = s.get(CaseRow, case_id)
            return form_data(case, settings) if case else None

    try:
        for page in iter_pages(runtime.store.path_of(scan.sha256), max_pages=settings.max_pages):
            if page.index in done:
                continue
            reading = read_page(
                page, key=settings.secret, lookup=lookup, tessdata=settings.tessdata
            )
            _store_reading(runtime, scan, reading)
    except OcrError as err:
        _mark(runtime, scan_id, "failed", err.message)
        return
    _mark(runtime, scan_id, "done", None)


def _store_reading(runtime: Runtime, scan: ScanRow, reading: PageReading) -> None:
    """One page in one transaction: its reading, its evidence, and the case's new state."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        page = PageRow(
            scan_id=scan.id,
            index=reading.index,
            outcome=reading.outcome,
            case_id=reading.case_id,
            party=reading.party,
            form_version=reading.form_version,
            reading=reading.to_dict(),
            created_at=utcnow(),
        )
        session.add(page)
        session.flush()
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
        session.commit()


def give_up(runtime: Runtime, scan_id: str, error: str) -> None:
    """The scan's job will not run again (it failed, or crashed its worker, every time): the
    scan is `failed`, with why; the pages read before are kept."""
    _mark(
        runtime,
        scan_id,
        "failed",
        f"reading it was given up ({error}); a person should look at the original file",
    )


def _mark(runtime: Runtime, scan_id: str, status: str, error: str | None) -> None:
    with Session(runtime.engine) as session:
        scan = session.get(ScanRow, scan_id)
        if scan is not None:
            scan.status = status
            scan.error = error
            scan.processed_at = utcnow()
            session.add(scan)
            session.commit()
