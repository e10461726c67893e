"""A drill after its start: practised tasks end, the drill ends with its incident, and a
simulation whose process went quiet is marked failed (session first, flush only).

- **Practised, not done.** In a live drill nobody travels. An accepted drill task holds its slot
  until its window ends; then the system ends the assignment as done ("geoefend"), as it does
  for every one of the drill's assignments when the drill incident closes. A coordinator gets
  no overdue alarm for it (nobody went, so nobody is late), the volunteer's page no longer shows
  it, and the service record counts it among the drill tasks, apart from real ones.
- **The drill ends with its incident.** When a live or roll-call drill's incident stands down
  (closing), a last report is made as it stands then and the drill is done. The worker's job
  also ends drills whose incident closed without this hook (a process that never imported it).
- **Stuck runs.** A running simulation reports progress at least every minute
  (:data:`HEARTBEAT`); one that reported nothing for :data:`STALE_AFTER` is marked failed with
  a Dutch reason: its process crashed, was killed, or its host went away.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades.audit import service as audit
from brigades.conversation import service as questions
from brigades.dispatch import repository as dispatch_repository
from brigades.drills import report as drill_report
from brigades.drills.models import DRILL_OBJECT, Drill, DrillRun, DrillState, DrillType
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.settings import Settings
from brigades.tasks import transitions
from brigades.tasks.models import Assignment, AssignmentState, CareTask, TaskState
from brigades.tasks.states import LIVE_ASSIGNMENT_STATES

log = logging.getLogger(__name__)

BATCH = 500
HEARTBEAT = timedelta(minutes=1)
STALE_AFTER = timedelta(minutes=10)
STALE_REASON = (
    "Mislukt: de simulatie meldde {minutes} minuten geen voortgang meer (het proces is gestopt "
    "of vastgelopen). Plan haar opnieuw."
)
CLOSED_NOTE = "Afgelopen: het oefenincident is afgeschaald."


def end_practised(
    session: Session, *, now: datetime, incident_id: int | None = None, limit: int = BATCH
) -> int:
    """End live drill assignments as done: those whose task window ended, or every one of the
    drill incident ``incident_id`` (it is closing); returns how many."""
    stmt = (
        select(Assignment.id)
        .join(CareTask, col(CareTask.id) == col(Assignment.task_id))
        .join(Incident, col(Incident.id) == col(CareTask.incident_id))
        .where(
            col(Incident.kind) == IncidentKind.DRILL,
            col(Assignment.state).in_(LIVE_ASSIGNMENT_STATES),
        )
        .order_by(col(Assignment.id))
        .limit(limit)
    )
    if incident_id is None:
        stmt = stmt.where(col(CareTask.window_end) <= now)
    else:
        stmt = stmt.where(col(CareTask.incident_id) == incident_id)
    ended = 0
    for assignment_id in session.exec(stmt).all():
        if assignment_id is not None and _end_one(session, assignment_id, now=now):
            ended += 1
    return ended


def _end_one(session: Session, assignment_id: int, *, now: datetime) -> bool:
    probe = session.get(Assignment, assignment_id)
    if probe is None:
        return False
    task = dispatch_repository.lock_task(session, probe.task_id)
    session.refresh(probe)
    if task is None or probe.state not in LIVE_ASSIGNMENT_STATES:
        return False
    # assigned → checked_in → done: the state table has no shortcut, and "done" is what the
    # volunteer did here (they answered the drill).
    if probe.state is AssignmentState.ASSIGNED:
        transitions.transition_assignment(
            session, probe, AssignmentState.CHECKED_IN, actor=audit.SYSTEM, now=now
        )
    transitions.transition_assignment(
        session, probe, AssignmentState.DONE, actor=audit.SYSTEM, now=now
    )
    questions.close_questions_for_subject(
        session,
        subject_kind=dispatch_repository.ASSIGNMENT_SUBJECT,
        subject_id=assignment_id,
        now=now,
    )
    assert task.id is not None
    if not dispatch_repository.live_assignments(session, task.id):
        if task.state is TaskState.FILLED:
            transitions.transition(
                session, task, TaskState.IN_PROGRESS, actor=audit.SYSTEM, now=now
            )
        if task.state is TaskState.IN_PROGRESS:
            transitions.transition(session, task, TaskState.DONE, actor=audit.SYSTEM, now=now)
    return True


def store_report(session: Session, *, drill: Drill, settings: Settings, now: datetime) -> DrillRun:
    """A report of a live or roll-call drill as it stands now (from this database)."""
    assert drill.incident_id is not None and drill.id is not None
    built = drill_report.build(
        session,
        incident_ids=[drill.incident_id],
        settings=settings,
        title=drill.name,
        scenario=drill.scenario or "",
        until=now,
    )
    run = DrillRun(drill_id=drill.id, created_at=now, report_json=built.to_json())
    session.add(run)
    session.flush()
    return run


def _finish(session: Session, drill: Drill, *, settings: Settings, now: datetime) -> None:
    store_report(session, drill=drill, settings=settings, now=now)
    drill.state = DrillState.DONE
    drill.progress = 1.0
    drill.progress_note = CLOSED_NOTE
    drill.finished_at = now
    session.add(drill)
    audit.record(
        session,
        actor=audit.SYSTEM,
        action="drill.done",
        object_kind=DRILL_OBJECT,
        object_id=drill.id,
        vr_code=drill.vr_code,
        detail={"type": drill.type.value, "incident_id": drill.incident_id},
        now=now,
    )
    session.flush()


def on_incident_closing(
    session: Session, incident: Incident, now: datetime, settings: Settings
) -> None:
    """A drill incident stands down: its practised tasks end, its drill reports and is done."""
    if incident.kind is not IncidentKind.DRILL or incident.id is None:
        return
    while end_practised(session, now=now, incident_id=incident.id):
        pass
    running = session.exec(
        select(Drill).where(
            col(Drill.incident_id) == incident.id,
            col(Drill.state).in_((DrillState.PLANNED, DrillState.RUNNING)),
        )
    ).all()
    for drill in running:
        _finish(session, drill, settings=settings, now=now)


def end_closed(session: Session, *, settings: Settings, now: datetime) -> int:
    """Running live and roll-call drills whose incident stood down: done (with a last report)."""
    stmt = (
        select(Drill)
        .join(Incident, col(Incident.id) == col(Drill.incident_id))
        .where(
            col(Drill.type).in_((DrillType.LIVE, DrillType.ROLL_CALL)),
            col(Drill.state) == DrillState.RUNNING,
            col(Incident.state).in_((IncidentState.CLOSING, IncidentState.CLOSED)),
        )
    )
    drills = session.exec(stmt).all()
    for drill in drills:
        assert drill.incident_id is not None
        while end_practised(session, now=now, incident_id=drill.incident_id):
            pass
        _finish(session, drill, settings=settings, now=now)
    return len(drills)


def fail(session: Session, *, drill: Drill, reason: str, now: datetime) -> None:
    """Mark a drill failed, with the Dutch reason on its page."""
    drill.state = DrillState.FAILED
    drill.progress_note = reason[:200]
    drill.finished_at = now
    session.add(drill)
    audit.record(
        session,
        actor=audit.SYSTEM,
        action="drill.failed",
        object_kind=DRILL_OBJECT,
        object_id=drill.id,
        vr_code=drill.vr_code,
        detail={"type": drill.type.value, "scenario": drill.scenario},
        now=now,
    )
    session.flush()


def fail_stale(session: Session, *, now: datetime) -> int:
    """Running simulations that reported no progress for STALE_AFTER: failed; how many."""
    last = func.coalesce(Drill.progress_at, Drill.started_at, Drill.created_at)
    stale = session.exec(
        select(Drill).where(
            col(Drill.type) == DrillType.SIMULATED,
            col(Drill.state) == DrillState.RUNNING,
            last < now - STALE_AFTER,
        )
    ).all()
    reason = STALE_REASON.format(minutes=int(STALE_AFTER.total_seconds() // 60))
    for drill in stale:
        fail(session, drill=drill, reason=reason, now=now)
        log.warning("simulated drill %s reported no progress: marked failed", drill.id)
    return len(stale)


def register() -> None:
    """Register the drill's incident-closing hook (idempotent)."""
    incidents.register_on_closing(on_incident_closing)


register()
