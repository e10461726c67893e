"""API shapes of the skill taxonomy."""

from __future__ import annotations

from pydantic import BaseModel

from brigades.skills.models import EvidenceKind, SkillCategory


class SkillPublic(BaseModel):
    """One skill a volunteer can state."""

    code: str
    name_nl: str
    name_en: str
    category: SkillCategory
    description_nl: str
    min_evidence: EvidenceKind
