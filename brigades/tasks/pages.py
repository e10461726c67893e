"""Task pages (Dutch): create a task, import a CSV with progress, list and read tasks, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope, CurrentUser
from brigades.accounts.models import User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError
from brigades.incidents import service as incidents
from brigades.incidents.deps import CsrfUploadForm, ScopedIncident
from brigades.incidents.models import Incident, IncidentState
from brigades.settings import project_root
from brigades.tasks import imports, service
from brigades.tasks.csvfile import CsvRefused
from brigades.tasks.deps import ImportId, ImportSessions, ScopedTask, TaskCreator
from brigades.tasks.models import (
    IMPORT_STATE_LABELS_NL,
    PRIORITY_LABELS_NL,
    TASK_STATE_LABELS_NL,
    CareTask,
    ImportMode,
    TaskPriority,
)
from brigades.tasks.service import TaskInvalid
from brigades.tasks.validation import DESCRIPTION_HELP_NL, TaskDraft, local_window

router = APIRouter(prefix="/beheer", include_in_schema=False)

TEMPLATE_CSV = project_root() / "docs" / "taken-sjabloon.csv"
FLASHES = {
    "aangemaakt": "De taak is aangemaakt.",
    "geannuleerd": "De taak is geannuleerd.",
    # After a coordinator's re-offer (brigades.dispatch.pages).
    "opnieuw": "De taak wordt opnieuw aangeboden.",
    "straal": "De zoekstraal is vergroot; de taak wordt opnieuw aangeboden.",
}
# Where a service field's problem is shown on the form.
FORM_FIELDS = {"window_start": "start", "window_end": "end"}
LABELS: dict[str, Any] = {
    "priority_labels": PRIORITY_LABELS_NL,
    "task_state_labels": TASK_STATE_LABELS_NL,
    "import_state_labels": IMPORT_STATE_LABELS_NL,
}


def _form_context(session: Session, user: User, incident: Incident, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "current_user": user,
        "incident": incident,
        "types": service.catalogue(session),
        "priorities": list(TaskPriority),
        "description_help": DESCRIPTION_HELP_NL,
        "values": {"slots": "1", "priority": "normal", "duration_minutes": "60"},
        "errors": {},
        **LABELS,
    }
    context.update(extra)
    return context


@router.get("/incidenten/{incident_id}/taken/nieuw", response_class=HTMLResponse)
def new_task_form(
    request: Request,
    session: SessionDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """The form for one task."""
    service.require_may_create(scope, incident)
    return page(request, "tasks/new.html", _form_context(session, user, incident))


def _draft(form: FormData) -> tuple[dict[str, str], TaskDraft | dict[str, str]]:
    names = (
        "type_code",
        "postcode",
        "house_number",
        "street",
        "city",
        "date",
        "start",
        "end",
        "duration_minutes",
        "slots",
        "priority",
        "description",
        "contact_instructions",
        "external_reference",
    )
    values = {name: field(form, name, 1000).strip() for name in names}
    errors: dict[str, str] = {}
    window = local_window(values["date"], values["start"], values["end"])
    if isinstance(window, list):
        errors.update({e.field: e.message for e in window})
    numbers = {}
    for name in ("duration_minutes", "slots"):
        text = values[name]
        if not text.isdigit() or len(text) > 5:
            errors[name] = "Vul een heel getal in."
        numbers[name] = int(text) if text.isdigit() and len(text) <= 5 else 0
    try:
        priority = TaskPriority(values["priority"] or "normal")
    except ValueError:
        errors["priority"] = "Kies een prioriteit."
        priority = TaskPriority.NORMAL
    if errors or isinstance(window, list):
        return values, errors
    return values, TaskDraft(
        type_code=values["type_code"],
        postcode=values["postcode"],
        house_number=values["house_number"],
        street=values["street"] or None,
        city=values["city"] or None,
        window_start=window[0],
        window_end=window[1],
        duration_minutes=numbers["duration_minutes"],
        slots=numbers["slots"],
        priority=priority,
        description=values["description"],
        contact_instructions=values["contact_instructions"] or None,
        external_reference=values["external_reference"] or None,
    )


@router.post("/incidenten/{incident_id}/taken/nieuw", response_class=HTMLResponse)
def create_task(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Create the task and show it."""
    values, draft = _draft(form)
    errors: dict[str, str] = draft if isinstance(draft, dict) else {}
    if not errors and isinstance(draft, TaskDraft):
        try:
            task = service.create_task(
                session,
                actor=actor_for(user),
                scope=scope,
                incident=incident,
                draft=draft,
                now=clock.now(),
            )
            return RedirectResponse(f"/beheer/taken/{task.id}?klaar=aangemaakt", status_code=303)
        except TaskInvalid as exc:
            discard_unless_kept(session, exc)
            for problem in exc.errors:
                errors.setdefault(FORM_FIELDS.get(problem.field, problem.field), problem.message)
        except DomainError as exc:
            discard_unless_kept(session, exc)
            errors[exc.field or ""] = exc.message
    return page(
        request,
        "tasks/new.html",
        _form_context(session, user, incident, values=values, errors=errors),
        status_code=422,
    )


