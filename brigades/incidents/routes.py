"""The incidents API: open, list, read, scale, stand down and close."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import Session

from brigades import clock
from brigades.accounts.deps import CurrentScope, CurrentUser
from brigades.accounts.models import Role
from brigades.accounts.service import actor_for
from brigades.audit.schemas import AuditEventPublic
from brigades.deps import SessionDep, SettingsDep
from brigades.incidents import service
from brigades.incidents.deps import IncidentReader, IncidentRunner, ScopedIncident
from brigades.incidents.models import Incident, IncidentState
from brigades.incidents.schemas import (
    DispatchSettingsPublic,
    IncidentCreate,
    IncidentPublic,
    IncidentTimeline,
    LevelChange,
    StandDown,
)
from brigades.settings import Settings
from brigades.volunteers.schemas import error_responses

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


def incident_public(session: Session, settings: Settings, incident: Incident) -> IncidentPublic:
    """An incident as the API shows it."""
    assert incident.id is not None
    dispatch = service.dispatch_settings(settings, incident)
    return IncidentPublic(
        id=incident.id,
        code=incident.code,
        kind=incident.kind,
        state=incident.state,
        name=incident.name,
        level=incident.level,
        area_kind=incident.area_kind,
        vr_code=incident.vr_code,
        gm_codes=service.gemeenten(session, incident),
        area_geojson=incident.area_geojson,
        opened_at=incident.opened_at,
        closing_at=incident.closing_at,
        close_reason=incident.close_reason,
        closed_at=incident.closed_at,
        dispatch=DispatchSettingsPublic(
            level=dispatch.level,
            search_radius_km=dispatch.search_radius_km,
            offer_expiry_minutes=dispatch.offer_expiry_minutes,
            offers_per_volunteer_per_day=dispatch.offers_per_volunteer_per_day,
            wave_factor=dispatch.wave_factor,
        ),
    )


@router.get(
    "",
    summary="List incidents",
    response_model=list[IncidentPublic],
    responses=error_responses(401, 403),
)
def list_incidents(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    scope: CurrentScope,
    state: IncidentState | None = None,
) -> list[IncidentPublic]:
    """Incidents of the caller's regions, newest first. Care organisations see only open ones
    (the incidents they can submit tasks into)."""
    states = [state] if state is not None else None
    if user.role is Role.CARE_ORGANISATION:
        states = [IncidentState.OPEN]
    found = service.list_incidents(session, scope=scope, states=states)
    return [incident_public(session, settings, i) for i in found]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open an incident",
    response_model=IncidentPublic,
    responses=error_responses(401, 403, 409, 413, 422),
)
def open_incident(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    data: IncidentCreate,
) -> IncidentPublic:
    """Open a code-zwart incident or drill for a region, gemeenten or a polygon (audited).
    409 when an active code-zwart incident already covers part of the area."""
    incident = service.open_incident(
        session,
        actor=actor_for(user),
        scope=scope,
        kind=data.kind,
        name=data.name,
        level=data.level,
        vr_code=data.vr_code,
        gm_codes=data.gm_codes,
        polygon_geojson=data.polygon_geojson,
        allow_overlap=data.allow_overlap,
        now=clock.now(),
    )
    return incident_public(session, settings, incident)


@router.get(
    "/{incident_id}",
    summary="One incident",
    response_model=IncidentPublic,
    responses=error_responses(401, 403, 404),
)
def get_incident(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentReader,
    incident: ScopedIncident,
) -> IncidentPublic:
    """An incident of one of the caller's regions."""
    return incident_public(session, settings, incident)


@router.get(
    "/{incident_id}/timeline",
    summary="An incident's timeline",
    response_model=IncidentTimeline,
    responses=error_responses(401, 403, 404),
)
def timeline(
    session: SessionDep, user: IncidentReader, incident: ScopedIncident
) -> IncidentTimeline:
    """Every audited change (opened, scaled, standing down, closed), oldest first."""
    assert incident.id is not None
    return IncidentTimeline(
        incident_id=incident.id,
        events=[
            AuditEventPublic.model_validate(e, from_attributes=True)
            for e in service.timeline(session, incident)
        ],
    )


@router.post(
    "/{incident_id}/level",
    summary="Scale an incident up or down",
    response_model=IncidentPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def scale(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    data: LevelChange,
) -> IncidentPublic:
    """Set the level of an open incident; the dispatch settings follow (audited)."""
    incident = service.scale(
        session,
        actor=actor_for(user),
        scope=scope,
        incident=incident,
        level=data.level,
        now=clock.now(),
    )
    return incident_public(session, settings, incident)


@router.post(
    "/{incident_id}/stand-down",
    summary="Start closing an incident",
    response_model=IncidentPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def stand_down(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    data: StandDown,
) -> IncidentPublic:
    """The incident goes to `closing`: volunteers with a live assignment or pending offer are
    stood down (audited)."""
    incident = service.start_closing(
        session,
        actor=actor_for(user),
        scope=scope,
        incident=incident,
        reason=data.reason,
        now=clock.now(),
        settings=settings,
    )
    return incident_public(session, settings, incident)


@router.post(
    "/{incident_id}/close",
    summary="Close an incident",
    response_model=IncidentPublic,
    responses=error_responses(401, 403, 404, 409),
)
def close(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> IncidentPublic:
    """Close an incident that is standing down (audited)."""
    incident = service.close(
        session,
        actor=actor_for(user),
        scope=scope,
        incident=incident,
        now=clock.now(),
    )
    return incident_public(session, settings, incident)
