"""The dashboard's queries: counts and aggregates computed in SQL, one incident at a time.

Every query takes the incident id (the caller already checked the incident is in reach) and,
where it reads rows of other regions' reach (tasks of care organisations, volunteers of other
buurtsteunpunten), the caller's :class:`~brigades.accounts.scope.AccessScope`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.audit.models import AuditEvent
from brigades.conversation.models import InboxItem, InboxItemState
from brigades.dispatch.models import AlertKind, DispatchAlert, RollCall
from brigades.dispatch.repository import (
    ASSIGNMENT_SUBJECT,
    INCIDENT_SUBJECT,
    OFFER_SUBJECT,
    ROLL_CALL_SUBJECT,
)
from brigades.incidents.models import Incident
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskPriority,
    TaskState,
)
from brigades.volunteers.models import (
    AvailabilityWindow,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from notifications.models import MessageState, OutboxMessage

ANSWERED = (OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TOO_LATE)
LIVE_ASSIGNMENTS = (AssignmentState.ASSIGNED, AssignmentState.CHECKED_IN, AssignmentState.DONE)
QUEUED_MESSAGES = (MessageState.QUEUED, MessageState.SENDING)
FAILED_MESSAGES = (MessageState.FAILED, MessageState.UNDELIVERED)
# The outbox subject of a coordinator's SMS answer to a problem report (the alert's id).
PROBLEM_REPLY_SUBJECT = "problem_reply"
# Shown on the incident timeline: the incident's own events and the changes of its tasks.
TIMELINE_HIDDEN_ACTIONS = ("task.address_viewed",)


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """What the task board shows; every field given narrows it."""

    type_code: str | None = None
    priority: TaskPriority | None = None
    gm_code: str | None = None
    state: TaskState | None = None
    # The PC4 areas of one buurtsteunpunt (None: no buurtsteunpunt chosen).
    pc4s: tuple[int, ...] | None = None


def _tasks(scope: AccessScope, incident_id: int, stmt: Any) -> Any:
    stmt = stmt.where(col(CareTask.incident_id) == incident_id)
    stmt = scope.filter_by_region(stmt, col(CareTask.vr_code))
    return scope.filter_organisation(stmt, col(CareTask.organisation_id))


def _filtered(stmt: Any, board: BoardFilter) -> Any:
    if board.type_code:
        stmt = stmt.where(col(CareTask.type_code) == board.type_code)
    if board.priority is not None:
        stmt = stmt.where(col(CareTask.priority) == board.priority)
    if board.gm_code:
        stmt = stmt.where(col(CareTask.gm_code) == board.gm_code)
    if board.state is not None:
        stmt = stmt.where(col(CareTask.state) == board.state)
    if board.pc4s is not None:
        stmt = stmt.where(col(CareTask.pc4).in_(board.pc4s or (-1,)))
    return stmt


def count_by_state(session: Session, scope: AccessScope, *, incident_id: int) -> dict[str, int]:
    """Tasks of the incident per state."""
    stmt = _tasks(scope, incident_id, select(col(CareTask.state), func.count()))
    rows = session.exec(stmt.group_by(col(CareTask.state))).all()
    return {TaskState(state).value: int(n) for state, n in rows}


def version(session: Session, scope: AccessScope, *, incident_id: int) -> str:
    """A stamp that changes whenever a task of the incident or an alert changes."""
    stmt = _tasks(scope, incident_id, select(func.max(CareTask.updated_at), func.count()))
    latest, total = session.exec(stmt).one()
    alerts = session.exec(
        select(func.max(DispatchAlert.id), func.count(col(DispatchAlert.acknowledged_at))).where(
            col(DispatchAlert.incident_id) == incident_id
        )
    ).one()
    stamp = latest.isoformat() if isinstance(latest, datetime) else str(latest)
    return f"{stamp}|{total}|{alerts[0]}|{alerts[1]}"


def board(
    session: Session,
    scope: AccessScope,
    *,
    incident_id: int,
    board: BoardFilter,
    limit: int,
    offset: int,
) -> tuple[Sequence[CareTask], int]:
    """One page of the incident's tasks (urgent first, then soonest), and how many match."""
    total = session.exec(_filtered(_tasks(scope, incident_id, select(func.count())), board)).one()
    priority_order = {
        TaskPriority.URGENT: 0,
        TaskPriority.HIGH: 1,
        TaskPriority.NORMAL: 2,
        TaskPriority.LOW: 3,
    }
    stmt = _filtered(_tasks(scope, incident_id, select(CareTask)), board).order_by(
        case(priority_order, value=col(CareTask.priority), else_=4),
        col(CareTask.window_start),
        col(CareTask.id),
    )
    rows = session.exec(stmt.offset(offset).limit(limit)).all()
    return rows, int(total)


