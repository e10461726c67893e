"""The outbox worker: claims queued messages, hands them to their provider, records the outcome.

One round (:meth:`OutboxWorker.run_once`):

1. Recovery — rows whose send was started but never recorded (``sending`` or ``uncertain``
   without a provider SID, ``claimed_at`` older than the grace period, no status callback since).
   For a provider that can list its messages (Twilio) such a row is leased and reconciled: the
   provider's list is asked whether it holds the message; if so its SID is adopted and it is
   **not** re-sent, if not it is queued again (``notifications.recovery`` has the exact rule).
   For any other provider the row becomes ``uncertain`` and is logged (by id) for a person to
   resolve (:func:`recover_stuck`); it is never re-sent silently.
2. Claim — in one short transaction, the most urgent due rows (highest priority, then oldest) of
   the providers this worker has: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` so that any
   number of workers share the queue without taking the same row; on SQLite the transaction starts
   with ``BEGIN IMMEDIATE``, which serialises claimers. Each sender's rate limit is taken in the
   same transaction (a row is only claimed with a token). Claimed rows become ``sending``
   (claimed_at, claimed_by, attempts + 1) and the transaction COMMITS before any provider is
   called, so a crash leaves visible ``sending`` rows rather than invisible sends.
3. Send — all claimed messages at once, with at most ``concurrency`` requests in flight (an async
   HTTP client with a keep-alive pool for a provider that has one, threads for a plain one).
4. Record — the whole round's outcomes in **one** transaction once every send has answered: sent
   (SID, sender; one ``UPDATE ... FROM unnest(...)`` for the round on PostgreSQL), retried later
   (transient: exponential backoff with full jitter), failed (permanent, or out of attempts: the
   subject's owner is told in the same transaction), or uncertain (the provider's answer was
   lost). A transaction per message cost more than the send itself (BENCHMARKS.md).

A worker killed at any point leaves one of three pictures, each handled:

- killed after the claim, before the request (``before_send``): ``sending``, no SID; the provider
  has nothing → after the grace period reconciliation finds nothing → queued again → sent once;
- killed after the provider's answers, before the round's commit (``after_answer``): every
  message of the round is ``sending`` with no SID, and the provider has those it accepted →
  their status callbacks (outbox id in the URL) adopt the SIDs, or, without callbacks,
  reconciliation finds them and adopts them → not re-sent; the others are queued again. Only a
  message neither sees is re-sent; the second copy is then detected as a suspected duplicate
  (``notifications.duplicates``) when either copy's callback or send result names the other SID.
  Because outcomes are recorded per round, this window holds up to a round of messages
  (``batch_size``) rather than the ``concurrency`` in flight;
- killed after the commit (``after_commit``): the round's outcomes are recorded; nothing to do.

A provider that is down (every send of a round failed on a provider fault: a 5xx, or no
connection) is *held*: its messages go back to the queue without using up an attempt, due when the
hold ends, and none of them is claimed while it lasts. When the hold ends the worker asks the
provider whether it answers (:class:`ProbingProvider`, Twilio fetches its Account resource) and
holds it again, for twice as long up to a minute, until it does; a provider that cannot be asked
is probed with its single most urgent message instead. Then the queue goes out as ever, most
urgent first. When the provider does answer the check, the round's failures were the messages'
own and count as attempts (so one message that always fails cannot hold the provider). A hold is
per worker process: each worker finds out with one round of its own.

``crash_hook`` is called with those point names; the application installs one only in tests
(``ZB_TEST_CRASH_AT`` with ``ZB_ENV=test``) to kill the process there.

Only SMS rows are sent here; web notices are read by the volunteer's pages.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from notifications.clock import Clock
from notifications.duplicates import DuplicateSource, record_suspected_duplicate
from notifications.failures import FailureHandlers, notify_failure
from notifications.models import Channel, MessageState, OutboxMessage
from notifications.providers.base import (
    AsyncSmsProvider,
    OutboundSms,
    PermanentSendError,
    ProbingProvider,
    SendResult,
    SmsProvider,
    TransientSendError,
    UncertainSendError,
)
from notifications.ratelimit import SenderRateLimiter, sender_key
from notifications.recovery import (
    UNRESOLVED,
    Lease,
    ReconcileError,
    ReconcilingProvider,
    Settlement,
    lease_unresolved,
    reconciler,
    settle,
)
from notifications.status import FAILURE_STATES, advance, apply_status
from notifications.transactions import is_postgres, transaction

__all__ = [
    "CRASH_POINTS",
    "OutboxWorker",
    "StatusCallbackUrl",
    "apply_status",
    "backoff_delay",
    "recover_stuck",
]

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
DEFAULT_SENDING_GRACE_SECONDS = 300.0
# How long a provider that is down is held before it is asked again (doubling up to the cap).
HOLD_BASE_SECONDS = 5.0
HOLD_CAP_SECONDS = 60.0

# Where a test may kill the worker (see the module docstring).
BEFORE_SEND = "before_send"
AFTER_ANSWER = "after_answer"
AFTER_COMMIT = "after_commit"
CRASH_POINTS = (BEFORE_SEND, AFTER_ANSWER, AFTER_COMMIT)

# A fixed URL, or one built from the outbox id (so the provider's report names the message).
StatusCallbackUrl = str | Callable[[int], str]


def backoff_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the next try after ``attempt`` tries (full jitter, at least retry_after)."""
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 32))
    delay = (rng or random).uniform(0.0, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, retry_after)
    return delay


