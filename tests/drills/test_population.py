"""The synthetic population: the scenario's mix applied in chunks (no statement outgrows a
database's parameter limit, however large the population)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from brigades import clock
from brigades.drills import population
from brigades.drills.scenario import Population
from brigades.volunteers.models import AvailabilityWindow, Volunteer, VolunteerSkill
from geo import load_reference_data


@pytest.fixture
def largest_filter(session: Session) -> Iterator[list[int]]:
    """The most parameters any SELECT, UPDATE or DELETE of the test sent (inserts may batch)."""
    seen = [0]
    engine = session.get_bind().engine

    def count(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            size = len(parameters) if isinstance(parameters, tuple | list | dict) else 0
            seen[0] = max(seen[0], size)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_the_mix_is_applied_in_chunks(
    session: Session,
    clock: clock.ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    largest_filter: list[int],
) -> None:
    # A chunk of 25 with 300 people stands in for 1,000 with PostgreSQL's 65,535 parameters.
    monkeypatch.setattr(population, "CHUNK", 25)
    ids = population.create(
        session,
        load_reference_data(),
        regions=("VR09",),
        population=Population(
            volunteers=300,
            always_available_share=0.5,
            vetting=(0.0, 0.0, 1.0, 0.0),
            extra_skills={"boodschappen": 1.0},
        ),
        seed=7,
        now=clock.now(),
    )
    assert len(ids) == 300
    assert largest_filter[0] <= 25 + 5  # a chunk of ids and a few other values
    people = session.exec(select(Volunteer).where(col(Volunteer.id).in_(ids))).all()
    assert all(v.synthetic and v.vetting_level == 2 for v in people)
    # Everyone has the extra skill exactly once (also those who had it already).
    skills = Counter(
        session.exec(
            select(VolunteerSkill.volunteer_id).where(
                col(VolunteerSkill.skill_code) == "boodschappen"
            )
        ).all()
    )
    assert set(skills) == set(ids) and set(skills.values()) == {1}
    # About half are available around the clock: 7 full days.
    full = Counter(
        session.exec(
            select(AvailabilityWindow.volunteer_id).where(
                col(AvailabilityWindow.start_minute) == 0,
                col(AvailabilityWindow.end_minute) == 1440,
            )
        ).all()
    )
    around_the_clock = sum(1 for n in full.values() if n == 7)
    assert 100 < around_the_clock < 200
