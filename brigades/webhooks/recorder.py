"""Group commit for inbound SMS: a burst of webhook requests is recorded in few transactions.

Each ``POST /webhooks/twilio/sms`` waits until its row is committed before it answers 200, so an
acknowledged message is never lost (a failed commit fails every request of its batch, and
Twilio retries them). While one batch is being written, the requests that arrive queue up and
are written together as the next batch: under load a transaction records many messages, when
idle a message is written at once (no timer, no added latency).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Protocol, cast

import anyio
from fastapi import Depends
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request

from brigades.conversation.inbound import record_inbound_rows
from brigades.web.raw import overridden, per_loop

# Rows per transaction at most (one multi-row insert; Twilio's bodies are at most 1,600 chars).
MAX_BATCH = 200

_Pending = tuple[Mapping[str, object], "asyncio.Future[int | None]"]


class InboundRecorder:
    """Records inbound rows for concurrent requests of one event loop, batch by batch."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, row: Mapping[str, object]) -> int | None:
        """Record one row once it is committed; its id, or None for a SID recorded before."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int | None] = loop.create_future()
        self._pending.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                ids = await anyio.to_thread.run_sync(self._write, [row for row, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), row_id in zip(batch, ids, strict=True):
                if not done.done():
                    done.set_result(row_id)

    def _write(self, rows: list[Mapping[str, object]]) -> list[int | None]:
        with self._engine.begin() as connection:
            return record_inbound_rows(connection, rows)


class Recorder(Protocol):
    """Something that records an inbound row and answers once it is committed."""

    async def record(self, row: Mapping[str, object]) -> int | None: ...


async def recorder_for(request: Request) -> Recorder:
    """The app's recorder for the running event loop (one per loop: futures belong to one)."""
    return _loop_recorder(request.app)


def recorder_of(app: Starlette) -> Recorder:
    """:func:`recorder_for` for code outside FastAPI's dependencies (the raw SMS endpoint).

    Honours an override of :func:`recorder_for` (``app.dependency_overrides``, taking no
    arguments), so the raw endpoint and the route record through the same seam.
    """
    override = overridden(app, recorder_for)
    if override is not None:
        return cast(Recorder, override)
    return _loop_recorder(app)


def _loop_recorder(app: Starlette) -> InboundRecorder:
    return per_loop(app, "inbound_recorders", lambda: InboundRecorder(app.state.engine))


RecorderDep = Annotated[Recorder, Depends(recorder_for)]
