"""Changing the state of tasks, offers and assignments: checked against the table, audited.

Every change of state in the application goes through these three functions (the dispatcher,
the SMS replies, the coordinator pages and the expiry job alike), so the tables in
:mod:`brigades.tasks.states` hold everywhere and the audit log shows every step.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.tasks import callbacks
from brigades.tasks.models import (
    ASSIGNMENT_OBJECT,
    OFFER_OBJECT,
    TASK_OBJECT,
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskState,
)
from brigades.tasks.states import ASSIGNMENT_STATES, OFFER_STATES, TASK_STATES

CANCELLED_BY = frozenset({"volunteer", "coordinator"})


def _reason(text: str | None) -> str | None:
    cleaned = " ".join(text.split()) if text else ""
    return cleaned[:200] or None


def transition(
    session: Session,
    task: CareTask,
    to: TaskState,
    *,
    actor: Actor,
    reason: str | None = None,
    now: datetime,
) -> CareTask:
    """Move a task to ``to`` (InvalidTransition if the table forbids it); audited, and its
    care organisation is told through a queued callback."""
    previous = task.state
    TASK_STATES.check(previous, to)
    task.state = to
    task.state_changed_at = now
    task.updated_at = now
    if to is TaskState.UNFILLABLE:
        task.unfillable_reason = _reason(reason)
    elif to is TaskState.OFFERING:
        task.unfillable_reason = None
    if to is TaskState.CANCELLED:
        task.cancel_reason = _reason(reason)
    session.add(task)
    audit.record(
        session,
        actor=actor,
        action=f"task.{to.value}",
        object_kind=TASK_OBJECT,
        object_id=task.id,
        vr_code=task.vr_code,
        # Reasons are free text (a person may be named): they stay on the task, not in the log.
        detail={"from": previous.value, "to": to.value, "incident_id": task.incident_id},
        now=now,
    )
    callbacks.enqueue_state_change(session, task=task, previous=previous, now=now)
    return task


def transition_offer(
    session: Session, offer: Offer, to: OfferState, *, actor: Actor, now: datetime
) -> Offer:
    """Move an offer to ``to`` (InvalidTransition if the table forbids it); audited."""
    previous = offer.state
    OFFER_STATES.check(previous, to)
    offer.state = to
    offer.state_changed_at = now
    if to in (OfferState.ACCEPTED, OfferState.DECLINED, OfferState.TOO_LATE):
        offer.answered_at = now
    session.add(offer)
    task = session.get(CareTask, offer.task_id)
    audit.record(
        session,
        actor=actor,
        action=f"offer.{to.value}",
        object_kind=OFFER_OBJECT,
        object_id=offer.id,
        vr_code=task.vr_code if task else None,
        detail={"from": previous.value, "to": to.value, "task_id": offer.task_id},
        now=now,
    )
    return offer


def transition_assignment(
    session: Session,
    assignment: Assignment,
    to: AssignmentState,
    *,
    actor: Actor,
    cancelled_by: str | None = None,
    now: datetime,
) -> Assignment:
    """Move an assignment to ``to`` (InvalidTransition if the table forbids it); audited.

    A cancellation says who cancelled: ``"volunteer"`` or ``"coordinator"``.
    """
    previous = assignment.state
    ASSIGNMENT_STATES.check(previous, to)
    if to is AssignmentState.CANCELLED and cancelled_by not in CANCELLED_BY:
        raise ValueError("a cancellation needs cancelled_by='volunteer' or 'coordinator'")
    assignment.state = to
    assignment.state_changed_at = now
    if to is AssignmentState.CHECKED_IN:
        assignment.checked_in_at = now
    elif to in (AssignmentState.DONE, AssignmentState.CANCELLED, AssignmentState.NO_SHOW):
        assignment.finished_at = now
    if to is AssignmentState.CANCELLED:
        assignment.cancelled_by = cancelled_by
    session.add(assignment)
    task = session.get(CareTask, assignment.task_id)
    detail: dict[str, object] = {
        "from": previous.value,
        "to": to.value,
        "task_id": assignment.task_id,
    }
    if cancelled_by:
        detail["cancelled_by"] = cancelled_by
    audit.record(
        session,
        actor=actor,
        action=f"assignment.{to.value}",
        object_kind=ASSIGNMENT_OBJECT,
        object_id=assignment.id,
        vr_code=task.vr_code if task else None,
        detail=detail,
        now=now,
    )
    return assignment
