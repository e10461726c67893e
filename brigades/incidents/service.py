"""The incident lifecycle: open for an area, scale, stand down, close. Everything is audited.

Usage (a route, the CLI or the drill runner)::

    incident = service.open_incident(session, actor=actor, scope=scope,
                                     kind=IncidentKind.CODE_ZWART, name="Griepgolf",
                                     gm_codes=["GM0344"], level=2, now=clock.now())
    service.scale(session, actor=actor, scope=scope, incident=incident, level=3, now=...)
    service.start_closing(session, actor=actor, scope=scope, incident=incident,
                          reason="Piek voorbij", now=...)   # calls the on_closing hooks
    service.close(session, actor=actor, scope=scope, incident=incident, now=...)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import object_session
from sqlmodel import Session

import geo
from brigades import clock
from brigades.accounts.models import Role
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.models import AuditEvent
from brigades.audit.service import Actor
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents import area as area_module
from brigades.incidents import levels, repository
from brigades.incidents.area import AreaSpec
from brigades.incidents.models import (
    MAX_LEVEL,
    MIN_LEVEL,
    OBJECT_KIND,
    AreaKind,
    Incident,
    IncidentGemeente,
    IncidentKind,
    IncidentState,
)
from brigades.incidents.states import INCIDENT_STATES, InvalidTransition
from brigades.settings import Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_GEMEENTEN = 100
# hook(session, incident, now, settings), in the closing transaction.
ClosingHook = Callable[[Session, Incident, datetime, Settings], None]
_closing_hooks: list[ClosingHook] = []
# hook(session, incident, now), in the opening transaction.
OpeningHook = Callable[[Session, Incident, datetime], None]
_opening_hooks: list[OpeningHook] = []

# Roles that may open, scale and close incidents; drill leads only drills.
RUNNING_ROLES = frozenset({Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.DRILL_LEAD})


def register_on_closing(hook: ClosingHook) -> ClosingHook:
    """Register a function called (in the same transaction) when an incident starts closing.

    The dispatcher registers the stand-down of volunteers here: a message to every volunteer
    with a live assignment or pending offer. Registered once at import time; returns the hook
    so it can be used as a decorator.
    """
    if hook not in _closing_hooks:
        _closing_hooks.append(hook)
    return hook


def register_on_opening(hook: OpeningHook) -> OpeningHook:
    """Register a function called (in the same transaction) when an incident opens.

    Peacetime readiness calls off its running re-confirmation rounds in the region here, so a
    bare JA to a code-zwart offer is never taken for ambiguous. Registered once at import time.
    """
    if hook not in _opening_hooks:
        _opening_hooks.append(hook)
    return hook


def unregister_on_closing(hook: ClosingHook) -> None:
    """Remove a hook registered with :func:`register_on_closing` (tests)."""
    if hook in _closing_hooks:
        _closing_hooks.remove(hook)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("Geef het incident een naam.", field="name")
    if len(cleaned) > 120 or _CONTROL.search(cleaned):
        raise InvalidInput("De naam is te lang of bevat vreemde tekens.", field="name")
    return cleaned


def _check_level(level: int) -> int:
    if not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
        raise InvalidInput(f"Kies een niveau van {MIN_LEVEL} tot {MAX_LEVEL}.", field="level")
    return level


def require_may_run(scope: AccessScope, incident_kind: IncidentKind) -> None:
    """Raise Forbidden unless the scope's role may open or change an incident of this kind."""
    scope.require_write()
    if scope.role not in RUNNING_ROLES:
        raise Forbidden("Alleen regionale coördinatoren openen en sluiten incidenten.")
    if scope.role is Role.DRILL_LEAD and incident_kind is not IncidentKind.DRILL:
        raise Forbidden("Een oefenleider kan alleen oefeningen openen en sluiten.")


