"""Queries of the vetting domain. Every query that lists volunteers applies the caller's scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, or_
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.supportpoints.models import SupportPoint
from brigades.vetting.levels import DOCUMENTARY_EVIDENCE
from brigades.vetting.models import CheckKind, VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill, VolunteerStatus


def get_check(session: Session, check_id: int) -> VettingCheck | None:
    """One check by id."""
    return session.get(VettingCheck, check_id)


def checks_for(session: Session, volunteer_ids: Collection[int]) -> Sequence[VettingCheck]:
    """Every check of these volunteers, newest first."""
    if not volunteer_ids:
        return []
    stmt = (
        select(VettingCheck)
        .where(col(VettingCheck.volunteer_id).in_(sorted(volunteer_ids)))
        .order_by(col(VettingCheck.id).desc())
    )
    return session.exec(stmt).all()


def skills_for(session: Session, volunteer_ids: Collection[int]) -> Sequence[VolunteerSkill]:
    """Every skill claim of these volunteers, by volunteer and code."""
    if not volunteer_ids:
        return []
    stmt = (
        select(VolunteerSkill)
        .where(col(VolunteerSkill.volunteer_id).in_(sorted(volunteer_ids)))
        .order_by(col(VolunteerSkill.volunteer_id), col(VolunteerSkill.skill_code))
    )
    return session.exec(stmt).all()


def checks_and_skills_by_volunteer(
    session: Session, volunteer_ids: Collection[int]
) -> tuple[dict[int, list[VettingCheck]], dict[int, list[VolunteerSkill]]]:
    """:func:`checks_for` and :func:`skills_for`, grouped by volunteer (two queries)."""
    checks: dict[int, list[VettingCheck]] = defaultdict(list)
    for check in checks_for(session, volunteer_ids):
        checks[check.volunteer_id].append(check)
    skills: dict[int, list[VolunteerSkill]] = defaultdict(list)
    for skill in skills_for(session, volunteer_ids):
        skills[skill.volunteer_id].append(skill)
    return checks, skills


def skill_of(session: Session, *, volunteer_id: int, skill_code: str) -> VolunteerSkill | None:
    """One skill claim of a volunteer."""
    stmt = select(VolunteerSkill).where(
        VolunteerSkill.volunteer_id == volunteer_id, VolunteerSkill.skill_code == skill_code
    )
    return session.exec(stmt).first()


def live_evidence_checks(session: Session, volunteer_skill_id: int) -> Sequence[VettingCheck]:
    """The professional-evidence checks of one skill claim that were not revoked."""
    stmt = select(VettingCheck).where(
        VettingCheck.volunteer_skill_id == volunteer_skill_id,
        VettingCheck.kind == CheckKind.PROFESSIONAL_EVIDENCE,
        col(VettingCheck.revoked_at).is_(None),
    )
    return session.exec(stmt).all()


def due_expiries(session: Session, *, now: datetime) -> Sequence[VettingCheck]:
    """Checks whose validity ended and whose expiry has not been processed yet, oldest first."""
    stmt = (
        select(VettingCheck)
        .where(
            col(VettingCheck.revoked_at).is_(None),
            col(VettingCheck.expired_at).is_(None),
            col(VettingCheck.valid_until).is_not(None),
            col(VettingCheck.valid_until) <= now,
        )
        .order_by(col(VettingCheck.id))
    )
    return session.exec(stmt).all()


def volunteers_to_sweep(session: Session, *, after: int, limit: int) -> list[int]:
    """Ids (above ``after``) of volunteers whose level may be above 0: a level above 0 stored, or
    a check that was not revoked.

    A walk along the volunteer key (each batch reads about ``limit`` rows of the primary key and
    the check index), so a sweep over a million volunteers costs its batches, not batches times
    the population.
    """
    live_check = exists().where(
        col(VettingCheck.volunteer_id) == col(Volunteer.id),
        col(VettingCheck.revoked_at).is_(None),
    )
    stmt = (
        select(Volunteer.id)
        .where(col(Volunteer.id) > after, or_(col(Volunteer.vetting_level) > 0, live_check))
        .order_by(col(Volunteer.id))
        .limit(limit)
    )
    return [int(v) for v in session.exec(stmt).all() if v is not None]


def volunteers_by_ids(session: Session, ids: Collection[int]) -> Sequence[Volunteer]:
    """These volunteers, by id."""
    if not ids:
        return []
    stmt = select(Volunteer).where(col(Volunteer.id).in_(sorted(ids))).order_by(col(Volunteer.id))
    return session.exec(stmt).all()


def support_points(session: Session, ids: Collection[int]) -> dict[int, SupportPoint]:
    """Support points by id."""
    if not ids:
        return {}
    stmt = select(SupportPoint).where(col(SupportPoint.id).in_(sorted(ids)))
    return {p.id: p for p in session.exec(stmt).all() if p.id is not None}


def support_points_in_scope(session: Session, scope: AccessScope) -> Sequence[SupportPoint]:
    """The active buurtsteunpunten a user works for (all in their regions), by name."""
    stmt = select(SupportPoint).where(col(SupportPoint.active))
    stmt = scope.filter_by_region(stmt, col(SupportPoint.vr_code))
    stmt = scope.filter_support_points(stmt, col(SupportPoint.id))
    return session.exec(stmt.order_by(col(SupportPoint.name), col(SupportPoint.id))).all()


def _awaiting_checks(now: datetime) -> ColumnElement[bool]:
    """Volunteers with something to check: identity not seen (level 0), documentary evidence
    not (or no longer) verified, or a VOG that lapsed without a newer one."""
    unverified_evidence = exists().where(
        col(VolunteerSkill.volunteer_id) == col(Volunteer.id),
        col(VolunteerSkill.evidence_kind).in_(sorted(DOCUMENTARY_EVIDENCE)),
        or_(
            col(VolunteerSkill.verified_at).is_(None),
            and_(
                col(VolunteerSkill.evidence_expires_at).is_not(None),
                col(VolunteerSkill.evidence_expires_at) <= now,
            ),
        ),
    )
    vog = and_(
        col(VettingCheck.volunteer_id) == col(Volunteer.id),
        col(VettingCheck.kind) == CheckKind.VOG,
        col(VettingCheck.revoked_at).is_(None),
    )
    lapsed_vog = exists().where(vog, col(VettingCheck.valid_until) <= now)
    valid_vog = exists().where(vog, col(VettingCheck.valid_until) > now)
    return or_(
        col(Volunteer.vetting_level) == 0,
        unverified_evidence,
        and_(lapsed_vog, ~valid_vog),
    )


def queue(
    session: Session,
    *,
    scope: AccessScope,
    support_point_id: int | None,
    include_all: bool,
    now: datetime,
    after: int | None,
    limit: int,
) -> Sequence[Volunteer]:
    """Verified volunteers in reach (of one buurtsteunpunt) awaiting checks, longest waiting
    first (by id; ``after`` is the keyset cursor)."""
    stmt = select(Volunteer).where(
        col(Volunteer.phone_verified_at).is_not(None),
        Volunteer.status != VolunteerStatus.ERASED,
    )
    stmt = scope.filter_volunteers(
        stmt,
        vr_column=col(Volunteer.vr_code),
        support_point_column=col(Volunteer.support_point_id),
    )
    if support_point_id is not None:
        stmt = stmt.where(Volunteer.support_point_id == support_point_id)
    if not include_all:
        stmt = stmt.where(_awaiting_checks(now))
    if after is not None:
        stmt = stmt.where(col(Volunteer.id) > after)
    return session.exec(stmt.order_by(col(Volunteer.id)).limit(limit)).all()


def delete_checks_of(session: Session, volunteer_id: int) -> None:
    """Remove every check of a volunteer (erasure)."""
    session.execute(delete(VettingCheck).where(col(VettingCheck.volunteer_id) == volunteer_id))
