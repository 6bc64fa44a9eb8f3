"""The customer's page: what to do, the form to download, and what is still missing; once the
case has ended, what happened and whom to contact, and no form any more."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cesja.api.cases import pdf_response
from cesja.api.deps import ReadSessionDep, SettingsDep
from cesja.casework import cases
from cesja.casework.customer_view import Ending, ending
from cesja.casework.evidence import case_checks
from cesja.casework.forms import form_pdf
from cesja.db.models import CaseRow
from cesja.errors import NotFound
from cesja.web.templating import TEMPLATES

router = APIRouter(include_in_schema=False)

# The link is the customer's only credential: keep it out of caches, referrers and search.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
# The pages hold both parties' data: nothing but our own style sheet and images, no script at
# all, never inside another site's frame, forms posted only back to us.
PAGE_HEADERS = {
    **PRIVATE_HEADERS,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}


def _page(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return response


def _unknown_link(request: Request) -> Response:
    """The same answer for any link we did not give out: it says nothing about any case."""
    return _page(request, "customer_unknown.html", {}, status=404)


@router.get("/c/{token}", response_class=HTMLResponse)
def customer_page(
    token: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    try:
        case = cases.case_by_token(session, token)
    except NotFound:
        return _unknown_link(request)
    ended = ending(session, case)
    if ended is not None:
        return _ended(request, case, ended, settings.customer_contact)
    by_party: dict[str, list[object]] = defaultdict(list)
    for check in case_checks(session, case, require_original=settings.require_original):
        party, _, name = check.name.partition(".")
        by_party[party].append({"name": name, "status": check.status})
    return _page(
        request,
        "customer.html",
        {
            "case": case,
            "checks": dict(by_party),
            "deadline": case.deadline,
            "postal_address": settings.return_postal_address,
            "fax": settings.return_fax,
            "contact": settings.customer_contact,
            "token": token,
        },
    )


def _ended(
    request: Request, case: CaseRow, ended: Ending, contact: str, *, status: int = 200
) -> Response:
    return _page(
        request,
        "customer_ended.html",
        {"case": case, "ending": ended, "contact": contact},
        status=status,
    )


@router.get("/c/{token}/form.pdf")
def customer_form(
    token: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    try:
        case = cases.case_by_token(session, token)
    except NotFound:
        return _unknown_link(request)
    ended = ending(session, case)
    if ended is not None:
        # Gone for good: the form of an ended case can no longer be sent, and it holds both
        # parties' identity numbers.
        return _ended(request, case, ended, settings.customer_contact, status=410)
    response = pdf_response(form_pdf(case, settings), case)
    response.headers.update(PRIVATE_HEADERS)
    return response