def filled_slots(session: Session, task_ids: Collection[int]) -> dict[int, int]:
    """Live or finished assignments per task (how many slots are taken)."""
    if not task_ids:
        return {}
    stmt = (
        select(col(Assignment.task_id), func.count())
        .where(
            col(Assignment.task_id).in_(list(task_ids)),
            col(Assignment.state).in_(LIVE_ASSIGNMENTS),
        )
        .group_by(col(Assignment.task_id))
    )
    return {int(t): int(n) for t, n in session.exec(stmt).all()}


def unfillable_reasons(
    session: Session, scope: AccessScope, *, incident_id: int, limit: int = 10
) -> list[tuple[str, int]]:
    """Why tasks could not be filled, most frequent reason first."""
    reason = func.coalesce(col(CareTask.unfillable_reason), "")
    stmt = _tasks(scope, incident_id, select(reason, func.count())).where(
        col(CareTask.state) == TaskState.UNFILLABLE
    )
    stmt = stmt.group_by(reason).order_by(func.count().desc(), reason).limit(limit)
    return [(str(r), int(n)) for r, n in session.exec(stmt).all()]


def acceptance_seconds(session: Session, scope: AccessScope, *, incident_id: int) -> list[float]:
    """Seconds from offer to acceptance, for every accepted offer of the incident's tasks."""
    stmt = select(col(Offer.created_at), col(Offer.answered_at)).join(
        CareTask, col(CareTask.id) == col(Offer.task_id)
    )
    stmt = _tasks(scope, incident_id, stmt).where(
        col(Offer.state) == OfferState.ACCEPTED, col(Offer.answered_at).is_not(None)
    )
    found: list[float] = []
    for created, answered in session.exec(stmt).all():
        found.append(max(0.0, (_aware(answered) - _aware(created)).total_seconds()))
    return found


def _aware(moment: Any) -> datetime:
    # AwareDateTime gives aware values; a bare column select on SQLite may not run the type.
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def offers_since(
    session: Session, scope: AccessScope, *, incident_id: int, since: datetime
) -> tuple[int, int]:
    """Offers of the incident made since ``since``, and how many of them were answered."""
    answered = func.sum(case((col(Offer.state).in_(ANSWERED), 1), else_=0))
    stmt = (
        select(func.count(), answered)
        .select_from(Offer)
        .join(CareTask, col(CareTask.id) == col(Offer.task_id))
    )
    stmt = _tasks(scope, incident_id, stmt).where(col(Offer.created_at) >= since)
    total, done = session.exec(stmt).one()
    return int(total or 0), int(done or 0)


def _available_volunteers(stmt: Any, *, now: datetime) -> Any:
    return stmt.where(
        col(Volunteer.phone_verified_at).is_not(None),
        col(Volunteer.erased_at).is_(None),
        col(Volunteer.phone).is_not(None),
        or_(
            col(Volunteer.status) == VolunteerStatus.ACTIVE,
            and_(
                col(Volunteer.status) == VolunteerStatus.PAUSED,
                col(Volunteer.paused_until) <= now,
            ),
        ),
    )


