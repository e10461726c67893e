"""The per-sender rate limit: a token bucket in the database, timed by the manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from brigades.clock import ManualClock
from brigades.db import make_engine
from notifications.ratelimit import SenderLimit, SenderRateLimiter
from notifications.worker import OutboxWorker
from tests.notifications.conftest import RecordingProvider, queue


def limiter(
    engine: Engine, clock: ManualClock, per_second: float = 2, burst: float = 4
) -> SenderRateLimiter:
    return SenderRateLimiter(engine, clock, {"fake": SenderLimit(per_second, burst)})


def test_a_full_bucket_lets_a_burst_through_then_holds_the_rate(
    db: Engine, clock: ManualClock
) -> None:
    bucket = limiter(db, clock, per_second=2, burst=4)

    assert [bucket.acquire("fake") for _ in range(4)] == [0.0] * 4
    assert bucket.acquire("fake") == pytest.approx(0.5)
    assert bucket.acquire("fake", 3) == pytest.approx(1.5)

    clock.advance(0.5)
    assert bucket.acquire("fake") == 0.0
    assert bucket.acquire("fake") == pytest.approx(0.5)

    clock.advance(timedelta(hours=1))  # refills to the burst, not beyond
    assert [bucket.acquire("fake") for _ in range(5)] == [0.0] * 4 + [pytest.approx(0.5)]


def test_over_a_minute_the_rate_is_kept(db: Engine, clock: ManualClock) -> None:
    bucket = limiter(db, clock, per_second=2, burst=4)
    granted = 0
    for _ in range(600):  # someone asking every 0.1 s for a minute
        if bucket.acquire("fake") == 0.0:
            granted += 1
        clock.advance(0.1)
    # The burst plus 2/s over the 59.9 s between the first and the last ask: 4 + 119.8.
    assert granted == 123


def test_workers_share_one_bucket_through_the_database(
    fresh_database: str, clock: ManualClock
) -> None:
    engines = [make_engine(fresh_database) for _ in range(2)]
    first, second = (limiter(e, clock, per_second=1, burst=3) for e in engines)
    try:
        assert first.acquire("fake") == 0.0
        assert second.acquire("fake") == 0.0
        assert first.acquire("fake") == 0.0
        assert second.acquire("fake") == pytest.approx(1.0), "the other worker used the burst"
        assert first.acquire("fake") == pytest.approx(1.0)
    finally:
        for e in engines:
            e.dispose()


def test_senders_have_their_own_buckets_and_unknown_ones_are_unlimited(
    db: Engine, clock: ManualClock
) -> None:
    bucket = SenderRateLimiter(db, clock, {"a": SenderLimit(1, 1), "b": SenderLimit(1, 1)})
    assert bucket.acquire("a") == 0.0
    assert bucket.acquire("b") == 0.0
    assert bucket.acquire("a") > 0
    assert all(bucket.acquire("console") == 0.0 for _ in range(100))


def test_asking_for_more_than_the_burst_is_an_error(db: Engine, clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        limiter(db, clock, burst=4).acquire("fake", 5)


def test_the_worker_sends_no_faster_than_the_senders_rate(db: Engine, clock: ManualClock) -> None:
    queue(db, clock, 10, provider="fake")
    provider = RecordingProvider("fake")
    worker = OutboxWorker(
        db,
        {"fake": provider},
        clock,
        worker_id="w",
        concurrency=1,
        rate_limiter=limiter(db, clock, per_second=1, burst=3),
    )

    assert worker.run_once() == 3, "the burst"
    assert worker.run_once() == 0, "nothing left in the bucket"
    clock.advance(2)
    assert worker.run_once() == 2
    clock.advance(0.5)
    assert worker.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert worker.run_once() == 3
    assert len(provider.sent) == 8


def test_a_long_message_costs_one_token_per_segment(db: Engine, clock: ManualClock) -> None:
    (long_id,) = queue(db, clock, provider="fake", body="x" * 400)  # 3 segments
    queue(db, clock, provider="fake", body="kort")
    provider = RecordingProvider("fake")
    worker = OutboxWorker(
        db,
        {"fake": provider},
        clock,
        worker_id="w",
        concurrency=1,
        rate_limiter=limiter(db, clock, per_second=1, burst=3),
    )

    assert worker.run_once() == 1
    assert provider.sent_ids == [long_id]
    clock.advance(1)
    assert worker.run_once() == 1
