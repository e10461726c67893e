"""The coordinator's dashboard pages (Dutch): the incident screen, its live fragment, the
sitrap, a buurtsteunpunt's printable call list and the coordinators' inbox.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

import geo
from brigades import clock
from brigades.accounts.deps import CsrfForm, CurrentScope
from brigades.accounts.models import Role, User
from brigades.accounts.pages import discard_unless_kept, field, page
from brigades.accounts.scope import AccessScope
from brigades.accounts.service import actor_for
from brigades.dashboard import inbox, paper, service
from brigades.dashboard.deps import (
    AlertId,
    BoardQuery,
    BoardQueryDep,
    ItemId,
    SupportPointId,
    VolunteerCoordinator,
)
from brigades.deps import SessionDep, SettingsDep
from brigades.dispatch.models import ALERT_LABELS_NL
from brigades.errors import DomainError
from brigades.incidents import levels
from brigades.incidents import service as incidents
from brigades.incidents.deps import IncidentReader, ScopedIncident
from brigades.incidents.models import KIND_LABELS_NL, STATE_LABELS_NL, Incident, IncidentKind
from brigades.settings import Settings
from brigades.tasks import service as tasks
from brigades.tasks.models import PRIORITY_LABELS_NL, TASK_STATE_LABELS_NL, TaskState
from brigades.web.templating import templates

router = APIRouter(prefix="/beheer", include_in_schema=False)

templates.env.filters["dashboard_duration"] = service.duration_nl
templates.env.filters["dashboard_percent"] = service.percent_nl

LABELS: dict[str, Any] = {
    "task_state_labels": TASK_STATE_LABELS_NL,
    "priority_labels": PRIORITY_LABELS_NL,
    "kind_labels": KIND_LABELS_NL,
    "state_labels": STATE_LABELS_NL,
    "level_labels": levels.LEVEL_LABELS_NL,
    "alert_labels": ALERT_LABELS_NL,
}
DASHBOARD_FLASHES = {
    "hulp": "De hulpvraag is verstuurd naar de coördinatoren van die regio.",
}
INBOX_FLASHES = {
    "afgehandeld": "Het bericht is afgehandeld.",
    "beantwoord": "Je antwoord staat klaar om verstuurd te worden; het bericht is afgehandeld.",
    "melding-afgehandeld": "De melding is afgehandeld.",
    "melding-beantwoord": (
        "Je antwoord staat klaar om verstuurd te worden; de melding is afgehandeld."
    ),
}


def may_run(user: User, incident: Incident, scope: AccessScope) -> bool:
    """Whether the user acts on this incident (re-offer, cancel), not only follows it."""
    if scope.read_only or user.role not in incidents.RUNNING_ROLES:
        return False
    return not (user.role is Role.DRILL_LEAD and incident.kind is not IncidentKind.DRILL)


def _gemeenten(incident: Incident) -> list[tuple[str, str]]:
    data = geo.load_reference_data().gemeenten.values()
    return sorted(
        ((g.code, g.display_name or g.name) for g in data if g.vr_code == incident.vr_code),
        key=lambda g: g[1].casefold(),
    )


def board_context(
    session: Session, scope: AccessScope, incident: Incident, query: BoardQuery
) -> dict[str, Any]:
    """The task board and the timeline (the part of the page that live updates replace)."""
    filters = query.to_filter(session, incident)
    board = service.task_board(
        session, scope=scope, incident=incident, filters=filters, page=query.page
    )
    return {
        "board": board,
        "filters": query.values(),
        "timeline": service.timeline(session, incident=incident),
        "type_names": tasks.type_names(session),
        "version": service.version(session, scope=scope, incident=incident),
        "aid": service.aid_options(session, incident=incident),
        "reasons": service.unfillable_reasons(session, scope=scope, incident=incident),
    }


def csp_with_tiles(settings: Settings) -> str | None:
    """The page's CSP, with the tile server's origin allowed for images when one is set."""
    if not settings.map_tile_url:
        return None
    parts = urlsplit(settings.map_tile_url)
    origin = f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return (
        f"default-src 'self'; img-src 'self' data: {origin}; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )


@router.get("/incidenten/{incident_id}/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
    query: BoardQueryDep,
    klaar: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The incident screen: key figures, map, task board, coverage and timeline, live."""
    now = clock.now()
    # The volunteer aggregates (available now, coverage) read the largest tables: they come
    # with the page's first live update, right after the map, not before the first paint.
    figures = service.key_figures(
        session, scope=scope, incident=incident, now=now, with_volunteers=False
    )
    points = service.region_support_points(session, incident=incident)
    context = {
        "current_user": user,
        "incident": incident,
        "region_name": geo.load_reference_data().regions[incident.vr_code].name,
        "figures": figures,
        "flash": DASHBOARD_FLASHES.get(klaar or ""),
        "may_run": may_run(user, incident, scope),
        "may_call": user.role
        in {Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.SUPPORT_POINT_COORDINATOR},
        "types": tasks.catalogue(session),
        "priorities": service.priorities(),
        "board_states": service.BOARD_STATES,
        "support_points": points,
        "gemeenten": _gemeenten(incident),
        "tile_url": settings.map_tile_url or "",
        "tile_attribution": settings.map_tile_attribution if settings.map_tile_url else "",
        "now": now,
        **board_context(session, scope, incident, query),
        **LABELS,
    }
    response = page(request, "dashboard/dashboard.html", context)
    csp = csp_with_tiles(settings)
    if csp:
        response.headers["Content-Security-Policy"] = csp
    return response


