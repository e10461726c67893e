"""Queries of the dispatcher: row locks, open slots, due waves, expiring offers, regions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades.conversation.models import Question, QuestionKind, QuestionState
from brigades.dispatch.models import (
    AlertKind,
    DispatchAlert,
    MutualAid,
    MutualAidState,
    RollCall,
    RollCallState,
    TaskDispatch,
)
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.tasks.models import Assignment, CareTask, Offer, OfferState
from brigades.tasks.states import LIVE_ASSIGNMENT_STATES
from brigades.volunteers.models import Volunteer
from notifications.replies import ReplyIntent

OFFER_SUBJECT = "offer"
ASSIGNMENT_SUBJECT = "assignment"
ROLL_CALL_SUBJECT = "roll_call"
# Notices about the incident as a whole (standing down).
INCIDENT_SUBJECT = "incident"


def lock_task(session: Session, task_id: int, *, skip_locked: bool = False) -> CareTask | None:
    """The task, locked until the end of the transaction (a no-op lock on SQLite, where the
    transaction already holds the database's write lock from its first statement). With
    ``skip_locked``, None when another transaction holds it (PostgreSQL).

    Every lock here is ``FOR NO KEY UPDATE``: it excludes the other lockers as ``FOR UPDATE``
    does, but not the key-share locks of foreign keys, so a transaction inserting an offer or an
    assignment that refers to a locked row does not wait for the lock holder to commit (at an
    incident's start, a reply waited seconds behind a batch of waves that way).
    """
    stmt = (
        select(CareTask)
        .where(col(CareTask.id) == task_id)
        .with_for_update(skip_locked=skip_locked, key_share=True)
    )
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def lock_tasks(session: Session, task_ids: Sequence[int]) -> dict[int, CareTask]:
    """The tasks no other transaction holds, locked until the end of this one (``SKIP LOCKED``;
    on SQLite all of them, as :func:`lock_task`). In id order, so two workers never wait on
    each other's locks in opposite orders."""
    if not task_ids:
        return {}
    stmt = (
        select(CareTask)
        .where(col(CareTask.id).in_(list(task_ids)))
        .order_by(col(CareTask.id))
        .with_for_update(skip_locked=True, key_share=True)
    )
    return {
        task.id: task
        for task in session.exec(stmt.execution_options(populate_existing=True)).all()
        if task.id is not None
    }


def live_assignment_counts(session: Session, task_ids: Sequence[int]) -> dict[int, int]:
    """How many live assignments hold a slot of each task (tasks without any left out)."""
    stmt = (
        select(Assignment.task_id, func.count())
        .where(
            col(Assignment.task_id).in_(list(task_ids)),
            col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
        )
        .group_by(col(Assignment.task_id))
    )
    return {task_id: n for task_id, n in session.exec(stmt).all()}


def pending_offer_counts(session: Session, task_ids: Sequence[int]) -> dict[int, int]:
    """How many offers of each task still wait for an answer (tasks without any left out)."""
    stmt = (
        select(Offer.task_id, func.count())
        .where(col(Offer.task_id).in_(list(task_ids)), col(Offer.state) == OfferState.PENDING)
        .group_by(col(Offer.task_id))
    )
    return {task_id: n for task_id, n in session.exec(stmt).all()}


def offered_volunteers(session: Session, task_ids: Sequence[int]) -> dict[int, set[int]]:
    """Everyone each task was offered to before, in any wave and whatever they answered."""
    found: dict[int, set[int]] = {}
    stmt = select(Offer.task_id, Offer.volunteer_id).where(col(Offer.task_id).in_(list(task_ids)))
    for task_id, volunteer_id in session.exec(stmt).all():
        found.setdefault(task_id, set()).add(volunteer_id)
    return found


def lock_volunteer(session: Session, volunteer_id: int) -> Volunteer | None:
    """The volunteer, locked: serialises one volunteer's acceptances of different tasks."""
    stmt = (
        select(Volunteer).where(col(Volunteer.id) == volunteer_id).with_for_update(key_share=True)
    )
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def lock_offer(session: Session, offer_id: int) -> Offer | None:
    """The offer, re-read under lock."""
    stmt = select(Offer).where(col(Offer.id) == offer_id).with_for_update(key_share=True)
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def live_assignments(session: Session, task_id: int) -> Sequence[Assignment]:
    """The assignments holding a slot of the task."""
    stmt = select(Assignment).where(
        col(Assignment.task_id) == task_id, col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES)
    )
    return session.exec(stmt).all()


def pending_offers(session: Session, task_id: int) -> Sequence[Offer]:
    """The task's offers still waiting for an answer."""
    stmt = select(Offer).where(
        col(Offer.task_id) == task_id, col(Offer.state) == OfferState.PENDING
    )
    return session.exec(stmt.order_by(col(Offer.id))).all()


def dispatch_of(session: Session, task_id: int) -> TaskDispatch | None:
    """The dispatch state of a task."""
    return session.get(TaskDispatch, task_id)


def due_task_ids(session: Session, *, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(incident id, task id) of tasks whose next wave is due, in open incidents, oldest first."""
    stmt = (
        select(TaskDispatch.incident_id, TaskDispatch.task_id)
        .join(Incident, col(Incident.id) == col(TaskDispatch.incident_id))
        .where(
            col(TaskDispatch.due_at).is_not(None),
            col(TaskDispatch.due_at) <= now,
            col(Incident.state) == IncidentState.OPEN,
        )
        .order_by(col(TaskDispatch.due_at), col(TaskDispatch.task_id))
        .limit(limit)
    )
    return [(incident_id, task_id) for incident_id, task_id in session.exec(stmt).all()]


def expired_offer_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    """Pending offers whose expiry has passed."""
    stmt = (
        select(Offer.id)
        .where(col(Offer.state) == OfferState.PENDING, col(Offer.expires_at) <= now)
        .order_by(col(Offer.expires_at))
        .limit(limit)
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def overdue_assignment_ids(session: Session, *, ended_before: datetime, limit: int) -> list[int]:
    """Live assignments of tasks whose window ended before the moment, with no alarm yet.

    Never a drill's: nobody went, so nobody is overdue (the drill ends them itself).
    """
    alarmed = select(DispatchAlert.assignment_id).where(
        col(DispatchAlert.kind) == AlertKind.OVERDUE,
        col(DispatchAlert.assignment_id).is_not(None),
    )
    stmt = (
        select(Assignment.id)
        .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(
            col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
            col(CareTask.window_end) <= ended_before,
            col(Assignment.id).not_in(alarmed),
            col(Incident.kind) != IncidentKind.DRILL,
        )
        .order_by(col(Assignment.id))
        .limit(limit)
    )
    return [i for i in session.exec(stmt).all() if i is not None]


def approved_aid(session: Session, incident_id: int) -> Sequence[MutualAid]:
    """The incident's approved mutual-aid requests."""
    stmt = select(MutualAid).where(
        col(MutualAid.incident_id) == incident_id,
        col(MutualAid.state) == MutualAidState.APPROVED,
    )
    return session.exec(stmt).all()


def roll_call_answers(
    session: Session, *, incident_id: int, now: datetime
) -> tuple[set[int], set[int]]:
    """Volunteers who answered JA and NEE to the incident's roll-calls still running."""
    stmt = (
        select(Question.volunteer_id, Question.answer)
        .join(RollCall, col(RollCall.id) == col(Question.subject_id))
        .where(
            col(Question.kind) == QuestionKind.ROLL_CALL,
            col(Question.subject_kind) == ROLL_CALL_SUBJECT,
            col(Question.state) == QuestionState.ANSWERED,
            col(RollCall.incident_id) == incident_id,
            col(RollCall.state) == RollCallState.OPEN,
            col(RollCall.ends_at) > now,
        )
    )
    yes: set[int] = set()
    no: set[int] = set()
    for volunteer_id, answer in session.exec(stmt).all():
        if answer == ReplyIntent.YES.value:
            yes.add(volunteer_id)
        elif answer == ReplyIntent.NO.value:
            no.add(volunteer_id)
    return yes - no, no


def offers_of_volunteer(
    session: Session, volunteer_id: int, *, states: Sequence[OfferState]
) -> Sequence[Offer]:
    """A volunteer's offers in the given states, newest first."""
    stmt = (
        select(Offer)
        .where(col(Offer.volunteer_id) == volunteer_id, col(Offer.state).in_(states))
        .order_by(col(Offer.id).desc())
    )
    return session.exec(stmt).all()


def assignments_of_volunteer(
    session: Session, volunteer_id: int, *, live_only: bool
) -> Sequence[Assignment]:
    """A volunteer's assignments (live ones only, or all), newest first."""
    stmt = select(Assignment).where(col(Assignment.volunteer_id) == volunteer_id)
    if live_only:
        stmt = stmt.where(col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES))
    return session.exec(stmt.order_by(col(Assignment.id).desc()).limit(50)).all()


def open_alerts(session: Session, incident_id: int) -> Sequence[DispatchAlert]:
    """The incident's alerts nobody acknowledged yet, newest first."""
    stmt = (
        select(DispatchAlert)
        .where(
            col(DispatchAlert.incident_id) == incident_id,
            col(DispatchAlert.acknowledged_at).is_(None),
        )
        .order_by(col(DispatchAlert.id).desc())
    )
    return session.exec(stmt).all()


def offer_counts(session: Session, task_id: int) -> dict[OfferState, int]:
    """How many of the task's offers are in each state."""
    stmt = (
        select(Offer.state, func.count())
        .where(col(Offer.task_id) == task_id)
        .group_by(col(Offer.state))
    )
    return {OfferState(state): n for state, n in session.exec(stmt).all()}


def pending_offers_of_incident(session: Session, incident_id: int) -> list[tuple[Offer, Volunteer]]:
    """The pending offers of an incident's tasks, with their volunteers."""
    stmt = (
        select(Offer, Volunteer)
        .join(CareTask, col(CareTask.id) == col(Offer.task_id))
        .join(Volunteer, col(Volunteer.id) == col(Offer.volunteer_id))
        .where(col(CareTask.incident_id) == incident_id, col(Offer.state) == OfferState.PENDING)
        .order_by(col(Offer.id))
    )
    return [(offer, volunteer) for offer, volunteer in session.exec(stmt).all()]


def assigned_volunteers(session: Session, incident_id: int) -> list[Volunteer]:
    """Volunteers with a live assignment in the incident (each once)."""
    stmt = (
        select(Volunteer)
        .where(
            col(Volunteer.id).in_(
                select(Assignment.volunteer_id)
                .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
                .where(
                    col(CareTask.incident_id) == incident_id,
                    col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
                )
            )
        )
        .order_by(col(Volunteer.id))
    )
    return list(session.exec(stmt).all())


def clear_due(session: Session, incident_id: int) -> None:
    """No more waves for the incident's tasks."""
    for row in session.exec(
        select(TaskDispatch).where(
            col(TaskDispatch.incident_id) == incident_id, col(TaskDispatch.due_at).is_not(None)
        )
    ).all():
        row.due_at = None
        session.add(row)
