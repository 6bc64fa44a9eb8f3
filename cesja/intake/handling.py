"""Pages that count for no case, handled by a person: assigned to a case and party by hand
(then read against that case's current form like a routed page), or dismissed with a reason.

Only a page nothing could route is assigned: one whose code failed its MAC is a forgery's
mark, and one of an older form version stopped counting when the form was reissued; neither
is made to count by hand. An assigned page is never QR-verified: its `page_received` check
fails until staff accept it, so the case waits in review for a person either way.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlmodel import Session, col, select

from cesja.casework import audit_log, cases, lifecycle, staff_actions
from cesja.db import jobs
from cesja.db.models import CaseRow, EvidenceRow, PageRow, ScanRow, utcnow
from cesja.errors import Conflict, NotFound
from cesja.intake.processing import (
    form_lookup,
    given_up,
    page_ref,
    read_stored_page,
    scan_and_index,
)
from cesja.observe import logs
from cesja.runtime import Runtime
from documents import PageCode
from documents.layout import PARTIES, Party
from workflow import is_final

log = logging.getLogger("cesja.processing")

READ_ASSIGNED_PAGE = "read_assigned_page"
ASSIGNED, DISMISSED = "assigned", "dismissed"
# Pages a person may assign: nothing routed them.
ASSIGNABLE = ("unmatched", "blank")
# Pages a person may dismiss: every page that counts for no case.
DISMISSABLE = ("unmatched", "blank", "invalid_code", "stale_version", "unreadable")


class PageNotHandled(Conflict):
    code = "page_not_handled"


def assign_page(
    session: Session,
    scan_id: str,
    index: int,
    *,
    case_id: str,
    party: Party,
    reason: str,
    actor: str,
) -> PageRow:
    """The page is `party`'s page of the case: it is read against the case's current form
    by the next free worker. In the caller's transaction; the audit says who and why."""
    page = _page(session, scan_id, index)
    if page.outcome not in ASSIGNABLE:
        raise PageNotHandled(
            f"page {index + 1} of scan {scan_id} is {page.outcome}: only a page nothing could "
            f"route ({', '.join(ASSIGNABLE)}) is assigned by hand"
        )
    case = cases.get_case(session, case_id, for_update=True)
    if is_final(case.state):
        raise PageNotHandled(f"case {case.id} is {case.state}: a page can no longer count for it")
    was = page.outcome
    _handled(page, reason, actor)
    page.outcome, page.case_id, page.party, page.form_version = (
        ASSIGNED,
        case.id,
        party,
        case.form_version,
    )
    session.add(page)
    audit_log.append(
        session,
        case.id,
        "page_assigned",
        actor,
        {
            "scan_id": scan_id,
            "page_index": index,
            "party": party,
            "was": was,
            "reason": page.handled_reason,
        },
    )
    jobs.enqueue(session, READ_ASSIGNED_PAGE, page_ref(scan_id, index))
    return page


def dismiss_page(session: Session, scan_id: str, index: int, *, reason: str, actor: str) -> PageRow:
    """The page counts for nothing and leaves the list of pages to look at; its file, its
    reading and why it was dismissed stay."""
    page = _page(session, scan_id, index)
    if page.outcome not in DISMISSABLE:
        raise PageNotHandled(
            f"page {index + 1} of scan {scan_id} is {page.outcome}: only a page that counts "
            "for no case is dismissed"
        )
    page.outcome = DISMISSED
    _handled(page, reason, actor)
    session.add(page)
    log.info("page %d of scan %s dismissed by %s", index + 1, scan_id, actor)
    return page


def read_assigned_page(runtime: Runtime, ref: str) -> None:
    """The job: an assigned page read against its case's current form, stored in place of
    what it was read as before, and its case re-evaluated. Idempotent."""
    scan_id, index = scan_and_index(ref)
    with logs.about(scan_id=scan_id), Session(runtime.engine, expire_on_commit=False) as session:
        page = _page(session, scan_id, index)
        scan = session.get_one(ScanRow, scan_id)
    if page.outcome != ASSIGNED or page.case_id is None or page.party not in PARTIES:
        return
    logs.note(case_id=page.case_id)
    form = form_lookup(runtime)(page.case_id)
    if form is None:
        return
    code = PageCode(case_id=page.case_id, form_version=form.form_version, party=page.party)
    reading = read_stored_page(runtime, scan, index, assigned=code)
    with Session(runtime.engine, expire_on_commit=False) as session:
        page = session.get_one(PageRow, page.id)
        if page.outcome != ASSIGNED or page.id is None:
            return
        page_id = page.id
        page.outcome, page.form_version = reading.outcome, reading.form_version
        page.reading = reading.to_dict()
        session.add(page)
        # The pictures kept for review: of this reading, not of the one before.
        session.execute(delete(EvidenceRow).where(col(EvidenceRow.page_id) == page_id))
        for name, picture in reading.evidence.items():
            session.add(EvidenceRow(page_id=page_id, name=name, image=picture))
        case = session.exec(
            select(CaseRow).where(CaseRow.id == page.case_id).with_for_update()
        ).one()
        if reading.outcome == "matched" and not is_final(case.state):
            lifecycle.page_read(session, runtime.settings, case, page, scan)
        session.commit()
    log.info("assigned page %d of scan %s read: %s", index + 1, scan_id, reading.outcome)
    runtime.work_ready.set()


def give_up_assigned(runtime: Runtime, ref: str, error: str) -> None:
    """An assigned page whose reading will not run again (it crashed its worker every time,
    or went over its budget): unreadable, with why, so that it is not left `assigned`."""
    scan_id, index = scan_and_index(ref)
    with Session(runtime.engine) as session:
        page = _page(session, scan_id, index)
        if page.outcome != ASSIGNED:
            return
        reading = given_up(index, error)
        page.outcome, page.reading = reading.outcome, reading.to_dict()
        session.add(page)
        session.commit()


def _page(session: Session, scan_id: str, index: int) -> PageRow:
    page = session.exec(
        select(PageRow).where(PageRow.scan_id == scan_id).where(PageRow.index == index)
    ).first()
    if page is None:
        raise NotFound(f"no page {index + 1} in scan {scan_id}")
    return page


def _handled(page: PageRow, reason: str, actor: str) -> None:
    """Who handled the page, why and when; the reason as the audit trail takes one, or
    staff_actions.InvalidReason."""
    page.handled_by, page.handled_at = actor, utcnow()
    page.handled_reason = staff_actions.clean_reason(reason)
