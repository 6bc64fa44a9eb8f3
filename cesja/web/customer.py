"""The customer's page: what to do, the form to download, and what is still missing."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cesja import cases
from cesja.api.cases import pdf_response
from cesja.api.deps import ReadSessionDep, SettingsDep
from cesja.evidence import case_checks
from cesja.forms import form_pdf
from cesja.web.templating import TEMPLATES

router = APIRouter(include_in_schema=False)

# The link is the customer's only credential: keep it out of caches, referrers and search.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


@router.get("/c/{token}", response_class=HTMLResponse)
def customer_page(
    token: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    case = cases.case_by_token(session, token)
    by_party: dict[str, list[object]] = defaultdict(list)
    for check in case_checks(session, case, require_original=settings.require_original):
        party, _, name = check.name.partition(".")
        by_party[party].append({"name": name, "status": check.status})
    response = TEMPLATES.TemplateResponse(
        request,
        "customer.html",
        {
            "case": case,
            "checks": dict(by_party),
            "deadline": case.deadline,
            "postal_address": settings.return_postal_address,
            "fax": settings.return_fax,
            "token": token,
        },
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/c/{token}/form.pdf")
def customer_form(token: str, session: ReadSessionDep, settings: SettingsDep) -> Response:
    case = cases.case_by_token(session, token)
    response = pdf_response(form_pdf(case, settings), case)
    response.headers.update(PRIVATE_HEADERS)
    return response
