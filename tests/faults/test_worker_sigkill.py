"""SIGKILL the real worker process in the middle of a wave of 200 messages, start a new one.

``zorgbrigade worker`` runs as a subprocess against the fake Twilio over loopback (which does not
deduplicate: what it received is the truth) and the application's webhooks (status callbacks).
The test kills it from outside, at whatever point it happens to be, once a good part of the wave
is out; a second worker process takes over after the grace period. Afterwards every message was
received exactly once — a second copy would only be allowed if it was detected and reported as a
suspected duplicate — and none is lost.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from brigades.app import create_app
from brigades.db import make_engine, session_scope
from notifications.models import MessageState, Priority
from notifications.outbox import enqueue
from tests.conftest import make_settings
from tests.support.fake_twilio import FakeTwilio, ThreadedServer
from tests.support.live_server import free_port
from tests.twilio.conftest import (
    WorkerProcess,
    duplicates,
    load_all,
    wait_until,
    worker_env,
)

WAVE = 200
KILL_AFTER = 60  # messages Twilio has accepted when the worker is killed


@pytest.fixture
def db(fresh_database: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def wall_fake() -> Iterator[FakeTwilio]:
    """The fake on the wall clock (worker processes have no manual clock); status callbacks on."""
    with FakeTwilio(callbacks=True) as server:
        # A moment between Twilio taking a message and answering: the crash window is real.
        server.faults.delay_after_accept = 0.02
        yield server


@pytest.fixture
def app_server(fresh_database: str, wall_fake: FakeTwilio) -> Iterator[str]:
    """The application (its Twilio webhooks) on a loopback port; yields its public URL."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        fresh_database,
        twilio_account_sid=wall_fake.account_sid,
        twilio_auth_token=wall_fake.auth_token,
        public_url=public_url,
    )
    engine = make_engine(fresh_database, pool_size=4)
    with ThreadedServer(create_app(settings, engine=engine), port=port):
        yield public_url
    engine.dispose()


def queue_wave(engine: Engine) -> None:
    """A wave of offers, each to its own number, committed at once (as a dispatch wave is)."""
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for i in range(WAVE):
            enqueue(
                session,
                recipient=f"+3162{i:07d}",
                body=f"Zorgbrigade: kun je helpen? Antwoord JA {1000 + i}",
                now=now,
                provider="twilio",
                priority=Priority.OFFER,
            )


def test_a_worker_killed_mid_wave_loses_nothing_and_sends_nothing_twice(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio, app_server: str
) -> None:
    env = worker_env(
        fresh_database,
        wall_fake,
        app_server,
        ZB_WORKER_BATCH_SIZE="10",
        ZB_WORKER_CONCURRENCY="5",
        # Short time-outs so that the grace period (which must outlast a batch) is seconds.
        ZB_TWILIO_CONNECT_TIMEOUT_SECONDS="0.5",
        ZB_TWILIO_READ_TIMEOUT_SECONDS="0.5",
        ZB_WORKER_SENDING_GRACE_SECONDS="4",
        # About two seconds for the wave: time to be killed in the middle of it.
        ZB_SMS_RATE_PER_SECOND="100",
        ZB_SMS_RATE_BURST="10",
    )
    queue_wave(db)

    first = WorkerProcess(env)
    try:
        first.wait_started()
        assert wait_until(lambda: len(wall_fake.accepted()) >= KILL_AFTER, timeout=60)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.wait_killed()
    finally:
        first.stop()
    at_kill = len(wall_fake.accepted())
    assert at_kill < WAVE, "the wave was over before the kill: nothing was tested"
    left_sending = sum(m.state is MessageState.SENDING for m in load_all(db))

    second = WorkerProcess(env)
    try:
        second.wait_started()
        done = (MessageState.SENT, MessageState.DELIVERED)
        assert wait_until(lambda: all(m.state in done for m in load_all(db)), timeout=120), (
            second.log
        )
        # Callbacks still on their way settle into delivered; wait for the fake's to finish.
        wall_fake.wait_for(lambda f: len(f.callback_log) >= 2 * len(f.accepted()), timeout=30)
    finally:
        second.stop()

    messages = load_all(db)
    assert len(messages) == WAVE
    assert all(m.state in (MessageState.SENT, MessageState.DELIVERED) for m in messages)
    received = wall_fake.per_outbox_id()
    reported = {d.outbox_id for d in duplicates(db)}
    for message in messages:
        copies = received[message.id]
        assert copies == 1 or (copies == 2 and message.id in reported), (message.id, copies)
    # Every SID recorded is one Twilio gave out for that very message.
    sids = {m.sid: m.outbox_id for m in wall_fake.accepted()}
    assert all(sids[m.provider_sid or ""] == m.id for m in messages)
    print(  # the picture the kill left, in the test log (-s or -rP)
        f"killed after {at_kill} accepted, {left_sending} rows left sending, "
        f"{len(reported)} reported duplicates, {sum(received.values())} received"
    )
