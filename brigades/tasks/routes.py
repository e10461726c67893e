"""The care-task API: catalogue, creating tasks (one, or in bulk from CSV), reading, cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile, status
from sqlmodel import Session

from brigades import clock
from brigades.accounts.deps import CurrentScope, CurrentUser
from brigades.accounts.models import User
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.incidents.deps import ScopedIncident
from brigades.tasks import imports, service
from brigades.tasks.deps import ImportId, ImportSessions, ScopedTask, TaskCreator
from brigades.tasks.models import CareTask, ImportMode, TaskImport, TaskState
from brigades.tasks.schemas import (
    AddressPublic,
    ImportProblem,
    ImportPublic,
    TaskCancel,
    TaskCreate,
    TaskPublic,
    TaskTypePublic,
)
from brigades.tasks.validation import TaskDraft
from brigades.volunteers.schemas import MAX_ID, error_responses

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def task_public(task: CareTask, *, with_address: bool = False) -> TaskPublic:
    """A task as the API shows it (the address only when asked for and allowed)."""
    assert task.id is not None
    address = (
        AddressPublic(
            postcode=task.postcode,
            house_number=task.house_number,
            street=task.street,
            city=task.city,
            contact_instructions=task.contact_instructions,
        )
        if with_address
        else None
    )
    return TaskPublic(
        id=task.id,
        incident_id=task.incident_id,
        type_code=task.type_code,
        state=task.state,
        priority=task.priority,
        pc4=task.pc4,
        gm_code=task.gm_code,
        vr_code=task.vr_code,
        window_start=task.window_start,
        window_end=task.window_end,
        duration_minutes=task.duration_minutes,
        slots=task.slots,
        description=task.description,
        organisation_id=task.organisation_id,
        external_reference=task.external_reference,
        unfillable_reason=task.unfillable_reason,
        location_note=task.location_note,
        created_at=task.created_at,
        updated_at=task.updated_at,
        address=address,
    )


def import_public(record: TaskImport) -> ImportPublic:
    """An import with its progress and report."""
    assert record.id is not None
    return ImportPublic(
        id=record.id,
        incident_id=record.incident_id,
        filename=record.filename,
        mode=record.mode,
        state=record.state,
        progress_percent=imports.progress_percent(record),
        total_rows=record.total_rows,
        processed_rows=record.processed_rows,
        imported_rows=record.imported_rows,
        error_rows=record.error_rows,
        message=record.message,
        errors=[ImportProblem.model_validate(e) for e in record.errors],
        created_at=record.created_at,
        finished_at=record.finished_at,
        status_url=f"/api/v1/imports/{record.id}",
    )


def draft_of(data: TaskCreate) -> TaskDraft:
    """The service's view of an API request."""
    return TaskDraft(
        type_code=data.type_code,
        postcode=data.postcode,
        house_number=data.house_number,
        street=data.street,
        city=data.city,
        window_start=data.window_start,
        window_end=data.window_end,
        duration_minutes=data.duration_minutes,
        slots=data.slots,
        priority=data.priority,
        description=data.description,
        contact_instructions=data.contact_instructions,
        external_reference=data.external_reference,
    )


@router.get(
    "/task-types",
    summary="The task-type catalogue",
    response_model=list[TaskTypePublic],
    responses=error_responses(401),
)
def task_types(session: SessionDep, user: CurrentUser) -> list[TaskTypePublic]:
    """Every task type with the minimum vetting level and the skills it needs."""
    return [
        TaskTypePublic(
            code=t.code,
            name_nl=t.name_nl,
            description_nl=t.description_nl,
            min_vetting_level=t.min_vetting_level,
            default_duration_minutes=t.default_duration_minutes,
            skills=list(t.skills),
        )
        for t in service.catalogue(session)
    ]


