"""JSON API of the skill taxonomy."""

from __future__ import annotations

from fastapi import APIRouter

from brigades.deps import SessionDep
from brigades.skills import service
from brigades.skills.schemas import SkillPublic

router = APIRouter(prefix="/api/v1", tags=["skills"])


@router.get("/skills", summary="The skill taxonomy", response_model=list[SkillPublic])
def list_skills(session: SessionDep) -> list[SkillPublic]:
    """Every skill a volunteer can state at sign-up, in display order."""
    return [
        SkillPublic.model_validate(s, from_attributes=True) for s in service.list_skills(session)
    ]
