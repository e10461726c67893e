"""JSON API of buurtsteunpunten."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from brigades.deps import SessionDep
from brigades.supportpoints import service
from brigades.supportpoints.schemas import (
    LocationPublic,
    SupportPointPublic,
    SupportPointsNear,
)
from brigades.volunteers.schemas import error_responses

router = APIRouter(prefix="/api/v1", tags=["support points"])


@router.get(
    "/support-points",
    summary="Buurtsteunpunten for a home postcode, nearest first",
    response_model=SupportPointsNear,
    responses=error_responses(422),
)
def support_points_near(
    session: SessionDep,
    postcode: Annotated[str, Query(min_length=1, max_length=16, examples=["3511 AA"])],
    house_number: Annotated[str | None, Query(max_length=10)] = None,
) -> SupportPointsNear:
    """The active buurtsteunpunten of the postcode's Veiligheidsregio, nearest first.

    When the region has none yet, the single nearest one elsewhere is given (`in_region` false).
    """
    location = service.locate_home(postcode, house_number)
    choices, in_region = service.choices_for(
        session, lat=location.lat, lon=location.lon, vr_code=location.vr_code
    )
    return SupportPointsNear(
        location=LocationPublic(
            postcode=location.postcode,
            gm_code=location.gm_code,
            gm_name=location.gm_name,
            vr_code=location.vr_code,
            vr_name=location.vr_name,
            note=location.note,
        ),
        in_region=in_region,
        support_points=[
            SupportPointPublic(
                id=c.point.id or 0,
                name=c.point.name,
                street=c.point.street,
                house_number=c.point.house_number,
                postcode=c.point.postcode,
                place=c.point.place,
                opening_hours=c.point.opening_hours,
                gm_code=c.point.gm_code,
                vr_code=c.point.vr_code,
                distance_km=round(c.km, 1),
            )
            for c in choices
        ],
    )
