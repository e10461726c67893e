"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from brigades.errors import DomainError
from brigades.ratelimit.local import ClientRef, LocalRateLimiter
from brigades.settings import Settings


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


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a client never sees a
# success for a transaction that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClientAddressDep = Annotated[str, Depends(client_address)]
ClientDep = Annotated[ClientRef, Depends(client_ref)]
