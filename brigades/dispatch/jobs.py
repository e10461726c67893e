"""The dispatcher's worker jobs: new tasks, due waves, expiring offers, overdue assignments.

Every timer is a row (``task_dispatch.due_at``, ``offer.expires_at``, the task window), so a
restarted worker picks up where the last one stopped. The due waves of an incident run up to
:data:`WAVE_BATCH` tasks to a short transaction (:func:`brigades.dispatch.service.run_waves`),
each wave in its own savepoint; on PostgreSQL several workers may run these jobs at once — the
task row locks (``SKIP LOCKED``) leave a task another worker holds to it, and a task whose wave
another worker has just run is no longer due.

When an incident has several tasks due at once, the wave is planned jointly first
(:mod:`brigades.dispatch.planning`): an optimal matching decides whom to offer which task, so
the nearest volunteer of two tasks is not asked for both while another sits idle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session

from brigades import clock
from brigades.db import session_scope
from brigades.dispatch import acceptance, messages, planning, repository, service
from brigades.dispatch.models import AlertKind
from brigades.settings import Settings
from brigades.tasks.models import Assignment, CareTask

log = logging.getLogger(__name__)

BATCH = 500
# Due tasks of one incident waved in one transaction (see :func:`run_round`); 1 is the old way,
# one transaction per task.
WAVE_BATCH = 50
# Opens one transaction (the worker: ``session_scope(engine)``; a test: its own session).
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one run of the dispatch job did."""

    enlisted: int = 0
    expired: int = 0
    waves: int = 0
    offers: int = 0
    unfillable: int = 0


def tick(engine: Engine, settings: Settings) -> TickReport:
    """The periodic job: one round of :func:`run_round` on the worker's engine."""
    return run_round(partial(session_scope, engine), settings)


def run_round(
    sessions: SessionFactory, settings: Settings, *, wave_batch: int = WAVE_BATCH
) -> TickReport:
    """One round: expire due offers, enlist new tasks, run every due wave (planned ones first).

    The due waves of an incident run ``wave_batch`` tasks to a transaction
    (:func:`brigades.dispatch.service.run_waves`): the batch's tasks are locked up front with
    ``SKIP LOCKED`` (another worker's tasks are left to it), what every wave of the incident
    needs is read once, and each task's wave runs in its own savepoint, so a wave that fails
    is rolled back alone (its task stays due for the next round) and the others are committed.
    ``wave_batch=1`` runs one :func:`~brigades.dispatch.service.run_wave` per transaction, as
    before: there a failing wave ends the round.
    """
    now = clock.now()
    expired = 0
    with sessions() as session:
        offer_ids = repository.expired_offer_ids(session, now=now, limit=BATCH)
    for offer_id in offer_ids:
        with sessions() as session:
            expired += acceptance.expire_offer(session, offer_id=offer_id, now=now)
    with sessions() as session:
        enlisted = planning.enlist_new_tasks(session, settings=settings, now=now)
    with sessions() as session:
        due = repository.due_task_ids(session, now=now, limit=BATCH)
    waves = offers = unfillable = 0
    by_incident: dict[int, list[int]] = {}
    for incident_id, task_id in due:
        by_incident.setdefault(incident_id, []).append(task_id)
    for incident_id, task_ids in by_incident.items():
        plan: dict[int, service.Planned] = {}
        if len(task_ids) >= settings.dispatch_joint_min_tasks:
            with sessions() as session:
                plan = planning.plan_jointly(
                    session, incident_id=incident_id, task_ids=task_ids, settings=settings, now=now
                )
        # Tasks the plan gave volunteers go first, so the others do not take those volunteers.
        ordered = sorted(task_ids, key=lambda t: t not in plan)
        for first in range(0, len(ordered), max(wave_batch, 1)):
            chunk = ordered[first : first + max(wave_batch, 1)]
            with sessions() as session:
                if wave_batch <= 1:
                    results = [
                        service.run_wave(
                            session,
                            task_id=chunk[0],
                            settings=settings,
                            now=now,
                            planned=plan.get(chunk[0]),
                            only_if_due=True,
                        )
                    ]
                else:
                    results = service.run_waves(
                        session, task_ids=chunk, settings=settings, now=now, plans=plan
                    )
            for result in results:
                waves += result.offers > 0
                offers += result.offers
                unfillable += result.unfillable
    return TickReport(
        enlisted=enlisted, expired=expired, waves=waves, offers=offers, unfillable=unfillable
    )


def raise_overdue(engine: Engine, settings: Settings) -> int:
    """The periodic job: alert coordinators of assignments unfinished well after their window."""
    return raise_overdue_in(partial(session_scope, engine), settings)


def raise_overdue_in(sessions: SessionFactory, settings: Settings) -> int:
    """Alert the coordinators of assignments still not finished well after their window."""
    now = clock.now()
    raised = 0
    with sessions() as session:
        ended_before = now - timedelta(minutes=settings.dispatch_overdue_minutes)
        for assignment_id in repository.overdue_assignment_ids(
            session, ended_before=ended_before, limit=BATCH
        ):
            assignment = session.get(Assignment, assignment_id)
            task = session.get(CareTask, assignment.task_id) if assignment else None
            if assignment is None or task is None or task.id is None:
                continue
            service.raise_alert(
                session,
                task=task,
                kind=AlertKind.OVERDUE,
                message=messages.overdue(task.id, task.window_end),
                assignment_id=assignment_id,
                now=now,
            )
            raised += 1
    return raised
