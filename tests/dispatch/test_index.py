"""The candidate index as loaded from the database, and tasks turned into its queries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from brigades import clock as clock_module
from brigades.db import make_engine, session_scope
from brigades.dispatch import eligibility, index
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.tasks.models import CareTask, Offer, OfferState
from brigades.volunteers.models import PreferredChannel, VolunteerStatus
from tests.dispatch.factories import incident, ready_volunteer
from tests.tasks.factories import draft, make_task


@pytest.fixture(autouse=True, params=["one partition", "a row per partition"])
def partitions(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test with the tables read at once and row by row (the build streams them)."""
    if request.param == "a row per partition":
        monkeypatch.setattr(index, "STREAM_ROWS", 1)
    index.invalidate()


def found(
    session: Session,
    task: CareTask,
    settings: Settings,
    *,
    radius_km: float = 10,
    exclude: frozenset[int] = frozenset(),
    boost: frozenset[int] = frozenset(),
    regions: frozenset[str] = frozenset({"VR09"}),
) -> list[int]:
    return [
        c.volunteer_id
        for c in index.find_candidates(
            session,
            task=task,
            radius_km=radius_km,
            limit=50,
            exclude=exclude,
            boost=boost,
            allowed_vr_codes=regions,
            settings=settings,
            now=clock_module.now(),
        )
    ]


def task_at(
    session: Session,
    start: datetime,
    *,
    hours: float,
    minutes: int,
    type_code: str = "boodschappen",
) -> CareTask:
    return make_task(
        session,
        incident(session),
        task_draft=draft(type_code=type_code, start=start, hours=hours, duration_minutes=minutes),
    )


def test_only_dispatchable_volunteers_are_loaded(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    ok = ready_volunteer(session, km=1)
    pause_over = ready_volunteer(session, km=1.1, status=VolunteerStatus.PAUSED)
    pause_over.paused_until = now - timedelta(hours=1)
    paused = ready_volunteer(session, km=1.2, status=VolunteerStatus.PAUSED)
    paused.paused_until = now + timedelta(days=2)
    opted_out = ready_volunteer(session, km=1.3, opted_out=True)
    web = ready_volunteer(session, km=1.4, opted_out=True, channel=PreferredChannel.WEB)
    erased = ready_volunteer(session, km=1.5, status=VolunteerStatus.ERASED)
    erased.erased_at = now
    unverified = ready_volunteer(session, km=1.6)
    unverified.phone_verified_at = None
    dormant = ready_volunteer(session, km=1.7, status=VolunteerStatus.DORMANT)
    too_low = ready_volunteer(session, km=1.8, level=0)
    no_skill = ready_volunteer(session, km=1.9, skills=("maaltijden",))
    elsewhere = ready_volunteer(session, km=2.0, vr_code="VR10")
    session.flush()
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)

    ids = found(session, task, settings)
    assert set(ids) == {ok.id, pause_over.id, web.id}
    assert ids == [ok.id, pause_over.id, web.id]  # nearest first
    for out in (paused, opted_out, erased, unverified, dormant, too_low, no_skill, elsewhere):
        assert out.id not in ids
    index.invalidate()
    assert elsewhere.id in found(session, task, settings, regions=frozenset({"VR09", "VR10"}))


def test_skills_count_only_with_live_and_sufficient_evidence(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    care = ("lichte_persoonlijke_verzorging",)
    expired = ready_volunteer(session, km=1, evidence_expires_at=now - timedelta(days=1))
    live = ready_volunteer(session, km=1.1, evidence_expires_at=now + timedelta(days=1))
    groceries = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)
    assert found(session, groceries, settings) == [live.id]

    index.invalidate()
    word_only = ready_volunteer(
        session, km=1, skills=care, level=3, evidence=EvidenceKind.WORK_EXPERIENCE
    )
    diploma = ready_volunteer(
        session, km=1.2, skills=care, level=3, evidence=EvidenceKind.DIPLOMA, verified=True
    )
    lapsed = ready_volunteer(
        session,
        km=1.3,
        skills=care,
        level=3,
        evidence=EvidenceKind.DIPLOMA,
        verified=True,
        evidence_expires_at=now - timedelta(minutes=1),
    )
    personal_care = task_at(
        session, now + timedelta(hours=2), hours=3, minutes=60, type_code=care[0]
    )
    ids = found(session, personal_care, settings)
    assert ids == [diploma.id]
    assert word_only.id not in ids and lapsed.id not in ids and expired.id not in ids


