"""The coordinators' dispatch API: roll-calls, mutual aid, alerts and re-offers.

Incident-bound resources live under ``/api/v1/incidents/{incident_id}/…`` (the incident must
be in the caller's regions, 404 otherwise); a mutual-aid request is also reached by the region
asked for help, whose coordinators cannot see the incident itself, under
``/api/v1/mutual-aid/{aid_id}/…``.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlmodel import Session

from brigades import clock
from brigades.accounts.deps import CurrentScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.dispatch import coordination, mutual_aid, rollcall
from brigades.dispatch.deps import AlertId, RollCallId, ScopedAid
from brigades.dispatch.models import DispatchAlert, MutualAid, RollCall
from brigades.dispatch.schemas import (
    AlertPublic,
    MutualAidCreate,
    MutualAidPublic,
    Reoffer,
    ReofferPublic,
    RollCallCreate,
    RollCallPreviewPublic,
    RollCallPublic,
)
from brigades.incidents.deps import IncidentReader, IncidentRunner, ScopedIncident
from brigades.incidents.models import Incident
from brigades.tasks.deps import ScopedTask
from brigades.volunteers.schemas import error_responses

router = APIRouter(prefix="/api/v1", tags=["dispatch"])


def roll_call_public(session: Session, roll_call: RollCall) -> RollCallPublic:
    """A roll-call with its progress and answers."""
    found = rollcall.status(session, roll_call, now=clock.now())
    assert roll_call.id is not None
    return RollCallPublic(
        id=roll_call.id,
        incident_id=roll_call.incident_id,
        vr_code=roll_call.vr_code,
        state=roll_call.state,
        running=found.state == "open",
        hours=roll_call.hours,
        drill=roll_call.drill,
        opened_at=roll_call.opened_at,
        ends_at=roll_call.ends_at,
        closed_at=roll_call.closed_at,
        recipients=roll_call.recipients,
        sent=roll_call.sent,
        sending_done=not found.sending,
        answered_yes=found.yes,
        answered_no=found.no,
        unanswered=found.unanswered,
    )


def aid_public(aid: MutualAid, incidents: dict[int, Incident]) -> MutualAidPublic:
    """A mutual-aid request."""
    assert aid.id is not None
    incident = incidents.get(aid.incident_id)
    return MutualAidPublic(
        id=aid.id,
        incident_id=aid.incident_id,
        incident_code=incident.code if incident else None,
        requesting_vr_code=aid.requesting_vr_code,
        helping_vr_code=aid.helping_vr_code,
        skill_code=aid.skill_code,
        state=aid.state,
        note=aid.note,
        requested_at=aid.requested_at,
        decided_at=aid.decided_at,
    )


def _aids(session: Session, aids: list[MutualAid]) -> list[MutualAidPublic]:
    incidents = mutual_aid.incidents_of(session, aids)
    return [aid_public(a, incidents) for a in aids]


def alert_public(alert: DispatchAlert) -> AlertPublic:
    """An alert."""
    assert alert.id is not None
    return AlertPublic.model_validate(alert, from_attributes=True)


# --- roll-calls -------------------------------------------------------------------------------


@router.get(
    "/incidents/{incident_id}/roll-calls/preview",
    summary="How many messages a roll-call is, and how long sending takes",
    response_model=RollCallPreviewPublic,
    responses=error_responses(401, 403, 404, 422),
)
def preview_roll_call(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    incident: ScopedIncident,
    hours: int = rollcall.DEFAULT_HOURS,
) -> RollCallPreviewPublic:
    """The number of volunteers a roll-call would reach and the time the sender rate needs."""
    found = rollcall.preview(
        session, incident=incident, hours=hours, settings=settings, now=clock.now()
    )
    return RollCallPreviewPublic(
        recipients=found.recipients,
        segments_per_message=found.segments,
        rate_per_second=found.per_second,
        seconds=found.seconds,
        duration_text=found.duration_text,
        sample_text=found.sample,
    )


@router.post(
    "/incidents/{incident_id}/roll-calls",
    status_code=status.HTTP_201_CREATED,
    summary="Send a roll-call",
    response_model=RollCallPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def start_roll_call(
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    data: RollCallCreate,
) -> RollCallPublic:
    """Start a roll-call of the incident's area; the worker sends it in batches (audited).
    409 while another roll-call of the incident runs."""
    roll_call = rollcall.start(
        session,
        scope=scope,
        actor=actor_for(user),
        incident=incident,
        hours=data.hours,
        now=clock.now(),
    )
    return roll_call_public(session, roll_call)


@router.get(
    "/incidents/{incident_id}/roll-calls",
    summary="The incident's roll-calls",
    response_model=list[RollCallPublic],
    responses=error_responses(401, 403, 404),
)
def list_roll_calls(
    session: SessionDep, user: IncidentReader, incident: ScopedIncident
) -> list[RollCallPublic]:
    """Every roll-call of the incident with progress and JA/NEE counts, newest first."""
    assert incident.id is not None
    return [roll_call_public(session, r) for r in rollcall.of_incident(session, incident.id)]


@router.get(
    "/incidents/{incident_id}/roll-calls/{roll_call_id}",
    summary="One roll-call",
    response_model=RollCallPublic,
    responses=error_responses(401, 403, 404),
)
def get_roll_call(
    session: SessionDep, user: IncidentReader, incident: ScopedIncident, roll_call_id: RollCallId
) -> RollCallPublic:
    """A roll-call's progress and answers."""
    roll_call = rollcall.get(session, incident=incident, roll_call_id=roll_call_id)
    return roll_call_public(session, roll_call)


