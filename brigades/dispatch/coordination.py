"""What coordinators do with the dispatcher: acknowledge its alerts, re-offer a task.

Both are for those who run the incident (administrators, regional coordinators; drill leads
only in drills), within their regions; both are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.dispatch import repository, rollcall, service
from brigades.dispatch.models import DispatchAlert, TaskDispatch
from brigades.errors import Conflict, NotFound
from brigades.incidents.models import Incident, IncidentState
from brigades.settings import Settings
from brigades.tasks.models import CareTask

ALERT_OBJECT = "dispatch_alert"


def open_alerts(session: Session, incident: Incident) -> Sequence[DispatchAlert]:
    """The incident's alerts nobody acknowledged yet, newest first."""
    assert incident.id is not None
    return repository.open_alerts(session, incident.id)


def recent_alerts(
    session: Session, incident: Incident, *, limit: int = 50
) -> Sequence[DispatchAlert]:
    """The incident's alerts, acknowledged or not, newest first."""
    stmt = (
        select(DispatchAlert)
        .where(col(DispatchAlert.incident_id) == incident.id)
        .order_by(col(DispatchAlert.id).desc())
        .limit(limit)
    )
    return session.exec(stmt).all()


def acknowledge(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    incident: Incident,
    alert_id: int,
    now: datetime,
) -> DispatchAlert:
    """Mark one of the incident's alerts as seen (idempotent)."""
    rollcall.require_may_run(scope, incident)
    alert = session.get(DispatchAlert, alert_id)
    if alert is None or alert.incident_id != incident.id:
        raise NotFound(NOT_FOUND)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by_user_id = scope.user_id
        session.add(alert)
        audit.record(
            session,
            actor=actor,
            action="dispatch_alert.acknowledged",
            object_kind=ALERT_OBJECT,
            object_id=alert.id,
            vr_code=alert.vr_code,
            detail={"incident_id": alert.incident_id, "kind": alert.kind.value},
            now=now,
        )
    return alert


def reoffer(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    task: CareTask,
    settings: Settings,
    widen: bool,
    now: datetime,
) -> TaskDispatch:
    """Offer the task again now ("opnieuw aanbieden"), optionally with a wider radius."""
    incident = session.get(Incident, task.incident_id)
    if incident is None:
        raise NotFound(NOT_FOUND)
    rollcall.require_may_run(scope, incident)
    scope.require_region(task.vr_code)
    if incident.state is not IncidentState.OPEN:
        raise Conflict("Het incident is niet meer open.")
    if task.state not in service.DISPATCHABLE:
        raise Conflict("Deze taak kan niet meer worden aangeboden.")
    if task.window_end <= now:
        raise Conflict("Het tijdvak van deze taak is voorbij.")
    locked = repository.lock_task(session, task.id or 0)
    if locked is None:
        raise NotFound(NOT_FOUND)
    return service.reoffer(
        session, task=locked, settings=settings, actor=actor, widen=widen, now=now
    )
