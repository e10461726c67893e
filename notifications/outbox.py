"""Writing messages to the outbox, in the caller's transaction.

A message is never sent from inside a request: it is a row, written in the same transaction as
the state change that causes it, and a worker sends it after the commit. A rollback drops the
message; a crash after the commit cannot lose it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from notifications.models import Channel, MessageState, OutboxMessage, Priority
from notifications.segments import count_segments

DRILL_PREFIX = "OEFENING"


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
    if drill and not body.startswith(DRILL_PREFIX):
        body = f"{DRILL_PREFIX}: {body}"
    message = OutboxMessage(
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
    session.add(message)
    return message