@router.post(
    "/incidents/{incident_id}/roll-calls/{roll_call_id}/close",
    summary="Close a roll-call early",
    response_model=RollCallPublic,
    responses=error_responses(401, 403, 404, 409),
)
def close_roll_call(
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    roll_call_id: RollCallId,
) -> RollCallPublic:
    """No more messages; its answers stop counting for dispatch (audited)."""
    roll_call = rollcall.get(session, incident=incident, roll_call_id=roll_call_id)
    closed = rollcall.close(
        session,
        scope=scope,
        actor=actor_for(user),
        incident=incident,
        roll_call=roll_call,
        now=clock.now(),
    )
    return roll_call_public(session, closed)


# --- mutual aid -------------------------------------------------------------------------------


@router.post(
    "/incidents/{incident_id}/mutual-aid",
    status_code=status.HTTP_201_CREATED,
    summary="Ask a neighbouring region for help",
    response_model=MutualAidPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def request_aid(
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    data: MutualAidCreate,
) -> MutualAidPublic:
    """Ask a neighbouring region's coordinators for their volunteers (audited). Only once
    they approve are those volunteers offered this incident's tasks."""
    aid = mutual_aid.request(
        session,
        scope=scope,
        actor=actor_for(user),
        incident=incident,
        helping_vr_code=data.helping_vr_code,
        skill_code=data.skill_code,
        note=data.note,
        now=clock.now(),
    )
    return _aids(session, [aid])[0]


@router.get(
    "/incidents/{incident_id}/mutual-aid",
    summary="The incident's mutual-aid requests",
    response_model=list[MutualAidPublic],
    responses=error_responses(401, 403, 404),
)
def incident_aid(
    session: SessionDep, user: IncidentReader, incident: ScopedIncident
) -> list[MutualAidPublic]:
    """Every request of the incident, newest first."""
    assert incident.id is not None
    return _aids(session, list(mutual_aid.of_incident(session, incident.id)))


class MutualAidLists(BaseModel):
    """Requests to the caller's regions (to decide) and from them (to follow)."""

    incoming: list[MutualAidPublic]
    outgoing: list[MutualAidPublic]


@router.get(
    "/mutual-aid",
    summary="Mutual-aid requests of the caller's regions",
    response_model=MutualAidLists,
    responses=error_responses(401, 403),
)
def list_aid(session: SessionDep, user: IncidentReader, scope: CurrentScope) -> MutualAidLists:
    """Incoming requests (to the caller's regions) and outgoing ones, newest first."""
    return MutualAidLists(
        incoming=_aids(session, list(mutual_aid.incoming(session, scope=scope))),
        outgoing=_aids(session, list(mutual_aid.outgoing(session, scope=scope))),
    )


@router.post(
    "/mutual-aid/{aid_id}/approve",
    summary="Approve a request for help",
    response_model=MutualAidPublic,
    responses=error_responses(401, 403, 404, 409),
)
def approve_aid(
    session: SessionDep, user: IncidentRunner, scope: CurrentScope, aid: ScopedAid
) -> MutualAidPublic:
    """The asked region's coordinator lends its volunteers to the incident (audited)."""
    decided = mutual_aid.decide(
        session, scope=scope, actor=actor_for(user), aid=aid, approve=True, now=clock.now()
    )
    return _aids(session, [decided])[0]


@router.post(
    "/mutual-aid/{aid_id}/decline",
    summary="Decline a request for help (or end an approval)",
    response_model=MutualAidPublic,
    responses=error_responses(401, 403, 404, 409),
)
def decline_aid(
    session: SessionDep, user: IncidentRunner, scope: CurrentScope, aid: ScopedAid
) -> MutualAidPublic:
    """The asked region's coordinator declines (audited)."""
    decided = mutual_aid.decide(
        session, scope=scope, actor=actor_for(user), aid=aid, approve=False, now=clock.now()
    )
    return _aids(session, [decided])[0]


@router.post(
    "/mutual-aid/{aid_id}/withdraw",
    summary="Withdraw a request for help",
    response_model=MutualAidPublic,
    responses=error_responses(401, 403, 404, 409),
)
def withdraw_aid(
    session: SessionDep, user: IncidentRunner, scope: CurrentScope, aid: ScopedAid
) -> MutualAidPublic:
    """The requesting region withdraws its request (audited)."""
    withdrawn = mutual_aid.withdraw(
        session, scope=scope, actor=actor_for(user), aid=aid, now=clock.now()
    )
    return _aids(session, [withdrawn])[0]


# --- alerts and re-offers ---------------------------------------------------------------------


@router.get(
    "/incidents/{incident_id}/alerts",
    summary="The incident's open dispatch alerts",
    response_model=list[AlertPublic],
    responses=error_responses(401, 403, 404),
)
def list_alerts(
    session: SessionDep, user: IncidentReader, incident: ScopedIncident
) -> list[AlertPublic]:
    """Unfillable tasks, overdue assignments, cancellations, problems: not yet acknowledged."""
    return [alert_public(a) for a in coordination.open_alerts(session, incident)]


@router.post(
    "/incidents/{incident_id}/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an alert",
    response_model=AlertPublic,
    responses=error_responses(401, 403, 404),
)
def acknowledge_alert(
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    alert_id: AlertId,
) -> AlertPublic:
    """Mark the alert as seen (audited; idempotent)."""
    alert = coordination.acknowledge(
        session,
        scope=scope,
        actor=actor_for(user),
        incident=incident,
        alert_id=alert_id,
        now=clock.now(),
    )
    return alert_public(alert)


@router.post(
    "/tasks/{task_id}/reoffer",
    summary="Offer a task again (optionally with a wider radius)",
    response_model=ReofferPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
def reoffer_task(
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    task: ScopedTask,
    data: Reoffer,
) -> ReofferPublic:
    """The next wave is due now; an unfillable task is offered again (audited)."""
    row = coordination.reoffer(
        session,
        scope=scope,
        actor=actor_for(user),
        task=task,
        settings=settings,
        widen=data.widen,
        now=clock.now(),
    )
    return ReofferPublic(task_id=row.task_id, radius_km=row.radius_km, due_at=row.due_at)