def recover_stuck(
    session: Session,
    now: datetime,
    grace: timedelta | float,
    *,
    reconciled: Collection[str] = (),
) -> list[int]:
    """Mark rows stuck in ``sending`` past ``grace`` without a SID as ``uncertain``; their ids.

    Rows of the ``reconciled`` providers are left alone: they are reconciled instead.
    """
    grace = grace if isinstance(grace, timedelta) else timedelta(seconds=grace)
    query = select(OutboxMessage.id).where(
        col(OutboxMessage.state) == MessageState.SENDING,
        col(OutboxMessage.provider_sid).is_(None),
        col(OutboxMessage.claimed_at) < now - grace,
    )
    if reconciled:
        query = query.where(col(OutboxMessage.provider).not_in(sorted(reconciled)))
    if is_postgres(session):
        # Rows another worker is recording (or recovering) right now are theirs to settle.
        query = query.with_for_update(skip_locked=True)
    ids = sorted(i for i in session.exec(query).all() if i is not None)
    if not ids:
        return []
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.state) == MessageState.SENDING)
        .values(
            state=MessageState.UNCERTAIN,
            updated_at=now,
            error_message="no outcome recorded after sending started (worker stopped?)",
        )
    )
    for outbox_id in ids:
        log.warning("outbox=%s stuck in sending; marked uncertain, not re-sent", outbox_id)
    return ids


@dataclass(frozen=True)
class _Due:
    """The columns of a due row that claiming and sending need (no ORM object per row)."""

    id: int
    recipient: str
    body: str
    sender: str | None
    provider: str
    segments: int
    synthetic: bool


@dataclass
class _Hold:
    """A provider found down: nothing is claimed for it until ``until``."""

    checks: int
    until: datetime


def hold_delay(checks: int) -> float:
    """Seconds a provider is held after its ``checks``-th failed check (doubling, capped)."""
    return float(min(HOLD_CAP_SECONDS, HOLD_BASE_SECONDS * 2 ** min(max(checks - 1, 0), 16)))


@dataclass(frozen=True)
class _Claimed:
    outbox: OutboundSms
    provider: str


@dataclass(frozen=True)
class _Outcome:
    """What one send came to, recorded with the rest of its round."""

    item: _Claimed
    result: SendResult | None = None
    transient: TransientSendError | None = None
    permanent: PermanentSendError | None = None
    uncertain: UncertainSendError | None = None
    unexpected: str | None = None


_BULK_SENT_PG = text(
    """
    UPDATE outbox_message AS o
       SET provider_sid = v.sid,
           sender = COALESCE(v.sender, o.sender),
           state = :sent,
           sent_at = COALESCE(o.sent_at, :now),
           updated_at = :now,
           provider_error_code = NULL,
           error_message = NULL
      FROM unnest(CAST(:ids AS integer[]), CAST(:sids AS varchar[]), CAST(:senders AS varchar[]))
           AS v(id, sid, sender)
     WHERE o.id = v.id
       AND o.state IN (:sending, :uncertain)
       AND o.provider_sid IS NULL
    RETURNING o.id
    """
)


