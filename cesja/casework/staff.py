"""Staff accounts: a person signs in to the back office with a username and a password, and
what they decide is recorded under their own name, not under a key several people share.

Passwords are kept as argon2id hashes (argon2-cffi's defaults: 64 MiB, three passes), never
in the clear; an unknown or disabled username costs the same hash as a wrong password, so
the answer's timing does not tell which usernames exist. API keys stay for machines.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from cesja.db.models import StaffRow, StaffSessionRow, utcnow
from cesja.errors import BadInput, NotFound
from cesja.text import unprintable

USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# A person's actor in the audit trail; a key's is `staff:<fingerprint>`, never with "@".
PERSON = "staff:@"

_hasher = PasswordHasher()


class StaffAccountRefused(BadInput):
    code = "staff_account_refused"


def actor_of(username: str) -> str:
    return PERSON + username


def username_of(actor: str) -> str | None:
    """The username an actor names, or None for an actor that is not a person's."""
    return actor.removeprefix(PERSON) if actor.startswith(PERSON) else None


def add_staff(session: Session, username: str, name: str, password: str) -> StaffRow:
    """A new account, active, in the caller's transaction."""
    if not USERNAME.fullmatch(username):
        raise StaffAccountRefused(
            "a username is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-', "
            "beginning with a letter"
        )
    if session.get(StaffRow, username) is not None:
        raise StaffAccountRefused(f"there is already an account {username}")
    name = name.strip()
    if not name or len(name) > 200 or unprintable(name) is not None:
        raise StaffAccountRefused("give the person's name, one line of up to 200 characters")
    now = utcnow()
    row = StaffRow(
        username=username,
        name=name,
        password_hash=_hash(password),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def reset_password(session: Session, username: str, password: str) -> StaffRow:
    """A new password; the account is active again."""
    row = _account(session, username)
    row.password_hash, row.active, row.updated_at = _hash(password), True, utcnow()
    session.add(row)
    return row


def disable(session: Session, username: str) -> StaffRow:
    """The account can no longer sign in, and its open sessions end at their next request."""
    row = _account(session, username)
    row.active, row.updated_at = False, utcnow()
    session.add(row)
    session.execute(delete(StaffSessionRow).where(col(StaffSessionRow.actor) == actor_of(username)))
    return row


def accounts(session: Session) -> list[StaffRow]:
    return list(session.exec(select(StaffRow).order_by(col(StaffRow.username))))


def authenticate(session: Session, username: str, password: str) -> StaffRow | None:
    """The active account these credentials open, or None."""
    row = session.get(StaffRow, username) if USERNAME.fullmatch(username) else None
    if row is None or not row.active:
        _verify(_unknown_hash(), password)  # as long as a wrong password takes
        return None
    return row if _verify(row.password_hash, password) else None


def is_active(session: Session, username: str) -> bool:
    row = session.get(StaffRow, username)
    return row is not None and row.active


# --- sessions in the back office ---------------------------------------------------------------

# A session id as the browser holds it: 32 random bytes, URL-safe base64 without padding.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(session: Session, actor: str, *, lifetime: timedelta, language: str) -> str:
    """A new session for a member of staff who has just proved who they are, in the language
    they signed in in; its id, for the browser's cookie. Sessions that have run out are
    forgotten on the way."""
    now = utcnow()
    session.execute(delete(StaffSessionRow).where(col(StaffSessionRow.expires_at) < now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        StaffSessionRow(
            digest=_digest(session_id),
            actor=actor,
            created_at=now,
            expires_at=now + lifetime,
            language=language,
        )
    )
    return session_id


def open_session_of(session: Session, session_id: str) -> StaffSessionRow | None:
    """The session still open that `session_id` names, or None for any other value a browser
    sends."""
    if not SESSION_ID.fullmatch(session_id):
        return None
    digest = _digest(session_id)
    # Looked up by the id's hash, compared in constant time: how long the look-up takes says
    # nothing about the ids that exist.
    row = session.get(StaffSessionRow, digest)
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    if row.expires_at <= utcnow():
        return None
    return row


def set_language(session: Session, session_id: str, language: str) -> bool:
    """The back office speaks `language` in this session from now on; False when the session
    is not open."""
    row = open_session_of(session, session_id)
    if row is None:
        return False
    row.language = language
    session.add(row)
    return True


def end_session(session: Session, session_id: str) -> None:
    """Sign out: the session is gone from the server, whoever still holds its cookie."""
    if SESSION_ID.fullmatch(session_id):
        session.execute(
            delete(StaffSessionRow).where(col(StaffSessionRow.digest) == _digest(session_id))
        )


def _account(session: Session, username: str) -> StaffRow:
    row = session.get(StaffRow, username)
    if row is None:
        raise NotFound(f"no staff account {username}")
    return row


def _hash(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffAccountRefused(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters; a sentence of a few "
            "words is easy to remember"
        )
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False


@cache
def _unknown_hash() -> str:
    return _hasher.hash("the hash an unknown username is checked against")
