"""Request dependencies: settings, the database session, and who is calling in which role."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
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


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": the transaction commits before the answer is sent, so a failed commit is
# never hidden behind a 200 and the next request sees what this one wrote.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

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


def caller_from_header(settings: Settings, authorization: str | None) -> Caller:
    """The caller an Authorization header names; Unauthenticated when it names none we know.

    Read the way HTTPBearer reads it, so that the check before the body and the routes' own
    dependency say the same thing about the same header."""
    scheme, key = get_authorization_scheme_param(authorization)
    if not key or scheme.lower() != "bearer":
        raise Unauthenticated("send Authorization: Bearer <API key>")
    caller = caller_for_key(settings, key)
    if caller is None:
        raise Unauthenticated("unknown API key")
    return caller


def allowed(caller: Caller, roles: tuple[Role, ...]) -> Caller:
    """The caller, if its role is one of `roles`; Forbidden otherwise."""
    if caller.role not in roles:
        raise Forbidden(f"the {caller.role} role may not do this; it needs {' or '.join(roles)}")
    return caller


def get_caller(
    request: Request,
    settings: SettingsDep,
    # Unused but for the OpenAPI document, which shows the bearer scheme on every call.
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return caller_from_header(settings, request.headers.get("authorization"))


# The roles each `require(...)` check lets through, so that `roles_of` can tell them from the
# route alone, before its body is read (cesja.api.auth): each route states its roles once.
_ROLES_OF_CHECK: dict[Callable[..., Caller], tuple[Role, ...]] = {}


def require(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only these roles through (403 for the others)."""

    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        return allowed(caller, roles)

    _ROLES_OF_CHECK[check] = roles
    return check


def roles_of(route: APIRoute) -> tuple[Role, ...] | None:
    """The roles a route's `require(...)` lets through, or None when it has no such check."""
    found: tuple[Role, ...] | None = None
    todo = [route.dependant]
    while todo:
        dependant = todo.pop()
        todo.extend(dependant.dependencies)
        roles = _ROLES_OF_CHECK.get(dependant.call) if dependant.call is not None else None
        if roles is not None:
            found = roles if found is None else tuple(r for r in found if r in roles)
    return found


RegistrarOrStaff = Annotated[Caller, Depends(require("registrar", "staff"))]
Staff = Annotated[Caller, Depends(require("staff"))]
Registrar = Annotated[Caller, Depends(require("registrar"))]
IntakeOrStaff = Annotated[Caller, Depends(require("intake", "staff"))]
