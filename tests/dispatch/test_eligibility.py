"""Who may be offered a task: each rule of the eligibility re-check excludes the right people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from brigades import clock as clock_module
from brigades.clock import ManualClock
from brigades.dispatch import eligibility
from brigades.skills.models import EvidenceKind
from brigades.tasks.models import CareTask
from brigades.volunteers.models import PreferredChannel, Volunteer, VolunteerStatus
from tests.conftest import make_settings
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.tasks.factories import make_assignment, make_offer

CAPS = eligibility.Caps(offers_per_day=2, assignments_per_day=2, rest=timedelta(minutes=60))


def _eligible(
    session: Session, care_task: CareTask, *people: Volunteer, radius: float = 5.0
) -> set[int]:
    found = eligibility.eligible(
        session,
        task=care_task,
        needs=eligibility.needs_of(session, care_task),
        volunteer_ids=[p.id for p in people if p.id is not None],
        radius_km=radius,
        allowed_vr_codes={"VR09"},
        excluded=set(),
        caps=CAPS,
        now=clock_module.now(),
    )
    return set(found)


def test_a_ready_volunteer_nearby_is_eligible_with_the_distance(
    session: Session, clock: ManualClock
) -> None:
    care_task = task(session, incident(session))
    near = ready_volunteer(session, km=1.5)
    found = eligibility.eligible(
        session,
        task=care_task,
        needs=eligibility.needs_of(session, care_task),
        volunteer_ids=[near.id or 0],
        radius_km=5,
        allowed_vr_codes={"VR09"},
        excluded=set(),
        caps=CAPS,
        now=clock.now(),
    )
    assert list(found) == [near.id]
    assert found[near.id or 0] == pytest.approx(1.5, abs=0.01)


def test_each_rule_excludes(session: Session, clock: ManualClock) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident)
    ok = ready_volunteer(session)
    paused = ready_volunteer(session, status=VolunteerStatus.PAUSED)
    paused.paused_until = clock.now() + timedelta(days=2)
    dormant = ready_volunteer(session, status=VolunteerStatus.DORMANT)
    opted_out = ready_volunteer(session, opted_out=True)
    web_only = ready_volunteer(session, opted_out=True, channel=PreferredChannel.WEB)
    unverified = ready_volunteer(session)
    unverified.phone_verified_at = None
    low_level = ready_volunteer(session, level=0)
    no_skill = ready_volunteer(session, skills=())
    expired_skill = ready_volunteer(session, evidence_expires_at=clock.now() - timedelta(days=1))
    too_far_for_them = ready_volunteer(session, km=4, max_distance_km=3)
    outside_radius = ready_volunteer(session, km=6, max_distance_km=20)
    other_region = ready_volunteer(session, vr_code="VR13")
    never_free = ready_volunteer(session, windows=[])
    erased = ready_volunteer(session)
    erased.erased_at = clock.now()
    session.flush()
    everyone = [
        ok,
        paused,
        dormant,
        opted_out,
        web_only,
        unverified,
        low_level,
        no_skill,
        expired_skill,
        too_far_for_them,
        outside_radius,
        other_region,
        never_free,
        erased,
    ]
    assert _eligible(session, care_task, *everyone) == {ok.id, web_only.id}


def test_a_pause_that_has_ended_does_not_exclude(session: Session, clock: ManualClock) -> None:
    care_task = task(session, incident(session))
    back = ready_volunteer(session, status=VolunteerStatus.PAUSED)
    back.paused_until = clock.now() - timedelta(minutes=1)
    session.flush()
    assert _eligible(session, care_task, back) == {back.id}


def test_care_skills_need_verified_documentary_evidence(
    session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    care = task(session, the_incident, type_code="lichte_persoonlijke_verzorging")
    needs = eligibility.needs_of(session, care)
    if not any(e is not EvidenceKind.SELF_DECLARED for e in needs.min_evidence.values()):
        pytest.skip("the seeded care task type has no skill that asks for documents")
    skills = needs.skills
    word_only = ready_volunteer(session, skills=skills, level=3)
    unverified_diploma = ready_volunteer(
        session, skills=skills, level=3, evidence=EvidenceKind.DIPLOMA
    )
    verified_diploma = ready_volunteer(
        session, skills=skills, level=3, evidence=EvidenceKind.DIPLOMA, verified=True
    )
    assert _eligible(session, care, word_only, unverified_diploma, verified_diploma) == {
        verified_diploma.id
    }


def test_busy_capped_and_already_offered_are_excluded(session: Session, clock: ManualClock) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident, start_in=timedelta(hours=3))
    overlapping = task(session, the_incident, start_in=timedelta(hours=2))
    just_after_rest = task(session, the_incident, start_in=timedelta(hours=6, minutes=1))
    busy = ready_volunteer(session)
    make_assignment(session, overlapping, busy)
    rested = ready_volunteer(session)
    make_assignment(session, just_after_rest, rested)
    capped = ready_volunteer(session)
    for _ in range(2):
        make_offer(session, task(session, the_incident, start_in=timedelta(days=1)), capped)
    asked = ready_volunteer(session)
    make_offer(session, care_task, asked)
    free = ready_volunteer(session)
    assert _eligible(session, care_task, busy, rested, capped, asked, free) == {rested.id, free.id}


def test_availability_needs_the_duration_inside_the_window(
    session: Session, clock: ManualClock
) -> None:
    # Monday 23 November 2026, 10:00-12:00 Amsterdam (09:00-11:00 UTC), 60 minutes of work.
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    end = start + timedelta(hours=2)
    assert eligibility.is_available([(0, 9 * 60, 11 * 60)], start, end, 60)
    assert not eligibility.is_available([(0, 11 * 60 + 30, 13 * 60)], start, end, 60)
    assert eligibility.is_available([(0, 11 * 60, 13 * 60)], start, end, 60)
    assert not eligibility.is_available([(1, 10 * 60, 12 * 60)], start, end, 60)
    # Two windows that meet at midnight make one stretch (Sunday 23:00 - Monday 01:00).
    night = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
    assert eligibility.is_available(
        [(6, 23 * 60, 1440), (0, 0, 60)], night, night + timedelta(hours=2), 120
    )


def test_availability_follows_the_wall_clock_across_daylight_saving(clock: ManualClock) -> None:
    # Summer: 10:00 in Amsterdam is 08:00 UTC; winter: 09:00 UTC. A 10-11 window holds both.
    summer = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)  # Monday
    winter = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday
    window = [(0, 10 * 60, 11 * 60)]
    assert eligibility.is_available(window, summer, summer + timedelta(hours=1), 60)
    assert eligibility.is_available(window, winter, winter + timedelta(hours=1), 60)
    assert not eligibility.is_available(window, winter - timedelta(hours=1), winter, 60)


def test_caps_follow_the_level_and_settings() -> None:
    settings = make_settings("sqlite://", dispatch_assignments_per_day=3, dispatch_rest_minutes=30)
    caps = eligibility.caps_for(settings, 4)
    assert caps == eligibility.Caps(
        offers_per_day=4, assignments_per_day=3, rest=timedelta(minutes=30)
    )
