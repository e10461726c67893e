"""API shapes of the readiness package."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from brigades.readiness.figures import LEVELS, Picture


class SkillFigureOut(BaseModel):
    code: str
    name: str
    available: int
    target_per_10k: float | None
    required: int | None
    shortfall: int


class AreaOut(BaseModel):
    kind: str
    code: str
    name: str
    vr_code: str
    inhabitants: int
    verified: int
    by_vetting_level: dict[str, int]
    reconfirmed_recently: int
    available: int
    available_per_week_part: dict[str, int]
    shortfall: int
    skills: list[SkillFigureOut]


class ShortfallOut(BaseModel):
    area_code: str
    area_name: str
    skill_code: str
    required: int
    available: int
    shortfall: int


class ReadinessOut(BaseModel):
    level: str
    reconfirm_interval_days: int
    shortfalls: list[ShortfallOut]
    areas: list[AreaOut]

    @classmethod
    def of(cls, picture: Picture) -> ReadinessOut:
        """The API form of a picture."""
        return cls(
            level=picture.kind.value,
            reconfirm_interval_days=picture.reconfirm_days,
            shortfalls=[
                ShortfallOut(
                    area_code=f.area.code,
                    area_name=f.area.name,
                    skill_code=f.skill.code,
                    required=f.skill.required or 0,
                    available=f.skill.available,
                    shortfall=f.skill.shortfall,
                )
                for f in picture.shortfalls
            ],
            areas=[
                AreaOut(
                    kind=a.kind.value,
                    code=a.code,
                    name=a.name,
                    vr_code=a.vr_code,
                    inhabitants=a.inhabitants,
                    verified=a.verified,
                    by_vetting_level={str(lvl): a.by_level[lvl] for lvl in LEVELS},
                    reconfirmed_recently=a.reconfirmed,
                    available=a.available,
                    available_per_week_part=dict(a.week_parts),
                    shortfall=a.shortfall,
                    skills=[
                        SkillFigureOut(
                            code=s.code,
                            name=s.name,
                            available=s.available,
                            target_per_10k=s.target_per_10k,
                            required=s.required,
                            shortfall=s.shortfall,
                        )
                        for s in a.skills
                    ],
                )
                for a in picture.areas
            ],
        )


class CareInterestOut(BaseModel):
    name: str | None
    phone: str | None
    gm_code: str | None
    vr_code: str | None
    skills: list[str]
    trainings: list[str]
    tasks_done: int
    opted_in_at: datetime
    consent_version: str
