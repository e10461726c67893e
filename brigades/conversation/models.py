"""Questions and the coordinators' inbox (DESIGN.md, "SMS conversation")."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, text
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum


class QuestionKind(enum.StrEnum):
    OFFER = "offer"
    ROLL_CALL = "roll_call"
    RECONFIRMATION = "reconfirmation"
    # An accepted task: AANGEKOMEN, KLAAR and AFZEGGEN answer it.
    ASSIGNMENT = "assignment"


class QuestionState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CLOSED = "closed"  # withdrawn by the system (task filled, incident closed, …)


class Question(SQLModel, table=True):
    """An open question to one volunteer, answered by a reply with its short code."""

    __tablename__ = "question"
    __table_args__ = (
        # A code is unique among one volunteer's *open* questions (partial index, both databases).
        Index(
            "uq_question_open_code",
            "volunteer_id",
            "code",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_question_subject", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code: str = Field(max_length=8)
    kind: QuestionKind = Field(sa_type=str_enum(QuestionKind))
    subject_kind: str = Field(max_length=32)
    subject_id: int
    drill: bool = Field(default=False)
    state: QuestionState = Field(default=QuestionState.OPEN, sa_type=str_enum(QuestionState))
    answer: str | None = Field(default=None, max_length=24)
    opened_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # When it stopped being open without an answer (expired or closed by the system).
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class InboxItemState(enum.StrEnum):
    OPEN = "open"
    HANDLED = "handled"


class InboxItem(SQLModel, table=True):
    """A volunteer's SMS that matched no word, for the coordinators of their buurtsteunpunt."""

    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_item_support_point_state", "support_point_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    # NULL when the volunteer has no buurtsteunpunt: the regional coordinators see those.
    support_point_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("support_point.id", ondelete="SET NULL"), nullable=True
        ),
    )
    volunteer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    inbound_message_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("inbound_message.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: InboxItemState = Field(default=InboxItemState.OPEN, sa_type=str_enum(InboxItemState))
    created_at: datetime = Field(sa_type=AwareDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    handled_by: str | None = Field(default=None, max_length=100)
