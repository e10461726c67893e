"""API shapes of buurtsteunpunten."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SupportPointCreate(BaseModel):
    """A new buurtsteunpunt; its location comes from the postcode."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    postcode: str = Field(min_length=4, max_length=16)
    street: str = Field(default="", max_length=120)
    house_number: str = Field(default="", max_length=16)
    place: str = Field(default="", max_length=80)
    phone: str | None = Field(default=None, max_length=20)
    opening_hours: str = Field(default="", max_length=200)
    active: bool = True


class SupportPointPublic(BaseModel):
    """A buurtsteunpunt as a volunteer sees it, with its distance to them."""

    id: int
    name: str
    street: str
    house_number: str
    postcode: str
    place: str
    opening_hours: str
    gm_code: str
    vr_code: str
    distance_km: float


class LocationPublic(BaseModel):
    """Where a postcode was located."""

    postcode: str
    gm_code: str
    gm_name: str
    vr_code: str
    vr_name: str
    note: str | None = None


class SupportPointsNear(BaseModel):
    """The buurtsteunpunten a volunteer at a postcode can choose from, nearest first."""

    location: LocationPublic
    in_region: bool = Field(
        description="False when the region has none yet and the nearest one elsewhere is offered"
    )
    support_points: list[SupportPointPublic]
