"""A person's messages for a data export, and erasing them (AVG art. 15, 17 and 20).

Unsent messages are deleted; sent ones keep their row (delivery statistics, provider
reconciliation by SID) with the recipient, body and error text redacted. Inbound messages from
the person are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, false, or_, update
from sqlmodel import Session, col, select

from notifications.models import InboundMessage, MessageState, OutboxMessage

REDACTED = "[gewist]"
_UNSENT = (MessageState.QUEUED, MessageState.SENDING)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message to or from a person, as their data export shows it."""

    direction: Literal["sent", "received"]  # to the person, or from them
    at: datetime
    body: str
    state: str | None


def _to_person(volunteer_id: int | None, phone: str | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if volunteer_id is not None:
        conditions.append(col(OutboxMessage.volunteer_id) == volunteer_id)
    if phone:
        conditions.append(col(OutboxMessage.recipient) == phone)
    return or_(*conditions) if conditions else false()


def _from_person(volunteer_id: int | None, phone: str | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if volunteer_id is not None:
        conditions.append(col(InboundMessage.volunteer_id) == volunteer_id)
    if phone:
        conditions.append(col(InboundMessage.from_number) == phone)
    return or_(*conditions) if conditions else false()


def messages_for(
    session: Session, *, volunteer_id: int | None, phone: str | None
) -> list[MessageRecord]:
    """Every message sent to or received from a person, oldest first."""
    sent = session.exec(
        select(OutboxMessage).where(_to_person(volunteer_id, phone)).order_by(col(OutboxMessage.id))
    ).all()
    received = session.exec(
        select(InboundMessage)
        .where(_from_person(volunteer_id, phone))
        .order_by(col(InboundMessage.id))
    ).all()
    records = [MessageRecord("sent", m.created_at, m.body, m.state.value) for m in sent]
    records += [MessageRecord("received", m.received_at, m.body, m.outcome) for m in received]
    return sorted(records, key=lambda r: r.at)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def erase_messages(session: Session, *, volunteer_id: int | None, phone: str | None) -> int:
    """Delete unsent and inbound messages of a person and redact sent ones; rows affected."""
    to_person = _to_person(volunteer_id, phone)
    count = _rowcount(
        session.execute(
            delete(OutboxMessage).where(to_person, col(OutboxMessage.state).in_(_UNSENT))
        )
    )
    count += _rowcount(
        session.execute(
            update(OutboxMessage)
            .where(to_person, col(OutboxMessage.state).not_in(_UNSENT))
            .values(recipient=REDACTED, body=REDACTED, error_message=None)
        )
    )
    count += _rowcount(
        session.execute(delete(InboundMessage).where(_from_person(volunteer_id, phone)))
    )
    return count