@router.get("/incidenten/{incident_id}/taken/importeren", response_class=HTMLResponse)
def import_form(
    request: Request,
    settings: SettingsDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Upload a CSV of tasks."""
    service.require_may_create(scope, incident)
    return page(
        request,
        "tasks/import.html",
        {
            "current_user": user,
            "incident": incident,
            "max_mb": settings.task_import_max_bytes // (1024 * 1024),
            "max_rows": settings.task_import_max_rows,
        },
    )


@router.post("/incidenten/{incident_id}/taken/importeren", response_class=HTMLResponse)
def start_import(
    request: Request,
    background: BackgroundTasks,
    form: CsrfUploadForm,
    session: SessionDep,
    settings: SettingsDep,
    user: TaskCreator,
    scope: CurrentScope,
    incident: ScopedIncident,
    sessions: ImportSessions,
) -> Response:
    """Check the file and start the import; its progress page follows."""
    upload = form.get("file")
    mode = ImportMode.VALID_ROWS if field(form, "mode", 20) == "valid_rows" else None
    actor = actor_for(user)
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise CsvRefused("Kies een CSV-bestand.", field="file")
        prepared = imports.start_import(
            session,
            actor=actor,
            scope=scope,
            incident=incident,
            filename=upload.filename,
            data=upload.file.read(settings.task_import_max_bytes + 1),
            mode=mode or ImportMode.ALL_OR_NOTHING,
            settings=settings,
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return page(
            request,
            "tasks/import.html",
            {
                "current_user": user,
                "incident": incident,
                "max_mb": settings.task_import_max_bytes // (1024 * 1024),
                "max_rows": settings.task_import_max_rows,
                "errors": {exc.field or "": exc.message},
            },
            status_code=exc.status_code,
        )
    assert prepared.record.id is not None
    background.add_task(
        imports.run_import, sessions, import_id=prepared.record.id, rows=prepared.rows, actor=actor
    )
    return RedirectResponse(f"/beheer/importen/{prepared.record.id}", status_code=303)


@router.get("/importen/{import_id}", response_class=HTMLResponse)
def import_status(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    import_id: ImportId,
) -> Response:
    """Progress of an import (the page refreshes itself until it is finished), then the report."""
    record = imports.get_import(session, scope=scope, import_id=import_id, now=clock.now())
    incident = incidents.get_incident(session, scope=scope, incident_id=record.incident_id)
    return page(
        request,
        "tasks/import_status.html",
        {
            "current_user": user,
            "record": record,
            "incident": incident,
            "running": record.state not in imports.FINAL_STATES,
            "percent": imports.progress_percent(record),
            **LABELS,
        },
    )


@router.get("/taken/sjabloon.csv")
def template_csv(user: CurrentUser) -> Response:
    """The CSV template (docs/taken-sjabloon.csv)."""
    return FileResponse(TEMPLATE_CSV, media_type="text/csv", filename="taken-sjabloon.csv")


@router.get("/taken", response_class=HTMLResponse)
def task_list(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    incident: int | None = None,
) -> Response:
    """Tasks in reach (a care organisation: its own), and where new ones can go."""
    open_incidents = (
        incidents.list_incidents(session, scope=scope, states=[IncidentState.OPEN])
        if user.role in service.CREATING_ROLES and not scope.read_only
        else []
    )
    return page(
        request,
        "tasks/list.html",
        {
            "current_user": user,
            "tasks": service.list_tasks(session, scope=scope, incident_id=incident, limit=500),
            "type_names": service.type_names(session),
            "open_incidents": open_incidents,
            **LABELS,
        },
    )


def _detail(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    task: CareTask,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    show_address = service.may_see_address(scope)
    if show_address:
        service.record_address_view(
            session, actor=actor_for(user), scope=scope, task=task, now=clock.now()
        )
    return page(
        request,
        "tasks/detail.html",
        {
            "current_user": user,
            "task": task,
            "type_name": service.type_names(session).get(task.type_code, task.type_code),
            "show_address": show_address,
            "may_cancel": user.role in service.CREATING_ROLES
            and not scope.read_only
            and task.state.value not in ("done", "cancelled", "expired"),
            "timeline": service.timeline(session, task),
            "flash": flash,
            "errors": errors or {},
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/taken/{task_id}", response_class=HTMLResponse)
def task_detail(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    task: ScopedTask,
    klaar: str | None = None,
) -> Response:
    """One task: what, where (coordinators and the requesting organisation), when, its course."""
    return _detail(request, session, user, scope, task, flash=FLASHES.get(klaar or ""))


@router.post("/taken/{task_id}/annuleren", response_class=HTMLResponse)
def cancel_task(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: TaskCreator,
    scope: CurrentScope,
    task: ScopedTask,
) -> Response:
    """Cancel the task."""
    try:
        service.cancel(
            session,
            actor=actor_for(user),
            scope=scope,
            task=task,
            reason=field(form, "reason", 200),
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        fresh = service.get_task(session, scope=scope, task_id=task.id or 0)
        return _detail(
            request,
            session,
            user,
            scope,
            fresh,
            errors={"": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/taken/{task.id}?klaar=geannuleerd", status_code=303)
