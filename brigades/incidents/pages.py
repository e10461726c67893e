"""Coordinators' incident pages (Dutch): list, open, detail with timeline and tasks, close."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

import geo
from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import Role, User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.errors import DomainError, InvalidInput
from brigades.incidents import levels, service
from brigades.incidents.area import MAX_GEOJSON_CHARS
from brigades.incidents.deps import (
    CsrfUploadForm,
    IncidentReader,
    IncidentRunner,
    ScopedIncident,
)
from brigades.incidents.models import (
    AREA_LABELS_NL,
    KIND_LABELS_NL,
    STATE_LABELS_NL,
    AreaKind,
    Incident,
    IncidentKind,
    IncidentState,
)
from brigades.settings import Settings
from brigades.tasks import repository as task_repository
from brigades.tasks import service as tasks
from brigades.tasks.models import (
    IMPORT_STATE_LABELS_NL,
    PRIORITY_LABELS_NL,
    TASK_STATE_LABELS_NL,
)

router = APIRouter(prefix="/beheer/incidenten", include_in_schema=False)

FLASHES = {
    "geopend": "Het incident is geopend.",
    "niveau": "Het niveau is aangepast; de inzetinstellingen zijn meegegaan.",
    "afschalen": "Het incident wordt afgeschaald: vrijwilligers worden afgemeld.",
    "gesloten": "Het incident is gesloten.",
    "taak": "De taak is aangemaakt.",
}
LABELS: dict[str, Any] = {
    "kind_labels": KIND_LABELS_NL,
    "state_labels": STATE_LABELS_NL,
    "area_labels": AREA_LABELS_NL,
    "level_labels": levels.LEVEL_LABELS_NL,
    "task_state_labels": TASK_STATE_LABELS_NL,
    "priority_labels": PRIORITY_LABELS_NL,
}


def gemeente_names(codes: list[str]) -> list[str]:
    """The names of gemeenten, for people."""
    data = geo.load_reference_data().gemeenten
    return [data[c].display_name or data[c].name for c in codes if c in data]


def _regions_in_scope(scope: AccessScope) -> list[tuple[str, str]]:
    regions = geo.load_reference_data().regions
    codes = sorted(regions) if scope.vr_codes is None else sorted(scope.vr_codes)
    return [(code, regions[code].name) for code in codes if code in regions]


def _gemeenten_by_region(regions: list[tuple[str, str]]) -> list[tuple[str, str, list[Any]]]:
    data = geo.load_reference_data().gemeenten
    grouped = []
    for code, name in regions:
        members = sorted(
            (g for g in data.values() if g.vr_code == code),
            key=lambda g: (g.display_name or g.name).casefold(),
        )
        grouped.append((code, name, members))
    return grouped


def _may_run(user: User, incident: Incident | None = None) -> bool:
    if user.role not in service.RUNNING_ROLES:
        return False
    return not (
        user.role is Role.DRILL_LEAD
        and incident is not None
        and incident.kind is not IncidentKind.DRILL
    )


@router.get("", response_class=HTMLResponse)
def incident_list(
    request: Request, session: SessionDep, user: IncidentReader, scope: CurrentScope
) -> Response:
    """The incidents of the user's regions, newest first."""
    found = service.list_incidents(session, scope=scope)
    return page(
        request,
        "incidents/list.html",
        {
            "current_user": user,
            "incidents": found,
            "may_open": _may_run(user),
            **LABELS,
        },
    )


