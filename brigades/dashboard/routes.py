"""The dashboard's data for scripts and downloads: the live figures (JSON), the map (GeoJSON),
and the exports (tasks as CSV and GeoJSON, aggregates and the sitrap as CSV).

Cookie-authenticated like the pages they serve; every route reads one incident in reach.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from brigades import clock
from brigades.accounts.deps import CurrentScope
from brigades.accounts.scope import AccessScope
from brigades.dashboard import exports, maps, repository, service
from brigades.dashboard.pages import sitrap_context
from brigades.deps import SessionDep
from brigades.incidents import service as incidents
from brigades.incidents.deps import IncidentReader, ScopedIncident
from brigades.incidents.models import Incident
from brigades.tasks.models import CareTask

router = APIRouter(prefix="/beheer/incidenten/{incident_id}", include_in_schema=False)
GEOJSON = "application/geo+json"


def _no_store(body: Any, *, media_type: str = "application/json") -> Response:
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type=media_type,
        headers={"Cache-Control": "no-store"},
    )


def _download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/dashboard/live.json")
def live(
    session: SessionDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
    volledig: bool = False,
) -> Response:
    """The key figures and a version stamp; the page reloads its board when the stamp moves.

    ``volledig`` adds the figures that read the volunteer tables (asked for less often).
    """
    figures = service.key_figures(
        session, scope=scope, incident=incident, now=clock.now(), with_volunteers=volledig
    )
    return _no_store(
        {
            "version": service.version(session, scope=scope, incident=incident),
            "incident_state": incident.state.value,
            "figures": figures.as_dict(),
        }
    )


@router.get("/dashboard/gebied.geojson")
def area(session: SessionDep, user: IncidentReader, incident: ScopedIncident) -> Response:
    """The region's and its gemeenten's boundaries (from the reference data)."""
    body = maps.area_geojson(incident, incidents.gemeenten(session, incident))
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        media_type=GEOJSON,
        # Reference data: the same for the incident's whole life.
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/dashboard/kaart.geojson")
def map_markers(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """The incident's tasks as markers (per task, or per PC4 when many), coloured by state."""
    body = maps.task_markers(session, scope=scope, incident=incident)
    return _no_store(body, media_type=GEOJSON)


@router.get("/dashboard/vrijwilligers.geojson")
def volunteer_density(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """Volunteers per PC4 of the region (aggregates only; small areas suppressed)."""
    body = maps.volunteer_density(session, scope=scope, incident=incident)
    return _no_store(body, media_type=GEOJSON)


def _tasks_with_slots(
    session: Session, scope: AccessScope, incident: Incident
) -> list[tuple[CareTask, int]]:
    assert incident.id is not None
    found = list(repository.all_tasks(session, scope, incident_id=incident.id))
    filled: dict[int, int] = {}
    ids = [t.id for t in found if t.id is not None]
    for start in range(0, len(ids), 1000):
        filled.update(repository.filled_slots(session, ids[start : start + 1000]))
    return [(t, filled.get(t.id or 0, 0)) for t in found]


@router.get("/export/taken.csv")
def tasks_csv(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """Every task of the incident as CSV (PC4, no address)."""
    content = exports.tasks_csv(_tasks_with_slots(session, scope, incident))
    return _download(content, f"taken-{incident.code}.csv", "text/csv; charset=utf-8")


@router.get("/export/taken.geojson")
def tasks_geojson(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """Every task of the incident as GeoJSON points (PC4 location, no address)."""
    body = exports.tasks_geojson(_tasks_with_slots(session, scope, incident))
    return _download(
        json.dumps(body, ensure_ascii=False).encode(), f"taken-{incident.code}.geojson", GEOJSON
    )


@router.get("/export/cijfers.csv")
def aggregates_csv(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """Coverage per buurtsteunpunt and the incident's totals as CSV."""
    now = clock.now()
    rows = service.coverage(session, scope=scope, incident=incident, now=now)
    figures = service.key_figures(session, scope=scope, incident=incident, now=now)
    content = exports.aggregates_csv(rows, figures)
    return _download(content, f"cijfers-{incident.code}.csv", "text/csv; charset=utf-8")


@router.get("/sitrap.csv")
def sitrap_csv(
    session: SessionDep, user: IncidentReader, scope: CurrentScope, incident: ScopedIncident
) -> Response:
    """The situation report as CSV."""
    content = exports.sitrap_csv(sitrap_context(session, scope, incident, user))
    return _download(content, f"sitrap-{incident.code}.csv", "text/csv; charset=utf-8")
