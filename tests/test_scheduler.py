"""Periodic jobs: due at start, then every interval by the application clock; failures isolated."""

from __future__ import annotations

import logging
import resource
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from brigades import clock as clock_module
from brigades.db import make_engine
from brigades.scheduler import (
    DISPATCH,
    HOUSEKEEPING,
    PEAK_LOG_MB,
    LaneLeader,
    PeriodicJob,
    Scheduler,
    SchedulerThread,
    default_jobs,
    peak_rss_mb,
)
from brigades.settings import Settings
from tests.conftest import make_settings


def test_jobs_run_at_start_then_every_interval(
    settings: Settings, clock: clock_module.ManualClock
) -> None:
    runs: list[str] = []
    jobs = [
        PeriodicJob("a", timedelta(minutes=1), lambda e, s: runs.append("a")),
        PeriodicJob("b", timedelta(minutes=10), lambda e, s: runs.append("b")),
    ]
    scheduler = Scheduler(make_engine("sqlite://"), settings, jobs)
    assert scheduler.run_due() == ["a", "b"]
    assert scheduler.run_due() == []
    clock.advance(61)
    assert scheduler.run_due() == ["a"]
    clock.advance(timedelta(minutes=10))
    assert scheduler.run_due() == ["a", "b"]
    assert runs == ["a", "b", "a", "a", "b"]


def test_a_failing_job_is_logged_and_the_others_still_run(
    settings: Settings, clock: clock_module.ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_engine: Engine, _settings: Settings) -> None:
        raise RuntimeError("boom")

    ran: list[str] = []
    jobs = [
        PeriodicJob("broken", timedelta(minutes=1), broken),
        PeriodicJob("fine", timedelta(minutes=1), lambda e, s: ran.append("fine")),
    ]
    with caplog.at_level(logging.ERROR, logger="brigades.scheduler"):
        assert Scheduler(make_engine("sqlite://"), settings, jobs).run_due() == ["fine"]
    assert ran == ["fine"]
    assert "periodic job broken failed" in caplog.text


def test_a_job_that_raises_the_peak_memory_is_logged_with_its_name(
    settings: Settings, clock: clock_module.ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Where a worker's memory goes shows in its log (the peak only grows, so the job must pass
    the process's earlier peak)."""
    held: list[bytes] = []

    def hungry(_engine: Engine, _settings: Settings) -> None:
        with open("/proc/self/statm") as statm:
            resident_mb = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
        held.append(b"x" * int((peak_rss_mb() - resident_mb + 3 * PEAK_LOG_MB) * 2**20))

    jobs = [
        PeriodicJob("small", timedelta(minutes=1), lambda e, s: None),
        PeriodicJob("hungry", timedelta(minutes=1), hungry),
    ]
    with caplog.at_level(logging.INFO, logger="brigades.scheduler"):
        Scheduler(make_engine("sqlite://"), settings, jobs).run_due()
    held.clear()
    lines = [r.getMessage() for r in caplog.records if "peak memory" in r.getMessage()]
    assert len(lines) == 1 and "during periodic job hungry" in lines[0], lines


def test_every_default_job_runs_against_a_real_database(
    fresh_database: str, clock: clock_module.ManualClock
) -> None:
    engine = make_engine(fresh_database)
    try:
        scheduler = Scheduler(engine, make_settings(fresh_database), default_jobs())
        assert scheduler.run_due() == [job.name for job in default_jobs()]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM volunteer")).scalar_one() == 0
    finally:
        engine.dispose()


def test_a_long_housekeeping_sweep_does_not_hold_up_dispatch(settings: Settings) -> None:
    """Right after a worker starts every job is due; a sweep over the whole population (minutes
    at national scale) runs in its own lane while dispatch rounds go on."""
    sweeping = threading.Event()
    release = threading.Event()
    dispatched = threading.Event()

    def sweep(_engine: Engine, _settings: Settings) -> None:
        sweeping.set()
        release.wait(20)

    jobs = [
        PeriodicJob("vetting.sweep", timedelta(hours=1), sweep, HOUSEKEEPING),
        PeriodicJob("dispatch.tick", timedelta(seconds=2), lambda e, s: dispatched.set()),
    ]
    thread = SchedulerThread(Scheduler(make_engine("sqlite://"), settings, jobs), poll_seconds=0.05)
    thread.start()
    try:
        assert sweeping.wait(5)
        assert dispatched.wait(5), "dispatch waited for the housekeeping sweep"
        assert not release.is_set()
    finally:
        release.set()
        thread.stop()


def test_population_sweeps_are_housekeeping_and_dispatch_is_not() -> None:
    lanes = {job.name: job.lane for job in default_jobs()}
    for name in ("vetting.expire_checks", "privacy.retention", "readiness.reconfirm"):
        assert lanes[name] == HOUSEKEEPING
    for name in ("dispatch.tick", "dispatch.roll_calls", "conversation.expire_questions"):
        assert lanes[name] == DISPATCH


@pytest.mark.postgres_only
def test_one_process_at_a_time_leads_a_lane_and_another_takes_over(fresh_database: str) -> None:
    first, second = make_engine(fresh_database), make_engine(fresh_database)
    try:
        a, b = LaneLeader(first, DISPATCH), LaneLeader(second, DISPATCH)
        assert a.lead() and a.held
        assert not b.lead() and not b.held
        assert a.lead()  # kept
        assert LaneLeader(second, HOUSEKEEPING).lead()  # another lane, another lock
        a.release()
        assert b.lead()
        assert not a.lead()
        # The leader's connection dies (a crash, a restarted server): the lock goes with it.
        with first.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                )
            )
        assert not b.lead()  # noticed at the next check
        assert a.lead()
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.postgres_only
def test_two_workers_share_the_lanes_and_one_takes_over_when_the_other_stops(
    fresh_database: str,
) -> None:
    ran: dict[str, set[str]] = {DISPATCH: set(), HOUSEKEEPING: set()}
    lock = threading.Lock()

    def job(lane: str, who: str) -> PeriodicJob:
        def run(_engine: Engine, _settings: Settings) -> None:
            with lock:
                ran[lane].add(who)

        return PeriodicJob(f"{lane}.job", timedelta(0), run, lane)

    def worker(who: str) -> SchedulerThread:
        engine = make_engine(fresh_database)
        jobs = [job(DISPATCH, who), job(HOUSEKEEPING, who)]
        scheduler = Scheduler(engine, make_settings(fresh_database), jobs)
        return SchedulerThread(scheduler, poll_seconds=0.1)

    # Started together, as the processes of a deployment are.
    one, two = worker("one"), worker("two")
    one.start()
    two.start()
    stopped_one = False
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(ran.values()):
            time.sleep(0.05)
        # Each lane ran in one worker only, and the two workers took one lane each.
        assert all(len(who) == 1 for who in ran.values()), ran
        assert ran[DISPATCH] != ran[HOUSEKEEPING], ran
        leader_of_dispatch = next(iter(ran[DISPATCH]))
        leader, other = (one, two) if leader_of_dispatch == "one" else (two, one)
        assert leader.stop() == []
        stopped_one = True
        with lock:
            ran[DISPATCH].clear()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not ran[DISPATCH]:
            time.sleep(0.05)
        assert ran[DISPATCH] == {"two" if leader_of_dispatch == "one" else "one"}
        assert other.leaders[DISPATCH].held and other.leaders[HOUSEKEEPING].held
    finally:
        for thread in (one, two):
            if not (stopped_one and thread is leader):
                thread.stop()
        for thread in (one, two):
            thread.scheduler.engine.dispose()