def _region_of_area(
    scope: AccessScope,
    vr_code: str | None,
    gm_codes: Iterable[str] | None,
    polygon_geojson: str | None,
) -> tuple[AreaKind, str, frozenset[str], str | None]:
    """The area kind, owning region, gemeenten and stored polygon of the requested area."""
    data = geo.load_reference_data()
    given = [gm_codes is not None, polygon_geojson is not None]
    if sum(given) > 1:
        raise InvalidInput("Kies één soort gebied: regio, gemeenten of polygoon.", field="area")
    region = vr_code.strip().upper() if vr_code else None
    if region is not None and region not in data.regions:
        raise InvalidInput("Onbekende Veiligheidsregio.", field="vr_code")
    if gm_codes is not None:
        codes = frozenset(code.strip().upper() for code in gm_codes if code.strip())
        if not codes:
            raise InvalidInput("Kies minstens één gemeente.", field="gm_codes")
        if len(codes) > MAX_GEMEENTEN:
            raise InvalidInput("Te veel gemeenten gekozen.", field="gm_codes")
        unknown = sorted(code for code in codes if code not in data.gemeenten)
        if unknown:
            raise InvalidInput(f"Onbekende gemeente: {', '.join(unknown)}.", field="gm_codes")
        regions = {data.gemeenten[code].vr_code for code in codes}
        if region is None and len(regions) == 1:
            region = regions.pop()
        elif region is None or regions != {region}:
            outside = sorted(
                data.gemeenten[c].name for c in codes if data.gemeenten[c].vr_code != region
            )
            raise InvalidInput(
                "Alle gemeenten moeten in dezelfde Veiligheidsregio liggen"
                + (f"; niet in deze regio: {', '.join(outside)}." if region else "."),
                field="gm_codes",
            )
        _require_region_in_scope(scope, region)
        return AreaKind.GEMEENTEN, region, codes, None
    if region is None:
        raise InvalidInput("Kies de Veiligheidsregio.", field="vr_code")
    _require_region_in_scope(scope, region)
    if polygon_geojson is not None:
        geometry = area_module.polygon_for_region(polygon_geojson, region)
        return AreaKind.POLYGON, region, frozenset(), area_module.to_geojson(geometry)
    return AreaKind.VR, region, frozenset(), None


def _require_region_in_scope(scope: AccessScope, vr_code: str) -> None:
    if not scope.covers_region(vr_code):
        raise Forbidden("Je kunt alleen incidenten openen in je eigen regio.", field="vr_code")


