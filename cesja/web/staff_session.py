"""Staff sign in to the web UI with their own account (or a staff API key); the browser then
holds the id of a session the server keeps, with the language the back office speaks in it.

The cookie holds a random session id and nothing else: the server keeps its hash with whom
it names and until when (`cesja.casework.staff`), so signing out ends the session on the
server, and a copied cookie stops working with it. It is HttpOnly and SameSite=Strict, and
every form post must come from our own origin.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from cesja.api.deps import Caller, caller_for_key
from cesja.casework import staff
from cesja.config import Settings
from cesja.web.catalogue import language_or_default

COOKIE = "cesja_staff"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class SignedIn:
    """A member of staff whose open session the cookie names, and the language it speaks."""

    caller: Caller
    language: str


def sign_in(
    settings: Settings, engine: Engine, key: str, language: str
) -> tuple[Caller, str] | None:
    """The staff caller and cookie value for a key, or None if the key is not a staff key."""
    caller = caller_for_key(settings, key)
    if caller is None or caller.role != "staff":
        return None
    return caller, _open(engine, caller, language)


def sign_in_person(engine: Engine, username: str, language: str) -> tuple[Caller, str]:
    """The caller and cookie value of a person whose password was checked."""
    caller = Caller(role="staff", actor=staff.actor_of(username))
    return caller, _open(engine, caller, language)


def _open(engine: Engine, caller: Caller, language: str) -> str:
    with Session(engine) as session:
        session_id = staff.open_session(
            session,
            caller.actor,
            lifetime=timedelta(seconds=LIFETIME_SECONDS),
            language=language_or_default(language),
        )
        session.commit()
    return session_id


def staff_from_cookie(session: Session, request: Request) -> SignedIn | None:
    """The staff member whose open session the cookie names, or None for any other value: a
    browser may send any bytes at all, and none of them may be more than "signed out"."""
    value = request.cookies.get(COOKIE)
    found = staff.open_session_of(session, value) if value else None
    if found is None or not found.actor.startswith("staff:"):
        return None
    return SignedIn(Caller(role="staff", actor=found.actor), language_or_default(found.language))


def speak(engine: Engine, request: Request, language: str) -> bool:
    """The session the cookie names speaks `language` from now on; False when none is open."""
    value = request.cookies.get(COOKIE)
    if not value:
        return False
    with Session(engine) as session:
        changed = staff.set_language(session, value, language_or_default(language))
        session.commit()
    return changed


def end_session(engine: Engine, request: Request) -> None:
    """The session the cookie names ends on the server."""
    value = request.cookies.get(COOKIE)
    if value:
        with Session(engine) as session:
            staff.end_session(session, value)
            session.commit()


def same_origin(request: Request) -> bool:
    """A form post from our own pages (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin")
    return origin.rstrip("/") == str(request.base_url).rstrip("/")


# Failed sign-ins one username, or one address, may have within the window before it waits
# out the rest of it: a password guessed at is slowed to a crawl, and each try costs an argon2
# hash (64 MiB, tens of milliseconds). Kept per API process.
FAILED_PER_USERNAME = 10
FAILED_PER_ADDRESS = 50
THROTTLE_WINDOW_SECONDS = 15 * 60


class SignInThrottle:
    """Failed sign-ins lately, by username and by the address they came from."""

    def __init__(self) -> None:
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, username: str | None, address: str) -> bool:
        """`username` None: a sign-in with a key, judged by its address alone."""
        with self._lock:
            return (
                username is not None and self._recent(f"user:{username}") >= FAILED_PER_USERNAME
            ) or self._recent(f"addr:{address}") >= FAILED_PER_ADDRESS

    def failed(self, username: str | None, address: str) -> None:
        now = time.monotonic()
        keys = [f"addr:{address}"] + ([f"user:{username}"] if username is not None else [])
        with self._lock:
            for key in keys:
                self._failed.setdefault(key, deque()).append(now)
                self._recent(key)
            if len(self._failed) > 100_000:  # a flood of made-up names: forget the oldest
                for key in list(self._failed)[:50_000]:
                    del self._failed[key]

    def _recent(self, key: str) -> int:
        times = self._failed.get(key)
        if not times:
            return 0
        while times and times[0] < time.monotonic() - THROTTLE_WINDOW_SECONDS:
            times.popleft()
        return len(times)
