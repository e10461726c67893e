"""Several ``zorgbrigade worker`` processes against the fake Twilio: no doubles, one shared rate.

Real time is measured here on purpose: the rate limit is a promise about the wall clock at
Twilio's side, so the timestamps at which the fake received the messages are compared with the
configured rate (kept small, so each test takes a few seconds).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from brigades.clock import SystemClock
from notifications.models import MessageState
from tests.support.fake_twilio import FakeTwilio, Faults
from tests.twilio.conftest import (
    PUBLIC_URL,
    WorkerProcess,
    all_in,
    load_all,
    queue_sms,
    wait_until,
    worker_env,
)


@pytest.fixture
def wall_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(faults=Faults(rate_limited=0.02, server_error=0.01)) as server:
        yield server


def start_workers(count: int, env: dict[str, str]) -> list[WorkerProcess]:
    workers = [WorkerProcess(env) for _ in range(count)]
    for worker in workers:
        worker.wait_started()
    return workers


@pytest.mark.postgres_only
def test_three_worker_processes_send_every_message_exactly_once(
    db: Engine, fresh_database: str, wall_fake: FakeTwilio
) -> None:
    env = worker_env(
        fresh_database,
        wall_fake,
        PUBLIC_URL,
        ZB_WORKER_BATCH_SIZE="10",
        ZB_WORKER_CONCURRENCY="4",
    )
    workers = start_workers(3, env)
    try:
        ids = queue_sms(db, SystemClock().now(), 300)
        assert wait_until(lambda: all_in(db, MessageState.SENT), timeout=60)
    finally:
        for worker in workers:
            worker.stop()

    assert wall_fake.per_outbox_id() == dict.fromkeys(ids, 1), "no message sent twice"
    assert sum(wall_fake.injected.values()) > 0, "retries were exercised"
    assert len({m.claimed_by for m in load_all(db)}) == 3, "every worker took part"


RATE = 8.0
MESSAGES = 17
SLACK = 0.05  # loopback latency differences between the first and the last request


def rate_env(database_url: str, fake: FakeTwilio) -> dict[str, str]:
    return worker_env(
        database_url,
        fake,
        PUBLIC_URL,
        ZB_SMS_RATE_PER_SECOND=str(RATE),
        ZB_SMS_RATE_BURST="1",
        ZB_WORKER_POLL_SECONDS="0.01",
    )


def span_at_twilio(fake: FakeTwilio) -> float:
    stamps = [m.received_at for m in fake.accepted()]
    return max(stamps) - min(stamps)


def test_one_long_code_is_held_to_its_rate(db: Engine, fresh_database: str) -> None:
    with FakeTwilio() as fake:
        (worker,) = start_workers(1, rate_env(fresh_database, fake))
        try:
            queue_sms(db, SystemClock().now(), MESSAGES)
            assert wait_until(lambda: len(fake.accepted()) == MESSAGES, timeout=30)
        finally:
            worker.stop()

    minimum = (MESSAGES - 1) / RATE  # a burst of one, then one every 1/RATE s
    span = span_at_twilio(fake)
    assert span >= minimum - SLACK, f"{MESSAGES} messages in {span:.2f} s at {RATE}/s"
    assert span <= 2 * minimum + 1.0, "the limiter should not hold back much more than it must"


def test_two_worker_processes_share_one_rate(db: Engine, fresh_database: str) -> None:
    with FakeTwilio() as fake:
        workers = start_workers(2, rate_env(fresh_database, fake))
        try:
            queue_sms(db, SystemClock().now(), MESSAGES)
            assert wait_until(lambda: len(fake.accepted()) == MESSAGES, timeout=30)
        finally:
            for worker in workers:
                worker.stop()

    span = span_at_twilio(fake)
    assert span >= (MESSAGES - 1) / RATE - SLACK, f"two workers together went {span:.2f} s"
    assert len({m.claimed_by for m in load_all(db)}) == 2, "both workers sent some"
