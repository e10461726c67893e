"""Queries on volunteers and their skills, windows, codes and links."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Dialect, Table, delete, insert
from sqlalchemy.sql import sqltypes
from sqlmodel import Session, col, select

from brigades.ratelimit.service import Bucket
from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    VerificationPurpose,
    Volunteer,
    VolunteerSkill,
)
from notifications.models import OutboxMessage
from notifications.transactions import insert_for

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
    return (
        insert_for(dialect, _VOLUNTEER_TABLE)
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


@dataclass(frozen=True, slots=True)
class SignUpInsert:
    """What the sign-up statement did: the new volunteer (None: number known or over the limit)
    and the per-number count (None when it was not counted in the statement)."""

    volunteer_id: int | None
    number_count: int | None


_VOLUNTEER_COLUMNS = _written(_VOLUNTEER_TABLE)
_SKILL_COLUMNS = _written(_SKILL_TABLE, skip="volunteer_id")
_WINDOW_COLUMNS = _written(_WINDOW_TABLE, skip="volunteer_id")
_VERIFICATION_COLUMNS = _written(_VERIFICATION_TABLE)
_OUTBOX_COLUMNS = _written(_OUTBOX_TABLE)


def _column_list(written: tuple[tuple[str, Any], ...], *, skip_owner: bool = False) -> str:
    return ", ".join(n for n, _ in written if not (skip_owner and n == "volunteer_id"))


@functools.cache
def _sign_up_sql(*, count_number: bool) -> str:
    """The one statement of a PostgreSQL sign-up; constant text, 5-8 parameters.

    Every table's row travels as one JSON parameter read by ``json_populate_record(set)``, so the
    statement text never changes with the number of skills or windows (psycopg caches its
    parsing, PostgreSQL its plan). With ``count_number`` the per-number rate-limit upsert is the
    first CTE and the volunteer is inserted only when that count is within the allowance.
    """
    owner = "volunteer_id"
    v_cols = _column_list(_VOLUNTEER_COLUMNS)
    s_cols = _column_list(_SKILL_COLUMNS)
    w_cols = _column_list(_WINDOW_COLUMNS)
    pv_cols = _column_list(_VERIFICATION_COLUMNS, skip_owner=True)
    o_cols = _column_list(_OUTBOX_COLUMNS, skip_owner=True)
    parts = []
    within_limit = ""
    counted = "NULL::integer"
    if count_number:
        # The same upsert as ratelimit.service: same window counts up, a newer one starts at 1.
        parts.append(
            "rl AS (INSERT INTO rate_limit_bucket AS b (key, window_start, count) "
            "VALUES (%(rl_key)s, %(rl_window_start)s, 1) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN b.window_start = excluded.window_start THEN b.count + 1 ELSE 1 END, "
            "window_start = excluded.window_start RETURNING b.count)"
        )
        within_limit = " WHERE (SELECT count FROM rl) <= %(rl_allowed)s"
        counted = "(SELECT count FROM rl)"
    parts += [
        f"v AS (INSERT INTO volunteer ({v_cols}) SELECT {v_cols} "
        f"FROM json_populate_record(NULL::volunteer, %(v)s::json){within_limit} "
        "ON CONFLICT (phone) DO NOTHING RETURNING id)",
        f"s AS (INSERT INTO volunteer_skill ({owner}, {s_cols}) SELECT v.id, {_prefixed(s_cols)} "
        "FROM v, json_populate_recordset(NULL::volunteer_skill, %(s)s::json) r)",
        f"w AS (INSERT INTO availability_window ({owner}, {w_cols}) SELECT v.id, "
        f"{_prefixed(w_cols)} FROM v, "
        "json_populate_recordset(NULL::availability_window, %(w)s::json) r)",
        f"pv AS (INSERT INTO phone_verification ({owner}, {pv_cols}) SELECT v.id, "
        f"{_prefixed(pv_cols)} FROM v, "
        "json_populate_record(NULL::phone_verification, %(pv)s::json) r)",
        f"o AS (INSERT INTO outbox_message ({owner}, {o_cols}) SELECT v.id, {_prefixed(o_cols)} "
        "FROM v, json_populate_record(NULL::outbox_message, %(o)s::json) r)",
    ]
    return "WITH " + ", ".join(parts) + f" SELECT {counted}, (SELECT id FROM v)"


def _prefixed(columns: str) -> str:
    return ", ".join("r." + c for c in columns.split(", "))


_Converters = tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]


@functools.lru_cache(maxsize=64)
def _converters(
    dialect: Dialect, table: Table, written: tuple[tuple[str, Any], ...]
) -> _Converters:
    # Each column's own bind conversion (enum → its value, refused if unknown; aware datetime →
    # UTC; naive refused), so the JSON carries what a bound parameter would have carried. JSON
    # columns stay Python values: they are nested into the row's JSON as they are.
    return tuple(
        (
            name,
            default,
            None
            if isinstance(table.c[name].type, sqltypes.JSON)
            else table.c[name].type.bind_processor(dialect),
        )
        for name, default in written
        if name != "volunteer_id"
    )


def _json_row(converters: _Converters, row: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, default, convert in converters:
        value = row.get(name, default)
        values[name] = value if convert is None or value is None else convert(value)
    return values


def insert_sign_up(
    session: Session,
    *,
    volunteer: Mapping[str, Any],
    skills: Sequence[Mapping[str, Any]],
    windows: Sequence[Mapping[str, Any]],
    verification: Mapping[str, Any],
    message: Mapping[str, Any],
    number_limit: Bucket | None = None,
) -> SignUpInsert:
    """PostgreSQL: insert a new volunteer with skills, windows, code and outbox message at once.

    One statement of data-modifying CTEs: ``v`` inserts the volunteer ``ON CONFLICT (phone) DO
    NOTHING RETURNING id`` and every other insert selects ``FROM v``, so for a known number
    nothing at all is written and ``volunteer_id`` is None (as :func:`insert_if_new_phone`
    returns). The rows get ``volunteer_id`` from ``v``; columns missing from a mapping get their
    model defaults, exactly as the per-table inserts would write them.

    With ``number_limit`` the statement first counts the per-number rate limit (the upsert of
    ``ratelimit.service``) and inserts nothing when the new count is over the allowance; the
    count is returned for the caller to check.
    """
    dialect = session.get_bind().dialect
    params: dict[str, Any] = {
        "v": _dumps(
            _json_row(_converters(dialect, _VOLUNTEER_TABLE, _VOLUNTEER_COLUMNS), volunteer)
        ),
        "s": _dumps(
            [_json_row(_converters(dialect, _SKILL_TABLE, _SKILL_COLUMNS), r) for r in skills]
        ),
        "w": _dumps(
            [_json_row(_converters(dialect, _WINDOW_TABLE, _WINDOW_COLUMNS), r) for r in windows]
        ),
        "pv": _dumps(
            _json_row(
                _converters(dialect, _VERIFICATION_TABLE, _VERIFICATION_COLUMNS), verification
            )
        ),
        "o": _dumps(_json_row(_converters(dialect, _OUTBOX_TABLE, _OUTBOX_COLUMNS), message)),
    }
    if number_limit is not None:
        params["rl_key"] = number_limit.key
        params["rl_window_start"] = number_limit.window_start
        params["rl_allowed"] = number_limit.allowed
    sql = _sign_up_sql(count_number=number_limit is not None)
    counted, new_id = session.connection().exec_driver_sql(sql, params).one()
    return SignUpInsert(
        volunteer_id=None if new_id is None else int(new_id),
        number_count=None if counted is None else int(counted),
    )


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


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
