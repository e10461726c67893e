"""Fixed-window rate limits, counted in the database so every process shares them.

A counter's key is ``scope:`` + a keyed hash of the value: a phone number or an IP address is
never stored in clear. Counting is one upsert statement in the caller's transaction; a refused
request raises :class:`RateLimited`, whose ``keep_changes`` makes the boundary commit the count.
Call these before any other write of the request, so that committing the count commits nothing
else.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import case, delete
from sqlmodel import Session, col

from brigades.errors import RateLimited
from brigades.ratelimit.local import LocalRateLimiter
from brigades.ratelimit.models import RateLimitBucket
from brigades.security import keyed_hash
from notifications.transactions import insert_for

# Scopes are part of the stored key; keep them short (the key column holds 80 characters).
MAX_SCOPE_LENGTH = 32
_HASH_CHARS = 40


@dataclass(frozen=True, slots=True)
class Hit:
    """One count against one limit: ``limit`` is (requests, window seconds)."""

    scope: str
    value: str
    limit: tuple[int, int]
    # Counted in the process's memory instead of the database (per-client limits; see local.py).
    local: bool = False


def bucket_key(secret: SecretStr | str, scope: str, value: str) -> str:
    """The stored key of a counter: the scope in clear, the value only as a keyed hash."""
    if not scope or len(scope) > MAX_SCOPE_LENGTH or ":" in scope:
        raise ValueError("a rate-limit scope is 1-32 characters without ':'")
    return f"{scope}:{keyed_hash(secret, 'rate-limit:' + scope, value)[:_HASH_CHARS]}"


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    # Built once per dialect, with the values bound per call: compiled once, cached by SQLAlchemy.
    stmt = insert_for(dialect, RateLimitBucket)
    # In DO UPDATE, the table's columns are the stored row and `excluded` the proposed one:
    # same window → count up; a newer window → start again at 1.
    same_window = col(RateLimitBucket.window_start) == stmt.excluded.window_start
    return stmt.on_conflict_do_update(
        index_elements=[col(RateLimitBucket.key)],
        set_={
            "count": case((same_window, col(RateLimitBucket.count) + 1), else_=1),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(col(RateLimitBucket.key), col(RateLimitBucket.count))


def _upsert(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    stmt = _upsert_statement(session.get_bind().dialect.name)
    # Several rows go as one INSERT … VALUES (…), (…) ("insertmanyvalues").
    result = session.execute(stmt, rows[0] if len(rows) == 1 else rows)
    return {str(row[0]): int(row[1]) for row in result}


def _minutes_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    unit = "minuut" if minutes == 1 else "minuten"
    return f"Te veel pogingen. Probeer het over {minutes} {unit} opnieuw."


@dataclass(frozen=True, slots=True)
class Bucket:
    """A database counter one request counts against: its key, window and allowance."""

    key: str
    window_start: int
    window: int
    allowed: int

    def row(self) -> dict[str, Any]:
        """The upsert's values for this count."""
        return {"key": self.key, "window_start": self.window_start, "count": 1}


def count_locally(
    *,
    hits: Sequence[Hit],
    now: datetime,
    secret: SecretStr | str,
    local: LocalRateLimiter | None = None,
) -> list[Bucket]:
    """Count the hits kept in memory (raise RateLimited if over); the database ones, by key.

    The returned buckets must then be counted by an upsert in the caller's transaction and the
    counts checked with :func:`check_counts` (``hit_all`` does both; the sign-up fast path
    folds the upsert into its own statement).
    """
    stamp = int(now.timestamp())
    buckets: dict[str, Bucket] = {}
    local_retry = 0
    for h in hits:
        allowed, window = h.limit
        if allowed <= 0:
            continue
        if window <= 0:
            raise ValueError("a rate-limit window must be positive")
        key = bucket_key(secret, h.scope, h.value)
        if h.local and local is not None:
            local_retry = max(local_retry, local.hit(key, limit=h.limit, now_ts=stamp))
            continue
        buckets[key] = Bucket(key, stamp - stamp % window, window, allowed)
    if local_retry:
        raise RateLimited(_minutes_message(local_retry), retry_after=local_retry)
    # A fixed order of keys means a fixed order of row locks: two requests never deadlock.
    return [buckets[k] for k in sorted(buckets)]


def check_counts(buckets: Sequence[Bucket], counts: dict[str, int], *, now: datetime) -> None:
    """Raise RateLimited when a bucket's new count is over its allowance."""
    stamp = int(now.timestamp())
    retry_after = 0
    for b in buckets:
        if counts[b.key] > b.allowed:
            retry_after = max(retry_after, b.window_start + b.window - stamp)
    if retry_after:
        raise RateLimited(_minutes_message(retry_after), retry_after=max(1, retry_after))


def hit_all(
    session: Session,
    *,
    hits: Sequence[Hit],
    now: datetime,
    secret: SecretStr | str,
    local: LocalRateLimiter | None = None,
) -> None:
    """Count one request against several limits in one statement; raise RateLimited if over any.

    A limit whose count is 0 or less is switched off (e.g. a load test's per-client limit).
    Hits marked ``local`` are counted in ``local`` (this process's memory) when one is given.
    """
    buckets = count_locally(hits=hits, now=now, secret=secret, local=local)
    count_in_database(session, buckets=buckets, now=now)


def count_in_database(session: Session, *, buckets: Sequence[Bucket], now: datetime) -> None:
    """Count the buckets with one upsert; raise RateLimited if over any."""
    if buckets:
        check_counts(buckets, _upsert(session, [b.row() for b in buckets]), now=now)


def hit(
    session: Session,
    *,
    scope: str,
    value: str,
    limit: tuple[int, int],
    now: datetime,
    secret: SecretStr | str,
) -> None:
    """Count one request against one limit; raise RateLimited when it is over the limit."""
    hit_all(session, hits=[Hit(scope, value, limit)], now=now, secret=secret)


def purge_expired(session: Session, *, now: datetime, longest_window_seconds: int) -> int:
    """Delete counters whose window ended (no window is longer than the one given)."""
    cutoff = int(now.timestamp()) - longest_window_seconds
    result = session.execute(
        delete(RateLimitBucket).where(col(RateLimitBucket.window_start) < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