def open_incident(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    kind: IncidentKind,
    name: str,
    level: int = MIN_LEVEL,
    vr_code: str | None = None,
    gm_codes: Iterable[str] | None = None,
    polygon_geojson: str | None = None,
    allow_overlap: bool = False,
    now: datetime,
) -> Incident:
    """Open an incident for a whole region, a set of gemeenten or a polygon. Audited.

    Only one active (open or closing) code-zwart incident may cover any piece of ground unless
    ``allow_overlap``; drills may overlap anything.
    """
    require_may_run(scope, kind)
    cleaned = _clean_name(name)
    _check_level(level)
    area_kind, region, codes, geojson = _region_of_area(scope, vr_code, gm_codes, polygon_geojson)
    spec = _spec(area_kind, region, codes, geojson)
    repository.lock_region(session, region)
    overlapping = _overlapping(session, spec) if kind is IncidentKind.CODE_ZWART else []
    if overlapping and not allow_overlap:
        listed = ", ".join(f"{i.code} ({i.name})" for i in overlapping)
        raise Conflict(
            f"Er loopt al een code-zwart-incident in (een deel van) dit gebied: {listed}. Sluit "
            "dat eerst, of kies uitdrukkelijk voor overlappende incidenten.",
            field="area",
        )
    year = clock.local(now).year
    sequence = repository.next_sequence(session, vr_code=region, year=year)
    incident = Incident(
        code=f"{region}-{year}-{sequence:03d}",
        year=year,
        sequence=sequence,
        kind=kind,
        state=IncidentState.OPEN,
        name=cleaned,
        level=level,
        area_kind=area_kind,
        vr_code=region,
        area_geojson=geojson,
        opened_by_user_id=actor.user_id,
        opened_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    session.add_all(IncidentGemeente(incident_id=incident.id, gm_code=c) for c in sorted(codes))
    audit.record(
        session,
        actor=actor,
        action="incident.opened",
        object_kind=OBJECT_KIND,
        object_id=incident.id,
        vr_code=region,
        detail={
            "code": incident.code,
            "kind": kind.value,
            "level": level,
            "area_kind": area_kind.value,
            "gm_codes": sorted(codes),
            "overlaps": [i.code for i in overlapping],
        },
        now=now,
    )
    for hook in list(_opening_hooks):
        hook(session, incident, now)
    return incident


def _overlapping(session: Session, spec: AreaSpec) -> list[Incident]:
    active = repository.active_in_region(
        session, vr_code=spec.vr_code, kind=IncidentKind.CODE_ZWART
    )
    gemeenten = repository.gemeenten_by_incident(session, (i.id for i in active if i.id))
    return [
        incident
        for incident in active
        if area_module.overlaps(spec, _spec_of(incident, gemeenten.get(incident.id or 0, [])))
    ]


def get_incident(session: Session, *, scope: AccessScope, incident_id: int) -> Incident:
    """One incident in the caller's scope, or NotFound."""
    incident = repository.get(session, incident_id)
    if incident is None:
        raise NotFound(NOT_FOUND)
    scope.require_region(incident.vr_code)
    return incident


def list_incidents(
    session: Session,
    *,
    scope: AccessScope,
    states: Iterable[IncidentState] | None = None,
) -> Sequence[Incident]:
    """Incidents in the caller's scope, newest first."""
    return repository.list_in_scope(session, scope, states=states)


def _locked(session: Session, incident: Incident) -> Incident:
    assert incident.id is not None
    locked = repository.get_for_update(session, incident.id)
    if locked is None:
        raise NotFound(NOT_FOUND)
    return locked


def scale(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    incident: Incident,
    level: int,
    now: datetime,
) -> Incident:
    """Change an open incident's level (and with it the dispatch settings). Audited."""
    scope.require_region(incident.vr_code)
    require_may_run(scope, incident.kind)
    _check_level(level)
    incident = _locked(session, incident)
    if incident.state is not IncidentState.OPEN:
        raise InvalidTransition("Alleen een open incident kan op- of afschalen.")
    if level == incident.level:
        return incident
    previous = incident.level
    incident.level = level
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session,
        actor=actor,
        action="incident.scaled",
        object_kind=OBJECT_KIND,
        object_id=incident.id,
        vr_code=incident.vr_code,
        detail={"from": previous, "to": level},
        now=now,
    )
    return incident


def start_closing(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    incident: Incident,
    reason: str,
    now: datetime,
    settings: Settings,
) -> Incident:
    """Stand down: the incident goes to *closing* and the on_closing hooks run. Audited."""
    scope.require_region(incident.vr_code)
    require_may_run(scope, incident.kind)
    cleaned = " ".join(reason.split())
    if len(cleaned) < 3:
        raise InvalidInput("Geef een reden voor het afschalen.", field="reason")
    if len(cleaned) > 500 or _CONTROL.search(cleaned):
        raise InvalidInput("De reden is te lang (hoogstens 500 tekens).", field="reason")
    incident = _locked(session, incident)
    INCIDENT_STATES.check(incident.state, IncidentState.CLOSING)
    incident.state = IncidentState.CLOSING
    incident.closing_at = now
    incident.closing_by_user_id = actor.user_id
    incident.close_reason = cleaned
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session,
        actor=actor,
        action="incident.closing",
        object_kind=OBJECT_KIND,
        object_id=incident.id,
        vr_code=incident.vr_code,
        # The reason is the coordinator's free text: it stays on the incident, not in the log.
        detail={"from": IncidentState.OPEN.value, "to": IncidentState.CLOSING.value},
        now=now,
    )
    session.flush()
    for hook in list(_closing_hooks):
        hook(session, incident, now, settings)
    return incident


