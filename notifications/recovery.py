"""Crash recovery: messages whose send was started but whose outcome was never recorded.

The provider's send API has no idempotency key, so a message must never be sent again merely
because *we* do not know whether it went. Two kinds of rows are unresolved:

- ``sending`` with no provider SID: a worker claimed the row (and committed ``sending``) and then
  stopped before recording an outcome — before the request, during it, or after the provider's
  answer but before the commit;
- ``uncertain`` with no provider SID: the request was written but the answer was lost (a read
  time-out, a dropped connection).

The rule, applied by the worker at the start of every round:

1. **Grace.** A row is only looked at once ``claimed_at`` (when the unrecorded attempt started)
   is older than the grace period (``ZB_WORKER_SENDING_GRACE_SECONDS``, longer than any send can
   take, see the settings' check) and no status callback has given it a SID. A callback carries
   the outbox id in its URL, so it resolves the row by itself (``status.apply_status``).
2. **Lease.** The row is leased for one more grace period (``next_attempt_at``; ``claimed_at``
   keeps the moment of the attempt), in a short committed transaction, with ``SKIP LOCKED`` on
   PostgreSQL, so one worker asks about it at a time and a worker dying while asking only delays
   it.
3. **Ask the provider** (no transaction open): a provider that can list its messages
   (:class:`ReconcilingProvider`, e.g. Twilio's Message list filtered on To and DateSent since the
   attempt, matching the body and sender) returns the messages that can be this one.
4. **Settle**, in one transaction with the row locked, if it is still unresolved:

   - the provider has it → its SID is adopted and the state follows the provider's status (at
     least ``sent``); never re-sent. Further matches are recorded as suspected duplicates;
   - the provider has none → the attempt never reached it: the row is queued again at once (or,
     out of attempts, failed and its subject told);
   - the provider could not be asked → nothing changes; asked again when the lease runs out.

   Providers that cannot list their messages (none of ``find_sent``) keep the conservative rule:
   the row becomes ``uncertain`` and stays so, reported, for a person to requeue.

What remains is the one window nobody can close without an idempotency key: the provider took the
message, but it was not yet visible in its list when we asked (or its copy differs, e.g. the body
was re-encoded). The message is then sent twice. Both copies carry the outbox id in their
status-callback URL, so the copy whose SID differs from the recorded one is **detected** when its
callback (or its send result) arrives, recorded in ``outbox_suspected_duplicate``, logged, and
reported by :func:`report` (``notifications.duplicates``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlmodel import Session, col, select

from notifications.duplicates import (
    DuplicateSource,
    record_suspected_duplicate,
    sids_on_other_messages,
    suspected_duplicates,
)
from notifications.models import MessageState, OutboxMessage, SuspectedDuplicate
from notifications.providers.base import OutboundSms, SendResult
from notifications.status import advance, state_for_status
from notifications.transactions import is_postgres

log = logging.getLogger(__name__)

UNRESOLVED = (MessageState.SENDING, MessageState.UNCERTAIN)


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider lists it."""

    provider_sid: str
    status: str
    created_at: datetime | None = None
    sender: str | None = None


class ReconcileError(Exception):
    """The provider could not be asked (network, HTTP error): try again later."""


@runtime_checkable
class ReconcilingProvider(Protocol):
    """A provider that can say which messages it holds that may be a given outbox message."""

    name: str

    def send(self, message: OutboundSms) -> SendResult:
        """Send one message (see ``SmsProvider``)."""
        ...

    def find_sent(self, message: OutboundSms, *, since: datetime) -> list[ProviderMessage]:
        """Messages to ``message.to`` with its body, created since ``since`` (ReconcileError)."""
        ...


def reconciler(provider: object) -> ReconcilingProvider | None:
    """The provider as a ReconcilingProvider, or None when it cannot list its messages."""
    return provider if isinstance(provider, ReconcilingProvider) else None


@dataclass(frozen=True)
class Lease:
    """An unresolved row leased to one worker for reconciliation."""

    outbox: OutboundSms
    provider: str
    since: datetime  # when the unrecorded attempt started


