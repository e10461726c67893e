"""Mutual aid: an incident's region asks a neighbouring region for volunteers.

A coordinator who runs the incident asks one neighbouring region (optionally only for one
skill, with a note); that region's coordinators see the request in their list and approve or
decline it; the requester may withdraw it. Only an *approved* request makes the helping
region's volunteers eligible (:func:`brigades.dispatch.service.allowed_regions`), for that
incident only. An approval can be ended later by declining it.

Region scoping: a request involves two regions. Each side sees it (the requester's to follow
and withdraw, the helper's to decide); a coordinator of any third region does not, and gets
404 as for anything out of reach. Everything is audited, without personal data.

Neighbours are regions whose boundaries touch (computed once from the reference boundaries;
the simplified polygons get a little slack). Without boundary data any other region may be
asked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from sqlmodel import Session, col, select

import geo
from brigades.accounts.models import Role
from brigades.accounts.scope import NOT_FOUND, AccessScope
from brigades.audit import service as audit
from brigades.audit.service import Actor
from brigades.dispatch.models import MUTUAL_AID_OBJECT, MutualAid, MutualAidState
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents import service as incidents
from brigades.incidents.models import Incident, IncidentKind, IncidentState
from brigades.skills.models import Skill

log = logging.getLogger(__name__)

# Degrees: the simplified boundaries of two touching regions may leave a sliver between them.
TOUCH_SLACK_DEGREES = 0.002
LIVE_STATES = (MutualAidState.REQUESTED, MutualAidState.APPROVED)
MAX_NOTE = 300


@lru_cache(maxsize=1)
def _neighbour_table() -> dict[str, tuple[str, ...]]:
    """Every region's neighbours (the reference data never changes while running)."""
    import shapely

    data = geo.load_reference_data()
    codes = sorted(data.regions)
    try:
        shapes = {code: data.vr_boundary(code) for code in codes}
    except (geo.ReferenceDataError, KeyError, OSError):
        log.warning("no region boundaries: every region counts as a neighbour")
        return {code: tuple(c for c in codes if c != code) for code in codes}
    return {
        code: tuple(
            other
            for other in codes
            if other != code and shapely.distance(shapes[code], shapes[other]) < TOUCH_SLACK_DEGREES
        )
        for code in codes
    }


def neighbours(vr_code: str) -> tuple[str, ...]:
    """The regions bordering ``vr_code``."""
    return _neighbour_table().get(vr_code, ())


def neighbour_choices(vr_code: str) -> list[tuple[str, str]]:
    """(code, name) of the neighbouring regions, for a form."""
    regions = geo.load_reference_data().regions
    return [(code, regions[code].name) for code in neighbours(vr_code) if code in regions]


def _may_decide(scope: AccessScope, incident: Incident) -> None:
    scope.require_write()
    if scope.role not in incidents.RUNNING_ROLES:
        raise Forbidden("Alleen regionale coördinatoren beslissen over onderlinge hulp.")
    if scope.role is Role.DRILL_LEAD and incident.kind is not IncidentKind.DRILL:
        raise Forbidden("Een oefenleider kan dit alleen bij oefeningen doen.")


def _record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    aid: MutualAid,
    vr_code: str,
    now: datetime,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_kind=MUTUAL_AID_OBJECT,
        object_id=aid.id,
        vr_code=vr_code,
        detail={
            "incident_id": aid.incident_id,
            "requesting_vr_code": aid.requesting_vr_code,
            "helping_vr_code": aid.helping_vr_code,
            "skill_code": aid.skill_code,
            "state": aid.state.value,
        },
        now=now,
    )


def request(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    incident: Incident,
    helping_vr_code: str,
    skill_code: str | None,
    note: str | None,
    now: datetime,
) -> MutualAid:
    """Ask a neighbouring region for help with the incident (audited)."""
    scope.require_region(incident.vr_code)
    _may_decide(scope, incident)
    assert incident.id is not None
    if incident.state is not IncidentState.OPEN:
        raise Conflict("Onderlinge hulp kan alleen bij een open incident.")
    helping = helping_vr_code.strip().upper()
    if helping == incident.vr_code:
        raise InvalidInput("Kies een andere regio dan die van het incident.", field="helping")
    if helping not in neighbours(incident.vr_code):
        raise InvalidInput("Kies een aangrenzende Veiligheidsregio.", field="helping")
    skill = (skill_code or "").strip() or None
    if skill is not None and session.get(Skill, skill) is None:
        raise InvalidInput("Onbekende vaardigheid.", field="skill")
    cleaned = " ".join((note or "").split())[:MAX_NOTE] or None
    existing = session.exec(
        select(MutualAid).where(
            col(MutualAid.incident_id) == incident.id,
            col(MutualAid.helping_vr_code) == helping,
            col(MutualAid.state).in_(LIVE_STATES),
        )
    ).all()
    if any(a.skill_code == skill or a.skill_code is None for a in existing):
        raise Conflict("Deze regio is voor dit incident al om hulp gevraagd.", field="helping")
    aid = MutualAid(
        incident_id=incident.id,
        requesting_vr_code=incident.vr_code,
        helping_vr_code=helping,
        skill_code=skill,
        state=MutualAidState.REQUESTED,
        note=cleaned,
        requested_by_user_id=scope.user_id,
        requested_at=now,
    )
    session.add(aid)
    session.flush()
    _record(
        session,
        actor=actor,
        action="mutual_aid.requested",
        aid=aid,
        vr_code=incident.vr_code,
        now=now,
    )
    return aid