@router.post(
    "/incidents/{incident_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    summary="Create a task",
    response_model=TaskPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def create_task(
    session: SessionDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
    data: TaskCreate,
) -> TaskPublic:
    """Add a task to an open incident of your region. Care organisations (API key) create
    tasks as their organisation. 422 lists every problem in `errors`."""
    task = service.create_task(
        session,
        actor=actor_for(user),
        scope=scope,
        incident=incident,
        draft=draft_of(data),
        now=clock.now(),
    )
    return task_public(task, with_address=True)


@router.get(
    "/incidents/{incident_id}/tasks",
    summary="Tasks of an incident",
    response_model=list[TaskPublic],
    responses=error_responses(401, 403, 404),
)
def incident_tasks(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    incident: ScopedIncident,
    state: TaskState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[TaskPublic]:
    """Tasks of the incident, soonest first (a care organisation: only its own)."""
    found = service.list_tasks(
        session,
        scope=scope,
        incident_id=incident.id,
        states=[state] if state else None,
        limit=limit,
        offset=offset,
    )
    return [task_public(t) for t in found]


@router.post(
    "/incidents/{incident_id}/tasks/import",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Import tasks from CSV",
    response_model=ImportPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def import_tasks(
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
    sessions: ImportSessions,
    file: Annotated[UploadFile, File(description="UTF-8 CSV, see docs/task-import.md")],
    mode: Annotated[ImportMode, Form()] = ImportMode.ALL_OR_NOTHING,
) -> ImportPublic:
    """Queue a CSV import (at most 10 MB and 50,000 rows). A file that cannot be read is
    refused at once (422, 413); otherwise poll `status_url` until the import is `done` or
    `failed`. `all_or_nothing` writes nothing if any row is wrong; `valid_rows` writes the
    valid rows and reports the others."""
    data = file.file.read(settings.task_import_max_bytes + 1)
    actor = actor_for(user)
    prepared = imports.start_import(
        session,
        actor=actor,
        scope=scope,
        incident=incident,
        filename=file.filename or "",
        data=data,
        mode=mode,
        settings=settings,
        now=clock.now(),
    )
    assert prepared.record.id is not None
    background.add_task(
        imports.run_import, sessions, import_id=prepared.record.id, rows=prepared.rows, actor=actor
    )
    return import_public(prepared.record)


@router.get(
    "/imports/{import_id}",
    summary="Progress and report of an import",
    response_model=ImportPublic,
    responses=error_responses(401, 403, 404),
)
def get_import(
    session: SessionDep, user: CurrentUser, scope: CurrentScope, import_id: ImportId
) -> ImportPublic:
    """How far the import is, and every problem found (row, column, message)."""
    record = imports.get_import(session, scope=scope, import_id=import_id, now=clock.now())
    return import_public(record)


@router.get(
    "/tasks",
    summary="List tasks",
    response_model=list[TaskPublic],
    responses=error_responses(401, 403),
)
def list_tasks(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    mine: bool = False,
    incident_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    state: TaskState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[TaskPublic]:
    """Tasks you may see, soonest first. A care organisation sees only its own tasks; `mine`
    narrows anyone else's list to the tasks they created."""
    found = service.list_tasks(
        session,
        scope=scope,
        incident_id=incident_id,
        created_by_user_id=user.id if mine and scope.organisation_id is None else None,
        states=[state] if state else None,
        limit=limit,
        offset=offset,
    )
    return [task_public(t) for t in found]


def _with_address(session: Session, user: User, scope: AccessScope, task: CareTask) -> bool:
    if not service.may_see_address(scope):
        return False
    service.record_address_view(
        session, actor=actor_for(user), scope=scope, task=task, now=clock.now()
    )
    return True


@router.get(
    "/tasks/{task_id}",
    summary="One task",
    response_model=TaskPublic,
    responses=error_responses(401, 403, 404),
)
def get_task(
    session: SessionDep, user: CurrentUser, scope: CurrentScope, task: ScopedTask
) -> TaskPublic:
    """A task with its state; coordinators and the requesting organisation also get the
    address (a coordinator's view is audited)."""
    return task_public(task, with_address=_with_address(session, user, scope, task))


@router.post(
    "/tasks/{task_id}/cancel",
    summary="Cancel a task",
    response_model=TaskPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def cancel_task(
    session: SessionDep, user: TaskCreator, scope: CurrentScope, task: ScopedTask, data: TaskCancel
) -> TaskPublic:
    """Cancel a task that is not finished; the requesting organisation is told by callback."""
    cancelled = service.cancel(
        session, actor=actor_for(user), scope=scope, task=task, reason=data.reason, now=clock.now()
    )
    return task_public(cancelled)
