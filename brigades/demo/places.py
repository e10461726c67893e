"""Where the demo buurtsteunpunten of a region go, and creating them."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades.demo import data
from brigades.supportpoints.models import SupportPoint
from geo import Pc4Area, ReferenceData
from geo.distance import haversine_km

MIN_SUPPORT_POINTS = 15
MAX_SUPPORT_POINTS = 40
# One buurtsteunpunt per this many inhabitants, at least one per gemeente.
INHABITANTS_PER_POINT = 75_000


@dataclass(frozen=True)
class PlannedPoint:
    """A buurtsteunpunt to create: its name and the PC4 whose centroid is its address."""

    name: str
    pc4: int


def plan_support_points(reference: ReferenceData, region: str) -> list[PlannedPoint]:
    """Where the region's buurtsteunpunten go: per gemeente, more in the big ones (15–40)."""
    gemeenten = sorted(g.code for g in reference.gemeenten.values() if g.vr_code == region)
    areas = {
        gm: sorted(
            (a for a in reference.pc4s.values() if a.gm_code == gm and a.inwoners > 0),
            key=lambda a: a.pc4,
        )
        for gm in gemeenten
    }
    gemeenten = [gm for gm in gemeenten if areas[gm]]
    inhabitants = {gm: sum(a.inwoners for a in areas[gm]) for gm in gemeenten}
    curated = {
        gm: [p for p in data.CURATED_SUPPORT_POINTS.get(gm, ()) if p[1] in reference.pc4s]
        for gm in gemeenten
    }
    counts = {
        gm: len(curated[gm]) or max(1, round(inhabitants[gm] / INHABITANTS_PER_POINT))
        for gm in gemeenten
    }
    # Fill up to the minimum where each point serves the most people; trim where it serves the
    # fewest (never below one per gemeente, never more points than populated PC4s).
    while sum(counts.values()) < MIN_SUPPORT_POINTS:
        growable = [gm for gm in gemeenten if counts[gm] < len(areas[gm]) and not curated[gm]]
        if not growable:
            break
        best = max(growable, key=lambda gm: (inhabitants[gm] / (counts[gm] + 1), gm))
        counts[best] += 1
    while sum(counts.values()) > MAX_SUPPORT_POINTS:
        shrinkable = [gm for gm in gemeenten if counts[gm] > 1]
        worst = min(shrinkable, key=lambda gm: (inhabitants[gm] / counts[gm], gm))
        counts[worst] -= 1
    planned: list[PlannedPoint] = []
    for gm in gemeenten:
        if curated[gm]:
            planned += [PlannedPoint(name, pc4) for name, pc4 in curated[gm][: counts[gm]]]
        else:
            planned += _generated_points(areas[gm], counts[gm])
    return _unique_names(planned)


def _generated_points(areas: Sequence[Pc4Area], count: int) -> list[PlannedPoint]:
    # Greedy spread: start at the most populous PC4, then each next point where people live far
    # from the points chosen so far.
    chosen = [max(areas, key=lambda a: (a.inwoners, -a.pc4))]
    while len(chosen) < min(count, len(areas)):

        def score(a: Pc4Area) -> tuple[float, int]:
            nearest = min(haversine_km(a.lat, a.lon, c.lat, c.lon) for c in chosen)
            return (nearest * math.sqrt(a.inwoners), -a.pc4)

        chosen.append(max((a for a in areas if a not in chosen), key=score))
    plaatsen = [a.plaats for a in chosen]
    points = []
    for area in chosen:
        name = f"Buurtsteunpunt {area.plaats}"
        if plaatsen.count(area.plaats) > 1:
            # Several points in one town: tell them apart by where they lie in that town.
            town = [a for a in areas if a.plaats == area.plaats]
            weight = sum(a.inwoners for a in town)
            centre_lat = sum(a.lat * a.inwoners for a in town) / weight
            centre_lon = sum(a.lon * a.inwoners for a in town) / weight
            name += "-" + _quarter(area.lat, area.lon, centre_lat, centre_lon)
        points.append(PlannedPoint(name, area.pc4))
    return points


_COMPASS = ("Oost", "Noordoost", "Noord", "Noordwest", "West", "Zuidwest", "Zuid", "Zuidoost")


def _quarter(lat: float, lon: float, centre_lat: float, centre_lon: float) -> str:
    if haversine_km(lat, lon, centre_lat, centre_lon) < 1.2:
        return "Centrum"
    north = lat - centre_lat
    east = (lon - centre_lon) * math.cos(math.radians(centre_lat))
    sector = round(math.degrees(math.atan2(north, east)) / 45) % 8
    return _COMPASS[sector]


def _unique_names(points: list[PlannedPoint]) -> list[PlannedPoint]:
    seen: dict[str, int] = {}
    result = []
    for point in points:
        seen[point.name] = seen.get(point.name, 0) + 1
        name = point.name if seen[point.name] == 1 else f"{point.name} {seen[point.name]}"
        result.append(PlannedPoint(name, point.pc4))
    return result


def create_support_points(
    session: Session, reference: ReferenceData, region: str, *, seed: int, now: datetime
) -> list[SupportPoint]:
    """Create the planned buurtsteunpunten of a region (flushed, so they have ids)."""
    rng = random.Random(f"zorgbrigade-demo:{seed}:{region}:support-points")
    points = []
    for plan in plan_support_points(reference, region):
        area = reference.pc4s[plan.pc4]
        point = SupportPoint(
            name=plan.name,
            postcode=str(area.pc4),
            place=area.plaats,
            lat=area.lat,
            lon=area.lon,
            gm_code=area.gm_code,
            vr_code=area.vr_code,
            opening_hours=rng.choice(data.OPENING_HOURS),
            active=True,
            created_at=now,
        )
        session.add(point)
        points.append(point)
    session.flush()
    return points