def close(
    session: Session,
    *,
    actor: Actor,
    scope: AccessScope,
    incident: Incident,
    now: datetime,
) -> Incident:
    """Close an incident that has been stood down. Audited."""
    scope.require_region(incident.vr_code)
    require_may_run(scope, incident.kind)
    incident = _locked(session, incident)
    INCIDENT_STATES.check(incident.state, IncidentState.CLOSED)
    incident.state = IncidentState.CLOSED
    incident.closed_at = now
    incident.closed_by_user_id = actor.user_id
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session,
        actor=actor,
        action="incident.closed",
        object_kind=OBJECT_KIND,
        object_id=incident.id,
        vr_code=incident.vr_code,
        detail={"from": IncidentState.CLOSING.value, "to": IncidentState.CLOSED.value},
        now=now,
    )
    return incident


def timeline(session: Session, incident: Incident) -> Sequence[AuditEvent]:
    """Every audited change of the incident, oldest first."""
    assert incident.id is not None
    return audit.events_for(session, object_kind=OBJECT_KIND, object_id=incident.id)


def gemeenten(session: Session, incident: Incident) -> list[str]:
    """The gemeente codes of the incident's area (empty unless it is a gemeenten area)."""
    assert incident.id is not None
    return repository.gemeenten_of(session, incident.id)


def dispatch_settings(settings: Settings, incident: Incident) -> levels.DispatchSettings:
    """The dispatch parameters of the incident's current level."""
    return levels.dispatch_settings(settings, incident.level)


# --- area -------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _spec(kind: AreaKind, vr_code: str, gm_codes: frozenset[str], geojson: str | None) -> AreaSpec:
    # Keyed by the area's content (never by id): an area is immutable once opened, and the same
    # content always has the same geometry.
    return AreaSpec(kind, vr_code, gm_codes, geojson)


def _spec_of(incident: Incident, gm_codes: Iterable[str]) -> AreaSpec:
    return _spec(incident.area_kind, incident.vr_code, frozenset(gm_codes), incident.area_geojson)


def area_of(session: Session, incident: Incident) -> AreaSpec:
    """The incident's area, to test many points with :func:`brigades.incidents.area.contains`."""
    codes = gemeenten(session, incident) if incident.area_kind is AreaKind.GEMEENTEN else []
    return _spec_of(incident, codes)


def area_contains(incident: Incident, lat: float, lon: float) -> bool:
    """Whether a point lies in the incident's area (for the dispatcher).

    Region and gemeente boundaries are simplified, so they get 300 m of slack; a drawn polygon
    is taken as drawn. The incident must belong to a session (its gemeenten are read from it).
    """
    if incident.area_kind is AreaKind.GEMEENTEN:
        session = object_session(incident)
        if not isinstance(session, Session):
            raise ValueError("area_contains needs an incident that belongs to a session")
        spec = area_of(session, incident)
    else:
        spec = _spec_of(incident, [])
    return area_module.contains(spec, lat, lon)


def location_checker(session: Session, incident: Incident) -> Callable[[geo.Location], bool]:
    """A test whether a located postcode belongs to the incident's area (prepared once).

    By code for a region or gemeenten (exact, whatever the boundaries' simplification); for a
    polygon by the PC4 centroid with a kilometre of slack, since the address itself is only
    known to PC4 precision.
    """
    kind, region = incident.area_kind, incident.vr_code
    codes = frozenset(gemeenten(session, incident)) if kind is AreaKind.GEMEENTEN else None
    spec = area_of(session, incident) if kind is AreaKind.POLYGON else None

    def check(location: geo.Location) -> bool:
        if location.vr_code != region:
            return False
        if codes is not None:
            return location.gm_code in codes
        if spec is not None:
            return area_module.contains(spec, location.lat, location.lon, tolerance_km=1.0)
        return True

    return check
