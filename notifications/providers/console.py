"""The console provider: "sends" by recording, for development, demos and drills.

Nothing leaves the machine. The outbox row itself is the record (the worker marks it ``sent``
with provider SID ``CONSOLE-<outbox id>``), and :func:`conversation_for` reads a number's
messages back, merged with what that number sent in, for the development phone simulator.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from notifications.models import InboundMessage, MessageState, OutboxMessage
from notifications.providers.base import OutboundSms, SendResult
from notifications.segments import count_segments

log = logging.getLogger(__name__)

CONSOLE = "console"
CONSOLE_SENDER = "Zorgbrigade"

# What the phone "received": a queued message has not reached it yet.
_ON_THE_PHONE = (MessageState.SENT, MessageState.DELIVERED)


class ConsoleProvider:
    """An SmsProvider that accepts every message, synthetic recipients included."""

    name = CONSOLE

    def send(self, message: OutboundSms) -> SendResult:
        """Record the message as sent (the outbox row is the record); logs no number or text."""
        log.info(
            "console sms outbox=%s segments=%s",
            message.outbox_id,
            count_segments(message.body).segments,
        )
        return SendResult(
            provider_sid=console_sid(message.outbox_id), status="sent", sender=CONSOLE_SENDER
        )


def console_sid(outbox_id: int) -> str:
    """The provider SID the console gives an outbox message."""
    return f"CONSOLE-{outbox_id}"


class Direction(enum.StrEnum):
    OUT = "out"  # to the phone
    IN = "in"  # from the phone


@dataclass(frozen=True)
class ConsoleEntry:
    """One message on the simulated phone, either direction."""

    direction: Direction
    at: datetime
    body: str
    message_id: int  # outbox_message.id (out) or inbound_message.id (in)
    state: str | None = None  # the outbox state of an outgoing message
    drill: bool = False


def conversation_for(
    session: Session, number: str, *, include_pending: bool = False, limit: int = 200
) -> list[ConsoleEntry]:
    """The console messages to ``number`` and the replies from it, oldest first (last ``limit``)."""
    out_query = select(OutboxMessage).where(
        OutboxMessage.provider == CONSOLE, OutboxMessage.recipient == number
    )
    if not include_pending:
        out_query = out_query.where(col(OutboxMessage.state).in_(_ON_THE_PHONE))
    out_query = out_query.order_by(col(OutboxMessage.id).desc()).limit(limit)
    in_query = (
        select(InboundMessage)
        .where(InboundMessage.from_number == number)
        .order_by(col(InboundMessage.id).desc())
        .limit(limit)
    )
    entries = [
        ConsoleEntry(
            direction=Direction.OUT,
            at=message.sent_at or message.created_at,
            body=message.body,
            message_id=_id(message.id),
            state=message.state.value,
            drill=message.drill,
        )
        for message in session.exec(out_query)
    ]
    entries += [
        ConsoleEntry(
            direction=Direction.IN,
            at=inbound.received_at,
            body=inbound.body,
            message_id=_id(inbound.id),
        )
        for inbound in session.exec(in_query)
    ]
    # At the same moment (a manual clock that did not move), a reply comes before the answer it
    # caused.
    entries.sort(key=lambda e: (e.at, e.direction is Direction.OUT, e.message_id))
    return entries[-limit:]


def console_numbers(session: Session, *, limit: int = 100) -> list[str]:
    """Numbers the console has sent to, most recent first (the simulator's phone picker)."""
    query = (
        select(OutboxMessage.recipient)
        .where(OutboxMessage.provider == CONSOLE)
        .group_by(OutboxMessage.recipient)
        .order_by(func.max(OutboxMessage.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def _id(value: int | None) -> int:
    assert value is not None, "a stored row has an id"
    return value
