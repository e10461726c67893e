"""Buurtsteunpunten: the local hubs volunteers belong to."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime


class SupportPoint(SQLModel, table=True):
    """A buurtsteunpunt (neighbourhood support point)."""

    __tablename__ = "support_point"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    street: str = Field(default="", max_length=120)
    house_number: str = Field(default="", max_length=16)
    postcode: str = Field(max_length=8)
    place: str = Field(default="", max_length=80)
    lat: float
    lon: float
    gm_code: str = Field(max_length=8, index=True)
    vr_code: str = Field(max_length=4, index=True)
    phone: str | None = Field(default=None, max_length=20)
    opening_hours: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=AwareDateTime)
