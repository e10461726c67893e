"""Coordinators' dispatch pages (Dutch): an incident's roll-calls, mutual aid and alerts; the
region's mutual-aid requests; re-offering a task.

Everyone who follows the incident sees the page; only those who run it (drill leads: drills)
act on it, which the services check again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

import geo
from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import Role, User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.deps import SessionDep, SettingsDep
from brigades.dispatch import coordination, mutual_aid, rollcall
from brigades.dispatch.deps import AlertId, RollCallId, ScopedAid
from brigades.dispatch.models import ALERT_LABELS_NL, MUTUAL_AID_LABELS_NL
from brigades.errors import DomainError, InvalidInput
from brigades.incidents import service as incidents
from brigades.incidents.deps import IncidentReader, IncidentRunner, ScopedIncident
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.settings import Settings
from brigades.skills import service as skills
from brigades.tasks.deps import ScopedTask
from brigades.tasks.models import CareTask

router = APIRouter(prefix="/beheer", include_in_schema=False)

FLASHES = {
    "oproep": "De oproep is gestart; hij wordt nu in delen verstuurd.",
    "oproep-gesloten": "De oproep is gesloten; de antwoorden tellen niet meer mee.",
    "gezien": "De melding is afgehandeld.",
    "hulp": "De hulpvraag is verstuurd naar de coördinatoren van die regio.",
    "goedgekeurd": "Je hebt de hulpvraag goedgekeurd.",
    "afgewezen": "Je hebt de hulpvraag afgewezen.",
    "ingetrokken": "De hulpvraag is ingetrokken.",
}


def _may_run(user: User, incident: Incident, scope: AccessScope) -> bool:
    if scope.read_only or user.role not in incidents.RUNNING_ROLES:
        return False
    return not (user.role is Role.DRILL_LEAD and incident.kind is not IncidentKind.DRILL)


def _region_names() -> dict[str, str]:
    return {code: r.name for code, r in geo.load_reference_data().regions.items()}


def _hours(value: str) -> int:
    if not value.isdigit():
        raise InvalidInput(f"Kies een duur van 1 tot {rollcall.MAX_HOURS} uur.", field="hours")
    return rollcall.check_hours(int(value))


def _context(
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    incident: Incident,
    *,
    hours: int = rollcall.DEFAULT_HOURS,
) -> dict[str, Any]:
    assert incident.id is not None
    now = clock.now()
    may_run = _may_run(user, incident, scope)
    is_open = incident.state is IncidentState.OPEN
    return {
        "current_user": user,
        "incident": incident,
        "may_run": may_run,
        "is_open": is_open,
        "preview": rollcall.preview(
            session, incident=incident, hours=hours, settings=settings, now=now
        )
        if may_run and is_open
        else None,
        "hours": hours,
        "max_hours": rollcall.MAX_HOURS,
        "running": rollcall.running(session, incident_id=incident.id, now=now),
        "roll_calls": [
            rollcall.status(session, r, now=now) for r in rollcall.of_incident(session, incident.id)
        ],
        "alerts": coordination.open_alerts(session, incident),
        "alert_labels": ALERT_LABELS_NL,
        "aids": mutual_aid.of_incident(session, incident.id),
        "aid_labels": MUTUAL_AID_LABELS_NL,
        "neighbours": mutual_aid.neighbour_choices(incident.vr_code),
        "region_names": _region_names(),
        "skills": skills.list_skills(session),
    }


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    incident: Incident,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    hours: int = rollcall.DEFAULT_HOURS,
) -> HTMLResponse:
    context = _context(session, settings, user, scope, incident, hours=hours)
    context["flash"] = flash
    context["errors"] = errors or {}
    return page(request, "dispatch/incident.html", context, status_code=status_code)


def _failed(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    incident: Incident,
    exc: DomainError,
) -> HTMLResponse:
    discard_unless_kept(session, exc)
    fresh = incidents.get_incident(session, scope=scope, incident_id=incident.id or 0)
    return _page(
        request,
        session,
        settings,
        user,
        scope,
        fresh,
        errors={exc.field or "": exc.message},
        status_code=exc.status_code,
    )


def _back(incident: Incident, flash: str) -> RedirectResponse:
    return RedirectResponse(
        f"/beheer/incidenten/{incident.id}/inzet?klaar={flash}", status_code=303
    )


@router.get("/incidenten/{incident_id}/inzet", response_class=HTMLResponse)
def incident_dispatch(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
    klaar: str | None = None,
    uren: int | None = None,
) -> Response:
    """Roll-calls (with what sending one means), mutual aid and open alerts of an incident."""
    hours = uren if uren is not None and 1 <= uren <= rollcall.MAX_HOURS else rollcall.DEFAULT_HOURS
    return _page(
        request,
        session,
        settings,
        user,
        scope,
        incident,
        flash=FLASHES.get(klaar or ""),
        hours=hours,
    )


@router.post("/incidenten/{incident_id}/oproep", response_class=HTMLResponse)
def start_roll_call(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Start the roll-call; the worker sends it in batches."""
    try:
        rollcall.start(
            session,
            scope=scope,
            actor=actor_for(user),
            incident=incident,
            hours=_hours(field(form, "hours", 4)),
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, settings, user, scope, incident, exc)
    return _back(incident, "oproep")


