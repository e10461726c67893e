"""Checks a coordinator recorded about a volunteer. The documents themselves are never stored:
only what was seen, by whom, when, and how long it counts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from brigades.skills.models import EvidenceKind
from notifications.sqltypes import AwareDateTime, str_enum


class CheckKind(enum.StrEnum):
    # Online sign-ups verify their number themselves (no row: implicit); a row of this kind
    # records a number verified at a buurtsteunpunt, with the code the citizen read out.
    PHONE_VERIFIED = "phone_verified"
    IDENTITY_SEEN = "identity_seen"
    VOG = "vog"
    PROFESSIONAL_EVIDENCE = "professional_evidence"


class IdentityDocument(enum.StrEnum):
    """The kind of document shown (never its number: copying or noting it is not needed)."""

    PASSPORT = "passport"
    IDENTITY_CARD = "identity_card"
    DRIVING_LICENCE = "driving_licence"
    RESIDENCE_PERMIT = "residence_permit"


def _volunteer_fk() -> Any:
    return Column(
        Integer, ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False, index=True
    )


def _skill_fk() -> Any:
    # SET NULL: when the volunteer drops the skill, the history of the check stays (it no
    # longer counts for anything).
    return Column(
        Integer, ForeignKey("volunteer_skill.id", ondelete="SET NULL"), nullable=True, index=True
    )


class VettingCheck(SQLModel, table=True):
    """One check of one volunteer. A check counts while it is neither revoked nor past
    ``valid_until``; the volunteer's ``vetting_level`` is derived from the checks that count."""

    __tablename__ = "vetting_check"
    __table_args__ = (Index("ix_vetting_check_valid_until_open", "valid_until", "expired_at"),)

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=_volunteer_fk())
    kind: CheckKind = Field(sa_type=str_enum(CheckKind, length=32))
    # Professional evidence: the skill claim it backs, and what was seen.
    volunteer_skill_id: int | None = Field(default=None, sa_column=_skill_fk())
    skill_code: str | None = Field(default=None, max_length=40)
    evidence_kind: EvidenceKind | None = Field(default=None, sa_type=str_enum(EvidenceKind))
    big_number: str | None = Field(default=None, max_length=11)
    # Whether a BIG-register lookup confirmed the registration (False: the register is off).
    register_checked: bool = Field(default=False)
    identity_document: IdentityDocument | None = Field(
        default=None, sa_type=str_enum(IdentityDocument)
    )
    # The date on the document (a VOG's date of issue), if it matters.
    issued_on: date | None = None
    reference: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=200)
    checked_by_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    checked_by_label: str = Field(max_length=120)
    checked_at: datetime = Field(sa_type=AwareDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Set by the daily job once it has processed the expiry (audited once, level lowered).
    expired_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_by_label: str | None = Field(default=None, max_length=120)
    revoke_reason: str | None = Field(default=None, max_length=200)
