"""Queries on volunteers and their skills, windows, codes and links."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    VerificationPurpose,
    Volunteer,
    VolunteerSkill,
)

# The Core tables, not the entities, for the inserts of sign-up: less overhead on the hot path,
# and the ORM would split a batch by which values are None (one statement per shape).
_SKILL_TABLE: Table = VolunteerSkill.__table__  # type: ignore[attr-defined]
_WINDOW_TABLE: Table = AvailabilityWindow.__table__  # type: ignore[attr-defined]
_VOLUNTEER_TABLE: Table = Volunteer.__table__  # type: ignore[attr-defined]
_VERIFICATION_TABLE: Table = PhoneVerification.__table__  # type: ignore[attr-defined]


@functools.cache
def _insert_volunteer_statement(dialect: str) -> Any:
    # Built once per dialect with the values bound per call, so SQLAlchemy compiles it once.
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        make_insert(_VOLUNTEER_TABLE)
        .on_conflict_do_nothing(index_elements=[_VOLUNTEER_TABLE.c.phone])
        .returning(_VOLUNTEER_TABLE.c.id)
    )


def insert_if_new_phone(session: Session, values: dict[str, Any]) -> int | None:
    """Insert a volunteer; None (and nothing written) when the phone number already exists.

    ``ON CONFLICT (phone) DO NOTHING`` settles a race of two sign-ups of one new number inside the
    database: on PostgreSQL the second waits for the first to commit and then finds the row.
    No exception, so no savepoint is needed and the transaction stays usable. Columns missing
    from ``values`` get their model defaults.
    """
    stmt = _insert_volunteer_statement(session.get_bind().dialect.name)
    new_id = session.execute(stmt, values).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def add_verification(session: Session, values: dict[str, Any]) -> None:
    """Insert a phone verification (Core: no ORM object is needed on the sign-up path)."""
    session.execute(insert(_VERIFICATION_TABLE), values)


def add_skills(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert skill rows in one batched statement."""
    if rows:
        session.execute(insert(_SKILL_TABLE), rows)


def add_windows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert availability windows in one batched statement."""
    if rows:
        session.execute(insert(_WINDOW_TABLE), rows)


def by_phone(session: Session, phone: str) -> Volunteer | None:
    """The volunteer with this (E.164) number."""
    return session.exec(select(Volunteer).where(Volunteer.phone == phone)).first()


def by_public_id(session: Session, public_id: str) -> Volunteer | None:
    """The volunteer with this public id."""
    return session.exec(select(Volunteer).where(Volunteer.public_id == public_id)).first()


def skills_of(session: Session, volunteer_id: int) -> Sequence[VolunteerSkill]:
    """A volunteer's skills, by code."""
    stmt = (
        select(VolunteerSkill)
        .where(VolunteerSkill.volunteer_id == volunteer_id)
        .order_by(col(VolunteerSkill.skill_code))
    )
    return session.exec(stmt).all()


def windows_of(session: Session, volunteer_id: int) -> Sequence[AvailabilityWindow]:
    """A volunteer's weekly windows, in week order."""
    stmt = (
        select(AvailabilityWindow)
        .where(AvailabilityWindow.volunteer_id == volunteer_id)
        .order_by(col(AvailabilityWindow.weekday), col(AvailabilityWindow.start_minute))
    )
    return session.exec(stmt).all()


def replace_windows(session: Session, volunteer_id: int, rows: list[dict[str, Any]]) -> None:
    """Replace all of a volunteer's windows."""
    session.execute(
        delete(AvailabilityWindow).where(col(AvailabilityWindow.volunteer_id) == volunteer_id)
    )
    add_windows(session, rows)


def latest_verification(
    session: Session, *, volunteer_id: int, purpose: VerificationPurpose
) -> PhoneVerification | None:
    """The newest code sent to a volunteer for a purpose (older ones no longer count)."""
    stmt = (
        select(PhoneVerification)
        .where(
            PhoneVerification.volunteer_id == volunteer_id,
            PhoneVerification.purpose == purpose,
        )
        .order_by(col(PhoneVerification.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def verifications_of(session: Session, volunteer_id: int) -> Sequence[PhoneVerification]:
    """Every code sent to a volunteer, oldest first."""
    stmt = (
        select(PhoneVerification)
        .where(PhoneVerification.volunteer_id == volunteer_id)
        .order_by(col(PhoneVerification.id))
    )
    return session.exec(stmt).all()


def link_with_volunteer(session: Session, token_hash: str) -> tuple[AccessLink, Volunteer] | None:
    """A personal link by its token hash, with its volunteer (one statement)."""
    stmt = (
        select(AccessLink, Volunteer)
        .join(Volunteer, col(Volunteer.id) == col(AccessLink.volunteer_id))
        .where(AccessLink.token_hash == token_hash)
    )
    row = session.exec(stmt).first()
    return None if row is None else (row[0], row[1])