@router.post("/incidenten/{incident_id}/oproep/{roll_call_id}/sluiten", response_class=HTMLResponse)
def close_roll_call(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    roll_call_id: RollCallId,
) -> Response:
    """Close a roll-call early."""
    try:
        roll_call = rollcall.get(session, incident=incident, roll_call_id=roll_call_id)
        rollcall.close(
            session,
            scope=scope,
            actor=actor_for(user),
            incident=incident,
            roll_call=roll_call,
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, settings, user, scope, incident, exc)
    return _back(incident, "oproep-gesloten")


@router.post("/incidenten/{incident_id}/meldingen/{alert_id}/gezien", response_class=HTMLResponse)
def acknowledge_alert(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
    alert_id: AlertId,
) -> Response:
    """Mark an alert as seen."""
    try:
        coordination.acknowledge(
            session,
            scope=scope,
            actor=actor_for(user),
            incident=incident,
            alert_id=alert_id,
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, settings, user, scope, incident, exc)
    return _back(incident, "gezien")


@router.post("/incidenten/{incident_id}/onderlinge-hulp", response_class=HTMLResponse)
def request_aid(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """Ask a neighbouring region for help."""
    try:
        mutual_aid.request(
            session,
            scope=scope,
            actor=actor_for(user),
            incident=incident,
            helping_vr_code=field(form, "helping", 4),
            skill_code=field(form, "skill", 40) or None,
            note=field(form, "note", 300) or None,
            now=clock.now(),
        )
    except DomainError as exc:
        return _failed(request, session, settings, user, scope, incident, exc)
    if field(form, "terug", 16) == "dashboard":  # asked from the board of the dashboard
        return RedirectResponse(
            f"/beheer/incidenten/{incident.id}/dashboard?klaar=hulp", status_code=303
        )
    return _back(incident, "hulp")


# --- the region's mutual-aid requests ---------------------------------------------------------


def _aid_page(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    incoming = list(mutual_aid.incoming(session, scope=scope))
    outgoing = list(mutual_aid.outgoing(session, scope=scope))
    return page(
        request,
        "dispatch/mutual_aid.html",
        {
            "current_user": user,
            "incoming": incoming,
            "outgoing": outgoing,
            "incidents": mutual_aid.incidents_of(session, incoming + outgoing),
            "may_decide": user.role in incidents.RUNNING_ROLES and not scope.read_only,
            "aid_labels": MUTUAL_AID_LABELS_NL,
            "region_names": _region_names(),
            "flash": flash,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/onderlinge-hulp", response_class=HTMLResponse)
def aid_list(
    request: Request,
    session: SessionDep,
    user: IncidentReader,
    scope: CurrentScope,
    klaar: str | None = None,
) -> Response:
    """Requests for help to the user's regions (to decide) and from them (to follow)."""
    return _aid_page(request, session, user, scope, flash=FLASHES.get(klaar or ""))


def _decide(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    aid_id: int,
    action: str,
) -> Response:
    try:
        aid = mutual_aid.get(session, scope=scope, aid_id=aid_id)
        actor = actor_for(user)
        now = clock.now()
        if action == "ingetrokken":
            mutual_aid.withdraw(session, scope=scope, actor=actor, aid=aid, now=now)
        else:
            mutual_aid.decide(
                session,
                scope=scope,
                actor=actor,
                aid=aid,
                approve=action == "goedgekeurd",
                now=now,
            )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _aid_page(
            request,
            session,
            user,
            scope,
            errors={"": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/beheer/onderlinge-hulp?klaar={action}", status_code=303)


@router.post("/onderlinge-hulp/{aid_id}/goedkeuren", response_class=HTMLResponse)
def approve_aid(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    aid: ScopedAid,
) -> Response:
    """Lend the region's volunteers to the incident."""
    return _decide(request, session, user, scope, aid.id or 0, "goedgekeurd")


@router.post("/onderlinge-hulp/{aid_id}/afwijzen", response_class=HTMLResponse)
def decline_aid(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    aid: ScopedAid,
) -> Response:
    """Decline the request (or end an approval)."""
    return _decide(request, session, user, scope, aid.id or 0, "afgewezen")


@router.post("/onderlinge-hulp/{aid_id}/intrekken", response_class=HTMLResponse)
def withdraw_aid(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: IncidentRunner,
    scope: CurrentScope,
    aid: ScopedAid,
) -> Response:
    """Withdraw the region's own request."""
    return _decide(request, session, user, scope, aid.id or 0, "ingetrokken")


# --- a task: offer it again -------------------------------------------------------------------


def _reoffer(
    session: Session,
    settings: Settings,
    user: User,
    scope: AccessScope,
    task: CareTask,
    *,
    widen: bool,
) -> Response:
    coordination.reoffer(
        session,
        scope=scope,
        actor=actor_for(user),
        task=task,
        settings=settings,
        widen=widen,
        now=clock.now(),
    )
    flash = "straal" if widen else "opnieuw"
    return RedirectResponse(f"/beheer/taken/{task.id}?klaar={flash}", status_code=303)


@router.post("/taken/{task_id}/opnieuw-aanbieden", response_class=HTMLResponse)
def reoffer_task(
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    task: ScopedTask,
) -> Response:
    """Offer the task again now (a refusal shows the error page)."""
    return _reoffer(session, settings, user, scope, task, widen=False)


@router.post("/taken/{task_id}/straal-vergroten", response_class=HTMLResponse)
def widen_task(
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentRunner,
    scope: CurrentScope,
    task: ScopedTask,
) -> Response:
    """Grow the search radius one step and offer the task again now."""
    return _reoffer(session, settings, user, scope, task, widen=True)