def get(session: Session, *, scope: AccessScope, aid_id: int) -> MutualAid:
    """A request either of whose regions is the caller's (NotFound otherwise)."""
    aid = session.get(MutualAid, aid_id)
    if aid is None or not (
        scope.covers_region(aid.requesting_vr_code) or scope.covers_region(aid.helping_vr_code)
    ):
        raise NotFound(NOT_FOUND)
    return aid


def _lock(session: Session, aid_id: int) -> MutualAid:
    stmt = select(MutualAid).where(col(MutualAid.id) == aid_id).with_for_update()
    aid = session.exec(stmt.execution_options(populate_existing=True)).first()
    if aid is None:
        raise NotFound(NOT_FOUND)
    return aid


def _incident_of(session: Session, aid: MutualAid) -> Incident:
    incident = session.get(Incident, aid.incident_id)
    if incident is None:
        raise NotFound(NOT_FOUND)
    return incident


def decide(
    session: Session,
    *,
    scope: AccessScope,
    actor: Actor,
    aid: MutualAid,
    approve: bool,
    now: datetime,
) -> MutualAid:
    """The helping region approves or declines (declining also ends an earlier approval)."""
    if not scope.covers_region(aid.helping_vr_code):
        # The requesting side sees the request but cannot answer it for the other region.
        if scope.covers_region(aid.requesting_vr_code):
            raise Forbidden("Alleen de gevraagde regio beslist over dit verzoek.")
        raise NotFound(NOT_FOUND)
    _may_decide(scope, _incident_of(session, aid))
    locked = _lock(session, aid.id or 0)
    allowed = (
        {MutualAidState.REQUESTED}
        if approve
        else {MutualAidState.REQUESTED, MutualAidState.APPROVED}
    )
    if locked.state not in allowed:
        raise Conflict("Over dit verzoek is al beslist.")
    locked.state = MutualAidState.APPROVED if approve else MutualAidState.DECLINED
    locked.decided_by_user_id = scope.user_id
    locked.decided_at = now
    session.add(locked)
    _record(
        session,
        actor=actor,
        action="mutual_aid.approved" if approve else "mutual_aid.declined",
        aid=locked,
        vr_code=locked.helping_vr_code,
        now=now,
    )
    return locked


def withdraw(
    session: Session, *, scope: AccessScope, actor: Actor, aid: MutualAid, now: datetime
) -> MutualAid:
    """The requesting region withdraws its request (or ends the help it got)."""
    if not scope.covers_region(aid.requesting_vr_code):
        if scope.covers_region(aid.helping_vr_code):
            raise Forbidden("Alleen de aanvragende regio kan dit verzoek intrekken.")
        raise NotFound(NOT_FOUND)
    _may_decide(scope, _incident_of(session, aid))
    locked = _lock(session, aid.id or 0)
    if locked.state not in LIVE_STATES:
        raise Conflict("Dit verzoek loopt niet meer.")
    locked.state = MutualAidState.WITHDRAWN
    locked.decided_at = now
    session.add(locked)
    _record(
        session,
        actor=actor,
        action="mutual_aid.withdrawn",
        aid=locked,
        vr_code=locked.requesting_vr_code,
        now=now,
    )
    return locked


def of_incident(session: Session, incident_id: int) -> Sequence[MutualAid]:
    """The incident's requests, newest first."""
    stmt = (
        select(MutualAid)
        .where(col(MutualAid.incident_id) == incident_id)
        .order_by(col(MutualAid.id).desc())
    )
    return session.exec(stmt).all()


def incoming(session: Session, *, scope: AccessScope) -> Sequence[MutualAid]:
    """Requests to the caller's regions, newest first."""
    stmt = scope.filter_by_region(select(MutualAid), col(MutualAid.helping_vr_code))
    return session.exec(stmt.order_by(col(MutualAid.id).desc()).limit(200)).all()


def outgoing(session: Session, *, scope: AccessScope) -> Sequence[MutualAid]:
    """Requests of the caller's regions to others, newest first."""
    stmt = scope.filter_by_region(select(MutualAid), col(MutualAid.requesting_vr_code))
    return session.exec(stmt.order_by(col(MutualAid.id).desc()).limit(200)).all()


def incidents_of(session: Session, aids: Sequence[MutualAid]) -> dict[int, Incident]:
    """The incidents of some requests, by id (for lists: code and name, nothing personal)."""
    ids = sorted({a.incident_id for a in aids})
    if not ids:
        return {}
    found = session.exec(select(Incident).where(col(Incident.id).in_(ids))).all()
    return {i.id: i for i in found if i.id is not None}