@router.get("/incidenten/{incident_id}/dashboard/taken", response_class=HTMLResponse)
def dashboard_board(
    request: Request,
    session: SessionDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
    query: BoardQueryDep,
) -> Response:
    """The task board, timeline and unfillable reasons alone (fetched by the page when
    something changed)."""
    context = {
        "current_user": user,
        "incident": incident,
        "may_run": may_run(user, incident, scope),
        **board_context(session, scope, incident, query),
        **LABELS,
    }
    return page(request, "dashboard/_board.html", context)


def _may_call(user: User) -> bool:
    return user.role in {
        Role.ADMINISTRATOR,
        Role.REGIONAL_COORDINATOR,
        Role.SUPPORT_POINT_COORDINATOR,
    }


@router.get("/incidenten/{incident_id}/dashboard/dekking", response_class=HTMLResponse)
def dashboard_coverage(
    request: Request,
    session: SessionDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """The coverage table per buurtsteunpunt (fetched by the page after the map)."""
    context = {
        "current_user": user,
        "incident": incident,
        "coverage": service.coverage(session, scope=scope, incident=incident, now=clock.now()),
        "may_call": _may_call(user),
    }
    return page(request, "dashboard/_coverage.html", context)


def sitrap_context(
    session: Session, scope: AccessScope, incident: Incident, user: User
) -> dict[str, Any]:
    """What a situation report holds: the incident, figures, states, reasons, coverage."""
    now = clock.now()
    figures = service.key_figures(session, scope=scope, incident=incident, now=now)
    region = geo.load_reference_data().regions[incident.vr_code].name
    header = [
        ("incident", f"{incident.code}: {incident.name}"),
        ("soort", KIND_LABELS_NL[incident.kind]),
        ("status", STATE_LABELS_NL[incident.state]),
        ("regio", f"{incident.vr_code} {region}"),
        ("niveau", levels.LEVEL_LABELS_NL[incident.level]),
        ("geopend", clock.format_local(incident.opened_at)),
        ("opgesteld", clock.format_local(now)),
        ("opgesteld_door", user.name or user.email),
    ]
    key_figures = [
        ("taken_totaal", figures.total),
        ("taken_open", figures.open),
        ("taken_bezet", figures.filled),
        ("taken_niet_te_bezetten", figures.unfillable),
        ("mediane_tijd_tot_acceptatie", service.duration_nl(figures.median_acceptance_seconds)),
        ("reactiegraad_laatste_uur", service.percent_nl(figures.response_rate)),
        ("aanbiedingen_laatste_uur", figures.offers_last_hour),
        ("vrijwilligers_nu_beschikbaar", figures.available_now),
        ("berichten_in_wachtrij", figures.queued_messages),
        ("berichten_mislukt", figures.failed_messages),
        ("open_meldingen", sum(figures.open_alerts.values())),
    ]
    return {
        "incident": incident,
        "figures": figures,
        "header": header,
        "key_figures": key_figures,
        "states": [(TASK_STATE_LABELS_NL[s], figures.counts.get(s.value, 0)) for s in TaskState],
        "reasons": service.unfillable_reasons(session, scope=scope, incident=incident),
        "coverage": service.coverage(session, scope=scope, incident=incident, now=now),
        "timeline": service.timeline(session, incident=incident, limit=15),
        "now": now,
    }


@router.get("/incidenten/{incident_id}/sitrap", response_class=HTMLResponse)
def sitrap(
    request: Request,
    session: SessionDep,
    user: IncidentReader,
    scope: CurrentScope,
    incident: ScopedIncident,
) -> Response:
    """A one-page situation report to print (A4)."""
    context = sitrap_context(session, scope, incident, user)
    context["current_user"] = user
    return page(request, "dashboard/sitrap.html", {**context, **LABELS})


@router.get("/steunpunten/{support_point_id}/bellijst", response_class=HTMLResponse)
def call_list(
    request: Request,
    session: SessionDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    support_point_id: SupportPointId,
) -> Response:
    """A buurtsteunpunt's volunteers with phone numbers and skills, to print (audited)."""
    point = paper.get_support_point(session, scope=scope, support_point_id=support_point_id)
    found = paper.call_list(
        session, actor=actor_for(user), scope=scope, support_point=point, now=clock.now()
    )
    return page(request, "dashboard/call_list.html", {"current_user": user, "call_list": found})


def _inbox_page(
    request: Request,
    session: Session,
    user: User,
    scope: AccessScope,
    *,
    flash: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "dashboard/inbox.html",
        {
            "current_user": user,
            "groups": inbox.groups(session, scope=scope),
            "may_write": not scope.read_only,
            "max_reply": inbox.MAX_REPLY,
            "flash": flash,
            "errors": errors or {},
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    klaar: str | None = None,
) -> Response:
    """Volunteers' texts that matched no word, per buurtsteunpunt, and problem reports."""
    return _inbox_page(request, session, user, scope, flash=INBOX_FLASHES.get(klaar or ""))


@router.post("/inbox/{item_id}/afgehandeld", response_class=HTMLResponse)
def inbox_handled(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    item_id: ItemId,
) -> Response:
    """Mark a text handled."""
    item, volunteer = inbox.get_item(session, scope=scope, item_id=item_id)
    try:
        inbox.mark_handled(
            session,
            actor=actor_for(user),
            scope=scope,
            item=item,
            volunteer=volunteer,
            now=clock.now(),
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _inbox_page(
            request, session, user, scope, errors={"": exc.message}, status_code=exc.status_code
        )
    return RedirectResponse("/beheer/inbox?klaar=afgehandeld", status_code=303)


@router.post("/inbox/{item_id}/antwoord", response_class=HTMLResponse)
def inbox_reply(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    item_id: ItemId,
) -> Response:
    """Text the volunteer back and mark the text handled."""
    item, volunteer = inbox.get_item(session, scope=scope, item_id=item_id)
    try:
        inbox.reply(
            session,
            actor=actor_for(user),
            scope=scope,
            item=item,
            volunteer=volunteer,
            text=field(form, "reply", inbox.MAX_REPLY * 2),
            now=clock.now(),
            settings=settings,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _inbox_page(
            request,
            session,
            user,
            scope,
            errors={f"reply-{item_id}" if exc.field == "reply" else "": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse("/beheer/inbox?klaar=beantwoord", status_code=303)


@router.post("/inbox/meldingen/{alert_id}/afgehandeld", response_class=HTMLResponse)
def problem_handled(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    alert_id: AlertId,
) -> Response:
    """Mark a problem report handled."""
    report = inbox.get_problem(session, scope=scope, alert_id=alert_id)
    try:
        inbox.handle_problem(
            session, actor=actor_for(user), scope=scope, report=report, now=clock.now()
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _inbox_page(
            request, session, user, scope, errors={"": exc.message}, status_code=exc.status_code
        )
    return RedirectResponse("/beheer/inbox?klaar=melding-afgehandeld", status_code=303)


@router.post("/inbox/meldingen/{alert_id}/antwoord", response_class=HTMLResponse)
def problem_reply(
    request: Request,
    form: CsrfForm,
    session: SessionDep,
    settings: SettingsDep,
    user: VolunteerCoordinator,
    scope: CurrentScope,
    alert_id: AlertId,
) -> Response:
    """Text the reporter back and mark the problem report handled."""
    report = inbox.get_problem(session, scope=scope, alert_id=alert_id)
    try:
        inbox.reply_problem(
            session,
            actor=actor_for(user),
            scope=scope,
            report=report,
            text=field(form, "reply", inbox.MAX_REPLY * 2),
            now=clock.now(),
            settings=settings,
        )
    except DomainError as exc:
        discard_unless_kept(session, exc)
        return _inbox_page(
            request,
            session,
            user,
            scope,
            errors={f"problem-reply-{alert_id}" if exc.field == "reply" else "": exc.message},
            status_code=exc.status_code,
        )
    return RedirectResponse("/beheer/inbox?klaar=melding-beantwoord", status_code=303)
