"""Fixed-window counters in the database, keyed by a hash (never a number in clear)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.errors import RateLimited
from brigades.ratelimit import service
from brigades.ratelimit.models import RateLimitBucket
from brigades.ratelimit.service import Hit

SECRET = "a-secret-for-rate-limit-tests"
PHONE = "+31612345678"


def _hit(session: Session, clock: ManualClock, *, limit: tuple[int, int] = (3, 3600)) -> None:
    service.hit(
        session, scope="sms_number", value=PHONE, limit=limit, now=clock.now(), secret=SECRET
    )


def test_requests_up_to_the_limit_pass_and_the_next_is_refused(
    session: Session, clock: ManualClock
) -> None:
    for _ in range(3):
        _hit(session, clock)
    with pytest.raises(RateLimited) as caught:
        _hit(session, clock)
    error = caught.value
    assert error.status_code == 429
    assert error.keep_changes is True
    # The clock stands at 09:00 UTC: the hour window ends in exactly 60 minutes.
    assert error.retry_after == 3600
    assert error.message == "Te veel pogingen. Probeer het over 60 minuten opnieuw."


def test_a_new_window_starts_counting_again(session: Session, clock: ManualClock) -> None:
    for _ in range(3):
        _hit(session, clock)
    clock.advance(timedelta(minutes=59, seconds=30))
    with pytest.raises(RateLimited) as caught:
        _hit(session, clock)
    assert caught.value.retry_after == 30
    assert caught.value.message == "Te veel pogingen. Probeer het over 1 minuut opnieuw."
    clock.advance(timedelta(seconds=30))
    _hit(session, clock)  # a new hour


def test_the_key_holds_no_phone_number(session: Session, clock: ManualClock) -> None:
    _hit(session, clock)
    rows = session.exec(select(RateLimitBucket)).all()
    assert len(rows) == 1
    assert PHONE not in rows[0].key and "612345678" not in rows[0].key
    assert rows[0].key.startswith("sms_number:")
    assert rows[0].count == 1


def test_scopes_and_values_count_separately(session: Session, clock: ManualClock) -> None:
    for _ in range(3):
        _hit(session, clock)
    service.hit(
        session,
        scope="sms_number",
        value="+31687654321",
        limit=(3, 3600),
        now=clock.now(),
        secret=SECRET,
    )
    service.hit(
        session, scope="code_number", value=PHONE, limit=(3, 3600), now=clock.now(), secret=SECRET
    )


def test_hit_all_counts_every_limit_in_one_go(session: Session, clock: ManualClock) -> None:
    hits = [Hit("sms_number", PHONE, (5, 3600)), Hit("sms_client", "10.0.0.1", (2, 60))]
    service.hit_all(session, hits=hits, now=clock.now(), secret=SECRET)
    service.hit_all(session, hits=hits, now=clock.now(), secret=SECRET)
    with pytest.raises(RateLimited) as caught:
        service.hit_all(session, hits=hits, now=clock.now(), secret=SECRET)
    # The per-client minute window is the one exceeded.
    assert caught.value.retry_after == 60
    counts = sorted(b.count for b in session.exec(select(RateLimitBucket)).all())
    assert counts == [3, 3]


def test_a_limit_of_zero_is_switched_off(session: Session, clock: ManualClock) -> None:
    for _ in range(10):
        _hit(session, clock, limit=(0, 3600))
    assert session.exec(select(RateLimitBucket)).all() == []


def test_purge_removes_only_finished_windows(session: Session, clock: ManualClock) -> None:
    _hit(session, clock, limit=(3, 60))
    clock.advance(timedelta(hours=2))
    service.hit(
        session, scope="sms_client", value="10.0.0.2", limit=(3, 60), now=clock.now(), secret=SECRET
    )
    assert service.purge_expired(session, now=clock.now(), longest_window_seconds=3600) == 1
    remaining = session.exec(select(RateLimitBucket)).all()
    assert [b.key.split(":")[0] for b in remaining] == ["sms_client"]


def test_bad_scopes_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        service.bucket_key(SECRET, "has:colon", "x")
    with pytest.raises(ValueError):
        service.bucket_key(SECRET, "x" * 33, "x")
