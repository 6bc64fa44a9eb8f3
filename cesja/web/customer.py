"""The customer's pages: what to do, the form to download, what arrived and what each party
must still send, an upload for scans and photos; once the case has ended, what happened and
whom to contact, and no form any more.

A link is the case's own (both parties on one page) or one party's (that party alone).

The pages speak Polish, or English for a case made in English (`"language": "en"`); the
reader may switch with `?lang=en` or `?lang=pl`, and their choice is kept in a cookie (the
language alone) for every link they open after.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUpload

from cesja import intake
from cesja.api.cases import pdf_response
from cesja.api.deps import ReadSessionDep, RuntimeDep, SettingsDep
from cesja.casework import customer_links, customer_view
from cesja.casework.customer_view import Ending, ending
from cesja.casework.evidence import case_checks, case_evidence
from cesja.casework.forms import issued_pdf
from cesja.config import Settings
from cesja.db.models import CaseRow
from cesja.errors import BadInput
from cesja.runtime import Runtime
from cesja.web.catalogue import LANGUAGE_NAMES, LANGUAGES, N_, language_or_default
from cesja.web.staff_session import same_origin
from cesja.web.templating import TEMPLATES
from cesja.web.words import UPLOADED_THROUGH, words

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
# Files one link may send within the window (per API process): enough for a party sending
# its page again a few times, too few to fill the scan store or keep the readers busy.
UPLOADS_PER_LINK = 20
UPLOAD_WINDOW_SECONDS = 3600
# What the page says after an upload, by the code in its address: fixed sentences only.
UPLOAD_SAID = {
    "received": N_(
        "The file arrived. We are reading it: in a moment you will see here what we found in it."
    ),
    "again": N_("This file reached us before; there is no need to send it again."),
}
UPLOAD_REFUSED = {
    "too_many": N_(
        "Too many files were sent through this link in the last hour. Try again later, or "
        "send the page by post or by fax."
    ),
    "no_file": N_("Choose a file to send: a scan, a photo of the page or a PDF."),
    "foreign": N_(
        "A file can only be sent from this page: open your link and choose the file here."
    ),
}
# The reader's choice of language, for every link they open: the language alone, nothing
# of the case or of the link.
LANGUAGE_COOKIE = "cesja_language"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def _language(request: Request, case: CaseRow | None) -> str:
    """The language a customer's page speaks: the one asked for (`?lang=`), the one chosen
    before (the cookie), the case's own, Polish."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return language_or_default(case.language if case is not None else None)


def _page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    case: CaseRow | None = None,
    here: str | None = None,
    status: int = 200,
) -> Response:
    language = _language(request, case)
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {
            **words(language).template_globals,
            "language_names": LANGUAGE_NAMES,
            "here": here,
            **context,
        },
        status_code=status,
    )
    response.headers.update(PAGE_HEADERS)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=LANGUAGE_COOKIE_SECONDS,
            path="/c/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def _unknown_link(request: Request) -> Response:
    """The same answer for any link we did not give out: it says nothing about any case."""
    here = request.url.path if request.method == "GET" else None
    return _page(request, "customer_unknown.html", {}, here=here, status=404)


def _live_link(
    request: Request, session: Session, settings: Settings, token: str, *, ended_status: int = 200
) -> customer_links.Link | Response:
    """The link a token opens while its case is live; otherwise the page that says why not
    (no such link, or the case ended: `ended_status`)."""
    try:
        link = customer_links.link(session, token)
    except customer_links.UnknownLink:
        return _unknown_link(request)
    ended = ending(session, link.case)
    if ended is not None:
        return _ended(
            request, link.case, ended, settings.customer_contact, token, status=ended_status
        )
    return link


def _ended(
    request: Request, case: CaseRow, ended: Ending, contact: str, token: str, *, status: int = 200
) -> Response:
    return _page(
        request,
        "customer_ended.html",
        {"case": case, "ending": ended, "contact": contact},
        case=case,
        here=f"/c/{token}",
        status=status,
    )