class OutboxWorker:
    """Sends queued outbox messages through their providers; safe to run several at once (PG)."""

    def __init__(
        self,
        engine: Engine,
        providers: Mapping[str, SmsProvider],
        clock: Clock,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        concurrency: int = 8,
        max_attempts: int = 8,
        sending_grace_seconds: float = DEFAULT_SENDING_GRACE_SECONDS,
        rate_limiter: SenderRateLimiter | None = None,
        failure_handlers: FailureHandlers | None = None,
        status_callback_urls: Mapping[str, StatusCallbackUrl] | None = None,
        rng: random.Random | None = None,
        crash_hook: Callable[[str], None] | None = None,
        round_jobs: Sequence[Callable[[], int]] = (),
    ) -> None:
        if batch_size < 1 or concurrency < 1 or max_attempts < 1:
            raise ValueError("batch_size, concurrency and max_attempts must be at least 1")
        self.engine = engine
        self.providers = dict(providers)
        self.clock = clock
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.sending_grace = timedelta(seconds=sending_grace_seconds)
        self.rate_limiter = rate_limiter
        self.failure_handlers = failure_handlers
        self.status_callback_urls = dict(status_callback_urls or {})
        self.crash_hook = crash_hook
        # Other work of the worker loop (the application's inbound processing): each returns
        # how much it did, and runs once per round before the outbox.
        self.round_jobs = list(round_jobs)
        self._reconcilers: dict[str, ReconcilingProvider] = {
            name: found
            for name, provider in self.providers.items()
            if (found := reconciler(provider)) is not None
        }
        # Checked once: isinstance() against a runtime protocol is slow, and this is per send.
        self._async_providers: dict[str, AsyncSmsProvider] = {
            name: provider
            for name, provider in self.providers.items()
            if isinstance(provider, AsyncSmsProvider)
        }
        self._probes: dict[str, ProbingProvider] = {
            name: provider
            for name, provider in self.providers.items()
            if isinstance(provider, ProbingProvider)
        }
        self._holds: dict[str, _Hold] = {}
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        # One event loop per worker, kept between rounds so that the providers' async HTTP
        # clients keep their connections alive; rounds run on it one at a time.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._threads: ThreadPoolExecutor | None = None

    def run_once(self) -> int:
        """One round: the round jobs, recover stuck rows, claim a batch, send it, record it.

        Returns how much was done (messages claimed or reconciled, plus the round jobs' counts).
        """
        done = sum(self._round_job(job) for job in self.round_jobs)
        self._check_holds()
        claimed, leases = self._claim()
        if not claimed and not leases:
            return done
        outcomes = self._loop_run(self._send_round(claimed, leases))
        if outcomes:
            self._record_round(outcomes, self._hold_providers_down(outcomes))
            for _ in outcomes:
                self._at(AFTER_COMMIT)
        return done + len(claimed) + len(leases)

    @staticmethod
    def _round_job(job: Callable[[], int]) -> int:
        """Run one round job; its failure is logged and never stops the sending."""
        try:
            return job()
        except Exception as exc:
            # The type only: database errors carry parameters (numbers, message texts).
            log.error("worker round job %s failed: %s", _name(job), type(exc).__name__)
            return 0

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Run rounds until ``stop`` is set; waits ``poll_seconds`` when there was nothing to do."""
        log.info("outbox worker %s started", self.worker_id)
        try:
            while not stop.is_set():
                try:
                    processed = self.run_once()
                except Exception as exc:
                    # Keep the worker alive through a database outage. Only the type is logged:
                    # database errors carry the statement's parameters (numbers, message texts).
                    log.error("outbox worker round failed: %s", type(exc).__name__)
                    processed = 0
                if processed < self.batch_size:
                    stop.wait(poll_seconds)
        finally:
            self.close()
        log.info("outbox worker %s stopped", self.worker_id)

    def close(self) -> None:
        """Close the async HTTP clients, the event loop and the send threads."""
        if self._loop is not None and not self._loop.is_closed():
            for provider in self._async_providers.values():
                self._loop.run_until_complete(provider.aclose())
            self._loop.close()
        self._loop = None
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    def _loop_run(self, work: Coroutine[Any, Any, list[_Outcome]]) -> list[_Outcome]:
        if self._loop is None or self._loop.is_closed():
            self._loop = _new_event_loop()
        return self._loop.run_until_complete(work)

    # -- claiming ---------------------------------------------------------------------------

    def _claim(self) -> tuple[list[_Claimed], list[Lease]]:
        """Recover stuck rows, claim due rows and commit them as ``sending`` before any send."""
        with transaction(self.engine) as session:
            now = self.clock.now()
            # In the claim's transaction: one write transaction per round, which matters on
            # SQLite where every transaction takes the database's write lock.
            leases = lease_unresolved(
                session,
                now=now,
                grace=self.sending_grace,
                providers=self._reconcilers,
                limit=self.batch_size,
            )
            recover_stuck(session, now, self.sending_grace, reconciled=self._reconcilers)
            if not self.providers:
                return [], leases
            free = sorted(name for name in self.providers if name not in self._holds)
            # A held provider that cannot be asked whether it answers: one message is the probe.
            probing = sorted(
                name
                for name, hold in self._holds.items()
                if hold.until <= now and name not in self._probes
            )
            due = self._due(session, free, self.batch_size, now) if free else []
            for name in probing:
                due += self._due(session, [name], 1, now)
            rows = self._within_rate(session, due, now)
            if rows:
                # One statement for the whole batch (the rows are locked by the SELECT above).
                session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([row.id for row in rows]))
                    .values(
                        state=MessageState.SENDING,
                        claimed_at=now,
                        claimed_by=self.worker_id,
                        attempts=col(OutboxMessage.attempts) + 1,
                        updated_at=now,
                    )
                )
            claimed = [self._outbound(row) for row in rows]
        return claimed, leases

    def _due(
        self, session: Session, providers: Sequence[str], limit: int, now: datetime
    ) -> list[_Due]:
        """The most urgent due SMS rows of ``providers`` (locked, skipping locked, on PG)."""
        query = (
            sa_select(
                col(OutboxMessage.id),
                col(OutboxMessage.recipient),
                col(OutboxMessage.body),
                col(OutboxMessage.sender),
                col(OutboxMessage.provider),
                col(OutboxMessage.segments),
                col(OutboxMessage.synthetic),
            )
            .where(
                col(OutboxMessage.state) == MessageState.QUEUED,
                col(OutboxMessage.next_attempt_at) <= now,
                col(OutboxMessage.channel) == Channel.SMS,
                col(OutboxMessage.provider).in_(providers),
            )
            .order_by(
                col(OutboxMessage.priority).desc(),
                col(OutboxMessage.created_at),
                col(OutboxMessage.id),
            )
            .limit(limit)
        )
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        return [_Due(*row) for row in session.execute(query).all()]

    # -- provider outages -------------------------------------------------------------------

    def _check_holds(self) -> None:
        """Ask each held provider whose hold has ended whether it answers again."""
        now = self.clock.now()
        for name, hold in list(self._holds.items()):
            probe = self._probes.get(name)
            if hold.until > now or probe is None:
                continue  # still held, or probed with one message by the claim
            if self._reachable(probe):
                self._release(name)
            else:
                self._hold(name, now)

    def _hold_providers_down(self, outcomes: Sequence[_Outcome]) -> dict[str, datetime]:
        """The providers this round found down, held; each with the end of its hold."""
        now = self.clock.now()
        by_provider: dict[str, list[_Outcome]] = {}
        for outcome in outcomes:
            by_provider.setdefault(outcome.item.provider, []).append(outcome)
        down: dict[str, datetime] = {}
        for name, sent in by_provider.items():
            if all(o.transient is not None and o.transient.provider_fault for o in sent):
                probe = self._probes.get(name)
                if probe is not None and self._reachable(probe):
                    continue  # it answers: the messages failed on their own, and count
                down[name] = self._hold(name, now).until
            elif any(o.result is not None for o in sent):
                self._release(name)
        return down

    @staticmethod
    def _reachable(probe: ProbingProvider) -> bool:
        try:
            return probe.reachable()
        except Exception as exc:
            log.warning("checking provider %s failed: %s", probe.name, type(exc).__name__)
            return False

    def _hold(self, name: str, now: datetime) -> _Hold:
        previous = self._holds.get(name)
        checks = (previous.checks if previous else 0) + 1
        hold = _Hold(checks=checks, until=now + timedelta(seconds=hold_delay(checks)))
        if previous is None:
            log.warning(
                "provider %s down: its messages wait (asking again in %.0f s)",
                name,
                hold_delay(checks),
            )
        self._holds[name] = hold
        return hold

    def _release(self, name: str) -> None:
        hold = self._holds.pop(name, None)
        if hold is not None:
            log.info("provider %s answers again after %s checks: sending", name, hold.checks)

    def held_providers(self) -> list[str]:
        """The providers this worker holds now (found down)."""
        return sorted(self._holds)

    def _within_rate(self, session: Session, rows: Sequence[_Due], now: datetime) -> list[_Due]:
        """The rows the senders' rate limits let through now (tokens taken for them)."""
        if self.rate_limiter is None or not rows:
            return list(rows)
        costs: dict[str, list[int]] = {}
        for row in rows:
            costs.setdefault(sender_key(row), []).append(max(row.segments, 1))
        # Buckets are locked in sender order so concurrent claimers cannot deadlock.
        granted = {
            key: self.rate_limiter.grant(session, key, key_costs, now=now)
            for key, key_costs in sorted(costs.items())
        }
        allowed = []
        for row in rows:  # in priority order: the most urgent rows get the tokens
            key = sender_key(row)
            if granted[key] > 0:
                granted[key] -= 1
                allowed.append(row)
        return allowed

    def _outbound(self, row: _Due) -> _Claimed:
        return _Claimed(
            outbox=OutboundSms(
                outbox_id=row.id,
                to=row.recipient,
                body=row.body,
                sender_hint=row.sender,
                status_callback_url=self._status_callback_url(row.provider, row.id),
                synthetic=row.synthetic,
            ),
            provider=row.provider,
        )

    def _status_callback_url(self, provider: str, outbox_id: int) -> str | None:
        target = self.status_callback_urls.get(provider)
        if target is None or isinstance(target, str):
            return target
        return target(outbox_id)

    # -- sending ----------------------------------------------------------------------------

    def _at(self, point: str) -> None:
        if self.crash_hook is not None:
            self.crash_hook(point)

    async def _send_round(
        self, claimed: Sequence[_Claimed], leases: Sequence[Lease]
    ) -> list[_Outcome]:
        """Send the claimed messages (at most ``concurrency`` at once) and reconcile the leases."""
        limit = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()

        async def reconcile(lease: Lease) -> None:
            async with limit:
                await loop.run_in_executor(self._thread_pool(), self._reconcile, lease)

        async def send(item: _Claimed) -> _Outcome:
            async with limit:
                return await self._send_one(item)

        # Reconciliation first: it settles rows of earlier rounds in its own transactions.
        if leases:
            await asyncio.gather(*(reconcile(lease) for lease in leases))
        # gather() re-raises an unexpected error here (or a test's simulated crash); nothing of
        # the round is recorded then, which recovery handles like a killed worker.
        return list(await asyncio.gather(*(send(item) for item in claimed)))

    def _thread_pool(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix="outbox-send"
            )
        return self._threads

    async def _send_one(self, item: _Claimed) -> _Outcome:
        provider = self.providers[item.provider]
        async_provider = self._async_providers.get(item.provider)
        self._at(BEFORE_SEND)
        try:
            if async_provider is not None:
                result = await async_provider.send_async(item.outbox)
            elif self.concurrency == 1:
                result = provider.send(item.outbox)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self._thread_pool(), provider.send, item.outbox)
        except TransientSendError as exc:
            outcome = _Outcome(item, transient=exc)
        except PermanentSendError as exc:
            outcome = _Outcome(item, permanent=exc)
        except UncertainSendError as exc:
            outcome = _Outcome(item, uncertain=exc)
        except Exception as exc:
            # A bug or an unclassified error inside the provider: it may have sent the message
            # before failing, so this is the crash window again, never a retry.
            outcome = _Outcome(item, unexpected=f"unexpected {type(exc).__name__}")
        else:
            outcome = _Outcome(item, result=result)
        self._at(AFTER_ANSWER)
        return outcome

    # -- recording --------------------------------------------------------------------------

    def _record_round(
        self, outcomes: Sequence[_Outcome], held: Mapping[str, datetime] | None = None
    ) -> None:
        """Record every outcome of a round in one transaction (``held``: providers found down).

        The common case (sent, nothing else happened to the row meanwhile) is one statement
        for the whole round on PostgreSQL; everything else takes the row's lock and the
        careful path below.
        """
        with transaction(self.engine) as session:
            now = self.clock.now()
            sent = [o for o in outcomes if o.result is not None]
            recorded = self._record_sent_bulk(session, sent, now)
            for outcome in sorted(outcomes, key=lambda o: o.item.outbox.outbox_id):
                outbox_id = outcome.item.outbox.outbox_id
                if outcome.result is not None:
                    if outbox_id not in recorded:
                        self._record_sent(session, outbox_id, outcome.result, now)
                elif outcome.transient is not None:
                    held_until = (held or {}).get(outcome.item.provider)
                    self._record_transient(
                        session, outbox_id, outcome.transient, now, held_until=held_until
                    )
                elif outcome.permanent is not None:
                    self._record_permanent(session, outbox_id, outcome.permanent)
                elif outcome.uncertain is not None:
                    exc = outcome.uncertain
                    self._record_uncertain(session, outbox_id, exc.code, exc.message, now)
                else:
                    text_ = outcome.unexpected or "unexpected error"
                    self._record_uncertain(session, outbox_id, None, text_, now)

    def _record_sent_bulk(
        self, session: Session, sent: Sequence[_Outcome], now: datetime
    ) -> set[int]:
        """Record the plain sends (still unresolved, no SID yet); the ids recorded."""
        rows = sorted(
            (o.item.outbox.outbox_id, o.result.provider_sid, o.result.sender)
            for o in sent
            if o.result is not None
        )
        if not rows:
            return set()
        states = {
            "sent": MessageState.SENT.value,
            "sending": MessageState.SENDING.value,
            "uncertain": MessageState.UNCERTAIN.value,
        }
        if is_postgres(session):
            ids, sids, senders = (list(column) for column in zip(*rows, strict=True))
            found = session.execute(
                _BULK_SENT_PG,
                {"ids": ids, "sids": sids, "senders": senders, "now": now, **states},
            ).scalars()
            return set(found)
        # SQLite: one UPDATE per row, still in the round's single transaction.
        recorded = set()
        for outbox_id, sid, sender in rows:
            values: dict[str, Any] = {
                "provider_sid": sid,
                "state": MessageState.SENT,
                "sent_at": func.coalesce(col(OutboxMessage.sent_at), now),
                "updated_at": now,
                "provider_error_code": None,
                "error_message": None,
            }
            if sender:
                values["sender"] = sender
            result = session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == outbox_id,
                    col(OutboxMessage.state).in_(UNRESOLVED),
                    col(OutboxMessage.provider_sid).is_(None),
                )
                .values(**values)
            )
            if result.rowcount:
                recorded.add(outbox_id)
        return recorded

    def _locked(self, session: Session, outbox_id: int) -> OutboxMessage | None:
        return session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id) == outbox_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()

    def _record_sent(
        self, session: Session, outbox_id: int, result: SendResult, now: datetime
    ) -> None:
        message = self._locked(session, outbox_id)
        if message is None:
            return
        if message.provider_sid not in (None, result.provider_sid):
            # A status callback or reconciliation recorded another copy of this message
            # first (the crash window): this send made a second one.
            record_suspected_duplicate(
                session,
                message=message,
                provider_sid=result.provider_sid,
                status=result.status,
                source=DuplicateSource.SEND_RESULT,
                now=now,
            )
            return
        # A status callback may have got here first; it never moves the state back.
        message.provider_sid = message.provider_sid or result.provider_sid
        message.sender = result.sender or message.sender
        message.updated_at = now
        if advance(session, message, MessageState.SENT, now=now):
            message.provider_error_code = None
            message.error_message = None
        session.add(message)

    def _record_transient(
        self,
        session: Session,
        outbox_id: int,
        exc: TransientSendError,
        now: datetime,
        *,
        held_until: datetime | None = None,
    ) -> None:
        message = self._locked(session, outbox_id)
        if message is None or message.state is not MessageState.SENDING:
            return
        if held_until is not None:
            # The provider is down: not this message's fault. It waits for the hold to end,
            # due then with the rest, so the queue goes out in order of urgency afterwards.
            message.attempts = max(message.attempts - 1, 0)
            message.state = MessageState.QUEUED
            message.next_attempt_at = held_until
            message.claimed_at = None
            message.claimed_by = None
            message.provider_error_code = _clip(exc.code, 16)
            message.error_message = _clip(exc.message)
            message.updated_at = now
            session.add(message)
            return
        if not exc.counts_as_attempt:
            message.attempts = max(message.attempts - 1, 0)
        if message.attempts >= self.max_attempts:
            log.warning("outbox=%s failed after %s attempts", outbox_id, message.attempts)
            self._fail(
                session,
                message,
                code=exc.code,
                text=f"gave up after {message.attempts} attempts",
            )
            return
        with self._rng_lock:
            delay = backoff_delay(message.attempts, retry_after=exc.retry_after, rng=self._rng)
        message.state = MessageState.QUEUED
        message.next_attempt_at = now + timedelta(seconds=delay)
        message.claimed_at = None
        message.claimed_by = None
        message.provider_error_code = _clip(exc.code, 16)
        message.error_message = _clip(exc.message)
        message.updated_at = now
        session.add(message)

    def _record_permanent(self, session: Session, outbox_id: int, exc: PermanentSendError) -> None:
        log.warning("outbox=%s failed permanently (code %s)", outbox_id, exc.code)
        message = self._locked(session, outbox_id)
        if message is None:
            return
        self._fail(session, message, code=exc.code, text=_clip(exc.message))

    def _fail(
        self, session: Session, message: OutboxMessage, *, code: str | None, text: str | None
    ) -> None:
        """Mark failed and tell the subject's owner, in one transaction.

        A handler that raises must not leave the row in ``sending`` (it would end up
        ``uncertain``, which is not true): its work is undone with its savepoint, the error is
        logged, and the failure is recorded without it.
        """
        if not advance(
            session,
            message,
            MessageState.FAILED,
            now=self.clock.now(),
            error_code=code,
            error_message=text,
            notify=False,
        ):
            return
        self._notify_failure(session, message)

    def _notify_failure(self, session: Session, message: OutboxMessage) -> None:
        """Tell the subject's owner; a handler that raises is undone and logged, not fatal."""
        session.flush()
        try:
            with session.begin_nested():
                notify_failure(session, message, handlers=self.failure_handlers)
        except Exception as exc:
            log.error(
                "failure handler for outbox=%s (subject kind %s) raised %s; owner not told",
                message.id,
                message.subject_kind,
                type(exc).__name__,
            )
            text = message.error_message or ""
            message.error_message = _clip(f"{text} (failure handler raised)".strip())
            session.add(message)

    def _record_uncertain(
        self, session: Session, outbox_id: int, code: str | None, text: str, now: datetime
    ) -> None:
        log.warning("outbox=%s outcome unknown; marked uncertain, not re-sent", outbox_id)
        message = self._locked(session, outbox_id)
        if message is None or message.state is not MessageState.SENDING:
            return
        message.state = MessageState.UNCERTAIN
        message.provider_error_code = _clip(code, 16)
        message.error_message = _clip(text)
        message.updated_at = now
        session.add(message)

    # -- recovery ---------------------------------------------------------------------------

    def _reconcile(self, lease: Lease) -> None:
        """Ask the provider about one leased unresolved row and settle it (``recovery``)."""
        outbox_id = lease.outbox.outbox_id
        try:
            found = self._reconcilers[lease.provider].find_sent(lease.outbox, since=lease.since)
        except ReconcileError as exc:
            log.warning(
                "outbox=%s unresolved; could not ask %s (%s); asking again after %.0f s",
                outbox_id,
                lease.provider,
                exc,  # a type name or an HTTP status: no personal data
                self.sending_grace.total_seconds(),
            )
            return
        with transaction(self.engine) as session:
            message = self._locked(session, outbox_id)
            if message is None:
                return
            outcome = settle(
                session, message, found, now=self.clock.now(), max_attempts=self.max_attempts
            )
            if outcome is Settlement.OUT_OF_ATTEMPTS:
                self._fail(
                    session,
                    message,
                    code=None,
                    text=f"gave up after {message.attempts} attempts (last one unrecorded)",
                )
            elif outcome is Settlement.ADOPTED and message.state in FAILURE_STATES:
                self._notify_failure(session, message)


def _name(job: Callable[[], int]) -> str:
    return str(getattr(job, "__qualname__", None) or type(job).__name__)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (it comes with uvicorn[standard]): half asyncio's CPU per send."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def default_worker_id() -> str:
    """host:pid:random — unique per worker, readable in ``claimed_by``."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _clip(text: str | None, limit: int = 500) -> str | None:
    return None if text is None else text[:limit]
