"""API shapes of incidents."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from brigades.audit.schemas import AuditEventPublic
from brigades.incidents.area import MAX_GEOJSON_CHARS
from brigades.incidents.models import AreaKind, IncidentKind, IncidentState
from brigades.volunteers.schemas import CleanStr


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IncidentCreate(_Input):
    """A new incident. The area is one of: `vr_code` alone (the whole region), `gm_codes`
    (gemeenten of one region), or `vr_code` with `polygon_geojson` (a GeoJSON Polygon,
    MultiPolygon, Feature or FeatureCollection in WGS84, inside the region)."""

    kind: IncidentKind = IncidentKind.CODE_ZWART
    name: CleanStr = Field(min_length=1, max_length=120, examples=["Griepgolf Utrecht-stad"])
    level: int = Field(default=1, ge=1, le=4)
    vr_code: str | None = Field(default=None, max_length=4, examples=["VR09"])
    gm_codes: list[str] | None = Field(default=None, max_length=100, examples=[["GM0344"]])
    polygon_geojson: str | None = Field(default=None, max_length=MAX_GEOJSON_CHARS + 1)
    allow_overlap: bool = Field(
        default=False,
        description="Open even though an active code-zwart incident covers part of the area",
    )


class LevelChange(_Input):
    """A new level (1..4)."""

    level: int = Field(ge=1, le=4)


class StandDown(_Input):
    """Why the incident is being closed (kept on the incident, shown to coordinators)."""

    reason: CleanStr = Field(min_length=3, max_length=500)


class DispatchSettingsPublic(BaseModel):
    """What the current level means for dispatch."""

    level: int
    search_radius_km: float
    offer_expiry_minutes: int
    offers_per_volunteer_per_day: int
    wave_factor: float


class IncidentPublic(BaseModel):
    """An incident."""

    id: int
    code: str = Field(examples=["VR09-2026-001"])
    kind: IncidentKind
    state: IncidentState
    name: str
    level: int
    area_kind: AreaKind
    vr_code: str
    gm_codes: list[str]
    area_geojson: str | None
    opened_at: datetime
    closing_at: datetime | None
    close_reason: str | None
    closed_at: datetime | None
    dispatch: DispatchSettingsPublic


class IncidentTimeline(BaseModel):
    """Every audited change of an incident, oldest first."""

    incident_id: int
    events: list[AuditEventPublic]
