"""The dispatcher's own state: per-task wave timers, alerts, roll-calls and mutual aid.

Offers and assignments themselves are care-task tables (:mod:`brigades.tasks.models`); what
lives here is what the dispatcher needs to survive a restart (the radius reached and when the
next wave is due) and what it raises to coordinators.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum

ROLL_CALL_OBJECT = "roll_call"
MUTUAL_AID_OBJECT = "mutual_aid"


class TaskDispatch(SQLModel, table=True):
    """Where the search for one task's volunteers stands (one row per task being dispatched)."""

    __tablename__ = "task_dispatch"
    __table_args__ = (Index("ix_task_dispatch_due", "due_at"),)

    task_id: int = Field(
        sa_column=Column(Integer, ForeignKey("care_task.id", ondelete="CASCADE"), primary_key=True)
    )
    incident_id: int = Field(foreign_key="incident.id", index=True)
    radius_km: float
    waves: int = Field(default=0)
    offers_sent: int = Field(default=0)
    # When the next wave is due (None: nothing to do until an answer, expiry or coordinator).
    due_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_wave_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)


class AlertKind(enum.StrEnum):
    UNFILLABLE = "unfillable"
    OVERDUE = "overdue"  # an assignment still not finished well after its window
    CANCELLED_BY_VOLUNTEER = "cancelled_by_volunteer"
    PROBLEM = "problem"  # a volunteer reported a problem from the personal page


ALERT_LABELS_NL = {
    AlertKind.UNFILLABLE: "Niet te bezetten",
    AlertKind.OVERDUE: "Inzet niet afgemeld",
    AlertKind.CANCELLED_BY_VOLUNTEER: "Afgezegd door vrijwilliger",
    AlertKind.PROBLEM: "Probleem gemeld",
}


class DispatchAlert(SQLModel, table=True):
    """Something a coordinator must look at, raised by the dispatcher."""

    __tablename__ = "dispatch_alert"
    __table_args__ = (Index("ix_dispatch_alert_open", "incident_id", "acknowledged_at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    vr_code: str = Field(max_length=4, index=True)
    kind: AlertKind = Field(sa_type=str_enum(AlertKind))
    task_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("care_task.id", ondelete="CASCADE"), index=True),
    )
    assignment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), index=True),
    )
    # Dutch, for the coordinator; never a volunteer's name or number.
    message: str = Field(max_length=300)
    created_at: datetime = Field(sa_type=AwareDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    acknowledged_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")


class RollCallState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RollCall(SQLModel, table=True):
    """An availability poll to every eligible volunteer of an incident's area."""

    __tablename__ = "roll_call"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    vr_code: str = Field(max_length=4, index=True)
    state: RollCallState = Field(default=RollCallState.OPEN, sa_type=str_enum(RollCallState))
    hours: int
    # Counted when the roll-call was started (the preview); ``sent`` grows as the worker sends.
    recipients: int = Field(default=0)
    sent: int = Field(default=0)
    # The worker sends in batches by volunteer id: the highest id handled so far.
    last_volunteer_id: int = Field(default=0)
    sending_done_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    drill: bool = Field(default=False)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    opened_at: datetime = Field(sa_type=AwareDateTime)
    ends_at: datetime = Field(sa_type=AwareDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class MutualAidState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


MUTUAL_AID_LABELS_NL = {
    MutualAidState.REQUESTED: "Aangevraagd",
    MutualAidState.APPROVED: "Goedgekeurd",
    MutualAidState.DECLINED: "Afgewezen",
    MutualAidState.WITHDRAWN: "Ingetrokken",
}


class MutualAid(SQLModel, table=True):
    """An incident's request for volunteers of a neighbouring region, and that region's answer.

    Only an approved request makes the helping region's volunteers eligible, for that incident
    only, and (when ``skill_code`` is set) only for tasks that need that skill.
    """

    __tablename__ = "mutual_aid"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    requesting_vr_code: str = Field(max_length=4)
    helping_vr_code: str = Field(max_length=4, index=True)
    skill_code: str | None = Field(default=None, foreign_key="skill.code", max_length=40)
    state: MutualAidState = Field(
        default=MutualAidState.REQUESTED, sa_type=str_enum(MutualAidState)
    )
    note: str | None = Field(default=None, max_length=300)
    requested_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    requested_at: datetime = Field(sa_type=AwareDateTime)
    decided_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
