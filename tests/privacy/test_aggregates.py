"""Map aggregates per PC4 never show an area with fewer than 5 volunteers."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.accounts.scope import AccessScope, scope_for
from brigades.clock import ManualClock
from brigades.privacy.aggregates import aggregate_by_pc4
from brigades.volunteers.models import VolunteerStatus
from tests.accounts.factories import make_support_point, make_user
from tests.vetting.factories import coordinator, make_volunteer


def _people(session: Session, n: int, pc4: int, **kwargs: object) -> None:
    point = kwargs.pop("point", None)
    for _ in range(n):
        make_volunteer(session, point=point, pc4=pc4, **kwargs)  # type: ignore[arg-type]


def test_cells_under_five_are_suppressed(session: Session, clock: ManualClock) -> None:
    _people(session, 5, 3511)
    _people(session, 7, 3584)
    _people(session, 4, 3572)
    _people(session, 1, 3581)

    counts = aggregate_by_pc4(session, AccessScope.everything())

    assert counts.cells == {3511: 5, 3584: 7}
    assert counts.hidden == 5 and counts.hidden_areas == 2
    assert counts.total == 17 and counts.min_count == 5
    assert all(n >= 5 for n in counts.cells.values())


def test_the_threshold_is_a_parameter(session: Session, clock: ManualClock) -> None:
    _people(session, 3, 3511)
    _people(session, 2, 3584)
    assert aggregate_by_pc4(session, AccessScope.everything(), min_count=3).cells == {3511: 3}
    assert aggregate_by_pc4(session, AccessScope.everything(), min_count=1).cells == {
        3511: 3,
        3584: 2,
    }
    with pytest.raises(ValueError):
        aggregate_by_pc4(session, AccessScope.everything(), min_count=0)


def test_pending_and_erased_volunteers_do_not_count(session: Session, clock: ManualClock) -> None:
    _people(session, 4, 3511)
    _people(session, 3, 3511, verified=False)
    _people(session, 2, 3511, status=VolunteerStatus.ERASED)
    assert aggregate_by_pc4(session, AccessScope.everything()).cells == {}
    _people(session, 1, 3511, status=VolunteerStatus.PAUSED)
    assert aggregate_by_pc4(session, AccessScope.everything()).cells == {3511: 5}


def test_the_scope_applies_before_suppression(session: Session, clock: ManualClock) -> None:
    """A coordinator's small share of a busy area is still suppressed for them."""
    mine = make_support_point(session, name="Mijn punt")
    other = make_support_point(session, name="Ander punt")
    amsterdam = make_support_point(session, vr_code="VR13")
    _people(session, 3, 3584, point=mine)
    _people(session, 6, 3584, point=other)
    _people(session, 6, 1012, point=amsterdam, vr_code="VR13")

    point_scope = scope_for(session, coordinator(session, mine))
    region_scope = scope_for(session, make_user(session, role=Role.REGIONAL_COORDINATOR))

    assert aggregate_by_pc4(session, point_scope).cells == {}
    assert aggregate_by_pc4(session, point_scope).hidden == 3
    assert aggregate_by_pc4(session, region_scope).cells == {3584: 9}
    assert aggregate_by_pc4(session, AccessScope.everything()).cells == {3584: 9, 1012: 6}
