"""The readiness picture: per Veiligheidsregio, gemeente or buurtsteunpunt, how many volunteers
are verified, at each vetting level, re-confirmed recently, and available per skill and per part
of the week, against the targets a region set per 10,000 inhabitants.

Who counts: verified (phone confirmed), not erased, not synthetic (demo and simulator people are
never part of the real picture); active, paused and dormant people are *in the brigade*, but only
active people are *available*. A skill counts when its evidence meets the skill's minimum and has
not expired (:mod:`brigades.readiness.evidence`). Inhabitants come from the PC4 reference data; a
buurtsteunpunt's are those of the PC4 areas of its region nearest to it.

Each figure is one GROUP BY query per area kind; the rows are then joined in Python.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

import geo
from brigades.accounts.scope import AccessScope, Column
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.errors import InvalidInput
from brigades.readiness.evidence import counts_condition
from brigades.readiness.models import ReadinessTarget, Reconfirmation
from brigades.readiness.reconfirm import CONFIRMING_STATES
from brigades.settings import Settings
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import (
    AvailabilityWindow,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)

IN_BRIGADE = (VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED, VolunteerStatus.DORMANT)
LEVELS = (0, 1, 2, 3)


class AreaKind(enum.StrEnum):
    VR = "vr"
    GEMEENTE = "gemeente"
    STEUNPUNT = "steunpunt"


AREA_LABELS_NL = {
    AreaKind.VR: "Veiligheidsregio",
    AreaKind.GEMEENTE: "Gemeente",
    AreaKind.STEUNPUNT: "Buurtsteunpunt",
}

# Parts of the week: (key, label, weekdays, (start, end) minutes; night wraps past midnight).
WEEK_PARTS: tuple[tuple[str, str, tuple[int, ...], tuple[tuple[int, int], ...]], ...] = (
    ("werkdag_ochtend", "Werkdag ochtend", (0, 1, 2, 3, 4), ((480, 720),)),
    ("werkdag_middag", "Werkdag middag", (0, 1, 2, 3, 4), ((720, 1080),)),
    ("werkdag_avond", "Werkdag avond", (0, 1, 2, 3, 4), ((1080, 1320),)),
    ("werkdag_nacht", "Werkdag nacht", (0, 1, 2, 3, 4), ((1320, 1440), (0, 480))),
    ("weekend_ochtend", "Weekend ochtend", (5, 6), ((480, 720),)),
    ("weekend_middag", "Weekend middag", (5, 6), ((720, 1080),)),
    ("weekend_avond", "Weekend avond", (5, 6), ((1080, 1320),)),
    ("weekend_nacht", "Weekend nacht", (5, 6), ((1320, 1440), (0, 480))),
)


@dataclass(slots=True)
class SkillFigure:
    code: str
    name: str
    available: int
    target_per_10k: float | None
    required: int | None

    @property
    def shortfall(self) -> int:
        """How many more are needed to meet the target (0 without a target)."""
        return max(0, (self.required or 0) - self.available)


@dataclass(slots=True)
class AreaFigures:
    kind: AreaKind
    code: str
    name: str
    vr_code: str
    inhabitants: int
    verified: int = 0
    by_level: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    reconfirmed: int = 0
    available: int = 0
    week_parts: dict[str, int] = field(default_factory=dict)
    skills: list[SkillFigure] = field(default_factory=list)

    @property
    def shortfall(self) -> int:
        """The total shortfall over the skills with a target."""
        return sum(s.shortfall for s in self.skills)


@dataclass(frozen=True, slots=True)
class Shortfall:
    area: AreaFigures
    skill: SkillFigure


@dataclass(frozen=True, slots=True)
class Picture:
    kind: AreaKind
    areas: list[AreaFigures]
    shortfalls: list[Shortfall]
    reconfirm_days: int


def _counted(stmt: Any, scope: AccessScope) -> Any:
    stmt = stmt.where(
        col(Volunteer.status).in_(IN_BRIGADE),
        col(Volunteer.phone_verified_at).is_not(None),
        col(Volunteer.erased_at).is_(None),
        col(Volunteer.synthetic).is_(False),
    )
    return scope.filter_volunteers(
        stmt, vr_column=col(Volunteer.vr_code), support_point_column=col(Volunteer.support_point_id)
    )


def _area_column(kind: AreaKind) -> Column:
    if kind is AreaKind.VR:
        return col(Volunteer.vr_code)
    if kind is AreaKind.GEMEENTE:
        return col(Volunteer.gm_code)
    return col(Volunteer.support_point_id)


def _inhabitants(
    kind: AreaKind, areas: dict[str, AreaFigures], points: Sequence[SupportPoint]
) -> None:
    data = geo.load_reference_data()
    if kind is AreaKind.STEUNPUNT:
        by_region: dict[str, list[SupportPoint]] = defaultdict(list)
        for point in points:
            by_region[point.vr_code].append(point)
        for pc4 in data.pc4s.values():
            candidates = by_region.get(pc4.vr_code)
            if not candidates:
                continue
            nearest = min(
                candidates,
                key=lambda p: (geo.haversine_km(pc4.lat, pc4.lon, p.lat, p.lon), p.id or 0),
            )
            area = areas.get(str(nearest.id))
            if area is not None:
                area.inhabitants += pc4.inwoners
        return
    for pc4 in data.pc4s.values():
        code = pc4.vr_code if kind is AreaKind.VR else pc4.gm_code
        area = areas.get(code)
        if area is not None:
            area.inhabitants += pc4.inwoners


def _areas(
    session: Session, scope: AccessScope, kind: AreaKind
) -> tuple[dict[str, AreaFigures], list[SupportPoint]]:
    data = geo.load_reference_data()
    regions = sorted(data.regions) if scope.vr_codes is None else sorted(scope.vr_codes)
    regions = [r for r in regions if r in data.regions]
    areas: dict[str, AreaFigures] = {}
    points: list[SupportPoint] = []
    if kind is AreaKind.VR:
        for code in regions:
            areas[code] = AreaFigures(kind, code, data.regions[code].name, code, 0)
    elif kind is AreaKind.GEMEENTE:
        for g in sorted(data.gemeenten.values(), key=lambda g: g.code):
            if g.vr_code in regions:
                areas[g.code] = AreaFigures(kind, g.code, g.display_name or g.name, g.vr_code, 0)
    else:
        stmt = select(SupportPoint).where(col(SupportPoint.active))
        stmt = scope.filter_by_region(stmt, col(SupportPoint.vr_code))
        stmt = scope.filter_support_points(stmt, col(SupportPoint.id))
        points = list(session.exec(stmt.order_by(col(SupportPoint.id))).all())
        all_points = list(
            session.exec(
                select(SupportPoint).where(
                    col(SupportPoint.active), col(SupportPoint.vr_code).in_(regions or [""])
                )
            ).all()
        )
        for point in points:
            areas[str(point.id)] = AreaFigures(kind, str(point.id), point.name, point.vr_code, 0)
        return areas, all_points
    return areas, points


def picture(
    session: Session, *, scope: AccessScope, kind: AreaKind, now: datetime, settings: Settings
) -> Picture:
    """The readiness figures of every area of a kind in the user's reach, shortfalls first."""
    areas, points = _areas(session, scope, kind)
    _inhabitants(kind, areas, points)
    area = _area_column(kind)

    def rows(stmt: Any) -> Sequence[Any]:
        return session.exec(_counted(stmt, scope)).all()  # type: ignore[no-any-return]

    def get(code: object) -> AreaFigures | None:
        return areas.get(str(code)) if code is not None else None

    for code, n in rows(select(area, func.count()).group_by(area)):
        if (a := get(code)) is not None:
            a.verified = int(n)
    level = col(Volunteer.vetting_level)
    for code, lvl, n in rows(select(area, level, func.count()).group_by(area, level)):
        if (a := get(code)) is not None and int(lvl) in a.by_level:
            a.by_level[int(lvl)] = int(n)
    active = col(Volunteer.status) == VolunteerStatus.ACTIVE
    for code, n in rows(select(area, func.count()).where(active).group_by(area)):
        if (a := get(code)) is not None:
            a.available = int(n)
    since = now - timedelta(days=settings.reconfirm_interval_days)
    last = (
        select(
            col(Reconfirmation.volunteer_id).label("volunteer_id"),
            func.max(Reconfirmation.answered_at).label("at"),
        )
        .where(col(Reconfirmation.state).in_(CONFIRMING_STATES))
        .group_by(col(Reconfirmation.volunteer_id))
        .subquery()
    )
    recent = or_(last.c.at >= since, col(Volunteer.phone_verified_at) >= since)
    stmt = (
        select(area, func.count())
        .select_from(Volunteer)
        .outerjoin(last, last.c.volunteer_id == Volunteer.id)
        .where(recent)
        .group_by(area)
    )
    for code, n in rows(stmt):
        if (a := get(code)) is not None:
            a.reconfirmed = int(n)
    window = AvailabilityWindow
    for key, _label, days, spans in WEEK_PARTS:
        overlap = or_(
            *[
                and_(col(window.start_minute) < end, col(window.end_minute) > start)
                for start, end in spans
            ]
        )
        stmt = (
            select(area, func.count(func.distinct(Volunteer.id)))
            .join(window, col(window.volunteer_id) == col(Volunteer.id))
            .where(active, col(window.weekday).in_(days), overlap)
            .group_by(area)
        )
        for code, n in rows(stmt):
            if (a := get(code)) is not None:
                a.week_parts[key] = int(n)
    skill_counts: dict[tuple[str, str], int] = {}
    skill_stmt = (
        select(area, VolunteerSkill.skill_code, func.count(func.distinct(Volunteer.id)))
        .join(VolunteerSkill, col(VolunteerSkill.volunteer_id) == col(Volunteer.id))
        .join(Skill, col(Skill.code) == col(VolunteerSkill.skill_code))
        .where(active, counts_condition(now))
        .group_by(area, col(VolunteerSkill.skill_code))
    )
    for code, skill_code, n in rows(skill_stmt):
        skill_counts[(str(code), str(skill_code))] = int(n)
    skills = session.exec(
        select(Skill).where(col(Skill.active)).order_by(col(Skill.sort_order), col(Skill.code))
    ).all()
    targets = targets_by_region(session, vr_codes={a.vr_code for a in areas.values()})
    for a in areas.values():
        for skill in skills:
            per_10k = targets.get((a.vr_code, skill.code))
            required = math.ceil(per_10k * a.inhabitants / 10_000) if per_10k is not None else None
            a.skills.append(
                SkillFigure(
                    code=skill.code,
                    name=skill.name_nl,
                    available=skill_counts.get((a.code, skill.code), 0),
                    target_per_10k=per_10k,
                    required=required,
                )
            )
    ordered = sorted(areas.values(), key=lambda a: (-a.shortfall, a.name.casefold(), a.code))
    shortfalls = sorted(
        (Shortfall(a, s) for a in ordered for s in a.skills if s.shortfall > 0),
        key=lambda f: (-f.skill.shortfall, f.area.name.casefold(), f.skill.code),
    )
    return Picture(kind, ordered, shortfalls, settings.reconfirm_interval_days)


