"""Opening, scaling, standing down and closing incidents: rules, scope and the audit timeline."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.accounts.scope import AccessScope
from brigades.clock import ManualClock
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents import service
from brigades.incidents.models import AreaKind, Incident, IncidentKind, IncidentState
from brigades.incidents.states import InvalidTransition
from tests.conftest import make_settings
from tests.incidents.factories import ACTOR, make_incident, polygon


def _scope(role: Role = Role.REGIONAL_COORDINATOR, *regions: str) -> AccessScope:
    return AccessScope(
        role, 1, frozenset(regions or ("VR09",)), None, None, read_only=role is Role.VIEWER
    )


COORDINATOR = _scope()


def test_open_for_a_whole_region_numbers_it_and_audits(
    session: Session, clock: ManualClock
) -> None:
    first = make_incident(session, scope=COORDINATOR, level=2)
    second = make_incident(session, scope=COORDINATOR, kind=IncidentKind.DRILL)

    assert first.code == "VR09-2026-001" and second.code == "VR09-2026-002"
    assert first.state is IncidentState.OPEN and first.area_kind is AreaKind.VR
    assert first.level == 2 and first.opened_at == clock.now()
    events = service.timeline(session, first)
    assert [e.action for e in events] == ["incident.opened"]
    assert events[0].vr_code == "VR09" and events[0].detail["level"] == 2


def test_open_for_gemeenten_takes_the_region_from_them(
    session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session, vr_code=None, gm_codes=["gm0344", "GM0355"])
    assert incident.vr_code == "VR09" and incident.area_kind is AreaKind.GEMEENTEN
    assert service.gemeenten(session, incident) == ["GM0344", "GM0355"]
    assert service.area_contains(incident, 52.09, 5.12)  # Utrecht
    assert not service.area_contains(incident, 52.155, 5.387)  # Amersfoort


def test_gemeenten_must_belong_to_one_region(session: Session, clock: ManualClock) -> None:
    with pytest.raises(InvalidInput, match="dezelfde Veiligheidsregio"):
        make_incident(session, gm_codes=["GM0344", "GM0363"])  # Utrecht and Amsterdam
    with pytest.raises(InvalidInput, match="Onbekende gemeente"):
        make_incident(session, gm_codes=["GM9999"])
    with pytest.raises(InvalidInput, match="minstens één gemeente"):
        make_incident(session, gm_codes=[])


def test_open_for_a_polygon_stores_the_geometry(session: Session, clock: ManualClock) -> None:
    incident = make_incident(session, polygon_geojson=polygon())
    assert incident.area_kind is AreaKind.POLYGON and incident.area_geojson
    assert service.area_contains(incident, 52.085, 5.12)
    assert not service.area_contains(incident, 52.085, 5.2)


def test_only_one_open_code_zwart_incident_per_area(session: Session, clock: ManualClock) -> None:
    make_incident(session, gm_codes=["GM0344"], allow_overlap=False)

    with pytest.raises(Conflict, match="VR09-2026-001") as refused:
        make_incident(session, gm_codes=["GM0344", "GM0355"], allow_overlap=False)
    assert refused.value.field == "area"
    with pytest.raises(Conflict):
        make_incident(session, vr_code="VR09", allow_overlap=False)
    with pytest.raises(Conflict):
        make_incident(session, polygon_geojson=polygon(), allow_overlap=False)  # inside Utrecht

    # Other gemeenten, another region, a drill, or an explicit choice: allowed.
    make_incident(session, gm_codes=["GM0355"], allow_overlap=False)
    make_incident(session, vr_code="VR13", allow_overlap=False)
    make_incident(session, gm_codes=["GM0344"], kind=IncidentKind.DRILL, allow_overlap=False)
    overlapping = make_incident(session, gm_codes=["GM0344"], allow_overlap=True)
    opened = service.timeline(session, overlapping)[0]
    assert opened.detail["overlaps"] == ["VR09-2026-001"]


def test_a_closed_incident_no_longer_blocks_its_area(session: Session, clock: ManualClock) -> None:
    first = make_incident(session, vr_code="VR09", allow_overlap=False)
    service.start_closing(
        session,
        actor=ACTOR,
        scope=COORDINATOR,
        incident=first,
        reason="Voorbij",
        now=clock.now(),
        settings=make_settings("sqlite://"),
    )
    with pytest.raises(Conflict):  # still standing volunteers down
        make_incident(session, vr_code="VR09", allow_overlap=False)
    service.close(session, actor=ACTOR, scope=COORDINATOR, incident=first, now=clock.now())
    assert make_incident(session, vr_code="VR09", allow_overlap=False).code == "VR09-2026-002"


def test_a_coordinator_works_only_in_their_region(session: Session, clock: ManualClock) -> None:
    with pytest.raises(Forbidden):
        make_incident(session, vr_code="VR13", scope=COORDINATOR)
    with pytest.raises(Forbidden):
        make_incident(session, gm_codes=["GM0363"], scope=COORDINATOR)
    elsewhere = make_incident(session, vr_code="VR13")
    assert elsewhere.id is not None
    with pytest.raises(NotFound):
        service.get_incident(session, scope=COORDINATOR, incident_id=elsewhere.id)
    with pytest.raises(NotFound):
        service.scale(
            session, actor=ACTOR, scope=COORDINATOR, incident=elsewhere, level=2, now=clock.now()
        )
    own = make_incident(session, vr_code="VR09")
    assert [i.code for i in service.list_incidents(session, scope=COORDINATOR)] == [own.code]


def test_roles_that_may_not_run_incidents(session: Session, clock: ManualClock) -> None:
    with pytest.raises(Forbidden, match="meekijken"):
        make_incident(session, scope=_scope(Role.VIEWER))
    with pytest.raises(Forbidden, match="oefeningen"):
        make_incident(session, scope=_scope(Role.DRILL_LEAD))
    drill = make_incident(session, scope=_scope(Role.DRILL_LEAD), kind=IncidentKind.DRILL)
    assert drill.kind is IncidentKind.DRILL
    with pytest.raises(Forbidden):
        make_incident(session, scope=_scope(Role.SUPPORT_POINT_COORDINATOR))


def test_scaling_changes_the_dispatch_settings(session: Session, clock: ManualClock) -> None:
    settings = make_settings("sqlite://")
    incident = make_incident(session, level=1)
    before = service.dispatch_settings(settings, incident)
    clock.advance(60)
    service.scale(
        session, actor=ACTOR, scope=COORDINATOR, incident=incident, level=3, now=clock.now()
    )
    after = service.dispatch_settings(settings, incident)

    assert incident.level == 3
    assert after.search_radius_km > before.search_radius_km
    assert after.offer_expiry_minutes < before.offer_expiry_minutes
    assert after.offers_per_volunteer_per_day > before.offers_per_volunteer_per_day
    events = service.timeline(session, incident)
    assert [e.action for e in events] == ["incident.opened", "incident.scaled"]
    assert events[1].detail == {"from": 1, "to": 3} and events[1].at == clock.now()
    with pytest.raises(InvalidInput):
        service.scale(
            session, actor=ACTOR, scope=COORDINATOR, incident=incident, level=5, now=clock.now()
        )


def test_stand_down_calls_the_hooks_then_close(session: Session, clock: ManualClock) -> None:
    incident = make_incident(session)
    called: list[tuple[int | None, IncidentState, datetime]] = []

    def hook(sess: Session, closing: Incident, now: datetime, _settings: object) -> None:
        called.append((closing.id, closing.state, now))

    service.register_on_closing(hook)
    try:
        with pytest.raises(InvalidInput, match="reden"):
            service.start_closing(
                session,
                actor=ACTOR,
                scope=COORDINATOR,
                incident=incident,
                reason=" ",
                now=clock.now(),
                settings=make_settings("sqlite://"),
            )
        service.start_closing(
            session,
            actor=ACTOR,
            scope=COORDINATOR,
            incident=incident,
            reason="De piek is voorbij",
            now=clock.now(),
            settings=make_settings("sqlite://"),
        )
    finally:
        service.unregister_on_closing(hook)

    assert called == [(incident.id, IncidentState.CLOSING, clock.now())]
    assert incident.close_reason == "De piek is voorbij"
    with pytest.raises(InvalidTransition):
        service.scale(
            session, actor=ACTOR, scope=COORDINATOR, incident=incident, level=2, now=clock.now()
        )
    clock.advance(3600)
    service.close(session, actor=ACTOR, scope=COORDINATOR, incident=incident, now=clock.now())
    assert incident.state is IncidentState.CLOSED and incident.closed_at == clock.now()
    with pytest.raises(InvalidTransition):
        service.close(session, actor=ACTOR, scope=COORDINATOR, incident=incident, now=clock.now())
    assert [e.action for e in service.timeline(session, incident)] == [
        "incident.opened",
        "incident.closing",
        "incident.closed",
    ]


def test_close_needs_a_stand_down_first(session: Session, clock: ManualClock) -> None:
    incident = make_incident(session)
    with pytest.raises(InvalidTransition, match="van 'Open' naar 'Gesloten'"):
        service.close(session, actor=ACTOR, scope=COORDINATOR, incident=incident, now=clock.now())
