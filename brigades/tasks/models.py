"""Care tasks, their type catalogue, and the offers and assignments that fill their slots.

State machines (DESIGN.md, States) are in :mod:`brigades.tasks.states`; every change of state
goes through :mod:`brigades.tasks.transitions`, which audits it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum

TASK_OBJECT = "care_task"
OFFER_OBJECT = "offer"
ASSIGNMENT_OBJECT = "assignment"
MAX_DESCRIPTION = 280


class TaskType(SQLModel, table=True):
    """One kind of care task (reference data, seeded by a migration)."""

    __tablename__ = "task_type"

    code: str = Field(primary_key=True, max_length=40)
    name_nl: str = Field(max_length=100)
    description_nl: str = Field(default="", max_length=300)
    # 0 phone verified · 1 identity seen · 2 VOG on file · 3 professional evidence verified.
    min_vetting_level: int = Field(default=1)
    default_duration_minutes: int = Field(default=60)
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)


class TaskTypeSkill(SQLModel, table=True):
    """A skill a volunteer needs for a task type (all of a type's skills are needed)."""

    __tablename__ = "task_type_skill"

    task_type_code: str = Field(
        foreign_key="task_type.code", primary_key=True, max_length=40, ondelete="CASCADE"
    )
    skill_code: str = Field(foreign_key="skill.code", primary_key=True, max_length=40)


class TaskPriority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_LABELS_NL = {
    TaskPriority.URGENT: "Spoed",
    TaskPriority.HIGH: "Hoog",
    TaskPriority.NORMAL: "Normaal",
    TaskPriority.LOW: "Laag",
}


class TaskState(enum.StrEnum):
    OPEN = "open"
    OFFERING = "offering"
    FILLED = "filled"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    UNFILLABLE = "unfillable"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TASK_STATE_LABELS_NL = {
    TaskState.OPEN: "Open",
    TaskState.OFFERING: "Wordt aangeboden",
    TaskState.FILLED: "Bezet",
    TaskState.IN_PROGRESS: "Bezig",
    TaskState.DONE: "Klaar",
    TaskState.UNFILLABLE: "Niet te bezetten",
    TaskState.CANCELLED: "Geannuleerd",
    TaskState.EXPIRED: "Verlopen",
}


class CareTask(SQLModel, table=True):
    """A non-acute care task in an incident: where, when, how many volunteers, what kind.

    The exact address (house number, street, city) and the contact instructions are revealed
    only to the assigned volunteer and the coordinators; dispatch works with the PC4 point.
    """

    __tablename__ = "care_task"
    __table_args__ = (
        CheckConstraint("slots >= 1", name="slots_positive"),
        CheckConstraint("duration_minutes >= 1", name="duration_positive"),
        CheckConstraint("window_end > window_start", name="window_order"),
        Index("ix_care_task_incident_state", "incident_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    vr_code: str = Field(max_length=4, index=True)
    gm_code: str = Field(max_length=8)
    type_code: str = Field(foreign_key="task_type.code", max_length=40)
    postcode: str = Field(max_length=8)  # "3512 JK" (or "3512")
    pc4: int
    house_number: str | None = Field(default=None, max_length=16)
    street: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=80)
    lat: float
    lon: float
    location_note: str | None = Field(default=None, max_length=200)
    window_start: datetime = Field(sa_type=AwareDateTime)
    window_end: datetime = Field(sa_type=AwareDateTime)
    duration_minutes: int
    slots: int = Field(default=1)
    priority: TaskPriority = Field(default=TaskPriority.NORMAL, sa_type=str_enum(TaskPriority))
    description: str = Field(max_length=MAX_DESCRIPTION)
    contact_instructions: str | None = Field(default=None, max_length=500)
    organisation_id: int | None = Field(
        default=None, foreign_key="care_organisation.id", index=True
    )
    external_reference: str | None = Field(default=None, max_length=64)
    state: TaskState = Field(default=TaskState.OPEN, sa_type=str_enum(TaskState))
    state_changed_at: datetime = Field(sa_type=AwareDateTime)
    unfillable_reason: str | None = Field(default=None, max_length=200)
    cancel_reason: str | None = Field(default=None, max_length=200)
    import_id: int | None = Field(default=None, foreign_key="task_import.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    # Set when the retention job removed the address and contact instructions.
    address_purged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class OfferState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"  # the SMS failed permanently
    TOO_LATE = "too_late"  # accepted when every slot was already filled


class Offer(SQLModel, table=True):
    """A task offered to one volunteer in one wave (filled in by the dispatcher)."""

    __tablename__ = "offer"
    __table_args__ = (Index("ix_offer_task_state", "task_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="care_task.id", ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True, ondelete="CASCADE")
    question_id: int | None = Field(default=None, foreign_key="question.id")
    wave: int = Field(default=1)
    state: OfferState = Field(default=OfferState.PENDING, sa_type=str_enum(OfferState))
    created_at: datetime = Field(sa_type=AwareDateTime)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    state_changed_at: datetime = Field(sa_type=AwareDateTime)


class AssignmentState(enum.StrEnum):
    ASSIGNED = "assigned"
    CHECKED_IN = "checked_in"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Assignment(SQLModel, table=True):
    """A volunteer holding one slot of a task. A task of n slots has at most n live ones."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_task_state", "task_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="care_task.id", ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True, ondelete="CASCADE")
    offer_id: int | None = Field(default=None, foreign_key="offer.id")
    state: AssignmentState = Field(
        default=AssignmentState.ASSIGNED, sa_type=str_enum(AssignmentState)
    )
    assigned_at: datetime = Field(sa_type=AwareDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # "volunteer" or "coordinator" for a cancellation.
    cancelled_by: str | None = Field(default=None, max_length=16)
    state_changed_at: datetime = Field(sa_type=AwareDateTime)


class ImportMode(enum.StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"  # any error: nothing is written
    VALID_ROWS = "valid_rows"  # the valid rows are imported, the rest reported


class ImportState(enum.StrEnum):
    QUEUED = "queued"
    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"  # finished; with VALID_ROWS some rows may have been refused
    FAILED = "failed"  # nothing was imported (errors, an unreadable file, an interruption)


IMPORT_STATE_LABELS_NL = {
    ImportState.QUEUED: "In de wachtrij",
    ImportState.VALIDATING: "Rijen worden gecontroleerd",
    ImportState.IMPORTING: "Taken worden opgeslagen",
    ImportState.DONE: "Klaar",
    ImportState.FAILED: "Niet geïmporteerd",
}


class TaskImport(SQLModel, table=True):
    """One bulk CSV import of tasks into an incident, with its progress and error report."""

    __tablename__ = "task_import"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    vr_code: str = Field(max_length=4, index=True)
    organisation_id: int | None = Field(default=None, foreign_key="care_organisation.id")
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    filename: str = Field(default="", max_length=200)
    size_bytes: int = Field(default=0)
    mode: ImportMode = Field(sa_type=str_enum(ImportMode))
    state: ImportState = Field(default=ImportState.QUEUED, sa_type=str_enum(ImportState))
    total_rows: int = Field(default=0)
    processed_rows: int = Field(default=0)
    imported_rows: int = Field(default=0)
    error_rows: int = Field(default=0)
    # [{"row": 12, "column": "postcode", "message": "…"}], the first MAX_REPORTED_ERRORS.
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # A problem with the file as a whole (encoding, header, size), in Dutch.
    message: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class CallbackState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # out of attempts


class TaskCallback(SQLModel, table=True):
    """A change of a task to tell its care organisation (queued with the change, sent by a job)."""

    __tablename__ = "task_callback"
    __table_args__ = (Index("ix_task_callback_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="care_organisation.id", index=True)
    task_id: int = Field(foreign_key="care_task.id", index=True)
    event: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: CallbackState = Field(default=CallbackState.PENDING, sa_type=str_enum(CallbackState))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=AwareDateTime)
    # A sender holds the row until then (another worker may retry it after a crash).
    leased_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=AwareDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
