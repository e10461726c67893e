"""What the personal page shows of offers and assignments (read only; no SQL in templates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades import clock
from brigades.dispatch import repository
from brigades.dispatch.formatting import when
from brigades.incidents.models import Incident, IncidentKind
from brigades.tasks.models import (
    Assignment,
    AssignmentState,
    CareTask,
    Offer,
    OfferState,
    TaskType,
)
from brigades.volunteers.models import Volunteer


@dataclass(frozen=True, slots=True)
class OfferItem:
    """A pending offer as the volunteer sees it: no address until they accept."""

    offer_id: int
    type_name: str
    when: str
    pc4: int
    expires: str
    drill: bool


@dataclass(frozen=True, slots=True)
class AssignmentItem:
    """An accepted task with its details (only the volunteer who holds it sees the address)."""

    assignment_id: int
    type_name: str
    when: str
    address: str
    contact: str | None
    checked_in: bool
    drill: bool


@dataclass(frozen=True, slots=True)
class DispatchView:
    """The volunteer's open offers and live assignments."""

    offers: list[OfferItem]
    assignments: list[AssignmentItem]


def _type_name(session: Session, task: CareTask) -> str:
    task_type = session.get(TaskType, task.type_code)
    return task_type.name_nl if task_type else task.type_code


def _drill(session: Session, task: CareTask) -> bool:
    incident = session.get(Incident, task.incident_id)
    return incident is not None and incident.kind is IncidentKind.DRILL


def address_of(task: CareTask) -> str:
    """The exact address of a task as one line."""
    street = " ".join(p for p in (task.street, task.house_number) if p)
    place = " ".join(p for p in (task.postcode, task.city) if p)
    return ", ".join(p for p in (street, place) if p) or str(task.pc4)


def for_volunteer(session: Session, *, volunteer: Volunteer, now: datetime) -> DispatchView:
    """The offers still open and the assignments still live of one volunteer."""
    assert volunteer.id is not None
    offers: list[OfferItem] = []
    for offer in repository.offers_of_volunteer(session, volunteer.id, states=[OfferState.PENDING]):
        task = session.get(CareTask, offer.task_id)
        if task is None or clock.as_utc(offer.expires_at) <= now:
            continue
        offers.append(
            OfferItem(
                offer_id=offer.id or 0,
                type_name=_type_name(session, task),
                when=when(task.window_start, task.window_end),
                pc4=task.pc4,
                expires=clock.format_local(offer.expires_at, "%H:%M"),
                drill=_drill(session, task),
            )
        )
    assignments: list[AssignmentItem] = []
    for assignment in repository.assignments_of_volunteer(session, volunteer.id, live_only=True):
        task = session.get(CareTask, assignment.task_id)
        if task is None:
            continue
        drill = _drill(session, task)
        assignments.append(
            AssignmentItem(
                assignment_id=assignment.id or 0,
                type_name=_type_name(session, task),
                when=when(task.window_start, task.window_end),
                # Nobody goes in a drill: its pretend address is never shown.
                address="" if drill else address_of(task),
                contact=None if drill else task.contact_instructions,
                checked_in=assignment.state is AssignmentState.CHECKED_IN,
                drill=drill,
            )
        )
    return DispatchView(offers=offers, assignments=assignments)


def owns_assignment(session: Session, *, volunteer: Volunteer, assignment_id: int) -> bool:
    """Whether the assignment is this volunteer's."""
    assignment = session.get(Assignment, assignment_id)
    return assignment is not None and assignment.volunteer_id == volunteer.id


def owns_offer(session: Session, *, volunteer: Volunteer, offer_id: int) -> bool:
    """Whether the offer was made to this volunteer."""
    offer = session.get(Offer, offer_id)
    return offer is not None and offer.volunteer_id == volunteer.id
