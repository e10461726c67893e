"""Who may be offered a task, decided in the database (the truth behind the candidate index).

The in-memory index (:mod:`brigades.dispatch.index`) may be seconds stale; every offer is made
only after :func:`eligible` said yes for that volunteer in the same transaction, and every
acceptance re-checks the one thing that can change between offer and answer with real harm:
another task at the same time (:func:`has_overlapping_assignment`).

A volunteer is eligible for a task when (issue "dispatcher", DESIGN.md "Dispatch"):

- verified and active: phone verified, status active (or a pause that has ended), not erased,
  reachable (not opted out of SMS, unless they take offers on the web);
- vetting level at least the task type's, and every skill the type needs counts
  (:func:`brigades.skills.evidence.skill_counts`: unexpired, verified where the skill asks);
- free for the task's duration inside the task window, by their weekly windows
  (Europe/Amsterdam wall-clock time, daylight saving included);
- the task lies within their maximum travel distance and within the search radius;
- their region is the incident's, or one whose help was approved (mutual aid);
- not already assigned to a task whose window overlaps (with the rest time around it), and under
  the fatigue caps: offers per day (the incident level's), assignments per day;
- not offered this task before, and not a NEE to an open roll-call of the incident.

Drills and real incidents keep their load apart (issue "Readiness drills"): the rest-time overlap
and the per-day caps count only the offers and assignments of real incidents for a real task, and
only those of drills for a drill task — unless the drill lead chose "caps shared" on the drill
(:class:`CapScope`, :func:`cap_scope`). A drill can run alongside a real incident without using up
its volunteers' caps, and a real offer is never held back by a drill.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

import geo
from brigades import clock
from brigades.drills.models import Drill
from brigades.incidents.models import Incident, IncidentKind
from brigades.settings import Settings
from brigades.skills.evidence import skill_counts
from brigades.skills.models import EvidenceKind, Skill
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    TaskType,
    TaskTypeSkill,
)
from brigades.tasks.states import LIVE_ASSIGNMENT_STATES
from brigades.volunteers.models import (
    AvailabilityWindow,
    PreferredChannel,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)

Interval = tuple[datetime, datetime]


class CapScope(enum.StrEnum):
    """Whose offers and assignments count towards a volunteer's caps and busy time."""

    ALL = "all"  # every incident (a drill whose lead chose "caps shared")
    REAL = "real"  # real incidents, and drills whose lead chose "caps shared" (every real task)
    DRILL = "drill"  # drill incidents only (a drill task, by default)


def cap_scope(session: Session, incident: Incident) -> CapScope:
    """The scope of an incident's caps: real for real incidents, the drill's choice for drills."""
    if incident.kind is not IncidentKind.DRILL:
        return CapScope.REAL
    shared = session.exec(
        select(Drill.caps_shared).where(col(Drill.incident_id) == incident.id)
    ).first()
    return CapScope.ALL if shared else CapScope.DRILL


def _in_scope(
    stmt: SelectOfScalar[int], task_id_column: Any, scope: CapScope
) -> SelectOfScalar[int]:
    """Restrict a query over offers or assignments to the incidents of ``scope``."""
    if scope is CapScope.ALL:
        return stmt
    return (
        stmt.join(CareTask, col(CareTask.id) == task_id_column)
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(scope_condition(scope))
    )


def scope_condition(scope: CapScope) -> Any:
    """The incidents whose load counts in ``scope`` (a condition on the joined incident row)."""
    drill = col(Incident.kind) == IncidentKind.DRILL
    if scope is CapScope.DRILL:
        return drill
    shared = select(Drill.incident_id).where(
        col(Drill.caps_shared).is_(True), col(Drill.incident_id).is_not(None)
    )
    return ~drill | col(Incident.id).in_(shared)


@dataclass(frozen=True, slots=True)
class TaskNeeds:
    """What a task asks of a volunteer, read once per task."""

    min_vetting_level: int
    skills: tuple[str, ...]
    # Minimum evidence per required skill (from the taxonomy).
    min_evidence: dict[str, EvidenceKind]


@dataclass(frozen=True, slots=True)
class Caps:
    """The fatigue caps in force (from the incident level and the settings)."""

    offers_per_day: int
    assignments_per_day: int
    rest: timedelta
    scope: CapScope = CapScope.ALL