def available_now(
    session: Session,
    scope: AccessScope,
    *,
    vr_code: str,
    weekday: int,
    minute: int,
    now: datetime,
    by_support_point: bool = False,
) -> dict[int | None, int]:
    """Volunteers of the region free right now by their weekly windows (per buurtsteunpunt
    when asked, else under the key None)."""
    window = (
        select(col(AvailabilityWindow.volunteer_id))
        .where(
            col(AvailabilityWindow.weekday) == weekday,
            col(AvailabilityWindow.start_minute) <= minute,
            col(AvailabilityWindow.end_minute) > minute,
        )
        .scalar_subquery()
    )
    key = col(Volunteer.support_point_id) if by_support_point else None
    columns: list[Any] = [func.count()] if key is None else [key, func.count()]
    stmt = _available_volunteers(select(*columns), now=now).where(
        col(Volunteer.vr_code) == vr_code, col(Volunteer.id).in_(window)
    )
    stmt = scope.filter_volunteers(
        stmt, vr_column=col(Volunteer.vr_code), support_point_column=col(Volunteer.support_point_id)
    )
    if key is None:
        return {None: int(session.exec(stmt).one())}
    return {
        (int(p) if p is not None else None): int(n)
        for p, n in session.exec(stmt.group_by(key)).all()
    }


def volunteers_per_support_point(
    session: Session, scope: AccessScope, *, vr_code: str, now: datetime
) -> dict[int | None, int]:
    """Active, verified volunteers of the region per buurtsteunpunt."""
    stmt = _available_volunteers(
        select(col(Volunteer.support_point_id), func.count()), now=now
    ).where(col(Volunteer.vr_code) == vr_code)
    stmt = scope.filter_volunteers(
        stmt, vr_column=col(Volunteer.vr_code), support_point_column=col(Volunteer.support_point_id)
    )
    rows = session.exec(stmt.group_by(col(Volunteer.support_point_id))).all()
    return {(int(p) if p is not None else None): int(n) for p, n in rows}


def tasks_per_pc4_state(
    session: Session, scope: AccessScope, *, incident_id: int
) -> list[tuple[int, str, int, float, float]]:
    """(pc4, state, tasks, mean lat, mean lon) of the incident's tasks."""
    stmt = _tasks(
        scope,
        incident_id,
        sa_select(
            col(CareTask.pc4),
            col(CareTask.state),
            func.count(),
            func.avg(CareTask.lat),
            func.avg(CareTask.lon),
        ),
    )
    rows = session.execute(stmt.group_by(col(CareTask.pc4), col(CareTask.state))).all()
    return [(int(p), TaskState(s).value, int(n), float(a), float(o)) for p, s, n, a, o in rows]


def task_points(
    session: Session, scope: AccessScope, *, incident_id: int, limit: int
) -> Sequence[tuple[int, str, float, float, str]]:
    """(id, state, lat, lon, type) of the incident's tasks, at most ``limit``."""
    stmt = _tasks(
        scope,
        incident_id,
        sa_select(
            col(CareTask.id),
            col(CareTask.state),
            col(CareTask.lat),
            col(CareTask.lon),
            col(CareTask.type_code),
        ),
    )
    rows = session.execute(stmt.order_by(col(CareTask.id)).limit(limit)).all()
    return [(int(i), TaskState(s).value, float(a), float(o), str(t)) for i, s, a, o, t in rows]


def all_tasks(session: Session, scope: AccessScope, *, incident_id: int) -> Any:
    """Every task of the incident, in id order, streamed (exports)."""
    stmt = _tasks(scope, incident_id, select(CareTask)).order_by(col(CareTask.id))
    return session.exec(stmt.execution_options(yield_per=1000))


