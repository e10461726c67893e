"""Per-sender send rate, shared by every worker through the database.

Why: a provider sends from each sender (a Twilio number or messaging service) at a fixed pace and
queues whatever we hand it beyond that pace in its own first-in-first-out queue. Messages parked
there can no longer be reordered, so a burst of roll-calls handed over at once would delay an
urgent offer queued a second later. Keeping to the sender's rate keeps the backlog in *our*
outbox, where the worker always takes the most urgent message first; it also avoids the 429s
that a provider answers when it is pushed too hard.

Design: a token bucket per sender — ``burst`` tokens at most, refilled at ``per_second`` tokens a
second; a message costs one token per SMS segment, because providers count their throughput in
segments (Twilio's "message segments per second"). The bucket is one row of ``sms_sender_rate``
(sender, tokens, updated_at) and is refilled lazily from the elapsed time whenever it is read, so
nothing has to tick. Every read-refill-take happens under the row's lock (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite transactions start with ``BEGIN IMMEDIATE`` and so are serialised
already), which makes any number of workers together keep to one rate. The time comes from the
injected clock, so tests compute waits with a manual clock instead of sleeping.

The worker takes tokens in the same transaction in which it claims messages
(:meth:`SenderRateLimiter.grant`): a message is claimed only if a token was taken for it, and a
rollback returns both. Lock order is outbox rows first, then buckets in sender order, so two
workers never deadlock.

Senders without a configured limit (the console provider) are not limited and cost no database
work. Which sender a message uses is :func:`sender_key`: the sender named on the outbox row if
any, else the provider's name (one bucket per provider account).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session, select

from notifications.clock import Clock
from notifications.models import SmsSenderRate
from notifications.transactions import insert_for, transaction

# Refill arithmetic in floating point: 0.1 s at 10/s must be a whole token.
_EPSILON = 1e-9


@dataclass(frozen=True)
class SenderLimit:
    """``per_second`` messages a second on average, at most ``burst`` at once."""

    per_second: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a sender limit needs per_second > 0 and burst >= 1")


class _Addressed(Protocol):
    @property
    def sender(self) -> str | None: ...

    @property
    def provider(self) -> str: ...


def sender_key(message: _Addressed) -> str:
    """The rate-limit bucket a message (an outbox row, or the worker's snapshot) draws from."""
    return message.sender or message.provider


class SenderRateLimiter:
    """Token buckets per sender, stored in ``sms_sender_rate``."""

    def __init__(
        self,
        engine: Engine | None,
        clock: Clock,
        limits: Mapping[str, SenderLimit],
        *,
        default: SenderLimit | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._limits = dict(limits)
        self._default = default

    def limit_for(self, sender: str) -> SenderLimit | None:
        """The configured limit of a sender; None means unlimited."""
        return self._limits.get(sender, self._default)

    def acquire(self, sender: str, n: int = 1) -> float:
        """Take ``n`` tokens in a transaction of its own: 0.0 if taken, else seconds to wait."""
        if self.limit_for(sender) is None:
            return 0.0
        if self._engine is None:
            raise RuntimeError("this limiter has no engine; use take() inside a transaction")
        with transaction(self._engine) as session:
            return self.take(session, sender, n, now=self._clock.now())

    def take(self, session: Session, sender: str, n: int = 1, *, now: datetime) -> float:
        """Take ``n`` tokens in the caller's transaction if all are there (0.0); else the wait.

        Nothing is taken when the answer is a wait, so the caller can try again after it.
        """
        limit = self.limit_for(sender)
        if limit is None:
            return 0.0
        if n > limit.burst:
            raise ValueError(f"{n} tokens can never be available with a burst of {limit.burst}")
        bucket, tokens = self._refilled(session, sender, limit, now)
        if tokens + _EPSILON >= n:
            self._store(bucket, max(tokens - n, 0.0), now)
            return 0.0
        self._store(bucket, tokens, now)
        return (n - tokens) / limit.per_second

    def grant(self, session: Session, sender: str, costs: Sequence[int], *, now: datetime) -> int:
        """How many of the messages costing ``costs`` tokens (in order) may go now; takes them.

        Stops at the first message that does not fit, so a long message is not overtaken by the
        short ones behind it. A message dearer than the whole burst costs the burst (it could
        never go otherwise).
        """
        limit = self.limit_for(sender)
        if limit is None or not costs:
            return len(costs)
        bucket, tokens = self._refilled(session, sender, limit, now)
        granted = 0
        for cost in costs:
            price = min(float(cost), limit.burst)
            if tokens + _EPSILON < price:
                break
            tokens -= price
            granted += 1
        self._store(bucket, max(tokens, 0.0), now)
        return granted

    def _refilled(
        self, session: Session, sender: str, limit: SenderLimit, now: datetime
    ) -> tuple[SmsSenderRate, float]:
        """The sender's bucket, locked, with the tokens it holds at ``now``."""
        _ensure_bucket(session, sender, limit.burst, now)
        bucket = session.exec(
            select(SmsSenderRate)
            .where(SmsSenderRate.sender == sender)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        # Workers' clocks may disagree slightly; time never runs backwards for a bucket.
        elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
        return bucket, min(limit.burst, bucket.tokens + elapsed * limit.per_second)

    @staticmethod
    def _store(bucket: SmsSenderRate, tokens: float, now: datetime) -> None:
        bucket.tokens = tokens
        bucket.updated_at = max(bucket.updated_at, now)


def _ensure_bucket(session: Session, sender: str, burst: float, now: datetime) -> None:
    """Create a full bucket unless it exists (race-free: two workers may both try)."""
    values = {"sender": sender, "tokens": float(burst), "updated_at": now}
    dialect = session.get_bind().dialect.name
    session.execute(insert_for(dialect, SmsSenderRate).values(**values).on_conflict_do_nothing())