def needs_of(session: Session, task: CareTask) -> TaskNeeds:
    """The vetting level and skills the task's type asks for."""
    task_type = session.get(TaskType, task.type_code)
    level = task_type.min_vetting_level if task_type else 0
    skills = tuple(
        session.exec(
            select(TaskTypeSkill.skill_code)
            .where(col(TaskTypeSkill.task_type_code) == task.type_code)
            .order_by(col(TaskTypeSkill.skill_code))
        ).all()
    )
    evidence = {
        code: EvidenceKind(kind)
        for code, kind in session.exec(
            select(Skill.code, Skill.min_evidence).where(col(Skill.code).in_(skills))
        ).all()
    }
    return TaskNeeds(min_vetting_level=level, skills=skills, min_evidence=evidence)


def caps_for(settings: Settings, offers_per_day: int, scope: CapScope = CapScope.ALL) -> Caps:
    """The caps: offers per day from the incident level, the rest from the settings."""
    return Caps(
        offers_per_day=offers_per_day,
        assignments_per_day=settings.dispatch_assignments_per_day,
        rest=timedelta(minutes=settings.dispatch_rest_minutes),
        scope=scope,
    )


def local_day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in Amsterdam (per-day caps count from there)."""
    return clock.local(now).replace(hour=0, minute=0, second=0, microsecond=0)


def is_available(
    windows: Iterable[tuple[int, int, int]], start: datetime, end: datetime, minutes: int
) -> bool:
    """Whether weekly windows leave ``minutes`` in a row free between ``start`` and ``end``.

    Windows are (weekday, start minute, end minute) in Amsterdam wall-clock time; a window that
    ends at midnight joins one that starts at midnight the next day.
    """
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, first, last in windows:
        by_day.setdefault(weekday, []).append((first, last))
    if not by_day:
        return False
    need = timedelta(minutes=minutes)
    first_day = clock.local(start).date() - timedelta(days=1)
    last_day = clock.local(end).date()
    spans: list[Interval] = []
    day = first_day
    while day <= last_day:
        for first, last in by_day.get(day.weekday(), ()):
            span_start = _wall(day, first)
            span_end = _wall(day, last)
            if span_end > start and span_start < end:
                spans.append((max(span_start, start), min(span_end, end)))
        day += timedelta(days=1)
    spans.sort()
    run_start: datetime | None = None
    run_end: datetime | None = None
    for span_start, span_end in spans:
        if run_end is not None and run_start is not None and span_start <= run_end:
            run_end = max(run_end, span_end)
        else:
            run_start, run_end = span_start, span_end
        if run_end - run_start >= need:
            return True
    return False


def _wall(day: date, minute: int) -> datetime:
    """A wall-clock minute of a local day as an aware UTC moment (1440 = next midnight)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=clock.AMSTERDAM)
    hours, minutes = divmod(minute, 60)
    if hours >= 24:
        following = day + timedelta(days=1)
        return datetime(
            following.year, following.month, following.day, tzinfo=clock.AMSTERDAM
        ).astimezone(UTC)
    # Wall-clock arithmetic: 10:00 stays 10:00 on the day summer time starts.
    return midnight.replace(hour=hours, minute=minutes).astimezone(UTC)


def busy_volunteers(
    session: Session,
    *,
    task: CareTask,
    rest: timedelta,
    volunteer_ids: Collection[int] | None = None,
    scope: CapScope = CapScope.ALL,
) -> set[int]:
    """Volunteers with a live assignment whose task window overlaps this one (rest included).

    Only assignments of incidents in ``scope`` count (a drill's pretend visit does not make a
    volunteer busy for a real task).
    """
    start = clock.as_utc(task.window_start) - rest
    end = clock.as_utc(task.window_end) + rest
    stmt = (
        select(Assignment.volunteer_id)
        .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
        .where(
            col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
            col(CareTask.window_start) < end,
            col(CareTask.window_end) > start,
            col(CareTask.id) != task.id,
        )
    )
    if volunteer_ids is not None:
        stmt = stmt.where(col(Assignment.volunteer_id).in_(volunteer_ids))
    if scope is not CapScope.ALL:
        stmt = stmt.join(Incident, col(Incident.id) == col(CareTask.incident_id)).where(
            scope_condition(scope)
        )
    return set(session.exec(stmt).all())


def live_windows(
    session: Session, *, start: datetime, end: datetime, scope: CapScope = CapScope.ALL
) -> list[tuple[int, int, datetime, datetime]]:
    """(volunteer, task, window start, window end) of the live assignments in ``scope`` whose
    task window overlaps ``start``–``end``: :func:`busy_volunteers` for many tasks at once."""
    stmt = (
        select(Assignment.volunteer_id, CareTask.id, CareTask.window_start, CareTask.window_end)
        .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
        .where(
            col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
            col(CareTask.window_start) < end,
            col(CareTask.window_end) > start,
        )
    )
    if scope is not CapScope.ALL:
        stmt = stmt.join(Incident, col(Incident.id) == col(CareTask.incident_id)).where(
            scope_condition(scope)
        )
    return [
        (volunteer_id, task_id or 0, clock.as_utc(window_start), clock.as_utc(window_end))
        for volunteer_id, task_id, window_start, window_end in session.exec(stmt).all()
    ]


