"""Staff sign in to the web UI with their own account (or a staff API key); the browser then
holds a signed cookie.

The cookie holds the role and the person's username or the key's fingerprint, never the key
or the password. It is HttpOnly and
SameSite=Strict, and every form post must come from our own origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from fastapi import Request

from cesja.api.deps import Caller, caller_for_key
from cesja.casework import staff
from cesja.config import Settings

COOKIE = "cesja_staff"
LIFETIME_SECONDS = 8 * 3600
_EXPIRY = re.compile(r"[0-9]{1,12}")  # seconds since 1970, in ASCII digits


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, b"staff-session|" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_in(settings: Settings, key: str) -> tuple[Caller, str] | None:
    """The staff caller and cookie value for a key, or None if the key is not a staff key."""
    caller = caller_for_key(settings, key)
    if caller is None or caller.role != "staff":
        return None
    return caller, _cookie(settings, caller)


def sign_in_person(settings: Settings, username: str) -> tuple[Caller, str]:
    """The caller and cookie value of a person whose password was checked."""
    caller = Caller(role="staff", actor=staff.actor_of(username))
    return caller, _cookie(settings, caller)


def _cookie(settings: Settings, caller: Caller) -> str:
    payload = f"{caller.actor}|{int(time.time()) + LIFETIME_SECONDS}"
    return f"{payload}|{_mac(settings.secret, payload)}"


def staff_from_cookie(settings: Settings, request: Request) -> Caller | None:
    """The staff member a cookie we signed names, or None for any other value: a browser may
    send any bytes at all, and none of them may be more than "signed out"."""
    value = request.cookies.get(COOKIE)
    if not value or value.count("|") != 2:
        return None
    actor, expires, mac = value.split("|")
    # Compared as bytes: compare_digest refuses a str that is not ASCII.
    if not hmac.compare_digest(mac.encode(), _mac(settings.secret, f"{actor}|{expires}").encode()):
        return None
    if not _EXPIRY.fullmatch(expires) or int(expires) < time.time():
        return None
    if not actor.startswith("staff:"):
        return None
    return Caller(role="staff", actor=actor)


def same_origin(request: Request) -> bool:
    """A form post from our own pages (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin")
    return origin.rstrip("/") == str(request.base_url).rstrip("/")
