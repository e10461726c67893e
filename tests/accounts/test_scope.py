"""AccessScope: a VR09 coordinator never sees a VR13 row; objects outside are not found."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from brigades import clock
from brigades.accounts.models import Role, User
from brigades.accounts.scope import AccessScope, scope_for
from brigades.clock import ManualClock
from brigades.errors import Forbidden, NotFound
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer
from tests.accounts.factories import make_organisation, make_support_point, make_user


def _volunteer(session: Session, point: SupportPoint | None, vr_code: str | None) -> Volunteer:
    now = clock.now()
    volunteer = Volunteer(
        public_id=secrets.token_hex(16),
        vr_code=vr_code,
        support_point_id=point.id if point else None,
        created_at=now,
        updated_at=now,
    )
    session.add(volunteer)
    session.flush()
    return volunteer


@pytest.fixture
def world(session: Session, clock: ManualClock) -> dict[str, Volunteer | SupportPoint]:
    utrecht = make_support_point(session, vr_code="VR09", name="Utrecht-Oost")
    zeist = make_support_point(session, vr_code="VR09", name="Zeist")
    amsterdam = make_support_point(session, vr_code="VR13", name="Amsterdam-West")
    return {
        "utrecht": utrecht,
        "zeist": zeist,
        "amsterdam": amsterdam,
        "v_utrecht": _volunteer(session, utrecht, "VR09"),
        "v_zeist": _volunteer(session, zeist, "VR09"),
        "v_amsterdam": _volunteer(session, amsterdam, "VR13"),
        "v_nowhere": _volunteer(session, None, None),
    }


def _visible(session: Session, scope: AccessScope) -> set[int | None]:
    stmt = scope.filter_volunteers(
        select(Volunteer),
        vr_column=col(Volunteer.vr_code),
        support_point_column=col(Volunteer.support_point_id),
    )
    return {v.id for v in session.exec(stmt).all()}


def _by_region(session: Session, scope: AccessScope) -> set[int | None]:
    stmt = scope.filter_by_region(select(Volunteer), col(Volunteer.vr_code))
    return {v.id for v in session.exec(stmt).all()}


def _ids(world: dict[str, Volunteer | SupportPoint], *names: str) -> set[int | None]:
    return {world[n].id for n in names}


def test_a_vr09_coordinator_sees_vr09_only(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    scope = scope_for(session, make_user(session, role=Role.REGIONAL_COORDINATOR))

    assert scope.vr_codes == frozenset({"VR09"}) and not scope.read_only
    assert _visible(session, scope) == _ids(world, "v_utrecht", "v_zeist")
    scope.require_region("VR09")
    for outside in ["VR13", None]:
        with pytest.raises(NotFound):
            scope.require_region(outside)


def test_an_administrator_sees_everything(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    scope = scope_for(session, make_user(session, role=Role.ADMINISTRATOR))
    assert scope.unrestricted
    assert _visible(session, scope) == _ids(
        world, "v_utrecht", "v_zeist", "v_amsterdam", "v_nowhere"
    )
    scope.require_region("VR13")
    scope.require_region(None)


def test_a_support_point_coordinator_sees_the_volunteers_of_their_points(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    point = world["utrecht"]
    assert point.id is not None
    user = make_user(session, role=Role.SUPPORT_POINT_COORDINATOR, support_point_ids=(point.id,))
    scope = scope_for(session, user)

    assert scope.vr_codes == frozenset({"VR09"})  # incidents and tasks of their region
    assert _visible(session, scope) == _ids(world, "v_utrecht")
    assert _by_region(session, scope) == _ids(world, "v_utrecht", "v_zeist")
    scope.require_volunteer(vr_code="VR09", support_point_id=point.id)
    with pytest.raises(NotFound):
        scope.require_volunteer(vr_code="VR09", support_point_id=world["zeist"].id)


def test_a_care_organisation_sees_no_volunteers_and_only_its_own_rows(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    mine = make_organisation(session, vr_code="VR09", name="Mijn zorg")
    other = make_organisation(session, vr_code="VR09", name="Andere zorg")
    scope = scope_for(
        session, make_user(session, role=Role.CARE_ORGANISATION, organisation_id=mine.id)
    )

    assert _visible(session, scope) == set()
    assert scope.vr_codes == frozenset({"VR09"}) and scope.organisation_id == mine.id
    scope.require_organisation(mine.id)
    with pytest.raises(NotFound):
        scope.require_organisation(other.id)
    # The organisation filter works on any table with an organisation column (here: users).
    stmt = scope.filter_organisation(select(User), col(User.organisation_id))
    assert {u.organisation_id for u in session.exec(stmt).all()} == {mine.id}


def test_a_deactivated_organisation_reaches_nothing(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    organisation = make_organisation(session)
    user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation.id)
    organisation.active = False
    session.add(organisation)
    session.flush()
    scope = scope_for(session, user)
    assert _by_region(session, scope) == set()
    with pytest.raises(NotFound):
        scope.require_region("VR09")


def test_viewers_and_drill_leads_are_scoped_by_region(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    viewer = scope_for(session, make_user(session, role=Role.VIEWER, vr_codes=("VR13",)))
    drill_lead = scope_for(
        session, make_user(session, role=Role.DRILL_LEAD, vr_codes=("VR09", "VR13"))
    )

    assert _visible(session, viewer) == _ids(world, "v_amsterdam")
    assert viewer.read_only
    with pytest.raises(Forbidden):
        viewer.require_write()
    assert _visible(session, drill_lead) == _ids(world, "v_utrecht", "v_zeist", "v_amsterdam")
    drill_lead.require_write()


def test_a_user_without_regions_sees_nothing(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    scope = scope_for(session, make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=()))
    assert _visible(session, scope) == set()


def test_the_filters_work_on_updates_too(
    session: Session, world: dict[str, Volunteer | SupportPoint]
) -> None:
    scope = scope_for(session, make_user(session, role=Role.REGIONAL_COORDINATOR))
    stmt = scope.filter_by_region(
        update(Volunteer).values(max_distance_km=42), col(Volunteer.vr_code)
    )
    session.execute(stmt)
    changed = session.exec(select(Volunteer).where(col(Volunteer.max_distance_km) == 42)).all()
    assert {v.vr_code for v in changed} == {"VR09"}
