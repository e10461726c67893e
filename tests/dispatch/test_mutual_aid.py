"""Mutual aid: ask a neighbouring region, its approval makes its volunteers eligible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from brigades.accounts.models import Role
from brigades.accounts.scope import AccessScope
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.dispatch import coordination, eligibility, mutual_aid, service
from brigades.dispatch.models import MutualAid, MutualAidState
from brigades.errors import Conflict, Forbidden, InvalidInput, NotFound
from brigades.incidents.models import Incident
from brigades.settings import Settings
from brigades.tasks.models import CareTask
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.incidents.factories import ACTOR


def _coordinator(*regions: str, role: Role = Role.REGIONAL_COORDINATOR) -> AccessScope:
    return AccessScope(role, None, frozenset(regions), None, None, read_only=False)


UTRECHT = _coordinator("VR09")
GOOI = _coordinator("VR14")
AMSTERDAM = _coordinator("VR13")


def _ask(
    session: Session,
    the_incident: Incident,
    helping: str = "VR14",
    *,
    skill: str | None = None,
    scope: AccessScope = UTRECHT,
    clock: ManualClock,
) -> MutualAid:
    return mutual_aid.request(
        session,
        scope=scope,
        actor=ACTOR,
        incident=the_incident,
        helping_vr_code=helping,
        skill_code=skill,
        note="Veel taken in Utrecht-Oost",
        now=clock.now(),
    )


def _eligible(session: Session, the_incident: Incident, care_task: CareTask) -> dict[int, float]:
    needs = eligibility.needs_of(session, care_task)
    regions = service.allowed_regions(session, incident=the_incident, needs=needs)
    return eligibility.eligible(
        session,
        task=care_task,
        needs=needs,
        volunteer_ids=_all_ids(session),
        radius_km=10,
        allowed_vr_codes=regions,
        excluded=set(),
        caps=eligibility.Caps(offers_per_day=10, assignments_per_day=10, rest=timedelta(0)),
        now=care_task.window_start,
    )


def _all_ids(session: Session) -> list[int]:
    from brigades.volunteers.models import Volunteer

    return [i for i in session.exec(select(Volunteer.id)).all() if i is not None]


def test_neighbours_are_the_regions_that_touch() -> None:
    assert {"VR07", "VR08", "VR13", "VR14", "VR16", "VR18"} == set(mutual_aid.neighbours("VR09"))
    assert "VR01" not in mutual_aid.neighbours("VR09")
    assert mutual_aid.neighbours("VR24") == ("VR23",)
    assert ("VR14", "Gooi en Vechtstreek") in mutual_aid.neighbour_choices("VR09")


def test_only_an_approved_request_makes_the_neighbours_volunteers_eligible(
    session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident)
    local = ready_volunteer(session, km=1)
    neighbour = ready_volunteer(session, km=2, vr_code="VR14")
    assert set(_eligible(session, the_incident, care_task)) == {local.id}

    aid = _ask(session, the_incident, clock=clock)
    assert aid.state is MutualAidState.REQUESTED and aid.requesting_vr_code == "VR09"
    assert set(_eligible(session, the_incident, care_task)) == {local.id}

    # The helping region sees it in its list and approves.
    assert [a.id for a in mutual_aid.incoming(session, scope=GOOI)] == [aid.id]
    assert mutual_aid.incoming(session, scope=UTRECHT) == []
    assert [a.id for a in mutual_aid.outgoing(session, scope=UTRECHT)] == [aid.id]
    found = mutual_aid.get(session, scope=GOOI, aid_id=aid.id or 0)
    approved = mutual_aid.decide(
        session, scope=GOOI, actor=ACTOR, aid=found, approve=True, now=clock.now()
    )
    assert approved.state is MutualAidState.APPROVED
    needs = eligibility.needs_of(session, care_task)
    assert service.allowed_regions(session, incident=the_incident, needs=needs) == {
        "VR09",
        "VR14",
    }
    assert set(_eligible(session, the_incident, care_task)) == {local.id, neighbour.id}

    # Only for this incident.
    other_incident = incident(session)
    other_task = task(session, other_incident)
    assert set(_eligible(session, other_incident, other_task)) == {local.id}

    # Declining later ends the help.
    mutual_aid.decide(
        session, scope=GOOI, actor=ACTOR, aid=approved, approve=False, now=clock.now()
    )
    assert set(_eligible(session, the_incident, care_task)) == {local.id}


def test_a_skill_restricted_approval_counts_only_for_tasks_needing_that_skill(
    session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    shopping = task(session, the_incident)  # needs "boodschappen"
    aid = _ask(session, the_incident, skill="vervoer_auto", clock=clock)
    mutual_aid.decide(session, scope=GOOI, actor=ACTOR, aid=aid, approve=True, now=clock.now())
    needs = eligibility.needs_of(session, shopping)
    assert service.allowed_regions(session, incident=the_incident, needs=needs) == {"VR09"}
    aid_for_shopping = _ask(session, the_incident, skill="boodschappen", clock=clock)
    mutual_aid.decide(
        session, scope=GOOI, actor=ACTOR, aid=aid_for_shopping, approve=True, now=clock.now()
    )
    assert "VR14" in service.allowed_regions(session, incident=the_incident, needs=needs)


def test_what_may_be_asked(session: Session, clock: ManualClock) -> None:
    the_incident = incident(session)
    with pytest.raises(InvalidInput):
        _ask(session, the_incident, "VR01", clock=clock)  # Groningen does not border Utrecht
    with pytest.raises(InvalidInput):
        _ask(session, the_incident, "VR09", clock=clock)
    with pytest.raises(InvalidInput):
        _ask(session, the_incident, skill="toveren", clock=clock)
    _ask(session, the_incident, clock=clock)
    with pytest.raises(Conflict):
        _ask(session, the_incident, clock=clock)
    with pytest.raises(NotFound):
        _ask(session, the_incident, "VR14", scope=AMSTERDAM, clock=clock)
    viewer = AccessScope(Role.VIEWER, None, frozenset({"VR09"}), None, None, read_only=True)
    with pytest.raises(Forbidden):
        _ask(session, the_incident, "VR13", scope=viewer, clock=clock)
    drill_lead = _coordinator("VR09", role=Role.DRILL_LEAD)
    with pytest.raises(Forbidden):
        _ask(session, the_incident, "VR13", scope=drill_lead, clock=clock)
    assert _ask(session, incident(session, drill=True), "VR13", scope=drill_lead, clock=clock)


def test_each_side_does_only_its_part_and_a_third_region_sees_nothing(
    session: Session, clock: ManualClock
) -> None:
    the_incident = incident(session)
    aid = _ask(session, the_incident, clock=clock)
    assert aid.id is not None
    with pytest.raises(NotFound):
        mutual_aid.get(session, scope=AMSTERDAM, aid_id=aid.id)
    assert mutual_aid.incoming(session, scope=AMSTERDAM) == []
    assert mutual_aid.outgoing(session, scope=AMSTERDAM) == []
    with pytest.raises(NotFound):
        mutual_aid.decide(
            session, scope=AMSTERDAM, actor=ACTOR, aid=aid, approve=True, now=clock.now()
        )
    with pytest.raises(Forbidden):  # the requester cannot approve its own request
        mutual_aid.decide(
            session, scope=UTRECHT, actor=ACTOR, aid=aid, approve=True, now=clock.now()
        )
    with pytest.raises(Forbidden):  # nor the helper withdraw it
        mutual_aid.withdraw(session, scope=GOOI, actor=ACTOR, aid=aid, now=clock.now())

    withdrawn = mutual_aid.withdraw(session, scope=UTRECHT, actor=ACTOR, aid=aid, now=clock.now())
    assert withdrawn.state is MutualAidState.WITHDRAWN
    with pytest.raises(Conflict):
        mutual_aid.decide(session, scope=GOOI, actor=ACTOR, aid=aid, approve=True, now=clock.now())


def test_every_step_is_audited_without_personal_data(session: Session, clock: ManualClock) -> None:
    the_incident = incident(session)
    aid = _ask(session, the_incident, clock=clock)
    mutual_aid.decide(session, scope=GOOI, actor=ACTOR, aid=aid, approve=True, now=clock.now())
    mutual_aid.withdraw(session, scope=UTRECHT, actor=ACTOR, aid=aid, now=clock.now())
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.object_kind) == "mutual_aid", col(AuditEvent.object_id) == str(aid.id)
        )
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(e.action, e.vr_code) for e in events] == [
        ("mutual_aid.requested", "VR09"),
        ("mutual_aid.approved", "VR14"),
        ("mutual_aid.withdrawn", "VR09"),
    ]
    assert set(events[1].detail) == {
        "incident_id",
        "requesting_vr_code",
        "helping_vr_code",
        "skill_code",
        "state",
    }


def test_an_unfillable_task_is_filled_from_the_neighbours_after_approval_and_reoffer(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    the_incident = incident(session)
    care_task = task(session, the_incident)
    neighbour = ready_volunteer(session, km=1, vr_code="VR14")
    service.start(
        session, task=care_task, settings=settings, incident=the_incident, now=clock.now()
    )
    first = service.run_wave(session, task_id=care_task.id or 0, settings=settings, now=clock.now())
    assert first.unfillable and first.offered_ids == ()

    aid = _ask(session, the_incident, clock=clock)
    mutual_aid.decide(session, scope=GOOI, actor=ACTOR, aid=aid, approve=True, now=clock.now())
    coordination.reoffer(
        session,
        scope=UTRECHT,
        actor=ACTOR,
        task=care_task,
        settings=settings,
        widen=False,
        now=clock.now(),
    )
    again = service.run_wave(session, task_id=care_task.id or 0, settings=settings, now=clock.now())
    assert again.offered_ids == (neighbour.id,)