def _new_form(
    request: Request,
    user: User,
    scope: AccessScope,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    regions = _regions_in_scope(scope)
    kinds = [IncidentKind.DRILL] if user.role is Role.DRILL_LEAD else list(IncidentKind)
    return page(
        request,
        "incidents/new.html",
        {
            "current_user": user,
            "regions": regions,
            "gemeenten_by_region": _gemeenten_by_region(regions),
            "kinds": kinds,
            "area_kinds": list(AreaKind),
            "values": values or {"kind": kinds[0].value, "level": "1", "area_kind": "gemeenten"},
            "errors": errors or {},
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/nieuw", response_class=HTMLResponse)
def new_incident_form(request: Request, user: IncidentRunner, scope: CurrentScope) -> Response:
    """Open an incident: kind, name, level, and the area (region, gemeenten or polygon)."""
    return _new_form(request, user, scope)


def _polygon_text(form: FormData) -> str:
    upload = form.get("polygon_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read(MAX_GEOJSON_CHARS + 1)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "Het GeoJSON-bestand is geen UTF-8-tekst.", field="polygon_geojson"
            ) from exc
    return field(form, "polygon_geojson", MAX_GEOJSON_CHARS + 1)


@router.post("/nieuw", response_class=HTMLResponse)
def open_incident(
    request: Request,
    form: CsrfUploadForm,
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
) -> Response:
    """Open the incident and go to its page."""
    gm_codes = [v for v in form.getlist("gm_codes") if isinstance(v, str)][:200]
    values: dict[str, Any] = {
        "kind": field(form, "kind", 20),
        "name": field(form, "name", 200),
        "level": field(form, "level", 2),
        "area_kind": field(form, "area_kind", 20),
        "vr_code": field(form, "vr_code", 4),
        "gm_codes": gm_codes,
        "polygon_geojson": field(form, "polygon_geojson", MAX_GEOJSON_CHARS + 1),
        "allow_overlap": field(form, "allow_overlap", 3) == "ja",
    }
    try:
        try:
            kind = IncidentKind(values["kind"])
        except ValueError as exc:
            raise InvalidInput("Kies code zwart of oefening.", field="kind") from exc
        try:
            area_kind = AreaKind(values["area_kind"])
        except ValueError as exc:
            raise InvalidInput("Kies het soort gebied.", field="area") from exc
        level = int(values["level"]) if values["level"].isdigit() else 0
        incident = service.open_incident(
            session,
            actor=actor_for(user),
            scope=scope,
            kind=kind,
            name=values["name"],
            level=level,
            vr_code=values["vr_code"] if area_kind is not AreaKind.GEMEENTEN else None,
            gm_codes=gm_codes if area_kind is AreaKind.GEMEENTEN else None,
            polygon_geojson=_polygon_text(form) if area_kind is AreaKind.POLYGON else None,
            allow_overlap=values["allow_overlap"],
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _new_form(
            request,
            user,
            scope,
            values=values,
            errors={
                exc.field or "": exc.message,
                **({"overlap": "1"} if exc.field == "area" else {}),
            },
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/incidenten/{incident.id}?klaar=geopend", status_code=303)


def detail_context(
    session: Session, settings: Settings, user: User, scope: AccessScope, incident: Incident
) -> dict[str, Any]:
    """What the incident page shows: area, level table, tasks, imports, timeline."""
    assert incident.id is not None
    codes = service.gemeenten(session, incident)
    return {
        "current_user": user,
        "incident": incident,
        "gemeenten": gemeente_names(codes),
        "region_name": geo.load_reference_data().regions[incident.vr_code].name,
        "dispatch": service.dispatch_settings(settings, incident),
        "level_table": levels.level_table(settings),
        "may_run": _may_run(user, incident) and not scope.read_only,
        "may_add_tasks": incident.state is IncidentState.OPEN
        and user.role in tasks.CREATING_ROLES
        and _may_run(user, incident),
        "counts": tasks.counts(session, scope=scope, incident=incident),
        "tasks": tasks.list_tasks(session, scope=scope, incident_id=incident.id, limit=200),
        "type_names": tasks.type_names(session),
        "imports": task_repository.imports_of_incident(session, scope, incident_id=incident.id),
        "import_state_labels": IMPORT_STATE_LABELS_NL,
        "timeline": service.timeline(session, incident),
        **LABELS,
    }


@router.get("/{incident_id}", response_class=HTMLResponse)
def incident_detail(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
    klaar: str | None = None,
) -> Response:
    """One incident: area, level and what it means, tasks, imports and the timeline."""
    context = detail_context(session, settings, user, scope, incident)
    context["flash"] = FLASHES.get(klaar or "")
    return page(request, "incidents/detail.html", context)


def _back(incident: Incident, flash: str) -> RedirectResponse:
    return RedirectResponse(f"/beheer/incidenten/{incident.id}?klaar={flash}", status_code=303)


def _with_error(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    incident: Incident,
    exc: DomainError,
) -> HTMLResponse:
    discard_unless_kept(session, exc)
    fresh = service.get_incident(session, scope=scope, incident_id=incident.id or 0)
    context = detail_context(session, settings, user, scope, fresh)
    context["errors"] = {exc.field or "": exc.message}
    return page(request, "incidents/detail.html", context, status_code=exc.status_code)


@router.post("/{incident_id}/niveau", response_class=HTMLResponse)
def scale(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Scale the incident up or down."""
    level = field(form, "level", 2)
    try:
        service.scale(
            session,
            actor=actor_for(user),
            scope=scope,
            incident=incident,
            level=int(level) if level.isdigit() else 0,
            now=clock.now(),
        )
    except DomainError as exc:
        return _with_error(request, session, settings, user, scope, incident, exc)
    return _back(incident, "niveau")


@router.post("/{incident_id}/afschalen", response_class=HTMLResponse)
def stand_down(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Start closing: volunteers are stood down."""
    try:
        service.start_closing(
            session,
            actor=actor_for(user),
            scope=scope,
            incident=incident,
            reason=field(form, "reason", 600),
            now=clock.now(),
            settings=settings,
        )
    except DomainError as exc:
        return _with_error(request, session, settings, user, scope, incident, exc)
    return _back(incident, "afschalen")


@router.post("/{incident_id}/sluiten", response_class=HTMLResponse)
def close(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Close an incident that has been stood down."""
    try:
        service.close(
            session, actor=actor_for(user), scope=scope, incident=incident, now=clock.now()
        )
    except DomainError as exc:
        return _with_error(request, session, settings, user, scope, incident, exc)
    return _back(incident, "gesloten")
