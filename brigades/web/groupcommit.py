"""Group commit for hot write routes: concurrent requests share one transaction and one COMMIT.

A sign-up surge is thousands of small transactions a second, each paying a thread hop, a BEGIN
and a COMMIT (a WAL flush). Here the units of work that arrive while a batch is being written
queue up and run together as the next batch, in one worker thread and one transaction: each unit
in its own SAVEPOINT, so a unit that fails takes back only its own writes, then one COMMIT for
all. Every request is answered only after its batch is committed, so a 2xx is never followed by
a lost write; when the COMMIT (or the connection) fails, every unit of that batch fails with
that error and nothing of the batch is written (the client sees a 503 and retries). When idle a
unit is written at once: no timer, no added latency.

The transaction rules per unit are those of :class:`brigades.deps.Transaction`: its changes are
kept when it returns, kept for a :class:`~brigades.errors.DomainError` that says so
(``keep_changes``: a rate-limit count), taken back on any other error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.applications import Starlette

from brigades.errors import DomainError
from brigades.web.raw import per_loop

T = TypeVar("T")

# Units per transaction at most; beyond it the rest waits for the next batch.
MAX_BATCH = 64

Work = Callable[[Session], Any]


@dataclass(slots=True)
class _Unit(Generic[T]):
    work: Callable[[Session], T]
    done: asyncio.Future[T]


@dataclass(frozen=True, slots=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs the units of work of one event loop's concurrent requests in shared transactions."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._pending: list[_Unit[Any]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed or attempted (for tests and metrics)
        self.units = 0

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in the next batch's transaction; its result once committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Unit(work, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all())
        return await done

    async def _write_all(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            fatal: BaseException | None = None
            try:
                outcomes = await anyio.to_thread.run_sync(self._write, [u.work for u in batch])
            except BaseException as exc:  # the thread hop itself failed (cancelled at shutdown)
                outcomes = [_Outcome(error=exc)] * len(batch)
                fatal = None if isinstance(exc, Exception) else exc
            for unit, outcome in zip(batch, outcomes, strict=True):
                _settle(unit, outcome)
            if fatal is not None:
                raise fatal

    def _write(self, works: list[Work]) -> list[_Outcome]:
        self.batches += 1
        self.units += len(works)
        session = Session(self._engine, expire_on_commit=False)
        try:
            outcomes = [_unit(session, work) for work in works]
            session.commit()
        except Exception as exc:
            # The transaction is gone (a failed COMMIT, a lost connection): so is every unit.
            _quietly_rollback(session)
            return [_Outcome(error=exc)] * len(works)
        finally:
            session.close()
        return outcomes


def _unit(session: Session, work: Work) -> _Outcome:
    """One unit in its own SAVEPOINT; a connection-level failure propagates (fails the batch)."""
    savepoint = session.begin_nested()
    try:
        value = work(session)
        session.flush()
    except DomainError as exc:
        if exc.keep_changes:
            savepoint.commit()
        else:
            savepoint.rollback()
        return _Outcome(error=exc)
    except Exception as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise  # the connection is lost: the transaction, and so the batch, with it
        try:
            savepoint.rollback()
        except Exception:
            # The connection itself is gone: the batch fails, with the real cause (a lost
            # connection answers 503, not the follow-up "pending rollback" error).
            raise exc from None
        return _Outcome(error=exc)
    savepoint.commit()
    return _Outcome(value=value)


def _quietly_rollback(session: Session) -> None:
    with contextlib.suppress(Exception):  # the connection may be gone; the pool discards it
        session.rollback()


def _settle(unit: _Unit[Any], outcome: _Outcome) -> None:
    if unit.done.done():  # the request was cancelled (client gone)
        return
    if outcome.error is not None:
        unit.done.set_exception(outcome.error)
    else:
        unit.done.set_result(outcome.value)


def group_commit_of(app: Starlette) -> GroupCommit:
    """The app's group commit for the running event loop (futures belong to one loop)."""
    return per_loop(app, "group_commits", lambda: GroupCommit(app.state.engine))
