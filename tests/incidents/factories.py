"""Plain factories for incidents (through the service, as a coordinator would)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlmodel import Session

from brigades import clock
from brigades.accounts.scope import AccessScope
from brigades.audit.service import Actor
from brigades.incidents import service
from brigades.incidents.models import Incident, IncidentKind

ADMIN = AccessScope.everything()
ACTOR = Actor(user_id=None, label="test")
# A square of roughly 3 x 3 km in the city of Utrecht (VR09).
UTRECHT_SQUARE = [[5.10, 52.07], [5.14, 52.07], [5.14, 52.10], [5.10, 52.10], [5.10, 52.07]]


def polygon(ring: list[list[float]] | None = None) -> str:
    """A GeoJSON Polygon geometry."""
    return json.dumps({"type": "Polygon", "coordinates": [ring or UTRECHT_SQUARE]})


def make_incident(
    session: Session,
    *,
    vr_code: str | None = "VR09",
    gm_codes: Iterable[str] | None = None,
    polygon_geojson: str | None = None,
    kind: IncidentKind = IncidentKind.CODE_ZWART,
    level: int = 1,
    name: str = "Griepgolf",
    allow_overlap: bool = True,
    scope: AccessScope = ADMIN,
) -> Incident:
    """An open incident (overlap allowed unless asked otherwise: tests pick their own)."""
    return service.open_incident(
        session,
        actor=ACTOR,
        scope=scope,
        kind=kind,
        name=name,
        level=level,
        vr_code=vr_code if gm_codes is None else None,
        gm_codes=gm_codes,
        polygon_geojson=polygon_geojson,
        allow_overlap=allow_overlap,
        now=clock.now(),
    )