def _incident_subjects(incident_id: int) -> Any:
    """Whether an outbox row's subject belongs to the incident: its tasks' offers and
    assignments, its roll-calls, its stand-down notices and replies to its problem reports."""
    tasks = select(col(CareTask.id)).where(col(CareTask.incident_id) == incident_id)
    kind, subject = col(OutboxMessage.subject_kind), col(OutboxMessage.subject_id)
    return or_(
        and_(
            kind == OFFER_SUBJECT,
            subject.in_(select(col(Offer.id)).where(col(Offer.task_id).in_(tasks))),
        ),
        and_(
            kind == ASSIGNMENT_SUBJECT,
            subject.in_(select(col(Assignment.id)).where(col(Assignment.task_id).in_(tasks))),
        ),
        and_(
            kind == ROLL_CALL_SUBJECT,
            subject.in_(select(col(RollCall.id)).where(col(RollCall.incident_id) == incident_id)),
        ),
        and_(
            kind == PROBLEM_REPLY_SUBJECT,
            subject.in_(
                select(col(DispatchAlert.id)).where(col(DispatchAlert.incident_id) == incident_id)
            ),
        ),
        and_(kind == INCIDENT_SUBJECT, subject == incident_id),
    )


def outbox_counts(
    session: Session, *, incident_id: int, drill: bool, since: datetime
) -> tuple[int, int]:
    """The incident's messages still queued, and those that failed since ``since``.

    Only messages about the incident's own subjects count, and only drill messages for a
    drill (never a drill's messages for a real incident, nor another incident's).
    """
    queued = col(OutboxMessage.state).in_(QUEUED_MESSAGES)
    failed = and_(
        col(OutboxMessage.state).in_(FAILED_MESSAGES), col(OutboxMessage.updated_at) >= since
    )
    stmt = (
        select(
            func.sum(case((queued, 1), else_=0)),
            func.sum(case((failed, 1), else_=0)),
        )
        .select_from(OutboxMessage)
        .where(
            col(OutboxMessage.state).in_((*QUEUED_MESSAGES, *FAILED_MESSAGES)),
            col(OutboxMessage.drill).is_(drill),
            _incident_subjects(incident_id),
        )
    )
    n_queued, n_failed = session.exec(stmt).one()
    return int(n_queued or 0), int(n_failed or 0)


def timeline(session: Session, *, incident_id: int, limit: int) -> Sequence[AuditEvent]:
    """The latest audited events of the incident and its tasks, newest first."""
    task_ids = select(cast(col(CareTask.id), String)).where(
        col(CareTask.incident_id) == incident_id
    )
    stmt = (
        select(AuditEvent)
        .where(
            or_(
                and_(
                    col(AuditEvent.object_kind) == "incident",
                    col(AuditEvent.object_id) == str(incident_id),
                ),
                and_(
                    col(AuditEvent.object_kind) == "care_task",
                    col(AuditEvent.object_id).in_(task_ids),
                ),
            ),
            col(AuditEvent.action).not_in(TIMELINE_HIDDEN_ACTIONS),
        )
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    return session.exec(stmt).all()


def support_points(session: Session, scope: AccessScope, *, vr_code: str) -> Sequence[SupportPoint]:
    """The active buurtsteunpunten of a region (a buurtsteunpunt coordinator: their own)."""
    stmt = select(SupportPoint).where(
        col(SupportPoint.vr_code) == vr_code, col(SupportPoint.active).is_(True)
    )
    stmt = scope.filter_support_points(stmt, col(SupportPoint.id))
    return session.exec(stmt.order_by(col(SupportPoint.name), col(SupportPoint.id))).all()


def open_alerts(session: Session, *, incident_id: int) -> dict[str, int]:
    """Unacknowledged alerts of the incident per kind."""
    stmt = (
        select(col(DispatchAlert.kind), func.count())
        .where(
            col(DispatchAlert.incident_id) == incident_id,
            col(DispatchAlert.acknowledged_at).is_(None),
        )
        .group_by(col(DispatchAlert.kind))
    )
    return {AlertKind(k).value: int(n) for k, n in session.exec(stmt).all()}


# --- call lists -------------------------------------------------------------------------------


def call_list(session: Session, *, support_point_id: int, now: datetime) -> Sequence[Volunteer]:
    """Volunteers of a buurtsteunpunt who can be phoned now: verified, active, not synthetic."""
    stmt = _available_volunteers(select(Volunteer), now=now).where(
        col(Volunteer.support_point_id) == support_point_id,
        col(Volunteer.synthetic).is_(False),
    )
    found: Sequence[Volunteer] = session.exec(
        stmt.order_by(col(Volunteer.name), col(Volunteer.id))
    ).all()
    return found


def skill_names_of(session: Session, volunteer_ids: Collection[int]) -> dict[int, list[str]]:
    """The names of each volunteer's skills, alphabetically."""
    if not volunteer_ids:
        return {}
    stmt = (
        select(col(VolunteerSkill.volunteer_id), col(Skill.name_nl))
        .join(Skill, col(Skill.code) == col(VolunteerSkill.skill_code))
        .where(col(VolunteerSkill.volunteer_id).in_(list(volunteer_ids)))
        .order_by(col(Skill.name_nl))
    )
    found: dict[int, list[str]] = {}
    for volunteer_id, name in session.exec(stmt).all():
        found.setdefault(int(volunteer_id), []).append(str(name))
    return found


# --- inbox ------------------------------------------------------------------------------------


def inbox(
    session: Session, scope: AccessScope, *, limit: int
) -> Sequence[tuple[InboxItem, Volunteer]]:
    """Open inbox items the scope reaches (by the sender's region and buurtsteunpunt)."""
    stmt = (
        select(InboxItem, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(InboxItem.volunteer_id))
        .where(col(InboxItem.state) == InboxItemState.OPEN)
    )
    stmt = scope.filter_by_region(stmt, col(Volunteer.vr_code))
    stmt = scope.filter_support_points(stmt, col(InboxItem.support_point_id))
    stmt = stmt.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id).desc()).limit(limit)
    return [(item, volunteer) for item, volunteer in session.exec(stmt).all()]


