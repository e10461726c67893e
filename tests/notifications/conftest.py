"""Fixtures and test doubles for the notifications tests.

The worker opens its own sessions, so worker tests run on ``fresh_database`` (committed data)
with their own engine, never on the rolled-back ``session``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from notifications.models import OutboxMessage, Priority
from notifications.outbox import enqueue
from notifications.providers.base import OutboundSms, SendResult

hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)


@pytest.fixture
def db(fresh_database: str) -> Iterator[Engine]:
    """An engine on a throwaway committed database, for code that opens its own sessions."""
    engine = make_engine(fresh_database, pool_size=12)
    yield engine
    engine.dispose()


class RecordingProvider:
    """A double of an external SMS provider: takes every message and remembers it."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.sent: list[OutboundSms] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundSms) -> SendResult:
        with self._lock:
            self.sent.append(message)
        return SendResult(
            provider_sid=f"SM{message.outbox_id:08d}", status="queued", sender="+3197"
        )

    @property
    def sent_ids(self) -> list[int]:
        with self._lock:
            return [m.outbox_id for m in self.sent]

    def send_counts(self) -> Counter[int]:
        return Counter(self.sent_ids)


def queue(
    engine: Engine,
    clock: ManualClock,
    count: int = 1,
    *,
    provider: str = "console",
    priority: Priority | int = Priority.NOTICE,
    recipient: str = "+31612345678",
    body: str = "Test",
    subject_kind: str | None = None,
    subject_id: int | None = None,
    drill: bool = False,
    synthetic: bool = False,
    not_before: datetime | None = None,
) -> list[int]:
    """Commit ``count`` queued messages; their ids."""
    with session_scope(engine) as session:
        messages = [
            enqueue(
                session,
                recipient=recipient,
                body=body,
                now=clock.now(),
                provider=provider,
                priority=priority,
                subject_kind=subject_kind,
                subject_id=subject_id,
                drill=drill,
                synthetic=synthetic,
                not_before=not_before,
            )
            for _ in range(count)
        ]
        session.flush()
        return [m.id for m in messages if m.id is not None]


def load(engine: Engine, outbox_id: int) -> OutboxMessage:
    """The committed state of one message."""
    with Session(engine) as session:
        message = session.get(OutboxMessage, outbox_id)
        assert message is not None
        session.expunge(message)
        return message


def load_all(engine: Engine) -> list[OutboxMessage]:
    """Every committed message, by id."""
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]
        for row in rows:
            session.expunge(row)
        return rows
