"""The back-office web UI: the work queue, a case under review, loose pages, stuck notices.

Routes stay thin: what a page shows comes from `review`, what a button does from
`staff_actions`, the same functions the JSON API calls. Nothing is done by GET; every post
is checked for our origin and the staff cookie, then answered with a redirect to the page it
changed (post/redirect/get), or with that page and a message saying why nothing changed.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from cesja.api.cases import pdf_response
from cesja.api.deps import (
    Caller,
    Database,
    DatabaseDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    SettingsDep,
    caller_for_key,
)
from cesja.casework import audit_log, cases, customer_links, lifecycle, staff, staff_actions
from cesja.casework import notices as mail_out
from cesja.casework.forms import customer_url, issued_pdf
from cesja.config import Settings
from cesja.db.models import ScanRow, utcnow
from cesja.errors import CesjaError, NotFound
from cesja.intake import handling
from cesja.intake.messages import receive_message
from cesja.storage import TooLarge
from cesja.web import review, sso
from cesja.web.catalogue import LANGUAGE_NAMES, N_, language_or_default
from cesja.web.office_auth import (
    SIGN_IN,
    ForeignOrigin,
    SignInNeeded,
    StaffImage,
    StaffPage,
    StaffPost,
    page_language,
    safe_next,
    signed_in,
)
from cesja.web.office_labels import NOTICE_STATUSES, STATES
from cesja.web.staff_session import (
    COOKIE,
    LIFETIME_SECONDS,
    SignInThrottle,
    end_session,
    same_origin,
    sign_in,
    sign_in_person,
    speak,
)
from cesja.web.templating import TEMPLATES
from cesja.web.words import Words, words
from cesja.workers import work
from documents.layout import Party

log = logging.getLogger("cesja.web")

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100

# Pages hold personal data (PESEL, addresses) and scans: never cached, framed or referred on.
PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}
IMAGE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}

# What the page says after a post went through; only these fixed sentences, never text
# taken from the address.
DONE = {
    "accept": N_("Check accepted."),
    "reject": N_("Check rejected."),
    "propose": N_("Acceptance proposed: it will be recorded once a second person confirms it."),
    "case_rejected": N_("Case rejected."),
    "case_cancelled": N_("Case cancelled."),
    "resent": N_("The notice will be sent again."),
    "mail_resent": N_("The e-mail will be sent again, with the same Message-ID."),
    "page_assigned": N_(
        "Page assigned to the case: it will be read against its form, and the case will wait "
        "for a decision whether the page is valid."
    ),
    "page_dismissed": N_("Page set aside: it counts for no case."),
    "signed_out": N_("Signed out."),
    "message_added": N_(
        "Message taken in: its files are scans if they are PDF, TIFF, PNG or JPEG."
    ),
}
REASON_PROBLEMS = {
    "blank": N_("Give a reason: without one the decision is not recorded."),
    "too_long": N_("A reason may have at most {limit} characters."),
    "control_characters": N_(
        "The reason holds control characters or characters that change the text's direction "
        "(e.g. U+202E), which are not allowed; remove them and send it again."
    ),
}
DECISION_OF: dict[str, Literal["accept", "reject"]] = {"accept": "accept", "reject": "reject"}
# What a decision left the case at, said after it: the state it is in now.
AFTER_DECISION = {
    "transfer_ready": N_(
        "The case is ready for the domain's transfer; the registrar will be notified."
    ),
    "in_review": N_(
        "The case stays in review: it waits for a decision on the other failed checks or for a "
        "new page from a party to the transfer."
    ),
    "awaiting_documents": N_(
        "The case is waiting for documents: pages, or their reading, are still missing."
    ),
}
DECISION_DONE = ("accept", "reject", "propose")
SAME_REVIEWER = N_(
    "Nothing was changed: you proposed accepting this check, and a second person must confirm it."
)
TOO_MANY_TRIES = N_(
    "Too many failed sign-ins: try again in a quarter of an hour, or ask the administrator "
    "for a new password."
)
CHANGED_MEANWHILE = N_(
    "The case changed in the meantime: look at where it stands now and try again."
)
NOTHING_CHANGED = N_("Nothing was changed. {why}")


def install(app: FastAPI) -> None:
    """The UI's routes, and its answers to a missing sign-in and a foreign form post."""
    app.include_router(router)

    @app.exception_handler(SignInNeeded)
    async def _to_sign_in(_: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(exc.location, status_code=303, headers=PAGE_HEADERS)

    @app.exception_handler(ForeignOrigin)
    async def _foreign(request: Request, refused: ForeignOrigin) -> Response:
        # Said in the language of the session the cookie names, if it names one.
        await run_in_threadpool(signed_in, request.app.state.runtime.settings, request)
        _ = _words(request).gettext
        return _page(
            request,
            "office_message.html",
            {
                "heading": _("Refused"),
                "problem": _("This form was not sent from this site."),
            },
            status=403,
        )


def _words(request: Request, language: str | None = None) -> Words:
    """What this request's page says, in the staff session's language (or `language`)."""
    return words(language or page_language(request))


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    staff: Caller | None = None,
    session: Session | None = None,
    status: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    speaking = _words(request, language)
    done = request.query_params.get("done", "")
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            **speaking.template_globals,
            "language_names": LANGUAGE_NAMES,
            "here": _here(request),
            "staff": staff,
            "notice": speaking.gettext(DONE[done]) if done in DONE else None,
            "attention": _attention(session) if staff and session else None,
            **context,
        },
        status_code=status,
    )
    response.headers.update(PAGE_HEADERS)
    return response