def lease_unresolved(
    session: Session,
    *,
    now: datetime,
    grace: timedelta,
    providers: Collection[str],
    limit: int = 50,
) -> list[Lease]:
    """Lease unresolved rows of ``providers`` past the grace period (caller's transaction)."""
    if not providers:
        return []
    query = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.state).in_(UNRESOLVED),
            col(OutboxMessage.provider_sid).is_(None),
            col(OutboxMessage.provider).in_(sorted(providers)),
            col(OutboxMessage.claimed_at) < now - grace,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .order_by(col(OutboxMessage.claimed_at), col(OutboxMessage.id))
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    leases = []
    for row in session.exec(query):
        assert row.id is not None and row.claimed_at is not None
        row.next_attempt_at = now + grace
        row.updated_at = now
        session.add(row)
        leases.append(
            Lease(
                outbox=OutboundSms(
                    outbox_id=row.id,
                    to=row.recipient,
                    body=row.body,
                    sender_hint=row.sender,
                    synthetic=row.synthetic,
                ),
                provider=row.provider,
                since=row.claimed_at,
            )
        )
    return leases


class Settlement(enum.StrEnum):
    """What reconciling one row came to."""

    RESOLVED_MEANWHILE = "resolved_meanwhile"  # a callback or a late record got there first
    ADOPTED = "adopted"  # the provider has it: its SID and state recorded, not re-sent
    REQUEUED = "requeued"  # the provider has none: queued to be sent again
    OUT_OF_ATTEMPTS = "out_of_attempts"  # the provider has none, and no attempts are left


def settle(
    session: Session,
    message: OutboxMessage,
    found: Sequence[ProviderMessage],
    *,
    now: datetime,
    max_attempts: int,
) -> Settlement:
    """Step 4 of the rule for one locked row, given what the provider listed.

    The caller fails the message on OUT_OF_ATTEMPTS, and tells the subject's owner when an
    ADOPTED message is in a failure state (the provider reported it failed).
    """
    assert message.id is not None
    taken = sids_on_other_messages(session, [m.provider_sid for m in found], outbox_id=message.id)
    candidates = sorted(
        (m for m in found if m.provider_sid not in taken),
        key=lambda m: (m.created_at is None, m.created_at or now, m.provider_sid),
    )
    if message.provider_sid is not None or message.state not in UNRESOLVED:
        _record_copies(session, message, candidates, now)
        return Settlement.RESOLVED_MEANWHILE
    if candidates:
        _adopt(session, message, candidates[0], now)
        _record_copies(session, message, candidates[1:], now)
        return Settlement.ADOPTED
    if message.attempts >= max_attempts:
        log.warning("outbox=%s unresolved and out of attempts; failed", message.id)
        return Settlement.OUT_OF_ATTEMPTS
    log.warning(
        "outbox=%s: the provider has no record of the last attempt; queued again", message.id
    )
    message.state = MessageState.QUEUED
    message.next_attempt_at = now
    message.claimed_at = None
    message.claimed_by = None
    message.error_message = "re-sent: the provider had no record of the last attempt"
    message.updated_at = now
    session.add(message)
    return Settlement.REQUEUED


def _adopt(session: Session, message: OutboxMessage, found: ProviderMessage, now: datetime) -> None:
    log.warning(
        "outbox=%s reconciled: the provider has it as %s; not re-sent",
        message.id,
        found.provider_sid,
    )
    message.provider_sid = found.provider_sid
    message.sender = found.sender or message.sender
    message.provider_error_code = None
    message.error_message = None
    message.updated_at = now
    target = state_for_status(found.status) or MessageState.SENT
    # Unresolved rows rank below every provider word, so this always moves forward.
    advance(
        session,
        message,
        target,
        now=now,
        error_message=f"provider reported {target.value}",
        notify=False,
    )
    session.add(message)


def _record_copies(
    session: Session, message: OutboxMessage, copies: Sequence[ProviderMessage], now: datetime
) -> None:
    for copy in copies:
        if copy.provider_sid != message.provider_sid:
            record_suspected_duplicate(
                session,
                message=message,
                provider_sid=copy.provider_sid,
                status=copy.status,
                source=DuplicateSource.RECONCILE,
                now=now,
            )


@dataclass(frozen=True)
class RecoveryReport:
    """What an operator must look at: messages sent twice (suspected) and unresolved messages."""

    suspected_duplicates: Sequence[SuspectedDuplicate]
    uncertain_ids: Sequence[int]


def report(session: Session, *, since: datetime | None = None) -> RecoveryReport:
    """Suspected duplicates (since ``since``) and the ids of messages still ``uncertain``."""
    uncertain = session.exec(
        select(OutboxMessage.id)
        .where(col(OutboxMessage.state) == MessageState.UNCERTAIN)
        .order_by(col(OutboxMessage.id))
    ).all()
    return RecoveryReport(
        suspected_duplicates=suspected_duplicates(session, since=since),
        uncertain_ids=[i for i in uncertain if i is not None],
    )
