"""Counts of volunteers per area for maps and dashboards, never showing a small group.

An area with fewer than ``min_count`` volunteers (default 5) is suppressed: it is left out of the
cells, and its volunteers are only counted in ``hidden`` (a total over all suppressed areas, which
locates nobody). Counts are per PC4, the precision at which locations are kept.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from brigades.accounts.scope import AccessScope
from brigades.volunteers.models import Volunteer, VolunteerStatus

MIN_COUNT = 5
# Volunteers that count for readiness: verified and not erased (paused and dormant people are
# still part of the brigade).
COUNTED_STATUSES = frozenset(
    {VolunteerStatus.ACTIVE, VolunteerStatus.PAUSED, VolunteerStatus.DORMANT}
)


@dataclass(frozen=True, slots=True)
class Pc4Counts:
    """Volunteers per PC4 (only areas with at least ``min_count``), and how many are hidden."""

    cells: dict[int, int]
    hidden: int
    hidden_areas: int
    min_count: int

    @property
    def total(self) -> int:
        """Every counted volunteer, shown or hidden."""
        return sum(self.cells.values()) + self.hidden


def aggregate_by_pc4(
    session: Session,
    scope: AccessScope,
    min_count: int = MIN_COUNT,
    *,
    statuses: Collection[VolunteerStatus] = COUNTED_STATUSES,
    exclude_synthetic: bool = False,
) -> Pc4Counts:
    """Volunteers in the user's reach per PC4, with areas under ``min_count`` suppressed."""
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    stmt = select(Volunteer.pc4, func.count()).where(
        col(Volunteer.pc4).is_not(None),
        col(Volunteer.status).in_(sorted(statuses)),
    )
    if exclude_synthetic:
        stmt = stmt.where(col(Volunteer.synthetic).is_(False))
    stmt = scope.filter_volunteers(
        stmt,
        vr_column=col(Volunteer.vr_code),
        support_point_column=col(Volunteer.support_point_id),
    )
    cells: dict[int, int] = {}
    hidden = hidden_areas = 0
    for pc4, n in session.exec(stmt.group_by(col(Volunteer.pc4))).all():
        if pc4 is None:
            continue
        if n >= min_count:
            cells[int(pc4)] = int(n)
        else:
            hidden += int(n)
            hidden_areas += 1
    return Pc4Counts(cells=cells, hidden=hidden, hidden_areas=hidden_areas, min_count=min_count)