def _here(request: Request) -> str:
    """Where the language switch leads back to: this page, without what was searched for (a
    PESEL typed in the search stays out of the page), or the queue from a post's answer; a
    page a post answers names its own (`here` in its context)."""
    return safe_next(request.url.path) if request.method == "GET" else "/"


def _attention(session: Session) -> dict[str, int]:
    """What the menu counts, in the page's own transaction: jobs given up, and notices and
    e-mails only a person can move on."""
    return {
        "given_up": work.given_up_count(session),
        "notices": work.notices_to_act_on(session),
        "unmatched": review.loose_count(session),
        "failed_mail": mail_out.failed_count(session),
    }


def _see(path: str, **query: str) -> RedirectResponse:
    target = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


# --- signing in and out ---------------------------------------------------------------------


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_form(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    if signed_in(settings, request) is not None:
        return _see(safe_next(next))
    return _page(request, "office_sign_in.html", {"next": safe_next(next)})


@router.post(SIGN_IN, response_class=HTMLResponse)
def sign_in_post(
    request: Request,
    settings: SettingsDep,
    runtime: RuntimeDep,
    key: Annotated[str, Form(max_length=512)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=staff.MAX_PASSWORD)] = "",
    next: Annotated[str, Form()] = "/",
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Signing in from the sign-in page opens a session in the language that page spoke."""
    if not same_origin(request):
        raise ForeignOrigin()
    language = language_or_default(language)
    _ = _words(request, language).gettext
    signed: tuple[Caller, str] | None
    tried = username.strip().lower()
    address = request.client.host if request.client else "?"
    throttle = _throttle(request)

    def refused(problem: str, status: int) -> Response:
        context = {"next": safe_next(next), "problem": problem}
        return _page(request, "office_sign_in.html", context, status=status, language=language)

    if throttle.blocked(tried or None, address):
        return refused(_(TOO_MANY_TRIES), 429)
    if tried:
        with Session(runtime.engine) as session:
            account = staff.authenticate(session, tried, password)
        if account is None:
            throttle.failed(tried, address)
            # The username only when it is one: a password typed in its place is never logged.
            log.warning("a sign-in as %r failed", tried if staff.USERNAME.fullmatch(tried) else "?")
            return refused(_("Wrong login or password."), 401)
        signed = sign_in_person(runtime.engine, account.username, language)
    else:
        signed = sign_in(settings, runtime.engine, key.strip(), language)
    if signed is None:
        throttle.failed(None, address)
        if caller_for_key(settings, key.strip()) is None:
            return refused(_("Wrong key."), 401)
        return refused(
            _(
                "This key is not a back-office staff key: the back office is only for the "
                "“staff” role."
            ),
            403,
        )
    return _signed_in(request, *signed, next)


def _signed_in(request: Request, caller: Caller, cookie: str, next_page: str) -> Response:
    log.info("%s signed in to the back office", caller.actor)
    response = _see(safe_next(next_page))
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


SSO_FAILED = N_(
    "Signing in through the identity provider failed. Try again, or sign in with your login "
    "and password."
)


@router.get("/sign-in/sso")
def sso_begin(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """To the registrar's identity provider, carrying what the way back must match."""
    if not sso.configured(settings):
        raise NotFound("single sign-on is not configured (CESJA_OIDC_ISSUER)")
    try:
        target, login = sso.begin(settings, safe_next(next), page_language(request))
    except sso.SignInRefused as err:
        log.warning("single sign-on could not start: %s", err.message)
        context = {"next": safe_next(next), "problem": _words(request).gettext(SSO_FAILED)}
        return _page(request, "office_sign_in.html", context, status=503)
    response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        sso.COOKIE,
        login.cookie(),
        max_age=sso.LOGIN_SECONDS,
        path="/sign-in/sso",
        httponly=True,
        samesite="lax",  # it must come back with the provider's redirect, a top-level GET
        secure=request.url.scheme == "https",
    )
    return response


