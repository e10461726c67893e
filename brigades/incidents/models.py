"""Code-zwart (and drill) incidents: an area, a level, and a lifecycle.

The timeline of an incident is the audit log (object kind ``incident``); there is no second log.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum

OBJECT_KIND = "incident"
MIN_LEVEL = 1
MAX_LEVEL = 4


class IncidentKind(enum.StrEnum):
    CODE_ZWART = "code_zwart"
    DRILL = "drill"


class IncidentState(enum.StrEnum):
    OPEN = "open"
    CLOSING = "closing"  # volunteers are being stood down
    CLOSED = "closed"


class AreaKind(enum.StrEnum):
    VR = "vr"  # the whole Veiligheidsregio
    GEMEENTEN = "gemeenten"  # a set of gemeenten of the region (IncidentGemeente)
    POLYGON = "polygon"  # a drawn or uploaded GeoJSON (Multi)Polygon inside the region


KIND_LABELS_NL = {IncidentKind.CODE_ZWART: "Code zwart", IncidentKind.DRILL: "Oefening"}
STATE_LABELS_NL = {
    IncidentState.OPEN: "Open",
    IncidentState.CLOSING: "Wordt afgeschaald",
    IncidentState.CLOSED: "Gesloten",
}
AREA_LABELS_NL = {
    AreaKind.VR: "Hele Veiligheidsregio",
    AreaKind.GEMEENTEN: "Gemeenten",
    AreaKind.POLYGON: "Getekend gebied",
}


class Incident(SQLModel, table=True):
    """One code-zwart incident or drill in (part of) one Veiligheidsregio."""

    __tablename__ = "incident"
    __table_args__ = (UniqueConstraint("vr_code", "year", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    # "VR09-2026-001": region, year opened, sequence within the region and year.
    code: str = Field(max_length=20, unique=True)
    year: int
    sequence: int
    kind: IncidentKind = Field(sa_type=str_enum(IncidentKind))
    state: IncidentState = Field(
        default=IncidentState.OPEN, sa_type=str_enum(IncidentState), index=True
    )
    name: str = Field(max_length=120)
    level: int = Field(default=1)
    area_kind: AreaKind = Field(sa_type=str_enum(AreaKind))
    # The owning region: scoping, and the region every gemeente or polygon lies in.
    vr_code: str = Field(max_length=4, index=True)
    # Only for AreaKind.POLYGON: a GeoJSON Polygon or MultiPolygon geometry (lon, lat).
    area_geojson: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    opened_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    opened_at: datetime = Field(sa_type=AwareDateTime)
    closing_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    closing_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    close_reason: str | None = Field(default=None, max_length=500)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    closed_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(sa_type=AwareDateTime)


class IncidentGemeente(SQLModel, table=True):
    """A gemeente in the area of an incident opened for a set of gemeenten."""

    __tablename__ = "incident_gemeente"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    gm_code: str = Field(max_length=8, primary_key=True, index=True)