def over_caps(
    session: Session,
    *,
    caps: Caps,
    now: datetime,
    volunteer_ids: Collection[int] | None = None,
    scope: CapScope = CapScope.ALL,
) -> set[int]:
    """Volunteers who reached today's offer or assignment cap (Amsterdam day).

    Only offers and assignments of incidents in ``scope`` count (see the module doc).
    """
    since = local_day_start(now)
    offers = (
        select(Offer.volunteer_id)
        .where(col(Offer.created_at) >= since)
        .group_by(col(Offer.volunteer_id))
        .having(func.count() >= caps.offers_per_day)
    )
    assignments = (
        select(Assignment.volunteer_id)
        .where(
            col(Assignment.assigned_at) >= since,
            col(Assignment.state) != AssignmentState.CANCELLED,
        )
        .group_by(col(Assignment.volunteer_id))
        .having(func.count() >= caps.assignments_per_day)
    )
    if volunteer_ids is not None:
        offers = offers.where(col(Offer.volunteer_id).in_(volunteer_ids))
        assignments = assignments.where(col(Assignment.volunteer_id).in_(volunteer_ids))
    offers = _in_scope(offers, col(Offer.task_id), scope)
    assignments = _in_scope(assignments, col(Assignment.task_id), scope)
    return set(session.exec(offers).all()) | set(session.exec(assignments).all())


def offers_today(
    session: Session, *, volunteer_ids: Collection[int], now: datetime, scope: CapScope
) -> dict[int, int]:
    """Today's offers (Amsterdam day) of incidents in ``scope`` per volunteer, as
    :func:`over_caps` counts them (volunteers without any left out)."""
    if not volunteer_ids:
        return {}
    stmt = (
        select(Offer.volunteer_id, func.count())
        .where(
            col(Offer.created_at) >= local_day_start(now),
            col(Offer.volunteer_id).in_(list(volunteer_ids)),
        )
        .group_by(col(Offer.volunteer_id))
    )
    scoped: Any = _in_scope(stmt, col(Offer.task_id), scope)  # type: ignore[arg-type]
    return {volunteer_id: n for volunteer_id, n in session.exec(scoped).all()}


def offered_before(
    session: Session, *, task_id: int, volunteer_ids: Collection[int] | None = None
) -> set[int]:
    """Volunteers this task was offered to before, in any wave and whatever they answered."""
    stmt = select(Offer.volunteer_id).where(col(Offer.task_id) == task_id)
    if volunteer_ids is not None:
        stmt = stmt.where(col(Offer.volunteer_id).in_(volunteer_ids))
    return set(session.exec(stmt).all())


def has_overlapping_assignment(
    session: Session,
    *,
    volunteer_id: int,
    task: CareTask,
    rest: timedelta,
    scope: CapScope = CapScope.ALL,
) -> bool:
    """Whether the volunteer holds a live assignment overlapping this task (rest included)."""
    return bool(
        busy_volunteers(session, task=task, rest=rest, volunteer_ids=[volunteer_id], scope=scope)
    )


def reachable(volunteer: Volunteer) -> bool:
    """Whether an offer can reach the volunteer: by SMS, or on the web if they prefer that."""
    return volunteer.phone is not None and (
        not volunteer.sms_opted_out or volunteer.preferred_channel is PreferredChannel.WEB
    )


@dataclass(slots=True)
class CandidateRows:
    """What :func:`eligible` reads about candidates: their rows, skills and weekly windows.

    Read for one wave, or once for the candidates of a batch of waves
    (:class:`brigades.dispatch.service.WaveBatch`); a wave never changes them.
    """

    volunteers: dict[int, Volunteer] = field(default_factory=dict)
    skills: dict[int, list[VolunteerSkill]] = field(default_factory=dict)
    windows: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    read: set[int] = field(default_factory=set)

    def load(self, session: Session, volunteer_ids: Iterable[int]) -> None:
        """Read the rows of the volunteers not read yet (three queries, none if all are)."""
        ids = sorted(set(volunteer_ids) - self.read)
        if not ids:
            return
        self.read.update(ids)
        for volunteer in session.exec(select(Volunteer).where(col(Volunteer.id).in_(ids))).all():
            assert volunteer.id is not None
            self.volunteers[volunteer.id] = volunteer
        for skill in session.exec(
            select(VolunteerSkill).where(col(VolunteerSkill.volunteer_id).in_(ids))
        ).all():
            self.skills.setdefault(skill.volunteer_id, []).append(skill)
        for window in session.exec(
            select(AvailabilityWindow).where(col(AvailabilityWindow.volunteer_id).in_(ids))
        ).all():
            self.windows.setdefault(window.volunteer_id, []).append(
                (window.weekday, window.start_minute, window.end_minute)
            )


