"""Per-client limits in memory: counted per window, refused past the limit, bounded in size."""

from __future__ import annotations

from brigades.ratelimit.local import LocalRateLimiter


def test_allows_up_to_the_limit_then_refuses_until_the_window_ends() -> None:
    limiter = LocalRateLimiter()
    start = 1_800_000_000 - 1_800_000_000 % 60
    assert [limiter.hit("k", limit=(3, 60), now_ts=start + 5) for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("k", limit=(3, 60), now_ts=start + 10) == 50
    # A new window starts afresh.
    assert limiter.hit("k", limit=(3, 60), now_ts=start + 60) == 0


def test_keys_are_counted_separately_and_zero_switches_off() -> None:
    limiter = LocalRateLimiter()
    assert limiter.hit("a", limit=(1, 60), now_ts=120) == 0
    assert limiter.hit("b", limit=(1, 60), now_ts=120) == 0
    assert limiter.hit("a", limit=(1, 60), now_ts=121) > 0
    assert all(limiter.hit("c", limit=(0, 60), now_ts=121) == 0 for _ in range(10))


def test_memory_stays_bounded_under_address_spraying() -> None:
    limiter = LocalRateLimiter(max_keys=100)
    for i in range(1_000):
        limiter.hit(f"ip{i}", limit=(5, 60), now_ts=120)
    assert len(limiter._counts) <= 100
