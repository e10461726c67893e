"""Which database errors a person is told to wait out (503), which mean a full disk (507), which
are bugs (unmapped, so a 500 that gets fixed)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc

from brigades.errors import DatabaseUnavailable, StorageFull, from_database_error


def sqlite_error(code: int, message: str = "x") -> sa_exc.DBAPIError:
    orig = sqlite3.OperationalError(message)
    orig.sqlite_errorcode = code
    return sa_exc.OperationalError("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"), StorageFull),
        (sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), DatabaseUnavailable),
        (sqlite_error(sqlite3.SQLITE_IOERR_WRITE), DatabaseUnavailable),
        (sqlite_error(sqlite3.SQLITE_ERROR, "no such table: volunteer"), None),
        (
            sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("refused")),
            DatabaseUnavailable,
        ),
        (
            sa_exc.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("closed")),
            DatabaseUnavailable,
        ),
        (sa_exc.OperationalError("INSERT", {}, pg_errors.DiskFull("no space")), StorageFull),
        (
            sa_exc.OperationalError("SELECT", {}, pg_errors.AdminShutdown("bye")),
            DatabaseUnavailable,
        ),
        (
            sa_exc.OperationalError("SELECT", {}, pg_errors.CannotConnectNow("starting")),
            DatabaseUnavailable,
        ),
        (
            sa_exc.OperationalError("SELECT", {}, pg_errors.SerializationFailure("again")),
            DatabaseUnavailable,
        ),
        (sa_exc.IntegrityError("INSERT", {}, pg_errors.UniqueViolation("dup")), None),
        (sa_exc.ProgrammingError("SELECT", {}, pg_errors.UndefinedTable("typo")), None),
        (sa_exc.TimeoutError("QueuePool limit reached"), DatabaseUnavailable),
        (sa_exc.InvalidRequestError("misuse"), None),
    ],
)
def test_database_errors_are_mapped_for_the_person_waiting(
    error: sa_exc.SQLAlchemyError, expected: type | None
) -> None:
    mapped = from_database_error(error)
    if expected is None:
        assert mapped is None
    else:
        assert type(mapped) is expected


def test_the_messages_are_dutch_and_say_nothing_was_saved() -> None:
    down = DatabaseUnavailable()
    assert (down.status_code, down.code, down.retry_after) == (503, "database_unavailable", 5)
    assert "niets opgeslagen" in down.message
    full = StorageFull()
    assert (full.status_code, full.code) == (507, "storage_full")
    assert full.message.startswith("Opslag vol") and "niets bewaard" in full.message
