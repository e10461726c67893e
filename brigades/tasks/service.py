"""Care tasks: the type catalogue, creating tasks, reading them within the caller's scope.

Usage (a route)::

    task = service.create_task(session, actor=actor, scope=scope, incident=incident,
                               draft=TaskDraft(...), now=clock.now())
    service.cancel(session, actor=actor, scope=scope, task=task, reason="…", now=...)

Every change of state goes through :func:`brigades.tasks.transitions.transition`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

import geo
from brigades.accounts.models import Role
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.models import AuditEvent
from brigades.audit.service import Actor
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.tasks import repository, transitions
from brigades.tasks.models import TASK_OBJECT, CareTask, TaskState, TaskType
from brigades.tasks.validation import FieldError, TaskContext, TaskDraft, ValidTask, check

# Roles that create tasks (drill leads only in drills; care organisations in their region).
CREATING_ROLES = frozenset(
    {Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.DRILL_LEAD, Role.CARE_ORGANISATION}
)
# Roles that see a client's exact address and contact instructions (besides the volunteer).
ADDRESS_ROLES = frozenset({Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.CARE_ORGANISATION})
NOT_OPEN = "Dit incident is niet (meer) open: er kunnen geen taken meer bij."


class TaskInvalid(InvalidInput):
    """A task (or a row of an import) with one or more problems."""

    code = "invalid_task"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = list(errors)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body: the first problem, and all of them in ``errors``."""
        body: dict[str, Any] = dict(super().as_dict())
        body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body


@dataclass(frozen=True, slots=True)
class TaskTypeInfo:
    """A task type with the skills it needs."""

    code: str
    name_nl: str
    description_nl: str
    min_vetting_level: int
    default_duration_minutes: int
    skills: tuple[str, ...]


def catalogue(session: Session) -> list[TaskTypeInfo]:
    """The active task types with their required skills, in catalogue order."""
    skills = repository.skills_by_type(session)
    return [
        TaskTypeInfo(
            code=t.code,
            name_nl=t.name_nl,
            description_nl=t.description_nl,
            min_vetting_level=t.min_vetting_level,
            default_duration_minutes=t.default_duration_minutes,
            skills=tuple(skills.get(t.code, ())),
        )
        for t in repository.task_types(session)
    ]


def type_names(session: Session) -> dict[str, str]:
    """Dutch names of the task types by code (for lists)."""
    return {t.code: t.name_nl for t in repository.task_types(session, active_only=False)}


def require_may_create(scope: AccessScope, incident: Incident) -> None:
    """Raise unless the caller may add tasks to this (open) incident."""
    scope.require_write()
    if scope.role not in CREATING_ROLES:
        raise Forbidden("Met dit account kun je geen taken aanmaken.")
    if scope.role is Role.DRILL_LEAD and incident.kind is not IncidentKind.DRILL:
        raise Forbidden("Een oefenleider maakt alleen taken in oefeningen.")
    scope.require_region(incident.vr_code)
    if incident.state is not IncidentState.OPEN:
        raise Conflict(NOT_OPEN)


def context_for(
    session: Session, *, incident: Incident, organisation_id: int | None, now: datetime
) -> TaskContext:
    """Everything checking a task for this incident needs, read once."""
    assert incident.id is not None
    types: dict[str, TaskType] = {t.code: t for t in repository.task_types(session)}
    return TaskContext(
        types=types,
        vr_code=incident.vr_code,
        vr_name=geo.load_reference_data().regions[incident.vr_code].name,
        in_area=incidents.location_checker(session, incident),
        now=now,
        used_references=repository.external_references(
            session, incident_id=incident.id, organisation_id=organisation_id
        ),
    )


