"""The skill taxonomy (reference data, seeded by a migration)."""

from __future__ import annotations

import enum

from sqlmodel import Field, SQLModel

from notifications.sqltypes import str_enum


class EvidenceKind(enum.StrEnum):
    """What backs up a skill. *Bekwaam is inzetbaar*: experience counts next to diplomas."""

    SELF_DECLARED = "self_declared"
    WORK_EXPERIENCE = "work_experience"
    LIFE_EXPERIENCE = "life_experience"
    CERTIFICATE = "certificate"
    DIPLOMA = "diploma"
    PRAKTIJKVERKLARING = "praktijkverklaring"
    BIG_REGISTRATION = "big_registration"
    TRAINING = "training"


class SkillCategory(enum.StrEnum):
    PRACTICAL = "practical"
    SOCIAL = "social"
    CARE = "care"
    PROFESSIONAL = "professional"


class Skill(SQLModel, table=True):
    """One entry of the skill taxonomy."""

    __tablename__ = "skill"

    code: str = Field(primary_key=True, max_length=40)
    name_nl: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    category: SkillCategory = Field(sa_type=str_enum(SkillCategory))
    description_nl: str = Field(default="", max_length=300)
    # Skills that touch a client's body or medication need more than a self-declaration to count.
    min_evidence: EvidenceKind = Field(
        default=EvidenceKind.SELF_DECLARED, sa_type=str_enum(EvidenceKind)
    )
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)
