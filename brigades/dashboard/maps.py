"""The dashboard map's data: the incident area's boundaries from the reference data, task
markers coloured by state (aggregated per PC4 when there are many), and volunteer density per
PC4 (aggregates only, small areas suppressed; never a volunteer's own position).

Every marker carries its tooltip as ``label``, in Dutch with the task states' Dutch names, so
the page's script never shows an internal state code.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlmodel import Session

import geo
from brigades.accounts.scope import AccessScope
from brigades.dashboard import repository
from brigades.incidents.models import Incident
from brigades.privacy import aggregates
from brigades.tasks import service as tasks
from brigades.tasks.models import TASK_STATE_LABELS_NL, TaskState

# Above this many tasks the map shows one marker per PC4 area instead of one per task.
MAX_TASK_MARKERS = 400
HIDDEN_ON_MAP = frozenset({TaskState.CANCELLED.value, TaskState.EXPIRED.value})
# Which state wins the colour of a PC4 marker: the one needing attention most.
STATE_URGENCY = (
    TaskState.UNFILLABLE,
    TaskState.OPEN,
    TaskState.OFFERING,
    TaskState.FILLED,
    TaskState.IN_PROGRESS,
    TaskState.DONE,
)


def _feature(lon: float, lat: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
        "properties": properties,
    }


def area_geojson(incident: Incident, gm_codes: list[str]) -> dict[str, Any]:
    """The region's boundary and its gemeenten (those of the incident's area marked)."""
    import shapely

    data = geo.load_reference_data()
    chosen = set(gm_codes)
    features = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(data.vr_boundary(incident.vr_code)),
            "properties": {
                "kind": "region",
                "code": incident.vr_code,
                "name": data.regions[incident.vr_code].name,
            },
        }
    ]
    for gemeente in sorted(data.gemeenten.values(), key=lambda g: g.code):
        if gemeente.vr_code != incident.vr_code:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(data.gemeente_boundary(gemeente.code)),
                "properties": {
                    "kind": "gemeente",
                    "code": gemeente.code,
                    "name": gemeente.display_name or gemeente.name,
                    "in_area": gemeente.code in chosen,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _counts_label(pc4: int, n: int, counts: dict[str, int]) -> str:
    parts = [
        f"{counts[s.value]} {TASK_STATE_LABELS_NL[s].lower()}"
        for s in STATE_URGENCY
        if s.value in counts
    ]
    return f"{n} {'taak' if n == 1 else 'taken'} in {pc4}: {', '.join(parts)}"


def task_markers(session: Session, *, scope: AccessScope, incident: Incident) -> dict[str, Any]:
    """The incident's tasks as map points coloured by state: one per task, or one per PC4 area
    (with its counts per state) when there are more than MAX_TASK_MARKERS."""
    assert incident.id is not None
    cells = repository.tasks_per_pc4_state(session, scope, incident_id=incident.id)
    shown = sum(n for _pc4, state, n, _a, _o in cells if state not in HIDDEN_ON_MAP)
    features: list[dict[str, Any]] = []
    clustered = shown > MAX_TASK_MARKERS
    if clustered:
        per_pc4: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"counts": {}, "n": 0, "lat": 0.0, "lon": 0.0}
        )
        for pc4, state, n, lat, lon in cells:
            if state in HIDDEN_ON_MAP:
                continue
            cell = per_pc4[pc4]
            cell["counts"][state] = n
            cell["lat"] += lat * n
            cell["lon"] += lon * n
            cell["n"] += n
        for pc4, cell in sorted(per_pc4.items()):
            state = next(s.value for s in STATE_URGENCY if s.value in cell["counts"])
            properties = {
                "kind": "tasks",
                "pc4": pc4,
                "state": state,
                "count": cell["n"],
                "counts": cell["counts"],
                "label": _counts_label(pc4, cell["n"], cell["counts"]),
            }
            features.append(_feature(cell["lon"] / cell["n"], cell["lat"] / cell["n"], properties))
    else:
        names = tasks.type_names(session)
        for task_id, state, lat, lon, type_code in repository.task_points(
            session, scope, incident_id=incident.id, limit=MAX_TASK_MARKERS * 2
        ):
            if state in HIDDEN_ON_MAP:
                continue
            label = TASK_STATE_LABELS_NL[TaskState(state)].lower()
            properties = {
                "kind": "task",
                "id": task_id,
                "state": state,
                "type": type_code,
                "label": f"Taak {task_id} ({names.get(type_code, type_code)}): {label}",
            }
            features.append(_feature(lon, lat, properties))
    return {"type": "FeatureCollection", "clustered": clustered, "features": features}


def volunteer_density(
    session: Session, *, scope: AccessScope, incident: Incident
) -> dict[str, Any]:
    """Volunteers of the incident's region per PC4 (aggregates only: areas with fewer than
    the minimum are left out and only counted in ``hidden_volunteers``)."""
    region_scope = replace(
        scope,
        vr_codes=frozenset({incident.vr_code})
        if scope.vr_codes is None
        else scope.vr_codes & {incident.vr_code},
    )
    counts = aggregates.aggregate_by_pc4(session, region_scope)
    pc4s = geo.load_reference_data().pc4s
    features = [
        _feature(
            pc4s[pc4].lon,
            pc4s[pc4].lat,
            {
                "kind": "volunteers",
                "pc4": pc4,
                "count": n,
                "label": f"{n} vrijwilligers in {pc4}",
            },
        )
        for pc4, n in sorted(counts.cells.items())
        if pc4 in pc4s
    ]
    return {
        "type": "FeatureCollection",
        "hidden_volunteers": counts.hidden,
        "min_count": counts.min_count,
        "features": features,
    }
