"""The back office's door: the staff cookie on every page and image, our own origin on every post.

A page asked for without a valid cookie sends the browser to the sign-in form; an image gets
401, since no person is looking at it to be sent anywhere. A post from another origin gets
403 before the cookie is even looked at.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlmodel import Session

from cesja.api.deps import Caller, SettingsDep, Unauthenticated, caller_for_key
from cesja.casework import staff
from cesja.config import Settings
from cesja.web.catalogue import language_or_default
from cesja.web.staff_session import same_origin, staff_from_cookie

SIGN_IN = "/sign-in"


class SignInNeeded(Exception):
    """No valid staff cookie: the browser goes to the sign-in form, then back to `after`."""

    def __init__(self, after: str):
        super().__init__(after)
        self.after = after

    @property
    def location(self) -> str:
        return f"{SIGN_IN}?next={quote(self.after, safe='/')}" if self.after != "/" else SIGN_IN


class ForeignOrigin(Exception):
    """A form post that did not come from our own pages."""


def signed_in(settings: Settings, request: Request) -> Caller | None:
    """The staff member whose open session the cookie names, while their account is active
    or their key is still a staff key; the session's language is the page's (`page_language`).

    Signing out ends the session; disabling an account, or removing a key from
    CESJA_API_KEYS, ends the sessions signed in with it at their next request.
    """
    engine = request.app.state.runtime.read_engine
    with Session(engine) as session:
        found = staff_from_cookie(session, request)
        if found is None:
            return None
        username = staff.username_of(found.caller.actor)
        if username is not None:
            active = staff.is_active(session, username)
    if username is None:
        active = any(
            role == "staff" and caller_for_key(settings, key) == found.caller
            for key, role in settings.role_of_key.items()
        )
    if not active:
        return None
    request.state.language = found.language
    return found.caller


def page_language(request: Request) -> str:
    """The language a back-office page speaks: the staff session's, or before signing in the
    one the sign-in page was asked in (`?lang=`); Polish by default."""
    chosen = getattr(request.state, "language", None) or request.query_params.get("lang")
    return language_or_default(chosen)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of ours, never another site."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith((SIGN_IN, "/api/")):
        return "/"
    return value


def _page_viewer(request: Request, settings: SettingsDep) -> Caller:
    caller = signed_in(settings, request)
    if caller is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(safe_next(here))
    return caller


def _image_viewer(request: Request, settings: SettingsDep) -> Caller:
    caller = signed_in(settings, request)
    if caller is None:
        raise Unauthenticated("sign in to the back office to see scans")
    return caller


def _form_poster(request: Request, settings: SettingsDep) -> Caller:
    if not same_origin(request):
        raise ForeignOrigin()
    caller = signed_in(settings, request)
    if caller is None:
        raise SignInNeeded("/")
    return caller


StaffPage = Annotated[Caller, Depends(_page_viewer)]
StaffImage = Annotated[Caller, Depends(_image_viewer)]
StaffPost = Annotated[Caller, Depends(_form_poster)]
