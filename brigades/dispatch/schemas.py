"""API shapes of the coordinators' dispatch tools: roll-calls, mutual aid, alerts, re-offers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from brigades.dispatch.models import AlertKind, MutualAidState, RollCallState
from brigades.dispatch.rollcall import DEFAULT_HOURS, MAX_HOURS
from brigades.volunteers.schemas import CleanStr


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RollCallCreate(_Input):
    """Start a roll-call of the incident's area; the worker sends it in batches."""

    hours: int = Field(default=DEFAULT_HOURS, ge=1, le=MAX_HOURS)


class RollCallPreviewPublic(BaseModel):
    """What sending a roll-call would mean."""

    recipients: int
    segments_per_message: int
    rate_per_second: float
    seconds: float
    duration_text: str = Field(examples=["55 uur en 33 minuten"])
    sample_text: str


class RollCallPublic(BaseModel):
    """A roll-call with its progress and answers."""

    id: int
    incident_id: int
    vr_code: str
    state: RollCallState
    running: bool = Field(description="Open and not ended: its answers count for dispatch")
    hours: int
    drill: bool
    opened_at: datetime
    ends_at: datetime
    closed_at: datetime | None
    recipients: int = Field(description="Counted when it was started")
    sent: int
    sending_done: bool
    answered_yes: int
    answered_no: int
    unanswered: int


class MutualAidCreate(_Input):
    """Ask a neighbouring region for help, optionally only for tasks needing one skill."""

    helping_vr_code: str = Field(min_length=4, max_length=4, examples=["VR14"])
    skill_code: str | None = Field(default=None, max_length=40)
    note: CleanStr | None = Field(default=None, max_length=300)


class MutualAidPublic(BaseModel):
    """A mutual-aid request."""

    id: int
    incident_id: int
    incident_code: str | None
    requesting_vr_code: str
    helping_vr_code: str
    skill_code: str | None
    state: MutualAidState
    note: str | None
    requested_at: datetime
    decided_at: datetime | None


class AlertPublic(BaseModel):
    """Something the dispatcher raised to the incident's coordinators."""

    id: int
    incident_id: int
    kind: AlertKind
    task_id: int | None
    assignment_id: int | None
    message: str
    created_at: datetime
    acknowledged_at: datetime | None


class Reoffer(_Input):
    """Offer the task again now; ``widen`` grows the search radius one step first."""

    widen: bool = False


class ReofferPublic(BaseModel):
    """Where the task's search stands after the re-offer."""

    task_id: int
    radius_km: float
    due_at: datetime | None
