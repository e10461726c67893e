"""Queries on volunteers and their skills, windows, codes and links."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, true, union_all
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import CTE
from sqlmodel import Session, col, select

from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    VerificationPurpose,
    Volunteer,
    VolunteerSkill,
)
from notifications.models import OutboxMessage

# The Core tables, not the entities, for the inserts of sign-up: less overhead on the hot path,
# and the ORM would split a batch by which values are None (one statement per shape).
_SKILL_TABLE: Table = VolunteerSkill.__table__  # type: ignore[attr-defined]
_WINDOW_TABLE: Table = AvailabilityWindow.__table__  # type: ignore[attr-defined]
_VOLUNTEER_TABLE: Table = Volunteer.__table__  # type: ignore[attr-defined]
_VERIFICATION_TABLE: Table = PhoneVerification.__table__  # type: ignore[attr-defined]
_OUTBOX_TABLE: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

# Set on a session to make sign-up use the per-table inserts on PostgreSQL too (tests compare them).
_ORM_SIGN_UP = "zb.volunteers.orm_sign_up"


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


def force_orm_sign_up(session: Session) -> None:
    """Make this session's sign-ups use the per-table inserts, as on SQLite (for comparisons)."""
    session.info[_ORM_SIGN_UP] = True


def one_statement_sign_up(session: Session) -> bool:
    """Whether sign-up writes everything in one statement (PostgreSQL, see insert_sign_up)."""
    return session.get_bind().dialect.name == "postgresql" and not session.info.get(_ORM_SIGN_UP)


def _written(table: Table, *, skip: str | None = None) -> tuple[tuple[str, Any], ...]:
    """Every column but the key (and ``skip``), with the value it takes when left out."""
    written: list[tuple[str, Any]] = []
    for c in table.columns:
        if c.primary_key or c.name == skip:
            continue
        default = c.default
        if default is not None and not getattr(default, "is_scalar", False):
            raise ValueError(f"{table.name}.{c.name}: only scalar defaults are supported here")
        # The same value a Core or ORM insert that leaves the column out would write.
        written.append((c.name, None if default is None else getattr(default, "arg", None)))
    return tuple(written)


_VOLUNTEER_COLUMNS = _written(_VOLUNTEER_TABLE)
_SKILL_COLUMNS = _written(_SKILL_TABLE, skip="volunteer_id")
_WINDOW_COLUMNS = _written(_WINDOW_TABLE, skip="volunteer_id")
_VERIFICATION_COLUMNS = _written(_VERIFICATION_TABLE)
_OUTBOX_COLUMNS = _written(_OUTBOX_TABLE)


def _param(table: Table, prefix: str, name: str) -> Any:
    # Typed like the column: values are converted (enums, aware datetimes, JSON) and cast.
    return bindparam(f"{prefix}{name}", type_=table.c[name].type)


def _rows_from(v: CTE, table: Table, written: tuple[tuple[str, Any], ...], n: int, tag: str) -> Any:
    """INSERT INTO table SELECT v.id, r.… FROM v JOIN (SELECT … UNION ALL SELECT …) r ON true."""
    names = [name for name, _ in written]
    # UNION ALL of one-row SELECTs rather than a VALUES list: SQLAlchemy cannot cache the
    # compiled form of a VALUES construct holding bound parameters, and would compile it per call.
    selects = [
        core_select(*[_param(table, f"{tag}{i}_", name).label(name) for name in names])
        for i in range(n)
    ]
    rows: Any = (selects[0] if n == 1 else union_all(*selects)).subquery(f"{tag}_rows")
    select_rows = core_select(v.c.id, *[rows.c[name] for name in names]).select_from(
        v.join(rows, true())
    )
    return insert(table).from_select(["volunteer_id", *names], select_rows).cte(tag)


def _row_from(v: CTE, table: Table, written: tuple[tuple[str, Any], ...], tag: str) -> Any:
    """INSERT INTO table SELECT …, v.id, … FROM v (one row, only when v inserted one)."""
    names = [name for name, _ in written]
    columns: list[Any] = [
        v.c.id if name == "volunteer_id" else _param(table, f"{tag}_", name).label(name)
        for name in names
    ]
    select_row = core_select(*columns).select_from(v)
    return insert(table).from_select(names, select_row).cte(tag)


@functools.lru_cache(maxsize=256)
def _sign_up_statement(n_skills: int, n_windows: int) -> Any:
    # One statement object per shape: SQLAlchemy compiles it once and memoises its cache key.
    vol = _VOLUNTEER_TABLE
    v = (
        postgresql.insert(vol)
        .values({name: _param(vol, "v_", name) for name, _ in _VOLUNTEER_COLUMNS})
        .on_conflict_do_nothing(index_elements=[vol.c.phone])
        .returning(vol.c.id)
        .cte("v")
    )
    writes = [
        _row_from(v, _VERIFICATION_TABLE, _VERIFICATION_COLUMNS, "pv"),
        _row_from(v, _OUTBOX_TABLE, _OUTBOX_COLUMNS, "o"),
    ]
    if n_skills:
        writes.append(_rows_from(v, _SKILL_TABLE, _SKILL_COLUMNS, n_skills, "s"))
    if n_windows:
        writes.append(_rows_from(v, _WINDOW_TABLE, _WINDOW_COLUMNS, n_windows, "w"))
    return core_select(v.c.id).add_cte(*writes)


def _bind(
    params: dict[str, Any],
    prefix: str,
    written: tuple[tuple[str, Any], ...],
    row: Mapping[str, Any],
) -> None:
    for name, default in written:
        if name != "volunteer_id":
            params[prefix + name] = row.get(name, default)


def insert_sign_up(
    session: Session,
    *,
    volunteer: Mapping[str, Any],
    skills: Sequence[Mapping[str, Any]],
    windows: Sequence[Mapping[str, Any]],
    verification: Mapping[str, Any],
    message: Mapping[str, Any],
) -> int | None:
    """PostgreSQL: insert a new volunteer with skills, windows, code and outbox message at once.

    One statement of data-modifying CTEs: ``v`` inserts the volunteer ``ON CONFLICT (phone) DO
    NOTHING RETURNING id`` and every other insert selects ``FROM v``, so for a known number
    nothing at all is written and None is returned (as :func:`insert_if_new_phone` does). The
    rows get ``volunteer_id`` from ``v``; columns missing from a mapping get their model
    defaults, exactly as the per-table inserts would write them.
    """
    params: dict[str, Any] = {}
    _bind(params, "v_", _VOLUNTEER_COLUMNS, volunteer)
    for i, row in enumerate(skills):
        _bind(params, f"s{i}_", _SKILL_COLUMNS, row)
    for i, row in enumerate(windows):
        _bind(params, f"w{i}_", _WINDOW_COLUMNS, row)
    _bind(params, "pv_", _VERIFICATION_COLUMNS, verification)
    _bind(params, "o_", _OUTBOX_COLUMNS, message)
    stmt = _sign_up_statement(len(skills), len(windows))
    new_id = session.execute(stmt, params).scalar_one_or_none()
    return None if new_id is None else int(new_id)


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
