"""API shapes of care tasks, the task-type catalogue and imports."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from brigades.tasks.models import ImportMode, ImportState, TaskPriority, TaskState
from brigades.tasks.validation import DESCRIPTION_HELP_NL
from brigades.volunteers.schemas import CleanStr


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TaskCreate(_Input):
    """A care task in an open incident. Times are ISO 8601 with a zone (e.g.
    `2026-11-24T10:00:00+01:00`); the location must lie in the incident's area."""

    type_code: str = Field(max_length=60, examples=["boodschappen"])
    postcode: str = Field(max_length=16, examples=["3512 JK"])
    house_number: str = Field(max_length=16, examples=["12a"])
    street: CleanStr | None = Field(default=None, max_length=120, examples=["Oudegracht"])
    city: CleanStr | None = Field(default=None, max_length=80, examples=["Utrecht"])
    window_start: AwareDatetime
    window_end: AwareDatetime
    duration_minutes: int = Field(ge=1, le=24 * 60, examples=[60])
    slots: int = Field(default=1, ge=1, le=1000, description="Volunteers needed")
    priority: TaskPriority = TaskPriority.NORMAL
    description: CleanStr = Field(max_length=1000, description=DESCRIPTION_HELP_NL)
    contact_instructions: CleanStr | None = Field(
        default=None,
        max_length=1000,
        description="Shown only to the assigned volunteer (e.g. how to get in)",
    )
    external_reference: CleanStr | None = Field(
        default=None, max_length=64, description="Your own reference; unique per incident"
    )


class TaskCancel(_Input):
    """Why the task is cancelled (kept on the task)."""

    reason: CleanStr | None = Field(default=None, max_length=200)


class AddressPublic(BaseModel):
    """The client's exact address and contact instructions (coordinators and the requesting
    organisation only)."""

    postcode: str
    house_number: str | None
    street: str | None
    city: str | None
    contact_instructions: str | None


class TaskPublic(BaseModel):
    """A care task. `address` is null for roles that may not see it."""

    id: int
    incident_id: int
    type_code: str
    state: TaskState
    priority: TaskPriority
    pc4: int
    gm_code: str
    vr_code: str
    window_start: datetime
    window_end: datetime
    duration_minutes: int
    slots: int
    description: str
    organisation_id: int | None
    external_reference: str | None
    unfillable_reason: str | None
    location_note: str | None
    created_at: datetime
    updated_at: datetime
    address: AddressPublic | None = None


class TaskTypePublic(BaseModel):
    """A task type: the vetting level and skills a volunteer needs for it."""

    code: str
    name_nl: str
    description_nl: str
    min_vetting_level: int
    default_duration_minutes: int
    skills: list[str]


class ImportProblem(BaseModel):
    """One problem in one row (the header is row 1)."""

    row: int
    column: str
    message: str


class ImportPublic(BaseModel):
    """A bulk import and its progress; poll until `state` is `done` or `failed`."""

    id: int
    incident_id: int
    filename: str
    mode: ImportMode
    state: ImportState
    progress_percent: int
    total_rows: int
    processed_rows: int
    imported_rows: int
    error_rows: int
    message: str | None
    errors: list[ImportProblem] = Field(description="The first 1,000 problems")
    created_at: datetime
    finished_at: datetime | None
    status_url: str
