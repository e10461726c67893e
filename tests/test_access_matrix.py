"""The access matrix: every route of the app, who may call it, and proof that nobody else can.

The routes come from the app itself, so a new route without a row here fails the suite. Each row
says who may call a route:

- ``PUBLIC``: anyone, signed in or not (sign-up, login, health, static files …);
- ``VOLUNTEER_ONLY``: a volunteer's personal link or session; no staff account gets in;
- ``DEV_ONLY``: development tools, absent (404) outside ZB_ENV=development;
- ``LOGIN_STEP``: only a browser halfway through a staff login (password given, code pending);
- ``SIGNED_WEBHOOK``: only a provider that signs its request (Twilio); no account gets in;
- ``METRICS_SCRAPER``: only the bearer of ``ZB_METRICS_TOKEN`` (or, without one, a loopback
  client outside production); no account gets in;
- ``roles(Role.X, …)``: those staff roles; ``ADMIN`` and ``STAFF`` are shorthands. Add
  ``scoped=True`` when the path names an object that belongs to a region (incident, task,
  volunteer …): the test then fills the path with an object of VR13 and expects every role but
  the administrator to be refused, because all test users work in VR09.

Every route is then called anonymously and as each role (a user of VR09: browser session for
pages, bearer token for ``/api/``), with a valid CSRF token so that authorisation, not the form
check, is what answers. A refused call must answer 401, 403 or 404, or redirect to a login step;
never 2xx. For role rows, an allowed role must not be answered 401/403.

A path parameter is filled by ``PATH_VALUES``: a function that creates the object (in VR13) and
returns the value to put in the path. Adding a route with a new parameter means adding one entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session

from brigades import clock
from brigades.accounts.models import Role, TokenKind
from brigades.app import create_app
from brigades.conversation.models import InboxItem
from brigades.dispatch.models import AlertKind, DispatchAlert, MutualAid, RollCall
from brigades.drills import report as drill_report
from brigades.drills.models import Drill, DrillRun, DrillType
from brigades.readiness.models import TrainingModule
from notifications.models import InboundMessage
from tests.accounts.factories import (
    COOKIE_DOMAIN,
    bearer,
    make_organisation,
    make_support_point,
    make_token,
    make_user,
    put_cookie,
    start_session,
)
from tests.conftest import make_settings
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft, make_import, make_task
from tests.vetting.factories import make_volunteer, see_identity

ANONYMOUS = "anonymous"
VR13_TASK = draft(postcode="1012 AB")
ROLES = [role.value for role in Role]


@dataclass(frozen=True)
class Access:
    """One row of the matrix."""

    # public | volunteer-only | dev-only | login-step | signed-webhook | metrics-scraper | roles
    kind: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scoped: bool = False

    def allowed(self, caller: str) -> bool:
        """Whether this caller may get a successful answer."""
        if self.kind == "public":
            return True
        if self.kind != "roles" or caller not in self.roles:
            return False
        # Region-scoped objects in the path are in VR13; only the administrator reaches them.
        return not self.scoped or caller == Role.ADMINISTRATOR.value


PUBLIC = Access("public")
VOLUNTEER_ONLY = Access("volunteer-only")
DEV_ONLY = Access("dev-only")
LOGIN_STEP = Access("login-step")
SIGNED_WEBHOOK = Access("signed-webhook")
METRICS_SCRAPER = Access("metrics-scraper")


def roles(*allowed: Role, scoped: bool = False) -> Access:
    """Only these staff roles (``scoped``: the path names an object of a region)."""
    return Access("roles", frozenset(r.value for r in allowed), scoped)


ADMIN = roles(Role.ADMINISTRATOR)
STAFF = roles(*Role)
# Vetting and volunteer exports: those who coordinate volunteers.
_VETTERS = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.SUPPORT_POINT_COORDINATOR)
VETTERS = roles(*_VETTERS)
VETTERS_SCOPED = roles(*_VETTERS, scoped=True)
# Incidents and care tasks (brigades.incidents.deps, brigades.tasks.deps).
_READERS = (
    Role.ADMINISTRATOR,
    Role.REGIONAL_COORDINATOR,
    Role.SUPPORT_POINT_COORDINATOR,
    Role.DRILL_LEAD,
    Role.VIEWER,
)
_RUNNERS = (Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, Role.DRILL_LEAD)
INCIDENT_READERS = roles(*_READERS)
INCIDENT_READERS_SCOPED = roles(*_READERS, scoped=True)
INCIDENT_RUNNERS = roles(*_RUNNERS)
INCIDENT_RUNNERS_SCOPED = roles(*_RUNNERS, scoped=True)
TASK_CREATORS_SCOPED = roles(*_RUNNERS, Role.CARE_ORGANISATION, scoped=True)
STAFF_SCOPED = roles(*Role, scoped=True)
# Readiness (brigades.readiness.deps).
READINESS_READERS = roles(*(r for r in Role if r is not Role.CARE_ORGANISATION))
TARGET_SETTERS = roles(Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR)
RECRUITERS = roles(Role.ADMINISTRATOR, Role.RECRUITER)
# Drills (brigades.drills.service.DRILL_ROLES).
DRILL_LEADERS = roles(Role.DRILL_LEAD, Role.REGIONAL_COORDINATOR)
DRILL_LEADERS_SCOPED = roles(Role.DRILL_LEAD, Role.REGIONAL_COORDINATOR, scoped=True)

MATRIX: dict[str, Access] = {
    # Framework: API documentation and static files.
    "GET /api/openapi.json": PUBLIC,
    "GET /api/docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "* /static": PUBLIC,
    # Health probes.
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    # Prometheus (brigades.metrics.access).
    "GET /metrics": METRICS_SCRAPER,
    # Provider webhooks (Twilio signature).
    "POST /webhooks/twilio/sms": SIGNED_WEBHOOK,
    "POST /webhooks/twilio/status": SIGNED_WEBHOOK,
    # Development phone simulator.
    "GET /dev/telefoon": DEV_ONLY,
    "GET /dev/telefoon/{number}": DEV_ONLY,
    "POST /dev/telefoon/{number}": DEV_ONLY,
    # Volunteer sign-up (API and pages) and reference data.
    "POST /api/v1/volunteers": PUBLIC,
    "POST /api/v1/volunteers/verify": PUBLIC,
    "POST /api/v1/volunteers/resend-code": PUBLIC,
    "GET /api/v1/skills": PUBLIC,
    "GET /api/v1/support-points": PUBLIC,
    "GET /": PUBLIC,
    "GET /over": PUBLIC,
    "GET /privacy": PUBLIC,
    "GET /aanmelden": PUBLIC,
    "POST /aanmelden": PUBLIC,
    "GET /aanmelden/code": PUBLIC,
    "POST /aanmelden/code": PUBLIC,
    "POST /aanmelden/code/opnieuw": PUBLIC,
    "GET /l/{token}": PUBLIC,
    "GET /link-aanvragen": PUBLIC,
    "POST /link-aanvragen": PUBLIC,
    "POST /uitloggen": PUBLIC,  # forgetting a volunteer cookie harms nobody
    # A volunteer's own data.
    "GET /api/v1/me": VOLUNTEER_ONLY,
    "PATCH /api/v1/me": VOLUNTEER_ONLY,
    "DELETE /api/v1/me": VOLUNTEER_ONLY,
    "POST /api/v1/me/phone": VOLUNTEER_ONLY,
    "POST /api/v1/me/phone/verify": VOLUNTEER_ONLY,
    "POST /api/v1/me/pause": VOLUNTEER_ONLY,
    "POST /api/v1/me/resume": VOLUNTEER_ONLY,
    "GET /api/v1/me/export": VOLUNTEER_ONLY,
    "GET /mijn": VOLUNTEER_ONLY,
    "GET /mijn/wijzigen": VOLUNTEER_ONLY,
    "POST /mijn/wijzigen": VOLUNTEER_ONLY,
    "POST /mijn/telefoon": VOLUNTEER_ONLY,
    "GET /mijn/telefoon/code": VOLUNTEER_ONLY,
    "POST /mijn/telefoon/code": VOLUNTEER_ONLY,
    "POST /mijn/pauze": VOLUNTEER_ONLY,
    "POST /mijn/hervatten": VOLUNTEER_ONLY,
    "GET /mijn/gegevens": VOLUNTEER_ONLY,
    "GET /mijn/verwijderen": VOLUNTEER_ONLY,
    "POST /mijn/verwijderen": VOLUNTEER_ONLY,
    "POST /mijn/aanbod/{offer_id}/{answer}": VOLUNTEER_ONLY,
    "POST /mijn/inzet/{assignment_id}/{step}": VOLUNTEER_ONLY,
    # Staff login (API).
    "POST /api/v1/auth/token": PUBLIC,
    "POST /api/v1/auth/revoke": STAFF,
    "GET /api/v1/auth/me": STAFF,
    # Staff login (pages).
    "GET /beheer/inloggen": PUBLIC,
    "POST /beheer/inloggen": PUBLIC,
    "GET /beheer/inloggen/code": LOGIN_STEP,
    "POST /beheer/inloggen/code": LOGIN_STEP,
    # Enrolment: during a login, or voluntarily for a signed-in user without TOTP.
    "GET /beheer/2fa/instellen": STAFF,
    "POST /beheer/2fa/instellen": STAFF,
    "POST /beheer/uitloggen": PUBLIC,
    "GET /beheer/wachtwoord-vergeten": PUBLIC,
    "POST /beheer/wachtwoord-vergeten": PUBLIC,
    "POST /beheer/wachtwoord-vergeten/code": PUBLIC,
    "GET /beheer/wachtwoord/herstel/{token}": PUBLIC,  # the token is the credential
    "POST /beheer/wachtwoord/herstel/{token}": PUBLIC,
    "GET /beheer": STAFF,
    # Administration of accounts, organisations, tokens (API).
    "GET /api/v1/users": ADMIN,
    "POST /api/v1/users": ADMIN,
    "GET /api/v1/users/{user_id}": ADMIN,
    "PATCH /api/v1/users/{user_id}": ADMIN,
    "POST /api/v1/users/{user_id}/reset-link": ADMIN,
    "POST /api/v1/users/{user_id}/revoke-access": ADMIN,
    "GET /api/v1/users/{user_id}/tokens": ADMIN,
    "POST /api/v1/users/{user_id}/api-keys": ADMIN,
    "POST /api/v1/tokens/{token_id}/revoke": ADMIN,
    "GET /api/v1/organisations": ADMIN,
    "POST /api/v1/organisations": ADMIN,
    # Administration (pages).
    "GET /beheer/gebruikers": ADMIN,
    "GET /beheer/gebruikers/nieuw": ADMIN,
    "POST /beheer/gebruikers/nieuw": ADMIN,
    "GET /beheer/gebruikers/{user_id}": ADMIN,
    "POST /beheer/gebruikers/{user_id}": ADMIN,
    "POST /beheer/gebruikers/{user_id}/actief": ADMIN,
    "POST /beheer/gebruikers/{user_id}/herstellink": ADMIN,
    "POST /beheer/gebruikers/{user_id}/2fa-herstellen": ADMIN,
    "POST /beheer/gebruikers/{user_id}/toegang-intrekken": ADMIN,
    "POST /beheer/gebruikers/{user_id}/api-sleutels": ADMIN,
    "POST /beheer/tokens/{token_id}/intrekken": ADMIN,
    "GET /beheer/organisaties": ADMIN,
    "POST /beheer/organisaties": ADMIN,
    # Audit log.
    "GET /api/v1/audit": ADMIN,
    "GET /beheer/audit": ADMIN,
    # Vetting (brigades.vetting.deps): the queue, checks, assisted sign-up; and staff exports.
    "GET /api/v1/vetting/queue": VETTERS,
    "GET /api/v1/vetting/volunteers/{volunteer_id}": VETTERS_SCOPED,
    "POST /api/v1/vetting/volunteers/{volunteer_id}/identity": VETTERS_SCOPED,
    "POST /api/v1/vetting/volunteers/{volunteer_id}/vog": VETTERS_SCOPED,
    "POST /api/v1/vetting/volunteers/{volunteer_id}/evidence": VETTERS_SCOPED,
    "POST /api/v1/vetting/checks/{check_id}/revoke": VETTERS_SCOPED,
    "POST /api/v1/vetting/assisted-sign-ups": VETTERS,
    "POST /api/v1/vetting/assisted-sign-ups/{volunteer_id}/verify": VETTERS_SCOPED,
    "POST /api/v1/vetting/assisted-sign-ups/{volunteer_id}/resend-code": VETTERS_SCOPED,
    "GET /api/v1/volunteers/export.csv": VETTERS,
    "GET /beheer/vetting": VETTERS,
    "GET /beheer/vetting/{volunteer_id}": VETTERS_SCOPED,
    "POST /beheer/vetting/{volunteer_id}/identiteit": VETTERS_SCOPED,
    "POST /beheer/vetting/{volunteer_id}/vog": VETTERS_SCOPED,
    "POST /beheer/vetting/{volunteer_id}/bewijs": VETTERS_SCOPED,
    "POST /beheer/vetting/controles/{check_id}/intrekken": VETTERS_SCOPED,
    "GET /beheer/aanmelden-op-locatie": VETTERS,
    "POST /beheer/aanmelden-op-locatie": VETTERS,
    "GET /beheer/aanmelden-op-locatie/{volunteer_id}/code": VETTERS_SCOPED,
    "POST /beheer/aanmelden-op-locatie/{volunteer_id}/code": VETTERS_SCOPED,
    "POST /beheer/aanmelden-op-locatie/{volunteer_id}/opnieuw": VETTERS_SCOPED,
    # Incidents (API).
    "GET /api/v1/incidents": STAFF,
    "POST /api/v1/incidents": INCIDENT_RUNNERS,
    "GET /api/v1/incidents/{incident_id}": INCIDENT_READERS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/timeline": INCIDENT_READERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/level": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/stand-down": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/close": INCIDENT_RUNNERS_SCOPED,
    # Care tasks (API): care organisations create in open incidents of their region.
    "GET /api/v1/task-types": STAFF,
    "POST /api/v1/incidents/{incident_id}/tasks": TASK_CREATORS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/tasks": STAFF_SCOPED,
    "POST /api/v1/incidents/{incident_id}/tasks/import": TASK_CREATORS_SCOPED,
    "GET /api/v1/imports/{import_id}": STAFF_SCOPED,
    "GET /api/v1/tasks": STAFF,
    "GET /api/v1/tasks/{task_id}": STAFF_SCOPED,
    "POST /api/v1/tasks/{task_id}/cancel": TASK_CREATORS_SCOPED,
    # Incidents and care tasks (pages).
    "GET /beheer/incidenten": INCIDENT_READERS,
    "GET /beheer/incidenten/nieuw": INCIDENT_RUNNERS,
    "POST /beheer/incidenten/nieuw": INCIDENT_RUNNERS,
    "GET /beheer/incidenten/{incident_id}": INCIDENT_READERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/niveau": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/afschalen": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/sluiten": INCIDENT_RUNNERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/taken/nieuw": TASK_CREATORS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/taken/nieuw": TASK_CREATORS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/taken/importeren": TASK_CREATORS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/taken/importeren": TASK_CREATORS_SCOPED,
    "GET /beheer/importen/{import_id}": STAFF_SCOPED,
    "GET /beheer/taken": STAFF,
    "GET /beheer/taken/sjabloon.csv": STAFF,
    "GET /beheer/taken/{task_id}": STAFF_SCOPED,
    "POST /beheer/taken/{task_id}/annuleren": TASK_CREATORS_SCOPED,
    # A care organisation's own callback and signing key (API and page).
    "GET /api/v1/organisation": roles(Role.CARE_ORGANISATION),
    "PUT /api/v1/organisation/callback": roles(Role.CARE_ORGANISATION),
    "POST /api/v1/organisation/callback/rotate-secret": roles(Role.CARE_ORGANISATION),
    "GET /beheer/koppeling": roles(Role.CARE_ORGANISATION),
    "POST /beheer/koppeling": roles(Role.CARE_ORGANISATION),
    "POST /beheer/koppeling/sleutel": roles(Role.CARE_ORGANISATION),
    # Peacetime readiness (brigades.readiness): figures for staff but care organisations, targets
    # for regional coordinators, trainings for those who coordinate volunteers, the care-work
    # list for recruiters; a volunteer's record and statements; public statement verification.
    "GET /api/v1/readiness": READINESS_READERS,
    "GET /api/v1/readiness/export.csv": READINESS_READERS,
    "GET /api/v1/readiness/pc4.geojson": READINESS_READERS,
    "GET /api/v1/care-interest": RECRUITERS,
    "GET /beheer/paraatheid": READINESS_READERS,
    "GET /beheer/paraatheid.csv": READINESS_READERS,
    "GET /beheer/paraatheid/kaart.geojson": READINESS_READERS,
    "GET /beheer/paraatheid/doelen": TARGET_SETTERS,
    "POST /beheer/paraatheid/doelen": TARGET_SETTERS,
    "GET /beheer/trainingen": VETTERS,
    "POST /beheer/trainingen": VETTERS,
    "GET /beheer/trainingen/{module_id}": VETTERS_SCOPED,
    "POST /beheer/trainingen/{module_id}/deelname": VETTERS_SCOPED,
    "POST /beheer/trainingen/{module_id}/presentielijst": VETTERS_SCOPED,
    "GET /beheer/zorgwerk": RECRUITERS,
    "GET /beheer/zorgwerk.csv": RECRUITERS,
    "GET /mijn/inzet": VOLUNTEER_ONLY,
    "POST /mijn/nog-beschikbaar": VOLUNTEER_ONLY,
    "POST /mijn/praktijkverklaring": VOLUNTEER_ONLY,
    "GET /mijn/praktijkverklaring/{statement_id}": VOLUNTEER_ONLY,
    "POST /mijn/zorgwerk": VOLUNTEER_ONLY,
    "POST /mijn/zorgwerk/intrekken": VOLUNTEER_ONLY,
    "GET /verklaring": PUBLIC,
    "GET /verklaring/{code}": PUBLIC,  # a care employer checks a code; invalid codes are 404
    # Coordinators' dispatch tools (brigades.dispatch.routes/pages): followers of an incident
    # read, those who run it act; a mutual-aid request is reached by both of its regions.
    "GET /api/v1/incidents/{incident_id}/roll-calls/preview": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/roll-calls": INCIDENT_RUNNERS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/roll-calls": INCIDENT_READERS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/roll-calls/{roll_call_id}": INCIDENT_READERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/roll-calls/{roll_call_id}/close": (
        INCIDENT_RUNNERS_SCOPED
    ),
    "POST /api/v1/incidents/{incident_id}/mutual-aid": INCIDENT_RUNNERS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/mutual-aid": INCIDENT_READERS_SCOPED,
    "GET /api/v1/mutual-aid": INCIDENT_READERS,
    "POST /api/v1/mutual-aid/{aid_id}/approve": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/mutual-aid/{aid_id}/decline": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/mutual-aid/{aid_id}/withdraw": INCIDENT_RUNNERS_SCOPED,
    "GET /api/v1/incidents/{incident_id}/alerts": INCIDENT_READERS_SCOPED,
    "POST /api/v1/incidents/{incident_id}/alerts/{alert_id}/acknowledge": INCIDENT_RUNNERS_SCOPED,
    "POST /api/v1/tasks/{task_id}/reoffer": INCIDENT_RUNNERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/inzet": INCIDENT_READERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/oproep": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/oproep/{roll_call_id}/sluiten": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/meldingen/{alert_id}/gezien": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/incidenten/{incident_id}/onderlinge-hulp": INCIDENT_RUNNERS_SCOPED,
    "GET /beheer/onderlinge-hulp": INCIDENT_READERS,
    "POST /beheer/onderlinge-hulp/{aid_id}/goedkeuren": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/onderlinge-hulp/{aid_id}/afwijzen": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/onderlinge-hulp/{aid_id}/intrekken": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/taken/{task_id}/opnieuw-aanbieden": INCIDENT_RUNNERS_SCOPED,
    "POST /beheer/taken/{task_id}/straal-vergroten": INCIDENT_RUNNERS_SCOPED,
    # The coordinator's dashboard (brigades.dashboard): followers of an incident read it and its
    # exports; call lists and the inbox (phone numbers, texts) for those who coordinate volunteers.
    "GET /beheer/incidenten/{incident_id}/dashboard": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/taken": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/live.json": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/gebied.geojson": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/kaart.geojson": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/vrijwilligers.geojson": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/dashboard/dekking": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/sitrap": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/sitrap.csv": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/export/taken.csv": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/export/taken.geojson": INCIDENT_READERS_SCOPED,
    "GET /beheer/incidenten/{incident_id}/export/cijfers.csv": INCIDENT_READERS_SCOPED,
    "GET /beheer/steunpunten/{support_point_id}/bellijst": VETTERS_SCOPED,
    "GET /beheer/inbox": VETTERS,
    "POST /beheer/inbox/{item_id}/afgehandeld": VETTERS_SCOPED,
    "POST /beheer/inbox/{item_id}/antwoord": VETTERS_SCOPED,
    "POST /beheer/inbox/meldingen/{alert_id}/afgehandeld": VETTERS_SCOPED,
    "POST /beheer/inbox/meldingen/{alert_id}/antwoord": VETTERS_SCOPED,
    # Drills (brigades.drills.pages): drill leads and regional coordinators, in their regions.
    "GET /beheer/oefeningen": DRILL_LEADERS,
    "POST /beheer/oefeningen/simulatie": DRILL_LEADERS,
    "POST /beheer/oefeningen/simulatie/bestand": DRILL_LEADERS,
    "POST /beheer/oefeningen/oproep": DRILL_LEADERS,
    "POST /beheer/oefeningen/live": DRILL_LEADERS,
    "GET /beheer/oefeningen/vergelijk": DRILL_LEADERS,
    "GET /beheer/oefeningen/evaluaties/{run_id}": DRILL_LEADERS_SCOPED,
    "GET /beheer/oefeningen/evaluaties/{run_id}/{name}": DRILL_LEADERS_SCOPED,
    "GET /beheer/oefeningen/{drill_id}": DRILL_LEADERS_SCOPED,
    "POST /beheer/oefeningen/{drill_id}/evaluatie": DRILL_LEADERS_SCOPED,
}


def _vr13_incident(session: Session) -> str:
    return str(make_incident(session, vr_code="VR13").id)


def _vr13_task(session: Session) -> str:
    return str(make_task(session, make_incident(session, vr_code="VR13"), task_draft=VR13_TASK).id)


def _vr13_import(session: Session) -> str:
    incident = make_incident(session, vr_code="VR13")
    return str(make_import(session, incident).id)


def _vr13_volunteer(session: Session) -> str:
    point = make_support_point(session, vr_code="VR13")
    return str(make_volunteer(session, point=point, vr_code="VR13").id)


def _vr13_check(session: Session) -> str:
    point = make_support_point(session, vr_code="VR13")
    volunteer = make_volunteer(session, point=point, vr_code="VR13")
    admin = make_user(session, role=Role.ADMINISTRATOR)
    check = see_identity(session, volunteer, admin)
    session.commit()
    return str(check.id)


def _vr13_training(session: Session) -> str:
    module = TrainingModule(
        vr_code="VR13",
        title="Tillen en verplaatsen",
        skill_code="lichte_persoonlijke_verzorging",
        created_by_label="test",
        created_at=clock.now(),
    )
    session.add(module)
    session.commit()
    return str(module.id)


def _vr13_user(session: Session) -> str:
    return str(make_user(session, role=Role.VIEWER, vr_codes=("VR13",)).id)


def _vr13_token(session: Session) -> str:
    user = make_user(session, role=Role.VIEWER, vr_codes=("VR13",))
    return str(make_token(session, user)[1].id)


def _vr13_roll_call(session: Session) -> str:
    incident = make_incident(session, vr_code="VR13")
    now = clock.now()
    roll_call = RollCall(
        incident_id=incident.id or 0, vr_code="VR13", hours=72, opened_at=now, ends_at=now
    )
    session.add(roll_call)
    session.commit()
    return str(roll_call.id)


def _vr13_alert(session: Session) -> str:
    incident = make_incident(session, vr_code="VR13")
    alert = DispatchAlert(
        incident_id=incident.id or 0,
        vr_code="VR13",
        kind=AlertKind.UNFILLABLE,
        message="Taak 1: niemand gevonden",
        created_at=clock.now(),
    )
    session.add(alert)
    session.commit()
    return str(alert.id)


def _vr13_aid(session: Session) -> str:
    # Between two regions neither of which is the test users' (VR09).
    incident = make_incident(session, vr_code="VR13")
    aid = MutualAid(
        incident_id=incident.id or 0,
        requesting_vr_code="VR13",
        helping_vr_code="VR12",
        requested_at=clock.now(),
    )
    session.add(aid)
    session.commit()
    return str(aid.id)


def _vr13_inbox_item(session: Session) -> str:
    point = make_support_point(session, vr_code="VR13")
    volunteer = make_volunteer(session, point=point, vr_code="VR13")
    inbound = InboundMessage(
        provider="console",
        provider_sid=secrets.token_hex(8),
        from_number=volunteer.phone or "",
        body="ik ben ziek",
        received_at=clock.now(),
    )
    session.add(inbound)
    session.flush()
    item = InboxItem(
        support_point_id=point.id,
        volunteer_id=volunteer.id or 0,
        inbound_message_id=inbound.id or 0,
        body=inbound.body,
        created_at=clock.now(),
    )
    session.add(item)
    session.commit()
    return str(item.id)


def _vr13_drill(session: Session) -> str:
    drill = Drill(
        vr_code="VR13",
        type=DrillType.SIMULATED,
        scenario="klein",
        name="Oefening VR13",
        created_at=clock.now(),
    )
    session.add(drill)
    session.commit()
    return str(drill.id)


def _vr13_drill_run(session: Session) -> str:
    # A real (empty) after-action report: a run never stores anything else.
    incident = make_incident(session, vr_code="VR13")
    built = drill_report.build(
        session, incident_ids=[incident.id or 0], settings=make_settings("sqlite://"), title="VR13"
    )
    run = DrillRun(
        drill_id=int(_vr13_drill(session)), created_at=clock.now(), report_json=built.to_json()
    )
    session.add(run)
    session.commit()
    return str(run.id)


# Path parameter → a factory creating the object (in VR13) and returning the path value.
PATH_VALUES: dict[str, Callable[[Session], str]] = {
    "user_id": _vr13_user,
    "volunteer_id": _vr13_volunteer,
    "check_id": _vr13_check,
    "token_id": _vr13_token,
    "token": lambda session: secrets.token_urlsafe(16),
    "number": lambda session: "+31699123456",
    "incident_id": _vr13_incident,
    "task_id": _vr13_task,
    "import_id": _vr13_import,
    "module_id": _vr13_training,
    "statement_id": lambda session: "1",
    "code": lambda session: "1-AAAAAAAAAAAAAAAA",
    "roll_call_id": _vr13_roll_call,
    "alert_id": _vr13_alert,
    "aid_id": _vr13_aid,
    "offer_id": lambda session: "1",
    "answer": lambda session: "ja",
    "assignment_id": lambda session: "1",
    "step": lambda session: "klaar",
    "support_point_id": lambda session: str(make_support_point(session, vr_code="VR13").id),
    "item_id": _vr13_inbox_item,
    "drill_id": _vr13_drill,
    "run_id": _vr13_drill_run,
    "name": lambda session: "samenvatting.csv",
}

# Where a refused caller may be sent: a login step (staff or volunteer), or the beheer start.
LOGIN_REDIRECTS = ("/beheer/inloggen", "/beheer/2fa/instellen", "/link-aanvragen")


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def app_routes() -> list[Route]:
    """Every (method, path) the application answers, from the app itself."""
    app = create_app(make_settings("sqlite://"))  # as the `app` fixture builds it
    found: set[Route] = set()
    for route in iter_route_contexts(app.routes):
        path = str(route.path)
        methods = set(route.methods or ())
        if not methods:  # a mount (static files): every method
            found.add(Route("*", path))
            continue
        if "GET" in methods:
            methods.discard("HEAD")  # HEAD answers like GET
        found.update(Route(method, path) for method in methods)
    return sorted(found, key=lambda r: (r.path, r.method))


ROUTES = app_routes()


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    keys = {r.key for r in ROUTES}
    missing = [key for key in (r.key for r in ROUTES) if key not in MATRIX]
    stale = sorted(set(MATRIX) - keys)
    assert not missing, (
        "Routes without a row in MATRIX (tests/test_access_matrix.py). "
        "Add, with the right access:\n"
        + "\n".join(f'    "{key}": ADMIN,  # or PUBLIC, STAFF, roles(...)' for key in missing)
    )
    assert not stale, f"Rows in MATRIX for routes that no longer exist: {stale}"


@pytest.fixture
def callers(session: Session) -> dict[str, tuple[str | None, str | None]]:
    """Caller name → (session cookie, bearer token); every staff user works in VR09."""
    point = make_support_point(session, vr_code="VR09")
    assert point.id is not None
    organisation = make_organisation(session, vr_code="VR09")
    found: dict[str, tuple[str | None, str | None]] = {ANONYMOUS: (None, None)}
    for role in Role:
        user = make_user(
            session,
            role=role,
            vr_codes=("VR09",),
            support_point_ids=(point.id,) if role is Role.SUPPORT_POINT_COORDINATOR else (),
            organisation_id=organisation.id if role is Role.CARE_ORGANISATION else None,
        )
        kind = TokenKind.API_KEY if role is Role.CARE_ORGANISATION else TokenKind.ACCESS
        found[role.value] = (start_session(session, user), make_token(session, user, kind=kind)[0])
    return found


def _path(session: Session, path: str) -> str:
    while "{" in path:
        name = path[path.index("{") + 1 : path.index("}")]
        bare = name.split(":")[0]
        if bare not in PATH_VALUES:
            pytest.fail(
                f"No value for path parameter {{{bare}}}: add to PATH_VALUES in "
                f"tests/test_access_matrix.py a factory that creates the object in VR13 and "
                f'returns its id, e.g. "{bare}": lambda session: str(make_x(session, '
                f"vr_code='VR13').id)"
            )
        path = path.replace("{" + name + "}", PATH_VALUES[bare](session), 1)
    return path


def _call(
    client: TestClient,
    route: Route,
    url: str,
    credentials: tuple[str | None, str | None],
    csrf: tuple[str, str],
) -> Response:
    cookie, token = credentials
    client.cookies.clear()
    client.cookies.set("zb_csrf", csrf[0], domain=COOKIE_DOMAIN)
    headers: dict[str, str] = {"X-CSRF-Token": csrf[1]}
    is_api = url.startswith("/api/")
    if is_api and token:
        headers.update(bearer(token))
    elif cookie:
        put_cookie(client, cookie)
    method = "GET" if route.method == "*" else route.method
    if method == "GET" and route.method == "*":
        url = url + "/zorgbrigade.css"
    kwargs: dict[str, Any] = {"headers": headers}
    if method in {"POST", "PUT", "PATCH", "DELETE"}:
        if is_api:
            kwargs["json"] = {}
        else:
            kwargs["data"] = {"csrf_token": csrf[1]}
    return client.request(method, url, **kwargs)


def _refused(response: Response) -> bool:
    if response.status_code in {401, 403, 404}:
        return True
    location = response.headers.get("location", "")
    return response.is_redirect and (location.startswith(LOGIN_REDIRECTS) or location == "/beheer")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_only_the_matrix_callers_get_in(
    client: TestClient,
    session: Session,
    callers: dict[str, tuple[str | None, str | None]],
    route: Route,
) -> None:
    access = MATRIX.get(route.key)
    if access is None:
        pytest.fail(f'No row for "{route.key}" in MATRIX (tests/test_access_matrix.py)')
    url = _path(session, route.path)
    session.commit()
    page = client.get("/beheer/wachtwoord-vergeten")
    csrf_cookie = client.cookies.get("zb_csrf", domain=COOKIE_DOMAIN)
    token_start = page.text.index('name="csrf_token" value="') + len('name="csrf_token" value="')
    csrf = (str(csrf_cookie), page.text[token_start : page.text.index('"', token_start)])

    problems = []
    for caller, credentials in callers.items():
        response = _call(client, route, url, credentials, csrf)
        status = f"{response.status_code} {response.headers.get('location', '')}".strip()
        if access.allowed(caller):
            # Public routes may refuse for reasons of their own (a wrong password, a bad link
            # token); for role rows, refusing an allowed role is a bug in the route or the row.
            location = response.headers.get("location", "")
            to_login = response.is_redirect and location.startswith("/beheer/inloggen")
            if access.kind == "roles" and (response.status_code in {401, 403} or to_login):
                problems.append(f"{caller} is allowed by the matrix but was refused ({status})")
        elif not _refused(response):
            problems.append(f"{caller} must be refused but got {status}")
    assert not problems, f"{route.key} ({access.kind}):\n  " + "\n  ".join(problems)


def test_a_scoped_row_admits_only_the_administrator() -> None:
    row = roles(Role.ADMINISTRATOR, Role.REGIONAL_COORDINATOR, scoped=True)
    assert row.allowed(Role.ADMINISTRATOR.value)
    assert not row.allowed(Role.REGIONAL_COORDINATOR.value)
    assert not row.allowed(Role.VIEWER.value) and not row.allowed(ANONYMOUS)
    assert not VOLUNTEER_ONLY.allowed(ANONYMOUS) and PUBLIC.allowed(ANONYMOUS)
