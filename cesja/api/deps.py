"""Request dependencies: settings, the database session, and who is calling in which role."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from cesja.config import Role, Settings
from cesja.errors import CesjaError
from cesja.runtime import Runtime


class Unauthenticated(CesjaError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(CesjaError):
    code = "forbidden"
    http_status = 403


@dataclass(frozen=True)
class Caller:
    """Who is calling: a role and a stable, non-secret name for the audit trail."""

    role: Role
    actor: str


# Dependencies that do no I/O are async: FastAPI runs a sync one in the thread pool, a hop
# between threads that cost more than what it does.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for a route that writes: its transaction holds the write lock from its start."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_read_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for a route that only reads: it takes no lock and runs beside the writers."""
    with Session(runtime.read_engine, expire_on_commit=False) as session:
        yield session


# scope="function": the transaction commits before the answer is sent, so a failed commit is
# never hidden behind a 200 and the next request sees what this one wrote; a read gives its
# connection back before the answer is sent, too.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)


def caller_for_key(settings: Settings, key: str) -> Caller | None:
    """The caller a key belongs to; compared in constant time so keys cannot be timed out."""
    found: Role | None = None
    for known, role in settings.role_of_key.items():
        if hmac.compare_digest(known.encode(), key.encode()):
            found = role
    if found is None:
        return None
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:8]
    return Caller(role=found, actor=f"{found}:{fingerprint}")


async def get_caller(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <API key>")
    caller = caller_for_key(settings, credentials.credentials)
    if caller is None:
        raise Unauthenticated("unknown API key")
    return caller


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        if caller.role not in roles:
            raise Forbidden(
                f"the {caller.role} role may not do this; it needs {' or '.join(roles)}"
            )
        return caller

    return check


RegistrarOrStaff = Annotated[Caller, Depends(require("registrar", "staff"))]
Staff = Annotated[Caller, Depends(require("staff"))]
Registrar = Annotated[Caller, Depends(require("registrar"))]
IntakeOrStaff = Annotated[Caller, Depends(require("intake", "staff"))]
