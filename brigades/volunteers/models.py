"""Volunteers and what they told us at sign-up."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from brigades.skills.models import EvidenceKind
from notifications.sqltypes import AwareDateTime, str_enum


class VolunteerStatus(enum.StrEnum):
    PENDING = "pending"  # signed up, phone not yet verified
    ACTIVE = "active"
    PAUSED = "paused"  # "tijdelijk niet beschikbaar" until paused_until
    DORMANT = "dormant"  # did not re-confirm; revived by BESCHIKBAAR
    ERASED = "erased"  # personal data removed (AVG art. 17); the row keeps aggregates


class PreferredChannel(enum.StrEnum):
    SMS = "sms"
    WEB = "web"


class ConsentMethod(enum.StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"


def _volunteer_fk() -> Any:
    return Column(
        Integer, ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False, index=True
    )


class Volunteer(SQLModel, table=True):
    """A citizen volunteer. Location is kept at postcode precision only (data minimisation)."""

    __tablename__ = "volunteer"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=32, unique=True)
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=16, unique=True)
    phone_verified_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    status: VolunteerStatus = Field(
        default=VolunteerStatus.PENDING, sa_type=str_enum(VolunteerStatus), index=True
    )
    paused_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    adult_confirmed: bool = Field(default=False)
    postcode: str | None = Field(default=None, max_length=8)
    house_number: str | None = Field(default=None, max_length=16)
    pc4: int | None = Field(default=None, index=True)
    lat: float | None = None
    lon: float | None = None
    gm_code: str | None = Field(default=None, max_length=8, index=True)
    vr_code: str | None = Field(default=None, max_length=4, index=True)
    location_note: str | None = Field(default=None, max_length=200)
    support_point_id: int | None = Field(default=None, foreign_key="support_point.id", index=True)
    max_distance_km: int = Field(default=5)
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    preferred_channel: PreferredChannel = Field(
        default=PreferredChannel.SMS, sa_type=str_enum(PreferredChannel)
    )
    sms_opted_out: bool = Field(default=False)
    sms_opted_out_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    consent_version: str | None = Field(default=None, max_length=16)
    consent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    consent_method: ConsentMethod | None = Field(default=None, sa_type=str_enum(ConsentMethod))
    consent_recorded_by: str | None = Field(default=None, max_length=100)
    vetting_level: int = Field(default=0)
    synthetic: bool = Field(default=False)
    # Bumped to invalidate every personal link and session at once (phone change, erasure).
    link_version: int = Field(default=1)
    created_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class VolunteerSkill(SQLModel, table=True):
    """A skill a volunteer has, with the evidence behind it."""

    __tablename__ = "volunteer_skill"
    __table_args__ = (UniqueConstraint("volunteer_id", "skill_code"),)

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    skill_code: str = Field(foreign_key="skill.code", max_length=40)
    evidence_kind: EvidenceKind = Field(sa_type=str_enum(EvidenceKind))
    evidence_detail: str | None = Field(default=None, max_length=200)
    big_number: str | None = Field(default=None, max_length=11)
    evidence_expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    verified_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_type=AwareDateTime)


class AvailabilityWindow(SQLModel, table=True):
    """A weekly window (Europe/Amsterdam wall-clock time) in which a volunteer can help."""

    __tablename__ = "availability_window"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="minute_range",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    weekday: int  # 0 = Monday
    start_minute: int
    end_minute: int


class VerificationPurpose(enum.StrEnum):
    SIGNUP = "signup"
    PHONE_CHANGE = "phone_change"


class PhoneVerification(SQLModel, table=True):
    """A 6-digit code sent by SMS; only its keyed hash is stored."""

    __tablename__ = "phone_verification"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    phone: str = Field(max_length=16)
    purpose: VerificationPurpose = Field(sa_type=str_enum(VerificationPurpose))
    code_hash: str = Field(max_length=64)
    attempts: int = Field(default=0)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    created_at: datetime = Field(sa_type=AwareDateTime)


class AccessLink(SQLModel, table=True):
    """A personal, expiring link sent by SMS (no password). Only the token's hash is stored."""

    __tablename__ = "access_link"

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    token_hash: str = Field(max_length=64, unique=True)
    link_version: int
    expires_at: datetime = Field(sa_type=AwareDateTime)
    created_at: datetime = Field(sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
