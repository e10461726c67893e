"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from brigades.errors import DomainError
from brigades.ratelimit.local import ClientRef, LocalRateLimiter
from brigades.settings import Settings
from brigades.web.groupcommit import GroupCommit, group_commit_of

T = TypeVar("T")


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    """The app's database engine."""
    engine: Engine = request.app.state.engine
    return engine


# Finishing a transaction (commit or rollback, then returning the connection to the pool) runs on
# its own thread limiter. If it shared the route handlers' limiter, requests that finished their
# handler could wait for a thread while holding a connection, and handlers waiting for a
# connection would hold every thread: a deadlock that shows under load as pool time-outs.
_FINISH_LIMITER = anyio.CapacityLimiter(64)


def _finish(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    session = Session(get_engine(request), expire_on_commit=False)
    try:
        yield session
    except DomainError as exc:
        keep = exc.keep_changes
        await anyio.to_thread.run_sync(
            lambda: _finish(session, commit=keep), limiter=_FINISH_LIMITER
        )
        raise
    except BaseException:
        await anyio.to_thread.run_sync(
            lambda: _finish(session, commit=False), limiter=_FINISH_LIMITER
        )
        raise
    else:
        await anyio.to_thread.run_sync(
            lambda: _finish(session, commit=True), limiter=_FINISH_LIMITER
        )


def client_address(request: Request) -> str:
    """The client's address, for rate limits (X-Forwarded-For only behind a trusted proxy)."""
    if get_settings(request).trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def client_ref(request: Request) -> ClientRef:
    """The calling client with the app's in-memory per-client limiter."""
    limiter: LocalRateLimiter = request.app.state.client_limiter
    return ClientRef(address=client_address(request), limiter=limiter)


class Transaction:
    """One request's unit of work run in ONE worker thread: session, work, commit or rollback.

    For hot routes declared ``async``: the route's work and the commit share one thread hop,
    where a sync route with :data:`SessionDep` takes two (the handler, then the commit). The
    transaction rules are those of :func:`get_session`: committed when the work returns, kept
    for a DomainError that says so, rolled back on any other error.
    """

    def __init__(
        self,
        new_session: Callable[[], Session],
        *,
        close: bool = True,
        group: GroupCommit | None = None,
    ) -> None:
        self._new_session = new_session
        self._close = close  # False for a session owned by someone else (a test's)
        self._group = group

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a worker thread, then the commit; its result.

        With a :class:`~brigades.web.groupcommit.GroupCommit`, the work shares its thread hop
        and COMMIT with the concurrent requests' (in its own SAVEPOINT, same rules).
        """
        if self._group is not None:
            return await self._group.run(work)
        return await anyio.to_thread.run_sync(self._run, work)

    def _run(self, work: Callable[[Session], T]) -> T:
        # No separate limiter is needed for the commit (see _FINISH_LIMITER): the thread that
        # holds the connection is the one that finishes with it.
        session = self._new_session()
        try:
            result = work(session)
        except DomainError as exc:
            self._finish(session, commit=exc.keep_changes)
            raise
        except BaseException:
            self._finish(session, commit=False)
            raise
        self._finish(session, commit=True)
        return result

    def _finish(self, session: Session, *, commit: bool) -> None:
        if self._close:
            _finish(session, commit=commit)
        elif commit:
            session.commit()
        else:
            session.rollback()


async def get_transaction(request: Request) -> Transaction:
    """A runner for the request's one transaction (see :class:`Transaction`), grouped."""
    engine = get_engine(request)
    return Transaction(
        lambda: Session(engine, expire_on_commit=False), group=group_commit_of(request.app)
    )


# The dependencies below are coroutines although they do no I/O: FastAPI runs a plain ``def``
# dependency in the thread pool, a thread hop per dependency per request.
async def _settings(request: Request) -> Settings:
    return get_settings(request)


async def _client(request: Request) -> ClientRef:
    return client_ref(request)


async def _client_address(request: Request) -> str:
    return client_address(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
# scope="function": the commit happens before the response is sent, so a client never sees a
# success for a transaction that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
TransactionDep = Annotated[Transaction, Depends(get_transaction)]
ClientAddressDep = Annotated[str, Depends(_client_address)]
ClientDep = Annotated[ClientRef, Depends(_client)]
