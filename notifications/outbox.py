"""Writing messages to the outbox, in the caller's transaction.

A message is never sent from inside a request: it is a row, written in the same transaction as
the state change that causes it, and a worker sends it after the commit. A rollback drops the
message; a crash after the commit cannot lose it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from notifications.models import Channel, MessageState, OutboxMessage, Priority
from notifications.segments import count_segments
from notifications.texts import DRILL_PREFIX, drill_text

__all__ = ["DRILL_PREFIX", "enqueue", "get", "message_values", "requeue", "state_counts"]


def message_values(
    *,
    recipient: str,
    body: str,
    now: datetime,
    provider: str,
    channel: Channel = Channel.SMS,
    priority: Priority | int = Priority.NOTICE,
    volunteer_id: int | None = None,
    drill: bool = False,
    synthetic: bool = False,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """The column values of a new queued message (for ``enqueue`` and for bulk inserts alike).

    The one place that decides a new message's drill prefix, segments, state, attempts, times
    and priority; columns left out (claims, provider results) start empty.
    """
    if drill:
        body = drill_text(body)
    return dict(
        recipient=recipient,
        body=body,
        provider=provider,
        channel=channel,
        priority=int(priority),
        volunteer_id=volunteer_id,
        drill=drill,
        synthetic=synthetic,
        subject_kind=subject_kind,
        subject_id=subject_id,
        state=MessageState.QUEUED,
        attempts=0,
        next_attempt_at=not_before or now,
        segments=count_segments(body).segments,
        created_at=now,
        updated_at=now,
    )


def enqueue(
    session: Session,
    *,
    recipient: str,
    body: str,
    now: datetime,
    provider: str,
    channel: Channel = Channel.SMS,
    priority: Priority | int = Priority.NOTICE,
    volunteer_id: int | None = None,
    drill: bool = False,
    synthetic: bool = False,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Queue one message; the caller's transaction decides whether it exists."""
    message = OutboxMessage(
        **message_values(
            recipient=recipient,
            body=body,
            now=now,
            provider=provider,
            channel=channel,
            priority=priority,
            volunteer_id=volunteer_id,
            drill=drill,
            synthetic=synthetic,
            subject_kind=subject_kind,
            subject_id=subject_id,
            not_before=not_before,
        )
    )
    session.add(message)
    return message


def get(session: Session, outbox_id: int) -> OutboxMessage | None:
    """One outbox message by id."""
    return session.get(OutboxMessage, outbox_id)


def state_counts(session: Session) -> dict[MessageState, int]:
    """How many messages are in each state (for health pages and the drill report)."""
    rows = session.exec(
        select(OutboxMessage.state, func.count()).group_by(col(OutboxMessage.state))
    ).all()
    counts = dict.fromkeys(MessageState, 0)
    for state, count in rows:
        counts[MessageState(state)] = count
    return counts


REQUEUEABLE = frozenset({MessageState.UNCERTAIN, MessageState.FAILED})


def requeue(session: Session, *, outbox_id: int, now: datetime) -> OutboxMessage | None:
    """Queue an uncertain or failed message again: a person decided it should go (once more).

    The worker never does this on its own (an uncertain message may already have arrived).
    Returns None when there is no such message; a message in another state is left alone.
    """
    message = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if message is None or message.state not in REQUEUEABLE:
        return message
    message.state = MessageState.QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    message.claimed_at = None
    message.claimed_by = None
    # A fresh send gets a fresh provider SID; the old one belongs to the failed try.
    message.provider_sid = None
    message.provider_error_code = None
    message.error_message = None
    message.sent_at = None
    message.failed_at = None
    message.updated_at = now
    session.add(message)
    return message
