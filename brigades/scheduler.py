"""Periodic jobs run by the worker process: expiries, purges and retention.

Each job is a domain's own ``jobs.py`` entry point (it opens its own transaction). The scheduler
only decides *when*: every job is due at start-up and then every ``every``, by the application
clock, so tests and the drill simulator drive it like everything else. Every worker process runs
the schedule; the jobs are idempotent set-based updates ("expire what is due"), so two workers
running one at the same time do the same work once and the second finds nothing left.

Jobs run in two *lanes*, each on its own thread: ``dispatch`` (offers, replies, expiries: the
work a person is waiting for, every few seconds) and ``housekeeping`` (sweeps over the whole
population: vetting levels, retention, re-confirmation). A sweep over a million volunteers takes
minutes; in its own lane it never holds up a dispatch round, also not right after a worker
starts, when every job is due at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from brigades import clock
from brigades.db import session_scope
from brigades.settings import Settings

log = logging.getLogger(__name__)


DISPATCH = "dispatch"
HOUSEKEEPING = "housekeeping"
LANES = (DISPATCH, HOUSEKEEPING)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[Engine, Settings], object]
    lane: str = DISPATCH


def _expire_questions(engine: Engine, _settings: Settings) -> object:
    from brigades.conversation import service as conversation

    with session_scope(engine) as session:
        return conversation.expire_due(session, now=clock.now())


def _resume_pauses(engine: Engine, _settings: Settings) -> object:
    from brigades.volunteers import jobs

    return jobs.resume_ended_pauses(engine)


def _purge_rate_limits(engine: Engine, settings: Settings) -> object:
    from brigades.ratelimit import jobs

    return jobs.purge_rate_limit_buckets(engine, settings)


def _expire_vetting(engine: Engine, settings: Settings) -> object:
    from brigades.vetting import jobs

    return jobs.run_daily(engine, settings)


def _reconfirm(engine: Engine, settings: Settings) -> object:
    from brigades.readiness import jobs

    return jobs.run_reconfirmation(engine, settings)


def _retention(engine: Engine, settings: Settings) -> object:
    from brigades.privacy import jobs
    from brigades.tasks import retention  # registers the client-address purge

    assert retention.purge_client_addresses is not None

    return jobs.run_daily_retention(engine, settings)


def _task_callbacks(engine: Engine, settings: Settings) -> object:
    from brigades.tasks import jobs

    return jobs.deliver_due_callbacks(engine, settings)


def _expire_tasks(engine: Engine, _settings: Settings) -> object:
    from brigades.tasks import jobs

    return jobs.expire_due_tasks(engine)


def _dispatch(engine: Engine, settings: Settings) -> object:
    from brigades.dispatch import jobs

    return jobs.tick(engine, settings)


def _dispatch_overdue(engine: Engine, settings: Settings) -> object:
    from brigades.dispatch import jobs

    return jobs.raise_overdue(engine, settings)


def _dispatch_roll_calls(engine: Engine, settings: Settings) -> object:
    from brigades.dispatch import rollcall

    return rollcall.send_job(engine, settings)


def _start_drills(engine: Engine, settings: Settings) -> object:
    # A simulation moves its own clock, so it runs in a process of its own, never in this one.
    from brigades.drills import jobs

    return jobs.start_planned(engine, settings)


def _end_practised(engine: Engine, settings: Settings) -> object:
    from brigades.drills import jobs

    return jobs.end_practised(engine, settings)


def _watch_drills(engine: Engine, settings: Settings) -> object:
    from brigades.drills import jobs

    return jobs.watch_runs(engine, settings)


def default_jobs() -> list[PeriodicJob]:
    """The application's periodic jobs."""
    return [
        PeriodicJob("conversation.expire_questions", timedelta(minutes=1), _expire_questions),
        PeriodicJob("volunteers.resume_pauses", timedelta(minutes=5), _resume_pauses, HOUSEKEEPING),
        PeriodicJob("ratelimit.purge", timedelta(minutes=15), _purge_rate_limits, HOUSEKEEPING),
        PeriodicJob("vetting.expire_checks", timedelta(hours=1), _expire_vetting, HOUSEKEEPING),
        PeriodicJob("privacy.retention", timedelta(hours=1), _retention, HOUSEKEEPING),
        PeriodicJob("readiness.reconfirm", timedelta(hours=1), _reconfirm, HOUSEKEEPING),
        PeriodicJob("tasks.callbacks", timedelta(seconds=5), _task_callbacks),
        PeriodicJob("tasks.expire", timedelta(minutes=1), _expire_tasks),
        PeriodicJob("dispatch.tick", timedelta(seconds=2), _dispatch),
        PeriodicJob("dispatch.overdue", timedelta(minutes=1), _dispatch_overdue),
        PeriodicJob("dispatch.roll_calls", timedelta(seconds=5), _dispatch_roll_calls),
        PeriodicJob("drills.start_planned", timedelta(seconds=10), _start_drills),
        PeriodicJob("drills.end_practised", timedelta(minutes=1), _end_practised),
        PeriodicJob("drills.watch_runs", timedelta(minutes=1), _watch_drills),
    ]


class Scheduler:
    """Runs the due jobs; one failing job is logged and does not stop the others."""

    def __init__(self, engine: Engine, settings: Settings, jobs: Sequence[PeriodicJob]) -> None:
        self.engine = engine
        self.settings = settings
        self.jobs = list(jobs)
        self._next: dict[str, datetime] = {}

    def run_due(self) -> list[str]:
        """Run every job whose time has come; returns the names of the jobs that ran."""
        ran: list[str] = []
        for job in self.jobs:
            now = clock.now()
            if now < self._next.get(job.name, now):
                continue
            self._next[job.name] = now + job.every
            try:
                job.run(self.engine, self.settings)
            except Exception:
                # The worker must keep sending messages whatever one housekeeping job does;
                # the traceback goes to the log (jobs log ids, never personal data).
                log.exception("periodic job %s failed", job.name)
                continue
            ran.append(job.name)
        return ran


class SchedulerThread:
    """The scheduler's lanes, each on a daemon thread checking every ``poll_seconds``, until
    ``stop()``."""

    def __init__(self, scheduler: Scheduler, poll_seconds: float = 1.0) -> None:
        self.scheduler = scheduler
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        lanes = [lane for lane in LANES if any(job.lane == lane for job in scheduler.jobs)]
        self.lanes = {
            lane: Scheduler(
                scheduler.engine,
                scheduler.settings,
                [job for job in scheduler.jobs if job.lane == lane],
            )
            for lane in lanes
        }
        self._threads = [
            threading.Thread(
                target=self._loop, args=(lane_scheduler,), name=f"scheduler-{lane}", daemon=True
            )
            for lane, lane_scheduler in self.lanes.items()
        ]

    def _loop(self, scheduler: Scheduler) -> None:
        while not self._stop.is_set():
            scheduler.run_due()
            self._stop.wait(self.poll_seconds)

    def start(self) -> SchedulerThread:
        """Start checking."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current round of each lane."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