def test_availability_follows_amsterdam_time_across_daylight_saving(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    clock.set(datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    sunday, wednesday = 6, 2
    # Summer time starts Sunday 28 March 2027 at 02:00 (clocks jump to 03:00).
    split = ready_volunteer(session, km=1, windows=[(sunday, 60, 120), (sunday, 180, 240)])
    wall_clock_two = ready_volunteer(session, km=1.1, windows=[(sunday, 60, 180)])
    ten_to_noon = ready_volunteer(session, km=1.2, windows=[(wednesday, 600, 720)])
    # 00:00-02:00 UTC that night is 01:00-01:59 CET and 03:00-03:59 CEST: two real hours.
    night = task_at(session, datetime(2027, 3, 28, 0, 0, tzinfo=UTC), hours=2, minutes=120)
    assert found(session, night, settings) == [split.id]
    # 08:00-10:00 UTC is 09:00-11:00 in winter and 10:00-12:00 in summer.
    winter = task_at(session, datetime(2027, 3, 24, 8, 0, tzinfo=UTC), hours=2, minutes=120)
    summer = task_at(session, datetime(2027, 3, 31, 8, 0, tzinfo=UTC), hours=2, minutes=120)
    assert found(session, winter, settings) == []
    assert found(session, summer, settings) == [ten_to_noon.id]
    # The database check agrees on every case.
    windows = {
        split.id: [(sunday, 60, 120), (sunday, 180, 240)],
        wall_clock_two.id: [(sunday, 60, 180)],
        ten_to_noon.id: [(wednesday, 600, 720)],
    }
    for task, expected in ((night, {split.id}), (winter, set()), (summer, {ten_to_noon.id})):
        agree = {
            v
            for v, w in windows.items()
            if eligibility.is_available(
                w,
                clock_module.as_utc(task.window_start),
                clock_module.as_utc(task.window_end),
                task.duration_minutes,
            )
        }
        assert agree == expected


def test_work_may_start_on_any_hour_inside_the_window(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    tuesday = 1
    late = ready_volunteer(session, km=1, windows=[(tuesday, 15 * 60, 17 * 60)])
    half_hour_short = ready_volunteer(session, km=1.1, windows=[(tuesday, 15 * 60 + 30, 17 * 60)])
    # Tuesday 24 Nov, 10:30-17:00 local, one hour of work: 15:00 or 16:00 will do.
    task = task_at(session, datetime(2026, 11, 24, 9, 30, tzinfo=UTC), hours=6.5, minutes=60)
    ids = found(session, task, settings)
    assert late.id in ids
    assert half_hour_short.id in ids  # 16:00-17:00 is fully covered


def test_exclude_boost_and_recent_load(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    near = ready_volunteer(session, km=0.5)
    busy = ready_volunteer(session, km=0.5)
    far = ready_volunteer(session, km=4)
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)
    other = task_at(session, now + timedelta(hours=5), hours=3, minutes=60)
    assert other.id is not None and busy.id is not None
    for hours_ago in (1, 30, 60):  # three answered offers this week
        at = now - timedelta(hours=hours_ago)
        session.add(
            Offer(
                task_id=other.id,
                volunteer_id=busy.id,
                state=OfferState.DECLINED,
                created_at=at,
                expires_at=at + timedelta(minutes=15),
                answered_at=at,
                state_changed_at=at,
            )
        )
    session.flush()
    assert found(session, task, settings) == [near.id, busy.id, far.id]
    assert found(session, task, settings, exclude=frozenset({near.id or 0})) == [busy.id, far.id]
    assert found(session, task, settings, boost=frozenset({far.id or 0})) == [
        far.id,
        near.id,
        busy.id,
    ]
    for _ in range(4):  # offers made in this process since the snapshot
        index.note_offered([near.id or 0])
    assert found(session, task, settings) == [busy.id, near.id, far.id]


def age_past_max(clock: clock_module.ManualClock, settings: Settings) -> None:
    """Let the cached snapshot grow one second older than the configured max age."""
    clock.advance(settings.dispatch_index_max_age_seconds + 1)


def test_snapshot_refreshes_after_max_age(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    first = ready_volunteer(session, km=1)
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)
    assert found(session, task, settings) == [first.id]
    second = ready_volunteer(session, km=0.5)
    assert found(session, task, settings) == [first.id]  # stale within the max age
    age_past_max(clock, settings)
    assert found(session, task, settings) == [second.id, first.id]


def test_many_tasks_at_once_match_one_by_one(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    for i in range(12):
        ready_volunteer(session, km=0.3 * i)
    tasks = [task_at(session, now + timedelta(hours=2 + i), hours=3, minutes=60) for i in range(3)]
    requests = [index.CandidateRequest(t, 5.0, 4, frozenset(), frozenset({"VR09"})) for t in tasks]
    many = index.find_candidates_many(
        session, requests=requests, boost=frozenset(), settings=settings, now=now
    )
    for t, got in zip(tasks, many, strict=True):
        one = index.find_candidates(
            session,
            task=t,
            radius_km=5.0,
            limit=4,
            exclude=frozenset(),
            boost=frozenset(),
            allowed_vr_codes=frozenset({"VR09"}),
            settings=settings,
            now=now,
        )
        assert got == one


def test_snapshot_holds_the_regions_searched_and_adds_a_new_one_at_once(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    here = ready_volunteer(session, km=1)
    helper = ready_volunteer(session, km=1.5, vr_code="VR10")
    ready_volunteer(session, km=2, vr_code="VR11")
    session.flush()
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)

    assert found(session, task, settings) == [here.id]
    snap = index.snapshot(session, settings=settings, now=now, regions={"VR09"})
    assert snap.covers == {"VR09"}
    assert len(snap.index) == 1  # not the other regions' volunteers
    # Mutual aid approved: the next search in VR10 finds its volunteer without waiting for the
    # snapshot to age, and the incident's own region stays in.
    both = frozenset({"VR09", "VR10"})
    assert found(session, task, settings, regions=both) == [here.id, helper.id]
    snap = index.snapshot(session, settings=settings, now=now, regions=both)
    assert snap.covers == both
    assert len(snap.index) == 2
    assert found(session, task, settings) == [here.id]  # the region filter still applies


def test_a_region_nobody_searched_leaves_the_next_snapshot(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    ready_volunteer(session, km=1)
    helper = ready_volunteer(session, km=1.5, vr_code="VR10")
    session.flush()
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)
    found(session, task, settings)
    found(session, task, settings, regions=frozenset({"VR10"}))  # rebuilt with VR10 added
    found(session, task, settings)
    # Both regions searched in this snapshot: a rebuild after the max age keeps both.
    age_past_max(clock, settings)
    assert found(session, task, settings, regions=frozenset({"VR10"})) == [helper.id]
    snap = index.snapshot(session, settings=settings, now=clock.now(), regions={"VR10"})
    assert snap.covers == {"VR09", "VR10"}
    # Only VR10 searched in that snapshot's life: the next one holds VR10 alone.
    age_past_max(clock, settings)
    assert found(session, task, settings, regions=frozenset({"VR10"})) == [helper.id]
    snap = index.snapshot(session, settings=settings, now=clock.now(), regions={"VR10"})
    assert snap.covers == {"VR10"}
    # A search of every region builds them all.
    assert index.snapshot(session, settings=settings, now=clock.now()).covers is None


def test_a_slow_build_is_kept_longer_than_the_max_age(
    session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    now = clock.now()
    first = ready_volunteer(session, km=1)
    task = task_at(session, now + timedelta(hours=2), hours=3, minutes=60)
    assert found(session, task, settings) == [first.id]
    snap = index.snapshot(session, settings=settings, now=now, regions={"VR09"})
    # As if the build had taken 100 s (a country at a million volunteers takes minutes):
    snap.build_seconds = 100.0
    second = ready_volunteer(session, km=0.5)
    age_past_max(clock, settings)
    assert found(session, task, settings) == [first.id]  # kept: not rebuilt back to back
    clock.advance(index.REBUILD_FACTOR * 100)
    assert found(session, task, settings) == [second.id, first.id]


def test_a_stale_snapshot_is_searched_while_a_new_one_builds_beside_it(
    fresh_database: str, clock: clock_module.ManualClock, settings: Settings
) -> None:
    """On the worker's engine a stale snapshot answers at once and a new one is built on a
    connection of its own; the searches after it see the volunteer who signed up meanwhile."""
    engine = make_engine(fresh_database)

    def search() -> list[int]:
        with Session(engine) as session:
            task = session.get(CareTask, task_id)
            assert task is not None
            return found(session, task, settings)

    try:
        with session_scope(engine) as setup:
            first_id = ready_volunteer(setup, km=1).id
            task_id = task_at(setup, clock.now() + timedelta(hours=2), hours=3, minutes=60).id
        assert search() == [first_id]
        with session_scope(engine) as later:
            second_id = ready_volunteer(later, km=0.5).id
        age_past_max(clock, settings)
        assert search() == [first_id]  # the stale one, not waited for
        deadline = time.monotonic() + 10
        while (ids := search()) != [second_id, first_id]:
            assert time.monotonic() < deadline, ids
            time.sleep(0.02)
    finally:
        engine.dispose()
