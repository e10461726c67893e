"""The outbox and inbound message tables (DESIGN.md, "Outbox message")."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum


class Channel(enum.StrEnum):
    SMS = "sms"
    WEB = "web"


class MessageState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    # The send may have reached the provider but we never learned its answer (a lost answer, a
    # crash between the provider accepting and our commit). Never re-sent blindly: a provider that
    # can list its messages is asked first (see ``notifications.recovery``); otherwise a person
    # decides (``outbox.requeue``).
    UNCERTAIN = "uncertain"


FINAL_STATES = frozenset(
    {MessageState.DELIVERED, MessageState.UNDELIVERED, MessageState.FAILED, MessageState.UNCERTAIN}
)


class Priority(enum.IntEnum):
    """Higher goes first: urgent offers before roll-calls before reminders."""

    REMINDER = 10
    NOTICE = 20
    ROLL_CALL = 30
    VERIFICATION = 40
    OFFER = 50
    URGENT_OFFER = 60


class OutboxMessage(SQLModel, table=True):
    """One outgoing SMS or web notice, written in the transaction that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        # The worker's claim query walks this in its own order (queued, most urgent, oldest) and
        # stops at its batch: an index led by ``next_attempt_at`` made it sort every due row,
        # a second per claim behind a sign-up surge's 700,000 queued codes. The recovery sweeps
        # (``sending``/``uncertain`` rows, few at any time) use its leading column.
        Index(
            "ix_outbox_message_claim",
            "state",
            text("priority DESC"),
            "created_at",
            "id",
        ),
        Index("ix_outbox_message_subject", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(max_length=64, index=True)
    volunteer_id: int | None = Field(default=None, index=True)
    channel: Channel = Field(default=Channel.SMS, sa_type=str_enum(Channel))
    provider: str = Field(max_length=16)
    body: str = Field(sa_column=Column(Text, nullable=False))
    priority: int = Field(default=int(Priority.NOTICE))
    drill: bool = Field(default=False)
    synthetic: bool = Field(default=False)
    subject_kind: str | None = Field(default=None, max_length=32)
    subject_id: int | None = Field(default=None)
    state: MessageState = Field(default=MessageState.QUEUED, sa_type=str_enum(MessageState))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=AwareDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    sender: str | None = Field(default=None, max_length=64)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    provider_error_code: str | None = Field(default=None, max_length=16)
    error_message: str | None = Field(default=None, max_length=500)
    segments: int = Field(default=1)
    created_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class InboundMessage(SQLModel, table=True):
    """One incoming SMS, recorded before it is acted on (and deduplicated on the provider SID).

    The webhook only records it (``handled_at`` empty); the worker handles it afterwards.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (
        # The worker's queue of messages still to handle, oldest first; small, whatever the
        # size of the table.
        Index(
            "ix_inbound_message_unhandled",
            "id",
            postgresql_where=text("handled_at IS NULL"),
            sqlite_where=text("handled_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    provider_sid: str = Field(max_length=64, unique=True)
    from_number: str | None = Field(default=None, max_length=32, index=True)
    to_number: str | None = Field(default=None, max_length=32)
    body: str = Field(sa_column=Column(Text, nullable=False))
    volunteer_id: int | None = Field(default=None, index=True)
    intent: str | None = Field(default=None, max_length=24)
    question_id: int | None = Field(default=None)
    outcome: str | None = Field(default=None, max_length=48)
    received_at: datetime = Field(sa_type=AwareDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class SmsSenderRate(SQLModel, table=True):
    """The token bucket of one sender, shared by every worker (see ``notifications.ratelimit``)."""

    __tablename__ = "sms_sender_rate"

    sender: str = Field(primary_key=True, max_length=64)
    tokens: float
    updated_at: datetime = Field(sa_type=AwareDateTime)


class SuspectedDuplicate(SQLModel, table=True):
    """A provider message that claims to be an outbox message already recorded under another SID.

    The provider's send API has no idempotency key, so the one window recovery cannot close (the
    provider accepted a message, we crashed before recording it, and reconciliation did not see
    it) can send a message twice. Both copies carry the outbox id in their status-callback URL, so
    the second SID to turn up is recorded here and reported (``notifications.recovery``). No
    personal data: ids, SIDs and states only.
    """

    __tablename__ = "outbox_suspected_duplicate"
    __table_args__ = (UniqueConstraint("outbox_id", "provider_sid"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(index=True)
    provider: str = Field(max_length=16)
    provider_sid: str = Field(max_length=64)  # the other copy
    recorded_sid: str | None = Field(default=None, max_length=64)  # the SID on the outbox row
    source: str = Field(max_length=24)  # status_callback | send_result | reconcile
    last_status: str | None = Field(default=None, max_length=24)
    detected_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