# --- Targets ------------------------------------------------------------------------------------


def targets_by_region(session: Session, *, vr_codes: set[str]) -> dict[tuple[str, str], float]:
    """(region, skill) → volunteers wanted per 10,000 inhabitants."""
    if not vr_codes:
        return {}
    stmt = select(ReadinessTarget).where(col(ReadinessTarget.vr_code).in_(sorted(vr_codes)))
    return {(t.vr_code, t.skill_code): t.per_10k for t in session.exec(stmt).all()}


TARGET_INVALID = "Een doel is een getal van 0 tot 10.000 per 10.000 inwoners (leeg: geen doel)."


def set_targets(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    vr_code: str,
    targets: dict[str, float | None],
    now: datetime,
) -> None:
    """Set (or clear, with None) a region's targets per skill (audited)."""
    scope.require_write()
    if not scope.covers_region(vr_code) or vr_code not in geo.load_reference_data().regions:
        raise InvalidInput("Kies een Veiligheidsregio waar je werkt.", field="vr_code")
    known = {s.code for s in session.exec(select(Skill).where(col(Skill.active))).all()}
    existing = {
        t.skill_code: t
        for t in session.exec(
            select(ReadinessTarget).where(col(ReadinessTarget.vr_code) == vr_code)
        ).all()
    }
    changed: dict[str, float | None] = {}
    for code, value in targets.items():
        if code not in known:
            raise InvalidInput(TARGET_INVALID, field=f"target_{code}")
        if value is not None and not (0 <= value <= 10_000 and math.isfinite(value)):
            raise InvalidInput(TARGET_INVALID, field=f"target_{code}")
        row = existing.get(code)
        if value is None:
            if row is not None:
                session.delete(row)
                changed[code] = None
            continue
        if row is None:
            row = ReadinessTarget(
                vr_code=vr_code,
                skill_code=code,
                per_10k=value,
                set_by_label=actor.label[:120],
                updated_at=now,
            )
        elif row.per_10k == value:
            continue
        row.per_10k = value
        row.set_by_label = actor.label[:120]
        row.updated_at = now
        session.add(row)
        changed[code] = value
    session.flush()
    if changed:
        audit.record(
            session,
            actor=actor,
            action="readiness.targets_set",
            object_kind="region",
            object_id=vr_code,
            vr_code=vr_code,
            detail={"targets": changed},
            now=now,
        )


def targets_of(session: Session, *, vr_code: str) -> dict[str, float]:
    """A region's targets: skill → per 10,000 inhabitants."""
    return {k[1]: v for k, v in targets_by_region(session, vr_codes={vr_code}).items()}
