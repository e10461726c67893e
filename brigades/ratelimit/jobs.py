"""Worker jobs of the rate limiter."""

from __future__ import annotations

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.ratelimit import service
from brigades.settings import Settings


def longest_window(settings: Settings) -> int:
    """The longest window of any configured limit (older counters can go)."""
    return max(
        settings.signup_limit_per_number[1],
        settings.signup_limit_per_client[1],
        settings.code_limit_per_number[1],
        settings.code_limit_per_client[1],
    )


def purge_rate_limit_buckets(engine: Engine, settings: Settings) -> int:
    """Delete expired rate-limit counters; returns how many went."""
    with session_scope(engine) as session:
        return service.purge_expired(
            session, now=clock.now(), longest_window_seconds=longest_window(settings)
        )
