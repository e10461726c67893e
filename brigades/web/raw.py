"""Shared pieces of the raw ASGI endpoints that answer hot paths in front of FastAPI's routing
(:mod:`brigades.webhooks.fastpath`, :mod:`brigades.volunteers.fastpath`)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from brigades.errors import DomainError, from_database_error, log_database_error

T = TypeVar("T")


class Disconnected(Exception):
    """The caller hung up before its whole body arrived."""


async def read_body(receive: Receive) -> bytes:
    """The whole request body (:class:`Disconnected` if the caller hangs up first)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app a body already read, then the caller's own messages."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def answer_error(
    exc: DomainError | SQLAlchemyError,
    scope: Scope,
    receive: Receive,
    send: Send,
    log: logging.Logger,
) -> None:
    """The JSON error answer of a machine path, as ``brigades.app``'s handlers give it.

    A database error is mapped as everywhere (503 unavailable, 507 full); one that maps to
    nothing is a bug and propagates to the server error handler (500).
    """
    if isinstance(exc, SQLAlchemyError):
        mapped = from_database_error(exc)
        if mapped is None:
            raise exc
        log_database_error(log, exc, mapped.status_code)
        exc = mapped
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    response = JSONResponse(exc.as_dict(), status_code=exc.status_code, headers=headers)
    await response(scope, receive, send)


def per_loop(app: Starlette, name: str, make: Callable[[], T]) -> T:
    """The app's one ``make()`` for the running event loop, kept in ``app.state.<name>``
    (a batcher's futures belong to one loop; tests run several loops over one app)."""
    by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] | None
    by_loop = getattr(app.state, name, None)
    if by_loop is None:
        by_loop = weakref.WeakKeyDictionary()
        setattr(app.state, name, by_loop)
    loop = asyncio.get_running_loop()
    found = by_loop.get(loop)
    if found is None:
        found = by_loop[loop] = make()
    return found


def overridden(app: Starlette, dependency: Callable[..., Any]) -> Any | None:
    """What an override of ``dependency`` (taking no arguments) gives, if the app has one:
    a raw endpoint honours the same seams as the route it stands in for."""
    overrides = getattr(app, "dependency_overrides", None)
    override = overrides.get(dependency) if overrides else None
    return override() if override is not None else None
