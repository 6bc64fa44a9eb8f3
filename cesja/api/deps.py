"""Request dependencies: settings, the database session, and who is calling in which role."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlmodel import Session

from cesja.api.turns import give_turn_back
from cesja.config import Role, Settings
from cesja.db import LOCK_WAIT_SECONDS
from cesja.errors import CesjaError, DatabaseUnavailable, database_unavailable
from cesja.runtime import Runtime

P = ParamSpec("P")
T = TypeVar("T")


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


# The most writes one turn commits together: a bound on how long one transaction holds
# SQLite's lock (a create costs about 3 ms of CPU).
WRITES_TOGETHER = 32


@dataclass(eq=False)
class _Write:
    """One request's unit of work, waiting for a turn to be committed with the others."""

    work: Callable[[Session], Any]
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    result: Any = None
    error: BaseException | None = None


@dataclass
class _WriteTurns:
    """SQLite's one writer, as this API process queues for it: a lock taken in the event loop
    and the writes waiting for it."""

    loop: asyncio.AbstractEventLoop
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: list[_Write] = field(default_factory=list)
    committer: asyncio.Task[None] | None = None


def _turns(request: Request) -> _WriteTurns:
    loop = asyncio.get_running_loop()
    turns: _WriteTurns | None = getattr(request.app.state, "write_turns", None)
    if turns is None or turns.loop is not loop:
        turns = request.app.state.write_turns = _WriteTurns(loop)
    return turns


@asynccontextmanager
async def _write_turn(request: Request, runtime: Runtime) -> AsyncIterator[None]:
    """On SQLite, a request that writes waits here, in the event loop, for the one before it
    to commit.

    SQLite has one writer at a time. Left to its lock, writers would wait in the thread pool's
    threads, polling it with growing sleeps; with every thread so waiting, a writer that
    holds the lock and needs one more thread to finish its answer before it commits (a route
    with SessionDep) could not get it, and all of them waited out the lock's timeout. Queued
    here they hold no thread, and come in the order they arrived. PostgreSQL locks rows, not
    the database: writers there run at once.
    """
    if runtime.engine.dialect.name != "sqlite":
        yield
        return
    give_turn_back()  # what is left is waiting, then the writing, in a thread of its own
    turn = _turns(request).lock
    try:
        async with asyncio.timeout(LOCK_WAIT_SECONDS):
            await turn.acquire()
    except TimeoutError:
        raise DatabaseUnavailable(
            f"other requests have been writing to the database for {LOCK_WAIT_SECONDS:.0f} s; "
            f"try again in {DatabaseUnavailable.retry_after_seconds} seconds"
        ) from None
    try:
        yield
    finally:
        turn.release()


async def write_turn(request: Request, runtime: RuntimeDep) -> AsyncIterator[None]:
    async with _write_turn(request, runtime):
        yield


