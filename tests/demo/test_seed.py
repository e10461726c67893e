"""Demo data: buurtsteunpunten and synthetic volunteers for one region."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from typing import Any

import phonenumbers
import pytest
from sqlmodel import Session, col, func, select

from brigades import clock as clock_module
from brigades.db import make_engine, session_scope
from brigades.demo import places, population, service
from brigades.errors import InvalidInput
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.languages import LANGUAGE_CODES
from brigades.volunteers.models import (
    AvailabilityWindow,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from geo import haversine_km, load_reference_data

EVIDENCE_RANK = {
    "self_declared": 0,
    "life_experience": 1,
    "training": 1,
    "work_experience": 2,
    "certificate": 2,
    "praktijkverklaring": 3,
    "diploma": 4,
    "big_registration": 5,
}


@pytest.fixture
def now(clock: clock_module.ManualClock) -> datetime:
    return clock.now()


def _seed(session: Session, now: datetime, volunteers: int, seed: int = 7) -> service.DemoSummary:
    return service.seed_region(session, region="VR09", volunteers=volunteers, seed=seed, now=now)


def test_support_points_for_utrecht(session: Session, now: datetime) -> None:
    summary = _seed(session, now, volunteers=0)
    points = session.exec(select(SupportPoint)).all()
    assert summary.support_points_created == len(points) == summary.support_points_total
    assert 15 <= len(points) <= 40
    names = {p.name for p in points}
    assert {"Buurtsteunpunt Lombok", "Buurtsteunpunt Overvecht"} <= names
    assert len(names) == len(points)
    reference = load_reference_data()
    region_gemeenten = {g.code for g in reference.gemeenten.values() if g.vr_code == "VR09"}
    # At least one in every gemeente of the region, each at a PC4 centroid of its gemeente.
    assert {p.gm_code for p in points} == region_gemeenten
    for point in points:
        area = reference.pc4s[int(point.postcode)]
        assert (area.gm_code, area.vr_code) == (point.gm_code, "VR09")
        assert (point.lat, point.lon) == (area.lat, area.lon)


@pytest.mark.parametrize("region", sorted(load_reference_data().regions))
def test_every_region_gets_15_to_40_support_points(region: str) -> None:
    planned = places.plan_support_points(load_reference_data(), region)
    assert 15 <= len(planned) <= 40
    assert len({p.name for p in planned}) == len(planned)


def test_volunteers_live_in_the_region_near_their_support_point(
    session: Session, now: datetime
) -> None:
    progress: list[int] = []
    summary = service.seed_region(
        session, region="VR09", volunteers=1200, seed=7, now=now, progress=progress.append
    )
    assert summary.volunteers_created == 1200
    assert progress == [500, 1000, 1200]
    volunteers = session.exec(select(Volunteer)).all()
    points = session.exec(select(SupportPoint)).all()
    reference = load_reference_data()
    assert len(volunteers) == 1200
    phones = [v.phone for v in volunteers]
    assert len(set(phones)) == len(phones)
    for v in volunteers:
        assert v.synthetic and v.status is VolunteerStatus.ACTIVE
        assert v.phone_verified_at is not None and v.consent_at is not None and v.adult_confirmed
        assert v.phone is not None and v.phone.startswith("+3169") and len(v.phone) == 12
        # Not a number that can exist: no real phone is ever reached.
        assert not phonenumbers.is_valid_number(phonenumbers.parse(v.phone))
        assert v.pc4 is not None and v.postcode is not None
        area = reference.pc4s[v.pc4]
        assert area.vr_code == "VR09" and v.vr_code == "VR09" and v.gm_code == area.gm_code
        assert v.postcode.startswith(f"{v.pc4} ")
        assert set(v.languages) <= LANGUAGE_CODES and "nl" in v.languages
        assert 0 <= v.vetting_level <= 3
        nearest = min(points, key=lambda p: haversine_km(area.lat, area.lon, p.lat, p.lon))
        assert v.support_point_id == nearest.id


def test_distribution_follows_inhabitants(session: Session, now: datetime) -> None:
    _seed(session, now, volunteers=3000)
    per_gemeente = dict(
        session.exec(select(Volunteer.gm_code, func.count()).group_by(col(Volunteer.gm_code))).all()
    )
    reference = load_reference_data()
    inhabitants = Counter[str]()
    for area in reference.pc4s.values():
        if area.vr_code == "VR09":
            inhabitants[area.gm_code] += area.inwoners
    biggest = max(inhabitants, key=lambda gm: inhabitants[gm])
    assert biggest == "GM0344"  # Utrecht
    assert max(per_gemeente, key=lambda gm: per_gemeente[gm]) == biggest
    total = sum(inhabitants.values())
    for gm in ("GM0344", "GM0307"):  # Utrecht, Amersfoort
        expected = inhabitants[gm] / total
        assert abs(per_gemeente[gm] / 3000 - expected) < 0.04
    # PC4s without inhabitants get nobody.
    empty = {a.pc4 for a in reference.pc4s.values() if a.vr_code == "VR09" and a.inwoners == 0}
    assert not set(session.exec(select(Volunteer.pc4)).all()) & empty


def test_realistic_mix_of_skills_vetting_and_availability(session: Session, now: datetime) -> None:
    _seed(session, now, volunteers=800)
    minimum = {s.code: s.min_evidence.value for s in session.exec(select(Skill)).all()}
    skills = session.exec(select(VolunteerSkill)).all()
    per_volunteer = Counter(s.volunteer_id for s in skills)
    assert len(per_volunteer) == 800  # everyone offers at least one skill
    for skill in skills:
        assert EVIDENCE_RANK[skill.evidence_kind.value] >= EVIDENCE_RANK[minimum[skill.skill_code]]
    kinds = {s.evidence_kind.value for s in skills}
    assert {"self_declared", "certificate", "diploma", "work_experience"} <= kinds
    levels = Counter(session.exec(select(Volunteer.vetting_level)).all())
    assert set(levels) == {0, 1, 2, 3}
    distances = set(session.exec(select(Volunteer.max_distance_km)).all())
    assert len(distances) >= 5
    windows = session.exec(select(AvailabilityWindow)).all()
    assert len({w.volunteer_id for w in windows}) == 800
    by_day: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for w in windows:
        assert 0 <= w.start_minute < w.end_minute <= 1440
        by_day.setdefault((w.volunteer_id, w.weekday), []).append((w.start_minute, w.end_minute))
    for spans in by_day.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def _fingerprint(session: Session) -> list[Any]:
    names = {p.id: p.name for p in session.exec(select(SupportPoint))}
    volunteers = [
        (
            v.public_id,
            v.name,
            v.phone,
            v.postcode,
            v.vetting_level,
            v.max_distance_km,
            v.languages,
            v.created_at,
            names[v.support_point_id],
        )
        for v in session.exec(select(Volunteer).order_by(col(Volunteer.phone)))
    ]
    skills = session.exec(
        select(Volunteer.phone, VolunteerSkill.skill_code, VolunteerSkill.evidence_kind)
        .join(Volunteer, col(Volunteer.id) == col(VolunteerSkill.volunteer_id))
        .order_by(col(Volunteer.phone), col(VolunteerSkill.skill_code))
    ).all()
    return [volunteers, list(skills)]


def test_same_seed_same_data(session: Session, now: datetime) -> None:
    fingerprints = []
    for seed in (11, 11, 12):
        attempt = session.begin_nested()
        _seed(session, now, volunteers=300, seed=seed)
        fingerprints.append(_fingerprint(session))
        attempt.rollback()
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0] != fingerprints[2]


def test_second_run_adds_volunteers_with_fresh_numbers(session: Session, now: datetime) -> None:
    _seed(session, now, volunteers=200, seed=3)
    again = _seed(session, now, volunteers=200, seed=3)
    assert again.support_points_created == 0
    phones = session.exec(select(Volunteer.phone)).all()
    assert len(phones) == len(set(phones)) == 400


def test_unknown_region_is_refused(session: Session, now: datetime) -> None:
    with pytest.raises(InvalidInput):
        service.seed_region(session, region="VR99", volunteers=10, seed=1, now=now)


def test_cli_is_idempotent_with_if_empty(fresh_database: str) -> None:
    engine = make_engine(fresh_database)
    try:
        service.run_cli(engine, region="VR09", volunteers=120, if_empty=True, seed=5)
        service.run_cli(engine, region="VR09", volunteers=120, if_empty=True, seed=5)
        with session_scope(engine) as session:
            assert service.count_volunteers(session) == 120
            synthetic = session.exec(
                select(func.count()).select_from(Volunteer).where(Volunteer.synthetic == True)  # noqa: E712
            ).one()
            assert synthetic == 120
    finally:
        engine.dispose()


def test_demo_phone_prefix_is_documented_constant() -> None:
    assert population.DEMO_PHONE_PREFIX == "+3169"


def test_demo_levels_rest_on_checks_the_daily_vetting_job_keeps(
    session: Session, now: datetime
) -> None:
    """Every level is backed by the checks a coordinator would have recorded, so the daily
    vetting job (which derives levels from checks) leaves the demo population as it is."""
    from brigades.vetting import jobs
    from brigades.vetting.models import CheckKind, VettingCheck

    _seed(session, now, volunteers=400)
    before = dict(session.exec(select(Volunteer.id, Volunteer.vetting_level)).all())
    assert set(before.values()) == {0, 1, 2, 3}
    kinds: dict[int, set[CheckKind]] = {}
    for check in session.exec(select(VettingCheck)).all():
        kinds.setdefault(check.volunteer_id, set()).add(check.kind)
        assert check.checked_at <= now
    for volunteer_id, level in before.items():
        has = kinds.get(volunteer_id, set())
        assert (CheckKind.IDENTITY_SEEN in has) == (level >= 1)
        assert (CheckKind.VOG in has) == (level >= 2)
        assert (CheckKind.PROFESSIONAL_EVIDENCE in has) == (level == 3)

    report = jobs.expire_checks(session, now=now)
    session.expire_all()

    assert report.levels_changed == 0
    assert dict(session.exec(select(Volunteer.id, Volunteer.vetting_level)).all()) == before