def row_for(
    valid: ValidTask,
    *,
    incident: Incident,
    organisation_id: int | None,
    user_id: int | None,
    import_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The column values of a new task."""
    draft, location = valid.draft, valid.location
    return {
        "incident_id": incident.id,
        "vr_code": incident.vr_code,
        "gm_code": location.gm_code,
        "type_code": valid.type_code,
        "postcode": location.postcode,
        "pc4": location.pc4,
        "house_number": valid.house_number,
        "street": valid.street,
        "city": valid.city,
        "lat": location.lat,
        "lon": location.lon,
        "location_note": location.note,
        "window_start": valid.window_start,
        "window_end": valid.window_end,
        "duration_minutes": draft.duration_minutes,
        "slots": draft.slots,
        "priority": draft.priority,
        "description": valid.description,
        "contact_instructions": valid.contact_instructions,
        "organisation_id": organisation_id,
        "external_reference": valid.external_reference,
        "state": TaskState.OPEN,
        "state_changed_at": now,
        "import_id": import_id,
        "created_by_user_id": user_id,
        "created_at": now,
        "updated_at": now,
    }


def created_detail(row: dict[str, Any], *, via: str) -> dict[str, Any]:
    """The audit detail of a new task: ids and codes, no address or free text."""
    return {
        "incident_id": row["incident_id"],
        "type": row["type_code"],
        "slots": row["slots"],
        "organisation_id": row["organisation_id"],
        "via": via,
    }


def create_task(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    incident: Incident,
    draft: TaskDraft,
    now: datetime,
) -> CareTask:
    """Add one task to an open incident (TaskInvalid lists every problem). Audited."""
    require_may_create(scope, incident)
    organisation_id = scope.organisation_id
    context = context_for(session, incident=incident, organisation_id=organisation_id, now=now)
    result = check(draft, context)
    if isinstance(result, list):
        raise TaskInvalid(result)
    row = row_for(
        result,
        incident=incident,
        organisation_id=organisation_id,
        user_id=actor.user_id,
        import_id=None,
        now=now,
    )
    task = CareTask(**row)
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="task.created",
        object_kind=TASK_OBJECT,
        object_id=task.id,
        vr_code=task.vr_code,
        detail=created_detail(row, via="single"),
        now=now,
    )
    return task


def get_task(session: Session, *, scope: AccessScope, task_id: int) -> CareTask:
    """One task in the caller's scope (a care organisation: only its own), or NotFound."""
    task = repository.get(session, task_id)
    if task is None:
        raise NotFound(NOT_FOUND)
    scope.require_region(task.vr_code)
    scope.require_organisation(task.organisation_id)
    return task


def list_tasks(
    session: Session,
    *,
    scope: AccessScope,
    incident_id: int | None = None,
    created_by_user_id: int | None = None,
    states: Iterable[TaskState] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[CareTask]:
    """Tasks in the caller's scope (a care organisation: only its own), soonest first."""
    return repository.list_in_scope(
        session,
        scope,
        incident_id=incident_id,
        created_by_user_id=created_by_user_id,
        states=states,
        limit=limit,
        offset=offset,
    )


def counts(session: Session, *, scope: AccessScope, incident: Incident) -> dict[str, int]:
    """Tasks of an incident per state, within the scope."""
    assert incident.id is not None
    return repository.count_by_state(session, scope, incident_id=incident.id)


def may_see_address(scope: AccessScope) -> bool:
    """Whether the caller's role sees clients' exact addresses (scope checked separately)."""
    return scope.role in ADDRESS_ROLES


def record_address_view(
    session: Session, *, actor: Actor, scope: AccessScope, task: CareTask, now: datetime
) -> None:
    """Audit that staff saw a client's address (an organisation seeing its own is not logged)."""
    if scope.role is Role.CARE_ORGANISATION:
        return
    audit.record(
        session,
        actor=actor,
        action="task.address_viewed",
        object_kind=TASK_OBJECT,
        object_id=task.id,
        vr_code=task.vr_code,
        now=now,
    )


def cancel(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    task: CareTask,
    reason: str | None,
    now: datetime,
) -> CareTask:
    """Cancel a task (coordinators; a care organisation its own). Audited, callback queued."""
    scope.require_write()
    if scope.role not in CREATING_ROLES:
        raise Forbidden("Met dit account kun je geen taken annuleren.")
    scope.require_region(task.vr_code)
    scope.require_organisation(task.organisation_id)
    return transitions.transition(
        session, task, TaskState.CANCELLED, actor=actor, reason=reason, now=now
    )


def timeline(session: Session, task: CareTask) -> Sequence[AuditEvent]:
    """Every audited change of the task, oldest first."""
    assert task.id is not None
    return audit.events_for(session, object_kind=TASK_OBJECT, object_id=task.id)
