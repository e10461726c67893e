"""Peacetime readiness: targets, re-confirmation rounds, expiry warnings, trainings, service
statements (praktijkverklaringen) and the opt-in to hear about work in care.

Rows that belong to a volunteer are removed or blanked by this package's eraser
(:mod:`brigades.readiness.erasure`): the volunteer row itself survives an erasure, so ``ON
DELETE CASCADE`` alone would never fire.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum

RECONFIRMATION_SUBJECT = "reconfirmation"
STATEMENT_SUBJECT = "praktijkverklaring"


def _volunteer_fk(*, nullable: bool = False) -> Any:
    return Column(
        Integer,
        ForeignKey("volunteer.id", ondelete="CASCADE"),
        nullable=nullable,
        index=True,
    )


class ReadinessTarget(SQLModel, table=True):
    """How many volunteers with a skill a region wants per 10,000 inhabitants."""

    __tablename__ = "readiness_target"
    __table_args__ = (UniqueConstraint("vr_code", "skill_code"),)

    id: int | None = Field(default=None, primary_key=True)
    vr_code: str = Field(max_length=4, index=True)
    skill_code: str = Field(foreign_key="skill.code", max_length=40)
    per_10k: float
    set_by_label: str = Field(max_length=120)
    updated_at: datetime = Field(sa_type=AwareDateTime)


class ReconfirmationState(enum.StrEnum):
    ASKED = "asked"  # waiting for an answer (reminders go out)
    CONFIRMED = "confirmed"  # JA, or the button on /mijn
    DECLINED = "declined"  # NEE: paused until the next round
    DORMANT = "dormant"  # no answer after the reminders
    REVIVED = "revived"  # was dormant, then BESCHIKBAAR (counts as a confirmation)
    CANCELLED = "cancelled"  # paused or left before answering, or an incident in the region


class ReconfirmationChannel(enum.StrEnum):
    SMS = "sms"
    WEB = "web"


class Reconfirmation(SQLModel, table=True):
    """One "ben je nog beschikbaar?" round of one volunteer."""

    __tablename__ = "reconfirmation"
    __table_args__ = (Index("ix_reconfirmation_state_last_sent", "state", "last_sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    vr_code: str | None = Field(default=None, max_length=4)
    state: ReconfirmationState = Field(
        default=ReconfirmationState.ASKED, sa_type=str_enum(ReconfirmationState)
    )
    question_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("question.id", ondelete="SET NULL"), nullable=True),
    )
    # The interval in force when asked: NEE pauses until the next round would ask.
    interval_days: int
    # Whether the question went out by SMS (False: the volunteer can only answer on /mijn).
    by_sms: bool = Field(default=True)
    asked_at: datetime = Field(sa_type=AwareDateTime, index=True)
    reminders_sent: int = Field(default=0)
    last_sent_at: datetime = Field(sa_type=AwareDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    channel: ReconfirmationChannel | None = Field(
        default=None, sa_type=str_enum(ReconfirmationChannel)
    )


class ReconfirmationDay(SQLModel, table=True):
    """Re-confirmation SMS sent on one Amsterdam day (the per-day budget; its row is locked
    while a run decides, so two workers never overspend it)."""

    __tablename__ = "reconfirmation_day"

    day: date = Field(primary_key=True)
    sms_sent: int = Field(default=0)


class ExpiryWarningKind(enum.StrEnum):
    VOG = "vog"
    EVIDENCE = "evidence"


class ExpiryWarning(SQLModel, table=True):
    """A warning sent about one expiry (once per check or skill claim and expiry moment)."""

    __tablename__ = "expiry_warning"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    kind: ExpiryWarningKind = Field(sa_type=str_enum(ExpiryWarningKind))
    # A vetting check id (VOG) or a volunteer skill id (evidence).
    subject_id: int
    expires_at: datetime = Field(sa_type=AwareDateTime)
    sent_at: datetime = Field(sa_type=AwareDateTime)


class TrainingModule(SQLModel, table=True):
    """A short training a region offers: what it is called, which skill it supports, how long
    a completion counts (None: it does not expire)."""

    __tablename__ = "training_module"

    id: int | None = Field(default=None, primary_key=True)
    vr_code: str = Field(max_length=4, index=True)
    title: str = Field(max_length=120)
    skill_code: str = Field(foreign_key="skill.code", max_length=40)
    validity_months: int | None = Field(default=None)
    active: bool = Field(default=True)
    created_by_label: str = Field(max_length=120)
    created_at: datetime = Field(sa_type=AwareDateTime)


class AttendanceList(SQLModel, table=True):
    """A signed attendance list: the trainer's name and date, who uploaded it and when.

    The file itself is not kept (it names other people, who may later be erased); its SHA-256
    identifies it, and the completions it produced point back here.
    """

    __tablename__ = "attendance_list"

    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="training_module.id", index=True)
    vr_code: str = Field(max_length=4, index=True)
    trainer_name: str = Field(max_length=120)
    held_on: date
    filename: str = Field(default="", max_length=200)
    file_sha256: str = Field(max_length=64)
    all_or_nothing: bool = Field(default=True)
    total_rows: int = Field(default=0)
    imported_rows: int = Field(default=0)
    # [{"row": 3, "message": "…"}]: every refused row (no phone numbers or names).
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_by_label: str = Field(max_length=120)
    uploaded_at: datetime = Field(sa_type=AwareDateTime)


class CompletionMethod(enum.StrEnum):
    IN_PERSON = "in_person"
    ATTENDANCE_LIST = "attendance_list"


class TrainingCompletion(SQLModel, table=True):
    """A volunteer completed a training module (evidence for its skill while it is valid)."""

    __tablename__ = "training_completion"
    __table_args__ = (UniqueConstraint("module_id", "volunteer_id", "completed_on"),)

    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="training_module.id", index=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    completed_on: date
    trainer_name: str = Field(max_length=120)
    method: CompletionMethod = Field(sa_type=str_enum(CompletionMethod))
    attendance_list_id: int | None = Field(default=None, foreign_key="attendance_list.id")
    valid_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    recorded_by_label: str = Field(max_length=120)
    recorded_at: datetime = Field(sa_type=AwareDateTime)


class PracticeStatement(SQLModel, table=True):
    """An issued praktijkverklaring: what it said, and a hash of it.

    Erasure blanks ``holder_name``, ``summary`` and ``content_sha256`` and sets ``erased_at``;
    the row stays so that a verification can say the statement was issued (and no more).
    """

    __tablename__ = "practice_statement"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("volunteer.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    # A random nonce in the signed code: a code cannot be guessed from the id alone.
    nonce: str = Field(max_length=16)
    holder_name: str | None = Field(default=None, max_length=100)
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    content_sha256: str | None = Field(default=None, max_length=64)
    issued_at: datetime = Field(sa_type=AwareDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class CareInterest(SQLModel, table=True):
    """A volunteer's explicit, revocable opt-in to be listed for care recruiters."""

    __tablename__ = "care_interest"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("volunteer.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    consent_version: str = Field(max_length=16)
    opted_in_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
