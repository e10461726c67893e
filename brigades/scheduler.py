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

On PostgreSQL each lane runs in one process of the installation at a time, its *leader*: the
process holding the lane's advisory lock (:class:`LaneLeader`). Every worker process keeps
checking, and when the leader stops or dies (its connection closes, the server lets go of the
lock) another takes over within seconds. Two processes running the same round only competed:
they planned the same due tasks twice, waited on each other's task locks and each kept a
candidate index in memory, and two population sweeps over a million volunteers doubled the
database's work. A process that leads one lane leaves the other to a process that leads none
(it asks for it only every :data:`YIELD_POLLS` polls), so two workers share the lanes.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from brigades import clock
from brigades.db import session_scope
from brigades.settings import Settings

log = logging.getLogger(__name__)


DISPATCH = "dispatch"
HOUSEKEEPING = "housekeeping"
LANES = (DISPATCH, HOUSEKEEPING)
# A periodic job during which the process's peak memory grew by this much is logged.
PEAK_LOG_MB = 16.0


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
            peak_before = peak_rss_mb()
            started = time.perf_counter()
            try:
                job.run(self.engine, self.settings)
            except Exception:
                # The worker must keep sending messages whatever one housekeeping job does;
                # the traceback goes to the log (jobs log ids, never personal data).
                log.exception("periodic job %s failed", job.name)
                continue
            finally:
                _note_peak(job.name, peak_before, time.perf_counter() - started)
            ran.append(job.name)
        return ran


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _note_peak(job: str, before_mb: float, seconds: float) -> None:
    # Where a worker's memory goes: a job during which the process's peak grew is logged (the
    # other lane and the sending threads run meanwhile, so it is "during", not "by").
    after_mb = peak_rss_mb()
    if after_mb - before_mb >= PEAK_LOG_MB:
        log.info(
            "peak memory rose to %.0f MB (+%.0f MB) during periodic job %s (%.1f s)",
            after_mb,
            after_mb - before_mb,
            job,
            seconds,
        )


# A process leading one lane asks for another only every this many polls (see the module doc).
YIELD_POLLS = 5


class LaneLeader:
    """Whether this process runs a lane now (see the module doc); always on SQLite.

    The lock is a session-level ``pg_try_advisory_lock`` on a connection of its own in
    autocommit (no transaction is held open), checked with a round trip at every poll so a lost
    connection is noticed and the lane given up.
    """

    def __init__(self, engine: Engine, lane: str) -> None:
        self.engine = engine
        self.lane = lane
        self._shared = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lane (as of the last check)."""
        return not self._shared or self._conn is not None

    def lead(self) -> bool:
        """Take or keep the lane; False while another process holds it."""
        if not self._shared:
            return True
        try:
            if self._conn is not None:
                self._conn.execute(text("SELECT 1"))
                return True
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = conn.execute(
                    text("SELECT pg_try_advisory_lock(hashtext(:key))"),
                    {"key": f"zorgbrigade.lane.{self.lane}"},
                ).scalar_one()
            except BaseException:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._conn = conn
            log.info("this process now runs the %s jobs", self.lane)
            return True
        except DBAPIError as exc:
            log.warning("lane %s: database unreachable (%s)", self.lane, type(exc).__name__)
            self.release()
            return False

    def release(self) -> None:
        """Give the lane up (closing the connection releases the lock)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # not back to the pool: a pooled connection keeps the lock
            finally:
                conn.close()


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
        self.leaders = {lane: LaneLeader(scheduler.engine, lane) for lane in self.lanes}
        self._threads = [
            threading.Thread(target=self._loop, args=(lane,), name=f"scheduler-{lane}", daemon=True)
            for lane in self.lanes
        ]

    def _loop(self, lane: str) -> None:
        scheduler, leader = self.lanes[lane], self.leaders[lane]
        polls = 0
        try:
            while not self._stop.is_set():
                polls += 1
                leads_other = any(
                    other.held for name, other in self.leaders.items() if name != lane
                )
                # The first lane is asked for at once, the others a poll later: a process
                # starting alone leads them all, two starting together take one lane each.
                first_poll = polls == 1 and lane != next(iter(self.lanes))
                ask = leader.held or (not leads_other and not first_poll)
                ask = ask or polls % YIELD_POLLS == 0
                if ask and leader.lead():
                    scheduler.run_due()
                self._stop.wait(self.poll_seconds)
        finally:
            leader.release()

    def start(self) -> SchedulerThread:
        """Start checking."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> list[str]:
        """Stop after the current round of each lane; returns the lanes still running after
        ``timeout`` seconds (a sweep over the whole population can take longer)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        return [t.name for t in self._threads if t.is_alive()]
