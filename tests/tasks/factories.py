"""Plain factories for care tasks, offers and assignments."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.incidents.models import Incident
from brigades.tasks import service
from brigades.tasks.models import (
    Assignment,
    CareTask,
    ImportMode,
    Offer,
    TaskImport,
    TaskPriority,
)
from brigades.tasks.validation import TaskDraft
from brigades.volunteers.models import Volunteer
from tests.incidents.factories import ACTOR, ADMIN


def draft(
    *,
    type_code: str = "boodschappen",
    postcode: str = "3512 JK",
    house_number: str = "12",
    start: datetime | None = None,
    hours: float = 2,
    duration_minutes: int = 60,
    slots: int = 1,
    description: str = "Boodschappen halen bij de supermarkt om de hoek.",
    external_reference: str | None = None,
    priority: TaskPriority = TaskPriority.NORMAL,
) -> TaskDraft:
    """A valid task in the city of Utrecht, starting an hour from now."""
    begin = start or clock.now() + timedelta(hours=1)
    return TaskDraft(
        type_code=type_code,
        postcode=postcode,
        house_number=house_number,
        street="Oudegracht",
        city="Utrecht",
        window_start=begin,
        window_end=begin + timedelta(hours=hours),
        duration_minutes=duration_minutes,
        slots=slots,
        priority=priority,
        description=description,
        contact_instructions="Bel aan bij de zijdeur.",
        external_reference=external_reference,
    )


def make_task(
    session: Session,
    incident: Incident,
    *,
    scope: AccessScope = ADMIN,
    task_draft: TaskDraft | None = None,
) -> CareTask:
    """A task in an incident (through the service)."""
    return service.create_task(
        session,
        actor=ACTOR,
        scope=scope,
        incident=incident,
        draft=task_draft or draft(),
        now=clock.now(),
    )


def make_volunteer(session: Session) -> Volunteer:
    """A bare volunteer row to hang offers and assignments on."""
    now = clock.now()
    volunteer = Volunteer(
        public_id=f"v{now.timestamp():.0f}{id(session) % 1000}", created_at=now, updated_at=now
    )
    session.add(volunteer)
    session.flush()
    return volunteer


def make_offer(session: Session, task: CareTask, volunteer: Volunteer) -> Offer:
    """A pending offer."""
    assert task.id is not None and volunteer.id is not None
    now = clock.now()
    offer = Offer(
        task_id=task.id,
        volunteer_id=volunteer.id,
        created_at=now,
        expires_at=now + timedelta(minutes=30),
        state_changed_at=now,
    )
    session.add(offer)
    session.flush()
    return offer


def make_assignment(session: Session, task: CareTask, volunteer: Volunteer) -> Assignment:
    """A fresh assignment."""
    assert task.id is not None and volunteer.id is not None
    now = clock.now()
    assignment = Assignment(
        task_id=task.id, volunteer_id=volunteer.id, assigned_at=now, state_changed_at=now
    )
    session.add(assignment)
    session.flush()
    return assignment


def make_import(session: Session, incident: Incident) -> TaskImport:
    """A queued import row (no job run)."""
    assert incident.id is not None
    now = clock.now()
    record = TaskImport(
        incident_id=incident.id,
        vr_code=incident.vr_code,
        mode=ImportMode.ALL_OR_NOTHING,
        total_rows=10,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    return record