@router.get(sso.CALLBACK)
def sso_callback(
    request: Request,
    settings: SettingsDep,
    runtime: RuntimeDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Back from the identity provider: the person it vouches for, if they have an account."""
    if not sso.configured(settings):
        raise NotFound("single sign-on is not configured (CESJA_OIDC_ISSUER)")
    login = sso.Login.from_cookie(request.cookies.get(sso.COOKIE))
    next_page = login.next if login is not None else "/"
    language = login.language if login is not None else page_language(request)
    _ = _words(request, language).gettext

    def refused(problem: str, status: int) -> Response:
        context = {"next": next_page, "problem": problem}
        page = _page(request, "office_sign_in.html", context, status=status, language=language)
        page.delete_cookie(sso.COOKIE, path="/sign-in/sso")
        return page

    try:
        if error is not None:
            raise sso.SignInRefused(f"the identity provider answered {error!r}")
        username = sso.finish(settings, login, state, code)
    except sso.SignInRefused as err:
        log.warning("a single sign-on failed: %s", err.message)
        return refused(_(SSO_FAILED), 401)
    with Session(runtime.engine) as session:
        active = staff.USERNAME.fullmatch(username) and staff.is_active(session, username)
    if not active:
        log.warning("a single sign-on as %r has no active staff account", username[:64])
        problem = _(
            "The identity provider vouched for the user “{username}”, but the back office has no "
            "active account with that login. Ask the administrator for an account (cesja staff "
            "add)."
        ).format(username=username[:64])
        return refused(problem, 403)
    signed = sign_in_person(runtime.engine, username, language)
    response = _signed_in(request, *signed, next_page)
    response.delete_cookie(sso.COOKIE, path="/sign-in/sso")
    return response


def _throttle(request: Request) -> SignInThrottle:
    """This service's record of failed sign-ins (one per app: each API process has its own)."""
    throttle: SignInThrottle | None = getattr(request.app.state, "sign_in_throttle", None)
    if throttle is None:
        throttle = request.app.state.sign_in_throttle = SignInThrottle()
    return throttle


@router.post("/sign-out")
def sign_out(request: Request, settings: SettingsDep, runtime: RuntimeDep) -> Response:
    if not same_origin(request):
        raise ForeignOrigin()
    signed_in(settings, request)  # the session's language: the sign-in page speaks it next
    language = page_language(request)
    end_session(runtime.engine, request)
    response = _see(SIGN_IN, done="signed_out", lang=language)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/language")
def switch_language(
    request: Request,
    staff: StaffPost,
    runtime: RuntimeDep,
    language: Annotated[str, Form(max_length=8)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The back office speaks `language` (Polish or English) in this staff session from now on,
    on every page; back to the page the switch was on."""
    speak(runtime.engine, request, language)
    return _see(safe_next(next))


# --- the work queue -------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def work_queue(
    request: Request,
    staff: StaffPage,
    session: ReadSessionDep,
    settings: SettingsDep,
    state: str = "",
    q: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    state = state if state in STATES else ""
    queue = review.work_queue(
        session,
        require_original=settings.require_original,
        state=state or None,
        search=q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    more = page * PAGE_SIZE < queue.count
    return _page(
        request,
        "office_queue.html",
        {
            "section": "queue",
            "queue": queue,
            "here": "/?" + urlencode({"state": state, "page": page}),
            "first_in_review": review.in_review_neighbours(session, "")[1],
            "state": state,
            "q": q,
            "page": page,
            "newer": urlencode({"state": state, "q": q, "page": page - 1}) if page > 1 else None,
            "older": urlencode({"state": state, "q": q, "page": page + 1}) if more else None,
        },
        staff=staff,
        session=session,
    )


# --- a case under review ----------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Caller,
    case_id: str,
    *,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        case = cases.get_case(session, case_id)
    except NotFound:
        return _page(
            request,
            "office_message.html",
            {
                "heading": _words(request).gettext("No such case"),
                "problem": _words(request)
                .gettext("Case {case} was not found.")
                .format(case=case_id),
            },
            staff=staff,
            session=session,
            status=404,
        )
    return _page(
        request,
        "office_case.html",
        {
            "section": "case",
            "case": case,
            "customer_url": customer_url(settings, case),
            "party_urls": customer_links.party_urls(session, settings, [case])[case.id],
            "review": review.case_review(session, case, require_original=settings.require_original),
            "neighbours": review.in_review_neighbours(session, case.id),
            "after_decision": (
                _words(request).gettext(AFTER_DECISION[case.state])
                if request.query_params.get("done") in DECISION_DONE
                and case.state in AFTER_DECISION
                else None
            ),
            "here": f"/cases/{case.id}",
            "reasons": settings.reason_presets,
            "problem": problem,
            "mail_notices": mail_out.list_notices(
                session, status=None, case_id=case.id, limit=200, offset=0
            ).items,
            "mail_configured": bool(settings.smtp_url),
        },
        staff=staff,
        session=session,
        status=status,
    )


# The images of a case's pages are not each a look of their own: the case page showing them
# has recorded one, and a person zooming into its pages for a while looks once, not once per
# image. A look at a case's page images is recorded unless the same person's look at the
# case was recorded within this.
ONE_LOOK = timedelta(minutes=10)


def _recorded(view: str) -> Any:
    """A dependency recording (and committing) that staff are about to see the case's
    personal data through `view`, before they do."""

    async def record(case_id: str, staff: StaffPage, db: DatabaseDep) -> None:
        await db.write(audit_log.record_view, case_id, staff.actor, view)

    return Depends(record)


async def _looked(
    db: Database,
    case_ids: list[str],
    actor: str,
    view: str,
    *,
    once_in: timedelta | None = None,
    **what: str | int,
) -> None:
    """Record (and commit) that `actor` is about to see the personal data of each of these
    cases through `view`, before they do; with `once_in`, only for a case they were not
    recorded looking at within it (looked up first, then again under the case's lock)."""
    since = utcnow() - once_in if once_in is not None else None
    if since is not None and case_ids:
        seen = await db.read(audit_log.looked_since, case_ids, actor, since)
        case_ids = [case_id for case_id in case_ids if case_id not in seen]
    if case_ids:
        await db.write(_record_views, sorted(case_ids), actor, view, since, what)


def _record_views(
    session: Session,
    case_ids: list[str],
    actor: str,
    view: str,
    since: datetime | None,
    what: dict[str, str | int],
) -> None:
    # In order of case id: two looks at the same cases lock them in the same order.
    for case_id in case_ids:
        audit_log.record_view(session, case_id, actor, view, unless_since=since, **what)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: str,
    request: Request,
    staff: StaffPage,
    _: Annotated[None, _recorded("case_page")],
    session: ReadSessionDep,
    settings: SettingsDep,
) -> Response:
    return _case_page(request, session, settings, staff, case_id)


@router.get("/cases/{case_id}/form.pdf")
def case_form(
    case_id: str,
    staff: StaffPage,
    _: Annotated[None, _recorded("form_pdf")],
    session: ReadSessionDep,
    settings: SettingsDep,
) -> Response:
    case = cases.get_case(session, case_id)
    return pdf_response(issued_pdf(session, case, settings), case)


def _act(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Caller,
    case_id: str,
    action: Callable[[], object],
    *,
    done: str | None = None,
) -> Response:
    """Do one staff action in this request's transaction; on a refusal, the case page says why.
    The page after it says `done`, or what the action returned."""
    said = _words(request)
    try:
        outcome = action()
        session.commit()
        return _see(f"/cases/{case_id}", done=done or str(outcome))
    except staff_actions.InvalidReason as err:
        problem, status = _reason_problem(said, err), 422
    except lifecycle.SecondReviewerNeeded:
        problem, status = said.gettext(SAME_REVIEWER), 409
    except CesjaError as err:  # the 409 sentence of `workflow.needs`, or what is missing
        problem = said.gettext(NOTHING_CHANGED).format(why=said.refusal(err))
        status = err.http_status
    except StaleDataError:
        problem, status = said.gettext(CHANGED_MEANWHILE), 409
    session.rollback()
    return _case_refused(request, session, settings, staff, case_id, problem, status)


def _reason_problem(said: Words, err: staff_actions.InvalidReason) -> str:
    return said.gettext(REASON_PROBLEMS[err.problem]).format(limit=staff_actions.MAX_REASON)


def _case_refused(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Caller,
    case_id: str,
    problem: str,
    status: int,
) -> Response:
    """The case page saying why nothing changed, under the case's own address: htmx would
    otherwise show the address of the post, which a reload cannot open."""
    response = _case_page(
        request, session, settings, staff, case_id, problem=problem, status=status
    )
    response.headers["HX-Push-Url"] = f"/cases/{case_id}"
    return response


@router.post("/cases/{case_id}/checks/{check}")
def decide_check(
    case_id: str,
    check: str,
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    settings: SettingsDep,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    preset: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    choice = DECISION_OF.get(decision)
    reason = _with_preset(settings, preset, reason)
    if choice is None:
        problem = _words(request).gettext("Choose a decision: accept or reject.")
        return _case_refused(request, session, settings, staff, case_id, problem, 422)
    return _act(
        request,
        session,
        settings,
        staff,
        case_id,
        # What was recorded: with four eyes, a first acceptance is a proposal.
        lambda: staff_actions.decide_check(
            session, settings, case_id, check, choice, reason, actor=staff.actor
        )[1],
    )


def _with_preset(settings: Settings, preset: str, reason: str) -> str:
    """The reason given: a preset one from the list (only one of the configured), and what
    was written beside it."""
    chosen = preset if preset in settings.reason_presets else ""
    return " ".join(part for part in (chosen, reason.strip()) if part)


@router.post("/cases/{case_id}/reject")
def reject_case(
    case_id: str,
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    settings: SettingsDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        settings,
        staff,
        case_id,
        lambda: staff_actions.reject_case(session, settings, case_id, reason, actor=staff.actor),
        done="case_rejected",
    )


@router.post("/cases/{case_id}/cancel")
def cancel_case(
    case_id: str,
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    settings: SettingsDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        session,
        settings,
        staff,
        case_id,
        lambda: staff_actions.cancel_case(session, settings, case_id, reason, actor=staff.actor),
        done="case_cancelled",
    )


# --- what was received but counts for no case -------------------------------------------------


@router.get("/unmatched", response_class=HTMLResponse)
def unmatched(
    request: Request,
    staff: StaffPage,
    session: ReadSessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _unmatched_page(request, session, staff, page)


def _unmatched_page(
    request: Request,
    session: Session,
    staff: Caller,
    page: int,
    *,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    loose = review.loose_pages(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return _page(
        request,
        "office_unmatched.html",
        {
            "section": "unmatched",
            "here": f"/unmatched?page={page}",
            "loose": loose,
            "assignable": handling.ASSIGNABLE,
            "retention_days": request.app.state.runtime.settings.job_retention_days,
            "page": page,
            "newer": page - 1 if page > 1 else None,
            "older": page + 1 if page * PAGE_SIZE < loose.count else None,
            "problem": problem,
        },
        staff=staff,
        session=session,
        status=status,
    )


PARTY_OF_FORM: dict[str, Party] = {"current": "current_registrant", "new": "new_registrant"}


@router.post("/scans/{scan_id}/pages/{index}/assign")
def assign_page(
    scan_id: str,
    index: Annotated[int, PathParam(ge=0, le=100_000)],
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    runtime: RuntimeDep,
    case_id: Annotated[str, Form(max_length=32)] = "",
    party: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    said = _words(request)
    chosen = PARTY_OF_FORM.get(party)
    if chosen is None:
        problem = said.gettext("Choose whose page it is.")
        return _unmatched_refused(request, session, staff, problem, 422)
    number = case_id.strip().upper()
    try:
        handling.assign_page(
            session, scan_id, index, case_id=number, party=chosen, reason=reason, actor=staff.actor
        )
        session.commit()
    except staff_actions.InvalidReason as err:
        return _unmatched_refused(request, session, staff, _reason_problem(said, err), 422)
    except NotFound:
        problem = said.gettext(
            "There is no case {case} or no such page: check the case number."
        ).format(case=number)
        return _unmatched_refused(request, session, staff, problem, 404)
    except handling.PageNotHandled:
        problem = said.gettext(
            "Nothing was changed: only a page not recognised, or a blank one, can be assigned, "
            "and only to a case still open."
        )
        return _unmatched_refused(request, session, staff, problem, 409)
    runtime.work_ready.set()
    return _see(f"/cases/{number}", done="page_assigned")


@router.post("/scans/{scan_id}/pages/{index}/dismiss")
def dismiss_page(
    scan_id: str,
    index: Annotated[int, PathParam(ge=0, le=100_000)],
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        handling.dismiss_page(session, scan_id, index, reason=reason, actor=staff.actor)
        session.commit()
    except staff_actions.InvalidReason as err:
        return _unmatched_refused(
            request, session, staff, _reason_problem(_words(request), err), 422
        )
    except (NotFound, handling.PageNotHandled):
        problem = _words(request).gettext(
            "Nothing was changed: this page is no longer on the list of pages without a case."
        )
        return _unmatched_refused(request, session, staff, problem, 409)
    return _see("/unmatched", done="page_dismissed")


def _unmatched_refused(
    request: Request, session: Session, staff: Caller, problem: str, status: int
) -> Response:
    session.rollback()
    response = _unmatched_page(request, session, staff, 1, problem=problem, status=status)
    response.headers["HX-Push-Url"] = "/unmatched"
    return response


def _scan_and_cases(session: Session, scan_id: str) -> tuple[ScanRow | None, list[str]]:
    return session.get(ScanRow, scan_id), review.cases_of_scan(session, scan_id)


@router.get("/scans/{scan_id}/file")
async def scan_file(
    scan_id: str, staff: StaffImage, db: DatabaseDep, runtime: RuntimeDep
) -> Response:
    """The file as it was received, to download: the one way to see a page nothing was kept of.
    A download is a look at every case a page of it counts for, each time."""
    scan, case_ids = await db.read(_scan_and_cases, scan_id)
    if scan is None:
        raise NotFound(f"no scan {scan_id}")
    path = runtime.store.path_of(scan.sha256)
    if not path.is_file():
        raise NotFound(f"the file of scan {scan_id} is not in the scan store")
    await _looked(db, case_ids, staff.actor, "scan_file", scan_id=scan.id)
    return FileResponse(
        path,
        media_type=scan.media_type,
        filename=scan.id + (mimetypes.guess_extension(scan.media_type) or ""),
        content_disposition_type="attachment",
        headers={**IMAGE_HEADERS, "Content-Security-Policy": "sandbox"},
    )


@router.get("/evidence/{page_id}/{name:path}")
async def evidence(page_id: int, name: str, staff: StaffImage, db: DatabaseDep) -> Response:
    """An image kept of a page: a look at its case's personal data, once in `ONE_LOOK`."""
    found = await db.read(review.evidence_image, page_id, name)
    if found is None:
        raise NotFound(f"page {page_id} has no image {name!r}")
    if found.case_id is not None:
        await _looked(
            db,
            [found.case_id],
            staff.actor,
            "page_images",
            once_in=ONE_LOOK,
            scan_id=found.scan_id,
            page_index=found.page_index,
        )
    return Response(found.image, media_type=found.media_type, headers=IMAGE_HEADERS)


# --- e-mail taken in ---------------------------------------------------------------------------


@router.get("/messages", response_class=HTMLResponse)
def messages(
    request: Request,
    staff: StaffPage,
    session: ReadSessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _messages_page(request, session, staff, page)


def _messages_page(
    request: Request,
    session: Session,
    staff: Caller,
    page: int,
    *,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    found = review.messages(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return _page(
        request,
        "office_messages.html",
        {
            "section": "messages",
            "here": f"/messages?page={page}",
            "found": found,
            "one": None,
            "page": page,
            "newer": page - 1 if page > 1 else None,
            "older": page + 1 if page * PAGE_SIZE < found.count else None,
            "problem": problem,
        },
        staff=staff,
        session=session,
        status=status,
    )


@router.post("/messages")
def add_message(
    request: Request,
    staff: StaffPost,
    runtime: RuntimeDep,
    session: ReadSessionDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """An e-mail a member of staff saved from their own mailbox (.eml): taken exactly as the
    mail gateway's, its sender judged by the headers it carries."""
    limit = runtime.settings.max_upload_bytes
    raw = file.file.read(limit + 1)
    try:
        if len(raw) > limit:
            raise TooLarge(f"the message is larger than {runtime.settings.max_upload_mb} MB")
        taken = receive_message(runtime, raw)
    except CesjaError as err:
        refused = _messages_page(
            request,
            session,
            staff,
            1,
            problem=_words(request)
            .gettext("The message was not taken in. {why}")
            .format(why=_words(request).refusal(err)),
            status=err.http_status,
        )
        refused.headers["HX-Push-Url"] = "/messages"
        return refused
    log.info("message %s added by %s", taken.message.id, staff.actor)
    return _see(f"/messages/{taken.message.id}", done="message_added")


async def _message_looked(
    message_id: Annotated[str, PathParam(max_length=32)], staff: StaffPage, db: DatabaseDep
) -> None:
    """An e-mail's page: a look at every case a page of its files counts for, each time."""
    case_ids = await db.read(review.cases_of_message, message_id)
    await _looked(db, case_ids, staff.actor, "message", message_id=message_id)


@router.get("/messages/{message_id}", response_class=HTMLResponse)
def message(
    message_id: Annotated[str, PathParam(max_length=32)],
    request: Request,
    staff: StaffPage,
    _: Annotated[None, Depends(_message_looked)],
    session: ReadSessionDep,
) -> Response:
    found = review.messages(session, limit=1, offset=0, message_id=message_id)
    if not found.messages:
        return _page(
            request,
            "office_message.html",
            {
                "heading": _words(request).gettext("No such message"),
                "problem": _words(request).gettext("This message was not found."),
            },
            staff=staff,
            session=session,
            status=404,
        )
    return _page(
        request,
        "office_messages.html",
        {"section": "messages", "found": found, "one": message_id, "newer": None, "older": None},
        staff=staff,
        session=session,
    )


# --- e-mails to the parties ---------------------------------------------------------------------


@router.get("/mail", response_class=HTMLResponse)
def mail_notices(
    request: Request,
    staff: StaffPage,
    session: ReadSessionDep,
    settings: SettingsDep,
    status: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _mail_page(request, session, settings, staff, status, page)


def _mail_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Caller,
    status: str,
    page: int,
    *,
    problem: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    status = status if status in mail_out.STATUSES else ""
    found = mail_out.list_notices(
        session,
        status=status or None,
        case_id=None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return _page(
        request,
        "office_mail.html",
        {
            "section": "mail",
            "here": "/mail?" + urlencode({"status": status, "page": page}),
            "found": found,
            "status": status,
            "configured": bool(settings.smtp_url),
            "newer": page - 1 if page > 1 else None,
            "older": page + 1 if page * PAGE_SIZE < found.count else None,
            "problem": problem,
        },
        staff=staff,
        session=session,
        status=code,
    )


@router.post("/mail/{notice_id}/resend")
def resend_mail(
    notice_id: Annotated[str, PathParam(max_length=32)],
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        staff_actions.resend_mail(session, runtime, notice_id, actor=staff.actor)
    except CesjaError as err:
        session.rollback()
        refused = _mail_page(
            request,
            session,
            runtime.settings,
            staff,
            "",
            1,
            problem=_words(request)
            .gettext(NOTHING_CHANGED)
            .format(why=_words(request).refusal(err)),
            code=err.http_status,
        )
        refused.headers["HX-Push-Url"] = "/mail"
        return refused
    return _see("/mail", status="pending", done="mail_resent")


# --- jobs given up -----------------------------------------------------------------------------


@router.get("/jobs", response_class=HTMLResponse)
def given_up_jobs(
    request: Request,
    staff: StaffPage,
    session: SessionDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    found = work.given_up_jobs(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return _page(
        request,
        "office_jobs.html",
        {
            "section": "jobs",
            "given_up": found,
            "retention_days": request.app.state.runtime.settings.job_retention_days,
            "page": page,
            "newer": page - 1 if page > 1 else None,
            "older": page + 1 if page * PAGE_SIZE < found.count else None,
        },
        staff=staff,
        session=session,
    )


# --- transfer-ready notices -------------------------------------------------------------------


@router.get("/webhooks", response_class=HTMLResponse)
def notices(
    request: Request, staff: StaffPage, session: ReadSessionDep, status: str = ""
) -> Response:
    return _notices_page(request, session, staff, status)


def _notices_page(
    request: Request,
    session: Session,
    staff: Caller,
    status: str,
    *,
    problem: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    status = status if status in NOTICE_STATUSES else ""
    return _page(
        request,
        "office_webhooks.html",
        {
            "section": "webhooks",
            "here": "/webhooks?" + urlencode({"status": status}),
            "deliveries": review.notices(session, status=status or None),
            "status": status,
            "problem": problem,
        },
        staff=staff,
        session=session,
        status=code,
    )


@router.post("/webhooks/{delivery_id}/resend")
def resend_notice(
    delivery_id: str,
    request: Request,
    staff: StaffPost,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        staff_actions.resend_notice(session, runtime, delivery_id, actor=staff.actor)
    except CesjaError as err:
        session.rollback()
        refused = _notices_page(
            request,
            session,
            staff,
            "",
            problem=_words(request)
            .gettext(NOTHING_CHANGED)
            .format(why=_words(request).refusal(err)),
            code=err.http_status,
        )
        refused.headers["HX-Push-Url"] = "/webhooks"
        return refused
    return _see("/webhooks", done="resent")