def inbox_item(session: Session, item_id: int) -> tuple[InboxItem, Volunteer] | None:
    """One inbox item with its sender (unscoped: the service checks)."""
    row = session.exec(
        select(InboxItem, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(InboxItem.volunteer_id))
        .where(col(InboxItem.id) == item_id)
    ).first()
    return None if row is None else (row[0], row[1])


def _problems() -> Any:
    # A problem report is raised on an assignment: its volunteer says whose buurtsteunpunt it is.
    return (
        select(DispatchAlert, Incident, Volunteer)
        .join(Incident, col(Incident.id) == col(DispatchAlert.incident_id))
        .outerjoin(Assignment, col(Assignment.id) == col(DispatchAlert.assignment_id))
        .outerjoin(Volunteer, col(Volunteer.id) == col(Assignment.volunteer_id))
        .where(col(DispatchAlert.kind) == AlertKind.PROBLEM)
    )


def problem_alerts(
    session: Session, scope: AccessScope, *, limit: int
) -> list[tuple[DispatchAlert, Incident, Volunteer | None]]:
    """Unacknowledged problem reports in reach, newest first: raised in an incident of the
    scope's regions, by a volunteer of the scope's buurtsteunpunten (where it is limited)."""
    stmt = _problems().where(col(DispatchAlert.acknowledged_at).is_(None))
    stmt = scope.filter_by_region(stmt, col(DispatchAlert.vr_code))
    stmt = scope.filter_support_points(stmt, col(Volunteer.support_point_id))
    stmt = stmt.order_by(col(DispatchAlert.created_at).desc(), col(DispatchAlert.id).desc())
    return [(a, i, v) for a, i, v in session.exec(stmt.limit(limit)).all()]


def problem_alert(
    session: Session, alert_id: int
) -> tuple[DispatchAlert, Incident, Volunteer | None] | None:
    """One problem report with its incident and reporter (unscoped: the service checks)."""
    row = session.exec(_problems().where(col(DispatchAlert.id) == alert_id)).first()
    return None if row is None else (row[0], row[1], row[2])


def support_point_names(session: Session, ids: Collection[int]) -> dict[int, str]:
    """Names of buurtsteunpunten by id."""
    if not ids:
        return {}
    stmt = select(col(SupportPoint.id), col(SupportPoint.name)).where(
        col(SupportPoint.id).in_(list(ids))
    )
    return {int(i or 0): str(n) for i, n in session.exec(stmt).all()}