def _may_be_dispatched(
    volunteer: Volunteer, *, min_level: int, allowed_vr_codes: Collection[str], now: datetime
) -> bool:
    """Verified, not erased, level enough, located, in an allowed region, active or pause over."""
    return (
        volunteer.phone_verified_at is not None
        and volunteer.erased_at is None
        and volunteer.vetting_level >= min_level
        and volunteer.lat is not None
        and volunteer.vr_code in allowed_vr_codes
        and (
            volunteer.status == VolunteerStatus.ACTIVE
            or (
                volunteer.status == VolunteerStatus.PAUSED
                and volunteer.paused_until is not None
                and clock.as_utc(volunteer.paused_until) <= now
            )
        )
    )


def eligible(
    session: Session,
    *,
    task: CareTask,
    needs: TaskNeeds,
    volunteer_ids: Sequence[int],
    radius_km: float,
    allowed_vr_codes: Collection[str],
    excluded: Collection[int],
    caps: Caps,
    now: datetime,
) -> dict[int, float]:
    """The volunteers among ``volunteer_ids`` eligible for the task now, with their distance.

    ``allowed_vr_codes`` are the incident's region and the approved mutual-aid regions for this
    task; ``excluded`` are volunteers ruled out by the caller (a roll-call NEE).
    """
    ids = [v for v in volunteer_ids if v not in excluded]
    if not ids or task.id is None:
        return {}
    rows = CandidateRows()
    rows.load(session, ids)
    remaining = eligible_by_rows(
        rows,
        task=task,
        needs=needs,
        volunteer_ids=ids,
        radius_km=radius_km,
        allowed_vr_codes=allowed_vr_codes,
        now=now,
    )
    if not remaining:
        return {}
    ready = list(remaining)
    blocked = (
        busy_volunteers(session, task=task, rest=caps.rest, volunteer_ids=ready, scope=caps.scope)
        | over_caps(session, caps=caps, now=now, volunteer_ids=ready, scope=caps.scope)
        | offered_before(session, task_id=task.id, volunteer_ids=ready)
    )
    return {v: d for v, d in remaining.items() if v not in blocked}


def eligible_by_rows(
    rows: CandidateRows,
    *,
    task: CareTask,
    needs: TaskNeeds,
    volunteer_ids: Sequence[int],
    radius_km: float,
    allowed_vr_codes: Collection[str],
    now: datetime,
) -> dict[int, float]:
    """:func:`eligible` up to the load (busy, caps, earlier offers), from rows read already."""
    found: dict[int, float] = {}
    for volunteer_id in volunteer_ids:
        volunteer = rows.volunteers.get(volunteer_id)
        if volunteer is None or not _may_be_dispatched(
            volunteer,
            min_level=needs.min_vetting_level,
            allowed_vr_codes=allowed_vr_codes,
            now=now,
        ):
            continue
        assert volunteer.lat is not None and volunteer.lon is not None
        if not reachable(volunteer):
            continue
        distance = geo.haversine_km(task.lat, task.lon, volunteer.lat, volunteer.lon)
        if distance <= min(radius_km, float(volunteer.max_distance_km)):
            found[volunteer_id] = distance
    if needs.skills:
        wanted = set(needs.skills)
        for volunteer_id in list(found):
            counted = {
                row.skill_code
                for row in rows.skills.get(volunteer_id, ())
                if row.skill_code in wanted
                and skill_counts(
                    min_evidence=needs.min_evidence.get(row.skill_code, EvidenceKind.SELF_DECLARED),
                    evidence_kind=row.evidence_kind,
                    verified_at=row.verified_at,
                    expires_at=row.evidence_expires_at,
                    now=now,
                )
            }
            if not counted >= wanted:
                del found[volunteer_id]
    start, end = clock.as_utc(task.window_start), clock.as_utc(task.window_end)
    return {
        v: d
        for v, d in found.items()
        if is_available(rows.windows.get(v, ()), start, end, task.duration_minutes)
    }
