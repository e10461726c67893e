"""Every change of state of a task, offer or assignment is checked and audited."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.incidents.states import InvalidTransition
from brigades.tasks import service
from brigades.tasks.models import AssignmentState, OfferState, TaskState
from brigades.tasks.transitions import transition, transition_assignment, transition_offer
from tests.incidents.factories import ACTOR, make_incident
from tests.tasks.factories import make_assignment, make_offer, make_task, make_volunteer


def _actions(session: Session, kind: str, object_id: int | None) -> list[str]:
    stmt = (
        select(AuditEvent.action)
        .where(col(AuditEvent.object_kind) == kind, col(AuditEvent.object_id) == str(object_id))
        .order_by(col(AuditEvent.id))
    )
    return list(session.exec(stmt).all())


def test_a_task_runs_its_course_and_every_step_is_audited(
    session: Session, clock: ManualClock
) -> None:
    task = make_task(session, make_incident(session))
    for state in (
        TaskState.OFFERING,
        TaskState.UNFILLABLE,
        TaskState.OFFERING,
        TaskState.FILLED,
        TaskState.IN_PROGRESS,
        TaskState.DONE,
    ):
        clock.advance(60)
        transition(session, task, state, actor=ACTOR, reason="Niemand binnen 5 km", now=clock.now())
        assert task.state is state and task.state_changed_at == clock.now()

    assert _actions(session, "care_task", task.id) == [
        "task.created",
        "task.offering",
        "task.unfillable",
        "task.offering",
        "task.filled",
        "task.in_progress",
        "task.done",
    ]
    events = service.timeline(session, task)
    assert events[2].detail == {
        "from": "offering",
        "to": "unfillable",
        "incident_id": task.incident_id,
    }
    assert task.unfillable_reason is None  # cleared when offered again


def test_reasons_stay_on_the_task_not_in_the_log(session: Session, clock: ManualClock) -> None:
    task = make_task(session, make_incident(session))
    transition(session, task, TaskState.OFFERING, actor=ACTOR, now=clock.now())
    transition(session, task, TaskState.UNFILLABLE, actor=ACTOR, reason="Te ver", now=clock.now())
    assert task.unfillable_reason == "Te ver"
    transition(
        session,
        task,
        TaskState.CANCELLED,
        actor=ACTOR,
        reason="Mw. Jansen opgenomen",
        now=clock.now(),
    )
    assert task.cancel_reason == "Mw. Jansen opgenomen"
    assert "Jansen" not in str([e.detail for e in service.timeline(session, task)])


def test_a_forbidden_step_changes_nothing(session: Session, clock: ManualClock) -> None:
    task = make_task(session, make_incident(session))
    with pytest.raises(InvalidTransition, match="van 'Open' naar 'Klaar'"):
        transition(session, task, TaskState.DONE, actor=ACTOR, now=clock.now())
    assert task.state is TaskState.OPEN
    assert _actions(session, "care_task", task.id) == ["task.created"]


def test_offers_and_assignments_are_audited(session: Session, clock: ManualClock) -> None:
    task = make_task(session, make_incident(session))
    volunteer = make_volunteer(session)
    offer = make_offer(session, task, volunteer)
    clock.advance(120)
    transition_offer(session, offer, OfferState.ACCEPTED, actor=ACTOR, now=clock.now())
    assert offer.answered_at == clock.now()
    with pytest.raises(InvalidTransition):
        transition_offer(session, offer, OfferState.TOO_LATE, actor=ACTOR, now=clock.now())

    assignment = make_assignment(session, task, volunteer)
    transition_assignment(
        session, assignment, AssignmentState.CHECKED_IN, actor=ACTOR, now=clock.now()
    )
    assert assignment.checked_in_at == clock.now()
    with pytest.raises(ValueError, match="cancelled_by"):
        transition_assignment(
            session, assignment, AssignmentState.CANCELLED, actor=ACTOR, now=clock.now()
        )
    transition_assignment(
        session,
        assignment,
        AssignmentState.CANCELLED,
        actor=ACTOR,
        cancelled_by="volunteer",
        now=clock.now(),
    )
    assert assignment.finished_at == clock.now() and assignment.cancelled_by == "volunteer"
    assert _actions(session, "offer", offer.id) == ["offer.accepted"]
    assert _actions(session, "assignment", assignment.id) == [
        "assignment.checked_in",
        "assignment.cancelled",
    ]
    cancelled = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "assignment.cancelled")
    ).one()
    assert cancelled.vr_code == "VR09" and cancelled.detail["cancelled_by"] == "volunteer"
