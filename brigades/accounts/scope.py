"""What a user may reach: the AccessScope every repository query of another domain applies.

Rules (one place):
- administrator: everything (``vr_codes is None``);
- regional coordinator, drill lead, viewer: their Veiligheidsregio's; viewers read-only;
- buurtsteunpunt coordinator: volunteers of their buurtsteunpunten only, and the regions of
  those buurtsteunpunten for incidents and tasks;
- care organisation: its own organisation's tasks, in its region; no volunteers at all.

Objects outside the scope are *not found* (404), never *forbidden*: their existence must not
leak. Rows whose region column is NULL are outside every scope but the administrator's.

Usage in a repository (the scope is the ``CurrentScope`` dependency in a route)::

    stmt = select(Incident)
    stmt = scope.filter_by_region(stmt, col(Incident.vr_code))

    stmt = select(Volunteer)
    stmt = scope.filter_volunteers(stmt, vr_column=col(Volunteer.vr_code),
                                   support_point_column=col(Volunteer.support_point_id))

    incident = repository.get(session, incident_id)
    scope.require_region(incident.vr_code if incident else None)   # NotFound otherwise
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import Mapped, QueryableAttribute
from sqlmodel import Session

from brigades.accounts import repository
from brigades.accounts.models import (
    ORGANISATION_ROLES,
    READ_ONLY_ROLES,
    REGION_ROLES,
    SUPPORT_POINT_ROLES,
    Role,
    User,
)
from brigades.errors import Forbidden, NotFound

NOT_FOUND = "Niet gevonden."
READ_ONLY = "Met dit account kun je alleen meekijken, niets wijzigen."

Column = ColumnElement[Any] | QueryableAttribute[Any] | Mapped[Any]


class Filterable(Protocol):
    """A statement with ``where`` (select, update, delete; SQLModel or SQLAlchemy)."""

    def where(self, *whereclause: ColumnElement[bool]) -> Self: ...


S = TypeVar("S", bound=Filterable)


@dataclass(frozen=True, slots=True)
class AccessScope:
    """The reach of one user. ``None`` means "not limited" on that axis."""

    role: Role
    user_id: int | None
    vr_codes: frozenset[str] | None
    support_point_ids: frozenset[int] | None
    organisation_id: int | None
    read_only: bool

    @classmethod
    def everything(cls) -> AccessScope:
        """No limits (administrators; system jobs that act for nobody in particular)."""
        return cls(Role.ADMINISTRATOR, None, None, None, None, read_only=False)

    @property
    def unrestricted(self) -> bool:
        """Whether every region is in reach."""
        return self.vr_codes is None

    # --- checks on one object -------------------------------------------------------------

    def covers_region(self, vr_code: str | None) -> bool:
        """Whether an object of this region is in reach."""
        if self.vr_codes is None:
            return True
        return vr_code is not None and vr_code in self.vr_codes

    def covers_support_point(self, support_point_id: int | None) -> bool:
        """Whether a volunteer of this buurtsteunpunt is in reach (region checked separately)."""
        if self.support_point_ids is None:
            return True
        return support_point_id is not None and support_point_id in self.support_point_ids

    def require_region(self, vr_code: str | None) -> None:
        """Raise NotFound for an object outside the user's regions."""
        if not self.covers_region(vr_code):
            raise NotFound(NOT_FOUND)

    def require_volunteer(self, *, vr_code: str | None, support_point_id: int | None) -> None:
        """Raise NotFound for a volunteer the user may not see."""
        if not (self.covers_region(vr_code) and self.covers_support_point(support_point_id)):
            raise NotFound(NOT_FOUND)

    def require_organisation(self, organisation_id: int | None) -> None:
        """Raise NotFound for a care organisation's object that belongs to another one."""
        if self.organisation_id is not None and organisation_id != self.organisation_id:
            raise NotFound(NOT_FOUND)

    def require_write(self) -> None:
        """Raise Forbidden for read-only users (viewers)."""
        if self.read_only:
            raise Forbidden(READ_ONLY)

    # --- filters for queries --------------------------------------------------------------

    def filter_by_region(self, stmt: S, vr_column: Column) -> S:
        """Only rows whose region column is one of the user's regions."""
        if self.vr_codes is None:
            return stmt
        if not self.vr_codes:
            return stmt.where(false())
        return stmt.where(_in(vr_column, sorted(self.vr_codes)))

    def filter_support_points(self, stmt: S, column: Column) -> S:
        """Only rows of the user's buurtsteunpunten (where the role is limited to them)."""
        if self.support_point_ids is None:
            return stmt
        if not self.support_point_ids:
            return stmt.where(false())
        return stmt.where(_in(column, sorted(self.support_point_ids)))

    def filter_organisation(self, stmt: S, column: Column) -> S:
        """Only rows of the user's care organisation (for care organisation accounts)."""
        if self.organisation_id is None:
            return stmt
        return stmt.where(_eq(column, self.organisation_id))

    def filter_volunteers(self, stmt: S, *, vr_column: Column, support_point_column: Column) -> S:
        """Volunteers the user may see: in reach by region and by buurtsteunpunt."""
        stmt = self.filter_by_region(stmt, vr_column)
        return self.filter_support_points(stmt, support_point_column)


def _in(column: Column, values: list[Any]) -> ColumnElement[bool]:
    expression: ColumnElement[bool] = column.in_(values)
    return expression


def _eq(column: Column, value: Any) -> ColumnElement[bool]:
    expression: ColumnElement[bool] = column == value
    return expression


def scope_for(session: Session, user: User) -> AccessScope:
    """The scope of a user, from their role and assignments (read on every request)."""
    assert user.id is not None
    role = user.role
    if role is Role.ADMINISTRATOR:
        return AccessScope(role, user.id, None, None, None, read_only=False)
    if role in REGION_ROLES:
        regions = frozenset(repository.regions_of(session, user.id))
        return AccessScope(role, user.id, regions, None, None, read_only=role in READ_ONLY_ROLES)
    if role in SUPPORT_POINT_ROLES:
        points = repository.support_point_regions(
            session, repository.support_points_of(session, user.id)
        )
        return AccessScope(
            role, user.id, frozenset(points.values()), frozenset(points), None, read_only=False
        )
    if role in ORGANISATION_ROLES and user.organisation_id is not None:
        organisation = repository.get_organisation(session, user.organisation_id)
        if organisation is not None and organisation.active:
            return AccessScope(
                role,
                user.id,
                frozenset({organisation.vr_code}),
                frozenset(),
                user.organisation_id,
                read_only=False,
            )
    # Anything unforeseen reaches nothing.
    return AccessScope(role, user.id, frozenset(), frozenset(), -1, read_only=True)