def _open_page(
    request: Request,
    session: Session,
    settings: Settings,
    link: customer_links.Link,
    token: str,
    *,
    said: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    case = link.case
    speaking = words(_language(request, case))
    checks = case_checks(session, case, require_original=settings.require_original)
    evidence = case_evidence(session, case)
    parties = customer_links.PARTIES if link.party is None else (link.party,)
    steps = [customer_view.party_steps(case, party, checks, evidence) for party in parties]
    return _page(
        request,
        "customer.html",
        {
            "case": case,
            "party": link.party,
            "steps": steps,
            "uploads": customer_view.uploads(session, case, link.party),
            "deadline": case.deadline,
            "postal_address": settings.return_postal_address,
            "fax": settings.return_fax,
            "contact": settings.customer_contact,
            "max_upload_mb": settings.max_upload_mb,
            "esign_company_seal": settings.esign_company == "signature+seal",
            "token": token,
            # Fixed sentences, said in the page's language.
            "said": speaking.gettext(said) if said else None,
            "problem": speaking.gettext(problem) if problem else None,
        },
        case=case,
        here=f"/c/{token}",
        status=status,
    )


@router.get("/c/{token}", response_class=HTMLResponse)
def customer_page(
    token: str,
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    sent: str | None = None,
) -> Response:
    link = _live_link(request, session, settings, token)
    if not isinstance(link, customer_links.Link):
        return link
    said = UPLOAD_SAID.get(sent or "")
    return _open_page(request, session, settings, link, token, said=said)


@router.get("/c/{token}/form.pdf")
def customer_form(
    token: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    # Gone for good once the case ends: its form can no longer be sent, and it holds both
    # parties' identity numbers.
    link = _live_link(request, session, settings, token, ended_status=410)
    if not isinstance(link, customer_links.Link):
        return link
    response = pdf_response(issued_pdf(session, link.case, settings), link.case)
    response.headers.update(PRIVATE_HEADERS)
    return response


class UploadThrottle:
    """Uploads lately, by link (its token's hash: no token is kept in memory either)."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, token: str) -> bool:
        """Whether this link may send one more file now; counts it if so."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            times = self._sent.setdefault(key, deque())
            while times and times[0] < now - UPLOAD_WINDOW_SECONDS:
                times.popleft()
            if len(times) >= UPLOADS_PER_LINK:
                return False
            times.append(now)
            if len(self._sent) > 100_000:  # a flood of links: forget the oldest
                for old in list(self._sent)[:50_000]:
                    del self._sent[old]
            return True


def _throttle(request: Request) -> UploadThrottle:
    throttle: UploadThrottle | None = getattr(request.app.state, "upload_throttle", None)
    if throttle is None:
        throttle = request.app.state.upload_throttle = UploadThrottle()
    return throttle


def _chunks(upload: StarletteUpload) -> Iterator[bytes]:
    while chunk := upload.file.read(1024 * 1024):
        yield chunk


@router.post("/c/{token}/upload", response_class=HTMLResponse)
async def customer_upload(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """A party's scan, photo or PDF of its page, into the same intake as `POST /api/v1/scans`
    (channel `upload`): its pages are routed by their codes like any other.

    The link, the origin and the link's allowance are checked before a byte of the body is
    read: a wrong link costs the service nothing."""
    admitted = await run_in_threadpool(_admitted, request, runtime, token)
    if isinstance(admitted, Response):
        return admitted
    # What staff see as the sender: which link it came through, for a page nothing routes.
    sender = UPLOADED_THROUGH.format(case=admitted.case.id, party=admitted.party or "both parties")
    async with request.form(max_files=1, max_fields=4) as form:
        file = form.get("file")
        if not isinstance(file, StarletteUpload):
            return await _said_on_page(request, runtime, token, "no_file", 422)
        try:
            received = await run_in_threadpool(
                intake.receive, runtime, _chunks(file), channel="upload", sender=sender
            )
        except BadInput as refusal:
            problem = _refusal(refusal)
            return await _said_on_page(request, runtime, token, problem, refusal.http_status)
    await run_in_threadpool(_record_upload, runtime, admitted, received.scan.id)
    sent = "received" if received.new else "again"
    return RedirectResponse(f"/c/{token}?sent={sent}", status_code=303, headers=PAGE_HEADERS)


def _admitted(request: Request, runtime: Runtime, token: str) -> customer_links.Link | Response:
    """The link an upload may be sent through, or the answer to one that may not."""
    settings = runtime.settings
    with Session(runtime.read_engine) as session:
        link = _live_link(request, session, settings, token, ended_status=410)
        if not isinstance(link, customer_links.Link):
            return link
        refusal = None
        if not same_origin(request):
            refusal, status = "foreign", 403
        elif not _throttle(request).take(token):
            refusal, status = "too_many", 429
        if refusal is None:
            return link
        problem = UPLOAD_REFUSED[refusal]
        return _open_page(request, session, settings, link, token, problem=problem, status=status)


async def _said_on_page(
    request: Request, runtime: Runtime, token: str, problem: str, status: int
) -> Response:
    """The link's page, saying why the file was not taken."""

    def page() -> Response:
        with Session(runtime.read_engine) as session:
            link = customer_links.link(session, token)
            said = UPLOAD_REFUSED.get(problem, problem)
            return _open_page(
                request, session, runtime.settings, link, token, problem=said, status=status
            )

    return await run_in_threadpool(page)


def _record_upload(runtime: Runtime, link: customer_links.Link, scan_id: str) -> None:
    with Session(runtime.engine) as session:
        customer_view.record_upload(session, link.case, link.party, scan_id)
        session.commit()


def _refusal(refused: BadInput) -> str:
    """Why a file was not taken, in the customer's words."""
    if refused.http_status == 413:
        return N_("The file is too large. Send a smaller scan, or a photo of each page on its own.")
    if refused.http_status == 415:
        return N_("We do not take files of this kind: send a PDF, a photo (JPEG, PNG) or a TIFF.")
    return N_(
        "This file could not be opened (it is damaged, encrypted or has too many pages). Send "
        "another scan or a photo of the page."
    )
