"""The synthetic population of a simulated surge, for one region or the whole country.

Volunteers come from :func:`brigades.demo.population.create_volunteers` (spread over PC4 areas
by inhabitants, a realistic skill and availability mix, ``synthetic=True`` so the Twilio provider
refuses them); a whole-country population is split over the regions by their inhabitants. The
scenario's population settings then adjust the mix: a share available around the clock, a vetting
distribution, extra skills. Everything is seeded: same scenario, same people.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from brigades.demo import places
from brigades.demo import population as demo_population
from brigades.drills.scenario import Population
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import AvailabilityWindow, Volunteer, VolunteerSkill
from geo import ReferenceData

CHUNK = 1000


def split_by_inhabitants(
    reference: ReferenceData, regions: Sequence[str], total: int
) -> dict[str, int]:
    """``total`` volunteers over ``regions`` by their inhabitants (largest remainder)."""
    people = {r: 0 for r in regions}
    for area in reference.pc4s.values():
        if area.vr_code in people:
            people[area.vr_code] += area.inwoners
    everyone = sum(people.values()) or 1
    exact = {r: total * n / everyone for r, n in people.items()}
    counts = {r: int(v) for r, v in exact.items()}
    short = total - sum(counts.values())
    for region in sorted(regions, key=lambda r: (counts[r] - exact[r], r))[:short]:
        counts[region] += 1
    return counts


def create(
    session: Session,
    reference: ReferenceData,
    *,
    regions: Sequence[str],
    population: Population,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Create the population (and buurtsteunpunten where a region has none); returns the ids."""
    before = {i for i in session.exec(select(Volunteer.id)).all() if i is not None}
    done = 0
    for region, count in split_by_inhabitants(reference, regions, population.volunteers).items():
        if count == 0:
            continue
        points = list(
            session.exec(
                select(SupportPoint)
                .where(col(SupportPoint.vr_code) == region, col(SupportPoint.active).is_(True))
                .order_by(col(SupportPoint.id))
            )
        )
        if not points:
            points = places.create_support_points(session, reference, region, seed=seed, now=now)
        offset = done

        def _progress(n: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + n)

        done += demo_population.create_volunteers(
            session, reference, region, points, count=count, seed=seed, now=now, progress=_progress
        )
    now_there = {i for i in session.exec(select(Volunteer.id)).all() if i is not None}
    ids = sorted(now_there - before)
    _adjust(session, ids, population, rng=random.Random(f"drill-population:{seed}"), now=now)
    return ids


def _adjust(
    session: Session, ids: list[int], population: Population, *, rng: random.Random, now: datetime
) -> None:
    """Apply the scenario's availability, vetting and skill mix on top of the demo mix."""
    if population.always_available_share > 0:
        always = [i for i in ids if rng.random() < population.always_available_share]
        for chunk in _chunks(always):
            session.execute(
                delete(AvailabilityWindow).where(col(AvailabilityWindow.volunteer_id).in_(chunk))
            )
            session.execute(
                insert(AvailabilityWindow),
                [
                    {"volunteer_id": v, "weekday": day, "start_minute": 0, "end_minute": 1440}
                    for v in chunk
                    for day in range(7)
                ],
            )
    if population.vetting is not None:
        by_level: dict[int, list[int]] = {}
        for volunteer_id in ids:
            level = rng.choices((0, 1, 2, 3), population.vetting)[0]
            by_level.setdefault(level, []).append(volunteer_id)
        for level, members in by_level.items():
            for chunk in _chunks(members):
                session.execute(
                    update(Volunteer)
                    .where(col(Volunteer.id).in_(chunk))
                    .values(vetting_level=level)
                )
    for code, share in sorted(population.extra_skills.items()):
        chosen = {i for i in ids if rng.random() < share}
        if not chosen:
            continue
        # Asked in chunks: one IN over a whole population passes PostgreSQL's 65,535 parameters.
        have: set[int] = set()
        for chunk in _chunks(sorted(chosen)):
            have.update(
                session.exec(
                    select(VolunteerSkill.volunteer_id).where(
                        col(VolunteerSkill.skill_code) == code,
                        col(VolunteerSkill.volunteer_id).in_(chunk),
                    )
                ).all()
            )
        rows: list[dict[str, Any]] = [
            {
                "volunteer_id": v,
                "skill_code": code,
                "evidence_kind": "self_declared",
                "created_at": now,
            }
            for v in sorted(chosen - have)
        ]
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(VolunteerSkill), rows[start : start + CHUNK])


def _chunks(values: list[int]) -> list[list[int]]:
    """``values`` in slices of CHUNK: every IN list stays far below a database's limit."""
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]
