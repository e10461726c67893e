"""Twilio down for ten minutes: messages wait without using up their attempts, then all go out
once, most urgent first.

The outage is either the fake Twilio answering 503 to everything, or Twilio not reachable at all
(the worker talks to it through a TCP proxy that refuses connections). Ten minutes pass on the
test's manual clock; the worker runs a round every five seconds of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from notifications.models import MessageState, Priority
from notifications.outbox import enqueue
from notifications.worker import OutboxWorker
from tests.support.fake_twilio import FakeTwilio
from tests.support.tcp_proxy import TcpProxy
from tests.twilio.conftest import load_all, make_worker, twilio_settings

STEP = timedelta(seconds=5)
OUTAGE = timedelta(minutes=10)
PRIORITIES = [
    Priority.REMINDER,
    Priority.OFFER,
    Priority.ROLL_CALL,
    Priority.URGENT_OFFER,
    Priority.NOTICE,
    Priority.VERIFICATION,
]


@pytest.fixture
def db(fresh_database: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeTwilio]:
    with FakeTwilio(clock=clock.now) as server:
        yield server


def queue(engine: Engine, clock: ManualClock, first: int, count: int) -> None:
    """Queue ``count`` messages of mixed urgency, in no particular order, a second apart."""
    for i in range(first, first + count):
        with session_scope(engine) as session:
            enqueue(
                session,
                recipient=f"+3161000{i:04d}",
                body=f"Bericht {i}",
                now=clock.now(),
                provider="twilio",
                priority=PRIORITIES[(i * 5) % len(PRIORITIES)],
            )
        clock.advance(1)


def run_for(worker: OutboxWorker, clock: ManualClock, span: timedelta) -> None:
    """A worker round every STEP of manual time, for ``span``."""
    end = clock.now() + span
    while clock.now() < end:
        worker.run_once()
        clock.advance(STEP)


@pytest.mark.parametrize("outage", ["503", "refused"])
def test_ten_minutes_without_twilio_messages_wait_then_go_out_by_urgency(
    db: Engine,
    fresh_database: str,
    fake: FakeTwilio,
    clock: ManualClock,
    outage: str,
    request: pytest.FixtureRequest,
) -> None:
    with TcpProxy("127.0.0.1", fake.port) as proxy:
        settings = twilio_settings(
            fresh_database, fake, twilio_api_base_url=f"http://127.0.0.1:{proxy.port}"
        )
        worker = make_worker(settings, db, clock, batch_size=10)
        request.addfinalizer(worker.close)
        go_down: Callable[[], object] = fake.down if outage == "503" else proxy.cut
        come_back: Callable[[], object] = fake.up if outage == "503" else proxy.restore

        queue(db, clock, 0, 24)
        go_down()
        run_for(worker, clock, OUTAGE / 2)
        queue(db, clock, 24, 6)  # the incident goes on: more messages while Twilio is down
        run_for(worker, clock, OUTAGE / 2)

        during = load_all(db)
        assert {m.state for m in during} == {MessageState.QUEUED}
        assert all(m.attempts == 0 for m in during)  # the outage used up nobody's attempts
        assert worker.held_providers() == ["twilio"]
        if outage == "503":
            # One round found it down (a batch of sends); after that only checks, with backoff.
            assert fake.requests == 10
            assert 8 <= fake.account_requests <= 15
        assert fake.accepted() == []

        come_back()
        for _ in range(40):
            if all(m.state is MessageState.SENT for m in load_all(db)):
                break
            worker.run_once()
            clock.advance(STEP)
        # The hold ends within a minute: the queue is gone within one more (rate is no limit).
        messages = load_all(db)
        assert {m.state for m in messages} == {MessageState.SENT}
        assert worker.held_providers() == []

    received = fake.accepted()
    assert sorted(m.outbox_id or 0 for m in received) == sorted(m.id or 0 for m in messages)
    by_id = {m.id: m for m in messages}
    expected = sorted(messages, key=lambda m: (-m.priority, m.created_at, m.id or 0))
    assert [m.outbox_id for m in received] == [m.id for m in expected]
    assert [by_id[m.outbox_id].priority for m in received][:5] == [Priority.URGENT_OFFER] * 5


def test_a_message_that_fails_alone_while_twilio_answers_still_runs_out_of_attempts(
    db: Engine,
    fresh_database: str,
    fake: FakeTwilio,
    clock: ManualClock,
    request: pytest.FixtureRequest,
) -> None:
    # Twilio is up (its Account answers) but this one message keeps getting a 500: that is the
    # message's problem, not an outage, so it fails in the end instead of waiting for ever.
    settings = twilio_settings(fresh_database, fake, outbox_max_attempts=3)
    worker = make_worker(settings, db, clock)
    request.addfinalizer(worker.close)
    fake.faults.script = ["500"] * 3
    queue(db, clock, 0, 1)
    run_for(worker, clock, timedelta(minutes=2))
    [message] = load_all(db)
    assert message.state is MessageState.FAILED
    assert message.attempts == 3
    assert worker.held_providers() == []
