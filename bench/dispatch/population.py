"""A synthetic national population of volunteers and a stream of care tasks (numpy, seeded).

Volunteers are spread over the PC4 areas by inhabitants (geo/data/pc4_centroids.csv) and jittered
around their centroid (normal, sigma = a quarter of the square root of the PC4 area, at most
half of it) to mimic street-level positions. The mix (stated in BENCHMARKS.md):

- skills: independent shares per skill (SKILL_SHARES);
- vetting level 0/1/2/3: 30/35/27/8 %;
- availability: one weekly pattern of the demo generator (brigades.demo.data), a second one
  for a third of the volunteers; an hour counts when the pattern covers it entirely;
- maximum travel distance: the demo's mix (2 to 25 km);
- reachable 97 %; recent load Poisson(0.4); reliability 0.5 (no history) for 40 %, else
  Beta(6, 2).

Tasks sit on PC4 centroids weighted by inhabitants; their type follows TASK_TYPES (the seeded
catalogue: skill and level), their window starts between 08:00 and 17:00 on any day, lasts 2-6
hours, and the work takes 1-2 hours.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from brigades.demo import data as demo
from brigades.dispatch.index import window_hours
from geo.candidates import Query, VolunteerRows, Weights, availability_masks, hour_words

PC4_CSV = Path(__file__).resolve().parents[2] / "geo" / "data" / "pc4_centroids.csv"

# skill code, share of volunteers who have it (the bit is the position in this list)
SKILL_SHARES = (
    ("boodschappen", 0.55),
    ("maaltijden", 0.35),
    ("gezelschap", 0.45),
    ("telefonische_checkin", 0.35),
    ("vervoer_auto", 0.25),
    ("begeleiding_afspraak", 0.20),
    ("medicatieherinnering", 0.10),
    ("mantelzorg_hulp", 0.15),
    ("zorglocatie_ondersteuning", 0.10),
    ("lichte_persoonlijke_verzorging", 0.05),
)
LEVEL_SHARES = (0.30, 0.35, 0.27, 0.08)
# task type, skill, minimum vetting level, share of tasks (the seeded catalogue, 0004)
TASK_TYPES = (
    ("boodschappen", "boodschappen", 1, 0.30),
    ("maaltijden", "maaltijden", 1, 0.15),
    ("gezelschap", "gezelschap", 2, 0.15),
    ("telefonische_checkin", "telefonische_checkin", 1, 0.10),
    ("vervoer_afspraak", "vervoer_auto", 2, 0.10),
    ("begeleiding_afspraak", "begeleiding_afspraak", 2, 0.08),
    ("medicatieherinnering", "medicatieherinnering", 2, 0.05),
    ("mantelzorg_hulp", "mantelzorg_hulp", 2, 0.04),
    ("zorglocatie_ondersteuning", "zorglocatie_ondersteuning", 2, 0.02),
    ("lichte_persoonlijke_verzorging", "lichte_persoonlijke_verzorging", 3, 0.01),
)
SKILL_BIT = {code: i for i, (code, _) in enumerate(SKILL_SHARES)}


@dataclass(frozen=True)
class Pc4s:
    """The PC4 areas: centroid, inhabitants, area, region index."""

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    inhabitants: npt.NDArray[np.float64]
    area_km2: npt.NDArray[np.float64]
    region: npt.NDArray[np.int16]
    region_codes: list[str]


def load_pc4s() -> Pc4s:
    """PC4 centroids with inhabitants from the vendored reference data."""
    with PC4_CSV.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if float(r["inwoners"] or 0) > 0]
    codes = sorted({r["vr_code"] for r in rows})
    return Pc4s(
        lat=np.array([float(r["lat"]) for r in rows]),
        lon=np.array([float(r["lon"]) for r in rows]),
        inhabitants=np.array([float(r["inwoners"]) for r in rows]),
        area_km2=np.array([float(r["area_km2"] or 1.0) for r in rows]),
        region=np.array([codes.index(r["vr_code"]) for r in rows], dtype=np.int16),
        region_codes=codes,
    )


def volunteers(pc4s: Pc4s, n: int, *, seed: int = 1) -> tuple[VolunteerRows, np.ndarray]:
    """``n`` volunteers (and the PC4 row each lives in)."""
    rng = np.random.default_rng(seed)
    home = rng.choice(pc4s.lat.size, n, p=pc4s.inhabitants / pc4s.inhabitants.sum())
    side_km = np.sqrt(pc4s.area_km2[home])
    north = np.clip(rng.normal(0, 1, n) * side_km / 4, -side_km / 2, side_km / 2)
    east = np.clip(rng.normal(0, 1, n) * side_km / 4, -side_km / 2, side_km / 2)
    lat = pc4s.lat[home] + north / 111.195
    lon = pc4s.lon[home] + east / (111.195 * np.cos(np.radians(pc4s.lat[home])))
    skills = np.zeros(n, dtype=np.uint64)
    for bit, (_, share) in enumerate(SKILL_SHARES):
        skills |= np.where(rng.random(n) < share, np.uint64(1 << bit), np.uint64(0))
    patterns = demo.AVAILABILITY_PATTERNS
    weights = np.array([p[3] for p in patterns], dtype=np.float64)
    words = np.array(
        [
            hour_words(h for day in days for h in window_hours(day, start, end))
            for days, start, end, _ in patterns
        ],
        dtype=np.uint64,
    )
    first = rng.choice(len(patterns), n, p=weights / weights.sum())
    second = rng.choice(len(patterns), n, p=weights / weights.sum())
    availability = words[first] | np.where(
        (rng.random(n) < 1 / 3)[:, None], words[second], np.uint64(0)
    )
    distances = np.array([d for d, _ in demo.DISTANCES], dtype=np.float64)
    d_weights = np.array([w for _, w in demo.DISTANCES], dtype=np.float64)
    rows = VolunteerRows.build(
        ids=rng.permutation(n) + 1,
        lats=lat,
        lons=lon,
        max_distance_km=rng.choice(distances, n, p=d_weights / d_weights.sum()),
        vetting_level=rng.choice(4, n, p=LEVEL_SHARES),
        skills=skills,
        availability=availability,
        region=pc4s.region[home],
        reachable=rng.random(n) < 0.97,
        recent_load=rng.poisson(0.4, n).astype(np.float64),
        reliability=np.where(rng.random(n) < 0.4, 0.5, rng.beta(6, 2, n)),
    )
    return rows, home


@dataclass(frozen=True)
class Task:
    """A synthetic task: where, what, when (as an index query) and how many offers it wants."""

    query: Query
    pc4_row: int
    wanted: int


def tasks(
    pc4s: Pc4s,
    count: int,
    *,
    seed: int,
    radius_km: float = 10.0,
    limit: int = 50,
    wave_factor: int = 3,
    exclude: frozenset[int] = frozenset(),
    weights: Weights | None = None,
    pc4_rows: np.ndarray | None = None,
) -> list[Task]:
    """``count`` tasks over the given PC4 rows (default: all, weighted by inhabitants)."""
    rng = np.random.default_rng(seed)
    rows = pc4_rows if pc4_rows is not None else np.arange(pc4s.lat.size)
    p = pc4s.inhabitants[rows] / pc4s.inhabitants[rows].sum()
    where = rows[rng.choice(rows.size, count, p=p)]
    kinds = rng.choice(len(TASK_TYPES), count, p=[t[3] for t in TASK_TYPES])
    day = rng.integers(0, 7, count)
    start = rng.integers(8, 18, count)
    length = rng.integers(2, 7, count)
    duration = rng.integers(1, 3, count)
    slots = rng.choice([1, 2, 3], count, p=[0.8, 0.15, 0.05])
    out = []
    for i in range(count):
        _, skill, level, _ = TASK_TYPES[int(kinds[i])]
        first = int(day[i]) * 24 + int(start[i])
        last = first + int(length[i]) - int(duration[i])
        out.append(
            Task(
                query=Query(
                    lat=float(pc4s.lat[where[i]]),
                    lon=float(pc4s.lon[where[i]]),
                    radius_km=radius_km,
                    skills=1 << SKILL_BIT[skill],
                    min_level=level,
                    availability=availability_masks(range(first, last + 1), int(duration[i])),
                    regions=[int(pc4s.region[where[i]])],  # the incident's region
                    exclude=exclude,
                    limit=limit,
                    seed=i + 1,
                    weights=weights or Weights(),
                ),
                pc4_row=int(where[i]),
                wanted=int(slots[i]) * wave_factor,
            )
        )
    return out
