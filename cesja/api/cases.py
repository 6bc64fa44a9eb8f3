"""Routes for cases: create, read, list, reissue, and the form PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlmodel import Session

from cesja.api.deps import DatabaseDep, RegistrarOrStaff, SettingsDep
from cesja.casework import audit_log, cases, customer_links, lifecycle
from cesja.casework.evidence import checks_of_cases, checks_of_new_case
from cesja.casework.forms import customer_url, form_pdf
from cesja.casework.schemas import CaseCreate, CaseList, CasePublic, CaseReissue
from cesja.casework.search import MAX_QUERY
from cesja.config import Settings
from cesja.db.models import CaseRow
from cesja.text import PrintableLine
from workflow import Check, transfer_allowed

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def case_public(session: Session, case: CaseRow, settings: Settings) -> CasePublic:
    return cases_public(session, [case], settings)[0]


def cases_public(session: Session, rows: list[CaseRow], settings: Settings) -> list[CasePublic]:
    """Cases as the API shows them; their checks and links read in three queries, however
    many."""
    checks = checks_of_cases(session, rows, require_original=settings.require_original)
    urls = customer_links.party_urls(session, settings, rows)
    return [_public(case, checks[case.id], urls[case.id], settings) for case in rows]


def _public(
    case: CaseRow, checks: list[Check], party_urls: dict[str, str], settings: Settings
) -> CasePublic:
    # Validated from plain dicts at once: a model made per check and then checked again as
    # the case's costs twice the CPU (39 against 19 µs a case of ten checks; a list has 20).
    return CasePublic.model_validate(
        {
            "id": case.id,
            "state": case.state,
            "transfer_allowed": transfer_allowed(case.state),
            "domains": case.domains,
            "external_ref": case.external_ref,
            "language": case.language,
            "current_registrant": case.current_registrant,
            "new_registrant": case.new_registrant,
            "form_version": case.form_version,
            "deadline": case.deadline,
            "customer_url": customer_url(settings, case),
            "customer_urls": party_urls,
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "detail": c.detail,
                    "provisional": c.provisional,
                    "proposed_by": c.proposed_by,
                }
                for c in checks
            ],
            "created_at": case.created_at,
            "updated_at": case.updated_at,
        }
    )


# The routes are async and reach the database in units of work (`DatabaseDep`): one hop to
# the thread pool each, a write committed in the thread that wrote.


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
async def create_case(
    body: CaseCreate, caller: RegistrarOrStaff, db: DatabaseDep, settings: SettingsDep
) -> CasePublic:
    # Checked and built first (a millisecond of CPU, not worth a thread): the write holds the
    # writer's turn for the inserts alone.
    made = cases.new_case(body, deadline_days=settings.document_deadline_days)
    case, party_urls = await db.write(_added, made, caller.actor, settings)
    # Answered from what was written: a case just made has no page and no decision to read.
    checks = checks_of_new_case(case, require_original=settings.require_original)
    return _public(case, checks, party_urls, settings)


def _added(
    session: Session, case: CaseRow, actor: str, settings: Settings
) -> tuple[CaseRow, dict[str, str]]:
    tokens = cases.add_new_case(session, case, actor=actor, settings=settings)
    # From the tokens just made, not read back: a query less for every create.
    return case, {party: customer_links.url(settings, token) for party, token in tokens.items()}


# Past this many cases, skipping them to the page asked for is a long walk down the index.
LONG_OFFSET = 1000


@router.get("", response_model=CaseList)
async def list_cases(
    caller: RegistrarOrStaff,
    db: DatabaseDep,
    settings: SettingsDep,
    state: str | None = None,
    domain: str | None = None,
    q: Annotated[
        PrintableLine | None,
        Query(
            max_length=MAX_QUERY,
            description="Words each of which the case must hold: its number, a domain "
            "(Unicode or xn--), the registrar's reference, a party's name (Polish letters or "
            "not), NIP, PESEL, REGON, KRS or e-mail.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CaseList:
    if domain:
        domain = cases.lookup_domain(domain)
    if q or offset > LONG_OFFSET:  # a scan of the table, not a look-up in an index
        return await db.search(_listed, settings, state, domain, q, limit, offset)
    return await db.read(_listed, settings, state, domain, q, limit, offset)


def _listed(
    session: Session,
    settings: Settings,
    state: str | None,
    domain: str | None,
    query: str | None,
    limit: int,
    offset: int,
) -> CaseList:
    rows, total = cases.list_cases(
        session, state=state, domain=domain, query=query, limit=limit, offset=offset
    )
    return CaseList(items=cases_public(session, rows, settings), count=total)


@router.get("/{case_id}", response_model=CasePublic)
async def get_case(
    case_id: str, caller: RegistrarOrStaff, db: DatabaseDep, settings: SettingsDep
) -> CasePublic:
    if caller.role == "staff":
        # A person (or their tool) is about to see the parties' personal data: recorded first.
        await db.write(audit_log.record_view, case_id, caller.actor, "case_json")
    return await db.read(_read, case_id, settings)


def _read(session: Session, case_id: str, settings: Settings) -> CasePublic:
    return case_public(session, cases.get_case(session, case_id), settings)


@router.post("/{case_id}/reissue", response_model=CasePublic)
async def reissue(
    case_id: str,
    body: CaseReissue,
    caller: RegistrarOrStaff,
    db: DatabaseDep,
    settings: SettingsDep,
) -> CasePublic:
    return await db.write(_reissued, case_id, body, caller.actor, settings)


def _reissued(
    session: Session, case_id: str, body: CaseReissue, actor: str, settings: Settings
) -> CasePublic:
    case = cases.get_case(session, case_id, for_update=True)
    cases.reissue(session, case, body, actor=actor, settings=settings)
    lifecycle.reevaluate(session, settings, case, actor=actor)
    return case_public(session, case, settings)


@router.get(
    "/{case_id}/form.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def form(
    case_id: str, caller: RegistrarOrStaff, db: DatabaseDep, settings: SettingsDep
) -> Response:
    if caller.role == "staff":
        await db.write(audit_log.record_view, case_id, caller.actor, "form_pdf")
    case, urls = await db.read(_case_and_links, case_id, settings)
    # Drawn here, outside the transaction, in the event loop's own thread: 10-15 ms of CPU
    # that holds the interpreter lock either way. In the thread pool it took the lock by
    # turns with every other request of this process and ended 40-60 ms later (bench/load.py,
    # 50 clients: forms' p99 348 -> 247 ms on SQLite and 479 -> 363 on PostgreSQL, 6-11 %
    # more requests a second); its turn (`RequestsInTurn`) already keeps the others waiting
    # in line, not on the CPU.
    return pdf_response(form_pdf(case, settings, urls), case)


def _case_and_links(
    session: Session, case_id: str, settings: Settings
) -> tuple[CaseRow, dict[str, str]]:
    case = cases.get_case(session, case_id)
    return case, customer_links.party_urls(session, settings, [case])[case.id]


def pdf_response(pdf: bytes, case: CaseRow) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="cesja-{case.id}-v{case.form_version}.pdf"',
            "Cache-Control": "no-store",
            # A browser shows it as the PDF it is, never as a page it guessed from the bytes.
            "X-Content-Type-Options": "nosniff",
        },
    )
