"""The readiness API for the regional care networks: figures (JSON, CSV), the PC4 coverage layer
(GeoJSON, small counts suppressed), and the recruiters' list of volunteers interested in care."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

import geo
from brigades import clock
from brigades.accounts.deps import CurrentScope
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.audit import service as audit
from brigades.deps import SessionDep, SettingsDep
from brigades.privacy.aggregates import MIN_COUNT, aggregate_by_pc4
from brigades.readiness import erasure, exports, figures, interest
from brigades.readiness.deps import ReadinessReader, Recruiter
from brigades.readiness.figures import AreaKind
from brigades.readiness.schemas import CareInterestOut, ReadinessOut
from brigades.volunteers.models import VolunteerStatus
from brigades.volunteers.schemas import error_responses

assert erasure.erase_readiness is not None  # registers the eraser with the privacy service

router = APIRouter(prefix="/api/v1", tags=["readiness"])

LEVEL_QUERY = Query(description="vr, gemeente or steunpunt")


def _kind(scope_role_limited: bool, level: AreaKind) -> AreaKind:
    # Buurtsteunpunt coordinators see their own points only: a region's figures from part of its
    # volunteers would mislead.
    return AreaKind.STEUNPUNT if scope_role_limited else level


@router.get(
    "/readiness",
    summary="Readiness figures per area, shortfalls first",
    response_model=ReadinessOut,
    responses={**error_responses(401, 403, 422)},
)
def readiness(
    session: SessionDep,
    settings: SettingsDep,
    user: ReadinessReader,
    scope: CurrentScope,
    level: Annotated[AreaKind, LEVEL_QUERY] = AreaKind.VR,
) -> ReadinessOut:
    """Verified volunteers, per vetting level, re-confirmed recently, available per skill and
    part of the week, against the region's targets per 10,000 inhabitants."""
    picture = figures.picture(
        session,
        scope=scope,
        kind=_kind(scope.support_point_ids is not None, level),
        now=clock.now(),
        settings=settings,
    )
    return ReadinessOut.of(picture)


@router.get(
    "/readiness/export.csv",
    summary="Readiness figures as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 422)},
)
def readiness_csv(
    session: SessionDep,
    settings: SettingsDep,
    user: ReadinessReader,
    scope: CurrentScope,
    level: Annotated[AreaKind, LEVEL_QUERY] = AreaKind.VR,
) -> Response:
    """One row per area and skill (semicolon-separated, UTF-8 with BOM)."""
    picture = figures.picture(
        session,
        scope=scope,
        kind=_kind(scope.support_point_ids is not None, level),
        now=clock.now(),
        settings=settings,
    )
    return csv_response(exports.readiness_csv(picture), f"paraatheid-{picture.kind.value}.csv")


def csv_response(content: bytes, filename: str) -> Response:
    """A CSV download that is never cached."""
    return Response(
        content=content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def region_outlines(scope: AccessScope) -> list[dict[str, Any]]:
    """The outlines of the regions in reach, as GeoJSON features (kind "region")."""
    from shapely.geometry import mapping

    data = geo.load_reference_data()
    codes = sorted(data.regions) if scope.vr_codes is None else sorted(scope.vr_codes)
    return [
        {
            "type": "Feature",
            "geometry": mapping(data.vr_boundary(code)),
            "properties": {"kind": "region", "vr_code": code, "name": data.regions[code].name},
        }
        for code in codes
        if code in data.regions
    ]


def coverage_geojson(session: SessionDep, scope: CurrentScope) -> dict[str, Any]:
    """Available volunteers per PC4 as GeoJSON points (centroids); small counts suppressed."""
    counts = aggregate_by_pc4(
        session, scope, MIN_COUNT, statuses=[VolunteerStatus.ACTIVE], exclude_synthetic=True
    )
    pc4s = geo.load_reference_data().pc4s
    features = []
    for pc4, n in sorted(counts.cells.items()):
        area = pc4s.get(pc4)
        if area is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [area.lon, area.lat]},
                "properties": {
                    "pc4": pc4,
                    "available": n,
                    "inhabitants": area.inwoners,
                    "per_10k": round(n * 10_000 / area.inwoners, 1) if area.inwoners else None,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "suppressed": {
            "volunteers": counts.hidden,
            "areas": counts.hidden_areas,
            "min_count": counts.min_count,
        },
    }


@router.get(
    "/readiness/pc4.geojson",
    summary="Coverage per PC4 (aggregates only)",
    responses={200: {"content": {"application/geo+json": {}}}, **error_responses(401, 403)},
)
def coverage(session: SessionDep, user: ReadinessReader, scope: CurrentScope) -> Response:
    """Available volunteers per PC4 centroid; areas under the minimum count are left out and
    only summed in ``suppressed``."""
    return JSONResponse(
        coverage_geojson(session, scope),
        media_type="application/geo+json",
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/care-interest",
    summary="Volunteers interested in work in care (recruiters)",
    response_model=list[CareInterestOut],
    responses={**error_responses(401, 403)},
)
def care_interest(
    session: SessionDep, user: Recruiter, scope: CurrentScope
) -> list[CareInterestOut]:
    """Volunteers of the caller's regions who opted in to be contacted. Audited."""
    found = interest.candidates(session, scope=scope)
    audit.record(
        session,
        actor=actor_for(user),
        action="readiness.care_interest_read",
        object_kind="care_interest",
        detail={"rows": len(found)},
        now=clock.now(),
    )
    return [
        CareInterestOut(
            name=c.volunteer.name,
            phone=c.volunteer.phone,
            gm_code=c.volunteer.gm_code,
            vr_code=c.volunteer.vr_code,
            skills=c.skills,
            trainings=c.trainings,
            tasks_done=c.tasks_done,
            opted_in_at=c.interest.opted_in_at,
            consent_version=c.interest.consent_version,
        )
        for c in found
    ]