@dataclass(frozen=True)
class Database:
    """A request's database, in units of work: `await db.read(work, *args)` runs
    `work(session, *args)` in a session and transaction of its own, and `db.write` commits
    before it returns.

    A unit crosses between threads at most once (a sync route with SessionDep crosses four
    times, 0.2 ms of CPU each), and a write commits in the thread that wrote, so it never
    holds SQLite's lock while its request waits for another thread.

    On SQLite, writes are committed together: the process's one committer, in the event
    loop's thread, runs every write then waiting, each in a savepoint of one transaction, and
    commits them at once. A commit there waits for the disk (`synchronous=FULL`), and one at a
    time bounded the writes to one per disk flush; a write that fails rolls back its own
    savepoint and leaves the others be.
    Before, each waiting request took the write turn in its own turn only to find its write
    done: a batch every 250 ms, where one takes 80 (bench/load.py: creates' median 300 ms →
    80 ms in the writing).
    """

    request: Request
    runtime: Runtime

    async def read(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A read by key or index. On SQLite it runs at once, in this thread: a millisecond of
        CPU there, which a crossing to a thread and back cost again, with a share of the
        interpreter lock for every other thread (bench/load.py: about 320 → 410 requests/s)."""
        if self.runtime.engine.dialect.name == "sqlite":
            return self._read(work, *args, **kwargs)
        return await self.search(work, *args, **kwargs)

    async def search(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A read that may go through a whole table: in the thread pool, where SQLite, too,
        lets the event loop go on while it looks."""
        return await anyio.to_thread.run_sync(partial(self._read, work, *args, **kwargs))

    async def write(
        self, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        def unit(session: Session) -> T:
            return work(session, *args, **kwargs)

        if self.runtime.engine.dialect.name != "sqlite":
            # It keeps its turn: most of a write here is its own CPU (a create, 5 ms) and a
            # commit that waits for the disk a fraction of a millisecond. Handed to the next
            # request in line, the turn let a fourth run beside it, all taking the interpreter
            # by turns (bench/load.py, three pairs of runs: 369-417 -> 421-445 requests/s, p99
            # 193-198 -> 174-185 ms, creates' 207-211 -> 175-197). One waiting for a row lock
            # holds its turn as long, LOCK_WAIT_SECONDS at most.
            return await anyio.to_thread.run_sync(self._write, unit)
        return await self._write_together(_Write(unit))  # type: ignore[no-any-return]

    def _read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with Session(self.runtime.read_engine, expire_on_commit=False) as session:
            return work(session, *args, **kwargs)

    def _write(self, work: Callable[[Session], T]) -> T:
        with Session(self.runtime.engine, expire_on_commit=False) as session:
            done = work(session)
            session.commit()
            return done

    async def _write_together(self, write: _Write) -> Any:
        turns = _turns(self.request)
        turns.waiting.append(write)
        if turns.committer is None or turns.committer.done():
            # A task of its own, not the request's: a client that leaves stops nobody's write.
            turns.committer = asyncio.ensure_future(self._commit_waiting(turns))
        try:
            async with asyncio.timeout(LOCK_WAIT_SECONDS):
                await write.finished.wait()
        except (TimeoutError, asyncio.CancelledError) as stopped:
            if write in turns.waiting:  # not taken yet: it will not be written
                turns.waiting.remove(write)
                if isinstance(stopped, asyncio.CancelledError):
                    raise
                raise DatabaseUnavailable(
                    f"other requests have been writing to the database for "
                    f"{LOCK_WAIT_SECONDS:.0f} s; try again in "
                    f"{DatabaseUnavailable.retry_after_seconds} seconds"
                ) from None
            if isinstance(stopped, asyncio.CancelledError):
                raise  # the client left; the batch that took this write commits it
            await write.finished.wait()  # taken by a batch that is still committing it
        if write.error is not None:
            raise write.error
        return write.result

    async def _commit_waiting(self, turns: _WriteTurns) -> None:
        """Commit what is waiting, a batch at a time, until nothing is: the process's one
        committer. Each batch waits for the write turn (a route with SessionDep may hold it)."""
        while turns.waiting:
            async with turns.lock:
                batch = turns.waiting[:WRITES_TOGETHER]
                del turns.waiting[:WRITES_TOGETHER]
                try:
                    await self._commit_together(batch)
                finally:
                    for each in batch:
                        each.finished.set()

    async def _commit_together(self, batch: list[_Write]) -> None:
        """Each write of the batch in a savepoint, all in one transaction, in the event loop's
        own thread: the loop waits for SQLite's lock without blocking, then writes and commits
        while no other request of this process runs.

        In a thread of its own the committer spent more time waiting for the interpreter's
        lock than writing (bench/load.py, a create's write: 16 ms to start in its thread, 17 to
        write 3 cases, 14 back to the request), while it held the lock every writer of every
        process waits for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT_SECONDS
        pause = 0.0002
        while True:
            session = Session(self.runtime.committer_engine, expire_on_commit=False)
            try:
                session.connection()  # BEGIN IMMEDIATE, at once or "database is locked"
                break
            except Exception as err:
                session.close()
                if not database_unavailable(err) or loop.time() >= deadline:
                    for write in batch:
                        write.error = err
                    return
            await asyncio.sleep(pause)  # another process writes: a millisecond, then again
            pause = min(pause * 2, 0.001)
        with session:
            try:
                for write in batch:
                    try:
                        with session.begin_nested():
                            write.result = write.work(session)
                    except Exception as err:  # this write's own failure, answered to it alone
                        write.error = err
                session.commit()
            except Exception as err:
                for write in batch:
                    write.error = write.error or err


async def get_database(request: Request, runtime: RuntimeDep) -> Database:
    return Database(request, runtime)


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_session(
    runtime: RuntimeDep, _turn: Annotated[None, Depends(write_turn, scope="function")]
) -> Iterator[Session]:
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


async def get_caller(
    request: Request,
    settings: SettingsDep,
    # Unused but for the OpenAPI document, which shows the bearer scheme on every call.
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return caller_from_header(settings, request.headers.get("authorization"))


# The roles each `require(...)` check lets through, so that `roles_of` can tell them from the
# route alone, before its body is read (cesja.api.auth): each route states its roles once.
_ROLES_OF_CHECK: dict[Callable[..., Awaitable[Caller]], tuple[Role, ...]] = {}


def require(*roles: Role) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only these roles through (403 for the others)."""

    async def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
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
